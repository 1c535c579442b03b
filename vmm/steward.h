/*
 * The steward: a child process forked once conduit has taken its functions on the host
 * for managed assignment, before it opens any device. It waits on a pipe whose only
 * writer is conduit; when that closes — at the normal end, or because conduit died in
 * any way, SIGKILL included — it undoes conduit's journal (sriov/journal.h), the
 * devices released by then. It inherits the journal's and the functions' locks, so no
 * other conduit takes or replays them meanwhile. Termination signals meant for conduit
 * do not stop it; if it is killed too, the next conduit replays the journal.
 */
#ifndef CONDUIT_VMM_STEWARD_H
#define CONDUIT_VMM_STEWARD_H

#include <sys/types.h>

struct steward {
	pid_t pid;   /* 0: none */
	int pipe_wr; /* conduit's end */
};

/* Forks it for the journal at path under root; 0, or -1 with one line logged. */
int steward_start(struct steward *s, const char *root, const char *path);
/* Lets it undo now and waits for it (after the devices are closed); 0 when it undid
 * everything. */
int steward_finish(struct steward *s);

#endif
