/* Generic config space behaviour of every function (pci/config.c), and config cycles
 * routed from the host bridge to the function they address. */
#ifndef CONDUIT_PCI_CONFIG_H
#define CONDUIT_PCI_CONFIG_H

#include "pci/bus.h"

void pci_dev_init(struct pci_dev *d, const struct pci_dev_ops *ops, const char *name,
		  uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t header_type);
unsigned int pci_cap_add(struct pci_dev *d, uint8_t id, unsigned int len);
unsigned int pci_ecap_add(struct pci_dev *d, uint16_t id, uint8_t version, unsigned int len);
unsigned int pci_cap_find(const struct pci_dev *d, uint8_t id);

void pci_config_read(struct pci_dev *d, unsigned int off, uint8_t *data, unsigned int size);
void pci_config_write(struct pci_dev *d, unsigned int off, const uint8_t *data, unsigned int size);

void pci_cfg_read(struct pci_machine *m, unsigned int busnr, unsigned int devfn, unsigned int off,
		  uint8_t *data, unsigned int size);
void pci_cfg_write(struct pci_machine *m, unsigned int busnr, unsigned int devfn, unsigned int off,
		   const uint8_t *data, unsigned int size);

#endif
