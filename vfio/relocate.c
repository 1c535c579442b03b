/*
 * MSI-X table relocation. The table and PBA must trap (their vectors are emulated), and
 * a KVM memory slot covers whole host pages, so a register sharing a host page with
 * them would exit on every access. The PCI spec keeps other registers out of the
 * table's and PBA's naturally aligned 4 KiB ranges, so that happens on hosts with
 * larger pages, or on devices that break the rule (msix-relocate=on is for those).
 * Then the guest sees the table and PBA in an emulated 32-bit BAR of their own, at a
 * BAR number the device does not use; the MSI-X capability points there and the
 * device's BAR is mmap'd whole. The guest's driver follows the capability, so it never
 * programs the device's own table, and VFIO lets that page be mmap'd only when interrupt
 * remapping makes such writes harmless (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE); otherwise
 * it stays out of the mmap'd areas and its accesses still trap.
 */
#include "vfio/relocate.h"
#include "vfio/config.h"
#include "vfio/device.h"
#include "vmm/base/log.h"

#include <unistd.h>

static uint64_t pow2_up(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* The table's or PBA's host page holds other registers of the BAR it is in; *bar says
 * which BAR. Each BAR holding either is looked at once, with both traps it holds. */
static bool pages_shared(const struct vfio_dev *v, struct vfio_area allowed[][VFIO_MAX_AREAS],
			 const unsigned int *nr, uint64_t page, unsigned int *bar)
{
	const unsigned int bars[2] = {v->msix_table_bar, v->msix_pba_bar};
	unsigned int i, b, n, nr_bars = bars[1] == bars[0] ? 1 : 2;
	struct vfio_area traps[2];

	for (i = 0; i < nr_bars; i++) {
		b = bars[i];
		n = 0;
		if (v->msix_table_bar == b)
			traps[n++] = v->msix_table;
		if (v->msix_pba_bar == b)
			traps[n++] = v->msix_pba;
		if (vfio_traps_share_pages(v->bar[b].r.size, allowed[b], nr[b], traps, n, page)) {
			*bar = b;
			return true;
		}
	}
	return false;
}

/* A BAR number the device leaves unused (not the upper half of a 64-bit BAR). */
static int free_bar(const struct vfio_dev *v, const uint8_t *raw)
{
	unsigned int i;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		if (v->bar[i].r.size)
			continue;
		if (i && v->bar[i - 1].r.size && vfio_cfg_bar_type(raw, i - 1) == PCI_BAR_MEM64)
			continue;
		return (int)i;
	}
	return -1;
}

/* Puts the table at offset 0 of BAR bar and the PBA on the page after it. */
static void relocate(struct vfio_dev *v, unsigned int bar, uint64_t page)
{
	uint64_t table = vfio_page_up(v->msix_table.len, page);
	uint64_t pba = vfio_page_up(v->msix_pba.len, page);
	unsigned int cap = v->cfg.msix;

	v->msix_relo_bar = (int)bar;
	v->msix_relo_size = pow2_up(table + pba);
	v->msix_table_bar = v->msix_pba_bar = bar;
	v->msix_table.off = 0;
	v->msix_pba.off = table;
	pci_set32(&v->pci, cap + PCI_MSIX_TABLE, bar);
	pci_set32(&v->pci, cap + PCI_MSIX_PBA, (uint32_t)table | bar);
}

/* The table or PBA (what) lies inside an implemented BAR numbered 0-5 (BIR 6 and 7 are
 * reserved, PCI Local Bus 3.0 §6.8.2.4-5); the device says it, and a device's word is
 * checked like a guest's. */
static int msix_area_check(const struct vfio_dev *v, const char *what, unsigned int bar,
			   const struct vfio_area *a)
{
	uint64_t size = bar < PCI_NUM_BARS ? v->bar[bar].r.size : 0;

	if (size && a->off <= size && a->len <= size - a->off)
		return 0;
	if (bar >= PCI_NUM_BARS)
		log_error("vfio %s: its MSI-X %s is in BAR %u, a reserved number: the device "
			  "is broken; assign another function",
			  v->bdf, what, bar);
	else
		log_error("vfio %s: its MSI-X %s (0x%llx bytes at 0x%llx) is outside BAR %u "
			  "(0x%llx bytes): the device is broken; assign another function",
			  v->bdf, what, (unsigned long long)a->len, (unsigned long long)a->off, bar,
			  (unsigned long long)size);
	return -1;
}

int vfio_msix_check(const struct vfio_dev *v)
{
	if (msix_area_check(v, "table", v->msix_table_bar, &v->msix_table))
		return -1;
	return msix_area_check(v, "PBA", v->msix_pba_bar, &v->msix_pba);
}

/* Decides, before the BARs are mmap'd, where the guest finds the MSI-X table. */
void vfio_msix_relocate(struct vfio_dev *v, const uint8_t *raw, enum vfio_msix_relocate mode,
			struct vfio_area allowed[][VFIO_MAX_AREAS], const unsigned int *nr)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned int shared_bar = v->msix_table_bar;
	bool shared = pages_shared(v, allowed, nr, page, &shared_bar);
	int bar;

	if (mode == VFIO_MSIX_RELOCATE_OFF || (mode == VFIO_MSIX_RELOCATE_AUTO && !shared))
		return;
	bar = free_bar(v, raw);
	if (bar < 0) {
		log_warn("vfio %s: no free BAR number to move the MSI-X table to: accesses to "
			 "the rest of its page in BAR %u exit to conduit",
			 v->bdf, shared_bar);
		return;
	}
	relocate(v, (unsigned int)bar, page);
	log_info("vfio %s: MSI-X table and PBA shown in BAR %d (%s)", v->bdf, bar,
		 shared ? "their host page holds other registers" : "msix-relocate=on");
}
