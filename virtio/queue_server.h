/*
 * A thread that serves one virtqueue whose work is short and synchronous (the
 * entropy queue, virtio-net's control queue): for each chain the driver makes
 * available, serve() handles it and returns the bytes it wrote; the chain goes back
 * and, after each batch, the driver gets its interrupt if it wants one. The thread
 * waits on the queue's kick eventfd and ends when stop_fd becomes readable. A
 * malformed chain makes the device ask for a reset and the thread stop serving.
 */
#ifndef CONDUIT_VIRTIO_QUEUE_SERVER_H
#define CONDUIT_VIRTIO_QUEUE_SERVER_H

#include "virtio/virtio_dev.h"
#include "vmm/base/sandbox.h"

#include <pthread.h>

struct queue_server {
	struct virtio_dev *dev;
	struct virtio_queue *q;
	int stop_fd;
	enum sandbox_kind kind; /* the thread's system call list */
	const char *name;	/* the thread's name and log lines' */
	uint32_t (*serve)(void *ctx, struct vq_chain *c);
	void *ctx;
	/* private */
	pthread_t thread;
	bool running;
	struct vq_chain *chain;
};

/* 0, or -1 with one line. */
int queue_server_start(struct queue_server *s);
/* After the owner wrote stop_fd: waits for the thread. Idempotent. */
void queue_server_stop(struct queue_server *s);

/* After pushing chains: the queue's interrupt, if the driver wants it (§2.7.10). */
void virtio_queue_notify(struct virtio_queue *q, const char *name);

#endif
