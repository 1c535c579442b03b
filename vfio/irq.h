/* INTx, MSI and MSI-X of an assigned function (vfio/irq.c). */
#ifndef CONDUIT_VFIO_IRQ_H
#define CONDUIT_VFIO_IRQ_H

#include "vfio/device.h"

int vfio_irqs_init(struct vfio_dev *v);
void vfio_intx_update(struct vfio_dev *v);
void vfio_irqs_stop(struct vfio_dev *v);
void vfio_irqs_destroy(struct vfio_dev *v);

#endif
