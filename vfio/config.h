/*
 * The guest's view of an assigned function's config space. Each byte is one of:
 *   emulated   read from conduit's image (IDs, BARs, command, capability headers,
 *              MSI and MSI-X): the guest's writes land in the image through wmask;
 *   forwarded  written through to the device (command, status, power state, PCIe
 *              device/link control), read live;
 *   read-only  everything else is read live from the device, writes are dropped.
 * Command is both: the image decides what the guest's BARs decode, the device gets
 * bus mastering. SR-IOV, ARI and resizable-BAR capabilities are unlinked from the
 * extended chain: they describe the host's view of the function, not the guest's.
 */
#ifndef CONDUIT_VFIO_CONFIG_H
#define CONDUIT_VFIO_CONFIG_H

#include "pci/dev.h"

struct vfio_cfg {
	uint8_t emul[PCI_CFG_SIZE];	  /* 1: read from the image */
	uint8_t fwd[PCI_CFG_SIZE];	  /* 1: a write goes to the device */
	unsigned int size;		  /* the device's config space: 256 or 4096 */
	unsigned int msi, msix, pcie, pm; /* capability offsets, 0 when absent */
	unsigned int hidden;		  /* extended capabilities unlinked */
};

void vfio_cfg_build(struct vfio_cfg *v, struct pci_dev *d, const uint8_t *raw, unsigned int size);
void vfio_cfg_overlay(const struct vfio_cfg *v, const struct pci_dev *d, unsigned int off,
		      uint8_t *data, unsigned int size);

/* A BAR's type from its register in the config space VFIO shows. */
enum pci_bar_type vfio_cfg_bar_type(const uint8_t *raw, unsigned int bar);

#endif
