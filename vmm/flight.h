/*
 * The flight recorder: each vCPU keeps its last FLIGHT_EXITS exits to userspace in a
 * ring, and when the guest crashes conduit prints them with every vCPU's registers,
 * segment/control registers and pending events. A guest that dies without a word on
 * its console (a triple fault) leaves at least this behind.
 */
#ifndef CONDUIT_FLIGHT_H
#define CONDUIT_FLIGHT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#define FLIGHT_EXITS 32
#define FLIGHT_INTR  0xffffffffU /* not a KVM exit: KVM_RUN returned EINTR (a kick) */

struct flight_exit {
	uint64_t ns;   /* CLOCK_MONOTONIC when KVM_RUN returned */
	uint64_t addr; /* I/O port or guest-physical address */
	uint64_t data; /* the first bytes written or read */
	uint32_t reason;
	uint16_t count; /* string I/O: elements */
	uint8_t len;
	uint8_t write;
};

struct flight {
	struct flight_exit ring[FLIGHT_EXITS];
	uint64_t total; /* exits recorded; the ring holds the newest */
};

void flight_record(struct flight *f, const struct kvm_run *run, uint64_t ns);
void flight_record_intr(struct flight *f, uint64_t ns);
/* One exit as text, with its time relative to now (in seconds, negative). */
size_t flight_format(const struct flight_exit *e, uint64_t now, char *buf, size_t size);
/* Prints vCPU id's state (read from its fd; the vCPU must not be running) and exits. */
void flight_dump(const struct flight *f, int vcpu_fd, unsigned int id, uint64_t now);

#endif
