/* Guest RAM: one memfd split around the MMIO hole into two KVM memory slots. */
#ifndef CONDUIT_MEMORY_H
#define CONDUIT_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_ram {
	uint8_t *host; /* low part, then high part, contiguous */
	uint64_t size;
	uint64_t low_size;  /* bytes at GPA 0 */
	uint64_t high_size; /* bytes at GPA 4 GiB */
	int fd;
};

void guest_ram_layout(uint64_t size, uint64_t *low_size, uint64_t *high_size);
int guest_ram_create(struct guest_ram *ram, uint64_t size, bool hugepages);
int guest_ram_register(const struct guest_ram *ram, int vm_fd);
void guest_ram_destroy(struct guest_ram *ram);
void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len);

#endif
