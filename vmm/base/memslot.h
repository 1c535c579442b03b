/*
 * KVM memory slots beyond guest RAM: host memory the guest reaches without exits, such
 * as the mmap'd BARs of an assigned device. Guest RAM owns slots 0 and 1 (below and
 * above the MMIO hole); the rest are handed out here and may come and go while vCPUs
 * run (a guest moving a BAR). KVM looks up a slot on each access, so a removed slot's
 * range falls back to exiting to userspace at once.
 */
#ifndef CONDUIT_MEMSLOT_H
#define CONDUIT_MEMSLOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define MEMSLOT_FIRST 2	  /* after guest RAM's two slots */
#define MEMSLOT_MAX   512 /* conduit's own bound; KVM's is asked at start */

struct memslots {
	int vm_fd;
	unsigned int limit; /* min(MEMSLOT_MAX, KVM_CAP_NR_MEMSLOTS) */
	pthread_mutex_t lock;
	bool used[MEMSLOT_MAX];
};

void memslots_init(struct memslots *s, int vm_fd, int kvm_nr_slots);
int memslot_map(struct memslots *s, uint64_t gpa, uint64_t size, void *host, bool readonly);
void memslot_unmap(struct memslots *s, int slot);

#endif
