#include "vmm/flight.h"
#include "vmm/base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

static struct flight_exit *flight_next(struct flight *f, uint32_t reason, uint64_t ns)
{
	struct flight_exit *e = &f->ring[f->total++ % FLIGHT_EXITS];

	memset(e, 0, sizeof(*e));
	e->reason = reason;
	e->ns = ns;
	return e;
}

static uint64_t flight_bytes(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;

	memcpy(&v, p, len < sizeof(v) ? len : sizeof(v));
	return v;
}

void flight_record(struct flight *f, const struct kvm_run *run, uint64_t ns)
{
	struct flight_exit *e = flight_next(f, run->exit_reason, ns);

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e->addr = run->io.port;
		e->len = run->io.size;
		e->write = run->io.direction == KVM_EXIT_IO_OUT;
		e->count = (uint16_t)run->io.count;
		e->data = flight_bytes((const uint8_t *)run + run->io.data_offset, run->io.size);
		break;
	case KVM_EXIT_MMIO:
		e->addr = run->mmio.phys_addr;
		e->len = (uint8_t)run->mmio.len;
		e->write = run->mmio.is_write;
		e->data = flight_bytes(run->mmio.data, run->mmio.len);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		e->data = run->system_event.type;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		e->data = run->internal.suberror;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		e->data = run->fail_entry.hardware_entry_failure_reason;
		break;
	}
}

void flight_record_intr(struct flight *f, uint64_t ns)
{
	flight_next(f, FLIGHT_INTR, ns);
}

static const char *flight_reason(uint32_t reason)
{
	switch (reason) {
	case FLIGHT_INTR:
		return "kick (KVM_RUN interrupted)";
	case KVM_EXIT_SHUTDOWN:
		return "shutdown (triple fault)";
	case KVM_EXIT_SYSTEM_EVENT:
		return "system event";
	case KVM_EXIT_INTERNAL_ERROR:
		return "internal error";
	case KVM_EXIT_FAIL_ENTRY:
		return "failed entry";
	case KVM_EXIT_INTR:
		return "signal";
	case KVM_EXIT_HLT:
		return "hlt";
	default:
		return NULL;
	}
}

size_t flight_format(const struct flight_exit *e, uint64_t now, char *buf, size_t size)
{
	double ago = (double)(int64_t)(e->ns - now) / 1e9;
	const char *name = flight_reason(e->reason);
	int n;

	if (e->reason == KVM_EXIT_IO)
		n = snprintf(buf, size,
			     "%+.6f s  pio %s port 0x%04" PRIx64 " size %u%s data 0x%" PRIx64, ago,
			     e->write ? "out" : "in", e->addr, e->len,
			     e->count > 1 ? " (string)" : "", e->data);
	else if (e->reason == KVM_EXIT_MMIO)
		n = snprintf(buf, size, "%+.6f s  mmio %s 0x%" PRIx64 " len %u data 0x%" PRIx64,
			     ago, e->write ? "write" : "read", e->addr, e->len, e->data);
	else if (name)
		n = snprintf(buf, size, "%+.6f s  %s (0x%" PRIx64 ")", ago, name, e->data);
	else
		n = snprintf(buf, size, "%+.6f s  exit reason %u", ago, e->reason);
	return n < 0 ? 0 : (size_t)n;
}

static void flight_dump_regs(int fd, unsigned int id)
{
	struct kvm_regs r;

	if (ioctl(fd, KVM_GET_REGS, &r)) {
		log_info("vCPU %u: registers unavailable", id);
		return;
	}
	log_info("vCPU %u: rip %016llx rsp %016llx rflags %08llx rax %016llx", id, r.rip, r.rsp,
		 r.rflags, r.rax);
	log_info("vCPU %u: rbx %016llx rcx %016llx rdx %016llx rsi %016llx rdi %016llx", id, r.rbx,
		 r.rcx, r.rdx, r.rsi, r.rdi);
}

static void flight_dump_sregs(int fd, unsigned int id)
{
	struct kvm_sregs s;

	if (ioctl(fd, KVM_GET_SREGS, &s)) {
		log_info("vCPU %u: system registers unavailable", id);
		return;
	}
	log_info("vCPU %u: cr0 %08llx cr2 %016llx cr3 %016llx cr4 %08llx efer %llx apic_base %llx",
		 id, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.apic_base);
	log_info("vCPU %u: cs %04x base %llx ss %04x idt %llx/%x gdt %llx/%x", id, s.cs.selector,
		 s.cs.base, s.ss.selector, s.idt.base, s.idt.limit, s.gdt.base, s.gdt.limit);
}

/* What KVM was about to deliver: an exception, an NMI, an interrupt. */
static void flight_dump_events(int fd, unsigned int id)
{
	struct kvm_vcpu_events ev;

	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &ev)) {
		log_info("vCPU %u: events unavailable", id);
		return;
	}
	log_info("vCPU %u: exception injected %u pending %u nr %u error %u/0x%x; interrupt "
		 "injected %u nr %u shadow %u; nmi injected %u pending %u masked %u",
		 id, ev.exception.injected, ev.exception.pending, ev.exception.nr,
		 ev.exception.has_error_code, ev.exception.error_code, ev.interrupt.injected,
		 ev.interrupt.nr, ev.interrupt.shadow, ev.nmi.injected, ev.nmi.pending,
		 ev.nmi.masked);
}

void flight_dump(const struct flight *f, int vcpu_fd, unsigned int id, uint64_t now)
{
	uint64_t i = f->total > FLIGHT_EXITS ? f->total - FLIGHT_EXITS : 0;
	char line[160];

	flight_dump_regs(vcpu_fd, id);
	flight_dump_sregs(vcpu_fd, id);
	flight_dump_events(vcpu_fd, id);
	log_info("vCPU %u: last %llu of %llu exits to userspace, oldest first:", id,
		 (unsigned long long)(f->total - i), (unsigned long long)f->total);
	for (; i < f->total; i++) {
		flight_format(&f->ring[i % FLIGHT_EXITS], now, line, sizeof(line));
		log_info("vCPU %u:   %s", id, line);
	}
}
