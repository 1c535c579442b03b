/* PCI core: config masks and W1C, capabilities, BAR sizing, bridge routing and windows,
 * firmware-style assignment, decode through the I/O bus, ECAM and 0xcf8, INTx swizzle. */
#include "pci/alloc.h"
#include "pci/host.h"
#include "pci/pcie.h"
#include "pci/port.h"
#include "tests/unit/check.h"

#include "pci/bar.h"
#include "pci/config.h"
#include "vmm/base/log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int bar_reads;

static void bar_read(struct pci_dev *d, unsigned int bar, uint64_t off, uint8_t *data,
		     unsigned int size)
{
	(void)d;
	(void)off;
	bar_reads++;
	memset(data, (int)(0x10 + bar), size);
}

static void ep_destroy(struct pci_dev *d)
{
	free(d);
}

static const struct pci_dev_ops ep_ops = {.destroy = ep_destroy};

/* An endpoint with a 16 KiB 32-bit BAR 0, a 1 MiB 64-bit prefetchable BAR 2 and a
 * 64 KiB expansion ROM. */
static struct pci_dev *endpoint(void)
{
	struct pci_dev *d = calloc(1, sizeof(*d));

	pci_dev_init(d, &ep_ops, "ep", 0x1234, 0x5678, 0x010000, PCI_HEADER_TYPE_NORMAL);
	pci_bar_init(d, 0, PCI_BAR_MEM32, false, 0x4000);
	pci_bar_init(d, 2, PCI_BAR_MEM64, true, 0x100000);
	pci_bar_init(d, PCI_ROM_BAR, PCI_BAR_ROM, false, 0x10000);
	d->bar[0].read = d->bar[2].read = d->bar[PCI_ROM_BAR].read = bar_read;
	pci_set8(d, PCI_INTERRUPT_PIN, 1);
	pcie_cap_add(d, PCI_EXP_TYPE_ENDPOINT, 0);
	return d;
}

static uint32_t cfg32(struct pci_dev *d, unsigned int off)
{
	uint32_t v;

	pci_config_read(d, off, (uint8_t *)&v, 4);
	return v;
}

static void wcfg32(struct pci_dev *d, unsigned int off, uint32_t v)
{
	pci_config_write(d, off, (const uint8_t *)&v, 4);
}

static void wcfg16(struct pci_dev *d, unsigned int off, uint16_t v)
{
	pci_config_write(d, off, (const uint8_t *)&v, 2);
}

static void test_config_masks(void)
{
	struct pci_dev *d = endpoint();
	unsigned int exp;

	wcfg32(d, PCI_VENDOR_ID, 0xffffffff); /* IDs are read-only */
	CHECK(cfg32(d, PCI_VENDOR_ID) == 0x56781234);
	wcfg16(d, PCI_COMMAND, 0xffff);
	CHECK(pci_get16(d, PCI_COMMAND) == 0x0547); /* only the defined enables stick */
	pci_set16(d, PCI_STATUS,
		  PCI_STATUS_CAP_LIST | PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR);
	wcfg16(d, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT); /* write 1 clears that bit only */
	CHECK(pci_get16(d, PCI_STATUS) == (PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_SYSTEM_ERROR));
	wcfg16(d, PCI_STATUS, PCI_STATUS_CAP_LIST); /* read-only bit survives */
	CHECK(pci_get16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST);

	exp = pci_cap_find(d, PCI_CAP_ID_EXP);
	CHECK(exp == 0x40 && d->cfg[PCI_CAPABILITY_LIST] == 0x40);
	CHECK(pci_cap_add(d, PCI_CAP_ID_MSIX, 12) == 0x7c);
	CHECK(d->cfg[exp + 1] == 0x7c && pci_cap_find(d, PCI_CAP_ID_MSIX) == 0x7c);
	CHECK(pci_cap_find(d, PCI_CAP_ID_MSI) == 0);
	CHECK(pci_ecap_add(d, 0x0001, 2, 0x48) == 0x100);
	CHECK(pci_ecap_add(d, 0x000e, 1, 8) == 0x148);
	CHECK(cfg32(d, 0x100) == (0x0001 | 2 << 16 | 0x148u << 20));
	CHECK(cfg32(d, 0x148) == (0x000e | 1 << 16));
	/* out-of-range accesses read ones and write nothing */
	CHECK(cfg32(d, 4094) == 0xffffffff);
	free(d);
}

static void test_bar_sizing(void)
{
	struct pci_dev *d = endpoint();

	CHECK(cfg32(d, PCI_BASE_ADDRESS_0) == 0);
	wcfg32(d, PCI_BASE_ADDRESS_0, 0xffffffff);
	CHECK(cfg32(d, PCI_BASE_ADDRESS_0) == 0xffffc000);
	wcfg32(d, PCI_BASE_ADDRESS_2, 0xffffffff);
	wcfg32(d, PCI_BASE_ADDRESS_3, 0xffffffff);
	CHECK(cfg32(d, PCI_BASE_ADDRESS_2) ==
	      (0xfff00000 | PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH));
	CHECK(cfg32(d, PCI_BASE_ADDRESS_3) == 0xffffffff);
	wcfg32(d, PCI_BASE_ADDRESS_2, 0x12345678);
	wcfg32(d, PCI_BASE_ADDRESS_3, 0x9);
	CHECK(pci_bar_addr(d, 2) == 0x912300000ULL);
	CHECK(cfg32(d, PCI_BASE_ADDRESS_4) == 0 && cfg32(d, PCI_ROM_ADDRESS) == 0);
	free(d);
}

static struct io_region reset_reg;
static void reset_rw(void *o, uint64_t off, uint8_t *data, unsigned int size)
{
	(void)o;
	(void)off;
	memset(data, 0x42, size);
}

struct fabric {
	struct iobus pio, mmio;
	struct pci_machine m;
	struct pci_host host;
	struct pci_dev *rp, *up, *down0, *down1, *ep, *ep2;
};

/* host bridge, root port rp -> switch (up, down0, down1) -> ep behind down1; ep2 on the
 * root bus */
static void build(struct fabric *f)
{
	struct pci_windows w = {0xc000,	    0x10000,	     0xc0000000,
				0xe0000000, 0x1000000000ULL, 0x2000000000ULL};

	iobus_init(&f->pio);
	iobus_init(&f->mmio);
	CHECK(pci_machine_init(&f->m, &f->pio, &f->mmio) == 0);
	f->m.intx_gsi_base = 16;
	reset_reg = (struct io_region){.base = 0xcf9, .len = 1, .read = reset_rw};
	CHECK(pci_host_init(&f->host, &f->m, 0xe0000000, &reset_reg) == 0);
	f->rp = port_create_root(f->m.bus[0], "rp", 1);
	f->up = port_create_switch_up(f->rp->secondary, "sw");
	f->down0 = port_create_switch_down(f->up->secondary, "sw.0", 0);
	f->down1 = port_create_switch_down(f->up->secondary, "sw.1", 1);
	f->ep = endpoint();
	f->ep2 = endpoint();
	CHECK(f->rp && f->up && f->down0 && f->down1);
	CHECK(pci_bus_attach(f->down1->secondary, f->ep, -1) == 0);
	CHECK(pci_bus_attach(f->m.bus[0], f->ep2, -1) == 0);
	CHECK(pci_assign_resources(&f->m, &w) == 0);
}

static void test_topology(struct fabric *f)
{
	struct pci_dev *extra = endpoint();

	/* a PCIe link holds one device: device 1 on a port's bus is refused */
	CHECK(pci_bus_attach(f->down1->secondary, extra, PCI_DEVFN(1, 0)) < 0);
	free(extra);
	CHECK(f->rp->devfn == PCI_DEVFN(1, 0) && f->ep2->devfn == PCI_DEVFN(2, 0));
	CHECK(pci_get8(f->rp, PCI_SECONDARY_BUS) == 1 && pci_get8(f->rp, PCI_SUBORDINATE_BUS) == 4);
	CHECK(pci_get8(f->up, PCI_PRIMARY_BUS) == 1 && pci_get8(f->up, PCI_SECONDARY_BUS) == 2);
	CHECK(pci_get8(f->down0, PCI_SECONDARY_BUS) == 3);
	CHECK(pci_get8(f->down1, PCI_SECONDARY_BUS) == 4);
	CHECK(pci_find(&f->m, 4, 0) == f->ep);
	CHECK(pci_find(&f->m, 2, PCI_DEVFN(1, 0)) == f->down1);
	CHECK(pci_find(&f->m, 3, 0) == NULL);
	CHECK(pci_find(&f->m, 9, 0) == NULL);
	/* BARs landed in the windows, naturally aligned */
	CHECK(pci_bar_addr(f->ep, 0) >= 0xc0000000 && pci_bar_addr(f->ep, 0) % 0x4000 == 0);
	CHECK(pci_bar_addr(f->ep, 2) >= 0x1000000000ULL && pci_bar_addr(f->ep, 2) % 0x100000 == 0);
	CHECK(pci_bar_addr(f->ep2, 0) != pci_bar_addr(f->ep, 0));
	/* the root port's prefetchable window covers ep's 64-bit BAR */
	CHECK(((uint64_t)pci_get32(f->rp, PCI_PREF_BASE_UPPER32) << 32 |
	       (uint64_t)(pci_get16(f->rp, PCI_PREF_MEMORY_BASE) & 0xfff0) << 16) <=
	      pci_bar_addr(f->ep, 2));
	/* empty windows are closed (base above limit), but an empty slot keeps 2 MiB of
	 * memory for a device added later (test_hotplug has the rest) */
	CHECK(pci_get8(f->down0, PCI_IO_BASE) > pci_get8(f->down0, PCI_IO_LIMIT));
	CHECK(pci_get16(f->down0, PCI_MEMORY_LIMIT) - pci_get16(f->down0, PCI_MEMORY_BASE) == 0x10);
	CHECK(pci_intx_gsi(f->ep2) == 16 + (2 + 0) % 8);
	/* ep: device 0 INTA behind down1 (dev 1) -> INTB at up (dev 0) -> INTB at rp
	 * (dev 0)... swizzle lands on root slot 1 pin (0+1+0+0)%4 = 1 */
	CHECK(pci_intx_gsi(f->ep) == 16 + (1 + 1) % 8);
}

static void test_decode(struct fabric *f)
{
	uint8_t d[4];
	uint64_t a0 = pci_bar_addr(f->ep, 0);

	/* decode off until the driver enables memory */
	CHECK(!iobus_read(&f->mmio, a0, d, 4));
	wcfg16(f->ep, PCI_COMMAND, PCI_COMMAND_MEMORY);
	bar_reads = 0;
	CHECK(iobus_read(&f->mmio, a0 + 8, d, 4) && d[0] == 0x10 && bar_reads == 1);
	CHECK(iobus_read(&f->mmio, pci_bar_addr(f->ep, 2), d, 4) && d[0] == 0x12);
	/* a bridge above that stops forwarding memory hides the BAR */
	wcfg16(f->down1, PCI_COMMAND, PCI_COMMAND_IO);
	CHECK(!iobus_read(&f->mmio, a0, d, 4));
	wcfg16(f->down1, PCI_COMMAND, PCI_COMMAND_MEMORY);
	CHECK(iobus_read(&f->mmio, a0, d, 4));
	/* moving the BAR outside the bridge window stops decoding; back inside, it decodes */
	wcfg32(f->ep, PCI_BASE_ADDRESS_0, 0xd8000000);
	CHECK(!iobus_read(&f->mmio, a0, d, 4) && !iobus_read(&f->mmio, 0xd8000000, d, 4));
	wcfg32(f->ep, PCI_BASE_ADDRESS_0, (uint32_t)a0);
	CHECK(iobus_read(&f->mmio, a0, d, 4));
}

/* The expansion ROM is a BAR of the core (PCI 3.0 §6.2.5.2): sized through its mask,
 * placed by firmware inside the non-prefetchable windows above it, decoding only with
 * memory decoding and its own enable bit on. */
static void test_rom(struct fabric *f)
{
	uint64_t rom = pci_bar_addr(f->ep, PCI_ROM_BAR);
	uint64_t base = (uint64_t)(pci_get16(f->down1, PCI_MEMORY_BASE) & 0xfff0) << 16;
	uint64_t limit = (uint64_t)(pci_get16(f->down1, PCI_MEMORY_LIMIT) & 0xfff0) << 16 | 0xfffff;
	uint8_t d[4];

	CHECK(rom >= 0xc0000000 && rom < 0xe0000000 && rom % 0x10000 == 0);
	CHECK(rom >= base && rom + 0x10000 - 1 <= limit);
	CHECK(rom != pci_bar_addr(f->ep, 0));
	wcfg16(f->ep, PCI_COMMAND, PCI_COMMAND_MEMORY);
	CHECK(!iobus_read(&f->mmio, rom, d, 4)); /* enable bit off: no decode */
	wcfg32(f->ep, PCI_ROM_ADDRESS, (uint32_t)rom | PCI_ROM_ADDRESS_ENABLE);
	CHECK(iobus_read(&f->mmio, rom + 0x100, d, 4) && d[0] == 0x10 + PCI_ROM_BAR);
	wcfg16(f->ep, PCI_COMMAND, 0);
	CHECK(!iobus_read(&f->mmio, rom, d, 4)); /* memory decoding off */
	/* sizing: all ones in the address bits read back the 64 KiB mask, enable kept */
	wcfg32(f->ep, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS_MASK | PCI_ROM_ADDRESS_ENABLE);
	CHECK(cfg32(f->ep, PCI_ROM_ADDRESS) == (0xffff0000 | PCI_ROM_ADDRESS_ENABLE));
	wcfg32(f->ep, PCI_ROM_ADDRESS, (uint32_t)rom);
	CHECK(pci_bar_addr(f->ep, PCI_ROM_BAR) == rom);
	wcfg16(f->ep, PCI_COMMAND, PCI_COMMAND_MEMORY);
}

/* Lines fn(f) writes to stderr. */
static unsigned int stderr_lines(void (*fn)(struct fabric *), struct fabric *f)
{
	FILE *t = tmpfile();
	int saved = dup(2), c;
	unsigned int n = 0;

	if (!t || saved < 0 || dup2(fileno(t), 2) < 0)
		return ~0U;
	fn(f);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	while ((c = fgetc(t)) != EOF)
		n += c == '\n';
	fclose(t);
	return n;
}

/* A guest that enables a BAR over another range a thousand times. */
static void overlap_flood(struct fabric *f)
{
	unsigned int i;

	for (i = 0; i < 1000; i++) {
		wcfg16(f->ep, PCI_COMMAND, PCI_COMMAND_MEMORY);
		wcfg16(f->ep, PCI_COMMAND, 0);
	}
}

/* Each refused BAR is said, but a guest cannot flood the log with it (#8 defect 7). */
static void test_overlap_log(struct fabric *f)
{
	struct io_region blocker = {
		.base = pci_bar_addr(f->ep, 0), .len = 0x4000, .read = reset_rw};
	unsigned int lines;

	wcfg16(f->ep, PCI_COMMAND, 0);
	CHECK(iobus_register(&f->mmio, &blocker) == 0);
	lines = stderr_lines(overlap_flood, f);
	CHECK(lines >= 1 && lines <= LOG_LIMIT_BURST);
	CHECK(!f->ep->bar[0].mapped);
	iobus_unregister(&f->mmio, blocker.base, NULL);
	wcfg16(f->ep, PCI_COMMAND, PCI_COMMAND_MEMORY);
	CHECK(f->ep->bar[0].mapped);
}

static uint32_t ecam32(struct fabric *f, unsigned int bus, unsigned int devfn, unsigned int reg)
{
	uint32_t v = 0;

	CHECK(iobus_read(&f->mmio, 0xe0000000 + (bus << 20 | devfn << 12 | reg), (uint8_t *)&v, 4));
	return v;
}

static void test_config_mechanisms(struct fabric *f)
{
	uint32_t addr = 0x80000000 | 4 << 16 | 0 << 8 | PCI_VENDOR_ID, v = 0;
	uint8_t b;

	CHECK(ecam32(f, 0, 0, PCI_VENDOR_ID) == 0x00081b36); /* host bridge */
	CHECK(ecam32(f, 4, 0, PCI_VENDOR_ID) == 0x56781234); /* through two bridges */
	CHECK(ecam32(f, 4, 0, 0x100) == 0); /* extended space: no capabilities, zeros */
	CHECK(ecam32(f, 3, 0, PCI_VENDOR_ID) == 0xffffffff); /* empty link */
	CHECK(ecam32(f, 0, PCI_DEVFN(31, 0), PCI_VENDOR_ID) == 0xffffffff);
	CHECK(iobus_write(&f->pio, 0xcf8, (uint8_t *)&addr, 4));
	CHECK(iobus_read(&f->pio, 0xcfc, (uint8_t *)&v, 4) && v == 0x56781234);
	CHECK(iobus_read(&f->pio, 0xcfe, (uint8_t *)&v, 2) && (v & 0xffff) == 0x5678);
	CHECK(iobus_read(&f->pio, 0xcf9, &b, 1) && b == 0x42); /* the reset register */
	addr &= ~0x80000000U;				       /* disabled: no device answers */
	CHECK(iobus_write(&f->pio, 0xcf8, (uint8_t *)&addr, 4));
	CHECK(iobus_read(&f->pio, 0xcfc, (uint8_t *)&v, 4) && v == 0xffffffff);
}

static bool in_window(uint64_t a, uint64_t base, uint64_t end)
{
	return a >= base && a < end;
}

/*
 * Three root complexes: root 0 (host bridge, root port with an endpoint), root 1 on
 * node 1 (a root port with an endpoint, an endpoint on the root bus itself), root 2
 * empty. Buses are numbered root after root; each root's windows hold its own BARs and
 * follow the previous root's; the last root gets the rest of each window.
 */
static void test_root_complexes(void)
{
	static struct fabric f;
	struct pci_windows w = {0xc000,	    0x10000,	     0xc0000000,
				0xe0000000, 0x1000000000ULL, 0x2000000000ULL};
	struct pci_bus *r1, *r2;
	struct pci_dev *rp0, *rp1, *a = endpoint(), *b = endpoint(), *c = endpoint();

	iobus_init(&f.pio);
	iobus_init(&f.mmio);
	CHECK(pci_machine_init(&f.m, &f.pio, &f.mmio) == 0);
	CHECK(pci_host_init(&f.host, &f.m, 0xe0000000, &reset_reg) == 0);
	r1 = pci_root_new(&f.m, 1);
	r2 = pci_root_new(&f.m, -1);
	CHECK(r1 && r2 && f.m.nr_roots == 3 && f.m.root[0]->numa_node == -1);
	rp0 = port_create_root(f.m.root[0], "rp0", 1);
	rp1 = port_create_root(r1, "rp1", 2);
	CHECK(rp0 && rp1 && pci_bus_attach(rp0->secondary, a, -1) == 0 &&
	      pci_bus_attach(rp1->secondary, b, -1) == 0 && pci_bus_attach(r1, c, -1) == 0);
	CHECK(pci_assign_resources(&f.m, &w) == 0);
	CHECK(f.m.root[0]->first == 0 && f.m.root[0]->last == 1);
	CHECK(r1->first == 2 && r1->last == 3 && r2->first == 4 && r2->last == 4);
	CHECK(pci_get8(rp1, PCI_PRIMARY_BUS) == 2 && pci_get8(rp1, PCI_SECONDARY_BUS) == 3);
	CHECK(pci_find(&f.m, 1, 0) == a && pci_find(&f.m, 3, 0) == b);
	CHECK(pci_find(&f.m, 2, c->devfn) == c && pci_find(&f.m, 2, rp1->devfn) == rp1);
	CHECK(pci_find(&f.m, 4, 0) == NULL && pci_find(&f.m, 5, 0) == NULL);
	CHECK(ecam32(&f, 3, 0, PCI_VENDOR_ID) == 0x56781234);
	/* windows follow each other, each holding its own root's BARs */
	CHECK(f.m.root[0]->win.mem32_base == w.mem32_base);
	CHECK(r1->win.mem32_base == f.m.root[0]->win.mem32_end);
	CHECK(r2->win.mem32_base == r1->win.mem32_end && r2->win.mem32_end == w.mem32_end);
	CHECK(r2->win.mem64_base == r1->win.mem64_end && r2->win.mem64_end == w.mem64_end);
	CHECK(r1->win.mem32_end % 0x100000 == 0 && r1->win.mem64_end % 0x100000 == 0);
	CHECK(in_window(pci_bar_addr(a, 0), f.m.root[0]->win.mem32_base,
			f.m.root[0]->win.mem32_end));
	CHECK(in_window(pci_bar_addr(b, 0), r1->win.mem32_base, r1->win.mem32_end));
	CHECK(in_window(pci_bar_addr(c, 0), r1->win.mem32_base, r1->win.mem32_end));
	CHECK(in_window(pci_bar_addr(b, 2), r1->win.mem64_base, r1->win.mem64_end));
	CHECK(in_window(pci_bar_addr(a, 2), f.m.root[0]->win.mem64_base,
			f.m.root[0]->win.mem64_end));
	/* no I/O BARs: the first roots' I/O windows are empty, the last has all of it */
	CHECK(f.m.root[0]->win.io_base == f.m.root[0]->win.io_end);
	CHECK(r2->win.io_base == w.io_base && r2->win.io_end == w.io_end);
	pci_machine_destroy(&f.m);
	iobus_destroy(&f.pio);
	iobus_destroy(&f.mmio);
}

int main(void)
{
	static struct fabric f;

	test_config_masks();
	test_bar_sizing();
	build(&f);
	test_topology(&f);
	test_decode(&f);
	test_rom(&f);
	test_overlap_log(&f);
	test_config_mechanisms(&f);
	test_root_complexes();
	pci_machine_destroy(&f.m);
	iobus_destroy(&f.pio);
	iobus_destroy(&f.mmio);
	return CHECK_DONE();
}
