#include "vmm/base/memslot.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

void memslots_init(struct memslots *s, int vm_fd, int kvm_nr_slots)
{
	memset(s, 0, sizeof(*s));
	s->vm_fd = vm_fd;
	s->limit = kvm_nr_slots > 0 && kvm_nr_slots < MEMSLOT_MAX ? (unsigned int)kvm_nr_slots
								  : MEMSLOT_MAX;
	pthread_mutex_init(&s->lock, NULL);
}

static int slot_set(struct memslots *s, unsigned int slot, uint64_t gpa, uint64_t size, void *host,
		    bool readonly)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* Maps [gpa, gpa + size) to host memory; returns the slot, or -1 after a log line. In a
 * read-only slot the guest's writes exit to userspace as MMIO. */
int memslot_map(struct memslots *s, uint64_t gpa, uint64_t size, void *host, bool readonly)
{
	unsigned int slot;
	int ret = -1;

	pthread_mutex_lock(&s->lock);
	for (slot = MEMSLOT_FIRST; slot < s->limit && s->used[slot]; slot++)
		;
	if (slot == s->limit) {
		log_guest_warn(
			"no free KVM memory slot for 0x%llx: that range will exit to userspace",
			(unsigned long long)gpa);
	} else if (slot_set(s, slot, gpa, size, host, readonly)) {
		log_guest_warn("KVM_SET_USER_MEMORY_REGION at 0x%llx (0x%llx bytes) failed: %s",
			       (unsigned long long)gpa, (unsigned long long)size, strerror(errno));
	} else {
		s->used[slot] = true;
		ret = (int)slot;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* A slot of size 0 is deleted (KVM API). */
void memslot_unmap(struct memslots *s, int slot)
{
	if (slot < MEMSLOT_FIRST || (unsigned int)slot >= s->limit)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->used[slot] && !slot_set(s, (unsigned int)slot, 0, 0, NULL, false))
		s->used[slot] = false;
	pthread_mutex_unlock(&s->lock);
}
