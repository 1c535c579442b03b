/* Interrupt coalescing's rule (virtio/coalesce.h): held only while more requests are
 * under way than entries wait, never longer than the most, never at all with 0; kicks
 * off only while requests are under way and the guest submits meanwhile, the ring
 * looked at within the most. */
#include "tests/unit/check.h"
#include "virtio/coalesce.h"

#define US 1000ULL

static void test_off(void)
{
	struct coalesce c;

	coalesce_init(&c, 0);
	CHECK(!coalesce_hold(&c, 1, 31, 1000 * US));
	CHECK(coalesce_left(&c, 1000 * US) == 0);
}

/* Depth 1 and 2: the last request under way, or one more, is never waited for. */
static void test_shallow_never_held(void)
{
	struct coalesce c;

	coalesce_init(&c, 100);
	CHECK(!coalesce_hold(&c, 1, 0, 1000 * US));
	CHECK(!coalesce_hold(&c, 1, 1, 1000 * US));
	CHECK(!coalesce_hold(&c, 0, 5, 1000 * US));
	CHECK(coalesce_left(&c, 1000 * US) == 0);
}

/* Depth 32: held while fewer than the requests under way wait, then sent. */
static void test_half_the_queue(void)
{
	struct coalesce c;

	coalesce_init(&c, 100);
	CHECK(coalesce_hold(&c, 1, 31, 1000 * US));
	CHECK(coalesce_left(&c, 1010 * US) == 90 * US);
	CHECK(coalesce_hold(&c, 15, 17, 1020 * US));
	CHECK(!coalesce_hold(&c, 16, 16, 1030 * US));
	CHECK(coalesce_left(&c, 1030 * US) == 0);
	/* the next hold counts from its own first entry */
	CHECK(coalesce_hold(&c, 1, 31, 2000 * US));
	CHECK(coalesce_left(&c, 2000 * US) == 100 * US);
}

/* The most: an entry waits max_ns at most, whatever is still under way. */
static void test_deadline(void)
{
	struct coalesce c;

	coalesce_init(&c, 100);
	CHECK(coalesce_hold(&c, 1, 31, 1000 * US));
	CHECK(coalesce_hold(&c, 2, 30, 1099 * US));
	CHECK(coalesce_left(&c, 1099 * US) == 1 * US);
	CHECK(coalesce_left(&c, 1200 * US) == 1); /* overdue: at once */
	CHECK(!coalesce_hold(&c, 2, 30, 1100 * US));
	CHECK(coalesce_left(&c, 1100 * US) == 0);
}

/* Kicks: off while requests are under way once the guest was seen submitting while
 * some were; never with 0. */
static void test_kicks(void)
{
	struct coalesce c;

	coalesce_init(&c, 0);
	coalesce_request_seen(&c, 5);
	CHECK(!coalesce_kicks_off(&c, 5));
	CHECK(coalesce_sleep(&c, 5, 1000 * US) == 0);
	coalesce_init(&c, 100);
	CHECK(!coalesce_kicks_off(&c, 1)); /* not seen yet */
	coalesce_request_seen(&c, 0);	   /* depth 1: nothing else under way */
	CHECK(!coalesce_kicks_off(&c, 1));
	coalesce_request_seen(&c, 3);
	CHECK(coalesce_kicks_off(&c, 1));
	CHECK(!coalesce_kicks_off(&c, 0));
	CHECK(coalesce_sleep(&c, 0, 1000 * US) == 0);
	CHECK(coalesce_sleep(&c, 1, 1000 * US) == 100 * US);
}

/* A look after a sleep with kicks off: requests found, or a short sleep (a held
 * interrupt fell due), leave them off; the whole max_ns with none turns them on. */
static void test_looks(void)
{
	struct coalesce c;

	coalesce_init(&c, 100);
	coalesce_request_seen(&c, 1);
	coalesce_looked(&c, 100 * US, true);
	CHECK(coalesce_kicks_off(&c, 1));
	coalesce_looked(&c, 40 * US, false);
	CHECK(coalesce_kicks_off(&c, 1));
	coalesce_looked(&c, 100 * US, false);
	CHECK(!coalesce_kicks_off(&c, 1));
	coalesce_request_seen(&c, 2);
	CHECK(coalesce_kicks_off(&c, 1));
}

/* Sleeping with kicks off and an interrupt held: woken by whichever is due first. */
static void test_sleep_until_due(void)
{
	struct coalesce c;

	coalesce_init(&c, 100);
	coalesce_request_seen(&c, 1);
	CHECK(coalesce_hold(&c, 1, 31, 1000 * US));
	CHECK(coalesce_sleep(&c, 31, 1060 * US) == 40 * US);
	CHECK(coalesce_sleep(&c, 31, 1200 * US) == 1); /* overdue: at once */
	CHECK(!coalesce_hold(&c, 16, 16, 1200 * US));
	CHECK(coalesce_sleep(&c, 16, 1200 * US) == 100 * US);
}

int main(void)
{
	test_off();
	test_shallow_never_held();
	test_half_the_queue();
	test_deadline();
	test_kicks();
	test_looks();
	test_sleep_until_due();
	return CHECK_DONE();
}
