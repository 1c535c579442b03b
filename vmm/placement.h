/*
 * Device-local NUMA placement (--numa auto, the default): a guest lives on the host
 * node of the functions assigned to it — guest RAM bound there (MPOL_BIND, set before
 * the RAM is allocated, so the main thread's prefault and the vCPUs' faults both take
 * it), and conduit's threads (vCPUs, virtio I/O threads) run on that node's CPUs, as
 * threads inherit both from the main thread. With functions on different nodes the
 * majority decides (the lowest node among equals), with a warning naming them.
 * --numa off keeps the host's defaults. Through libnuma.
 */
#ifndef CONDUIT_VMM_PLACEMENT_H
#define CONDUIT_VMM_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#define PLACEMENT_MAX_FNS 16

struct placement {
	int node;      /* the host node chosen; -1: none (nothing to place by) */
	bool split;    /* the functions disagree */
	char why[512]; /* the start line's reason */
};

/* The decision from each function's host node (-1: none known) on a host with
 * host_nodes nodes. Pure: unit-tested for every mix. */
void placement_decide(const char *const *bdfs, const int *nodes, unsigned int n,
		      unsigned int host_nodes, struct placement *out);

/* Reads the nodes of the functions (sysfs numa_node under root), decides, prints the
 * start line when the host has more than one node, and binds; 0, or -1 with one line. */
int placement_apply(const char *root, const char *const *bdfs, unsigned int n);

#endif
