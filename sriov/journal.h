/*
 * The journal of what a conduit changed on the host for managed assignment, so that
 * the change is undone whatever ends the process. Each step is appended (and synced)
 * before it is made, as one text line in /run/conduit/journal.PID:
 *
 *   conduit PID                            whose journal (for people reading it)
 *   bind BDF DRIVER|- OVERRIDE|-           BDF is moved from DRIVER (none: -) to vfio-pci;
 *                                          its driver_override was OVERRIDE
 *   vf IFNAME N mac=M vlan=V,Q spoofchk=0|1 trust=0|1 rate=MIN:MAX link=S
 *                                          VF N of IFNAME had these (only the keys that
 *                                          are about to change)
 *   released FROM TO                       steps FROM..TO-1 (counting lines from 0, the
 *                                          owner's) were undone already: a function
 *                                          added to the running guest and removed again
 *
 * Undoing replays it backwards: VF settings back, functions off vfio-pci, reset, on the
 * drivers they had. A step journaled but never made undoes to nothing.
 *
 * The journal file is flock()ed while its conduit lives (and while the steward process
 * that undoes it at the end does its work): a journal nobody has locked belongs to a
 * conduit that is gone (SIGKILL, a crash) and is replayed by the next conduit that
 * manages devices, or by `conduit sriov --recover`.
 */
#ifndef CONDUIT_SRIOV_JOURNAL_H
#define CONDUIT_SRIOV_JOURNAL_H

#include "sriov/vf_link.h"
#include "vfio/host_check.h"

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <sys/types.h>

#define JOURNAL_DIR "/run/conduit"

enum journal_kind { JOURNAL_OWNER, JOURNAL_BIND, JOURNAL_VF, JOURNAL_RELEASED };

struct journal_step {
	enum journal_kind kind;
	pid_t pid;		   /* owner */
	char bdf[VFIO_BDF_LEN];	   /* bind */
	char driver[64];	   /* bind: "" for none */
	char override[64];	   /* bind: its driver_override before; "" for none */
	char ifname[IFNAMSIZ];	   /* vf */
	unsigned int vf;	   /* vf */
	struct vf_link_change old; /* vf: the settings to put back */
	unsigned int from, to;	   /* released: the steps undone already */
};

struct journal {
	const char *root;
	char path[PATH_MAX]; /* under root */
	int fd;		     /* -1: none open */
	unsigned int steps;  /* lines written, the owner's included */
};

/* One line (without its newline) into a step; 0, or -1 when it is not one. */
int journal_parse(const char *line, struct journal_step *s);
/* A step as its line (with the newline); the line's length, or -1 if it does not fit. */
int journal_format(const struct journal_step *s, char *out, size_t len);

/* This process's journal, created with its owner line; 0, or -1 with one line. */
int journal_open(const char *root, struct journal *j, char *err, size_t errlen);
/* Appends a step and syncs it; 0, or -1 with one line. */
int journal_add(struct journal *j, const struct journal_step *s, char *err, size_t errlen);

/* Undoes steps from..to-1 of this process's own journal now, backwards, and appends
 * that they were (a `released` line, which a replay skips them by); the number of steps
 * that could not be undone (each logged). */
int journal_undo(struct journal *j, unsigned int from, unsigned int to);

/* Undoes the journal at path (host path under root) backwards and removes it; the
 * number of steps that could not be undone (each logged). */
int journal_replay(const char *root, const char *path);

/* Replays the journals nobody holds; how many it replayed. */
int journal_recover(const char *root);
void journal_close(struct journal *j);

#endif
