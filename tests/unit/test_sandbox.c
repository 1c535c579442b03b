/*
 * The seccomp sandbox (vmm/base/sandbox.c) with its real allowlists, each case in a child
 * process: a device I/O thread's forbidden system call ends conduit with status 2 and
 * one line naming the thread and the call; its allowed work runs; a thread a vCPU
 * starts is held to both lists; log mode lets the call through; off confines nothing.
 */
#include "tests/unit/check.h"
#include "vmm/base/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* An I/O thread's work: eventfds, a file read at an offset, memory. */
static void *io_work(void *arg)
{
	const int *fd = arg; /* an eventfd and a file */
	uint64_t one = 1;
	char buf[16];
	void *p;

	sandbox_enter(SANDBOX_IO, "blk-q0");
	p = malloc(1 << 20);
	free(p);
	if (pread(fd[1], buf, sizeof(buf), 0) < 0 || write(fd[0], &one, sizeof(one)) != sizeof(one))
		_exit(3);
	/* opening a file fails quietly, whatever glibc needed it for */
	if (open("/proc/self/status", O_RDONLY) != -1 || errno != EACCES)
		_exit(6);
	return NULL;
}

static void *io_socket(void *arg)
{
	(void)arg;
	sandbox_enter(SANDBOX_IO, "blk-q0");
	return (void *)(long)socket(AF_UNIX, SOCK_STREAM, 0);
}

static void *io_ioctl(void *arg)
{
	int n = 0;

	(void)arg;
	sandbox_enter(SANDBOX_IO, "rng");
	return (void *)(long)ioctl(0, FIONREAD, &n);
}

struct job {
	void *(*fn)(void *);
	void *arg;
};

/* A vCPU that starts a device thread running job, as DRIVER_OK does. */
static void *vcpu(void *arg)
{
	struct job *j = arg;
	pthread_t t;

	sandbox_enter(SANDBOX_VCPU, "vcpu0");
	if (pthread_create(&t, NULL, j->fn, j->arg) || pthread_join(t, NULL))
		_exit(4);
	return NULL;
}

/* Runs fn(arg) in a thread of a child in mode; its exit status, stderr in err. */
static int child(enum sandbox_mode mode, void *(*fn)(void *), void *arg, char *err, size_t len)
{
	int p[2], status;
	pthread_t t;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		if (sandbox_init(mode) || pthread_create(&t, NULL, fn, arg) ||
		    pthread_join(t, NULL))
			_exit(5);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], err, len - 1);
	err[n > 0 ? n : 0] = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
	int fds[2] = {eventfd(0, EFD_CLOEXEC), open("/proc/self/exe", O_RDONLY | O_CLOEXEC)};
	struct job work = {io_work, fds}, forbidden = {io_ioctl, NULL};
	char err[512];

	CHECK(child(SANDBOX_ON, io_work, fds, err, sizeof(err)) == 0 && !*err);
	CHECK(child(SANDBOX_ON, io_socket, NULL, err, sizeof(err)) == SANDBOX_EXIT_STATUS);
	CHECK(strstr(err, "seccomp: thread 'blk-q0' made system call socket (41)") != NULL);
	CHECK(strchr(err, '\n') == strrchr(err, '\n')); /* one line */
	/* ioctl is a vCPU's call, not a device thread's, even one a vCPU started */
	CHECK(child(SANDBOX_ON, vcpu, &work, err, sizeof(err)) == 0 && !*err);
	CHECK(child(SANDBOX_ON, vcpu, &forbidden, err, sizeof(err)) == SANDBOX_EXIT_STATUS);
	CHECK(strstr(err, "thread 'rng' made system call ioctl") != NULL);
	CHECK(child(SANDBOX_LOG, io_socket, NULL, err, sizeof(err)) == 0 && !*err);
	CHECK(child(SANDBOX_OFF, io_socket, NULL, err, sizeof(err)) == 0 && !*err);
	return CHECK_DONE();
}
