/* The KVM system and VM file descriptors and what conduit requires of them. */
#ifndef CONDUIT_KVM_H
#define CONDUIT_KVM_H

#include <stdint.h>

struct kvm {
	int sys_fd; /* /dev/kvm */
	int vm_fd;
	int run_size; /* bytes to mmap of each vCPU's struct kvm_run */
	int max_vcpus;
};

int kvm_open(struct kvm *kvm);
int kvm_create_vm(struct kvm *kvm);
void kvm_close(struct kvm *kvm);
int kvm_irq_line(const struct kvm *kvm, unsigned int irq, int level);
/* The guest's kvmclock in ns (KVM_GET_CLOCK / KVM_SET_CLOCK): saved while the vCPUs are
 * paused and put back on resume, the guest's clock stands still in between. 0, or -1
 * with errno. */
int kvm_clock_get(const struct kvm *kvm, uint64_t *ns);
int kvm_clock_set(const struct kvm *kvm, uint64_t ns);

#endif
