/* The PCI Express capability (PCIe base spec §7.5.3) every function on our fabric has. */
#ifndef CONDUIT_PCIE_H
#define CONDUIT_PCIE_H

#include "pci/dev.h"

unsigned int pcie_cap_add(struct pci_dev *d, uint8_t port_type, uint8_t port_number);
/* A port with a slot: a root port or a switch downstream port. */
bool pcie_has_slot(const struct pci_dev *d);

#endif
