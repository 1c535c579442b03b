/* The guest's view of an assigned function's config space (vfio/config.c): which bytes
 * are emulated, which writes reach the device, which capabilities are hidden, and that
 * hostile capability chains (loops, bad pointers) end. */
#include "tests/unit/check.h"
#include "vfio/config.h"

#include <string.h>

static uint8_t raw[PCI_CFG_SIZE];
static struct pci_dev dev;
static struct vfio_cfg v;

static void put16(unsigned int off, uint16_t x)
{
	raw[off] = (uint8_t)x;
	raw[off + 1] = (uint8_t)(x >> 8);
}

static void put32(unsigned int off, uint32_t x)
{
	put16(off, (uint16_t)x);
	put16(off + 2, (uint16_t)(x >> 16));
}

static void std_cap(unsigned int off, uint8_t id, uint8_t next)
{
	raw[off] = id;
	raw[off + 1] = next;
}

static void ext_cap(unsigned int off, uint16_t id, unsigned int next)
{
	put32(off, id | 1u << 16 | next << 20);
}

/* An SR-IOV VF as VFIO shows it: PM, MSI, MSI-X and PCIe capabilities; ARI, AER,
 * SR-IOV and ACS extended capabilities. */
static void make_vf(void)
{
	memset(raw, 0, sizeof(raw));
	put16(PCI_VENDOR_ID, 0x8086);
	put16(PCI_DEVICE_ID, 0x10ca);
	put32(PCI_CLASS_REVISION, 0x02000001);
	put16(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	put16(PCI_STATUS, PCI_STATUS_CAP_LIST);
	raw[PCI_HEADER_TYPE] = 0x80;
	put32(PCI_BASE_ADDRESS_0, 0xfebf0000 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	raw[PCI_INTERRUPT_LINE] = 11;
	raw[PCI_INTERRUPT_PIN] = 1;
	raw[PCI_CAPABILITY_LIST] = 0x40;
	std_cap(0x40, PCI_CAP_ID_PM, 0x50);
	std_cap(0x50, PCI_CAP_ID_MSI, 0x70);
	put16(0x50 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | 2 << 1);
	std_cap(0x70, PCI_CAP_ID_MSIX, 0xa0);
	put16(0x70 + PCI_MSIX_FLAGS, 2);
	put32(0x70 + PCI_MSIX_TABLE, 3);
	put32(0x70 + PCI_MSIX_PBA, 0x2000 | 3);
	std_cap(0xa0, PCI_CAP_ID_EXP, 0);
	ext_cap(0x100, PCI_EXT_CAP_ID_ARI, 0x150);
	ext_cap(0x150, PCI_EXT_CAP_ID_ERR, 0x160);
	ext_cap(0x160, PCI_EXT_CAP_ID_SRIOV, 0x1a0);
	ext_cap(0x1a0, PCI_EXT_CAP_ID_ACS, 0);
}

/* The extended capability IDs a guest finds walking the image like Linux does. */
static unsigned int walk_ext(uint16_t *ids, unsigned int max)
{
	unsigned int off = PCI_CFG_SPACE_SIZE, n = 0, hops = 0;

	while (off >= PCI_CFG_SPACE_SIZE && hops++ < 1000) {
		uint32_t h = pci_get32(&dev, off);

		if (!h)
			break;
		if (PCI_EXT_CAP_ID(h) && n < max)
			ids[n++] = PCI_EXT_CAP_ID(h);
		off = PCI_EXT_CAP_NEXT(h);
	}
	return hops < 1000 ? n : 99;
}

static unsigned int walk_std(void)
{
	unsigned int p = dev.cfg[PCI_CAPABILITY_LIST], hops = 0;

	while (p && hops < 100) {
		p = dev.cfg[p + 1];
		hops++;
	}
	return hops;
}

static void test_header(void)
{
	make_vf();
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SIZE);
	CHECK(v.size == PCI_CFG_SIZE);
	CHECK(pci_get16(&dev, PCI_VENDOR_ID) == 0x8086 && pci_get16(&dev, PCI_DEVICE_ID) == 0x10ca);
	CHECK(dev.cfg[PCI_HEADER_TYPE] == 0); /* alone on its link: single function */
	CHECK(pci_get16(&dev, PCI_COMMAND) == 0);
	CHECK(pci_get32(&dev, PCI_BASE_ADDRESS_0) == 0); /* the host's address never shows */
	CHECK(dev.cfg[PCI_INTERRUPT_LINE] == 0 && dev.wmask[PCI_INTERRUPT_LINE] == 0xff);
	CHECK(dev.cfg[PCI_INTERRUPT_PIN] == 1 && dev.wmask[PCI_INTERRUPT_PIN] == 0);
	CHECK(v.emul[PCI_COMMAND] && v.fwd[PCI_COMMAND]);
	CHECK(!v.emul[PCI_STATUS] && v.fwd[PCI_STATUS]); /* live, W1C reaches the device */
	CHECK(v.emul[PCI_BASE_ADDRESS_0] && !v.fwd[PCI_BASE_ADDRESS_0]);
	CHECK(v.emul[PCI_ROM_ADDRESS] && !v.fwd[PCI_ROM_ADDRESS]);
	CHECK(!v.fwd[PCI_VENDOR_ID] && dev.wmask[PCI_VENDOR_ID] == 0);
}

static void test_caps(void)
{
	make_vf();
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SIZE);
	CHECK(v.pm == 0x40 && v.msi == 0x50 && v.msix == 0x70 && v.pcie == 0xa0);
	CHECK(v.fwd[0x40 + PCI_PM_CTRL] && !v.fwd[0x40 + PCI_PM_PMC]);
	/* MSI with 64-bit address and masks is 24 bytes, all emulated, none forwarded */
	CHECK(v.emul[0x50] && v.emul[0x50 + 23] && !v.emul[0x50 + 24]);
	CHECK(!v.fwd[0x50 + PCI_MSI_FLAGS]);
	CHECK(v.emul[0x70] && v.emul[0x70 + 11] && !v.fwd[0x70 + PCI_MSIX_FLAGS]);
	CHECK(v.fwd[0xa0 + PCI_EXP_DEVCTL] && v.fwd[0xa0 + PCI_EXP_LNKCTL]);
	CHECK(v.fwd[0xa0 + PCI_EXP_DEVCTL2]);
	CHECK(!v.fwd[0xa0 + PCI_EXP_LNKSTA] && !v.emul[0xa0 + PCI_EXP_LNKSTA]); /* live */
	CHECK(!v.fwd[0xa0 + PCI_EXP_DEVCAP]);
	CHECK(v.emul[0xa0] && v.emul[0xa1]); /* headers come from the image */
	CHECK(walk_std() == 4);
}

static void test_hidden_ext(void)
{
	uint16_t ids[8];

	make_vf();
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SIZE);
	CHECK(v.hidden == 2);
	CHECK(walk_ext(ids, 8) == 2 && ids[0] == PCI_EXT_CAP_ID_ERR &&
	      ids[1] == PCI_EXT_CAP_ID_ACS);
	CHECK(PCI_EXT_CAP_ID(pci_get32(&dev, 0x100)) == 0); /* ARI's header, blanked */
	CHECK(v.emul[0x100] && v.emul[0x150] && v.emul[0x1a0]);
	CHECK(!v.fwd[0x150] && !v.fwd[0x160]);

	/* first visible, the last hidden: the chain ends at the first */
	make_vf();
	ext_cap(0x100, PCI_EXT_CAP_ID_ERR, 0x140);
	ext_cap(0x140, PCI_EXT_CAP_ID_SRIOV, 0);
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SIZE);
	CHECK(walk_ext(ids, 8) == 1 && ids[0] == PCI_EXT_CAP_ID_ERR);
	CHECK(PCI_EXT_CAP_NEXT(pci_get32(&dev, 0x100)) == 0);

	/* only hidden ones: no extended capabilities at all */
	make_vf();
	ext_cap(0x100, PCI_EXT_CAP_ID_SRIOV, 0);
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SIZE);
	CHECK(pci_get32(&dev, 0x100) == 0);

	/* a conventional function's 256 bytes: nothing beyond */
	make_vf();
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SPACE_SIZE);
	CHECK(v.size == PCI_CFG_SPACE_SIZE && pci_get32(&dev, 0x100) == 0);
}

static void test_hostile_chains(void)
{
	uint16_t ids[8];
	uint8_t live[4] = {0xaa, 0xaa, 0xaa, 0xaa};

	make_vf();
	std_cap(0xa0, PCI_CAP_ID_EXP, 0x40);	   /* standard loop */
	ext_cap(0x1a0, PCI_EXT_CAP_ID_ACS, 0x150); /* extended loop */
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SIZE);
	CHECK(walk_std() < 48);
	CHECK(walk_ext(ids, 8) == 2);

	make_vf();
	std_cap(0x50, PCI_CAP_ID_MSI, 0x13);	  /* into the header: cut there */
	ext_cap(0x150, PCI_EXT_CAP_ID_ERR, 0x20); /* below 0x100: ends */
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SIZE);
	CHECK(walk_std() == 2 && dev.cfg[0x51] == 0);
	CHECK(walk_ext(ids, 8) == 1);
	CHECK(v.msix == 0);

	/* reads mix live bytes with the image's: Command from the image, Status live */
	make_vf();
	vfio_cfg_build(&v, &dev, raw, PCI_CFG_SIZE);
	vfio_cfg_overlay(&v, &dev, PCI_COMMAND, live, 4);
	CHECK(live[0] == 0 && live[1] == 0 && live[2] == 0xaa && live[3] == 0xaa);
}

int main(void)
{
	test_header();
	test_caps();
	test_hidden_ext();
	test_hostile_chains();
	return CHECK_DONE();
}
