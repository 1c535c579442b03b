#include "iommu/dma.h"
#include "vmm/base/clock.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* True when [start, start + len) lies inside one of the IOMMU's usable IOVA ranges
 * (ranges are inclusive; the host reserves holes such as the MSI window). */
bool dma_iova_usable(const struct vfio_iova_range *r, unsigned int n, uint64_t start, uint64_t len)
{
	uint64_t last = start + len - 1;
	unsigned int i;

	if (!len || last < start)
		return false;
	for (i = 0; i < n; i++)
		if (start >= r[i].start && last <= r[i].end)
			return true;
	return false;
}

/* The container's usable IOVA ranges; NULL (and *n = 0) when the kernel does not say. */
static struct vfio_iova_range *iova_ranges(int fd, unsigned int *n)
{
	struct vfio_iommu_type1_info *info = calloc(1, 4096);
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_info_cap_header *h;
	struct vfio_iova_range *out = NULL;
	uint32_t off;

	*n = 0;
	if (!info)
		return NULL;
	info->argsz = 4096;
	if (ioctl(fd, VFIO_IOMMU_GET_INFO, info) || !(info->flags & VFIO_IOMMU_INFO_CAPS) ||
	    info->argsz > 4096)
		goto out;
	for (off = info->cap_offset; off && off + sizeof(*h) <= 4096; off = h->next) {
		h = (struct vfio_info_cap_header *)((uint8_t *)info + off);
		if (h->id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			continue;
		cap = (struct vfio_iommu_type1_info_cap_iova_range *)h;
		if (off + sizeof(*cap) + (uint64_t)cap->nr_iovas * sizeof(cap->iova_ranges[0]) >
		    4096)
			break;
		out = calloc(cap->nr_iovas ? cap->nr_iovas : 1, sizeof(*out));
		if (out) {
			memcpy(out, cap->iova_ranges, cap->nr_iovas * sizeof(*out));
			*n = cap->nr_iovas;
		}
		break;
	}
out:
	free(info);
	return out;
}

static int map_one(int fd, uint64_t iova, uint64_t len, void *host, const struct vfio_iova_range *r,
		   unsigned int nr)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uint64_t)(uintptr_t)host,
		.iova = iova,
		.size = len,
	};

	if (r && !dma_iova_usable(r, nr, iova, len)) {
		log_error("guest RAM at 0x%llx-0x%llx is outside the host IOMMU's usable "
			  "addresses: give the guest less --memory",
			  (unsigned long long)iova, (unsigned long long)(iova + len - 1));
		return -1;
	}
	if (ioctl(fd, VFIO_IOMMU_MAP_DMA, &map)) {
		log_error("cannot map guest RAM for device DMA (VFIO_IOMMU_MAP_DMA at 0x%llx, "
			  "%llu MiB): %s%s",
			  (unsigned long long)iova, (unsigned long long)(len >> 20),
			  strerror(errno),
			  errno == ENOMEM ? ": raise the locked-memory limit (ulimit -l)" : "");
		return -1;
	}
	return 0;
}

/* Maps RAM below the hole at IOVA 0 and RAM above it at 4 GiB; *seconds is how long
 * the pinning took. */
int dma_map_guest_ram(int container_fd, const struct guest_ram *ram, double *seconds)
{
	uint64_t t0 = clock_ns();
	unsigned int nr;
	struct vfio_iova_range *r = iova_ranges(container_fd, &nr);
	int ret = map_one(container_fd, 0, ram->low_size, ram->host, r, nr);

	if (!ret && ram->high_size) {
		ret = map_one(container_fd, GUEST_RAM_HIGH_ADDR, ram->high_size,
			      ram->host + ram->low_size, r, nr);
		if (ret)
			dma_unmap_guest_ram(container_fd, ram);
	}
	free(r);
	*seconds = (double)(clock_ns() - t0) / 1e9;
	return ret;
}

static void unmap_one(int fd, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};

	if (len && ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap) && errno != EINVAL)
		log_warn("VFIO_IOMMU_UNMAP_DMA at 0x%llx failed: %s", (unsigned long long)iova,
			 strerror(errno));
}

void dma_unmap_guest_ram(int container_fd, const struct guest_ram *ram)
{
	unmap_one(container_fd, 0, ram->low_size);
	unmap_one(container_fd, GUEST_RAM_HIGH_ADDR, ram->high_size);
}
