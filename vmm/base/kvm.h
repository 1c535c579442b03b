/* The KVM system and VM file descriptors and what conduit requires of them. */
#ifndef CONDUIT_KVM_H
#define CONDUIT_KVM_H

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

#endif
