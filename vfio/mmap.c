#include "vfio/mmap.h"

static uint64_t down(uint64_t v, uint64_t page)
{
	return v & ~(page - 1);
}

/* The first page-widened trap range overlapping [start, end); false if none. */
static bool first_trap(uint64_t start, uint64_t end, const struct vfio_area *trap,
		       unsigned int nr_trap, uint64_t page, uint64_t *ts, uint64_t *te)
{
	bool found = false;
	unsigned int i;

	for (i = 0; i < nr_trap; i++) {
		uint64_t s = down(trap[i].off, page),
			 e = vfio_page_up(trap[i].off + trap[i].len, page);

		if (!trap[i].len || e <= start || s >= end || (found && s >= *ts))
			continue;
		*ts = s;
		*te = e;
		found = true;
	}
	return found;
}

/* Emits [start, end) minus the trap ranges, in pieces, after the n already in out. */
static unsigned int carve(uint64_t start, uint64_t end, const struct vfio_area *trap,
			  unsigned int nr_trap, uint64_t page, struct vfio_area *out,
			  unsigned int n)
{
	uint64_t ts = 0, te = 0;

	while (start < end && n < VFIO_MAX_AREAS) {
		if (!first_trap(start, end, trap, nr_trap, page, &ts, &te)) {
			out[n++] = (struct vfio_area){start, end - start};
			break;
		}
		if (ts > start)
			out[n++] = (struct vfio_area){start, ts - start};
		start = te;
	}
	return n;
}

/*
 * Fills out (room for VFIO_MAX_AREAS) with page-aligned areas to mmap, in the order of
 * the allowed areas; returns how many. Allowed areas are clipped to the region and
 * shrunk to whole pages; traps are widened to whole pages.
 */
unsigned int vfio_mmap_areas(uint64_t region_size, const struct vfio_area *allowed,
			     unsigned int nr_allowed, const struct vfio_area *trap,
			     unsigned int nr_trap, uint64_t page, struct vfio_area *out)
{
	unsigned int i, n = 0;

	for (i = 0; i < nr_allowed; i++) {
		uint64_t start = vfio_page_up(allowed[i].off, page);
		uint64_t end = allowed[i].off + allowed[i].len;

		if (allowed[i].off >= region_size || end < allowed[i].off)
			continue;
		end = down(end > region_size ? region_size : end, page);
		if (start < end)
			n = carve(start, end, trap, nr_trap, page, out, n);
	}
	return n;
}

/* The PCI spec (MSI-X, "the table and PBA ... naturally aligned 4 KiB") promises no
 * other registers share the 4 KiB ranges holding the table or the PBA. */
#define MSIX_ALIGN 0x1000ULL

/* True if [s, e) lies inside the 4 KiB ranges of the traps. */
static bool covered(uint64_t s, uint64_t e, const struct vfio_area *trap, unsigned int nr_trap)
{
	unsigned int i;
	bool moved = true;

	while (s < e && moved) {
		moved = false;
		for (i = 0; i < nr_trap; i++) {
			uint64_t ts = down(trap[i].off, MSIX_ALIGN);
			uint64_t te = vfio_page_up(trap[i].off + trap[i].len, MSIX_ALIGN);

			if (trap[i].len && ts <= s && s < te) {
				s = te;
				moved = true;
			}
		}
	}
	return s >= e;
}

/* True if the whole page at p lies inside one allowed area (and the region). */
static bool mappable(uint64_t region_size, const struct vfio_area *allowed, unsigned int nr_allowed,
		     uint64_t p, uint64_t page)
{
	unsigned int i;

	if (p + page > region_size)
		return false;
	for (i = 0; i < nr_allowed; i++)
		if (p >= allowed[i].off && p + page - allowed[i].off <= allowed[i].len)
			return true;
	return false;
}

/*
 * True when a page that must trap for the table or PBA could otherwise be mmap'd and
 * holds other registers, which would then exit on every access. With 4 KiB pages the
 * spec's promise rules that out; with larger host pages (64 KiB on some hosts) the
 * rest of the page is often live registers.
 */
bool vfio_traps_share_pages(uint64_t region_size, const struct vfio_area *allowed,
			    unsigned int nr_allowed, const struct vfio_area *trap,
			    unsigned int nr_trap, uint64_t page)
{
	unsigned int i;
	uint64_t p, e;

	for (i = 0; i < nr_trap; i++) {
		if (!trap[i].len || trap[i].off >= region_size ||
		    trap[i].len > region_size - trap[i].off)
			continue;
		e = vfio_page_up(trap[i].off + trap[i].len, page);
		for (p = down(trap[i].off, page); p < e; p += page)
			if (mappable(region_size, allowed, nr_allowed, p, page) &&
			    !covered(p, p + page, trap, nr_trap))
				return true;
	}
	return false;
}
