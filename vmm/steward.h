/*
 * The steward: a child process forked once conduit has taken its functions on the host
 * for managed assignment, before it opens any device. It waits on a socket whose only
 * other end is conduit's; when that closes — at the normal end, or because conduit died
 * in any way, SIGKILL included — it undoes conduit's journal (sriov/journal.h), the
 * devices released by then. It inherits the journal's and the functions' locks, so no
 * other conduit takes or replays them meanwhile; a function taken later (hot-added)
 * sends it a copy of its lock over the socket, and the steward lets that go when told.
 * Termination signals meant for conduit do not stop it; if it is killed too, the next
 * conduit replays the journal.
 */
#ifndef CONDUIT_VMM_STEWARD_H
#define CONDUIT_VMM_STEWARD_H

#include <sys/types.h>

struct steward {
	pid_t pid; /* 0: none */
	int sock;  /* conduit's end */
};

/* Forks it for the journal at path under root; 0, or -1 with one line logged. */
int steward_start(struct steward *s, const char *root, const char *path);
/* Hands it a copy of a lock taken after the start (a hot-added function), to hold
 * until steward_drop(lock) or the end; 0, or -1 with one line logged. */
int steward_hold(struct steward *s, int lock);
/* It lets its copy of lock go (the function went back to the host). */
void steward_drop(struct steward *s, int lock);

/* Lets it undo now and waits for it (after the devices are closed); 0 when it undid
 * everything. */
int steward_finish(struct steward *s);

#endif
