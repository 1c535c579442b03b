/* An assigned device's MSI-X capability is the device's word and is checked like a
 * guest's (vfio/relocate.c): table and PBA inside a BAR the device implements, BIR 6
 * and 7 (reserved) refused with one line, never used as a BAR index (#8 defect 5).
 * And the count of its interrupts the host took, from a fake /proc/interrupts. */
#include "tests/common/fake_tree.h"
#include "tests/unit/check.h"
#include "vfio/device.h"
#include "vfio/irq.h"
#include "vfio/relocate.h"

#include <stdio.h>
#include <stdlib.h>
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

/* Two CPUs; vfio-pci's lines for 00:12.0 (two MSI-X vectors, INTx), another
 * function's, a host driver's line on the same function's chip, NMI's. */
static const char interrupts[] =
	"            CPU0       CPU1       \n"
	" 24:         10          5  IR-PCI-MSIX-0000:00:12.0    0-edge      "
	"vfio-msix[0](0000:00:12.0)\n"
	" 25:          1          2  IR-PCI-MSIX-0000:00:12.0    1-edge      "
	"vfio-msix[1](0000:00:12.0)\n"
	" 26:        100        100  IR-PCI-MSIX-0000:00:12.1    0-edge      "
	"vfio-msix[0](0000:00:12.1)\n"
	" 27:       1000          0  IR-PCI-MSIX-0000:00:12.0    2-edge      eth0-rx-0\n"
	" 28:          7          0   IO-APIC  11-fasteoi   vfio-intx(0000:00:12.0)\n"
	"NMI:          1          1   Non-maskable interrupts\n";

static void test_host_irq_count(void)
{
	char root[256];
	uint64_t n = 99;

	snprintf(root, sizeof(root), "%s/conduit-irqs-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root)) {
		CHECK(!"mkdtemp");
		return;
	}
	CHECK(vfio_host_irq_count(root, "0000:00:12.0", &n) == -1);
	tree_mkdirs(tree_at("%s/proc", root));
	tree_put_text(tree_at("%s/proc/interrupts", root), interrupts);
	CHECK(vfio_host_irq_count(root, "0000:00:12.0", &n) == 0 && n == 10 + 5 + 1 + 2 + 7);
	CHECK(vfio_host_irq_count(root, "0000:00:12.1", &n) == 0 && n == 200);
	CHECK(vfio_host_irq_count(root, "0000:00:02.0", &n) == 0 && n == 0);
	tree_remove(root);
}

int main(void)
{
	test_host_irq_count();
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
