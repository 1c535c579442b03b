/* Topology and identity patched into what KVM reports. */
#include "tests/unit/check.h"
#include "vmm/x86/cpuid.h"

#include <stdlib.h>

static struct kvm_cpuid2 *table(void)
{
	static const struct kvm_cpuid_entry2 e[] = {
		{.function = 1, .ebx = 0x00000800, .ecx = 0, .edx = 0},
		{.function = 4, .index = 0, .eax = 0x121}, /* L1d: type 1, level 1 */
		{.function = 4, .index = 3, .eax = 0x163}, /* L3: type 3, level 3 */
		{.function = 4, .index = 4, .eax = 0},	   /* end of list */
		{.function = 0xb, .index = 0},
		{.function = 0xb, .index = 1},
		{.function = 0xb, .index = 2},
		{.function = 0x80000008, .ecx = 0xffff},
		{.function = 0x8000001e, .ebx = 0x0100},
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + sizeof(e));

	c->nent = sizeof(e) / sizeof(e[0]);
	for (unsigned int i = 0; i < c->nent; i++)
		c->entries[i] = e[i];
	return c;
}

int main(void)
{
	struct kvm_cpuid2 *c = table();

	cpuid_patch(c, 5, 6, true);
	CHECK(c->entries[0].ebx >> 24 == 5); /* initial APIC ID */
	CHECK((c->entries[0].ebx >> 16 & 0xff) == 6);
	CHECK((c->entries[0].ebx & 0xffff) == 0x0800); /* CLFLUSH size kept */
	CHECK(c->entries[0].ecx & (1U << 31));	       /* hypervisor */
	CHECK(c->entries[0].ecx & (1U << 24));	       /* TSC deadline */
	CHECK(c->entries[0].edx & (1U << 28));	       /* HTT */
	CHECK(c->entries[1].eax >> 26 == 5 && (c->entries[1].eax >> 14 & 0xfff) == 0);
	CHECK(c->entries[2].eax >> 26 == 5 && (c->entries[2].eax >> 14 & 0xfff) == 5);
	CHECK(c->entries[3].eax == 0);
	CHECK(c->entries[4].ebx == 1 && c->entries[4].edx == 5 && (c->entries[4].ecx >> 8) == 1);
	CHECK(c->entries[5].ebx == 6 && c->entries[5].eax == 3 && (c->entries[5].ecx >> 8) == 2);
	CHECK(c->entries[6].ebx == 0 && (c->entries[6].ecx >> 8) == 0);
	CHECK((c->entries[7].ecx & 0xff) == 5 && (c->entries[7].ecx >> 12 & 0xf) == 3);
	CHECK(c->entries[8].eax == 5 && (c->entries[8].ebx & 0xff) == 5);
	free(c);

	c = table();
	cpuid_patch(c, 0, 1, false);
	CHECK(!(c->entries[0].edx & (1U << 28)));
	CHECK(!(c->entries[0].ecx & (1U << 24)));
	CHECK(c->entries[5].eax == 0 && c->entries[5].ebx == 1);
	free(c);
	return CHECK_DONE();
}
