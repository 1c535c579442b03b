/* The device-local NUMA decision (--numa auto) for every mix of function nodes: one
 * node, all agreeing, a majority, a tie (the lowest node), unknown nodes, none at all,
 * a one-node host; the start line's reason naming the functions; and which threads a
 * fake /proc offers as vhost-net workers to be moved. */
#include "tests/common/fake_tree.h"
#include "tests/unit/check.h"
#include "vmm/placement.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Workers are found by name, vhost-<conduit's pid>: this test's own thread stands in
 * for one (moving it to its own CPUs changes nothing); a worker of another process and
 * other threads are left alone; one that is gone by now is a warning, not a move. */
static void test_vhost_workers(void)
{
	char root[] = "/tmp/conduit-placement-XXXXXX";
	char name[32];

	CHECK(mkdtemp(root));
	snprintf(name, sizeof(name), "vhost-%d\n", (int)getpid());
	tree_mkdirs(tree_at("%s/proc/%d", root, (int)gettid()));
	tree_put_text(tree_at("%s/proc/%d/comm", root, (int)gettid()), name);
	tree_mkdirs(tree_at("%s/proc/1", root));
	tree_put_text(tree_at("%s/proc/1/comm", root), "init\n");
	tree_mkdirs(tree_at("%s/proc/%d", root, (int)getppid()));
	tree_put_text(tree_at("%s/proc/%d/comm", root, (int)getppid()), "vhost-1\n");
	tree_mkdirs(tree_at("%s/proc/2147483000", root));
	tree_put_text(tree_at("%s/proc/2147483000/comm", root), name);
	tree_mkdirs(tree_at("%s/proc/self", root));
	CHECK(placement_vhost_workers(root) == 1);
	tree_remove(root);
	CHECK(placement_vhost_workers(root) == 0); /* no /proc at all */
}

int main(void)
{
	test_agree();
	test_majority_and_tie();
	test_unknown();
	test_one_node_host();
	test_vhost_workers();
	return CHECK_DONE();
}
