/* The BIOS e820 memory map handed to Linux in the zero page. */
#ifndef CONDUIT_E820_H
#define CONDUIT_E820_H

#include <asm/bootparam.h>
#include <stdint.h>

#define E820_RAM      1
#define E820_RESERVED 2

struct e820_map {
	struct boot_e820_entry entry[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned int count;
};

void e820_build(struct e820_map *map, uint64_t low_size, uint64_t high_size);
int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type);

#endif
