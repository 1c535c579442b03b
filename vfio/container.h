/*
 * The legacy VFIO interface: one container (/dev/vfio/vfio, the IOMMU context with the
 * guest's DMA mappings) that every assigned function's IOMMU group (/dev/vfio/N) joins.
 * A group is opened once however many of its functions are assigned. The container
 * is set to type1v2 when the first group joins, and guest RAM is mapped then: later
 * groups inherit the mappings. A group whose last device is closed leaves (a device
 * removed from a running guest frees its group for another VM); when the last group
 * has left, guest RAM is unmapped and the next group starts over.
 */
#ifndef CONDUIT_VFIO_CONTAINER_H
#define CONDUIT_VFIO_CONTAINER_H

#include "vmm/base/memory.h"

#include <stdbool.h>

#define VFIO_MAX_GROUPS 32

struct vfio_group {
	int id;
	int fd;
	unsigned int devices; /* open device fds */
};

struct vfio_container {
	int fd; /* -1 until the first device is opened */
	const struct guest_ram *ram;
	bool dma_mapped;
	double map_seconds; /* how long mapping guest RAM took */
	struct vfio_group group[VFIO_MAX_GROUPS];
	unsigned int nr_groups;
};

void vfio_container_init(struct vfio_container *c, const struct guest_ram *ram);
int vfio_device_open(struct vfio_container *c, const char *bdf, int group_id);
/* After a device fd of group_id was closed. */
void vfio_device_close(struct vfio_container *c, int group_id);
void vfio_container_destroy(struct vfio_container *c);

#endif
