/*
 * How long an I/O thread busy-polls for work before it sleeps, adapted after every
 * wait by QEMU's rule for its AioContext (util/aio-posix.c, adjust_polling_time):
 *  - the work came within the window (waited <= window): the window is right;
 *  - it came later than the most the thread may poll: polling could not have caught
 *    it, so the window drops to nothing (QEMU's default poll-shrink, 0);
 *  - it came later than the window but within the most: the window grows, from 4 us,
 *    doubling (QEMU's default poll-grow), up to the most.
 * An idle device thus polls nothing after its first long sleep, and a busy one polls
 * about as long as its requests take to come.
 */
#ifndef CONDUIT_VIRTIO_POLL_WINDOW_H
#define CONDUIT_VIRTIO_POLL_WINDOW_H

#include <stdint.h>

#define POLL_WINDOW_START_NS 4000
/* QEMU's poll-max-ns default (32768 ns); tools/bench-blk measured it against 0 (README). */
#define POLL_WINDOW_DEFAULT_US 32

struct poll_window {
	uint64_t ns;	 /* poll this long next time; 0: sleep at once */
	uint64_t max_ns; /* poll-us= in ns; 0: never poll */
};

static inline void poll_window_init(struct poll_window *w, unsigned int max_us)
{
	*w = (struct poll_window){.max_ns = (uint64_t)max_us * 1000};
}

/* After a wait for work of waited_ns (polling and sleeping together). */
void poll_window_update(struct poll_window *w, uint64_t waited_ns);

#endif
