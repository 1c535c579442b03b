/* PCIe root ports and switches: PCI-to-PCI bridges (type 1 header) with a link below. */
#ifndef CONDUIT_PCI_PORT_H
#define CONDUIT_PCI_PORT_H

#include "pci/bus.h"

struct pci_dev *port_create_root(struct pci_bus *root, const char *id, uint8_t number);
struct pci_dev *port_create_switch_up(struct pci_bus *link, const char *id);
struct pci_dev *port_create_switch_down(struct pci_bus *internal, const char *id, uint8_t number);

#endif
