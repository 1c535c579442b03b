/* vCPUs: one thread each, running KVM_RUN and dispatching exits. */
#ifndef CONDUIT_VCPU_H
#define CONDUIT_VCPU_H

#include "vmm/base/iobus.h"
#include "vmm/base/kvm.h"
#include "vmm/flight.h"
#include "vmm/vcpu_gate.h"
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
	struct vcpu_gate *gate;
	unsigned int nr_vcpus;
};

/* Why KVM_RUN returned, as the control socket's counters show it. */
enum vcpu_exit_kind {
	VCPU_EXIT_IO,	 /* port I/O */
	VCPU_EXIT_MMIO,	 /* MMIO no ioeventfd or memory slot took */
	VCPU_EXIT_INTR,	 /* a signal: a kick, a pause */
	VCPU_EXIT_OTHER, /* shutdown, system events, errors */
	VCPU_EXIT_KINDS,
};

struct vcpu {
	const struct vcpu_machine *m;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits_by[VCPU_EXIT_KINDS]; /* every return, by kind; read while running */
	struct flight flight;
};

enum shutdown_kind {
	SHUTDOWN_RESET, /* deliberate triple fault that ends a reboot */
	SHUTDOWN_CRASH,
	SHUTDOWN_STATE_LOST, /* KVM reset the vCPU before conduit could look (AMD) */
};

const char *vcpu_exit_kind_name(enum vcpu_exit_kind k);
enum shutdown_kind vcpu_classify_shutdown(const struct kvm_sregs *sregs, uint64_t rip);
struct kvm_cpuid2 *vcpu_supported_cpuid(const struct kvm *kvm);
int vcpu_create(struct vcpu *v, const struct vcpu_machine *m, unsigned int id,
		const struct kvm_cpuid2 *cpuid);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
/* Main thread: parks all n vCPUs at the gate (vcpu_gate_close), kicking them out of the
 * guest; vcpu_gate_open() lets them go. */
void vcpus_park(struct vcpu *vcpus, unsigned int n, struct vcpu_gate *g);
void vcpu_join(struct vcpu *v);
void vcpu_dump_flight(const struct vcpu *v, uint64_t now);
void vcpu_destroy(struct vcpu *v);
void vcpu_signals_init(void);

#endif
