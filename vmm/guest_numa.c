#include "vmm/guest_numa.h"
#include "vmm/base/log.h"
#include "vmm/base/size.h"

#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_UNIT (2ULL << 20) /* node sizes in whole 2M pages: hugepages split there too */

static bool cpu_in(const struct guest_numa_node *n, unsigned int cpu)
{
	return n->cpus[cpu / 64] >> (cpu % 64) & 1;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

/* "0-3:6:8-9" into the node's bitmap. */
static int parse_cpus(struct guest_numa_node *n, char *list, const char *arg)
{
	for (char *tok = strtok(list, ":"); tok; tok = strtok(NULL, ":")) {
		char *dash = strchr(tok, '-');
		unsigned long lo, hi;

		if (dash)
			*dash = '\0';
		if (parse_uint(tok, GUEST_NUMA_MAX_CPUS - 1, &lo) ||
		    parse_uint(dash ? dash + 1 : tok, GUEST_NUMA_MAX_CPUS - 1, &hi) || hi < lo) {
			log_error("--numa '%s': cpus= takes vCPU numbers and ranges joined by ':', "
				  "e.g. cpus=0-1:4",
				  arg);
			return -1;
		}
		for (unsigned long c = lo; c <= hi; c++)
			n->cpus[c / 64] |= 1ULL << (c % 64);
	}
	return 0;
}

static int parse_key(struct guest_numa_node *n, char *key, char *val, const char *arg)
{
	unsigned long v;

	if (!strcmp(key, "cpus") && val && *val)
		return parse_cpus(n, val, arg);
	if (!strcmp(key, "memory")) {
		if (size_parse(val, &n->memory) || !n->memory) {
			log_error("--numa '%s': memory= takes a size such as 512M or 2G", arg);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "host-node") && !parse_uint(val, 63, &v)) {
		n->host_node = (int)v;
		return 0;
	}
	log_error("--numa '%s': write node=ID,cpus=LIST,memory=SIZE[,host-node=N]", arg);
	return -1;
}

int guest_numa_parse(struct guest_numa *g, char *spec, const char *arg)
{
	struct guest_numa_node n = {.host_node = -1};
	char *key, *val, *next;
	unsigned long id = 0;
	bool have_id = false;

	for (; spec && *spec; spec = next) {
		next = strchr(spec, ',');
		if (next)
			*next++ = '\0';
		key = spec;
		val = strchr(spec, '=');
		if (val)
			*val++ = '\0';
		if (!strcmp(key, "node") && !have_id) {
			if (parse_uint(val, GUEST_NUMA_MAX_NODES - 1, &id)) {
				log_error("--numa '%s': node= takes an ID from 0 to %d", arg,
					  GUEST_NUMA_MAX_NODES - 1);
				return -1;
			}
			have_id = true;
		} else if (parse_key(&n, key, val, arg)) {
			return -1;
		}
	}
	if (!have_id || !n.memory) {
		log_error("--numa '%s': write node=ID,cpus=LIST,memory=SIZE[,host-node=N]", arg);
		return -1;
	}
	if (g->node[id].defined) {
		log_error("--numa: node %lu is given twice: one --numa node=%lu,...", id, id);
		return -1;
	}
	n.defined = true;
	g->node[id] = n;
	if (id + 1 > g->nr_nodes)
		g->nr_nodes = (unsigned int)id + 1;
	return 0;
}

/* Every vCPU in exactly one node, none beyond --cpus. */
static int check_cpus(const struct guest_numa *g, unsigned int cpus)
{
	for (unsigned int c = 0; c < GUEST_NUMA_MAX_CPUS; c++) {
		int owner = -1;

		for (unsigned int i = 0; i < g->nr_nodes; i++) {
			if (!cpu_in(&g->node[i], c))
				continue;
			if (c >= cpus) {
				log_error(
					"--numa node=%u: vCPU %u does not exist (--cpus %u numbers "
					"them 0-%u)",
					i, c, cpus, cpus - 1);
				return -1;
			}
			if (owner >= 0) {
				log_error(
					"--numa: vCPU %u is in node %d and node %u: give each vCPU "
					"one node",
					c, owner, i);
				return -1;
			}
			owner = (int)i;
		}
		if (owner < 0 && c < cpus) {
			log_error("--numa: vCPU %u is in no node: add it to a node's cpus=", c);
			return -1;
		}
	}
	return 0;
}

int guest_numa_check(const struct guest_numa *g, unsigned int cpus, uint64_t memory)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < g->nr_nodes; i++) {
		if (!g->node[i].defined) {
			log_error("--numa: guest nodes are numbered from 0 up: node %u is missing",
				  i);
			return -1;
		}
		if (g->node[i].memory % NODE_UNIT) {
			log_error("--numa node=%u: memory must be a multiple of 2M", i);
			return -1;
		}
		sum += g->node[i].memory;
	}
	if (g->nr_nodes && sum != memory) {
		log_error("--numa: the nodes' memory adds up to %llu MiB but --memory is %llu "
			  "MiB: make them equal",
			  (unsigned long long)(sum >> 20), (unsigned long long)(memory >> 20));
		return -1;
	}
	return g->nr_nodes ? check_cpus(g, cpus) : 0;
}

int guest_numa_cpu_node(const struct guest_numa *g, unsigned int cpu)
{
	for (unsigned int i = 0; i < g->nr_nodes && cpu < GUEST_NUMA_MAX_CPUS; i++)
		if (cpu_in(&g->node[i], cpu))
			return (int)i;
	return -1;
}

/* RAM offset off lies at GPA off below the hole, at 4 GiB + (off - low_size) above. */
unsigned int guest_numa_ranges(const struct guest_numa *g, uint64_t low_size,
			       struct guest_numa_range out[GUEST_NUMA_MAX_RANGES])
{
	uint64_t off = 0;
	unsigned int n = 0;

	for (unsigned int i = 0; i < g->nr_nodes; i++) {
		uint64_t end = off + g->node[i].memory;

		if (off < low_size) {
			uint64_t stop = end < low_size ? end : low_size;

			out[n++] = (struct guest_numa_range){off, off, stop - off, i};
			off = stop;
		}
		if (off < end) {
			out[n++] = (struct guest_numa_range){GUEST_RAM_HIGH_ADDR + off - low_size,
							     off, end - off, i};
			off = end;
		}
	}
	return n;
}

unsigned int guest_numa_distance(const struct guest_numa *g, unsigned int i, unsigned int j,
				 int (*host_distance)(int a, int b))
{
	int a = g->node[i].host_node, b = g->node[j].host_node, d;

	if (i == j)
		return GUEST_NUMA_LOCAL;
	if (a < 0 || b < 0 || a == b)
		return GUEST_NUMA_REMOTE;
	d = host_distance(a, b);
	/* Linux ignores a SLIT whose remote entries are not above the local distance */
	return d > GUEST_NUMA_LOCAL && d < 255 ? (unsigned int)d : GUEST_NUMA_REMOTE;
}

int guest_numa_host_distance(int a, int b)
{
	return numa_available() < 0 ? 0 : numa_distance(a, b);
}

int guest_numa_host_check(const struct guest_numa *g)
{
	int max = numa_available() < 0 ? 0 : numa_max_node();

	for (unsigned int i = 0; i < g->nr_nodes; i++) {
		int h = g->node[i].host_node;

		if (h >= 0 &&
		    (h > max || !numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)h))) {
			log_error("--numa node=%u,host-node=%d: this host has no node %d (see "
				  "/sys/devices/system/node; the highest is %d): pick one it has",
				  i, h, h, max);
			return -1;
		}
	}
	return 0;
}

unsigned int guest_numa_binds(const struct guest_numa *g,
			      struct guest_ram_bind out[GUEST_NUMA_MAX_NODES])
{
	uint64_t off = 0;
	unsigned int n = 0;

	for (unsigned int i = 0; i < g->nr_nodes; off += g->node[i++].memory)
		if (g->node[i].host_node >= 0)
			out[n++] = (struct guest_ram_bind){off, g->node[i].memory,
							   g->node[i].host_node};
	return n;
}

/* "0-1,4" for the start line */
static void cpu_list(const struct guest_numa_node *n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned int c = 0; c < GUEST_NUMA_MAX_CPUS && used < len; c++) {
		unsigned int e = c;

		if (!cpu_in(n, c))
			continue;
		while (e + 1 < GUEST_NUMA_MAX_CPUS && cpu_in(n, e + 1))
			e++;
		used += (size_t)snprintf(out + used, len - used, e > c ? "%s%u-%u" : "%s%u",
					 used ? "," : "", c, e);
		c = e;
	}
}

void guest_numa_report(const struct guest_numa *g)
{
	for (unsigned int i = 0; i < g->nr_nodes; i++) {
		const struct guest_numa_node *n = &g->node[i];
		char cpus[128], host[64] = "not bound to a host node";

		cpu_list(n, cpus, sizeof(cpus));
		if (n->host_node >= 0)
			snprintf(host, sizeof(host), "on host node %d", n->host_node);
		log_info("numa: guest node %u: vCPUs %s, %llu MiB, %s", i, cpus[0] ? cpus : "none",
			 (unsigned long long)(n->memory >> 20), host);
	}
}

int guest_numa_run_on(const struct guest_numa *g, int cpu)
{
	int node = cpu < 0 ? -1 : guest_numa_cpu_node(g, (unsigned int)cpu);
	int host = node < 0 ? -1 : g->node[node].host_node;

	if (numa_available() < 0)
		return 0;
	if (numa_run_on_node(host)) {
		log_error("numa: cannot run vCPU %d on host node %d's CPUs: %s", cpu, host,
			  strerror(errno));
		return -1;
	}
	return 0;
}
