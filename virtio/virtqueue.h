/*
 * Split virtqueues (virtio 1.2 §2.7), device side. The rings live in guest RAM and
 * are hostile: every index, address and length is checked before use, each value is
 * read once, and a malformed chain breaks the queue for good (until vq_init again).
 *
 * One thread owns a virtqueue: none of these functions may run concurrently on the
 * same queue. The driver runs concurrently on other vCPUs; the barriers for that are
 * inside vq_pop, vq_push, vq_should_notify and vq_enable_notify.
 *
 * Serving a queue: vq_disable_notify(), vq_pop() until 0, then vq_enable_notify();
 * if that returns true buffers arrived meanwhile: disable and pop again. Complete
 * chains with vq_push() and, after a batch, interrupt the driver when
 * vq_should_notify() says so.
 */
#ifndef CONDUIT_VIRTQUEUE_H
#define CONDUIT_VIRTQUEUE_H

#include "vmm/base/memory.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_MAX_SIZE 32768
#define VQ_MAX_IOV  1024

struct vring_desc;
struct vring_avail;
struct vring_used;

struct virtqueue {
	const struct guest_ram *ram;
	uint16_t size; /* power of two, 1..32768 */
	uint64_t desc_addr, avail_addr, used_addr;
	bool event_idx; /* VIRTIO_F_EVENT_IDX (29) negotiated */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC (28) negotiated */
	/* private: host pointers validated by vq_init, and the device's indices */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;	 /* next available ring entry to consume */
	uint16_t avail_shadow;	 /* avail->idx as last read */
	uint16_t used_idx;	 /* next used ring entry; the driver never writes it */
	uint16_t signalled_used; /* used_idx when the driver was last considered */
	bool broken;
};

struct vq_chain {
	uint16_t head;
	unsigned int nr_out, nr_in;   /* device-readable buffers first, then device-writable */
	struct iovec iov[VQ_MAX_IOV]; /* host pointers into guest RAM, no copies */
	uint64_t out_len, in_len;     /* byte totals */
};

/* Validates size, alignment (16/2/4) and that the three rings lie in RAM: -1 with a
 * log line otherwise. */
int vq_init(struct virtqueue *vq, const struct guest_ram *ram, uint16_t size, uint64_t desc,
	    uint64_t avail, uint64_t used, bool event_idx, bool indirect);
/* 1: got a chain; 0: ring empty; -1: malformed (the queue is broken, one log line, and
 * every later call returns -1). */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/* Returns a chain to the driver: used ring entry, then used->idx. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written);
/* After pushing: does the driver want an interrupt for what was pushed since the
 * last call? (VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX.) */
bool vq_should_notify(struct virtqueue *vq);
/* Asks for kicks again; true if buffers arrived meanwhile (pop again). */
bool vq_enable_notify(struct virtqueue *vq);
void vq_disable_notify(struct virtqueue *vq);
/* Busy polling: has the driver made buffers available that vq_pop has not taken? */
bool vq_has_avail(struct virtqueue *vq);

#endif
