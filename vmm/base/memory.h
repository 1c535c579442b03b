/* Guest RAM: one mapping (anonymous, or a memfd) split around the MMIO hole into two
 * KVM memory slots: up to GUEST_RAM_LOW_MAX bytes at GPA 0, the rest at
 * GUEST_RAM_HIGH_ADDR. vmm/x86/layout.h builds the rest of the address map around it. */
#ifndef CONDUIT_MEMORY_H
#define CONDUIT_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_RAM_LOW_MAX   0xc0000000ULL  /* 3 GiB: the 32-bit MMIO hole begins */
#define GUEST_RAM_HIGH_ADDR 0x100000000ULL /* 4 GiB */

struct guest_ram {
	uint8_t *host; /* low part, then high part, contiguous */
	uint64_t size;
	uint64_t low_size;  /* bytes at GPA 0 */
	uint64_t high_size; /* bytes at GPA 4 GiB */
	int fd;		    /* the memfd, or -1 for anonymous memory */
};

#define GUEST_RAM_HUGEPAGES 1U /* 2M hugetlb pages (a memfd) */
#define GUEST_RAM_SHARED    2U /* a memfd mapped shared, not anonymous memory */
#define GUEST_RAM_PREFAULT  4U /* every page allocated and mapped writable at start */

void guest_ram_layout(uint64_t size, uint64_t *low_size, uint64_t *high_size);
/* Bytes [offset, offset + size) of guest RAM, in RAM order (low part first), taken
 * from host NUMA node host_node only (MPOL_BIND, set before any page is faulted in). */
struct guest_ram_bind {
	uint64_t offset, size;
	int host_node;
};

int guest_ram_create(struct guest_ram *ram, uint64_t size, unsigned int flags);
int guest_ram_create_bound(struct guest_ram *ram, uint64_t size, unsigned int flags,
			   const struct guest_ram_bind *binds, unsigned int nr_binds);
int guest_ram_register(const struct guest_ram *ram, int vm_fd);
void guest_ram_destroy(struct guest_ram *ram);
void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len);

#endif
