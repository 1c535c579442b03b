/* The host bridge: device 00.0 and the two config access mechanisms (ECAM and 0xcf8). */
#ifndef CONDUIT_PCI_HOST_H
#define CONDUIT_PCI_HOST_H

#include "pci/bus.h"

#define PCI_ECAM_SIZE (PCI_MAX_BUSES << 20)

struct pci_host {
	struct pci_dev dev;
	struct pci_machine *machine;
	uint32_t cf8;	      /* CONFIG_ADDRESS */
	struct io_region cf9; /* the chipset reset register that shares the 0xcf8 dword */
};

int pci_host_init(struct pci_host *h, struct pci_machine *m, uint64_t ecam_addr,
		  const struct io_region *reset_reg);

#endif
