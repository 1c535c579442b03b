/*
 * PCIe native hot-plug on a port's slot (PCIe Base 5.0 §6.7; Slot Capabilities,
 * Control and Status §7.5.3.9-11), the way Linux's pciehp drives it: an attention
 * button, a power controller, power and attention indicators, presence detect, Data
 * Link Layer state changes and command completion, with the hot-plug interrupt on the
 * port's MSI. No MRL sensor, no electromechanical interlock, no surprise removal: a
 * device leaves only after the OS powered its slot off.
 */
#ifndef CONDUIT_PCI_HOTPLUG_H
#define CONDUIT_PCI_HOTPLUG_H

#include "pci/dev.h"

#include <stdbool.h>

struct hotplug_slot {
	struct pci_dev *port;
	unsigned int cap; /* the port's PCIe capability */
	uint16_t ctl;	  /* Slot Control as last seen: what a write changed */
	bool irq_level;	  /* HPIE and an enabled event: the interrupt's condition */
	/* The hot-plug interrupt (an edge: the condition went from false to true). */
	void (*interrupt)(void *ctx);
	/* The OS switched the slot's power (Power Controller Control). */
	void (*power)(void *ctx, bool on);
	void *ctx;
};

/* Makes the slot of port (whose PCIe capability has a slot) hot-plug capable, powered
 * on when a device sits behind it. */
void hotplug_slot_init(struct hotplug_slot *s, struct pci_dev *port, bool occupied,
		       void (*interrupt)(void *ctx), void (*power)(void *ctx, bool on), void *ctx);
/* From the port's config_written: Slot Control (a command) or Slot Status (events
 * acknowledged) may have changed. */
void hotplug_slot_config_written(struct hotplug_slot *s, unsigned int off, unsigned int size);
/* A device was put behind the port (presence detected, and the attention button
 * pressed with it), or taken away: presence and link change. */
void hotplug_slot_set_present(struct hotplug_slot *s, bool present);
/* The attention button: the OS is asked to release the device and power the slot
 * off. */
void hotplug_slot_press_button(struct hotplug_slot *s);
bool hotplug_slot_powered(const struct hotplug_slot *s);
bool hotplug_slot_present(const struct hotplug_slot *s);

#endif
