/*
 * A PCI-to-PCI bridge as the PCI Bridge spec defines its type 1 header: primary,
 * secondary and subordinate bus numbers route config cycles; I/O (16-bit, 4 KiB
 * granules), memory (32-bit, 1 MiB granules) and prefetchable memory (64-bit, 1 MiB
 * granules) base/limit pairs are the windows it forwards downstream; Secondary Bus
 * Reset in Bridge Control resets everything below. Root ports and switch downstream
 * ports add a slot; the switch upstream port sits on a root port's link and has an
 * internal bus of downstream ports behind it. Slots are hot-plug capable, with the
 * hot-plug interrupt on the port's MSI (one vector, as QEMU's root ports have).
 */
#include "pci/port.h"
#include "pci/bar.h"
#include "pci/config.h"
#include "pci/hotplug.h"
#include "pci/msi.h"
#include "pci/pcie.h"

#include <stdlib.h>
#include <unistd.h>

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

struct port {
	struct pci_dev dev;
	bool has_slot;
	bool has_msi; /* only with the machine's interrupt router */
	struct msi msi;
	struct hotplug_slot slot;
};

static struct port *to_port(const struct pci_dev *d)
{
	return (struct port *)d;
}

static void port_config_written(struct pci_dev *d, unsigned int off, unsigned int size)
{
	struct port *p = to_port(d);

	if (off <= PCI_BRIDGE_CONTROL && off + size > PCI_BRIDGE_CONTROL &&
	    (pci_get16(d, PCI_BRIDGE_CONTROL) & PCI_BRIDGE_CTL_BUS_RESET) && d->secondary)
		port_reset_below(d->secondary);
	if (p->has_msi)
		msi_config_written(&p->msi, off, size);
	if (p->has_slot)
		hotplug_slot_config_written(&p->slot, off, size);
}

static bool port_config_read(struct pci_dev *d, unsigned int off, uint8_t *data, unsigned int size)
{
	struct port *p = to_port(d);

	return p->has_msi && msi_config_read(&p->msi, off, data, size);
}

static void port_destroy(struct pci_dev *d)
{
	struct port *p = to_port(d);

	if (p->has_msi)
		msi_destroy(&p->msi);
	free(p);
}

static const struct pci_dev_ops port_ops = {
	.config_written = port_config_written,
	.config_read = port_config_read,
	.destroy = port_destroy,
};

/* The hot-plug interrupt: the MSI vector's eventfd, which holds it while MSI is off. */
static void port_interrupt(void *ctx)
{
	struct port *p = ctx;
	uint64_t one = 1;

	if (p->has_msi && write(msi_vector_fd(&p->msi, 0), &one, sizeof(one)) < 0)
		return;
}

static void port_power(void *ctx, bool on)
{
	struct port *p = ctx;
	struct pci_machine *m = p->dev.machine;

	if (m && m->slot_power)
		m->slot_power(m->slot_ctx, &p->dev, on);
}

/* After the port is on its bus (it knows its machine): MSI and an empty slot. */
static void port_slot_init(struct port *p, struct pci_machine *m)
{
	if (m->irq)
		p->has_msi = !msi_init(&p->msi, &p->dev, m->irq, 1, true, false);
	hotplug_slot_init(&p->slot, &p->dev, false, port_interrupt, port_power, p);
	p->has_slot = true;
	p->dev.secondary->hotplug = true;
}

void port_cold_plug(struct pci_dev *port)
{
	struct port *p = to_port(port);

	if (p->has_slot)
		hotplug_slot_init(&p->slot, port, true, port_interrupt, port_power, p);
}

int port_hot_plug(struct pci_dev *port, struct pci_dev *d)
{
	struct port *p = to_port(port);

	if (!p->has_slot || pci_bus_attach(port->secondary, d, -1))
		return -1;
	hotplug_slot_set_present(&p->slot, true);
	return 0;
}

/* Decoding off first: every BAR leaves the buses (and an assigned function's memory
 * slots) before the device does. */
struct pci_dev *port_hot_unplug(struct pci_dev *port)
{
	struct port *p = to_port(port);
	struct pci_dev *d = port->secondary->dev[0];

	if (!p->has_slot || !d)
		return NULL;
	pci_set16(d, PCI_COMMAND, 0);
	pci_update_mappings(d);
	port->secondary->dev[0] = NULL;
	hotplug_slot_set_present(&p->slot, false);
	return d;
}

void port_press_button(struct pci_dev *port)
{
	struct port *p = to_port(port);

	if (p->has_slot)
		hotplug_slot_press_button(&p->slot);
}

bool port_slot_powered(const struct pci_dev *port)
{
	const struct port *p = to_port(port);

	return p->has_slot && hotplug_slot_powered(&p->slot);
}

bool port_has_slot(const struct pci_dev *port)
{
	return port->ops == &port_ops && to_port(port)->has_slot;
}

static struct pci_dev *port_new(const char *name, uint16_t vendor, uint16_t device, uint8_t type,
				uint8_t number)
{
	struct port *p = calloc(1, sizeof(*p));
	struct pci_dev *d = p ? &p->dev : NULL;

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
	if (pcie_has_slot(d))
		port_slot_init(to_port(d), on->machine);
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
