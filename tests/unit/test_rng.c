/* virtio-rng driven by a test driver: buffers come back full of random bytes. */
#include "tests/common/vq_driver.h"
#include "tests/unit/check.h"
#include "virtio/rng.h"

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <string.h>

#define RAM_SIZE (16ULL << 20)
#define RING	 0x100000ULL
#define DATA	 0x800000ULL

static struct guest_ram ram;
static int resets;

static void on_needs_reset(struct virtio_dev *dev)
{
	(void)dev;
	__atomic_add_fetch(&resets, 1, __ATOMIC_SEQ_CST);
}

static int start(struct virtio_dev *dev, struct vqd *d, bool event_idx)
{
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_INDIRECT_DESC;

	if (event_idx)
		f |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (vqd_init(d, &ram, RING, 64, event_idx) || vqd_attach(d, &dev->queue[0], true))
		return -1;
	return vqd_activate(dev, f);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static void test_fill(bool event_idx)
{
	struct virtio_dev *dev = rng_create();
	struct vqd_buf one = {DATA, 64, true};
	struct vqd_buf two[2] = {{DATA + 0x1000, 16, true}, {DATA + 0x2000, 100, true}};
	uint8_t *p = guest_ram_ptr(&ram, DATA, 0x3000);
	uint16_t head;
	uint32_t len, total = 0;
	unsigned int i;
	struct vqd d;
	int h1, h2;

	CHECK(dev && dev->device_id == 4 && dev->nr_queues == 1 && dev->config_size == 0);
	if (!dev)
		return;
	memset(p, 0, 0x3000);
	/* buffers made available before DRIVER_OK are served without a kick */
	CHECK(vqd_init(&d, &ram, RING, 64, event_idx) == 0);
	h1 = vqd_add(&d, &one, 1, false);
	h2 = vqd_add(&d, two, 2, true);
	vqd_kick(&d);
	CHECK(vqd_attach(&d, &dev->queue[0], true) == 0);
	CHECK(vqd_activate(dev, 0) == 0);
	for (i = 0; i < 2 && vqd_wait_used(&d, &head, &len, 5000) == 1; i++) {
		CHECK(head == h1 ? len == 64 : head == h2 && len == 116);
		total += len;
	}
	CHECK(total == 180);
	CHECK(!all_zero(p, 64) && !all_zero(p + 0x1000, 16) && !all_zero(p + 0x2000, 100));
	CHECK(all_zero(p + 64, 64) && all_zero(p + 0x2000 + 100, 64));
	/* and again after a kick */
	memset(p, 0, 64);
	h1 = vqd_add(&d, &one, 1, false);
	vqd_kick(&d);
	CHECK(vqd_wait_used(&d, &head, &len, 5000) == 1 && head == h1 && len == 64);
	CHECK(!all_zero(p, 64));
	/* the queue's counters: three requests and their bytes (counted before they are
	 * used), a kick; the interrupts follow the used entries, so at least the first
	 * batch's is in */
	CHECK(dev->queue[0].stats.requests == 3 && dev->queue[0].stats.bytes == 244);
	CHECK(dev->queue[0].stats.kicks >= 1 && dev->queue[0].stats.interrupts >= 1);
	dev->ops->reset(dev);
	vqd_destroy(&d);
	dev->ops->destroy(dev);
}

static void test_bad_chain(void)
{
	struct virtio_dev *dev = rng_create();
	struct vqd_buf bad = {RAM_SIZE - 4, 64, true};
	struct vqd_buf good = {DATA, 64, true};
	uint16_t head;
	uint32_t len;
	struct vqd d;

	CHECK(dev != NULL);
	if (!dev)
		return;
	dev->needs_reset = on_needs_reset;
	CHECK(start(dev, &d, true) == 0);
	CHECK(vqd_add(&d, &bad, 1, false) >= 0);
	vqd_kick(&d);
	CHECK(vqd_wait_used(&d, &head, &len, 300) == 0);
	CHECK(__atomic_load_n(&resets, __ATOMIC_SEQ_CST) == 1);
	CHECK(vqd_add(&d, &good, 1, false) >= 0);
	vqd_kick(&d);
	CHECK(vqd_wait_used(&d, &head, &len, 300) == 0);
	dev->ops->reset(dev);
	vqd_destroy(&d);
	CHECK(start(dev, &d, true) == 0);
	CHECK(vqd_add(&d, &good, 1, false) >= 0);
	vqd_kick(&d);
	CHECK(vqd_wait_used(&d, &head, &len, 5000) == 1 && len == 64);
	vqd_destroy(&d);
	dev->ops->destroy(dev);
}

int main(void)
{
	if (guest_ram_create(&ram, RAM_SIZE, 0))
		return 1;
	test_fill(false);
	test_fill(true);
	test_bad_chain();
	guest_ram_destroy(&ram);
	return CHECK_DONE();
}
