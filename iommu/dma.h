/*
 * DMA mapping of guest RAM for assigned devices. A device behind the host IOMMU sees
 * I/O virtual addresses; conduit maps every guest-physical RAM address to the same
 * IOVA, so the guest programs its devices with guest-physical addresses as on bare
 * metal. The mapping pins the RAM (the whole guest becomes resident) and is made
 * before the guest runs; one mapping in a container serves every group attached to it.
 */
#ifndef CONDUIT_IOMMU_DMA_H
#define CONDUIT_IOMMU_DMA_H

#include "vmm/base/memory.h"

#include <linux/vfio.h>
#include <stdbool.h>

bool dma_iova_usable(const struct vfio_iova_range *r, unsigned int n, uint64_t start, uint64_t len);
int dma_map_guest_ram(int container_fd, const struct guest_ram *ram, double *seconds);
void dma_unmap_guest_ram(int container_fd, const struct guest_ram *ram);

#endif
