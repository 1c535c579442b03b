#include "virtio/queue_server.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void virtio_queue_notify(struct virtio_queue *q, const char *name)
{
	uint64_t one = 1;
	/* the driver may move the queue to another vector while it runs */
	int fd = __atomic_load_n(&q->call_fd, __ATOMIC_ACQUIRE);

	if (fd < 0 || !vq_should_notify(&q->vq))
		return;
	if (write(fd, &one, sizeof(one)) == sizeof(one))
		virtio_stat_add(&q->stats.interrupts, 1);
	else if (errno != EAGAIN)
		log_guest_warn("%s: cannot interrupt the guest: %s", name, strerror(errno));
}

/* Serves every available chain; false once the queue turned out malformed. */
static bool server_drain(struct queue_server *s, bool *pushed)
{
	struct virtqueue *vq = &s->q->vq;
	int ret;

	do {
		vq_disable_notify(vq);
		while ((ret = vq_pop(vq, s->chain)) == 1) {
			uint32_t written = s->serve(s->ctx, s->chain);

			virtio_stat_request(s->q, written);
			vq_push(vq, s->chain->head, written);
			*pushed = true;
		}
		if (ret < 0) {
			virtio_dev_needs_reset(s->dev);
			return false;
		}
	} while (vq_enable_notify(vq));
	return true;
}

static void *server_thread(void *arg)
{
	struct queue_server *s = arg;
	struct pollfd p[2] = {{.fd = s->q->kick_fd, .events = POLLIN},
			      {.fd = s->stop_fd, .events = POLLIN}};
	bool serving = true;
	uint64_t v;

	sandbox_enter(s->kind, s->name);
	for (;;) {
		bool pushed = false;

		/* buffers may be there before the first kick */
		if (serving)
			serving = server_drain(s, &pushed);
		if (pushed)
			virtio_queue_notify(s->q, s->name);
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		if (read(s->q->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
		virtio_stat_add(&s->q->stats.kicks, 1);
	}
	return NULL;
}

int queue_server_start(struct queue_server *s)
{
	int err;

	s->chain = malloc(sizeof(*s->chain));
	err = s->chain ? pthread_create(&s->thread, NULL, server_thread, s) : ENOMEM;
	if (err) {
		log_error("%s: cannot start its thread (%s)", s->name, strerror(err));
		free(s->chain);
		s->chain = NULL;
		return -1;
	}
	s->running = true;
	return 0;
}

void queue_server_stop(struct queue_server *s)
{
	if (!s->running)
		return;
	pthread_join(s->thread, NULL);
	free(s->chain);
	s->chain = NULL;
	s->running = false;
}
