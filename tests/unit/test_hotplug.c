/* PCIe native hot-plug: a root port's slot as Linux's pciehp drives it (capabilities,
 * commands completed, presence, power, link, the attention button, the interrupt's
 * edges), a guest that ignores the button, and the room kept behind empty slots. */
#include "pci/alloc.h"
#include "pci/bar.h"
#include "pci/config.h"
#include "pci/hotplug.h"
#include "pci/pcie.h"
#include "pci/port.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

static int interrupts, powered_on, powered_off;

static void on_interrupt(void *ctx)
{
	(void)ctx;
	interrupts++;
}

static void on_power(void *ctx, bool on)
{
	(void)ctx;
	if (on)
		powered_on++;
	else
		powered_off++;
}

/* A root port whose slot reports to the counters above. */
struct test_port {
	struct pci_dev dev;
	struct hotplug_slot slot;
};

static void test_port_written(struct pci_dev *d, unsigned int off, unsigned int size)
{
	hotplug_slot_config_written(&((struct test_port *)d)->slot, off, size);
}

static void test_port_init(struct test_port *p)
{
	static const struct pci_dev_ops ops = {.config_written = test_port_written};

	memset(p, 0, sizeof(*p));
	pci_dev_init(&p->dev, &ops, "rp", 0x1b36, 0x000c, 0x060400, PCI_HEADER_TYPE_BRIDGE);
	pcie_cap_add(&p->dev, PCI_EXP_TYPE_ROOT_PORT, 1);
	hotplug_slot_init(&p->slot, &p->dev, false, on_interrupt, on_power, NULL);
}

static unsigned int cap(const struct pci_dev *port)
{
	return pci_cap_find(port, PCI_CAP_ID_EXP);
}

static uint16_t sltsta(const struct pci_dev *port)
{
	return pci_get16(port, cap(port) + PCI_EXP_SLTSTA);
}

static uint16_t sltctl(const struct pci_dev *port)
{
	return pci_get16(port, cap(port) + PCI_EXP_SLTCTL);
}

static bool link_up(const struct pci_dev *port)
{
	return pci_get16(port, cap(port) + PCI_EXP_LNKSTA) & PCI_EXP_LNKSTA_DLLLA;
}

/* A guest config write of 16 bits, through the masks and the port's own reaction. */
static void write16(struct pci_dev *port, unsigned int reg, uint16_t v)
{
	uint8_t data[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	pci_config_write(port, cap(port) + reg, data, 2);
}

/* What pciehp's pcie_enable_notification() writes for a slot with an attention button
 * (which takes the place of presence detect's interrupt), then acknowledging the
 * command. */
static void enable_notification(struct pci_dev *port)
{
	write16(port, PCI_EXP_SLTCTL,
		(uint16_t)((sltctl(port) & ~0x103fu) | PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_CCIE |
			   PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_DLLSCE));
	write16(port, PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_CC);
}

static void endpoint_destroy(struct pci_dev *d)
{
	free(d);
}

static struct pci_dev *endpoint(void)
{
	struct pci_dev *d = calloc(1, sizeof(*d));
	static const struct pci_dev_ops ops = {.destroy = endpoint_destroy};

	pci_dev_init(d, &ops, "ep", 0x1af4, 0x1042, 0x018000, PCI_HEADER_TYPE_NORMAL);
	pci_bar_init(d, 0, PCI_BAR_MEM64, true, 0x4000);
	return d;
}

static void test_capabilities(struct pci_dev *rp)
{
	uint32_t sltcap = pci_get32(rp, cap(rp) + PCI_EXP_SLTCAP);

	CHECK(port_has_slot(rp));
	CHECK((sltcap & 0x7f) == (PCI_EXP_SLTCAP_ABP | PCI_EXP_SLTCAP_PCP | PCI_EXP_SLTCAP_AIP |
				  PCI_EXP_SLTCAP_PIP | PCI_EXP_SLTCAP_HPC));
	CHECK(!(sltcap & (PCI_EXP_SLTCAP_NCCS | PCI_EXP_SLTCAP_EIP | PCI_EXP_SLTCAP_MRLSP)));
	CHECK(sltcap >> 19 == 1); /* physical slot number: the port number */
	/* empty: powered off, indicators off, nothing present, link down */
	CHECK(sltctl(rp) & PCI_EXP_SLTCTL_PCC);
	CHECK((sltctl(rp) & PCI_EXP_SLTCTL_PIC) == PCI_EXP_SLTCTL_PWR_IND_OFF);
	CHECK(!(sltsta(rp) & PCI_EXP_SLTSTA_PDS) && !link_up(rp) && !port_slot_powered(rp));
}

static void test_masked(struct test_port *tp);

/* Presence, power-on by the OS, link, the button, power-off, removal: each event one
 * interrupt, as long as the OS acknowledges the one before. */
static void test_cycle(void)
{
	struct test_port tp;
	struct pci_dev *rp = &tp.dev;

	test_port_init(&tp);
	enable_notification(rp);
	CHECK(interrupts == 1 && sltsta(rp) == 0); /* the command completed, acknowledged */
	hotplug_slot_set_present(&tp.slot, true);  /* the button is pressed with it */
	CHECK(interrupts == 2);
	CHECK((sltsta(rp) & (PCI_EXP_SLTSTA_PDS | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_ABP)) ==
	      (PCI_EXP_SLTSTA_PDS | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_ABP));
	CHECK(!link_up(rp)); /* not before the slot has power */
	write16(rp, PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_ABP);
	/* pciehp powers the slot on and lights the power indicator */
	write16(rp, PCI_EXP_SLTCTL,
		(uint16_t)((sltctl(rp) & ~(PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PIC)) |
			   PCI_EXP_SLTCTL_PWR_IND_ON));
	CHECK(powered_on == 1 && hotplug_slot_powered(&tp.slot) && link_up(rp));
	CHECK((sltsta(rp) & (PCI_EXP_SLTSTA_CC | PCI_EXP_SLTSTA_DLLSC)) ==
	      (PCI_EXP_SLTSTA_CC | PCI_EXP_SLTSTA_DLLSC));
	CHECK(interrupts == 3);
	write16(rp, PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_CC);
	CHECK(interrupts == 3); /* DLLSC still pending: no new edge */
	write16(rp, PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_DLLSC);

	hotplug_slot_press_button(&tp.slot);
	CHECK(interrupts == 4 && (sltsta(rp) & PCI_EXP_SLTSTA_ABP));
	hotplug_slot_press_button(&tp.slot); /* a second press before the acknowledgement */
	CHECK(interrupts == 4);
	write16(rp, PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_ABP);
	CHECK(hotplug_slot_powered(&tp.slot)); /* a guest that ignores the button keeps it */
	CHECK(powered_off == 0);

	write16(rp, PCI_EXP_SLTCTL, (uint16_t)(sltctl(rp) | PCI_EXP_SLTCTL_PCC));
	CHECK(powered_off == 1 && !hotplug_slot_powered(&tp.slot) && !link_up(rp));
	CHECK(interrupts == 5);
	write16(rp, PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_CC | PCI_EXP_SLTSTA_DLLSC);
	/* the device leaves a slot the OS has switched off: a status change only, as
	 * presence detect has no interrupt enabled */
	hotplug_slot_set_present(&tp.slot, false);
	CHECK(!hotplug_slot_present(&tp.slot) && (sltsta(rp) & PCI_EXP_SLTSTA_PDC));
	CHECK(!(sltsta(rp) & PCI_EXP_SLTSTA_ABP) && interrupts == 5);
	test_masked(&tp);
}

/* With Hot-Plug Interrupt Enable clear, events are only status bits. */
static void test_masked(struct test_port *tp)
{
	int before = interrupts;

	write16(&tp->dev, PCI_EXP_SLTSTA, 0x1f);
	write16(&tp->dev, PCI_EXP_SLTCTL,
		(uint16_t)((sltctl(&tp->dev) & ~PCI_EXP_SLTCTL_HPIE) | PCI_EXP_SLTCTL_ABPE));
	hotplug_slot_press_button(&tp->slot);
	CHECK(interrupts == before && (sltsta(&tp->dev) & PCI_EXP_SLTSTA_ABP));
}

/* Room for a device added later: 2 MiB of memory, 64 MiB prefetchable, each aligned
 * to its size; a slot whose device needs more keeps what it needs. */
static void test_windows(const struct pci_machine *m, const struct pci_dev *empty)
{
	uint64_t mem_base = (uint64_t)(pci_get16(empty, PCI_MEMORY_BASE) & 0xfff0) << 16;
	uint64_t mem_limit =
		(uint64_t)(pci_get16(empty, PCI_MEMORY_LIMIT) & 0xfff0) << 16 | 0xfffff;
	uint64_t pref_base = (uint64_t)(pci_get16(empty, PCI_PREF_MEMORY_BASE) & 0xfff0) << 16 |
			     (uint64_t)pci_get32(empty, PCI_PREF_BASE_UPPER32) << 32;
	uint64_t pref_limit = ((uint64_t)(pci_get16(empty, PCI_PREF_MEMORY_LIMIT) & 0xfff0) << 16 |
			       (uint64_t)pci_get32(empty, PCI_PREF_LIMIT_UPPER32) << 32) |
			      0xfffff;

	CHECK(mem_limit + 1 - mem_base == 2ULL << 20 && mem_base % (2ULL << 20) == 0);
	CHECK(pref_limit + 1 - pref_base == 64ULL << 20 && pref_base % (64ULL << 20) == 0);
	CHECK(pci_get8(empty, PCI_IO_BASE) > pci_get8(empty, PCI_IO_LIMIT)); /* no I/O */
	CHECK(m->root[0]->win.mem32_end - m->root[0]->win.mem32_base >= 4ULL << 20);
}

/* The machine's ports: slots from the start, cold and hot plug through them. */
static void test_ports(void)
{
	struct pci_windows w = {0xc000,	    0x10000,	     0xc0000000,
				0xe0000000, 0x1000000000ULL, 0x2000000000ULL};
	struct iobus pio, mmio;
	struct pci_machine m;
	struct pci_dev *rp, *rp2, *ep, *ep2;

	iobus_init(&pio);
	iobus_init(&mmio);
	CHECK(pci_machine_init(&m, &pio, &mmio) == 0);
	rp = port_create_root(m.bus[0], "rp1", 1);
	rp2 = port_create_root(m.bus[0], "rp2", 2);
	CHECK(rp && rp2);
	ep = endpoint(); /* rp2 has a device from the start */
	CHECK(pci_bus_attach(rp2->secondary, ep, -1) == 0);
	port_cold_plug(rp2);
	CHECK(port_slot_powered(rp2) && link_up(rp2) && (sltsta(rp2) & PCI_EXP_SLTSTA_PDS));
	CHECK((sltsta(rp2) & (PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC)) == 0);
	CHECK(pci_assign_resources(&m, &w) == 0);
	test_windows(&m, rp);
	test_capabilities(rp);

	ep2 = endpoint();
	CHECK(port_hot_plug(rp, ep2) == 0 && rp->secondary->dev[0] == ep2);
	CHECK(sltsta(rp) & PCI_EXP_SLTSTA_PDS);
	CHECK(port_hot_plug(rp2, ep2) != 0); /* one device per link */
	CHECK(port_hot_unplug(rp) == ep2 && !rp->secondary->dev[0]);
	CHECK(!(sltsta(rp) & PCI_EXP_SLTSTA_PDS) && !port_hot_unplug(rp));
	free(ep2);
	pci_machine_destroy(&m);
	iobus_destroy(&pio);
	iobus_destroy(&mmio);
}

int main(void)
{
	test_cycle();
	test_ports();
	return CHECK_DONE();
}
