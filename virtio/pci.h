/* virtio over PCI, the modern (1.x) transport (virtio 1.2 §4.1). */
#ifndef CONDUIT_VIRTIO_PCI_H
#define CONDUIT_VIRTIO_PCI_H

#include "irq/router.h"
#include "pci/dev.h"
#include "virtio/virtio_dev.h"
#include "vmm/base/memory.h"

struct pci_dev *virtio_pci_create(struct virtio_dev *vdev, struct irq_router *irq,
				  const struct guest_ram *ram);
/* The virtio device behind d; NULL when d is not a virtio function. */
const struct virtio_dev *virtio_pci_device(const struct pci_dev *d);
/* The stats of all of dev's queues, summed (read while the queues run). */
void virtio_dev_stats(const struct virtio_dev *dev, struct virtio_queue_stats *sum);

#endif
