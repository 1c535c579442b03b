/* BARs of emulated and assigned functions alike: sizing, placement, and the I/O or
 * MMIO bus mappings that follow the guest's programming (pci/bar.c). */
#ifndef CONDUIT_PCI_BAR_H
#define CONDUIT_PCI_BAR_H

#include "pci/bus.h"

void pci_bar_init(struct pci_dev *d, unsigned int bar, enum pci_bar_type type, bool prefetchable,
		  uint64_t size);
uint64_t pci_bar_addr(const struct pci_dev *d, unsigned int bar);
void pci_bar_set_addr(struct pci_dev *d, unsigned int bar, uint64_t addr);
/* After a write to the command register, a BAR or a bridge window: (un)map what moved. */
void pci_update_mappings(struct pci_dev *d);

#endif
