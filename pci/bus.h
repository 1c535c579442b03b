/*
 * The PCI hierarchy: root buses (the first with the host bridge at 00.0; more for extra
 * root complexes, each an ACPI host bridge of its own), PCIe root ports and switch
 * ports whose secondary buses hold one device each (a PCIe link has exactly one device
 * number, 0), and endpoints. A root bus owns the bus numbers [first, last]; below it,
 * config cycles reach a device the way real bridges route them: by the
 * secondary/subordinate bus numbers programmed in each bridge.
 */
#ifndef CONDUIT_PCI_BUS_H
#define CONDUIT_PCI_BUS_H

#include "irq/router.h"
#include "pci/dev.h"
#include "vmm/base/iobus.h"

#include <pthread.h>

#define PCI_MAX_BUSES 256
#define PCI_MAX_ROOTS 8

/* Address windows, each [base, end): the machine's to share out, or a root bus's. */
struct pci_windows {
	uint64_t io_base, io_end;
	uint64_t mem32_base, mem32_end;
	uint64_t mem64_base, mem64_end;
};

struct pci_bus {
	struct pci_machine *machine;
	struct pci_dev *self;	  /* the bridge above this bus; NULL for a root bus */
	struct pci_dev *dev[256]; /* by devfn */
	bool link;		  /* behind a PCIe port: only device 0 exists */
	bool hotplug;		  /* a hot-plug slot's link: room is kept for a device */
	/* root buses only, set by pci_assign_resources() */
	unsigned int first, last; /* bus numbers it owns */
	struct pci_windows win;	  /* what it forwards; a kind it does not use is empty */
	int numa_node;		  /* the guest node of its root complex; -1: none */
};

/* How INTx reaches the interrupt controller: assert/deassert a GSI. */
struct pci_machine {
	struct irq_router *irq; /* MSI of the machine's own functions (ports); may be NULL */
	/* The OS switched a hot-plug slot's power (under lock, on a vCPU thread). */
	void (*slot_power)(void *ctx, struct pci_dev *port, bool on);
	void *slot_ctx;
	pthread_mutex_t lock;		    /* config accesses and BAR (re)mapping */
	struct pci_bus *bus[PCI_MAX_BUSES]; /* every bus created, [0] the first root */
	unsigned int nr_buses;
	struct pci_bus *root[PCI_MAX_ROOTS]; /* root buses in bus-number order */
	unsigned int nr_roots;
	struct iobus *pio;
	struct iobus *mmio;
	unsigned int intx_gsi_base; /* the first of the PCI_INTX_GSIS IOAPIC pins INTx uses */
};

/* Root-bus INTx routing, the one rule pci_intx_gsi() and the DSDT's _PRT both follow:
 * pin (0 = INTA) of slot reaches GSI base + (slot + pin) % PCI_INTX_GSIS, IOAPIC pins
 * that are level-triggered and active-low as PCI interrupts are. */
#define PCI_INTX_GSIS 8

static inline unsigned int pci_root_intx_gsi(unsigned int base, unsigned int slot, unsigned int pin)
{
	return base + (slot + pin) % PCI_INTX_GSIS;
}

int pci_machine_init(struct pci_machine *m, struct iobus *pio, struct iobus *mmio);
void pci_machine_destroy(struct pci_machine *m);
struct pci_bus *pci_bus_new(struct pci_machine *m, struct pci_dev *bridge, bool link);
struct pci_bus *pci_root_new(struct pci_machine *m, int numa_node);
int pci_bus_attach(struct pci_bus *bus, struct pci_dev *d, int devfn);
struct pci_dev *pci_find(struct pci_machine *m, unsigned int busnr, unsigned int devfn);
unsigned int pci_bus_number(const struct pci_bus *bus);

unsigned int pci_intx_gsi(const struct pci_dev *d);

#endif
