/*
 * Address decoding for accesses that exit to userspace: one bus for port I/O, one for
 * MMIO. Lookups are a binary search over sorted, non-overlapping ranges. Ranges may
 * come and go while vCPUs run (a guest moving a PCI BAR): the table is guarded by a
 * rwlock, and a handler runs after the lock is dropped, so a handler may itself
 * register or unregister ranges (a config write that moves a BAR).
 */
#ifndef CONDUIT_IOBUS_H
#define CONDUIT_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct io_region {
	uint64_t base;
	uint64_t len;
	/* offset is relative to base; size is 1, 2, 4 or 8 bytes */
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size);
	void *opaque;
};

struct iobus {
	pthread_rwlock_t lock;
	struct io_region *region;
	size_t count;
};

void iobus_init(struct iobus *bus);
int iobus_register(struct iobus *bus, const struct io_region *r);
int iobus_unregister(struct iobus *bus, uint64_t base, const void *opaque);
bool iobus_read(struct iobus *bus, uint64_t addr, uint8_t *data, unsigned int size);
bool iobus_write(struct iobus *bus, uint64_t addr, const uint8_t *data, unsigned int size);
void iobus_destroy(struct iobus *bus);

#endif
