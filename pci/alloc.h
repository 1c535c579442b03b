/* What firmware would do before the OS runs: bus numbers, BAR addresses, bridge windows. */
#ifndef CONDUIT_PCI_ALLOC_H
#define CONDUIT_PCI_ALLOC_H

#include "pci/bus.h"

/* Numbers the buses of each root bus in turn (root k's first bus follows root k-1's
 * last) and shares w out among them in the same order: each root gets the I/O and
 * memory its devices need, rounded to the bridge granule, and the last one the rest. */
int pci_assign_resources(struct pci_machine *m, const struct pci_windows *w);

#endif
