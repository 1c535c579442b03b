/*
 * The seccomp sandbox (libseccomp): each kind of thread gets its own system call
 * allowlist once setup is done. The main thread's goes on after the vCPUs start;
 * vCPU and device I/O threads install theirs as they begin (filters stack, so a
 * thread created by a vCPU is held to both lists). A forbidden call ends conduit with
 * one line naming the thread and the call, status 2; in log mode the kernel logs it
 * and the call goes through.
 */
#ifndef CONDUIT_SANDBOX_H
#define CONDUIT_SANDBOX_H

enum sandbox_mode {
	SANDBOX_OFF, /* the default until sandbox_init(): unit tests run unfiltered */
	SANDBOX_ON,
	SANDBOX_LOG,
};

enum sandbox_kind {
	SANDBOX_MAIN, /* signals, console, teardown */
	SANDBOX_VCPU, /* KVM_RUN, device emulation, VFIO and KVM interrupt setup */
	SANDBOX_IO,   /* virtio queues: io_uring, eventfds, copies */
};

#define SANDBOX_EXIT_STATUS 2

/* Before any thread starts: the mode, the SIGSYS handler and its system call names.
 * 0, or -1 with one line. */
int sandbox_init(enum sandbox_mode mode);
/* Names the calling thread (at most 15 characters) and installs its kind's list. A
 * thread that cannot be confined ends conduit: running unconfined is not an option
 * the user chose. */
void sandbox_enter(enum sandbox_kind kind, const char *name);

#endif
