/* virtio over PCI, the modern (1.x) transport (virtio 1.2 §4.1). */
#ifndef CONDUIT_VIRTIO_PCI_H
#define CONDUIT_VIRTIO_PCI_H

#include "irq/router.h"
#include "pci/dev.h"
#include "virtio/virtio_dev.h"
#include "vmm/base/memory.h"

struct pci_dev *virtio_pci_create(struct virtio_dev *vdev, struct irq_router *irq,
				  const struct guest_ram *ram);

#endif
