/*
 * A PCI-to-PCI bridge as the PCI Bridge spec defines its type 1 header: primary,
 * secondary and subordinate bus numbers route config cycles; I/O (16-bit, 4 KiB
 * granules), memory (32-bit, 1 MiB granules) and prefetchable memory (64-bit, 1 MiB
 * granules) base/limit pairs are the windows it forwards downstream; Secondary Bus
 * Reset in Bridge Control resets everything below. Root ports and switch downstream
 * ports add a slot; the switch upstream port sits on a root port's link and has an
 * internal bus of downstream ports behind it.
 */
#include "pci/port.h"
#include "pci/config.h"
#include "pci/pcie.h"

#include <stdlib.h>

#define VENDOR_REDHAT	    0x1b36
#define DEVICE_ROOT_PORT    0x000c
#define VENDOR_TI	    0x104c
#define DEVICE_XIO3130_UP   0x8232
#define DEVICE_XIO3130_DOWN 0x8233
#define CLASS_BRIDGE_PCI    0x060400

static void port_reset_below(struct pci_bus *bus)
{
	unsigned int i;

	for (i = 0; i < 256; i++) {
		struct pci_dev *d = bus->dev[i];

		if (!d)
			continue;
		if (d->ops && d->ops->reset)
			d->ops->reset(d);
		if (d->secondary)
			port_reset_below(d->secondary);
	}
}

static void port_config_written(struct pci_dev *d, unsigned int off, unsigned int size)
{
	if (off <= PCI_BRIDGE_CONTROL && off + size > PCI_BRIDGE_CONTROL &&
	    (pci_get16(d, PCI_BRIDGE_CONTROL) & PCI_BRIDGE_CTL_BUS_RESET) && d->secondary)
		port_reset_below(d->secondary);
}

static void port_destroy(struct pci_dev *d)
{
	free(d);
}

static const struct pci_dev_ops port_ops = {
	.config_written = port_config_written,
	.destroy = port_destroy,
};

static struct pci_dev *port_new(const char *name, uint16_t vendor, uint16_t device, uint8_t type,
				uint8_t number)
{
	struct pci_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pci_dev_init(d, &port_ops, name, vendor, device, CLASS_BRIDGE_PCI, PCI_HEADER_TYPE_BRIDGE);
	pci_set_wmask32(d, PCI_PRIMARY_BUS, 0x00ffffff); /* primary, secondary, subordinate */
	d->wmask[PCI_IO_BASE] = 0xf0;
	d->wmask[PCI_IO_LIMIT] = 0xf0;
	pci_set_w1c16(d, PCI_SEC_STATUS, 0xf900);
	pci_set_wmask32(d, PCI_MEMORY_BASE, 0xfff0fff0);
	pci_set32(d, PCI_PREF_MEMORY_BASE, 0x00010001); /* 64-bit prefetchable window */
	pci_set_wmask32(d, PCI_PREF_MEMORY_BASE, 0xfff0fff0);
	pci_set_wmask32(d, PCI_PREF_BASE_UPPER32, 0xffffffff);
	pci_set_wmask32(d, PCI_PREF_LIMIT_UPPER32, 0xffffffff);
	pci_set_wmask16(d, PCI_BRIDGE_CONTROL,
			PCI_BRIDGE_CTL_PARITY | PCI_BRIDGE_CTL_SERR | PCI_BRIDGE_CTL_ISA |
				PCI_BRIDGE_CTL_VGA | PCI_BRIDGE_CTL_MASTER_ABORT |
				PCI_BRIDGE_CTL_BUS_RESET);
	pcie_cap_add(d, type, number);
	return d;
}

static struct pci_dev *port_place(struct pci_bus *on, struct pci_dev *d, bool link_below)
{
	if (!d)
		return NULL;
	if (pci_bus_attach(on, d, -1)) {
		free(d);
		return NULL;
	}
	if (!pci_bus_new(on->machine, d, link_below)) {
		on->dev[d->devfn] = NULL;
		free(d);
		return NULL;
	}
	return d;
}

struct pci_dev *port_create_root(struct pci_bus *root, const char *id, uint8_t number)
{
	return port_place(
		root, port_new(id, VENDOR_REDHAT, DEVICE_ROOT_PORT, PCI_EXP_TYPE_ROOT_PORT, number),
		true);
}

struct pci_dev *port_create_switch_up(struct pci_bus *link, const char *id)
{
	return port_place(
		link, port_new(id, VENDOR_TI, DEVICE_XIO3130_UP, PCI_EXP_TYPE_UPSTREAM, 0), false);
}

struct pci_dev *port_create_switch_down(struct pci_bus *internal, const char *id, uint8_t number)
{
	return port_place(
		internal,
		port_new(id, VENDOR_TI, DEVICE_XIO3130_DOWN, PCI_EXP_TYPE_DOWNSTREAM, number),
		true);
}
