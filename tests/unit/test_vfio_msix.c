/* An assigned device's MSI-X capability is the device's word and is checked like a
 * guest's (vfio/relocate.c): table and PBA inside a BAR the device implements, BIR 6
 * and 7 (reserved) refused with one line, never used as a BAR index (#8 defect 5). */
#include "tests/unit/check.h"
#include "vfio/device.h"
#include "vfio/relocate.h"

#include <string.h>

static struct vfio_dev v;

/* An igbvf-like function: 16 KiB BAR 0 and BAR 3, table in BAR 3, PBA at 0x2000. */
static void igbvf(void)
{
	memset(&v, 0, sizeof(v));
	strcpy(v.bdf, "0000:01:10.0");
	v.bar[0].r.size = v.bar[3].r.size = 0x4000;
	v.msix_table_bar = v.msix_pba_bar = 3;
	v.msix_table = (struct vfio_area){0, 3 * 16};
	v.msix_pba = (struct vfio_area){0x2000, 8};
}

int main(void)
{
	igbvf();
	CHECK(vfio_msix_check(&v) == 0);
	/* reserved BIR values, as a BIR field's three bits allow */
	v.msix_table_bar = 7;
	CHECK(vfio_msix_check(&v) == -1);
	igbvf();
	v.msix_pba_bar = 6;
	CHECK(vfio_msix_check(&v) == -1);
	/* a BAR the device does not implement (size 0, or a 64-bit BAR's upper half) */
	igbvf();
	v.msix_table_bar = 1;
	CHECK(vfio_msix_check(&v) == -1);
	/* past the BAR's end, by its offset or its length */
	igbvf();
	v.msix_table.off = 0x4000;
	CHECK(vfio_msix_check(&v) == -1);
	igbvf();
	v.msix_pba = (struct vfio_area){0x3ffc, 8};
	CHECK(vfio_msix_check(&v) == -1);
	igbvf();
	v.msix_table = (struct vfio_area){0x3000, 0x1000};
	CHECK(vfio_msix_check(&v) == 0);
	return CHECK_DONE();
}
