#include "vmm/steward.h"
#include "sriov/journal.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void __attribute__((noreturn)) steward_run(int pipe_rd, const char *root, const char *path)
{
	static const int ignored[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE};
	sigset_t none;
	char c;

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while (read(pipe_rd, &c, 1) > 0 || errno == EINTR)
		;
	_exit(journal_replay(root, path) ? 1 : 0);
}

int steward_start(struct steward *s, const char *root, const char *path)
{
	int fds[2];

	*s = (struct steward){.pipe_wr = -1};
	if (pipe2(fds, O_CLOEXEC)) {
		log_error("managed assignment: cannot make the steward's pipe: %s",
			  strerror(errno));
		return -1;
	}
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0) {
		close(fds[1]);
		steward_run(fds[0], root, path);
	}
	close(fds[0]);
	if (s->pid < 0) {
		close(fds[1]);
		s->pid = 0;
		log_error("managed assignment: cannot fork the steward: %s", strerror(errno));
		return -1;
	}
	s->pipe_wr = fds[1];
	return 0;
}

int steward_finish(struct steward *s)
{
	int status = 0;

	if (!s->pid)
		return 0;
	close(s->pipe_wr);
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
