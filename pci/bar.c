/*
 * BARs. Sizing works through the write mask: the address bits below the BAR's size
 * are read-only zero and the low type bits read-only, so writing all ones reads back
 * ~(size - 1) | type, as the guest expects. A BAR decodes (its range is registered on
 * conduit's I/O or MMIO bus) only while its command-register enable is set, its
 * address is non-zero, and every bridge above it forwards the range: bridge enabled
 * for that space and the range inside one of its windows. The expansion ROM is
 * resource PCI_ROM_BAR, the same in all of this (PCI 3.0 §6.2.5.2: at least 2 KiB,
 * bits 31:11 the address) except that it also needs its own enable bit, bit 0.
 */
#include "pci/bar.h"
#include "vmm/base/log.h"

#define PCI_IO_WINDOW_GRAN  0x1000ULL
#define PCI_MEM_WINDOW_GRAN 0x100000ULL
#define PCI_PHYS_LIMIT	    (1ULL << 46) /* nothing decodes beyond the guest's reach */

#define PCI_ROM_MIN_SIZE 2048

static unsigned int bar_reg(const struct pci_dev *d, unsigned int bar)
{
	if (bar != PCI_ROM_BAR)
		return PCI_BASE_ADDRESS_0 + 4 * bar;
	return (d->cfg[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_BRIDGE ? PCI_ROM_ADDRESS1
									  : PCI_ROM_ADDRESS;
}

/* The register bits that are not address: type bits, or the ROM's enable. */
static uint32_t bar_flag_bits(enum pci_bar_type type)
{
	if (type == PCI_BAR_ROM)
		return PCI_ROM_ADDRESS_ENABLE;
	return type == PCI_BAR_IO ? 3U : 15U;
}

static void rom_init(struct pci_dev *d, uint64_t size)
{
	if (size < PCI_ROM_MIN_SIZE)
		size = PCI_ROM_MIN_SIZE;
	d->bar[PCI_ROM_BAR].size = size;
	pci_set32(d, bar_reg(d, PCI_ROM_BAR), 0);
	pci_set_wmask32(d, bar_reg(d, PCI_ROM_BAR),
			((uint32_t) ~(size - 1) & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE);
}

void pci_bar_init(struct pci_dev *d, unsigned int bar, enum pci_bar_type type, bool prefetchable,
		  uint64_t size)
{
	struct pci_bar *b = &d->bar[bar];
	uint32_t flags = 0;
	uint64_t mask = ~(size - 1);

	*b = (struct pci_bar){
		.dev = d, .index = bar, .type = type, .prefetchable = prefetchable, .size = size};
	if (type == PCI_BAR_ROM) {
		rom_init(d, size);
		return;
	}
	if (type == PCI_BAR_IO) {
		flags = PCI_BASE_ADDRESS_SPACE_IO;
	} else {
		flags = type == PCI_BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0;
		flags |= prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0;
	}
	pci_set32(d, bar_reg(d, bar), flags);
	pci_set_wmask32(d, bar_reg(d, bar), (uint32_t)mask & ~bar_flag_bits(type));
	if (type == PCI_BAR_MEM64) {
		pci_set32(d, bar_reg(d, bar + 1), 0);
		pci_set_wmask32(d, bar_reg(d, bar + 1), (uint32_t)(mask >> 32));
	}
}

uint64_t pci_bar_addr(const struct pci_dev *d, unsigned int bar)
{
	const struct pci_bar *b = &d->bar[bar];
	uint64_t lo = pci_get32(d, bar_reg(d, bar));

	if (b->type == PCI_BAR_IO)
		return lo & ~3ULL & 0xffff;
	if (b->type == PCI_BAR_ROM)
		return lo & PCI_ROM_ADDRESS_MASK;
	if (b->type == PCI_BAR_MEM64)
		return (lo & ~15ULL) | (uint64_t)pci_get32(d, bar_reg(d, bar + 1)) << 32;
	return lo & ~15ULL;
}

void pci_bar_set_addr(struct pci_dev *d, unsigned int bar, uint64_t addr)
{
	struct pci_bar *b = &d->bar[bar];
	uint32_t flags = pci_get32(d, bar_reg(d, bar)) & bar_flag_bits(b->type);

	pci_set32(d, bar_reg(d, bar), (uint32_t)addr | flags);
	if (b->type == PCI_BAR_MEM64)
		pci_set32(d, bar_reg(d, bar + 1), (uint32_t)(addr >> 32));
}

static bool bridge_forwards(const struct pci_dev *br, bool io, uint64_t addr, uint64_t size)
{
	uint64_t end = addr + size - 1, base, limit;
	uint16_t cmd = pci_get16(br, PCI_COMMAND);

	if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return false;
	if (io) {
		base = (uint64_t)(pci_get8(br, PCI_IO_BASE) & 0xf0) << 8;
		limit = ((uint64_t)(pci_get8(br, PCI_IO_LIMIT) & 0xf0) << 8) | 0xfff;
		return base <= limit && addr >= base && end <= limit;
	}
	base = (uint64_t)(pci_get16(br, PCI_MEMORY_BASE) & 0xfff0) << 16;
	limit = ((uint64_t)(pci_get16(br, PCI_MEMORY_LIMIT) & 0xfff0) << 16) | 0xfffff;
	if (base <= limit && addr >= base && end <= limit)
		return true;
	base = (uint64_t)(pci_get16(br, PCI_PREF_MEMORY_BASE) & 0xfff0) << 16 |
	       (uint64_t)pci_get32(br, PCI_PREF_BASE_UPPER32) << 32;
	limit = ((uint64_t)(pci_get16(br, PCI_PREF_MEMORY_LIMIT) & 0xfff0) << 16 | 0xfffff) |
		(uint64_t)pci_get32(br, PCI_PREF_LIMIT_UPPER32) << 32;
	return base <= limit && addr >= base && end <= limit;
}

static bool bar_decodes(const struct pci_dev *d, unsigned int bar, uint64_t addr)
{
	const struct pci_bar *b = &d->bar[bar];
	bool io = b->type == PCI_BAR_IO;
	const struct pci_dev *up;

	if (!(pci_get16(d, PCI_COMMAND) & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return false;
	if (b->type == PCI_BAR_ROM && !(pci_get32(d, bar_reg(d, bar)) & PCI_ROM_ADDRESS_ENABLE))
		return false;
	if (!addr || addr + b->size < addr || addr + b->size > (io ? 0x10000 : PCI_PHYS_LIMIT))
		return false;
	for (up = d->bus->self; up; up = up->bus->self)
		if (!bridge_forwards(up, io, addr, b->size))
			return false;
	return true;
}

static void bar_region_read(void *opaque, uint64_t off, uint8_t *data, unsigned int size)
{
	struct pci_bar *b = opaque;

	b->read(b->dev, b->index, off, data, size);
}

static void bar_region_write(void *opaque, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct pci_bar *b = opaque;

	b->write(b->dev, b->index, off, data, size);
}

static void bar_update(struct pci_dev *d, unsigned int bar)
{
	struct pci_bar *b = &d->bar[bar];
	struct iobus *iob = b->type == PCI_BAR_IO ? d->machine->pio : d->machine->mmio;
	uint64_t addr = pci_bar_addr(d, bar);
	bool decode = bar_decodes(d, bar, addr);
	struct io_region r = {
		.base = addr,
		.len = b->size,
		.read = b->read ? bar_region_read : NULL,
		.write = b->write ? bar_region_write : NULL,
		.opaque = b,
	};

	if (decode == b->mapped && (!decode || addr == b->addr))
		return;
	if (b->mapped && (b->read || b->write))
		iobus_unregister(iob, b->addr, b);
	b->mapped = false;
	if (decode && (b->read || b->write) && iobus_register(iob, &r)) {
		log_guest_warn("%s: %s %u at 0x%llx overlaps another range; not decoding it",
			       d->name, bar == PCI_ROM_BAR ? "ROM (BAR" : "BAR", bar,
			       (unsigned long long)addr);
		decode = false;
	}
	b->mapped = decode;
	b->addr = decode ? addr : 0;
	if (d->ops && d->ops->bar_moved)
		d->ops->bar_moved(d, bar);
}

/* Re-evaluates every BAR of d and, for a bridge, of everything below it. */
void pci_update_mappings(struct pci_dev *d)
{
	unsigned int i;

	for (i = 0; i < PCI_NUM_RESOURCES; i++)
		if (d->bar[i].type != PCI_BAR_NONE && d->bar[i].size)
			bar_update(d, i);
	if (!d->secondary)
		return;
	for (i = 0; i < 256; i++)
		if (d->secondary->dev[i])
			pci_update_mappings(d->secondary->dev[i]);
}
