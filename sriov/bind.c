#include "sriov/bind.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <stdio.h>
#include <string.h>

#define SYSFS_PCI "/sys/bus/pci/devices/"

void bind_driver(const char *root, const char *bdf, char *out, size_t len)
{
	if (host_link_name(root, out, len, SYSFS_PCI "%s/driver", bdf))
		out[0] = '\0';
}

/* sysfs shows "(null)" for no override */
void bind_override(const char *root, const char *bdf, char *out, size_t len)
{
	if (host_read_line(root, out, len, SYSFS_PCI "%s/driver_override", bdf) ||
	    !strcmp(out, "(null)"))
		out[0] = '\0';
}

static int write_attr(const char *root, const char *bdf, const char *value, const char *attr,
		      char *err, size_t errlen)
{
	int ret = host_write_line(root, value, SYSFS_PCI "%s/%s", bdf, attr);

	if (ret)
		return log_to_buf(err, errlen, "%s: writing '%s' to " SYSFS_PCI "%s/%s failed: %s",
				  bdf, value, bdf, attr, strerror(-ret));
	return 0;
}

static int probe(const char *root, const char *bdf, char *err, size_t errlen)
{
	int ret = host_write_line(root, bdf, "/sys/bus/pci/drivers_probe");

	if (ret)
		return log_to_buf(err, errlen,
				  "%s: writing it to /sys/bus/pci/drivers_probe failed: %s", bdf,
				  strerror(-ret));
	return 0;
}

int bind_vfio(const char *root, const char *bdf, char *err, size_t errlen)
{
	char driver[64];

	bind_driver(root, bdf, driver, sizeof(driver));
	if (!strcmp(driver, "vfio-pci"))
		return 0;
	if (!host_exists(root, "/sys/bus/pci/drivers/vfio-pci"))
		return log_to_buf(err, errlen,
				  "%s: the vfio-pci driver is not loaded: modprobe vfio-pci", bdf);
	if (write_attr(root, bdf, "vfio-pci", "driver_override", err, errlen) ||
	    (driver[0] && write_attr(root, bdf, bdf, "driver/unbind", err, errlen)) ||
	    probe(root, bdf, err, errlen))
		return -1;
	bind_driver(root, bdf, driver, sizeof(driver));
	if (strcmp(driver, "vfio-pci"))
		return log_to_buf(err, errlen,
				  "%s: vfio-pci did not take it (bound to %s): dmesg says why", bdf,
				  driver[0] ? driver : "no driver");
	return 0;
}

int bind_restore(const char *root, const char *bdf, const char *old, const char *old_override,
		 char *err, size_t errlen)
{
	char driver[64];

	if (!host_exists(root, SYSFS_PCI "%s", bdf))
		return 0; /* a VF that is gone: nothing to give back */
	bind_driver(root, bdf, driver, sizeof(driver));
	if (driver[0] && strcmp(driver, "vfio-pci") && strcmp(driver, old))
		return 0; /* someone else's now */
	if (!strcmp(driver, "vfio-pci") && strcmp(old, "vfio-pci") &&
	    write_attr(root, bdf, bdf, "driver/unbind", err, errlen))
		return -1;
	if (write_attr(root, bdf, old_override[0] ? old_override : "\n", "driver_override", err,
		       errlen))
		return -1;
	bind_driver(root, bdf, driver, sizeof(driver));
	if (!driver[0] && write_attr(root, bdf, "1", "reset", err, errlen))
		log_warn("%s", err); /* not every function can be reset; it goes back anyway */
	if (!old[0] || !strcmp(driver, old))
		return 0;
	if (probe(root, bdf, err, errlen))
		return -1;
	bind_driver(root, bdf, driver, sizeof(driver));
	if (strcmp(driver, old))
		return log_to_buf(err, errlen,
				  "%s: did not go back to %s (bound to %s): dmesg says why", bdf,
				  old, driver[0] ? driver : "no driver");
	return 0;
}
