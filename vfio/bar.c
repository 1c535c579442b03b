/*
 * BARs and the expansion ROM of an assigned function. The guest's BAR registers are
 * emulated (pci/bar.c does sizing and placement); the device keeps the addresses the
 * host gave it. What may be mmap'd (vfio/mmap.c decides) is mapped once at start and
 * put into a KVM memory slot wherever the guest places the BAR, so those accesses
 * never exit. The rest traps: MSI-X table and PBA are emulated, anything else is
 * forwarded with pread/pwrite on the device fd (I/O BARs always are).
 */
#include "vfio/bar.h"
#include "pci/bar.h"
#include "vfio/config.h"
#include "vmm/base/memslot.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define REGION_INFO_MAX 4096

static void sparse_parse(const struct vfio_region_info *info, struct vfio_area *sparse,
			 unsigned int *nr)
{
	const struct vfio_info_cap_header *h;
	const struct vfio_region_info_cap_sparse_mmap *sm;
	uint32_t off, i;

	for (off = info->cap_offset; off && off + sizeof(*h) <= info->argsz; off = h->next) {
		h = (const void *)((const uint8_t *)info + off);
		if (h->id != VFIO_REGION_INFO_CAP_SPARSE_MMAP)
			continue;
		sm = (const void *)h;
		*nr = 0;
		for (i = 0; i < sm->nr_areas && i < VFIO_MAX_AREAS &&
			    off + sizeof(*sm) + (i + 1) * sizeof(sm->areas[0]) <= info->argsz;
		     i++)
			sparse[(*nr)++] =
				(struct vfio_area){sm->areas[i].offset, sm->areas[i].size};
		return;
	}
}

/* Region index's place in the device fd; with sparse != NULL also what may be mmap'd:
 * the sparse areas if the kernel lists them, else the whole region if mmap-able. */
int vfio_region_info(struct vfio_dev *v, uint32_t index, struct vfio_region *r,
		     struct vfio_area *sparse, unsigned int *nr_sparse)
{
	struct vfio_region_info *info = calloc(1, REGION_INFO_MAX);

	if (!info)
		return -1;
	info->argsz = REGION_INFO_MAX;
	info->index = index;
	if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, info)) {
		free(info);
		return -1;
	}
	*r = (struct vfio_region){info->offset, info->size, info->flags};
	if (sparse) {
		*nr_sparse = 0;
		if (info->flags & VFIO_REGION_INFO_FLAG_MMAP) {
			sparse[0] = (struct vfio_area){0, info->size};
			*nr_sparse = 1;
		}
		if ((info->flags & VFIO_REGION_INFO_FLAG_CAPS) && info->argsz <= REGION_INFO_MAX &&
		    *nr_sparse)
			sparse_parse(info, sparse, nr_sparse);
	}
	free(info);
	return 0;
}

static bool in_area(const struct vfio_area *a, uint64_t off, unsigned int size)
{
	return a->len && off >= a->off && off + size <= a->off + a->len;
}

static void bar_read(struct pci_dev *d, unsigned int bar, uint64_t off, uint8_t *data,
		     unsigned int size)
{
	struct vfio_dev *v = to_vfio(d);

	if (v->has_msix && bar == v->msix_table_bar && in_area(&v->msix_table, off, size)) {
		pthread_mutex_lock(&v->lock);
		msix_table_read(&v->msix, off - v->msix_table.off, data, size);
		pthread_mutex_unlock(&v->lock);
		return;
	}
	if (v->has_msix && bar == v->msix_pba_bar && in_area(&v->msix_pba, off, size)) {
		msix_pba_read(&v->msix, off - v->msix_pba.off, data, size);
		return;
	}
	if ((int)bar == v->msix_relo_bar) {
		memset(data, 0, size); /* the gap after the moved table and PBA */
		return;
	}
	if (pread(v->fd, data, size, (off_t)(v->bar[bar].r.off + off)) != (ssize_t)size)
		memset(data, 0xff, size);
}

static void bar_write(struct pci_dev *d, unsigned int bar, uint64_t off, const uint8_t *data,
		      unsigned int size)
{
	struct vfio_dev *v = to_vfio(d);

	if (v->has_msix && bar == v->msix_table_bar && in_area(&v->msix_table, off, size)) {
		pthread_mutex_lock(&v->lock);
		msix_table_write(&v->msix, off - v->msix_table.off, data, size);
		pthread_mutex_unlock(&v->lock);
		return;
	}
	if ((v->has_msix && bar == v->msix_pba_bar && in_area(&v->msix_pba, off, size)) ||
	    (int)bar == v->msix_relo_bar)
		return; /* the PBA is read-only, the moved table's BAR has nothing else */
	if (pwrite(v->fd, data, size, (off_t)(v->bar[bar].r.off + off)) != (ssize_t)size)
		log_guest_warn("vfio %s: write to BAR %u + 0x%llx failed", v->bdf, bar,
			       (unsigned long long)off);
}

/* The MSI-X table and PBA ranges inside this BAR, which must trap. */
static unsigned int bar_traps(const struct vfio_dev *v, unsigned int bar, struct vfio_area *t)
{
	unsigned int n = 0;

	if (v->has_msix && v->msix_table_bar == bar)
		t[n++] = v->msix_table;
	if (v->has_msix && v->msix_pba_bar == bar)
		t[n++] = v->msix_pba;
	return n;
}

/* Reserves the BAR's size of address space and mmaps the areas into it. */
static int bar_mmap(struct vfio_dev *v, unsigned int i, const struct vfio_area *allowed,
		    unsigned int nr_allowed)
{
	struct vfio_bar *b = &v->bar[i];
	struct vfio_area traps[2];
	unsigned int a, nr_traps = bar_traps(v, i, traps);
	long page = sysconf(_SC_PAGESIZE);

	b->nr_areas = vfio_mmap_areas(b->r.size, allowed, nr_allowed, traps, nr_traps,
				      (uint64_t)page, b->area);
	if (!b->nr_areas)
		return 0;
	b->map = mmap(NULL, b->r.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return -1;
	}
	for (a = 0; a < b->nr_areas; a++) {
		void *p = mmap(b->map + b->area[a].off, b->area[a].len, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, v->fd, (off_t)(b->r.off + b->area[a].off));

		if (p == MAP_FAILED) {
			log_error("vfio %s: cannot mmap BAR %u: %s", v->bdf, i, strerror(errno));
			return -1;
		}
		b->slot[a] = -1;
	}
	return 0;
}

static int bar_init(struct vfio_dev *v, const uint8_t *raw, unsigned int i,
		    const struct vfio_area *allowed, unsigned int nr_allowed)
{
	struct vfio_bar *b = &v->bar[i];
	enum pci_bar_type type = vfio_cfg_bar_type(raw, i);
	bool pref = raw[PCI_BASE_ADDRESS_0 + 4 * i] & PCI_BASE_ADDRESS_MEM_PREFETCH;

	if (!b->r.size || type == PCI_BAR_NONE)
		return 0;
	if (b->r.size & (b->r.size - 1)) {
		log_error("vfio %s: BAR %u is 0x%llx bytes, not a power of two", v->bdf, i,
			  (unsigned long long)b->r.size);
		return -1;
	}
	pci_bar_init(&v->pci, i, type, type != PCI_BAR_IO && pref, b->r.size);
	v->pci.bar[i].read = bar_read;
	v->pci.bar[i].write = bar_write;
	if (type == PCI_BAR_IO)
		return 0;
	return bar_mmap(v, i, allowed, nr_allowed);
}

/* The ROM is read once: VFIO maps and unmaps the device's ROM on every access, far too
 * slow to do per guest read. A ROM that cannot be read is hidden from the guest. */
static void rom_load(struct vfio_dev *v)
{
	v->rom_data =
		mmap(NULL, v->rom.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->rom_data == MAP_FAILED) {
		v->rom_data = NULL;
	} else if (pread(v->fd, v->rom_data, v->rom.size, (off_t)v->rom.off) ==
		   (ssize_t)v->rom.size) {
		mprotect(v->rom_data, v->rom.size, PROT_READ);
		return;
	}
	log_warn("vfio %s: its expansion ROM cannot be read: the guest sees none", v->bdf);
	if (v->rom_data)
		munmap(v->rom_data, v->rom.size);
	v->rom_data = NULL;
	v->rom.size = 0;
}

static void rom_bar_read(struct pci_dev *d, unsigned int bar, uint64_t off, uint8_t *data,
			 unsigned int size)
{
	struct vfio_dev *v = to_vfio(d);

	(void)bar;
	if (off >= v->rom.size || size > v->rom.size - off)
		memset(data, 0xff, size);
	else
		memcpy(data, v->rom_data + off, size);
}

/* The ROM is resource PCI_ROM_BAR of the PCI core, which sizes, places and decodes it;
 * this supplies its contents. */
static void rom_init(struct vfio_dev *v)
{
	v->rom_slot = -1;
	if (vfio_region_info(v, VFIO_PCI_ROM_REGION_INDEX, &v->rom, NULL, NULL) || !v->rom.size ||
	    (v->rom.size & (v->rom.size - 1)))
		v->rom.size = 0;
	if (v->rom.size)
		rom_load(v);
	if (!v->rom.size)
		return;
	pci_bar_init(&v->pci, PCI_ROM_BAR, PCI_BAR_ROM, false, v->rom.size);
	v->pci.bar[PCI_ROM_BAR].read = rom_bar_read;
}

int vfio_bars_init(struct vfio_dev *v, const uint8_t *raw, enum vfio_msix_relocate relocate)
{
	struct vfio_area allowed[PCI_NUM_BARS][VFIO_MAX_AREAS];
	unsigned int i, nr[PCI_NUM_BARS] = {0};

	for (i = 0; i < PCI_NUM_BARS; i++)
		if (vfio_region_info(v, VFIO_PCI_BAR0_REGION_INDEX + i, &v->bar[i].r, allowed[i],
				     &nr[i]))
			v->bar[i].r.size = 0;
	if (v->has_msix && vfio_msix_check(v))
		return -1;
	if (v->has_msix)
		vfio_msix_relocate(v, raw, relocate, allowed, nr);
	for (i = 0; i < PCI_NUM_BARS; i++) {
		if (bar_init(v, raw, i, allowed[i], nr[i]))
			return -1;
		if (v->pci.bar[i].type == PCI_BAR_MEM64)
			i++;
	}
	if (v->msix_relo_bar >= 0) {
		i = (unsigned int)v->msix_relo_bar;
		pci_bar_init(&v->pci, i, PCI_BAR_MEM32, false, v->msix_relo_size);
		v->pci.bar[i].read = bar_read;
		v->pci.bar[i].write = bar_write;
	}
	rom_init(v);
	return 0;
}

/* A ROM that spans whole pages is read through a read-only memory slot while it
 * decodes, without exits; a smaller one traps and is served from the copy. */
static void rom_moved(struct vfio_dev *v)
{
	const struct pci_bar *pb = &v->pci.bar[PCI_ROM_BAR];

	if (v->rom_slot >= 0)
		memslot_unmap(v->slots, v->rom_slot);
	v->rom_slot = -1;
	if (pb->mapped && v->rom.size >= (uint64_t)sysconf(_SC_PAGESIZE))
		v->rom_slot = memslot_map(v->slots, pb->addr, v->rom.size, v->rom_data, true);
}

/* The guest placed (or stopped decoding) BAR i: move its memory slots along. */
void vfio_bar_moved(struct vfio_dev *v, unsigned int i)
{
	struct vfio_bar *b;
	const struct pci_bar *pb = &v->pci.bar[i];
	unsigned int a;

	if (i == PCI_ROM_BAR) {
		rom_moved(v);
		return;
	}
	b = &v->bar[i];
	for (a = 0; b->map && a < b->nr_areas; a++) {
		if (b->slot[a] >= 0)
			memslot_unmap(v->slots, b->slot[a]);
		b->slot[a] = -1;
		if (pb->mapped)
			b->slot[a] = memslot_map(v->slots, pb->addr + b->area[a].off,
						 b->area[a].len, b->map + b->area[a].off, false);
	}
}

void vfio_bars_destroy(struct vfio_dev *v)
{
	unsigned int i, a;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		struct vfio_bar *b = &v->bar[i];

		for (a = 0; b->map && a < b->nr_areas; a++)
			if (b->slot[a] >= 0)
				memslot_unmap(v->slots, b->slot[a]);
		if (b->map)
			munmap(b->map, b->r.size);
		b->map = NULL;
	}
	if (v->rom_slot >= 0)
		memslot_unmap(v->slots, v->rom_slot);
	v->rom_slot = -1;
	if (v->rom_data)
		munmap(v->rom_data, v->rom.size);
	v->rom_data = NULL;
}
