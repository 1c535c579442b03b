/*
 * Copies between plain buffers and the iovecs of a virtqueue chain (guest RAM that
 * virtqueue.c already checked), for the devices' headers, commands and small replies.
 * Bulk data never goes through these: it moves with readv/writev on the iovecs.
 */
#ifndef CONDUIT_VIRTIO_IOV_H
#define CONDUIT_VIRTIO_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The first len bytes of iov[0..n) into dst; how many there were (at most len). */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, void *dst, size_t len);
/* len bytes of src into iov[0..n); how many fitted. */
size_t iov_from_buf(const struct iovec *iov, unsigned int n, const void *src, size_t len);
/* Drops len bytes from the front of iov[0..*n), in place; the first iovec left. */
struct iovec *iov_drop(struct iovec *iov, unsigned int *n, uint64_t len);
/* The iovecs after the first len bytes of iov[0..n), into out; their count, or -1
 * when there are more than max. */
int iov_tail(const struct iovec *iov, unsigned int n, size_t len, struct iovec *out,
	     unsigned int max);

#endif
