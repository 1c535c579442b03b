#include "vfio/config.h"

#include <string.h>

#define STD_CAP_MAX_HOPS 48 /* 192 bytes of 4-byte capabilities at most */

#ifndef PCI_EXT_CAP_ID_VF_REBAR
#define PCI_EXT_CAP_ID_VF_REBAR 0x24 /* VF Resizable BAR (PCIe 4.0) */
#endif

/* MSI capability length from its Message Control: 64-bit address, per-vector masks. */
static unsigned int msi_len(uint16_t flags)
{
	unsigned int len = flags & PCI_MSI_FLAGS_64BIT ? 14 : 10;

	return flags & PCI_MSI_FLAGS_MASKBIT ? len + 10 : len;
}

static void mark(uint8_t *map, unsigned int off, unsigned int len)
{
	if (off < PCI_CFG_SIZE)
		memset(map + off, 1, len > PCI_CFG_SIZE - off ? PCI_CFG_SIZE - off : len);
}

/* Type 0 header: all emulated but Status, which is live and forwarded (W1C bits). The
 * image starts as after reset: no BARs decoding, no interrupt line, single function. */
static void header_build(struct vfio_cfg *v, struct pci_dev *d)
{
	mark(v->emul, 0, PCI_STD_HEADER_SIZEOF);
	v->emul[PCI_STATUS] = v->emul[PCI_STATUS + 1] = 0;
	mark(v->fwd, PCI_COMMAND, 4);
	pci_set16(d, PCI_COMMAND, 0);
	memset(d->cfg + PCI_BASE_ADDRESS_0, 0, PCI_BASE_ADDRESS_5 + 4 - PCI_BASE_ADDRESS_0);
	pci_set32(d, PCI_ROM_ADDRESS, 0);
	d->cfg[PCI_HEADER_TYPE] &= 0x7f;
	d->cfg[PCI_BIST] = 0;
	d->cfg[PCI_INTERRUPT_LINE] = 0;
	pci_set_wmask16(d, PCI_COMMAND,
			PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

/* PCIe: Device Control/Status, Link Control and Device Control 2 reach the device. */
static void pcie_build(struct vfio_cfg *v, unsigned int cap)
{
	mark(v->fwd, cap + PCI_EXP_DEVCTL, 4);
	mark(v->fwd, cap + PCI_EXP_LNKCTL, 2);
	mark(v->fwd, cap + PCI_EXP_DEVCTL2, 2);
}

static void std_cap_build(struct vfio_cfg *v, struct pci_dev *d, unsigned int cap)
{
	mark(v->emul, cap, 2);
	switch (d->cfg[cap]) {
	case PCI_CAP_ID_MSI:
		v->msi = cap;
		mark(v->emul, cap, msi_len(pci_get16(d, cap + PCI_MSI_FLAGS)));
		break;
	case PCI_CAP_ID_MSIX:
		v->msix = cap;
		mark(v->emul, cap, PCI_CAP_MSIX_SIZEOF);
		break;
	case PCI_CAP_ID_EXP:
		v->pcie = cap;
		pcie_build(v, cap);
		break;
	case PCI_CAP_ID_PM:
		v->pm = cap;
		mark(v->fwd, cap + PCI_PM_CTRL, 2);
		break;
	}
}

/* Walks the standard list; a pointer outside 0x40..0xfc or a loop ends it there. */
static void std_caps_build(struct vfio_cfg *v, struct pci_dev *d)
{
	uint8_t *prev = &d->cfg[PCI_CAPABILITY_LIST];
	unsigned int hops, ptr;

	if (!(pci_get16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
		*prev = 0;
		return;
	}
	for (hops = 0; hops < STD_CAP_MAX_HOPS; hops++) {
		ptr = *prev & ~3U;
		if (ptr < PCI_STD_HEADER_SIZEOF || ptr > 0xfc)
			break;
		*prev = (uint8_t)ptr;
		std_cap_build(v, d, ptr);
		prev = &d->cfg[ptr + PCI_CAP_LIST_NEXT];
	}
	*prev = 0;
}

static bool ext_cap_hidden(uint16_t id)
{
	return id == PCI_EXT_CAP_ID_SRIOV || id == PCI_EXT_CAP_ID_ARI ||
	       id == PCI_EXT_CAP_ID_REBAR || id == PCI_EXT_CAP_ID_VF_REBAR;
}

/* Sets the next pointer of the header at off, keeping ID and version. */
static void ext_cap_link(struct pci_dev *d, unsigned int off, unsigned int next)
{
	pci_set32(d, off, (pci_get32(d, off) & 0xfffff) | next << 20);
}

/*
 * Extended capabilities: the visible ones are re-chained in the image. The chain must
 * start at 0x100, so when the capability there is hidden its header becomes ID 0,
 * version 0, pointing at the first visible one (Linux walks past ID 0). A pointer
 * below 0x100, an offset seen before (a loop) or an empty header ends the walk.
 */
static void ext_caps_build(struct vfio_cfg *v, struct pci_dev *d)
{
	unsigned int off = PCI_CFG_SPACE_SIZE, last = 0;
	uint8_t seen[PCI_CFG_SIZE / 4] = {0};
	uint32_t hdr;

	mark(v->emul, PCI_CFG_SPACE_SIZE, 4);
	while (off >= PCI_CFG_SPACE_SIZE && !seen[off / 4]) {
		seen[off / 4] = 1;
		hdr = pci_get32(d, off);
		if (hdr == 0 || hdr == 0xffffffff)
			break;
		if (ext_cap_hidden(PCI_EXT_CAP_ID(hdr))) {
			v->hidden++;
			if (off == PCI_CFG_SPACE_SIZE)
				pci_set32(d, off, hdr & 0xfff00000);
		} else {
			mark(v->emul, off, 4);
			if (off != PCI_CFG_SPACE_SIZE)
				ext_cap_link(d, last ? last : PCI_CFG_SPACE_SIZE, off);
			last = off;
		}
		off = PCI_EXT_CAP_NEXT(hdr) & ~3U;
	}
	if (last)
		ext_cap_link(d, last, 0);
	else
		pci_set32(d, PCI_CFG_SPACE_SIZE, 0);
}

/* Builds the image, masks and maps from the device's raw config space. */
void vfio_cfg_build(struct vfio_cfg *v, struct pci_dev *d, const uint8_t *raw, unsigned int size)
{
	memset(v, 0, sizeof(*v));
	v->size = size > PCI_CFG_SPACE_SIZE ? PCI_CFG_SIZE : PCI_CFG_SPACE_SIZE;
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	memset(d->w1cmask, 0, sizeof(d->w1cmask));
	memcpy(d->cfg, raw, size < PCI_CFG_SIZE ? size : PCI_CFG_SIZE);
	header_build(v, d);
	std_caps_build(v, d);
	if (v->size == PCI_CFG_SIZE)
		ext_caps_build(v, d);
}

/* Replaces the emulated bytes of a live read with the image's. */
void vfio_cfg_overlay(const struct vfio_cfg *v, const struct pci_dev *d, unsigned int off,
		      uint8_t *data, unsigned int size)
{
	unsigned int i;

	for (i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
		if (v->emul[off + i] || off + i >= v->size)
			data[i] = off + i >= v->size ? 0 : d->cfg[off + i];
}

/* A BAR's type comes from the register VFIO shows (it virtualizes VF BARs too). */
enum pci_bar_type vfio_cfg_bar_type(const uint8_t *raw, unsigned int i)
{
	uint32_t reg = (uint32_t)raw[PCI_BASE_ADDRESS_0 + 4 * i] |
		       (uint32_t)raw[PCI_BASE_ADDRESS_0 + 4 * i + 1] << 8;

	if (reg & PCI_BASE_ADDRESS_SPACE_IO)
		return PCI_BAR_IO;
	if ((reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64)
		return i < PCI_NUM_BARS - 1 ? PCI_BAR_MEM64 : PCI_BAR_NONE;
	return PCI_BAR_MEM32;
}
