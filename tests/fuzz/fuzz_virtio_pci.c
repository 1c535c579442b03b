/*
 * libFuzzer target: the virtio-pci transport's registers (virtio 1.2 §4.1.4) as a
 * hostile driver drives them, with a live device behind them: virtio-rng, or
 * virtio-blk on a scratch file (byte 0 of the input). Status toggles, resets,
 * feature and queue setup, vector changes and kicks all happen while the device's
 * I/O threads serve whatever rings the input laid out in guest RAM. KVM is a stub;
 * eventfds and threads are real. Ops (fuzz_ops.h), by kind % 7: BAR 0 (common, ISR,
 * device config, notify) write or read, MSI-X BAR write or read, config space write,
 * a 4-byte guest RAM write at off * 4, a yield to the device's threads.
 */
#include "fuzz_disk.h"
#include "fuzz_ops.h"
#include "pci/config.h"
#include "virtio/blk.h"
#include "virtio/pci.h"
#include "virtio/rng.h"

#include <linux/virtio_pci.h>
#include <sched.h>

#define RAM_SIZE (1u << 20)

static struct guest_ram ram;
static struct irq_router router;

static void bar_access(struct pci_dev *d, unsigned int bar, uint64_t off, const struct fuzz_op *op,
		       bool write)
{
	uint8_t buf[8];

	if (write)
		d->bar[bar].write(d, bar, off, op->bytes, op->size);
	else
		d->bar[bar].read(d, bar, off, buf, op->size);
}

static void op_run(struct pci_dev *d, const struct fuzz_op *op)
{
	switch (op->kind % 7) {
	case 0:
	case 1:
		bar_access(d, 0, op->off % d->bar[0].size, op, op->kind % 7 == 0);
		break;
	case 2:
	case 3:
		bar_access(d, 2, op->off % d->bar[2].size, op, op->kind % 7 == 2);
		break;
	case 4:
		pci_config_write(d, op->off % (PCI_CFG_SPACE_SIZE - 3), op->bytes,
				 op->size > 4 ? 4 : op->size);
		break;
	case 5:
		memcpy(ram.host + op->off * 4u, op->bytes, 4);
		break;
	default:
		sched_yield();
	}
}

static struct virtio_dev *device(uint8_t choice)
{
	struct blk_options o = {.path = fuzz_disk(choice & 2), .queues = 1 + (choice >> 2) % 4};

	return choice & 1 ? blk_create(&o) : rng_create();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_dev *vdev;
	struct fuzz_op op;
	struct pci_dev *d;
	uint8_t zero = 0;

	if (size < 1)
		return 0;
	if (!ram.host && guest_ram_create(&ram, RAM_SIZE, 0))
		abort();
	fuzz_router_init(&router);
	memset(ram.host, 0, RAM_SIZE);
	vdev = device(data[0]);
	d = vdev ? virtio_pci_create(vdev, &router, &ram) : NULL;
	if (!d)
		abort();
	data++;
	size--;
	while (fuzz_op_next(&data, &size, &op))
		op_run(d, &op);
	/* a reset stops the device's threads before it goes */
	d->bar[0].write(d, 0, VIRTIO_PCI_COMMON_STATUS, &zero, 1);
	d->ops->destroy(d);
	irq_router_destroy(&router);
	return 0;
}
