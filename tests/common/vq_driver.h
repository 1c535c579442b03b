/*
 * A guest driver for tests and benchmarks: lays out a split virtqueue in a guest_ram,
 * adds descriptor chains (direct or through an indirect table), publishes and kicks
 * them the way a virtio driver does, and collects used entries, waiting on the
 * queue's call eventfd. It plays the transport too: vqd_attach() configures a
 * struct virtio_queue as virtio-pci would, vqd_activate() starts a device.
 */
#ifndef CONDUIT_TESTS_VQ_DRIVER_H
#define CONDUIT_TESTS_VQ_DRIVER_H

#include "virtio/virtio_dev.h"
#include "vmm/base/memory.h"

#include <stdbool.h>
#include <stdint.h>

#define VQD_MAX_INDIRECT 64 /* entries of each per-head indirect table */

struct vqd_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct vqd {
	struct guest_ram *ram;
	uint16_t size;
	uint64_t desc, avail, used; /* ring addresses */
	uint64_t tables;	    /* size indirect tables of VQD_MAX_INDIRECT entries */
	uint64_t end;		    /* first byte after everything vqd_init laid out */
	bool event_idx;
	uint16_t avail_idx;  /* next available entry to fill */
	uint16_t kicked_idx; /* avail_idx at the last kick decision */
	uint16_t last_used;  /* next used entry to collect */
	uint16_t free_head;  /* free descriptor list, linked through next[] */
	uint16_t nr_free;
	uint16_t *next;	     /* host copy of each descriptor's next link */
	uint16_t *chain_len; /* descriptors held by each head */
	int kick_fd, call_fd;
};

/* Lays the rings out at base (which must be 4 KiB aligned) and creates the eventfds. */
int vqd_init(struct vqd *d, struct guest_ram *ram, uint64_t base, uint16_t size, bool event_idx);
void vqd_destroy(struct vqd *d);
/* Host pointer to guest memory, NULL when out of RAM. */
void *vqd_ptr(const struct vqd *d, uint64_t gpa, uint64_t len);
/* Adds a chain of n buffers (readable ones first) and returns its head, or -1 when out
 * of descriptors. It is published by the next vqd_kick(). */
int vqd_add(struct vqd *d, const struct vqd_buf *b, unsigned int n, bool indirect);
/* Publishes added chains and signals the kick eventfd unless the device suppressed it;
 * true if it signalled. */
bool vqd_kick(struct vqd *d);
/* With EVENT_IDX: true if the device asks for a kick at the next chain published. */
bool vqd_kicks_on(struct vqd *d);
/* Collects one used entry if there is one; frees its descriptors. */
bool vqd_get_used(struct vqd *d, uint16_t *head, uint32_t *len);
/* Re-enables interrupts, then waits up to timeout_ms (< 0: for ever) for a used
 * entry: 1 or 0. */
int vqd_wait_used(struct vqd *d, uint16_t *head, uint32_t *len, int timeout_ms);

/* The transport's part: configure queue q of dev from this driver's rings. */
int vqd_attach(struct vqd *d, struct virtio_queue *q, bool indirect);
/* The transport's DRIVER_OK: records the negotiated features, calls activate(). */
int vqd_activate(struct virtio_dev *dev, uint64_t features);

#endif
