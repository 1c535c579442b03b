#include "vfio/host_check.h"
#include "vfio/inventory.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYSFS_PCI "/sys/bus/pci/devices/"

/* Between min and max hex digits at *p into *v; advances *p. */
static bool hex_field(const char **p, unsigned int min, unsigned int max, unsigned int *v)
{
	unsigned int n = 0;

	*v = 0;
	while (n < max && isxdigit((unsigned char)(*p)[n])) {
		*v = *v * 16 + (unsigned int)(isdigit((unsigned char)(*p)[n])
						      ? (*p)[n] - '0'
						      : tolower((unsigned char)(*p)[n]) - 'a' + 10);
		n++;
	}
	*p += n;
	return n >= min && !isxdigit((unsigned char)**p);
}

bool vfio_bdf_canon(const char *s, char out[VFIO_BDF_LEN])
{
	unsigned int domain = 0, bus, dev, fn;
	const char *p = s;

	/* lspci's short form has one colon and means domain 0 */
	if (strchr(s, ':') != strrchr(s, ':') && !(hex_field(&p, 4, 8, &domain) && *p++ == ':'))
		return false;
	if (!hex_field(&p, 2, 2, &bus) || *p++ != ':' || !hex_field(&p, 2, 2, &dev) ||
	    *p++ != '.' || !hex_field(&p, 1, 1, &fn) || *p)
		return false;
	if (dev > 0x1f || fn > 7)
		return false;
	snprintf(out, VFIO_BDF_LEN, "%04x:%02x:%02x.%x", domain, bus, dev, fn);
	return true;
}

static int host_group(struct vfio_host_info *out, const struct inventory_dev *d, char *err,
		      size_t errlen)
{
	if (d->iommu_group < 0)
		return log_to_buf(
			err, errlen,
			"vfio %s: no IOMMU group, so the host has no IOMMU enabled: enable "
			"VT-d/AMD-Vi in firmware and add intel_iommu=on to the host kernel "
			"command line (Intel; AMD-Vi is on unless amd_iommu=off is there)",
			out->bdf);
	out->group = d->iommu_group;
	return 0;
}

/* vfio-pci, or a vendor variant built on vfio-pci-core (mlx5_vfio_pci, xe-vfio-pci...):
 * they expose the same VFIO interface. */
static bool driver_is_vfio(const char *drv)
{
	size_t n = strlen(drv);

	return n >= 8 && (!strcmp(drv + n - 8, "vfio-pci") || !strcmp(drv + n - 8, "vfio_pci"));
}

static int host_driver(const char *root, const struct vfio_host_info *out, const char *drv,
		       char *err, size_t errlen)
{
	const char *modprobe = "";
	const char *b = out->bdf;

	if (driver_is_vfio(drv))
		return 0;
	if (!host_exists(root, "/sys/module/vfio_pci"))
		modprobe = "modprobe vfio-pci; ";
	/* driver_override makes the next probe pick vfio-pci whatever the IDs say */
	if (!drv[0])
		return log_to_buf(
			err, errlen,
			"vfio %s: no driver bound, not vfio-pci: %secho vfio-pci > " SYSFS_PCI
			"%s/driver_override; echo %s > /sys/bus/pci/drivers_probe",
			b, modprobe, b, b);
	return log_to_buf(err, errlen,
			  "vfio %s: bound to %s, not vfio-pci: %secho vfio-pci > " SYSFS_PCI
			  "%s/driver_override; echo %s > " SYSFS_PCI
			  "%s/driver/unbind; echo %s > /sys/bus/pci/drivers_probe",
			  b, drv, modprobe, b, b, b, b);
}

/*
 * The kernel hands an IOMMU group to userspace only when no member is driven by a
 * host driver doing DMA of its own: each member has no driver, or one that leaves
 * DMA ownership to its user (driver_managed_dma: vfio-pci and its variants, pci-stub,
 * and pcieport on the bridges).
 */
static bool driver_keeps_viable(const char *drv)
{
	return !drv[0] || driver_is_vfio(drv) || !strcmp(drv, "pci-stub") ||
	       !strcmp(drv, "pcieport");
}

/* The first other member of the group that makes it not viable, or NULL. Members
 * that are not PCI functions are left to the kernel's own check when the group is
 * opened (VFIO_GROUP_FLAGS_VIABLE). */
static const struct inventory_dev *group_offender(const struct inventory *members)
{
	for (size_t i = 0; i < members->count; i++)
		if (!driver_keeps_viable(members->devs[i].driver ?: ""))
			return &members->devs[i];
	return NULL;
}

static int host_viable(const struct inventory_source *src, const struct vfio_host_info *out,
		       const struct inventory_dev *d, char *err, size_t errlen)
{
	const struct inventory_dev *who;
	struct inventory members;
	int ret = 0;

	if (inventory_read(src, &d->group_members, &members))
		return log_to_buf(err, errlen,
				  "vfio %s: cannot read the other members of IOMMU group %d "
				  "(the line above says why)",
				  out->bdf, out->group);
	who = group_offender(&members);
	if (who)
		ret = log_to_buf(err, errlen,
				 "vfio %s: IOMMU group %d is not viable: %s in the same group is "
				 "bound to %s; unbind it (echo %s > " SYSFS_PCI
				 "%s/driver/unbind) or bind it to vfio-pci too",
				 out->bdf, out->group, who->bdf, who->driver, who->bdf, who->bdf);
	inventory_free(&members);
	return ret;
}

/* A group joins a type1v2 container, which vfio_iommu_type1 provides, or iommufd's
 * compatibility container when the kernel is built that way. */
static int host_backend_module(const char *root, const struct vfio_host_info *out, char *err,
			       size_t errlen)
{
	if (host_exists(root, "/sys/module/vfio_iommu_type1") ||
	    host_exists(root, "/sys/module/iommufd"))
		return 0;
	return log_to_buf(
		err, errlen,
		"vfio %s: the VFIO type1 IOMMU backend is not loaded: modprobe vfio_iommu_type1",
		out->bdf);
}

int vfio_group_open_explain(const char *bdf, int group, const char *path, int errnum, char *err,
			    size_t errlen)
{
	switch (errnum) {
	case ENOENT:
		return log_to_buf(
			err, errlen,
			"vfio %s: %s is missing although the function is bound to vfio-pci: "
			"/dev needs devtmpfs (mount -t devtmpfs devtmpfs /dev) or udev "
			"(udevadm settle)",
			bdf, path);
	case EACCES:
	case EPERM:
		return log_to_buf(
			err, errlen,
			"vfio %s: cannot open %s: %s: run conduit as root or give your user "
			"the group (chown $USER %s)",
			bdf, path, strerror(errnum), path);
	case EBUSY:
		return log_to_buf(
			err, errlen,
			"vfio %s: cannot open %s: IOMMU group %d is in use by another process "
			"(another VMM?): stop it first",
			bdf, path, group);
	default:
		return log_to_buf(err, errlen, "vfio %s: cannot open %s: %s", bdf, path,
				  strerror(errnum));
	}
}

/* Opening the group is the last check: a group opens only once at a time, so it is
 * closed again for the caller's container to open. */
static int host_group_node(const char *root, struct vfio_host_info *out, char *err, size_t errlen)
{
	char host[64];
	int fd;

	host_path(out->group_path, sizeof(out->group_path), root, "/dev/vfio/%d", out->group);
	fd = open(out->group_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(host, sizeof(host), "/dev/vfio/%d", out->group);
		return vfio_group_open_explain(out->bdf, out->group, host, errno, err, errlen);
	}
	close(fd);
	return 0;
}

/* The facts the caller reports: SR-IOV parent, NUMA node, IDs. */
static void host_describe(struct vfio_host_info *out, const struct inventory_dev *d)
{
	out->is_vf = d->physfn != NULL;
	snprintf(out->pf_bdf, sizeof(out->pf_bdf), "%s", d->physfn ?: "");
	out->numa_node = d->numa_node;
	out->vendor_id = d->vendor_id;
	out->device_id = d->device_id;
}

static int host_checks(const char *root, const struct inventory_source *src,
		       struct vfio_host_info *out, const struct inventory_dev *d, char *err,
		       size_t errlen)
{
	if (host_group(out, d, err, errlen) < 0 ||
	    host_driver(root, out, d->driver ?: "", err, errlen) < 0 ||
	    host_viable(src, out, d, err, errlen) < 0 ||
	    host_backend_module(root, out, err, errlen) < 0 ||
	    host_group_node(root, out, err, errlen) < 0)
		return -1;
	host_describe(out, d);
	return 0;
}

/* Reads the function's facts through libpci (inventory_read), then checks them. */
int vfio_host_check(const char *root, const char *bdf, struct vfio_host_info *out, char *err,
		    size_t errlen)
{
	char sysfs[PATH_MAX], *name = out->bdf;
	struct inventory_list one = {.names = &name, .count = 1};
	struct inventory_source src = {.sysfs = sysfs};
	struct inventory inv;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!vfio_bdf_canon(bdf, out->bdf))
		return log_to_buf(
			err, errlen,
			"--vfio host=%s: not a PCI function address; expected DDDD:BB:DD.F "
			"(hex domain:bus:device.function, e.g. 0000:01:00.0)",
			bdf);
	if (!host_exists(root, SYSFS_PCI "%s", out->bdf))
		return log_to_buf(err, errlen,
				  "no PCI function %s on this host: `conduit devices` lists them",
				  out->bdf);
	host_path(sysfs, sizeof(sysfs), root, "/sys");
	if (inventory_read(&src, &one, &inv) || inv.count != 1)
		return log_to_buf(err, errlen,
				  "vfio %s: cannot read its facts from sysfs (the line above says "
				  "why)",
				  out->bdf);
	ret = host_checks(root, &src, out, &inv.devs[0], err, errlen);
	inventory_free(&inv);
	return ret;
}

bool vfio_device_cdev(const char *root, const char *bdf, char *out, size_t len)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	host_path(path, sizeof(path), root, SYSFS_PCI "%s/vfio-dev", bdf);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		found = !strncmp(e->d_name, "vfio", 4) && isdigit((unsigned char)e->d_name[4]) &&
			snprintf(out, len, "%s", e->d_name) < (int)len;
	}
	closedir(d);
	return found;
}

/*
 * iommufd needs both the /dev/iommu node (CONFIG_IOMMUFD) and a per-device cdev
 * (CONFIG_VFIO_DEVICE_CDEV, shown in sysfs as vfio-dev/vfioN). Without either, the
 * legacy container and group, with the type1v2 IOMMU model.
 */
enum vfio_backend vfio_backend_select(const char *root, const struct vfio_host_info *dev,
				      struct vfio_backend_paths *out)
{
	char cdev[64];

	if (host_exists(root, "/dev/iommu") &&
	    vfio_device_cdev(root, dev->bdf, cdev, sizeof(cdev))) {
		host_path(out->iommu, sizeof(out->iommu), root, "/dev/iommu");
		host_path(out->device, sizeof(out->device), root, "/dev/vfio/devices/%s", cdev);
		return VFIO_BACKEND_IOMMUFD;
	}
	host_path(out->iommu, sizeof(out->iommu), root, "/dev/vfio/vfio");
	snprintf(out->device, sizeof(out->device), "%s", dev->group_path);
	return VFIO_BACKEND_GROUP;
}
