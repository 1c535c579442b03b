/*
 * Devices added and removed while the guest runs (the control socket's add-device and
 * remove-device), through the ports' PCIe native hot-plug slots (pci/hotplug.h).
 * Adding is immediate: the device goes behind a free port and the guest's pciehp is
 * told. Removing asks the guest (the slot's attention button); its pciehp lets the
 * driver go and powers the slot off; that config write wakes the main thread, which
 * only then takes the device away, destroys it and sends device-removed. A guest
 * that never powers the slot off keeps the device, shown as removing by info.
 */
#ifndef CONDUIT_VMM_HOTPLUG_H
#define CONDUIT_VMM_HOTPLUG_H

#include "vmm/machine.h"

/* The eventfd the main thread polls; 0 or -1 with one line logged. */
int hotplug_init(struct vm *vm);
/* The PCI machine's slot_power hook (ctx: the struct vm): wakes the main thread when
 * the guest powers a slot off. */
void hotplug_slot_power(void *ctx, struct pci_dev *port, bool on);
void hotplug_destroy(struct vm *vm);
/* add-device: args are one device's `conduit run` options. The device, or NULL with
 * the reason in err. */
struct vm_device *hotplug_add(struct vm *vm, char *const *args, unsigned int nr_args, char *err,
			      size_t errlen);
/* remove-device: asks the guest to let the device go (or removes it at once when its
 * slot is off). 0 with *removed telling which, or -1 with the reason in err. */
int hotplug_remove(struct vm *vm, const char *id, bool *removed, char *err, size_t errlen);
/* Main thread, when the eventfd fires: finishes the removals the guest agreed to. */
void hotplug_serve(struct vm *vm);

#endif
