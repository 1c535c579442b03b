#include "pci/hotplug.h"
#include "pci/config.h"

/* Slot Capabilities: attention button, power controller, both indicators, hot-plug
 * capable; command completion is supported (No Command Completed Support clear). */
#define SLTCAP_HOTPLUG                                                                             \
	(PCI_EXP_SLTCAP_ABP | PCI_EXP_SLTCAP_PCP | PCI_EXP_SLTCAP_AIP | PCI_EXP_SLTCAP_PIP |       \
	 PCI_EXP_SLTCAP_HPC)

/* Each event's status bit and the Slot Control bit that enables its interrupt. */
static const struct {
	uint16_t status, enable;
} events[] = {
	{PCI_EXP_SLTSTA_ABP, PCI_EXP_SLTCTL_ABPE},
	{PCI_EXP_SLTSTA_PDC, PCI_EXP_SLTCTL_PDCE},
	{PCI_EXP_SLTSTA_CC, PCI_EXP_SLTCTL_CCIE},
	{PCI_EXP_SLTSTA_DLLSC, PCI_EXP_SLTCTL_DLLSCE},
};

static uint16_t reg16(const struct hotplug_slot *s, unsigned int reg)
{
	return pci_get16(s->port, s->cap + reg);
}

static void set16(struct hotplug_slot *s, unsigned int reg, uint16_t v)
{
	pci_set16(s->port, s->cap + reg, v);
}

/*
 * §6.7.3.4: with MSI, a message goes out each time "Hot-Plug Interrupt Enable set, and
 * some event's status and enable bits both set" goes from false to true. The OS
 * acknowledges by clearing status bits, which lets the next event send again.
 */
static void update_irq(struct hotplug_slot *s)
{
	uint16_t ctl = reg16(s, PCI_EXP_SLTCTL), sta = reg16(s, PCI_EXP_SLTSTA);
	bool level = false;

	for (unsigned int i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		level |= (sta & events[i].status) && (ctl & events[i].enable);
	level &= !!(ctl & PCI_EXP_SLTCTL_HPIE);
	if (level && !s->irq_level && s->interrupt)
		s->interrupt(s->ctx);
	s->irq_level = level;
}

static void set_event(struct hotplug_slot *s, uint16_t status)
{
	set16(s, PCI_EXP_SLTSTA, reg16(s, PCI_EXP_SLTSTA) | status);
}

bool hotplug_slot_powered(const struct hotplug_slot *s)
{
	return !(reg16(s, PCI_EXP_SLTCTL) & PCI_EXP_SLTCTL_PCC);
}

bool hotplug_slot_present(const struct hotplug_slot *s)
{
	return reg16(s, PCI_EXP_SLTSTA) & PCI_EXP_SLTSTA_PDS;
}

/* The link trains when a device is present and its slot powered (§6.7.3.3): Data Link
 * Layer Link Active follows, and a change of it is an event. */
static void update_link(struct hotplug_slot *s)
{
	uint16_t lnksta = reg16(s, PCI_EXP_LNKSTA);
	bool up = hotplug_slot_present(s) && hotplug_slot_powered(s);

	if (!!(lnksta & PCI_EXP_LNKSTA_DLLLA) == up)
		return;
	set16(s, PCI_EXP_LNKSTA,
	      (uint16_t)((lnksta & ~PCI_EXP_LNKSTA_DLLLA) | (up ? PCI_EXP_LNKSTA_DLLLA : 0)));
	set_event(s, PCI_EXP_SLTSTA_DLLSC);
}

void hotplug_slot_init(struct hotplug_slot *s, struct pci_dev *port, bool occupied,
		       void (*interrupt)(void *ctx), void (*power)(void *ctx, bool on), void *ctx)
{
	uint16_t ctl = PCI_EXP_SLTCTL_ATTN_IND_OFF |
		       (occupied ? PCI_EXP_SLTCTL_PWR_IND_ON
				 : PCI_EXP_SLTCTL_PWR_IND_OFF | PCI_EXP_SLTCTL_PCC);

	*s = (struct hotplug_slot){.port = port,
				   .cap = pci_cap_find(port, PCI_CAP_ID_EXP),
				   .interrupt = interrupt,
				   .power = power,
				   .ctx = ctx};
	pci_set32(port, s->cap + PCI_EXP_SLTCAP,
		  pci_get32(port, s->cap + PCI_EXP_SLTCAP) | SLTCAP_HOTPLUG);
	set16(s, PCI_EXP_SLTCTL, ctl);
	s->ctl = ctl;
	set16(s, PCI_EXP_SLTSTA, occupied ? PCI_EXP_SLTSTA_PDS : 0);
	set16(s, PCI_EXP_LNKSTA,
	      (uint16_t)((reg16(s, PCI_EXP_LNKSTA) & ~PCI_EXP_LNKSTA_DLLLA) |
			 (occupied ? PCI_EXP_LNKSTA_DLLLA : 0)));
}

/* Every Slot Control write is a command, completed at once (§6.7.3.2); a change of
 * Power Controller Control switches the slot. */
static void ctl_written(struct hotplug_slot *s)
{
	uint16_t ctl = reg16(s, PCI_EXP_SLTCTL);
	bool was_on = !(s->ctl & PCI_EXP_SLTCTL_PCC), on = !(ctl & PCI_EXP_SLTCTL_PCC);

	s->ctl = ctl;
	set_event(s, PCI_EXP_SLTSTA_CC);
	if (on != was_on) {
		update_link(s);
		if (s->power)
			s->power(s->ctx, on);
	}
}

void hotplug_slot_config_written(struct hotplug_slot *s, unsigned int off, unsigned int size)
{
	unsigned int ctl = s->cap + PCI_EXP_SLTCTL;

	if (!s->cap || off >= s->cap + PCI_EXP_SLTSTA + 2 || off + size <= ctl)
		return;
	if (off < ctl + 2)
		ctl_written(s);
	update_irq(s);
}

/*
 * An OS that has an attention button to go by (Linux's pciehp) enables no interrupt for
 * presence changes: an insertion comes with a press of the button, as an operator's
 * would. Both in one interrupt make pciehp power the slot on at once (the presence it
 * sees cancels the button's 5 s wait), as on QEMU's ports.
 */
void hotplug_slot_set_present(struct hotplug_slot *s, bool present)
{
	uint16_t sta = reg16(s, PCI_EXP_SLTSTA) & (uint16_t)~PCI_EXP_SLTSTA_PDS;

	sta |= PCI_EXP_SLTSTA_PDC;
	if (present)
		sta |= PCI_EXP_SLTSTA_PDS | PCI_EXP_SLTSTA_ABP;
	set16(s, PCI_EXP_SLTSTA, sta);
	update_link(s);
	update_irq(s);
}

void hotplug_slot_press_button(struct hotplug_slot *s)
{
	set_event(s, PCI_EXP_SLTSTA_ABP);
	update_irq(s);
}
