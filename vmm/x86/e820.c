/*
 * Conventional memory ends at the EBDA; 0x9fc00..1 MiB is the legacy BIOS area (EBDA,
 * VGA window, option ROMs, our ACPI tables) and must be reserved so Linux neither uses
 * it as RAM nor maps it over. RAM restarts at 1 MiB up to the MMIO hole and continues
 * at 4 GiB. Later devices (ECAM) add reserved ranges with e820_add().
 */
#include "vmm/x86/e820.h"
#include "vmm/x86/layout.h"

#include <string.h>

int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
	if (map->count >= E820_MAX_ENTRIES_ZEROPAGE)
		return -1;
	map->entry[map->count++] = (struct boot_e820_entry){
		.addr = addr,
		.size = size,
		.type = type,
	};
	return 0;
}

void e820_build(struct e820_map *map, uint64_t low_size, uint64_t high_size)
{
	memset(map, 0, sizeof(*map));
	e820_add(map, 0, EBDA_ADDR, E820_RAM);
	e820_add(map, EBDA_ADDR, KERNEL_ADDR - EBDA_ADDR, E820_RESERVED);
	if (low_size > KERNEL_ADDR)
		e820_add(map, KERNEL_ADDR, low_size - KERNEL_ADDR, E820_RAM);
	if (high_size)
		e820_add(map, HIGH_RAM_ADDR, high_size, E820_RAM);
}
