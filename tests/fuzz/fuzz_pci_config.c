/*
 * libFuzzer target: PCI config space as a guest reaches it, through ECAM and through
 * 0xcf8/0xcfc, across a fabric like the ones conduit builds: a host bridge, a root
 * port with a virtio-rng behind it, a root port with a switch (upstream port, two
 * downstream ports) and a virtio-rng below one of them, and a virtio-rng on the root
 * bus; firmware-style resources assigned, then the guest reprograms bus numbers,
 * windows, BARs and commands, resets secondary buses and reaches into the BARs it
 * placed. KVM is a stub. Ops (fuzz_ops.h), by kind % 8: ECAM read at function off
 * (bus << 8 | devfn) register val % 4096; latch val; ECAM write of the latch there;
 * 0xcf8 write of val; 0xcfc + off % 4 write or read; memory read or write (the
 * latch) at val within the memory windows.
 */
#include "fuzz_ops.h"
#include "pci/alloc.h"
#include "pci/host.h"
#include "pci/port.h"
#include "virtio/pci.h"
#include "virtio/rng.h"

#include <stdlib.h>

#define ECAM	 0xe0000000ULL
#define MEM_BASE 0xc0000000ULL
#define MEM_SPAN 0x20000000ULL
#define RAM_SIZE (1u << 20)

struct fabric {
	struct iobus pio, mmio;
	struct pci_machine m;
	struct pci_host host;
	uint32_t latch;
};

static struct guest_ram ram;
static struct irq_router router;
static struct io_region reset_reg;

static void reset_rw(void *o, uint64_t off, uint8_t *data, unsigned int size)
{
	(void)o, (void)off;
	memset(data, 0, size);
}

static void attach_rng(struct pci_bus *bus)
{
	struct virtio_dev *v = rng_create();
	struct pci_dev *d = v ? virtio_pci_create(v, &router, &ram) : NULL;

	if (!d || pci_bus_attach(bus, d, -1))
		abort();
}

static void build(struct fabric *f)
{
	struct pci_windows w = {0xc000,		 0x10000,	 MEM_BASE, MEM_BASE + MEM_SPAN,
				0x1000000000ULL, 0x2000000000ULL};
	struct pci_dev *rp1, *rp2, *up, *down0;

	iobus_init(&f->pio);
	iobus_init(&f->mmio);
	reset_reg = (struct io_region){.base = 0xcf9, .len = 1, .read = reset_rw};
	if (pci_machine_init(&f->m, &f->pio, &f->mmio) ||
	    pci_host_init(&f->host, &f->m, ECAM, &reset_reg))
		abort();
	rp1 = port_create_root(f->m.bus[0], "rp1", 1);
	rp2 = port_create_root(f->m.bus[0], "rp2", 2);
	up = rp2 ? port_create_switch_up(rp2->secondary, "sw") : NULL;
	down0 = up ? port_create_switch_down(up->secondary, "sw.0", 0) : NULL;
	if (!rp1 || !down0 || !port_create_switch_down(up->secondary, "sw.1", 1))
		abort();
	attach_rng(rp1->secondary);
	attach_rng(down0->secondary);
	attach_rng(f->m.bus[0]);
	if (pci_assign_resources(&f->m, &w))
		abort();
}

static void op_run(struct fabric *f, const struct fuzz_op *op)
{
	uint64_t ecam = ECAM + ((uint64_t)op->off << 12) + op->val % 4096;
	unsigned int sz = op->size > 4 ? 4 : op->size;
	uint8_t buf[8], latch[8];

	memcpy(latch, &f->latch, 4);
	memcpy(latch + 4, &f->latch, 4);
	switch (op->kind % 8) {
	case 0:
		iobus_read(&f->mmio, ecam, buf, sz);
		break;
	case 1:
		f->latch = op->val;
		break;
	case 2:
		iobus_write(&f->mmio, ecam, latch, sz);
		break;
	case 3:
		iobus_write(&f->pio, 0xcf8, op->bytes, 4);
		break;
	case 4:
		iobus_write(&f->pio, 0xcfc + op->off % 4, op->bytes, sz);
		break;
	case 5:
		iobus_read(&f->pio, 0xcfc + op->off % 4, buf, sz);
		break;
	case 6:
		iobus_read(&f->mmio, MEM_BASE + op->val % MEM_SPAN, buf, op->size);
		break;
	default:
		iobus_write(&f->mmio, MEM_BASE + op->val % MEM_SPAN, latch, op->size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fabric f;
	struct fuzz_op op;

	if (!ram.host && guest_ram_create(&ram, RAM_SIZE, 0))
		abort();
	fuzz_router_init(&router);
	memset(&f, 0, sizeof(f));
	build(&f);
	while (fuzz_op_next(&data, &size, &op))
		op_run(&f, &op);
	pci_machine_destroy(&f.m);
	iobus_destroy(&f.pio);
	iobus_destroy(&f.mmio);
	irq_router_destroy(&router);
	return 0;
}
