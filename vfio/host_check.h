/*
 * What --vfio host=BDF needs from the host, checked before conduit touches anything:
 * the function exists, sits behind an IOMMU, is bound to vfio-pci, its IOMMU group is
 * viable (no other member owned by a host driver), the type1 IOMMU backend is loaded
 * and the group's /dev/vfio/N opens. Every failure is one line naming the function
 * and the fix, returned for the caller to log_error(); nothing is printed here.
 *
 * All paths are read under a root directory: "/" on a host, a fake sysfs and /dev
 * tree in the unit tests. Messages always show the host paths a user would type.
 */
#ifndef CONDUIT_VFIO_HOST_CHECK_H
#define CONDUIT_VFIO_HOST_CHECK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VFIO_BDF_LEN 20 /* "dddd:bb:dd.f" with a domain of up to 8 hex digits */

struct vfio_host_info {
	char bdf[VFIO_BDF_LEN];	   /* canonical: lower case, domain included */
	int group;		   /* IOMMU group number */
	char group_path[PATH_MAX]; /* /dev/vfio/N under root: what to open */
	bool is_vf;		   /* an SR-IOV virtual function */
	char pf_bdf[VFIO_BDF_LEN]; /* its physical function, when is_vf */
	int numa_node;		   /* -1: no NUMA affinity */
	uint16_t vendor_id, device_id;
};

/*
 * Canonicalises "DDDD:BB:DD.F" (or lspci's "BB:DD.F", domain 0) into out, lower
 * case; false when s is not a PCI function address.
 */
bool vfio_bdf_canon(const char *s, char out[VFIO_BDF_LEN]);

/* 0 with *out filled, or -1 with one line in err. */
int vfio_host_check(const char *root, const char *bdf, struct vfio_host_info *out, char *err,
		    size_t errlen);

/*
 * The line for open(2) of the group node failing with errnum; path is the host path.
 * Also for the caller's own open of the group. Returns -1.
 */
int vfio_group_open_explain(const char *bdf, int group, const char *path, int errnum, char *err,
			    size_t errlen);

/* The function's VFIO cdev as sysfs lists it (vfio-dev/vfioN): its name in out. */
bool vfio_device_cdev(const char *root, const char *bdf, char *out, size_t len);

enum vfio_backend {
	VFIO_BACKEND_GROUP,   /* /dev/vfio/vfio container + /dev/vfio/N group, type1v2 */
	VFIO_BACKEND_IOMMUFD, /* /dev/iommu + the device's own /dev/vfio/devices/vfioN */
};

struct vfio_backend_paths {
	char iommu[PATH_MAX];  /* /dev/iommu, or the container /dev/vfio/vfio */
	char device[PATH_MAX]; /* /dev/vfio/devices/vfioN, or the group /dev/vfio/N */
};

/* Picks the interface for a function that passed vfio_host_check(); paths under root. */
enum vfio_backend vfio_backend_select(const char *root, const struct vfio_host_info *dev,
				      struct vfio_backend_paths *out);

#endif
