#include "vmm/steward.h"
#include "sriov/journal.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define STEWARD_MAX_HELD 64

/* One message from conduit: hold a lock (its fd rides along, SCM_RIGHTS) or drop one;
 * a lock is named by its fd number in conduit. */
struct steward_msg {
	char op; /* 'h', 'd' */
	int lock;
};

struct held {
	int lock; /* conduit's number */
	int fd;	  /* the steward's copy */
};

/* The next message and the fd it carried (-1: none); 0 at the end (conduit gone). */
static ssize_t steward_recv(int sock, struct steward_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr h = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &h, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	c = n > 0 ? CMSG_FIRSTHDR(&h) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(*fd));
	return n;
}

static void steward_serve(const struct steward_msg *m, int fd, struct held *held, unsigned int *nr)
{
	unsigned int i;

	if (m->op == 'h' && fd >= 0 && *nr < STEWARD_MAX_HELD) {
		held[(*nr)++] = (struct held){.lock = m->lock, .fd = fd};
		return;
	}
	if (fd >= 0)
		close(fd);
	for (i = 0; m->op == 'd' && i < *nr; i++) {
		if (held[i].lock != m->lock)
			continue;
		close(held[i].fd);
		held[i] = held[--*nr];
		return;
	}
}

static void __attribute__((noreturn)) steward_run(int sock, const char *root, const char *path)
{
	static const int ignored[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE};
	struct held held[STEWARD_MAX_HELD];
	unsigned int nr = 0;
	struct steward_msg m;
	sigset_t none;
	int fd;

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while (steward_recv(sock, &m, &fd) == sizeof(m))
		steward_serve(&m, fd, held, &nr);
	/* the held locks stay until the undo is done: _exit closes them */
	_exit(journal_replay(root, path) ? 1 : 0);
}

int steward_start(struct steward *s, const char *root, const char *path)
{
	int fds[2];

	*s = (struct steward){.sock = -1};
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds)) {
		log_error("managed assignment: cannot make the steward's socket: %s",
			  strerror(errno));
		return -1;
	}
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0) {
		close(fds[0]);
		steward_run(fds[1], root, path);
	}
	close(fds[1]);
	if (s->pid < 0) {
		close(fds[0]);
		s->pid = 0;
		log_error("managed assignment: cannot fork the steward: %s", strerror(errno));
		return -1;
	}
	s->sock = fds[0];
	return 0;
}

static int steward_send(struct steward *s, char op, int lock, int fd)
{
	struct steward_msg m = {.op = op, .lock = lock};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	if (fd >= 0) {
		h.msg_control = cbuf;
		h.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	return sendmsg(s->sock, &h, MSG_NOSIGNAL) == sizeof(m) ? 0 : -1;
}

int steward_hold(struct steward *s, int lock)
{
	if (!s->pid || lock < 0)
		return 0;
	if (steward_send(s, 'h', lock, lock)) {
		log_error("managed assignment: cannot hand the steward a lock: %s",
			  strerror(errno));
		return -1;
	}
	return 0;
}

void steward_drop(struct steward *s, int lock)
{
	if (s->pid && lock >= 0 && steward_send(s, 'd', lock, -1))
		log_warn("managed assignment: cannot tell the steward to let a lock go: %s",
			 strerror(errno));
}

int steward_finish(struct steward *s)
{
	int status = 0;

	if (!s->pid)
		return 0;
	close(s->sock);
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
