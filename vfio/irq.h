/* INTx, MSI and MSI-X of an assigned function (vfio/irq.c). */
#ifndef CONDUIT_VFIO_IRQ_H
#define CONDUIT_VFIO_IRQ_H

#include "vfio/device.h"

int vfio_irqs_init(struct vfio_dev *v);
void vfio_intx_update(struct vfio_dev *v);
void vfio_irqs_stop(struct vfio_dev *v);
void vfio_irqs_destroy(struct vfio_dev *v);
/* The interrupts the host kernel took for function bdf ("0000:01:00.0") through
 * vfio-pci, summed over every vector and CPU from /proc/interrupts under root ("" for
 * this host). The kernel's counts start when the guest enables the vectors; the
 * interrupts an IOMMU posts to the guest never reach the host and are not among them.
 * 0, or -1 when the file cannot be read. */
int vfio_host_irq_count(const char *root, const char *bdf, uint64_t *count);

#endif
