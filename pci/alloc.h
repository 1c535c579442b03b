/* What firmware would do before the OS runs: bus numbers, BAR addresses, bridge windows. */
#ifndef CONDUIT_PCI_ALLOC_H
#define CONDUIT_PCI_ALLOC_H

#include "pci/bus.h"

struct pci_windows {
	uint64_t io_base, io_end; /* [base, end) */
	uint64_t mem32_base, mem32_end;
	uint64_t mem64_base, mem64_end;
};

int pci_assign_resources(struct pci_machine *m, const struct pci_windows *w);

#endif
