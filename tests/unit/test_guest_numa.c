/*
 * Guest NUMA topology: how RAM is shared out to the nodes in guest physical ranges
 * (around the MMIO hole) and in RAM offsets for the host bindings, the SLIT distances,
 * and the host checks on this machine's real nodes (libnuma); the nodes really bound
 * with mbind, read back with get_mempolicy.
 */
#include "tests/unit/check.h"
#include "vmm/guest_numa.h"

#include <numa.h>
#include <numaif.h>
#include <string.h>

#define MIB (1ULL << 20)

static struct guest_numa two_nodes(uint64_t m0, uint64_t m1, int h0, int h1)
{
	struct guest_numa g = {.nr_nodes = 2};

	g.node[0] = (struct guest_numa_node){.defined = true, .memory = m0, .host_node = h0};
	g.node[1] = (struct guest_numa_node){.defined = true, .memory = m1, .host_node = h1};
	g.node[0].cpus[0] = 0x5; /* vCPUs 0 and 2 */
	g.node[1].cpus[0] = 0xa;
	return g;
}

/* 4 GiB of RAM: 3 GiB below the hole. Node 0 takes 1 GiB; node 1 the other 2 GiB below
 * and 1 GiB at 4 GiB. */
static void test_ranges(void)
{
	struct guest_numa g = two_nodes(1024 * MIB, 3072 * MIB, -1, 1);
	struct guest_numa_range r[GUEST_NUMA_MAX_RANGES];
	struct guest_ram_bind b[GUEST_NUMA_MAX_NODES];

	CHECK(guest_numa_ranges(&g, 3072 * MIB, r) == 3);
	CHECK(r[0].gpa == 0 && r[0].offset == 0 && r[0].size == 1024 * MIB && r[0].node == 0);
	CHECK(r[1].gpa == 1024 * MIB && r[1].size == 2048 * MIB && r[1].node == 1);
	CHECK(r[2].gpa == 4096 * MIB && r[2].offset == 3072 * MIB && r[2].size == 1024 * MIB &&
	      r[2].node == 1);
	/* only bound nodes get a binding, at their RAM offset */
	CHECK(guest_numa_binds(&g, b) == 1);
	CHECK(b[0].offset == 1024 * MIB && b[0].size == 3072 * MIB && b[0].host_node == 1);
	/* all below the hole: one range each */
	g = two_nodes(256 * MIB, 256 * MIB, 0, 0);
	CHECK(guest_numa_ranges(&g, 512 * MIB, r) == 2);
	CHECK(r[1].gpa == 256 * MIB && r[1].size == 256 * MIB);
	CHECK(guest_numa_binds(&g, b) == 2 && b[1].offset == 256 * MIB);
	/* a node entirely above the hole */
	g = two_nodes(3072 * MIB, 512 * MIB, -1, -1);
	CHECK(guest_numa_ranges(&g, 3072 * MIB, r) == 2);
	CHECK(r[1].gpa == 4096 * MIB && r[1].offset == 3072 * MIB && r[1].node == 1);
	CHECK(guest_numa_cpu_node(&g, 2) == 0 && guest_numa_cpu_node(&g, 3) == 1);
	CHECK(guest_numa_cpu_node(&g, 4) == -1);
}

static int fake_distance(int a, int b)
{
	return a == b ? 10 : 32;
}

static int bad_distance(int a, int b)
{
	(void)a;
	(void)b;
	return 10;
}

static void test_distance(void)
{
	struct guest_numa g = two_nodes(256 * MIB, 256 * MIB, 0, 1);

	CHECK(guest_numa_distance(&g, 0, 0, fake_distance) == 10);
	CHECK(guest_numa_distance(&g, 0, 1, fake_distance) == 32);
	CHECK(guest_numa_distance(&g, 1, 0, bad_distance) == 20); /* Linux would drop it */
	g.node[1].host_node = 0;
	CHECK(guest_numa_distance(&g, 0, 1, fake_distance) == 20);
	g.node[1].host_node = -1;
	CHECK(guest_numa_distance(&g, 1, 0, fake_distance) == 20);
}

/* This machine's nodes: the highest exists, one past it does not. */
static void test_host(void)
{
	int max = numa_available() < 0 ? 0 : numa_max_node();
	struct guest_numa g = two_nodes(256 * MIB, 256 * MIB, 0, max);

	CHECK(guest_numa_host_check(&g) == 0);
	g.node[1].host_node = max + 1;
	CHECK(guest_numa_host_check(&g) == -1);
}

/* Guest RAM bound per node: get_mempolicy on each part says MPOL_BIND to that node. */
static void test_bind(void)
{
	struct guest_numa g = two_nodes(4 * MIB, 4 * MIB, -1, 0);
	struct guest_ram_bind b[GUEST_NUMA_MAX_NODES];
	unsigned int n = guest_numa_binds(&g, b);
	struct guest_ram ram;
	unsigned long mask = 0;
	int mode = -1;

	if (numa_available() < 0) {
		printf("no NUMA support in this kernel: binding not tested\n");
		return;
	}
	CHECK(guest_ram_create_bound(&ram, 8 * MIB, GUEST_RAM_SHARED | GUEST_RAM_PREFAULT, b, n) ==
	      0);
	CHECK(get_mempolicy(&mode, &mask, 64, ram.host + 5 * MIB, MPOL_F_ADDR) == 0);
	CHECK(mode == MPOL_BIND && mask == 1);
	CHECK(get_mempolicy(&mode, &mask, 64, ram.host, MPOL_F_ADDR) == 0 && mode == MPOL_DEFAULT);
	guest_ram_destroy(&ram);
	/* a node that does not exist: mbind refuses, nothing is left mapped */
	b[0].host_node = numa_max_node() + 1;
	CHECK(guest_ram_create_bound(&ram, 8 * MIB, GUEST_RAM_SHARED, b, n) == -1 && !ram.host);
}

int main(void)
{
	test_ranges();
	test_distance();
	test_host();
	test_bind();
	return CHECK_DONE();
}
