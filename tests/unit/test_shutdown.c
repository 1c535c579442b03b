/* Telling a reboot's deliberate triple fault from a crash. The Intel case (state kept
 * at the fault) cannot be exercised in the testbed, whose L1 is AMD: this is its test. */
#include "tests/unit/check.h"
#include "vmm/vcpu.h"

#include <string.h>

int main(void)
{
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	/* Linux reboot=t: idt_invalidate() then int3, in long mode, kernel RIP */
	s.cs.base = 0;
	s.idt.limit = 0;
	CHECK(vcpu_classify_shutdown(&s, 0xffffffff81000000ULL) == SHUTDOWN_RESET);
	/* a crash with the kernel's IDT in place */
	s.idt.limit = 0xfff;
	CHECK(vcpu_classify_shutdown(&s, 0xffffffff81000000ULL) == SHUTDOWN_CRASH);
	/* early crash with the reset IDT (base 0, limit 0xffff) */
	s.idt.limit = 0xffff;
	CHECK(vcpu_classify_shutdown(&s, 0x100200) == SHUTDOWN_CRASH);
	/* AMD: KVM already put the vCPU back at the reset vector */
	s.cs.base = 0xffff0000;
	CHECK(vcpu_classify_shutdown(&s, 0xfff0) == SHUTDOWN_STATE_LOST);
	s.idt.limit = 0;
	CHECK(vcpu_classify_shutdown(&s, 0xfff0) == SHUTDOWN_STATE_LOST);
	return CHECK_DONE();
}
