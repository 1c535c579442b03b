#include "vfio/container.h"
#include "iommu/dma.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void vfio_container_init(struct vfio_container *c, const struct guest_ram *ram)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->ram = ram;
}

static int container_open(struct vfio_container *c)
{
	c->fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		log_error("cannot open /dev/vfio/vfio: %s: load the vfio modules "
			  "(modprobe vfio-pci vfio_iommu_type1)",
			  strerror(errno));
		return -1;
	}
	if (ioctl(c->fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(c->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		log_error("the host's VFIO lacks the type1v2 IOMMU: load vfio_iommu_type1");
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/* Opens group N and attaches it to the container; the first attach sets the IOMMU
 * model and maps guest RAM. */
static struct vfio_group *group_attach(struct vfio_container *c, int id)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	struct vfio_group *g = &c->group[c->nr_groups];
	char path[64];

	if (c->nr_groups == VFIO_MAX_GROUPS) {
		log_error("more than %d IOMMU groups assigned", VFIO_MAX_GROUPS);
		return NULL;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", id);
	g->id = id;
	g->fd = open(path, O_RDWR | O_CLOEXEC);
	if (g->fd < 0) {
		log_error("cannot open %s: %s%s", path, strerror(errno),
			  errno == EBUSY ? ": another process (a VM?) holds this IOMMU group" : "");
		return NULL;
	}
	if (ioctl(g->fd, VFIO_GROUP_GET_STATUS, &st) || !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		log_error("IOMMU group %d is not viable: bind every function in "
			  "/sys/kernel/iommu_groups/%d/devices to vfio-pci (or unbind it)",
			  id, id);
		goto fail;
	}
	if (ioctl(g->fd, VFIO_GROUP_SET_CONTAINER, &c->fd)) {
		log_error("cannot attach IOMMU group %d to the VFIO container: %s", id,
			  strerror(errno));
		goto fail;
	}
	c->nr_groups++;
	if (c->nr_groups == 1 && ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		log_error("VFIO_SET_IOMMU (type1v2) failed for IOMMU group %d: %s", id,
			  strerror(errno));
		return NULL;
	}
	if (!c->dma_mapped) {
		if (dma_map_guest_ram(c->fd, c->ram, &c->map_seconds))
			return NULL;
		c->dma_mapped = true;
	}
	return g;
fail:
	close(g->fd);
	return NULL;
}

static struct vfio_group *group_get(struct vfio_container *c, int id)
{
	unsigned int i;

	for (i = 0; i < c->nr_groups; i++)
		if (c->group[i].id == id)
			return &c->group[i];
	if (c->fd < 0 && container_open(c))
		return NULL;
	return group_attach(c, id);
}

/* Returns the device fd of function bdf (in IOMMU group group_id), or -1 after a log
 * line. */
int vfio_device_open(struct vfio_container *c, const char *bdf, int group_id)
{
	struct vfio_group *g = group_get(c, group_id);
	int fd;

	if (!g)
		return -1;
	fd = ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (fd < 0) {
		log_error("vfio %s: cannot get its device from IOMMU group %d: %s%s", bdf, group_id,
			  strerror(errno), errno == EBUSY ? " (already assigned elsewhere?)" : "");
		if (!g->devices)
			vfio_device_close(c, group_id);
		return -1;
	}
	g->devices++;
	return fd;
}

/* A group leaves the container; the last one takes guest RAM's mappings along (the
 * container has no IOMMU without a group). */
static void group_detach(struct vfio_container *c, unsigned int i)
{
	if (c->nr_groups == 1 && c->dma_mapped) {
		dma_unmap_guest_ram(c->fd, c->ram);
		c->dma_mapped = false;
	}
	ioctl(c->group[i].fd, VFIO_GROUP_UNSET_CONTAINER);
	close(c->group[i].fd);
	c->group[i] = c->group[--c->nr_groups];
}

void vfio_device_close(struct vfio_container *c, int group_id)
{
	for (unsigned int i = 0; c && i < c->nr_groups; i++) {
		if (c->group[i].id != group_id)
			continue;
		if (c->group[i].devices)
			c->group[i].devices--;
		if (!c->group[i].devices)
			group_detach(c, i);
		return;
	}
}

/* Unmaps guest RAM and lets the groups go; devices must be closed first. */
void vfio_container_destroy(struct vfio_container *c)
{
	unsigned int i;

	if (c->dma_mapped)
		dma_unmap_guest_ram(c->fd, c->ram);
	c->dma_mapped = false;
	for (i = 0; i < c->nr_groups; i++) {
		ioctl(c->group[i].fd, VFIO_GROUP_UNSET_CONTAINER);
		close(c->group[i].fd);
	}
	c->nr_groups = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
