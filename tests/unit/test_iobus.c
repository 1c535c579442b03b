#include "tests/unit/check.h"
#include "vmm/base/iobus.h"

#include <string.h>

static uint64_t last_off;
static int hits;

static void rd(void *opaque, uint64_t off, uint8_t *data, unsigned int size)
{
	last_off = off;
	hits++;
	memset(data, (int)(uintptr_t)opaque, size);
}

int main(void)
{
	struct iobus bus = {0};
	uint8_t d[4];
	struct io_region a = {.base = 0x100, .len = 8, .read = rd, .opaque = (void *)1};
	struct io_region b = {.base = 0x10, .len = 0x10, .read = rd, .opaque = (void *)2};
	struct io_region c = {.base = 0x200, .len = 1, .read = rd, .opaque = (void *)3};

	iobus_init(&bus);
	CHECK(iobus_register(&bus, &a) == 0);
	CHECK(iobus_register(&bus, &c) == 0);
	CHECK(iobus_register(&bus, &b) == 0); /* out of order: kept sorted */
	CHECK(iobus_register(&bus, &(struct io_region){.base = 0x107, .len = 2}) < 0);
	CHECK(iobus_register(&bus, &(struct io_region){.base = 0xf8, .len = 9}) < 0);
	CHECK(iobus_register(&bus, &(struct io_region){.base = 0x300, .len = 0}) < 0);
	CHECK(iobus_register(&bus, &(struct io_region){.base = UINT64_MAX, .len = 2}) < 0);

	CHECK(iobus_read(&bus, 0x104, d, 4) && d[0] == 1 && last_off == 4);
	CHECK(iobus_read(&bus, 0x1f, d, 1) && d[0] == 2 && last_off == 0xf);
	CHECK(iobus_read(&bus, 0x200, d, 1) && d[0] == 3);
	hits = 0;
	CHECK(!iobus_read(&bus, 0x106, d, 4)); /* straddles the end */
	CHECK(!iobus_read(&bus, 0x108, d, 1));
	CHECK(!iobus_read(&bus, 0x0, d, 1));
	CHECK(!iobus_write(&bus, 0x100, d, 1)); /* no write handler */
	CHECK(hits == 0);
	CHECK(iobus_unregister(&bus, 0x100, (void *)2) < 0); /* not its owner */
	CHECK(iobus_unregister(&bus, 0x100, (void *)1) == 0);
	CHECK(!iobus_read(&bus, 0x104, d, 1));
	CHECK(iobus_read(&bus, 0x200, d, 1) && d[0] == 3);
	iobus_destroy(&bus);
	return CHECK_DONE();
}
