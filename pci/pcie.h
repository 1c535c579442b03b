/* The PCI Express capability (PCIe base spec §7.5.3) every function on our fabric has. */
#ifndef CONDUIT_PCIE_H
#define CONDUIT_PCIE_H

#include "pci/dev.h"

unsigned int pcie_cap_add(struct pci_dev *d, uint8_t port_type, uint8_t port_number);
void pcie_link_set_active(struct pci_dev *port, bool present);

#endif
