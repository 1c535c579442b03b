/*
 * Which parts of an assigned device's BAR the guest reaches directly (mmap'd into a KVM
 * memory slot) and which trap. The kernel says what may be mmap'd: the whole region,
 * or the areas of a sparse-mmap capability. conduit takes those areas minus every host
 * page that holds the MSI-X table or PBA, which must trap so vectors stay emulated; a
 * memory slot covers whole pages, so a page shared with the table traps entirely and
 * the registers on it are forwarded by read/write. Everything not mapped traps.
 * vfio_traps_share_pages() tells when that happens, so the table can be relocated.
 */
#ifndef CONDUIT_VFIO_MMAP_H
#define CONDUIT_VFIO_MMAP_H

#include <stdbool.h>
#include <stdint.h>

#define VFIO_MAX_AREAS 16

/* v rounded up to a multiple of page (a power of two). */
static inline uint64_t vfio_page_up(uint64_t v, uint64_t page)
{
	return (v + page - 1) & ~(page - 1);
}

struct vfio_area {
	uint64_t off, len;
};

unsigned int vfio_mmap_areas(uint64_t region_size, const struct vfio_area *allowed,
			     unsigned int nr_allowed, const struct vfio_area *trap,
			     unsigned int nr_trap, uint64_t page, struct vfio_area *out);
bool vfio_traps_share_pages(uint64_t region_size, const struct vfio_area *allowed,
			    unsigned int nr_allowed, const struct vfio_area *trap,
			    unsigned int nr_trap, uint64_t page);

#endif
