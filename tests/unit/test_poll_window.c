/* The busy-poll window's rule (virtio/poll_window.h): growth from 4 us by doubling up
 * to the most, no change when work came within it, back to nothing after a long wait,
 * never any polling with a most of 0. */
#include "tests/unit/check.h"
#include "virtio/poll_window.h"

static void test_grow_and_cap(void)
{
	struct poll_window w;

	poll_window_init(&w, 32);
	CHECK(w.ns == 0 && w.max_ns == 32000);
	poll_window_update(&w, 10000); /* came after 10 us: worth polling */
	CHECK(w.ns == 4000);
	poll_window_update(&w, 10000);
	CHECK(w.ns == 8000);
	poll_window_update(&w, 10000);
	CHECK(w.ns == 16000);
	poll_window_update(&w, 10000); /* within the window: the window is right */
	CHECK(w.ns == 16000);
	poll_window_update(&w, 20000);
	CHECK(w.ns == 32000);
	poll_window_update(&w, 31000);
	CHECK(w.ns == 32000); /* capped */
}

static void test_shrink(void)
{
	struct poll_window w;

	poll_window_init(&w, 32);
	poll_window_update(&w, 1000);
	poll_window_update(&w, 5000);
	CHECK(w.ns == 8000);
	poll_window_update(&w, 32000); /* at the most exactly: no growth */
	CHECK(w.ns == 8000);
	poll_window_update(&w, 1000000); /* a millisecond idle: polling cannot catch that */
	CHECK(w.ns == 0);
	poll_window_update(&w, 0); /* work already there */
	CHECK(w.ns == 0);
}

static void test_off(void)
{
	struct poll_window w;

	poll_window_init(&w, 0);
	for (int i = 0; i < 5; i++)
		poll_window_update(&w, 1000);
	CHECK(w.ns == 0 && w.max_ns == 0);
}

int main(void)
{
	test_grow_and_cap();
	test_shrink();
	test_off();
	return CHECK_DONE();
}
