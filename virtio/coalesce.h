/*
 * Interrupt coalescing for a queue served by an I/O thread, in the manner of NVMe's
 * Interrupt Coalescing feature (Feature Identifier 08h: an aggregation time and an
 * aggregation threshold) and a NIC's rx-usecs: the interrupt for used entries pushed
 * while more requests of the queue are still under way waits, so one interrupt
 * announces several.
 *  - it is held only while more requests are under way than entries wait for it (the
 *    threshold adapts to the queue depth: at depth 2 or less nothing is ever held, at
 *    depth 32 about half the queue is announced at once);
 *  - it goes at the latest max_ns after the first held entry was pushed.
 * The guest's kicks are coalesced the same way: while requests are under way the
 * thread sleeps with them off (§2.7.10 lets the device ask for none), as their
 * completions wake it and it looks at the available ring then, and at the latest max_ns
 * later: that is the longest a request made meanwhile waits to be seen. That pays only
 * for a guest that submits while requests are under way, so kicks go off once it was
 * seen doing so (a kick, or a poll that found a request, with others under way) and
 * come back on when a sleep of max_ns with kicks off ends with the ring still empty (the
 * guest waits for its requests, as at depth 1, which so never waits for a timer).
 * Under a nested hypervisor every interrupt and kick is several costly exits for the
 * guest, and a one-vCPU guest at depth 32 spends its time taking them (README,
 * tools/bench-blk).
 */
#ifndef CONDUIT_VIRTIO_COALESCE_H
#define CONDUIT_VIRTIO_COALESCE_H

#include <stdbool.h>
#include <stdint.h>

/* As measured with tools/bench-blk (README). */
#define COALESCE_DEFAULT_US 300

struct coalesce {
	uint64_t max_ns; /* coalesce-us= in ns; 0: never hold */
	uint64_t since;	 /* when the first held entry was pushed; 0: none held */
	bool kicks_pay;	 /* the guest submits while requests are under way */
};

static inline void coalesce_init(struct coalesce *c, unsigned int max_us)
{
	*c = (struct coalesce){.max_ns = (uint64_t)max_us * 1000};
}

/* At `now`, with `waiting` used entries not announced yet and `inflight` requests under
 * way: true to hold the interrupt; false to send it (the hold is over then). */
bool coalesce_hold(struct coalesce *c, unsigned int waiting, unsigned int inflight, uint64_t now);

/* How long a held interrupt may still wait (at least 1 ns); 0 when none is held. */
uint64_t coalesce_left(const struct coalesce *c, uint64_t now);

/* With `inflight` requests under way: true to sleep with kicks off, false to turn them
 * on before sleeping. */
static inline bool coalesce_kicks_off(const struct coalesce *c, unsigned int inflight)
{
	return c->max_ns && inflight && c->kicks_pay;
}

/* A request came (a kick, or a poll found one) while `inflight` others were under way. */
static inline void coalesce_request_seen(struct coalesce *c, unsigned int inflight)
{
	if (inflight)
		c->kicks_pay = true;
}

/* A sleep that timed out after `slept_ns` with kicks off; `found`: the ring has requests. */
static inline void coalesce_looked(struct coalesce *c, uint64_t slept_ns, bool found)
{
	if (slept_ns >= c->max_ns && !found)
		c->kicks_pay = false;
}

/* How long the thread may sleep at `now` with `inflight` requests under way: until a
 * held interrupt is due, and with kicks off max_ns at the most; 0: until work comes. */
uint64_t coalesce_sleep(const struct coalesce *c, unsigned int inflight, uint64_t now);

#endif
