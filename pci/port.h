/* PCIe root ports and switches: PCI-to-PCI bridges (type 1 header) with a link below;
 * root ports and switch downstream ports have a hot-plug slot (pci/hotplug.h). */
#ifndef CONDUIT_PCI_PORT_H
#define CONDUIT_PCI_PORT_H

#include "pci/bus.h"

struct pci_dev *port_create_root(struct pci_bus *root, const char *id, uint8_t number);
struct pci_dev *port_create_switch_up(struct pci_bus *link, const char *id);
struct pci_dev *port_create_switch_down(struct pci_bus *internal, const char *id, uint8_t number);
/* A device is behind the port from the start: its slot is occupied and powered. */
void port_cold_plug(struct pci_dev *port);
/* Puts d behind the running port's empty slot and tells the OS; 0, or -1 when the
 * link is taken. Under the machine's lock. */
int port_hot_plug(struct pci_dev *port, struct pci_dev *d);
/* Takes the device behind the port away (its BARs unmapped) and tells the OS the
 * slot is empty; the device is the caller's to destroy. Under the machine's lock. */
struct pci_dev *port_hot_unplug(struct pci_dev *port);
/* The attention button: the OS is asked to power the slot off. Under the lock. */
void port_press_button(struct pci_dev *port);
bool port_slot_powered(const struct pci_dev *port);
bool port_has_slot(const struct pci_dev *port);

#endif
