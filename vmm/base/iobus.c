#include "vmm/base/iobus.h"

#include <stdlib.h>
#include <string.h>

static bool overlaps(const struct io_region *a, const struct io_region *b)
{
	return a->base < b->base + b->len && b->base < a->base + a->len;
}

void iobus_init(struct iobus *bus)
{
	pthread_rwlock_init(&bus->lock, NULL);
	bus->region = NULL;
	bus->count = 0;
}

static int insert(struct iobus *bus, const struct io_region *r)
{
	struct io_region *grown;
	size_t i, at = bus->count;

	if (!r->len || r->base + r->len < r->base)
		return -1;
	for (i = 0; i < bus->count; i++) {
		if (overlaps(&bus->region[i], r))
			return -1;
		if (at == bus->count && bus->region[i].base > r->base)
			at = i;
	}
	grown = realloc(bus->region, (bus->count + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	bus->region = grown;
	memmove(&grown[at + 1], &grown[at], (bus->count - at) * sizeof(*grown));
	grown[at] = *r;
	bus->count++;
	return 0;
}

int iobus_register(struct iobus *bus, const struct io_region *r)
{
	int ret;

	pthread_rwlock_wrlock(&bus->lock);
	ret = insert(bus, r);
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* Removes the range starting at base that belongs to opaque. */
int iobus_unregister(struct iobus *bus, uint64_t base, const void *opaque)
{
	size_t i;
	int ret = -1;

	pthread_rwlock_wrlock(&bus->lock);
	for (i = 0; i < bus->count; i++) {
		if (bus->region[i].base == base && bus->region[i].opaque == opaque) {
			memmove(&bus->region[i], &bus->region[i + 1],
				(bus->count - i - 1) * sizeof(bus->region[0]));
			bus->count--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* An access must fall wholly inside one region; one that straddles is unclaimed. */
static const struct io_region *find(const struct iobus *bus, uint64_t addr, unsigned int size)
{
	size_t lo = 0, hi = bus->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct io_region *r = &bus->region[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			return size <= r->len - (addr - r->base) ? r : NULL;
		}
	}
	return NULL;
}

/* Copies the matching region out under the lock; the handler runs without it. */
static bool lookup(struct iobus *bus, uint64_t addr, unsigned int size, struct io_region *out)
{
	const struct io_region *r;

	pthread_rwlock_rdlock(&bus->lock);
	r = find(bus, addr, size);
	if (r)
		*out = *r;
	pthread_rwlock_unlock(&bus->lock);
	return r != NULL;
}

bool iobus_read(struct iobus *bus, uint64_t addr, uint8_t *data, unsigned int size)
{
	struct io_region r;

	if (!lookup(bus, addr, size, &r) || !r.read)
		return false;
	r.read(r.opaque, addr - r.base, data, size);
	return true;
}

bool iobus_write(struct iobus *bus, uint64_t addr, const uint8_t *data, unsigned int size)
{
	struct io_region r;

	if (!lookup(bus, addr, size, &r) || !r.write)
		return false;
	r.write(r.opaque, addr - r.base, data, size);
	return true;
}

void iobus_destroy(struct iobus *bus)
{
	pthread_rwlock_destroy(&bus->lock);
	free(bus->region);
	bus->region = NULL;
	bus->count = 0;
}
