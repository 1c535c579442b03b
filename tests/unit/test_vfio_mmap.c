/* Which parts of an assigned device's BAR are mmap'd for the guest (vfio/mmap.c): the
 * kernel's mmap-able areas minus whole pages holding the MSI-X table and PBA. */
#include "tests/unit/check.h"
#include "vfio/mmap.h"

#define PAGE 4096

static struct vfio_area out[VFIO_MAX_AREAS];

static int is(unsigned int i, uint64_t off, uint64_t len)
{
	return out[i].off == off && out[i].len == len;
}

/* When do the table's trapped pages also hold device registers? */
static void share_cases(void)
{
	struct vfio_area bar = {0, 0x40000};
	struct vfio_area igbvf[2] = {{0, 3 * 16}, {0x2000, 8}};
	struct vfio_area nvme[2] = {{0x10000, 64 * 16}, {0x10400, 8}};
	struct vfio_area tail[2] = {{0x3e000, 0x1000}, {0x3f000, 0x1000}};
	struct vfio_area huge[2] = {{0x20000, 0x10000}, {0x30000, 0x10000}};
	struct vfio_area sparse = {0, 0x20000};
	struct vfio_area wraps[2] = {{0x3000, UINT64_MAX}, {0x38000, 0x10}};
	const uint64_t big = 0x10000;

	/* 4 KiB pages: the spec keeps other registers off the table's 4 KiB, never moved */
	CHECK(!vfio_traps_share_pages(0x40000, &bar, 1, igbvf, 2, PAGE));
	CHECK(!vfio_traps_share_pages(0x40000, &bar, 1, nvme, 2, PAGE));
	/* 64 KiB pages: the table's page also covers registers in its other 4 KiB blocks */
	CHECK(vfio_traps_share_pages(0x40000, &bar, 1, igbvf, 2, big));
	CHECK(vfio_traps_share_pages(0x40000, &bar, 1, nvme, 2, big));
	CHECK(vfio_traps_share_pages(0x40000, &bar, 1, tail, 2, big));
	/* table and PBA filling their 64 KiB pages: nothing else traps */
	CHECK(!vfio_traps_share_pages(0x40000, &bar, 1, huge, 2, big));
	/* the kernel does not let that page be mmap'd anyway: moving gains nothing */
	CHECK(!vfio_traps_share_pages(0x40000, &sparse, 1, tail, 2, big));
	CHECK(vfio_traps_share_pages(0x40000, &sparse, 1, igbvf, 2, big));
	/* hostile or absent traps are ignored */
	CHECK(!vfio_traps_share_pages(0x40000, &bar, 1, wraps, 1, big));
	CHECK(!vfio_traps_share_pages(0x40000, &bar, 1, igbvf, 0, big));
	CHECK(vfio_traps_share_pages(0x40000, &bar, 1, wraps + 1, 1, big));
}

int main(void)
{
	struct vfio_area whole = {0, 0x4000};
	struct vfio_area traps[2] = {{0, 3 * 16}, {0x2000, 8}};
	struct vfio_area reversed[2] = {{0x2000, 8}, {0, 3 * 16}};
	struct vfio_area sparse[2] = {{0, 0x2000}, {0x3000, 0x1000}};
	struct vfio_area straddle = {0xff0, 0x20};
	struct vfio_area beyond[2] = {{0x3000, 0x4000}, {0x8000, 0x1000}};
	struct vfio_area wraps = {0x1000, UINT64_MAX};
	unsigned int n;

	/* igbvf's MSI-X BAR: table at 0, PBA at 0x2000; pages 1 and 3 stay direct */
	n = vfio_mmap_areas(0x4000, &whole, 1, traps, 2, PAGE, out);
	CHECK(n == 2 && is(0, 0x1000, 0x1000) && is(1, 0x3000, 0x1000));
	n = vfio_mmap_areas(0x4000, &whole, 1, reversed, 2, PAGE, out);
	CHECK(n == 2 && is(0, 0x1000, 0x1000) && is(1, 0x3000, 0x1000));

	/* no traps: the whole BAR */
	n = vfio_mmap_areas(0x4000, &whole, 1, traps, 0, PAGE, out);
	CHECK(n == 1 && is(0, 0, 0x4000));

	/* sparse areas from the kernel, a table inside the first */
	traps[0] = (struct vfio_area){0x800, 0x10};
	n = vfio_mmap_areas(0x4000, sparse, 2, traps, 1, PAGE, out);
	CHECK(n == 2 && is(0, 0x1000, 0x1000) && is(1, 0x3000, 0x1000));

	/* a table straddling a page boundary traps both pages */
	n = vfio_mmap_areas(0x4000, &whole, 1, &straddle, 1, PAGE, out);
	CHECK(n == 1 && is(0, 0x2000, 0x2000));

	/* smaller than a page: nothing can be mapped */
	whole.len = 0x20;
	CHECK(vfio_mmap_areas(0x20, &whole, 1, traps, 0, PAGE, out) == 0);

	/* areas past the region are clipped or dropped; a wrapping one is dropped */
	n = vfio_mmap_areas(0x4000, beyond, 2, traps, 0, PAGE, out);
	CHECK(n == 1 && is(0, 0x3000, 0x1000));
	CHECK(vfio_mmap_areas(0x4000, &wraps, 1, traps, 0, PAGE, out) == 0);

	/* a table covering the whole BAR leaves nothing */
	whole = (struct vfio_area){0, 0x1000};
	traps[0] = (struct vfio_area){0, 0x1000};
	CHECK(vfio_mmap_areas(0x1000, &whole, 1, traps, 1, PAGE, out) == 0);
	share_cases();
	return CHECK_DONE();
}
