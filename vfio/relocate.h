/* Where the guest finds an assigned function's MSI-X table and PBA (vfio/relocate.c). */
#ifndef CONDUIT_VFIO_RELOCATE_H
#define CONDUIT_VFIO_RELOCATE_H

#include "vfio/mmap.h"

#include <stdint.h>

struct vfio_dev;

enum vfio_msix_relocate {
	VFIO_MSIX_RELOCATE_AUTO, /* moved only if their host page holds other registers */
	VFIO_MSIX_RELOCATE_ON,	 /* always moved to a BAR of their own */
	VFIO_MSIX_RELOCATE_OFF,	 /* left where the device has them */
};

/* -1 and one error line if the MSI-X table or PBA is not inside a BAR the device has. */
int vfio_msix_check(const struct vfio_dev *v);
void vfio_msix_relocate(struct vfio_dev *v, const uint8_t *raw, enum vfio_msix_relocate mode,
			struct vfio_area allowed[][VFIO_MAX_AREAS], const unsigned int *nr);

#endif
