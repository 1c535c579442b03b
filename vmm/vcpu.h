/* vCPUs: one thread each, running KVM_RUN and dispatching exits. */
#ifndef CONDUIT_VCPU_H
#define CONDUIT_VCPU_H

#include "vmm/base/iobus.h"
#include "vmm/base/kvm.h"
#include "vmm/flight.h"
#include "vmm/vm_exit.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* What a vCPU uses of its machine. */
struct vcpu_machine {
	const struct kvm *kvm;
	struct iobus *pio;
	struct iobus *mmio;
	struct vm_exit *exit;
	unsigned int nr_vcpus;
};

struct vcpu {
	const struct vcpu_machine *m;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits; /* returns from KVM_RUN that userspace handled (--stats) */
	struct flight flight;
};

enum shutdown_kind {
	SHUTDOWN_RESET, /* deliberate triple fault that ends a reboot */
	SHUTDOWN_CRASH,
	SHUTDOWN_STATE_LOST, /* KVM reset the vCPU before conduit could look (AMD) */
};

enum shutdown_kind vcpu_classify_shutdown(const struct kvm_sregs *sregs, uint64_t rip);
struct kvm_cpuid2 *vcpu_supported_cpuid(const struct kvm *kvm);
int vcpu_create(struct vcpu *v, const struct vcpu_machine *m, unsigned int id,
		const struct kvm_cpuid2 *cpuid);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_dump_flight(const struct vcpu *v, uint64_t now);
void vcpu_destroy(struct vcpu *v);
void vcpu_signals_init(void);

#endif
