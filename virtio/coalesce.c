#include "virtio/coalesce.h"

bool coalesce_hold(struct coalesce *c, unsigned int waiting, unsigned int inflight, uint64_t now)
{
	if (!c->max_ns || !waiting || inflight <= waiting) {
		c->since = 0;
		return false;
	}
	if (!c->since)
		c->since = now;
	if (now - c->since < c->max_ns)
		return true;
	c->since = 0;
	return false;
}

uint64_t coalesce_left(const struct coalesce *c, uint64_t now)
{
	uint64_t end = c->since + c->max_ns;

	if (!c->since)
		return 0;
	return end > now ? end - now : 1;
}

uint64_t coalesce_sleep(const struct coalesce *c, unsigned int inflight, uint64_t now)
{
	uint64_t left = coalesce_left(c, now);

	if (!coalesce_kicks_off(c, inflight))
		return left;
	return left && left < c->max_ns ? left : c->max_ns;
}
