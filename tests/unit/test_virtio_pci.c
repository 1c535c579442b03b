/*
 * The virtio-pci transport's device_status rules (virtio 1.2 §2.1, §3.1.1) with
 * virtio-rng behind it, driven through the common configuration registers as a driver
 * would: a driver may not clear status bits except by a reset, NEEDS_RESET survives
 * driver writes, and a queue's vector moved while the device runs takes effect; then a
 * stress run where one thread kicks while another resets, re-initialises and moves
 * vectors (#8). KVM is a stub that accepts every ioctl; the eventfds are real.
 */
#include "pci/config.h"
#include "tests/common/vq_driver.h"
#include "tests/unit/check.h"
#include "virtio/pci.h"
#include "virtio/rng.h"

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define RAM_SIZE (16ULL << 20)
#define RING	 0x100000ULL
#define DATA	 0x800000ULL
#define BAR_CFG	 0

static struct guest_ram ram;

static int accept_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd, (void)req, (void)arg;
	return 0;
}

static void put(struct pci_dev *d, unsigned int off, uint32_t v, unsigned int size)
{
	uint8_t b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};

	d->bar[BAR_CFG].write(d, BAR_CFG, off, b, size);
}

static uint32_t get(struct pci_dev *d, unsigned int off, unsigned int size)
{
	uint8_t b[4] = {0};

	d->bar[BAR_CFG].read(d, BAR_CFG, off, b, size);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint8_t status(struct pci_dev *d)
{
	return (uint8_t)get(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

/* The driver's side of §3.1.1 up to DRIVER_OK, queue 0 on vector 1. */
static void driver_init(struct pci_dev *d, struct vqd *q)
{
	put(d, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	put(d, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	put(d, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	put(d, VIRTIO_PCI_COMMON_GF, 1, 4); /* VIRTIO_F_VERSION_1 is bit 32 */
	put(d, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
	CHECK(status(d) == 0x0b);
	vqd_init(q, &ram, RING, 64, false);
	put(d, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	put(d, VIRTIO_PCI_COMMON_Q_SIZE, 64, 2);
	put(d, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)q->desc, 4);
	put(d, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)q->avail, 4);
	put(d, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)q->used, 4);
	put(d, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	put(d, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
}

/* Defect: 0x0b then 0x0f activated the running device a second time. */
static void test_no_clearing(struct pci_dev *d, struct virtio_dev *dev)
{
	struct vqd q;

	driver_init(d, &q);
	CHECK(status(d) == 0x0f);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1); /* DRIVER_OK cleared: an error */
	CHECK(status(d) == (0x0f | VIRTIO_CONFIG_S_NEEDS_RESET));
	put(d, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1); /* no second activation */
	CHECK(status(d) == (0x0f | VIRTIO_CONFIG_S_NEEDS_RESET));
	put(d, VIRTIO_PCI_COMMON_STATUS, 0x07, 1); /* FEATURES_OK cleared: the same */
	CHECK(status(d) & VIRTIO_CONFIG_S_FEATURES_OK);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0, 1); /* reset: a fresh start works */
	CHECK(status(d) == 0);
	CHECK(!dev->queue[0].enabled);
	vqd_destroy(&q);
	driver_init(d, &q);
	CHECK(status(d) == 0x0f);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	vqd_destroy(&q);
}

/* NEEDS_RESET set by the device stays through the driver's later status writes. */
static void test_needs_reset_kept(struct pci_dev *d, struct virtio_dev *dev)
{
	struct vqd q;

	driver_init(d, &q);
	dev->needs_reset(dev);
	CHECK(status(d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
	CHECK(status(d) == (0x0f | VIRTIO_CONFIG_S_NEEDS_RESET));
	put(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	CHECK(status(d) == 0);
	vqd_destroy(&q);
}

/* A vector moved after DRIVER_OK is the one the queue interrupts through. */
static void test_vector_moves(struct pci_dev *d, struct virtio_dev *dev)
{
	struct vqd q;
	int before;

	driver_init(d, &q);
	before = dev->queue[0].call_fd;
	CHECK(before >= 0);
	put(d, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	put(d, VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	CHECK(get(d, VIRTIO_PCI_COMMON_Q_MSIX, 2) == 0);
	CHECK(dev->queue[0].call_fd >= 0 && dev->queue[0].call_fd != before);
	put(d, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
	CHECK(dev->queue[0].call_fd == -1);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	vqd_destroy(&q);
}

/* The transport's side of driver_init() for rings a driver already laid out. */
static void transport_init(struct pci_dev *d, const struct vqd *q, uint16_t vector)
{
	put(d, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	put(d, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	put(d, VIRTIO_PCI_COMMON_GF, 1, 4);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
	put(d, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	put(d, VIRTIO_PCI_COMMON_Q_SIZE, q->size, 2);
	put(d, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)q->desc, 4);
	put(d, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)q->avail, 4);
	put(d, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)q->used, 4);
	put(d, VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
	put(d, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
}

struct stress {
	struct pci_dev *d;
	struct vqd q;
	volatile bool done;
};

/* The data path of a driver that ignores resets: makes buffers available whenever
 * the used index lets it, and kicks, as fast as it can. */
static void *stress_kicker(void *arg)
{
	struct stress *st = arg;
	uint16_t *avail_idx = vqd_ptr(&st->q, st->q.avail + 2, 2);
	uint16_t *ring = vqd_ptr(&st->q, st->q.avail + 4, 2 * st->q.size);
	uint16_t *used_idx = vqd_ptr(&st->q, st->q.used + 2, 2);
	uint16_t a, u;

	while (!st->done) {
		a = __atomic_load_n(avail_idx, __ATOMIC_ACQUIRE);
		u = __atomic_load_n(used_idx, __ATOMIC_ACQUIRE);
		if ((uint16_t)(a - u) < st->q.size) {
			ring[a % st->q.size] = a % st->q.size;
			__atomic_store_n(avail_idx, (uint16_t)(a + 1), __ATOMIC_RELEASE);
		}
		put(st->d, 0x3000, 0, 2); /* notify queue 0 */
	}
	return NULL;
}

/* Meanwhile the control path resets, re-initialises (sometimes wrongly), moves the
 * queue's vector and switches MSI-X on and off; then a clean start must work. */
static void test_stress(struct pci_dev *d)
{
	unsigned int msix = pci_cap_find(d, PCI_CAP_ID_MSIX), i;
	uint8_t on[2] = {0, 0x80}, off[2] = {0, 0};
	struct stress st = {.d = d};
	uint16_t *used_idx;
	pthread_t t;

	CHECK(vqd_init(&st.q, &ram, RING, 64, false) == 0);
	for (i = 0; i < 64; i++)
		CHECK(vqd_add(&st.q, &(struct vqd_buf){DATA + 64 * i, 64, true}, 1, false) >= 0);
	CHECK(pthread_create(&t, NULL, stress_kicker, &st) == 0);
	for (i = 0; i < 400; i++) {
		put(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
		memset(vqd_ptr(&st.q, st.q.used, 4), 0, 4);
		transport_init(d, &st.q, (uint16_t)(i % 3 == 2 ? VIRTIO_MSI_NO_VECTOR : i % 3));
		pci_config_write(d, msix + 2, i % 2 ? off : on, 2);
		put(d, VIRTIO_PCI_COMMON_Q_MSIX, i % 2, 2);
		if (i % 7 == 0)
			put(d, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1); /* a driver error */
	}
	st.done = true;
	pthread_join(t, NULL);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	memset(vqd_ptr(&st.q, st.q.avail, 4), 0, 4);
	used_idx = vqd_ptr(&st.q, st.q.used + 2, 2);
	*used_idx = 0;
	transport_init(d, &st.q, 0);
	CHECK(status(d) == 0x0f);
	*(uint16_t *)vqd_ptr(&st.q, st.q.avail + 4, 2) = 0;
	__atomic_store_n((uint16_t *)vqd_ptr(&st.q, st.q.avail + 2, 2), 1, __ATOMIC_RELEASE);
	put(d, 0x3000, 0, 2);
	for (i = 0; i < 1000 && __atomic_load_n(used_idx, __ATOMIC_ACQUIRE) != 1; i++)
		usleep(1000);
	CHECK(*used_idx == 1);
	put(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	vqd_destroy(&st.q);
}

int main(void)
{
	struct virtio_dev *dev;
	struct irq_router r;
	struct pci_dev *d;

	if (guest_ram_create(&ram, RAM_SIZE, 0) || irq_router_init(&r, -1))
		return 1;
	r.kvm_ioctl = accept_ioctl;
	dev = rng_create();
	d = dev ? virtio_pci_create(dev, &r, &ram) : NULL;
	CHECK(d != NULL);
	if (!d)
		return CHECK_DONE();
	test_no_clearing(d, dev);
	test_needs_reset_kept(d, dev);
	test_vector_moves(d, dev);
	test_stress(d);
	d->ops->destroy(d);
	irq_router_destroy(&r);
	guest_ram_destroy(&ram);
	return CHECK_DONE();
}
