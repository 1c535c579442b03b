/* Direct boot of a Linux bzImage through the 64-bit boot protocol. */
#ifndef CONDUIT_BOOT_H
#define CONDUIT_BOOT_H

#include "vmm/base/memory.h"
#include "vmm/x86/e820.h"

#include <stdint.h>

struct boot_params;

struct boot_request {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t rsdp_addr;
	const struct e820_map *e820;
};

int boot_load_linux(const struct guest_ram *ram, const struct boot_request *req);
int boot_setup_bsp(int vcpu_fd);
int boot_place_initrd(const struct guest_ram *ram, uint64_t kernel_end, uint32_t addr_max,
		      uint64_t size, uint64_t *addr);

#endif
