/*
 * Resource assignment, firmware style, so Linux finds a configured hierarchy and only
 * claims it. Bus numbers are handed out depth first. Each bus's needs are sized
 * bottom-up per kind: I/O, non-prefetchable memory (which a bridge can only forward
 * below 4 GiB) and 64-bit prefetchable memory; BARs are naturally aligned, bridge
 * windows 4 KiB (I/O) or 1 MiB (memory) aligned. Expansion ROMs are 32-bit
 * non-prefetchable memory like any such BAR, so they land inside their bridges'
 * windows. Items are placed largest alignment first, which packs power-of-two sizes
 * without holes. A hot-plug slot's windows are at least what a device added later
 * may need (the OS places its BARs inside them): no I/O, which 16 KiB of port space
 * cannot give every slot and PCIe devices do without, 2 MiB of memory and 64 MiB of
 * prefetchable memory, each naturally aligned so one BAR of that size fits.
 */
#include "pci/alloc.h"
#include "pci/bar.h"
#include "vmm/base/log.h"

#include <stdlib.h>

enum kind { KIND_IO, KIND_MEM, KIND_PREF, NR_KINDS };

static const uint64_t window_gran[NR_KINDS] = {0x1000, 0x100000, 0x100000};
static const uint64_t hotplug_reserve[NR_KINDS] = {0, 2ULL << 20, 64ULL << 20};

struct item {
	struct pci_dev *dev;
	int bar; /* -1: the bridge's window */
	uint64_t size, align;
};

struct need {
	uint64_t size, align;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int bar_kind(const struct pci_bar *b)
{
	if (b->type == PCI_BAR_IO)
		return KIND_IO;
	return b->type == PCI_BAR_MEM64 && b->prefetchable ? KIND_PREF : KIND_MEM;
}

static struct need bus_need(struct pci_bus *bus, int kind);

static int collect(struct pci_bus *bus, int kind, struct item *items)
{
	int n = 0;
	unsigned int i, b;

	for (i = 0; i < 256; i++) {
		struct pci_dev *d = bus->dev[i];

		if (!d)
			continue;
		for (b = 0; b < PCI_NUM_RESOURCES; b++)
			if (d->bar[b].size && d->bar[b].type != PCI_BAR_NONE &&
			    bar_kind(&d->bar[b]) == kind)
				items[n++] =
					(struct item){d, (int)b, d->bar[b].size, d->bar[b].size};
		if (d->secondary) {
			struct need w = bus_need(d->secondary, kind);

			if (d->secondary->hotplug && w.size < hotplug_reserve[kind])
				w = (struct need){hotplug_reserve[kind], hotplug_reserve[kind]};
			if (w.size)
				items[n++] = (struct item){d, -1, w.size, w.align};
		}
	}
	return n;
}

static int by_align_desc(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return x->align < y->align ? 1 : x->align > y->align ? -1 : 0;
}

static struct item *sorted_items(struct pci_bus *bus, int kind, int *n)
{
	struct item *items = calloc(256 * (PCI_NUM_RESOURCES + 1), sizeof(*items));

	if (!items)
		return NULL;
	*n = collect(bus, kind, items);
	qsort(items, (size_t)*n, sizeof(*items), by_align_desc);
	return items;
}

/* The window a bus needs behind its bridge: rounded to the bridge granule. */
static struct need bus_need(struct pci_bus *bus, int kind)
{
	struct need w = {0, window_gran[kind]};
	int i, n;
	struct item *items = sorted_items(bus, kind, &n);

	for (i = 0; items && i < n; i++) {
		w.size = align_up(w.size, items[i].align) + items[i].size;
		if (items[i].align > w.align)
			w.align = items[i].align;
	}
	free(items);
	w.size = w.size ? align_up(w.size, window_gran[kind]) : 0;
	return w;
}

static void set_window(struct pci_dev *br, int kind, uint64_t base, uint64_t size)
{
	uint64_t limit = base + size - 1;

	if (kind == KIND_IO) {
		pci_set8(br, PCI_IO_BASE, size ? (uint8_t)(base >> 8 & 0xf0) : 0xf0);
		pci_set8(br, PCI_IO_LIMIT, size ? (uint8_t)(limit >> 8 & 0xf0) : 0);
	} else if (kind == KIND_MEM) {
		pci_set16(br, PCI_MEMORY_BASE, size ? (uint16_t)(base >> 16 & 0xfff0) : 0xfff0);
		pci_set16(br, PCI_MEMORY_LIMIT, size ? (uint16_t)(limit >> 16 & 0xfff0) : 0);
	} else {
		pci_set16(br, PCI_PREF_MEMORY_BASE,
			  size ? (uint16_t)((base >> 16 & 0xfff0) | 1) : 0xfff1);
		pci_set16(br, PCI_PREF_MEMORY_LIMIT,
			  size ? (uint16_t)((limit >> 16 & 0xfff0) | 1) : 0x0001);
		pci_set32(br, PCI_PREF_BASE_UPPER32, size ? (uint32_t)(base >> 32) : 0);
		pci_set32(br, PCI_PREF_LIMIT_UPPER32, size ? (uint32_t)(limit >> 32) : 0);
	}
}

static uint64_t bus_place(struct pci_bus *bus, int kind, uint64_t base)
{
	int i, n;
	struct item *items = sorted_items(bus, kind, &n);

	for (i = 0; items && i < n; i++) {
		base = align_up(base, items[i].align);
		if (items[i].bar >= 0) {
			pci_bar_set_addr(items[i].dev, (unsigned int)items[i].bar, base);
		} else {
			set_window(items[i].dev, kind, base, items[i].size);
			bus_place(items[i].dev->secondary, kind, base);
		}
		base += items[i].size;
	}
	free(items);
	return base;
}

/* Disables every window first, so bridges with nothing of a kind forward none of it. */
static void close_windows(struct pci_bus *bus)
{
	unsigned int i;
	int k;

	for (i = 0; i < 256; i++) {
		struct pci_dev *d = bus->dev[i];

		if (!d || !d->secondary)
			continue;
		for (k = 0; k < NR_KINDS; k++)
			set_window(d, k, 0, 0);
		close_windows(d->secondary);
	}
}

static unsigned int number_buses(struct pci_bus *bus, unsigned int busnr, unsigned int next)
{
	unsigned int i;

	for (i = 0; i < 256; i++) {
		struct pci_dev *d = bus->dev[i];

		if (!d || !d->secondary)
			continue;
		pci_set8(d, PCI_PRIMARY_BUS, (uint8_t)busnr);
		pci_set8(d, PCI_SECONDARY_BUS, (uint8_t)next);
		pci_set8(d, PCI_SUBORDINATE_BUS, 0xff);
		next = number_buses(d->secondary, next, next + 1);
		pci_set8(d, PCI_SUBORDINATE_BUS, (uint8_t)(next - 1));
		pci_set16(d, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	}
	return next;
}

static const char *const kind_names[NR_KINDS] = {"I/O", "32-bit memory", "64-bit memory"};

static void root_window(struct pci_bus *root, int kind, uint64_t base, uint64_t end)
{
	uint64_t *w = kind == KIND_IO	 ? &root->win.io_base
		      : kind == KIND_MEM ? &root->win.mem32_base
					 : &root->win.mem64_base;

	w[0] = base;
	w[1] = end;
}

/* Places every root's items of a kind from base on: each root's window ends at its
 * last item rounded to the granule, the last root's at end. */
static bool place_kind(struct pci_machine *m, int kind, uint64_t base, uint64_t end)
{
	for (unsigned int i = 0; i < m->nr_roots; i++) {
		uint64_t used = align_up(bus_place(m->root[i], kind, base), window_gran[kind]);

		if (used > end) {
			log_error("PCI devices need more %s space than the window 0x%llx-0x%llx "
				  "holds",
				  kind_names[kind], (unsigned long long)base,
				  (unsigned long long)end - 1);
			return false;
		}
		root_window(m->root[i], kind, base, i + 1 == m->nr_roots ? end : used);
		base = used;
	}
	return true;
}

static void number_roots(struct pci_machine *m)
{
	unsigned int next = 0;

	for (unsigned int i = 0; i < m->nr_roots; i++) {
		m->root[i]->first = next;
		next = number_buses(m->root[i], next, next + 1);
		m->root[i]->last = next - 1;
		close_windows(m->root[i]);
	}
}

int pci_assign_resources(struct pci_machine *m, const struct pci_windows *w)
{
	number_roots(m);
	if (!place_kind(m, KIND_IO, w->io_base, w->io_end) ||
	    !place_kind(m, KIND_MEM, w->mem32_base, w->mem32_end) ||
	    !place_kind(m, KIND_PREF, w->mem64_base, w->mem64_end))
		return -1;
	for (unsigned int r = 0; r < m->nr_roots; r++)
		for (unsigned int i = 0; i < 256; i++)
			if (m->root[r]->dev[i])
				pci_update_mappings(m->root[r]->dev[i]);
	return 0;
}
