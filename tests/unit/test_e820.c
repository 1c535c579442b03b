#include "tests/unit/check.h"
#include "vmm/base/memory.h"
#include "vmm/x86/e820.h"
#include "vmm/x86/layout.h"

static void test_small_guest(void)
{
	struct e820_map m;
	uint64_t low, high;

	guest_ram_layout(512ULL << 20, &low, &high);
	CHECK(low == 512ULL << 20 && high == 0);
	e820_build(&m, low, high);
	CHECK(m.count == 3);
	CHECK(m.entry[0].addr == 0 && m.entry[0].size == EBDA_ADDR && m.entry[0].type == E820_RAM);
	CHECK(m.entry[1].addr == EBDA_ADDR && m.entry[1].type == E820_RESERVED);
	CHECK(m.entry[1].addr + m.entry[1].size == KERNEL_ADDR);
	CHECK(m.entry[2].addr == KERNEL_ADDR && m.entry[2].size == (512ULL << 20) - KERNEL_ADDR);
}

static void test_large_guest_splits_at_hole(void)
{
	struct e820_map m;
	uint64_t low, high, ram = 0, i;

	guest_ram_layout(8ULL << 30, &low, &high);
	CHECK(low == MMIO_HOLE_ADDR && high == (8ULL << 30) - MMIO_HOLE_ADDR);
	e820_build(&m, low, high);
	CHECK(m.count == 4);
	CHECK(m.entry[3].addr == HIGH_RAM_ADDR && m.entry[3].size == high);
	for (i = 0; i < m.count; i++) {
		if (m.entry[i].type == E820_RAM)
			ram += m.entry[i].size;
		/* nothing may sit in the MMIO hole */
		CHECK(m.entry[i].addr + m.entry[i].size <= MMIO_HOLE_ADDR ||
		      m.entry[i].addr >= HIGH_RAM_ADDR);
		/* sorted and non-overlapping */
		if (i)
			CHECK(m.entry[i - 1].addr + m.entry[i - 1].size <= m.entry[i].addr);
	}
	/* all RAM but the legacy area below 1 MiB is given to the guest */
	CHECK(ram == (8ULL << 30) - (KERNEL_ADDR - EBDA_ADDR));
}

static void test_full_table(void)
{
	struct e820_map m;
	unsigned int i;

	e820_build(&m, 64 << 20, 0);
	for (i = m.count; i < E820_MAX_ENTRIES_ZEROPAGE; i++)
		CHECK(e820_add(&m, 1ULL << 40 | (uint64_t)i << 20, 4096, E820_RESERVED) == 0);
	CHECK(e820_add(&m, 1ULL << 41, 4096, E820_RESERVED) < 0);
	CHECK(m.count == E820_MAX_ENTRIES_ZEROPAGE);
}

static void test_guest_ram_ptr_bounds(void)
{
	struct guest_ram ram = {.host = (uint8_t *)0x10000,
				.low_size = 1 << 20,
				.high_size = 1 << 20,
				.size = 2 << 20};

	CHECK(guest_ram_ptr(&ram, 0, 1 << 20) == ram.host);
	CHECK(guest_ram_ptr(&ram, 1, 1 << 20) == NULL);
	CHECK(guest_ram_ptr(&ram, (1 << 20) - 1, 1) != NULL);
	CHECK(guest_ram_ptr(&ram, 1 << 20, 1) == NULL); /* hole */
	CHECK(guest_ram_ptr(&ram, HIGH_RAM_ADDR, 1) == ram.host + (1 << 20));
	CHECK(guest_ram_ptr(&ram, HIGH_RAM_ADDR + (1 << 20) - 4, 8) == NULL);
	CHECK(guest_ram_ptr(&ram, HIGH_RAM_ADDR + 8, UINT64_MAX) == NULL);
	CHECK(guest_ram_ptr(&ram, UINT64_MAX, 2) == NULL);
}

int main(void)
{
	test_small_guest();
	test_large_guest_splits_at_hole();
	test_full_table();
	test_guest_ram_ptr_bounds();
	return CHECK_DONE();
}
