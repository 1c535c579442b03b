/*
 * The contract between the virtio-pci transport (virtio/pci.c) and a virtio device
 * backend (blk, rng, ...). The transport owns feature negotiation, device status,
 * queue configuration, notifications and interrupts; a backend owns its config space
 * and the processing of its queues.
 *
 * Threads: the transport calls ops from vCPU threads, serialised per device. Once
 * activate() succeeds the backend serves its queues from threads of its own: it waits
 * on each queue's kick_fd (an eventfd KVM signals when the driver notifies the queue;
 * a backend may read it or poll it, e.g. with a multishot io_uring poll), consumes
 * chains with vq_pop(), completes them with vq_push() and, if vq_should_notify() says
 * so, writes 1 to the queue's call_fd (a non-blocking eventfd that KVM turns into the
 * queue's MSI-X interrupt, or -1 when the driver assigned none).
 * reset() must stop those threads and drop every reference to guest memory before it
 * returns. A backend that finds a malformed chain (vq_pop() < 0) calls
 * virtio_dev_needs_reset() and stops serving the device until reset.
 */
#ifndef CONDUIT_VIRTIO_DEV_H
#define CONDUIT_VIRTIO_DEV_H

#include "virtio/virtqueue.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MAX_QUEUES 64

struct virtio_dev;

/* What a queue's server did since the device was created, for the control socket's
 * `counters`: written by the queue's one serving thread (virtio_stat_add), read by
 * any thread. */
struct virtio_queue_stats {
	uint64_t kicks;	     /* wake-ups for a driver notification */
	uint64_t requests;   /* requests completed: chains, or frames for a NIC */
	uint64_t interrupts; /* interrupts sent to the driver */
	uint64_t bytes;	     /* data moved by those requests, either way */
	uint64_t polls;	     /* busy-poll windows before sleeping (poll-us=) */
	uint64_t poll_hits;  /* ... that found work, a sleep and maybe a kick saved */
};

struct virtio_queue {
	struct virtqueue vq; /* set up by the transport before activate() */
	int kick_fd;
	int call_fd;
	bool enabled; /* the driver enabled this queue */
	struct virtio_queue_stats stats;
};

struct virtio_dev_ops {
	/* Device feature bits (VIRTIO_BLK_F_*, ...); the transport adds VERSION_1,
	 * RING_INDIRECT_DESC and RING_EVENT_IDX itself. */
	uint64_t (*features)(struct virtio_dev *dev);
	/* Device-specific configuration space, offset relative to its start. */
	void (*config_read)(struct virtio_dev *dev, uint32_t offset, uint8_t *data,
			    unsigned int size);
	void (*config_write)(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
			     unsigned int size);
	/* DRIVER_OK: queues, negotiated features and eventfds are final. 0 or -1. */
	int (*activate)(struct virtio_dev *dev);
	/* Optional: the driver moved running queue q to another MSI-X vector; its
	 * call_fd is the new one (backends that load call_fd per interrupt need not). */
	void (*vector_changed)(struct virtio_dev *dev, unsigned int q);
	/* Device reset by the driver (status 0) or at teardown; idempotent. */
	void (*reset)(struct virtio_dev *dev);
	void (*destroy)(struct virtio_dev *dev);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	uint16_t device_id; /* virtio device type: 2 = block, 4 = entropy */
	uint16_t nr_queues;
	uint16_t queue_max_size; /* power of two */
	uint32_t config_size;	 /* bytes of device configuration space */
	uint64_t negotiated;	 /* driver-accepted features, valid from activate() on */
	struct virtio_queue queue[VIRTIO_MAX_QUEUES];
	/* Set by the transport: raises DEVICE_NEEDS_RESET and a config interrupt. */
	void (*needs_reset)(struct virtio_dev *dev);
	void *transport;
	const char *name; /* for log lines, e.g. "virtio-blk 0000:01:00.0" */
	/* The queues are served in the kernel (vhost-net): their stats stay 0. */
	bool kernel_datapath;
};

/* A counter of virtio_queue_stats, by its one writer. */
static inline void virtio_stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* A request completed on q, with bytes of data: counted before its used entry is
 * published, so a driver that sees the entry sees the count. */
static inline void virtio_stat_request(struct virtio_queue *q, uint64_t bytes)
{
	virtio_stat_add(&q->stats.requests, 1);
	virtio_stat_add(&q->stats.bytes, bytes);
}

static inline void virtio_dev_needs_reset(struct virtio_dev *dev)
{
	if (dev->needs_reset)
		dev->needs_reset(dev);
}

#endif
