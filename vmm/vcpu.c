#include "vmm/vcpu.h"
#include "vmm/base/clock.h"
#include "vmm/base/log.h"
#include "vmm/base/sandbox.h"
#include "vmm/stats.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/cpuid.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

#define MSR_IA32_MISC_ENABLE	0x1a0
#define MISC_ENABLE_FAST_STRING 0x1ULL

#define APIC_LVT0      0x350
#define APIC_LVT1      0x360
#define APIC_DM_MASK   0x700
#define APIC_DM_NMI    0x400
#define APIC_DM_EXTINT 0x700

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

/* The kick signal only has to interrupt KVM_RUN: no SA_RESTART, empty handler. */
void vcpu_signals_init(void)
{
	struct sigaction sa = {.sa_handler = vcpu_kick_handler};

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

struct kvm_cpuid2 *vcpu_supported_cpuid(const struct kvm *kvm)
{
	unsigned int nent = 64;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = nent;
		if (!ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c))
			return c;
		free(c);
		if (errno != E2BIG || nent >= 4096) {
			log_error("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
			return NULL;
		}
		nent *= 2;
	}
}

static int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *supported)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	bool deadline;
	int ret;

	if (!c)
		return -1;
	memcpy(c, supported, size);
	deadline = ioctl(v->m->kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	cpuid_patch(c, v->id, v->m->nr_vcpus, deadline);
	ret = ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return ret;
}

static int vcpu_set_msrs(struct vcpu *v)
{
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} msrs = {.hdr.nmsrs = 1};

	msrs.hdr.entries[0] = (struct kvm_msr_entry){
		.index = MSR_IA32_MISC_ENABLE,
		.data = MISC_ENABLE_FAST_STRING,
	};
	return ioctl(v->fd, KVM_SET_MSRS, &msrs) == 1 ? 0 : -1;
}

static void lapic_set_lvt(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t *lvt = (uint32_t *)(void *)&lapic->regs[reg];

	*lvt = (*lvt & ~(uint32_t)APIC_DM_MASK) | mode;
}

/* Virtual wire mode, as a PC BIOS leaves it: LINT0 takes the 8259's ExtINT, LINT1 NMI. */
static int vcpu_set_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic))
		return -1;
	lapic_set_lvt(&lapic, APIC_LVT0, APIC_DM_EXTINT);
	lapic_set_lvt(&lapic, APIC_LVT1, APIC_DM_NMI);
	return ioctl(v->fd, KVM_SET_LAPIC, &lapic);
}

int vcpu_create(struct vcpu *v, const struct vcpu_machine *m, unsigned int id,
		const struct kvm_cpuid2 *cpuid)
{
	const char *step;

	memset(v, 0, sizeof(*v));
	v->m = m;
	v->id = id;
	v->fd = ioctl(m->kvm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0) {
		step = "KVM_CREATE_VCPU";
		goto fail;
	}
	v->run = mmap(NULL, (size_t)m->kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		step = "mmap of kvm_run";
		goto fail;
	}
	step = "KVM_SET_CPUID2";
	if (vcpu_set_cpuid(v, cpuid))
		goto fail;
	step = "KVM_SET_MSRS";
	if (vcpu_set_msrs(v))
		goto fail;
	step = "KVM_SET_LAPIC";
	if (vcpu_set_lapic(v))
		goto fail;
	/* Only the boot CPU gets register state; the others wait in KVM for INIT/SIPI. */
	step = "setting boot registers";
	if (id == 0 && boot_setup_bsp(v->fd))
		goto fail;
	return 0;
fail:
	log_error("cannot set up vCPU %u: %s failed: %s", id, step, strerror(errno));
	return -1;
}

static uint64_t vcpu_rip(const struct vcpu *v)
{
	struct kvm_regs regs;

	return ioctl(v->fd, KVM_GET_REGS, &regs) ? 0 : regs.rip;
}

static void vcpu_handle_pio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int i;

	/* String I/O (rep ins/outs) arrives as count back-to-back elements. */
	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			iobus_write(v->m->pio, run->io.port, data, run->io.size);
		else if (!iobus_read(v->m->pio, run->io.port, data, run->io.size))
			memset(data, 0xff, run->io.size); /* nothing decodes: the bus floats high */
	}
}

static void vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned int len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		iobus_write(v->m->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else if (!iobus_read(v->m->mmio, run->mmio.phys_addr, run->mmio.data, len))
		memset(run->mmio.data, 0xff, len);
}

/*
 * A triple fault is a crash, except the deliberate one that ends a reboot: Linux
 * (reboot=triple, and its last-resort path), the BSDs and others load an empty IDT and
 * raise an exception, so an IDT limit of 0 is the sign; no running OS has one
 * otherwise. That needs the state at the fault, which Intel VMX keeps. AMD SVM does
 * not: KVM reinitialises the VMCB on a shutdown intercept, so the vCPU already holds
 * its reset state (CS base 0xffff0000, RIP 0xfff0) and the two cannot be told apart.
 */
enum shutdown_kind vcpu_classify_shutdown(const struct kvm_sregs *sregs, uint64_t rip)
{
	if (sregs->cs.base == 0xffff0000 && rip == 0xfff0)
		return SHUTDOWN_STATE_LOST;
	return sregs->idt.limit == 0 ? SHUTDOWN_RESET : SHUTDOWN_CRASH;
}

static void vcpu_handle_shutdown(struct vcpu *v)
{
	struct kvm_sregs sregs;
	uint64_t rip = vcpu_rip(v);

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs))
		memset(&sregs, 0, sizeof(sregs));
	switch (vcpu_classify_shutdown(&sregs, rip)) {
	case SHUTDOWN_RESET:
		vm_exit_request(v->m->exit, EXIT_GUEST_DONE,
				"guest reset (triple fault with an empty IDT)");
		break;
	case SHUTDOWN_STATE_LOST:
		vm_exit_request(
			v->m->exit, EXIT_GUEST_CRASH,
			"guest crashed: triple fault (KVM_EXIT_SHUTDOWN) on vCPU %u; RIP unknown "
			"(KVM on AMD resets the vCPU on shutdown)",
			v->id);
		break;
	case SHUTDOWN_CRASH:
		vm_exit_request(
			v->m->exit, EXIT_GUEST_CRASH,
			"guest crashed: triple fault (KVM_EXIT_SHUTDOWN) on vCPU %u at RIP 0x%llx",
			v->id, (unsigned long long)rip);
		break;
	}
}

static void vcpu_handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_exit_request(v->m->exit, EXIT_GUEST_DONE, "guest powered off (system event)");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_exit_request(v->m->exit, EXIT_GUEST_DONE, "guest reset (system event)");
		break;
	default:
		vm_exit_request(v->m->exit, EXIT_GUEST_CRASH,
				"guest crashed: system event %u on vCPU %u",
				v->run->system_event.type, v->id);
		break;
	}
}

static void vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_pio(v);
		break;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(v);
		break;
	case KVM_EXIT_SHUTDOWN:
		vcpu_handle_shutdown(v);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_handle_system_event(v);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_exit_request(
			v->m->exit, EXIT_GUEST_CRASH,
			"guest crashed: KVM internal error (suberror %u) on vCPU %u at RIP 0x%llx",
			run->internal.suberror, v->id, (unsigned long long)vcpu_rip(v));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vm_exit_request(
			v->m->exit, EXIT_GUEST_CRASH,
			"guest crashed: VM entry failed (reason 0x%llx) on vCPU %u at RIP 0x%llx",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason, v->id,
			(unsigned long long)vcpu_rip(v));
		break;
	default:
		vm_exit_request(
			v->m->exit, EXIT_GUEST_CRASH,
			"guest stopped: unexpected KVM exit reason %u on vCPU %u at RIP 0x%llx",
			run->exit_reason, v->id, (unsigned long long)vcpu_rip(v));
		break;
	}
}

const char *vcpu_exit_kind_name(enum vcpu_exit_kind k)
{
	static const char *const names[VCPU_EXIT_KINDS] = {
		[VCPU_EXIT_IO] = "io",
		[VCPU_EXIT_MMIO] = "mmio",
		[VCPU_EXIT_INTR] = "intr",
		[VCPU_EXIT_OTHER] = "other",
	};

	return k < VCPU_EXIT_KINDS ? names[k] : "?";
}

/* One writer, this vCPU's thread; the main thread reads the counters at any time. */
static void vcpu_count_exit(struct vcpu *v, enum vcpu_exit_kind k)
{
	__atomic_store_n(&v->exits_by[k], v->exits_by[k] + 1, __ATOMIC_RELAXED);
}

static enum vcpu_exit_kind vcpu_exit_kind(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO:
		return VCPU_EXIT_IO;
	case KVM_EXIT_MMIO:
		return VCPU_EXIT_MMIO;
	case KVM_EXIT_INTR:
		return VCPU_EXIT_INTR;
	default:
		return VCPU_EXIT_OTHER;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	sandbox_enter(SANDBOX_VCPU, name);
	if (v->id == 0)
		stats_first_run();
	while (!vm_exit_requested(v->m->exit)) {
		if (vcpu_gate_pass(v->m->gate, v->m->exit)) {
			/* the pause's kick is spent: the next KVM_RUN runs */
			v->run->immediate_exit = 0;
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu_count_exit(v, VCPU_EXIT_INTR);
				flight_record_intr(&v->flight, clock_ns());
				continue;
			}
			vm_exit_request(v->m->exit, EXIT_GUEST_CRASH,
					"KVM_RUN failed on vCPU %u: %s", v->id, strerror(errno));
			break;
		}
		vcpu_count_exit(v, vcpu_exit_kind(v->run->exit_reason));
		vcpu_handle_exit(v);
		flight_record(&v->flight, v->run, clock_ns());
	}
	vcpu_gate_leave(v->m->gate);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int err = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (err) {
		log_error("cannot start vCPU %u thread: %s", v->id, strerror(err));
		return -1;
	}
	v->started = true;
	return 0;
}

/* immediate_exit makes a KVM_RUN that has not begun yet return at once; the signal
 * interrupts one that is already running. Together they cannot miss. */
void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

static void vcpu_kick_one(void *ctx, unsigned int i)
{
	struct vcpu *vcpus = ctx;

	vcpu_kick(&vcpus[i]);
}

void vcpus_park(struct vcpu *vcpus, unsigned int n, struct vcpu_gate *g)
{
	vcpu_gate_close(g, n, vcpu_kick_one, vcpus);
}

/* After vcpu_join: KVM answers state queries only while the vCPU is not running. */
void vcpu_dump_flight(const struct vcpu *v, uint64_t now)
{
	if (v->run)
		flight_dump(&v->flight, v->fd, v->id, now);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->m->kvm->run_size);
	if (v->fd > 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
