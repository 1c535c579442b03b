/*
 * libFuzzer target: the guest's view of an assigned function built from config space
 * the device supplies (vfio/config.c), then used by a guest. A device is as hostile as
 * a guest here: capability chains that loop or point anywhere, MSI and MSI-X
 * capabilities of any size, BIR values 6 and 7. Input: byte 0 (bit 0: 4 KiB config
 * space, else 256 bytes), bytes 1-6 the device's BAR sizes as powers of two (0: none),
 * the device's config space, then guest accesses (fuzz_ops.h; kind % 2: write or read
 * at off % 4096). The image's capability chains must end, stay in range and hide what
 * conduit hides; the MSI-X check must refuse a table or PBA outside the device's BARs.
 */
#include "fuzz_ops.h"
#include "pci/config.h"
#include "pci/msi.h"
#include "pci/msix.h"
#include "vfio/config.h"
#include "vfio/device.h"
#include "vfio/relocate.h"

#include <stdlib.h>

static struct vfio_dev v;
static struct irq_router router;

static void dev_config_written(struct pci_dev *d, unsigned int off, unsigned int size)
{
	(void)d;
	if (v.has_msi)
		msi_config_written(&v.msi, off, size);
	if (v.has_msix)
		msix_config_written(&v.msix, off, size);
}

static bool dev_config_read(struct pci_dev *d, unsigned int off, uint8_t *data, unsigned int size)
{
	memset(data, 0x5a, size); /* what the device would answer live */
	vfio_cfg_overlay(&v.cfg, d, off, data, size);
	return true;
}

static const struct pci_dev_ops dev_ops = {
	.config_written = dev_config_written,
	.config_read = dev_config_read,
};

/* Standard chain: 0x40..0xfc, at most 48 entries, no entry twice. */
static void std_chain_check(const struct pci_dev *d)
{
	uint8_t seen[PCI_CFG_SPACE_SIZE] = {0};
	unsigned int p = d->cfg[PCI_CAPABILITY_LIST], hops = 0;

	for (; p; p = d->cfg[p + PCI_CAP_LIST_NEXT]) {
		if (p < PCI_STD_HEADER_SIZEOF || p > 0xfc || p % 4 || seen[p] || ++hops > 48)
			abort();
		seen[p] = 1;
	}
}

/* Extended chain: from 0x100, forward to 4 KiB aligned dwords, no hidden capability. */
static void ext_chain_check(const struct pci_dev *d)
{
	uint8_t seen[PCI_CFG_SIZE / 4] = {0};
	unsigned int off = PCI_CFG_SPACE_SIZE;
	uint32_t hdr;
	uint16_t id;

	if (v.cfg.size < PCI_CFG_SIZE)
		return;
	while (off) {
		if (off < PCI_CFG_SPACE_SIZE || off % 4 || seen[off / 4])
			abort();
		seen[off / 4] = 1;
		hdr = pci_get32(d, off);
		id = PCI_EXT_CAP_ID(hdr);
		if (id == PCI_EXT_CAP_ID_SRIOV || id == PCI_EXT_CAP_ID_ARI ||
		    id == PCI_EXT_CAP_ID_REBAR)
			abort();
		off = PCI_EXT_CAP_NEXT(hdr);
	}
}

/* What vfio/irq.c makes of the capabilities the image shows. */
static void irqs_init(void)
{
	unsigned int cap = v.cfg.msi, mmc;
	uint16_t flags;
	uint32_t table, pba;

	if (cap) {
		flags = pci_get16(&v.pci, cap + PCI_MSI_FLAGS);
		mmc = (flags & PCI_MSI_FLAGS_QMASK) >> 1;
		v.has_msi =
			!msi_init_at(&v.msi, &v.pci, &router, cap, 1U << (mmc > 5 ? 5 : mmc),
				     flags & PCI_MSI_FLAGS_64BIT, flags & PCI_MSI_FLAGS_MASKBIT);
	}
	cap = v.cfg.msix;
	if (!cap || msix_init_at(&v.msix, &v.pci, &router, cap))
		return;
	v.has_msix = true;
	table = pci_get32(&v.pci, cap + PCI_MSIX_TABLE);
	pba = pci_get32(&v.pci, cap + PCI_MSIX_PBA);
	v.msix_table_bar = table & PCI_MSIX_TABLE_BIR;
	v.msix_table = (struct vfio_area){table & PCI_MSIX_TABLE_OFFSET, v.msix.nr * 16ULL};
	v.msix_pba_bar = pba & PCI_MSIX_PBA_BIR;
	v.msix_pba = (struct vfio_area){pba & PCI_MSIX_PBA_OFFSET, (v.msix.nr + 63) / 64 * 8};
}

/* A table or PBA the check accepts lies inside an implemented BAR 0-5. */
static void msix_check(void)
{
	if (!v.has_msix || vfio_msix_check(&v))
		return;
	if (v.msix_table_bar >= PCI_NUM_BARS || v.msix_pba_bar >= PCI_NUM_BARS ||
	    v.msix_table.off + v.msix_table.len > v.bar[v.msix_table_bar].r.size ||
	    v.msix_pba.off + v.msix_pba.len > v.bar[v.msix_pba_bar].r.size)
		abort();
}

static void guest(const uint8_t *data, size_t size)
{
	struct fuzz_op op;
	uint8_t buf[8];

	while (fuzz_op_next(&data, &size, &op)) {
		unsigned int sz = op.size > 4 ? 4 : op.size, off = op.off % (PCI_CFG_SIZE - 3);

		if (op.kind % 2)
			pci_config_read(&v.pci, off, buf, sz);
		else
			pci_config_write(&v.pci, off, op.bytes, sz);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int cfg_size, i;

	if (size < 7)
		return 0;
	cfg_size = data[0] & 1 ? PCI_CFG_SIZE : PCI_CFG_SPACE_SIZE;
	memset(&v, 0, sizeof(v));
	for (i = 0; i < PCI_NUM_BARS; i++)
		v.bar[i].r.size = data[1 + i] % 40 ? 1ULL << (data[1 + i] % 40) : 0;
	data += 7;
	size -= 7;
	if (size < cfg_size)
		return 0;
	fuzz_router_init(&router);
	pci_dev_init(&v.pci, &dev_ops, "fuzz", 0, 0, 0, 0);
	vfio_cfg_build(&v.cfg, &v.pci, data, cfg_size);
	std_chain_check(&v.pci);
	ext_chain_check(&v.pci);
	irqs_init();
	msix_check();
	guest(data + cfg_size, size - cfg_size);
	if (v.has_msi)
		msi_destroy(&v.msi);
	if (v.has_msix)
		msix_destroy(&v.msix);
	irq_router_destroy(&router);
	return 0;
}
