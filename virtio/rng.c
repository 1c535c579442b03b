/*
 * virtio-rng (§5.4): one queue of device-writable buffers that the device fills with
 * random bytes, served by a queue_server thread; the bytes come from getrandom(2),
 * written straight into guest RAM.
 */
#include "virtio/rng.h"
#include "virtio/queue_server.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#define RNG_QUEUE_SIZE 256
/* Bytes given per request at most: a huge buffer gets a partial fill, which the used
 * length reports (§5.4.6). */
#define RNG_MAX_FILL 65536

struct rng {
	struct virtio_dev dev;
	int stop_fd;
	struct queue_server server;
};

static struct rng *to_rng(struct virtio_dev *dev)
{
	return (struct rng *)((char *)dev - offsetof(struct rng, dev));
}

static size_t fill(uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(p + done, len - done, 0);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			done += (size_t)n;
	}
	return done;
}

/* Fills the device-writable buffers; readable ones carry nothing for this device. */
static uint32_t rng_fill(struct vq_chain *c)
{
	unsigned int i, end = c->nr_out + c->nr_in;
	size_t done = 0;

	for (i = c->nr_out; i < end && done < RNG_MAX_FILL; i++) {
		size_t want = c->iov[i].iov_len;
		size_t got;

		if (want > RNG_MAX_FILL - done)
			want = RNG_MAX_FILL - done;
		got = fill(c->iov[i].iov_base, want);
		done += got;
		if (got < want)
			break;
	}
	return (uint32_t)done;
}

static uint32_t rng_serve(void *ctx, struct vq_chain *c)
{
	(void)ctx;
	return rng_fill(c);
}

static uint64_t rng_features(struct virtio_dev *dev)
{
	(void)dev;
	return 0;
}

/* The entropy device has no configuration space (§5.4.4). */
static void rng_config_read(struct virtio_dev *dev, uint32_t offset, uint8_t *data,
			    unsigned int size)
{
	(void)dev;
	(void)offset;
	memset(data, 0, size);
}

static void rng_config_write(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
			     unsigned int size)
{
	(void)dev;
	(void)offset;
	(void)data;
	(void)size;
}

static void rng_reset(struct virtio_dev *dev)
{
	struct rng *r = to_rng(dev);
	uint64_t v = 1;

	if (!r->server.running)
		return;
	if (write(r->stop_fd, &v, sizeof(v)) != sizeof(v))
		log_error("virtio-rng: cannot stop its thread");
	queue_server_stop(&r->server);
	if (read(r->stop_fd, &v, sizeof(v)) < 0)
		log_error("virtio-rng: cannot rearm its stop eventfd");
}

static int rng_activate(struct virtio_dev *dev)
{
	struct rng *r = to_rng(dev);

	if (!dev->queue[0].enabled)
		return 0;
	r->server = (struct queue_server){.dev = dev,
					  .q = &dev->queue[0],
					  .stop_fd = r->stop_fd,
					  .kind = SANDBOX_IO,
					  .name = "virtio-rng",
					  .serve = rng_serve};
	return queue_server_start(&r->server);
}

static void rng_destroy(struct virtio_dev *dev)
{
	struct rng *r = to_rng(dev);

	rng_reset(dev);
	close(r->stop_fd);
	free(r);
}

static const struct virtio_dev_ops rng_ops = {
	.features = rng_features,
	.config_read = rng_config_read,
	.config_write = rng_config_write,
	.activate = rng_activate,
	.reset = rng_reset,
	.destroy = rng_destroy,
};

/* The queue reaches guest RAM through its virtqueue: ram is not kept here. */
struct virtio_dev *rng_create(void)
{
	struct rng *r = calloc(1, sizeof(*r));

	if (!r) {
		log_error("out of memory for virtio-rng");
		return NULL;
	}
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stop_fd < 0) {
		log_error("virtio-rng: cannot create an eventfd (%s)", strerror(errno));
		free(r);
		return NULL;
	}
	r->dev.ops = &rng_ops;
	r->dev.device_id = VIRTIO_ID_RNG;
	r->dev.nr_queues = 1;
	r->dev.queue_max_size = RNG_QUEUE_SIZE;
	r->dev.config_size = 0;
	r->dev.name = "virtio-rng";
	return &r->dev;
}
