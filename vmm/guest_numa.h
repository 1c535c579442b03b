/*
 * A guest NUMA topology (--numa node=ID,cpus=LIST,memory=SIZE[,host-node=N], repeated):
 * which vCPUs and how much RAM each guest node has, and the host node it lives on. The
 * guest learns it from SRAT and SLIT; its RAM is handed out to the nodes in order of ID,
 * in RAM order (the part below the MMIO hole first); each node's RAM is bound to its host
 * node and its vCPU threads run on that node's CPUs.
 */
#ifndef CONDUIT_VMM_GUEST_NUMA_H
#define CONDUIT_VMM_GUEST_NUMA_H

#include "vmm/base/memory.h"

#include <stdbool.h>
#include <stdint.h>

#define GUEST_NUMA_MAX_NODES  8
#define GUEST_NUMA_MAX_CPUS   256
#define GUEST_NUMA_MAX_RANGES (2 * GUEST_NUMA_MAX_NODES)
#define GUEST_NUMA_LOCAL      10 /* SLIT distances (ACPI 6.3 §5.2.17) */
#define GUEST_NUMA_REMOTE     20

struct guest_numa_node {
	bool defined;
	uint64_t cpus[GUEST_NUMA_MAX_CPUS / 64]; /* vCPU bitmap */
	uint64_t memory;
	int host_node; /* -1: not bound */
};

struct guest_numa {
	struct guest_numa_node node[GUEST_NUMA_MAX_NODES]; /* by ID */
	unsigned int nr_nodes;				   /* 0: no guest topology */
};

/* A node's share of guest RAM: at guest physical gpa, RAM offset offset. */
struct guest_numa_range {
	uint64_t gpa, offset, size;
	unsigned int node;
};

/* One "node=ID,cpus=LIST,memory=SIZE[,host-node=N]" (LIST: 0-3:6, or cpus= repeated);
 * 0, or -1 with one line naming the mistake. spec is modified. */
int guest_numa_parse(struct guest_numa *g, char *spec, const char *arg);

/* Against --cpus and --memory: nodes 0..N-1 all defined, every vCPU in exactly one node,
 * memory in 2 MiB units summing to memory. 0, or -1 with one line. */
int guest_numa_check(const struct guest_numa *g, unsigned int cpus, uint64_t memory);

int guest_numa_cpu_node(const struct guest_numa *g, unsigned int cpu);

/* Each node's RAM as guest ranges (low_size bytes at GPA 0, the rest at 4 GiB); returns
 * how many. */
unsigned int guest_numa_ranges(const struct guest_numa *g, uint64_t low_size,
			       struct guest_numa_range out[GUEST_NUMA_MAX_RANGES]);

/* The SLIT entry: 10 on the diagonal; the host's distance between the two nodes' host
 * nodes when both are bound to different ones (host_distance), else 20. */
unsigned int guest_numa_distance(const struct guest_numa *g, unsigned int i, unsigned int j,
				 int (*host_distance)(int a, int b));
int guest_numa_host_distance(int a, int b); /* libnuma's; 0 when it has none */

/* Host side, before any RAM or thread exists: the host nodes named exist (libnuma), or
 * -1 with one line; the bindings for guest_ram_create_bound(); the start line. */
int guest_numa_host_check(const struct guest_numa *g);
unsigned int guest_numa_binds(const struct guest_numa *g,
			      struct guest_ram_bind out[GUEST_NUMA_MAX_NODES]);
void guest_numa_report(const struct guest_numa *g);

/* Runs the calling thread on the CPUs of vCPU cpu's host node, so the vCPU thread it
 * creates next inherits them; on any CPU for cpu < 0 or a node without a host node.
 * 0, or -1 with one line. */
int guest_numa_run_on(const struct guest_numa *g, int cpu);

#endif
