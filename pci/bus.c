#include "pci/bus.h"
#include "vmm/base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pci_machine_init(struct pci_machine *m, struct iobus *pio, struct iobus *mmio)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->pio = pio;
	m->mmio = mmio;
	return pci_root_new(m, -1) ? 0 : -1;
}

struct pci_bus *pci_bus_new(struct pci_machine *m, struct pci_dev *bridge, bool link)
{
	struct pci_bus *bus;

	if (m->nr_buses == PCI_MAX_BUSES)
		return NULL;
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return NULL;
	bus->machine = m;
	bus->self = bridge;
	bus->link = link;
	bus->numa_node = -1;
	if (bridge)
		bridge->secondary = bus;
	m->bus[m->nr_buses++] = bus;
	return bus;
}

struct pci_bus *pci_root_new(struct pci_machine *m, int numa_node)
{
	struct pci_bus *bus;

	if (m->nr_roots == PCI_MAX_ROOTS)
		return NULL;
	bus = pci_bus_new(m, NULL, false);
	if (!bus)
		return NULL;
	bus->numa_node = numa_node;
	m->root[m->nr_roots++] = bus;
	return bus;
}

/* devfn < 0: the first free device number (function 0). */
int pci_bus_attach(struct pci_bus *bus, struct pci_dev *d, int devfn)
{
	int slot;

	if (devfn < 0) {
		for (slot = 0; slot < (bus->link ? 1 : 32); slot++)
			if (!bus->dev[PCI_DEVFN(slot, 0)])
				break;
		if (slot == (bus->link ? 1 : 32))
			return -1;
		devfn = PCI_DEVFN(slot, 0);
	}
	if (bus->dev[devfn] || (bus->link && devfn >= 8))
		return -1;
	bus->dev[devfn] = d;
	d->bus = bus;
	d->devfn = (uint8_t)devfn;
	d->machine = bus->machine;
	return 0;
}

unsigned int pci_bus_number(const struct pci_bus *bus)
{
	return bus->self ? pci_get8(bus->self, PCI_SECONDARY_BUS) : bus->first;
}

/*
 * Type 1 routing: a bridge claims a cycle for bus numbers in [secondary, subordinate];
 * for its secondary bus it delivers it as type 0, otherwise passes it further down.
 */
static struct pci_bus *route(struct pci_bus *bus, unsigned int busnr, unsigned int depth)
{
	unsigned int i;

	if (pci_bus_number(bus) == busnr)
		return bus;
	if (depth > PCI_MAX_BUSES)
		return NULL;
	for (i = 0; i < 256; i++) {
		struct pci_dev *d = bus->dev[i];
		unsigned int sec, sub;

		if (!d || !d->secondary)
			continue;
		sec = pci_get8(d, PCI_SECONDARY_BUS);
		sub = pci_get8(d, PCI_SUBORDINATE_BUS);
		if (sec && busnr >= sec && busnr <= sub)
			return route(d->secondary, busnr, depth + 1);
	}
	return NULL;
}

/* A root bus claims the bus numbers it owns (its host bridge's _CRS bus range). */
struct pci_dev *pci_find(struct pci_machine *m, unsigned int busnr, unsigned int devfn)
{
	struct pci_bus *bus = NULL;

	for (unsigned int i = 0; i < m->nr_roots && !bus; i++)
		if (busnr >= m->root[i]->first && busnr <= m->root[i]->last)
			bus = route(m->root[i], busnr, 0);
	if (!bus || devfn > 255)
		return NULL;
	return bus->dev[devfn];
}

/* INTx swizzle (PCI-to-PCI bridge spec): behind a bridge, pin p of device d becomes
 * pin (p + d) % 4 on the bridge, up to the root bus where _PRT takes over. */
unsigned int pci_intx_gsi(const struct pci_dev *d)
{
	unsigned int pin = pci_get8(d, PCI_INTERRUPT_PIN) - 1;

	while (d->bus->self) {
		pin = (pin + (d->devfn >> 3)) % 4;
		d = d->bus->self;
	}
	return pci_root_intx_gsi(d->machine->intx_gsi_base, d->devfn >> 3, pin);
}

void pci_machine_destroy(struct pci_machine *m)
{
	unsigned int i, j;

	for (i = m->nr_buses; i-- > 0;) {
		for (j = 0; j < 256; j++) {
			struct pci_dev *d = m->bus[i]->dev[j];

			if (d && d->ops && d->ops->destroy)
				d->ops->destroy(d);
		}
		free(m->bus[i]);
	}
	m->nr_buses = 0;
	pthread_mutex_destroy(&m->lock);
}
