/* vCPUs: one thread each, running KVM_RUN and dispatching exits. */
#ifndef CONDUIT_VCPU_H
#define CONDUIT_VCPU_H

#include "vmm/vm.h"

#include <linux/kvm.h>

enum shutdown_kind {
	SHUTDOWN_RESET, /* deliberate triple fault that ends a reboot */
	SHUTDOWN_CRASH,
	SHUTDOWN_STATE_LOST, /* KVM reset the vCPU before conduit could look (AMD) */
};

enum shutdown_kind vcpu_classify_shutdown(const struct kvm_sregs *sregs, uint64_t rip);
struct kvm_cpuid2 *vcpu_supported_cpuid(const struct kvm *kvm);
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int id, const struct kvm_cpuid2 *cpuid);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_dump_flight(const struct vcpu *v, uint64_t now);
void vcpu_destroy(struct vcpu *v);
void vcpu_signals_init(void);

#endif
