/* The device-local NUMA decision (--numa auto) for every mix of function nodes: one
 * node, all agreeing, a majority, a tie (the lowest node), unknown nodes, none at all,
 * a one-node host; and the start line's reason naming the functions. */
#include "tests/unit/check.h"
#include "vmm/placement.h"

#include <string.h>

static const char *const bdfs[] = {"0000:00:12.0", "0000:00:04.1", "0000:00:03.0", "0000:00:12.2"};

static struct placement decide(const int *nodes, unsigned int n, unsigned int host_nodes)
{
	struct placement p;

	placement_decide(bdfs, nodes, n, host_nodes, &p);
	return p;
}

static void test_agree(void)
{
	struct placement p = decide((const int[]){1}, 1, 2);

	CHECK(p.node == 1 && !p.split);
	CHECK(!strcmp(p.why, "where its assigned function is: 0000:00:12.0 (node 1)"));
	p = decide((const int[]){1, 1}, 2, 4);
	CHECK(p.node == 1 && !p.split &&
	      strstr(p.why, "functions are: 0000:00:12.0 (node 1), "
			    "0000:00:04.1 (node 1)"));
}

static void test_majority_and_tie(void)
{
	struct placement p = decide((const int[]){0, 1, 1}, 3, 2);

	CHECK(p.node == 1 && p.split);
	CHECK(strstr(p.why, "where 2 of its 3 assigned functions are; they disagree: "
			    "0000:00:12.0 (node 0), 0000:00:04.1 (node 1), 0000:00:03.0 (node 1)"));
	p = decide((const int[]){3, 2}, 2, 4);
	CHECK(p.node == 2 && p.split); /* a tie: the lowest node */
	p = decide((const int[]){1, 0, 1, 0}, 4, 2);
	CHECK(p.node == 0 && p.split);
}

static void test_unknown(void)
{
	struct placement p = decide((const int[]){-1, 1}, 2, 2);

	CHECK(p.node == 1 && !p.split); /* a function with no node does not vote */
	p = decide((const int[]){-1, -1}, 2, 2);
	CHECK(p.node == -1 && strstr(p.why, "no assigned function has a NUMA node"));
	p = decide(NULL, 0, 2);
	CHECK(p.node == -1 && strstr(p.why, "no assigned functions"));
	p = decide((const int[]){70}, 1, 2); /* beyond any node conduit knows */
	CHECK(p.node == -1);
}

static void test_one_node_host(void)
{
	struct placement p = decide((const int[]){0}, 1, 1);

	CHECK(p.node == -1 && !strcmp(p.why, "the host has one NUMA node"));
}

int main(void)
{
	test_agree();
	test_majority_and_tie();
	test_unknown();
	test_one_node_host();
	return CHECK_DONE();
}
