/*
 * Host PCI inventory for `conduit devices`: what a user can pass through with
 * --vfio host=DDDD:BB:DD.F, with the facts that decide it (bound driver, IOMMU group
 * and the other members that must be unbound with it, NUMA node, SR-IOV PF/VF links).
 *
 * libpci scans and names the functions; sysfs supplies what libpci does not know
 * (SR-IOV links, IOMMU group membership). The sysfs root is a parameter so tests can
 * point the scan at a fake tree.
 */
#ifndef CONDUIT_VFIO_INVENTORY_H
#define CONDUIT_VFIO_INVENTORY_H

#include "vfio/holder.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A growable list of strings (BDFs or sysfs device names). */
struct inventory_list {
	char **names;
	size_t count;
};

struct inventory_dev {
	char bdf[20]; /* DDDD:BB:DD.F; the domain may be wider than 4 digits */
	unsigned int domain, bus, dev, func;
	uint16_t vendor_id, device_id, class_id;
	char *class_name;		     /* "Ethernet controller", from pci.ids */
	char *name;			     /* vendor and device names, from pci.ids */
	char *driver;			     /* NULL: no driver bound */
	int iommu_group;		     /* -1: no IOMMU group (no IOMMU, or not behind one) */
	struct inventory_list group_members; /* other devices in the IOMMU group */
	int numa_node;			     /* -1: no NUMA affinity */
	char node_cpus[256];		     /* that node's CPUs ("0-7,16-23"); "" unknown */
	bool sriov;			     /* an SR-IOV PF: the three fields below apply */
	int num_vfs, total_vfs;
	struct inventory_list vfs; /* BDFs of the enabled VFs, virtfn0 first */
	char *physfn;		   /* a VF: its PF's BDF; NULL otherwise */
	/* filled by the caller that knows them (conduit devices): */
	struct vfio_holder holder; /* the process holding it through VFIO */
	bool managed;		   /* a conduit took it (managed assignment) */
};

struct inventory {
	struct inventory_dev *devs; /* sorted by domain, bus, device, function */
	size_t count;
};

/* Where the host facts come from: sysfs is "/sys" on a real host; pci_ids is NULL for
 * libpci's own pci.ids, or another file in that format. */
struct inventory_source {
	const char *sysfs;
	const char *pci_ids;
};

/* Scan the host; 0 on success, -1 with one error line logged. */
int inventory_scan(const struct inventory_source *src, struct inventory *inv);
/* The same facts for the functions named in bdfs only (DDDD:BB:DD.F, each present in
 * sysfs), without a scan; names that are not PCI addresses are left out. */
int inventory_read(const struct inventory_source *src, const struct inventory_list *bdfs,
		   struct inventory *inv);
void inventory_free(struct inventory *inv);

/* One line per function, then a hint when the host has no IOMMU groups at all. */
void inventory_print_plain(const struct inventory *inv, FILE *out);
/* A JSON array with one object per function. */
void inventory_print_json(const struct inventory *inv, FILE *out);

#endif
