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
 * start line when the host has more than one node, and binds; the node chosen (-1:
 * none), or -2 with one line. */
int placement_apply(const char *root, const char *const *bdfs, unsigned int n);

/* vhost-net's workers follow: before Linux 6.4 they are kernel threads named
 * "vhost-PID" (PID: the thread that set the owner, conduit's main thread) that take
 * none of the owner's CPUs, so they get the calling thread's CPU set; from 6.4 on they
 * are the owner's own threads and inherit it. Returns how many were moved; a worker
 * that cannot be moved is a warning. */
unsigned int placement_vhost_workers(const char *root);

#endif
