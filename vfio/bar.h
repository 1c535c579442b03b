/* BARs and the expansion ROM of an assigned function (vfio/bar.c). */
#ifndef CONDUIT_VFIO_BAR_H
#define CONDUIT_VFIO_BAR_H

#include "vfio/device.h"
#include "vfio/relocate.h"

int vfio_region_info(struct vfio_dev *v, uint32_t index, struct vfio_region *r,
		     struct vfio_area *sparse, unsigned int *nr_sparse);
int vfio_bars_init(struct vfio_dev *v, const uint8_t *raw, enum vfio_msix_relocate relocate);
void vfio_bar_moved(struct vfio_dev *v, unsigned int bar);
void vfio_bars_destroy(struct vfio_dev *v);

#endif
