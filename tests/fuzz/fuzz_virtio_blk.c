/*
 * libFuzzer target: virtio-blk requests (virtio 1.2 §5.2.6) as a hostile driver
 * writes them. The input is guest RAM from address 0: a 16-entry queue's descriptor
 * table at 0, available ring at 0x100 and used ring at 0x200, then request headers,
 * data, discard segments and indirect tables wherever the descriptors point. Byte 0
 * also picks the disk (io_uring on a file, or copies on tmpfs) and the ring features
 * (event index, indirect descriptors). The device serves one kick, then is reset.
 */
#include "fuzz_disk.h"
#include "fuzz_ops.h"
#include "virtio/blk.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <sys/eventfd.h>

#define RAM_SIZE (1u << 20)
#define QSIZE	 16
#define AVAIL	 0x100
#define USED	 0x200
#define WAIT_MS	 100

static struct guest_ram ram;
static int broken;

static void on_needs_reset(struct virtio_dev *dev)
{
	(void)dev;
	__atomic_store_n(&broken, 1, __ATOMIC_SEQ_CST);
}

static uint16_t ram16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, ram.host + gpa, 2);
	return le16toh(v);
}

static int queue_setup(struct virtio_dev *dev, uint8_t choice, int kick, int call)
{
	struct virtio_queue *q = &dev->queue[0];
	bool event_idx = choice & 4, indirect = choice & 8;

	if (vq_init(&q->vq, &ram, QSIZE, 0, AVAIL, USED, event_idx, indirect))
		return -1;
	q->kick_fd = kick;
	q->call_fd = call;
	q->enabled = true;
	dev->needs_reset = on_needs_reset;
	dev->negotiated = dev->ops->features(dev) | 1ULL << VIRTIO_F_VERSION_1 |
			  (event_idx ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
			  (indirect ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
	return dev->ops->activate(dev);
}

/* Until the used index reaches the available one (requests may complete out of order),
 * the device says it broke, or WAIT_MS pass (the driver may point data buffers at its
 * own rings); the reset after it must then stop whatever is still under way. */
static void serve(int kick, int call)
{
	struct pollfd p = {.fd = call, .events = POLLIN};
	uint64_t one = 1;
	int waited;

	if (write(kick, &one, sizeof(one)) != sizeof(one))
		abort();
	for (waited = 0; ram16(USED + 2) != ram16(AVAIL + 2) && waited < WAIT_MS; waited += 5) {
		if (__atomic_load_n(&broken, __ATOMIC_SEQ_CST))
			return;
		poll(&p, 1, 5);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_dev *dev;
	struct blk_options o;
	int kick, call;

	if (!ram.host && guest_ram_create(&ram, RAM_SIZE, 0))
		abort();
	if (size < 1 + USED)
		return 0;
	o = (struct blk_options){.path = fuzz_disk(data[0] & 1), .readonly = data[0] & 2};
	memset(ram.host, 0, RAM_SIZE);
	memcpy(ram.host, data + 1, size - 1 < RAM_SIZE ? size - 1 : RAM_SIZE);
	/* the device keeps its own used index; the ring starts zeroed as a driver's does */
	memset(ram.host + USED, 0, 4 + 8 * QSIZE + 2);
	dev = blk_create(&o);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!dev || kick < 0 || call < 0)
		abort();
	broken = 0;
	if (queue_setup(dev, data[0], kick, call) == 0)
		serve(kick, call);
	dev->ops->reset(dev);
	dev->ops->destroy(dev);
	close(kick);
	close(call);
	return 0;
}
