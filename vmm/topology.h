/* The PCIe topology the command line describes: ports, switches and devices. */
#ifndef CONDUIT_TOPOLOGY_H
#define CONDUIT_TOPOLOGY_H

#include "vmm/machine.h"

int topology_build(struct vm *vm);
void topology_windows(const struct vm *vm, struct pci_windows *w);

#endif
