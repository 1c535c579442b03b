/*
 * virtio-blk internals shared by the device (blk.c: file, config space, lifecycle)
 * and its I/O threads (blk_io.c: one per queue, each with its own io_uring).
 */
#ifndef CONDUIT_VIRTIO_BLK_IO_H
#define CONDUIT_VIRTIO_BLK_IO_H

#include "virtio/virtio_dev.h"

#include <linux/virtio_blk.h>
#include <stdbool.h>
#include <stdint.h>

#define BLK_QUEUE_SIZE 256
/* Discard and write-zeroes limits offered in the config space (§5.2.4). */
#define BLK_MAX_DWZ_SEGS    16
#define BLK_MAX_DWZ_SECTORS (1u << 22)

struct blk_queue;

struct blk {
	struct virtio_dev dev;
	char *path;
	int fd;
	bool readonly;
	bool in_memory;		  /* on tmpfs or ramfs: data is copied by the I/O thread itself */
	unsigned int poll_us;	  /* poll-us=: each I/O thread's most busy-polling */
	unsigned int coalesce_us; /* coalesce-us=: the most an interrupt is held */
	bool fixed_buffers;	  /* fixed-buffers=on: guest RAM registered with each ring */
	bool fixed_refused;	  /* ... and the kernel refused it (said once) */
	bool sqpoll;		  /* sqpoll=on: a kernel thread takes the rings' submissions */
	bool sqpoll_refused;	  /* ... and the kernel refused it (said once) */
	uint64_t capacity;	  /* 512-byte sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config; /* as the driver reads it: little-endian */
	int stop_fd;			 /* reset() writes it, every I/O thread polls it */
	bool broken;			 /* a malformed chain: serve nothing until reset */
	struct blk_queue *queue[VIRTIO_MAX_QUEUES];
};

/* The most one io_uring registered buffer may be (the kernel's limit). */
#define BLK_RAM_PIECE (1ULL << 30)

/* Which registered piece of guest RAM (host, size) holds [base, base + len) whole, or -1
 * (it crosses from one piece into the next, or is not in RAM). */
int blk_ram_piece(const uint8_t *host, uint64_t size, const void *base, uint64_t len);

/* Starts the I/O thread of enabled queue `index`; NULL and a log line on failure. */
struct blk_queue *blk_queue_start(struct blk *b, unsigned int index);
/* Waits for a thread told to stop through stop_fd, then frees its queue. */
void blk_queue_stop(struct blk_queue *bq);

#endif
