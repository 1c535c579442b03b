#include "vmm/placement.h"
#include "vfio/host_check.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <dirent.h>
#include <limits.h>
#include <numa.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NODES 64

/* The node most functions sit on; the lowest among equals. */
static int majority(const int *nodes, unsigned int n, unsigned int *count)
{
	unsigned int votes[MAX_NODES] = {0};
	int best = -1;

	for (unsigned int i = 0; i < n; i++)
		if (nodes[i] >= 0 && nodes[i] < MAX_NODES)
			votes[nodes[i]]++;
	for (int k = 0; k < MAX_NODES; k++)
		if (votes[k] && (best < 0 || votes[k] > votes[best]))
			best = k;
	*count = best < 0 ? 0 : votes[best];
	return best;
}

/* "0000:00:12.0 (node 1), 0000:00:04.1 (node 0)" */
static void list_nodes(const char *const *bdfs, const int *nodes, unsigned int n, char *out,
		       size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned int i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s (node %d)", i ? ", " : "",
					 bdfs[i], nodes[i]);
}

void placement_decide(const char *const *bdfs, const int *nodes, unsigned int n,
		      unsigned int host_nodes, struct placement *out)
{
	unsigned int known = 0, votes;
	char list[384];

	*out = (struct placement){.node = -1};
	for (unsigned int i = 0; i < n; i++)
		known += nodes[i] >= 0 && nodes[i] < MAX_NODES;
	if (host_nodes <= 1) {
		snprintf(out->why, sizeof(out->why), "the host has one NUMA node");
		return;
	}
	if (!known) {
		snprintf(out->why, sizeof(out->why),
			 n ? "no assigned function has a NUMA node: host defaults"
			   : "no assigned functions to place by: host defaults");
		return;
	}
	out->node = majority(nodes, n, &votes);
	out->split = votes < known;
	list_nodes(bdfs, nodes, n, list, sizeof(list));
	if (out->split)
		snprintf(out->why, sizeof(out->why),
			 "where %u of its %u assigned functions are; they disagree: %s", votes, n,
			 list);
	else
		snprintf(out->why, sizeof(out->why), "where its assigned function%s: %s",
			 n == 1 ? " is" : "s are", list);
}

/* sysfs numa_node of a function; -1 when unknown (or not a function). */
static int function_node(const char *root, const char *bdf)
{
	char canon[VFIO_BDF_LEN], text[16], *end;
	long v;

	if (!vfio_bdf_canon(bdf, canon) ||
	    host_read_line(root, text, sizeof(text), "/sys/bus/pci/devices/%s/numa_node", canon))
		return -1;
	v = strtol(text, &end, 10);
	return end == text || *end || v < 0 || v >= MAX_NODES ? -1 : (int)v;
}

static int bind_to(int node)
{
	struct bitmask *mask;

	if (numa_run_on_node(node)) {
		log_error("numa: cannot run on host node %d's CPUs: %m (--numa off runs anywhere)",
			  node);
		return -1;
	}
	mask = numa_allocate_nodemask();
	if (!mask) {
		log_error("numa: out of memory for a node mask");
		return -1;
	}
	numa_bitmask_setbit(mask, (unsigned int)node);
	numa_set_membind(mask);
	numa_free_nodemask(mask);
	return 0;
}

int placement_apply(const char *root, const char *const *bdfs, unsigned int n)
{
	unsigned int host_nodes =
		numa_available() < 0 ? 1 : (unsigned int)numa_num_configured_nodes();
	int nodes[PLACEMENT_MAX_FNS];
	struct placement p;

	if (n > PLACEMENT_MAX_FNS)
		n = PLACEMENT_MAX_FNS;
	for (unsigned int i = 0; i < n; i++)
		nodes[i] = function_node(root, bdfs[i]);
	placement_decide(bdfs, nodes, n, host_nodes, &p);
	if (host_nodes <= 1)
		return -1; /* nothing to choose: no line */
	if (p.node < 0) {
		log_info("numa: no placement: %s", p.why);
		return -1;
	}
	if (bind_to(p.node))
		return -2;
	log_print(p.split ? "warning: " : "",
		  "numa: guest RAM, vCPUs and I/O threads on host node %d, %s", p.node, p.why);
	return p.node;
}

/* Whether /proc/PID/comm under root is name. */
static bool comm_is(const char *root, const char *pid, const char *name)
{
	char comm[32];

	return !host_read_line(root, comm, sizeof(comm), "/proc/%s/comm", pid) &&
	       !strcmp(comm, name);
}

unsigned int placement_vhost_workers(const char *root)
{
	char name[32], path[PATH_MAX];
	unsigned int moved = 0;
	struct dirent *e;
	cpu_set_t cpus;
	DIR *d;

	snprintf(path, sizeof(path), "%s/proc", root);
	snprintf(name, sizeof(name), "vhost-%d", (int)getpid());
	d = opendir(path);
	if (!d || sched_getaffinity(0, sizeof(cpus), &cpus)) {
		if (d)
			closedir(d);
		return 0;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !comm_is(root, e->d_name, name))
			continue;
		if (sched_setaffinity((pid_t)atoi(e->d_name), sizeof(cpus), &cpus))
			log_warn("numa: cannot move vhost-net worker %s to the guest's host node: "
				 "%m",
				 e->d_name);
		else
			moved++;
	}
	closedir(d);
	return moved;
}
