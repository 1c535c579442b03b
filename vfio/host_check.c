#include "vfio/host_check.h"
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

static int host_group(const char *root, struct vfio_host_info *out, char *err, size_t errlen)
{
	char name[32], *end;
	long n;

	if (host_link_name(root, name, sizeof(name), SYSFS_PCI "%s/iommu_group", out->bdf) < 0)
		return log_to_buf(
			err, errlen,
			"vfio %s: no IOMMU group, so the host has no IOMMU enabled: enable "
			"VT-d/AMD-Vi in firmware and add intel_iommu=on to the host kernel "
			"command line (Intel; AMD-Vi is on unless amd_iommu=off is there)",
			out->bdf);
	n = strtol(name, &end, 10);
	if (end == name || *end || n < 0 || n > INT_MAX)
		return log_to_buf(err, errlen, "vfio %s: unexpected IOMMU group link '%s'",
				  out->bdf, name);
	out->group = (int)n;
	return 0;
}

/* vfio-pci, or a vendor variant built on vfio-pci-core (mlx5_vfio_pci, xe-vfio-pci...):
 * they expose the same VFIO interface. */
static bool driver_is_vfio(const char *drv)
{
	size_t n = strlen(drv);

	return n >= 8 && (!strcmp(drv + n - 8, "vfio-pci") || !strcmp(drv + n - 8, "vfio_pci"));
}

static int host_driver(const char *root, const struct vfio_host_info *out, char *err, size_t errlen)
{
	const char *modprobe = "";
	const char *b = out->bdf;
	char drv[64];

	if (host_link_name(root, drv, sizeof(drv), SYSFS_PCI "%s/driver", b) < 0)
		drv[0] = '\0';
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

/* The first group member other than the function itself that makes the group not
 * viable: its name into who, its driver into drv; false when there is none. */
static bool group_offender(const char *root, const struct vfio_host_info *out, DIR *d, char *who,
			   size_t wholen, char *drv, size_t drvlen)
{
	struct dirent *e;

	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, out->bdf))
			continue;
		if (host_link_name(root, drv, drvlen,
				   "/sys/kernel/iommu_groups/%d/devices/%s/driver", out->group,
				   e->d_name) < 0)
			drv[0] = '\0';
		if (!driver_keeps_viable(drv)) {
			snprintf(who, wholen, "%s", e->d_name);
			return true;
		}
	}
	return false;
}

static int host_viable(const char *root, const struct vfio_host_info *out, char *err, size_t errlen)
{
	char path[PATH_MAX], who[256], drv[64];
	bool bad;
	DIR *d;

	host_path(path, sizeof(path), root, "/sys/kernel/iommu_groups/%d/devices", out->group);
	d = opendir(path);
	if (!d)
		return log_to_buf(err, errlen, "vfio %s: cannot list IOMMU group %d: %s", out->bdf,
				  out->group, strerror(errno));
	bad = group_offender(root, out, d, who, sizeof(who), drv, sizeof(drv));
	closedir(d);
	if (!bad)
		return 0;
	return log_to_buf(
		err, errlen,
		"vfio %s: IOMMU group %d is not viable: %s in the same group is bound to %s; "
		"unbind it (echo %s > " SYSFS_PCI "%s/driver/unbind) or bind it to vfio-pci too",
		out->bdf, out->group, who, drv, who, who);
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

static unsigned int read_hex(const char *root, const char *bdf, const char *attr)
{
	char line[32];

	if (host_read_line(root, line, sizeof(line), SYSFS_PCI "%s/%s", bdf, attr) < 0)
		return 0;
	return (unsigned int)strtoul(line, NULL, 16);
}

/* The facts the caller reports: SR-IOV parent, NUMA node, IDs. */
static void host_describe(const char *root, struct vfio_host_info *out)
{
	char line[32];

	out->is_vf = host_link_name(root, out->pf_bdf, sizeof(out->pf_bdf), SYSFS_PCI "%s/physfn",
				    out->bdf) == 0;
	if (!out->is_vf)
		out->pf_bdf[0] = '\0';
	out->numa_node = -1;
	if (host_read_line(root, line, sizeof(line), SYSFS_PCI "%s/numa_node", out->bdf) == 0)
		out->numa_node = atoi(line);
	out->vendor_id = (uint16_t)read_hex(root, out->bdf, "vendor");
	out->device_id = (uint16_t)read_hex(root, out->bdf, "device");
}

int vfio_host_check(const char *root, const char *bdf, struct vfio_host_info *out, char *err,
		    size_t errlen)
{
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
	if (host_group(root, out, err, errlen) < 0 || host_driver(root, out, err, errlen) < 0 ||
	    host_viable(root, out, err, errlen) < 0 ||
	    host_backend_module(root, out, err, errlen) < 0 ||
	    host_group_node(root, out, err, errlen) < 0)
		return -1;
	host_describe(root, out);
	return 0;
}

/* The device's VFIO cdev as sysfs lists it: vfio-dev/vfioN. */
static bool device_cdev(const char *root, const char *bdf, char *out, size_t len)
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

	if (host_exists(root, "/dev/iommu") && device_cdev(root, dev->bdf, cdev, sizeof(cdev))) {
		host_path(out->iommu, sizeof(out->iommu), root, "/dev/iommu");
		host_path(out->device, sizeof(out->device), root, "/dev/vfio/devices/%s", cdev);
		return VFIO_BACKEND_IOMMUFD;
	}
	host_path(out->iommu, sizeof(out->iommu), root, "/dev/vfio/vfio");
	snprintf(out->device, sizeof(out->device), "%s", dev->group_path);
	return VFIO_BACKEND_GROUP;
}
