#include "vmm/base/sandbox.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <malloc.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_NR 512 /* x86-64 system call numbers stay below this */

/* Every thread: memory, locks, eventfd reads and writes, time, its own exit, abort()
 * and sigaltstack (sanitizer runtimes set one up per thread).
 * io_uring operations are not system calls of the thread and pass no filter. */
static const char *const common_calls[] = {
	"read",
	"write",
	"readv",
	"writev",
	"close",
	"futex",
	"madvise",
	"mmap",
	"munmap",
	"mprotect",
	"mremap",
	"brk",
	"exit",
	"exit_group",
	"rt_sigreturn",
	"rt_sigprocmask",
	"rt_sigaction",
	"restart_syscall",
	"clock_gettime",
	"clock_nanosleep",
	"nanosleep",
	"gettid",
	"getpid",
	"tgkill",
	"sched_yield",
	"getrandom",
	"poll",
	"ppoll",
	"rseq",
	"set_robust_list",
	"io_uring_enter",
	"newfstatat",
	"fstat",
	"sigaltstack",
	NULL,
};

/* Device I/O threads: data between files and guest RAM when no io_uring does it. */
static const char *const io_calls[] = {
	"pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2", NULL,
};

/* vCPU threads emulate devices, so they start device threads (which inherit this list
 * and add their own), set up io_urings and program KVM and VFIO; and everything an I/O
 * thread may do (sched_getaffinity: what a sanitizer's thread start asks). */
static const char *const vcpu_calls[] = {
	"ioctl",
	"clone",
	"clone3",
	"eventfd2",
	"io_uring_setup",
	"io_uring_register",
	"prctl",
	"seccomp",
	"fcntl",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"preadv2",
	"pwritev2",
	"sched_getaffinity",
	NULL,
};

/* The main thread after start: signals and console, the stop of the vCPUs, the
 * flight recorder and --stats, teardown (KVM, VFIO, terminal ioctls), waiting for the
 * steward that gives managed functions back (wait4), the control socket (its
 * connections, their peers' credentials, its removal at the end), and devices added
 * through it: their files and locks, host checks in sysfs (links, directories),
 * eventfds, and a tap (if_nametoindex() asks through a socket); functions taken
 * managed at run time: sysfs binds, the journal (fdatasync), VF settings over
 * rtnetlink (libnl: bind, getsockname, setsockopt, sendmsg, recvmsg) and their locks
 * handed to the steward (sendmsg with SCM_RIGHTS); a disk still running at the end (a
 * SIGTERM) unregisters its io_urings' file and buffers (io_uring_register). */
static const char *const main_calls[] = {
	"ioctl",    "fcntl",  "mincore",     "getrusage",  "pread64",	 "pwrite64",
	"openat",   "wait4",  "accept4",     "getsockopt", "sendto",	 "unlink",
	"eventfd2", "flock",  "lseek",	     "readlink",   "getdents64", "fstatfs",
	"socket",   "access", "faccessat",   "faccessat2", "sendmsg",	 "recvmsg",
	"recvfrom", "bind",   "getsockname", "setsockopt", "fdatasync",	 "io_uring_register",
	NULL,
};

static enum sandbox_mode sandbox_mode;
static char *call_names[MAX_NR];
static __thread char thread_name[16];

/* Async-signal-safe: the line is assembled by hand and written in one write(2). */
static void line_add(char *line, size_t *len, const char *s)
{
	while (*s && *len < 200)
		line[(*len)++] = *s++;
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	int nr = si->si_syscall;
	char line[256], num[12];
	size_t len = 0, i = sizeof(num) - 1;

	(void)sig, (void)ctx;
	num[i] = 0;
	do
		num[--i] = (char)('0' + (unsigned int)nr % 10);
	while ((nr /= 10) && i);
	line_add(line, &len, "conduit: error: seccomp: thread '");
	line_add(line, &len, thread_name[0] ? thread_name : "?");
	line_add(line, &len, "' made system call ");
	nr = si->si_syscall;
	line_add(line, &len, nr >= 0 && nr < MAX_NR && call_names[nr] ? call_names[nr] : "?");
	line_add(line, &len, " (");
	line_add(line, &len, num + i);
	line_add(line, &len,
		 "), which its allowlist forbids: a conduit bug; --seccomp log "
		 "runs on and logs it\n");
	if (write(STDERR_FILENO, line, len) < 0)
		_exit(SANDBOX_EXIT_STATUS);
	_exit(SANDBOX_EXIT_STATUS);
}

int sandbox_init(enum sandbox_mode mode)
{
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	int nr;

	sandbox_mode = mode;
	if (mode == SANDBOX_OFF)
		return 0;
	/* glibc opens files the first time two things happen, maybe on a filtered thread:
	 * any time conversion loads the time zone (the RTC's gmtime_r on a vCPU), and a
	 * thread that needs a malloc arena of its own reads the CPUs online to size the
	 * arena limit. Both are done now, while files may be opened: the zone loaded, the
	 * limit set by glibc's own rule on 64-bit (8 arenas per CPU). */
	tzset();
	mallopt(M_ARENA_MAX, 8 * (int)sysconf(_SC_NPROCESSORS_ONLN));
	for (nr = 0; nr < MAX_NR; nr++)
		call_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (sigaction(SIGSYS, &sa, NULL)) {
		log_error("seccomp: cannot install the SIGSYS handler: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int allow(scmp_filter_ctx ctx, const char *const *names)
{
	int nr;

	for (; *names; names++) {
		nr = seccomp_syscall_resolve_name(*names);
		if (nr != __NR_SCMP_ERROR && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0))
			return -1;
	}
	return 0;
}

static int filter_load(enum sandbox_kind kind)
{
	scmp_filter_ctx ctx =
		seccomp_init(sandbox_mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	int err = !ctx || allow(ctx, common_calls);

	if (!err && kind == SANDBOX_MAIN)
		err = allow(ctx, main_calls);
	else if (!err && kind == SANDBOX_VCPU)
		err = allow(ctx, vcpu_calls);
	else if (!err)
		err = allow(ctx, io_calls);
	/* glibc may open a file on any thread the first time it needs one (free()
	 * reads /proc/sys/vm/overcommit_memory before shrinking a thread's heap) and
	 * copes when it cannot: a device thread's open fails, it does not end conduit */
	if (!err && kind != SANDBOX_MAIN)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err ? -1 : 0;
}

void sandbox_enter(enum sandbox_kind kind, const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
	prctl(PR_SET_NAME, thread_name);
	if (sandbox_mode == SANDBOX_OFF)
		return;
	if (filter_load(kind)) {
		log_error("seccomp: cannot confine thread '%s'; --seccomp off runs without the "
			  "sandbox",
			  thread_name);
		_exit(SANDBOX_EXIT_STATUS);
	}
}
