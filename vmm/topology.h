/* The PCIe topology the command line describes: ports, switches and devices. */
#ifndef CONDUIT_TOPOLOGY_H
#define CONDUIT_TOPOLOGY_H

#include "vmm/machine.h"

int topology_build(struct vm *vm);
/* A device added while the guest runs (o holds exactly one, options_parse_device()):
 * created, put behind its hot-plug port and recorded; NULL with one line logged. */
struct vm_device *topology_hot_add(struct vm *vm, const struct vm_options *o);
/* Takes vm->devices[i] off its port, destroys it and forgets it; the vCPUs are parked. */
void topology_hot_remove(struct vm *vm, unsigned int i);
void topology_windows(const struct vm *vm, struct pci_windows *w);
/* The index in vm->devices of the device with this id; -1: none. */
int topology_device_index(const struct vm *vm, const char *id);

#endif
