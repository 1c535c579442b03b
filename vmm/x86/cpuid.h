/* Per-vCPU CPUID: what KVM supports, with this vCPU's identity and the VM's topology. */
#ifndef CONDUIT_CPUID_H
#define CONDUIT_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

void cpuid_patch(struct kvm_cpuid2 *c, unsigned int apic_id, unsigned int nr_cpus,
		 bool tsc_deadline);

#endif
