/*
 * The topology conduit presents: one socket, nr_cpus cores, one thread per core, APIC
 * ID = vCPU index. Linux reads it from leaf 1 (initial APIC ID, logical count), leaf 4
 * (cores per package, Intel), leaves 0xb/0x1f (x2APIC topology levels), and on AMD
 * 0x80000008 (NC, APIC ID size) and 0x8000001e (core ID). Every leaf is patched only
 * where KVM reported it, so the same code serves Intel and AMD hosts.
 */
#include "vmm/x86/cpuid.h"

#define LEAF1_ECX_TSC_DEADLINE (1U << 24)
#define LEAF1_ECX_HYPERVISOR   (1U << 31)
#define LEAF1_EDX_HTT	       (1U << 28)
#define TOPO_LEVEL_SMT	       1
#define TOPO_LEVEL_CORE	       2

static unsigned int order_base_2(unsigned int n)
{
	unsigned int bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

static void patch_leaf1(struct kvm_cpuid_entry2 *e, unsigned int apic_id, unsigned int nr,
			bool tsc_deadline)
{
	e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) | ((nr > 255 ? 255 : nr) << 16);
	e->ecx |= LEAF1_ECX_HYPERVISOR;
	if (tsc_deadline)
		e->ecx |= LEAF1_ECX_TSC_DEADLINE;
	if (nr > 1)
		e->edx |= LEAF1_EDX_HTT;
}

/* Leaf 4 EAX[31:26]: cores per package - 1; EAX[25:14]: threads sharing this cache - 1. */
static void patch_leaf4(struct kvm_cpuid_entry2 *e, unsigned int nr)
{
	unsigned int cores = nr > 64 ? 64 : nr;
	unsigned int level = (e->eax >> 5) & 7;
	unsigned int sharing = level == 3 ? cores : 1;

	if (!(e->eax & 0x1f)) /* cache type 0: no more caches */
		return;
	e->eax = (e->eax & 0x3fff) | ((cores - 1) << 26) | ((sharing - 1) << 14);
}

static void patch_ext_topology(struct kvm_cpuid_entry2 *e, unsigned int apic_id, unsigned int nr)
{
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = TOPO_LEVEL_SMT << 8;
		break;
	case 1:
		e->eax = order_base_2(nr);
		e->ebx = nr;
		e->ecx = TOPO_LEVEL_CORE << 8 | 1;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = apic_id;
}

void cpuid_patch(struct kvm_cpuid2 *c, unsigned int apic_id, unsigned int nr_cpus,
		 bool tsc_deadline)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			patch_leaf1(e, apic_id, nr_cpus, tsc_deadline);
			break;
		case 4:
			patch_leaf4(e, nr_cpus);
			break;
		case 0xb:
		case 0x1f:
			patch_ext_topology(e, apic_id, nr_cpus);
			break;
		case 0x80000008:
			e->ecx =
				(e->ecx & ~0xf0ffU) | (order_base_2(nr_cpus) << 12) | (nr_cpus - 1);
			break;
		case 0x8000001e:
			e->eax = apic_id;
			e->ebx = (e->ebx & ~0xffffU) | apic_id; /* one thread per core */
			e->ecx &= ~0xffU;			/* node 0 */
			break;
		}
	}
}
