/*
 * Managed assignment: before a guest gets a function, conduit takes it on the host —
 * picks a free VF of a PF (or the one named), locks it against other conduits, gives
 * it the network settings asked for, and moves it (and any member of its IOMMU group
 * still on a host driver) to vfio-pci. Every change is journaled before it is made
 * (sriov/journal.h), so whatever ends conduit, the host goes back as it was.
 */
#ifndef CONDUIT_SRIOV_CLAIM_H
#define CONDUIT_SRIOV_CLAIM_H

#include "sriov/journal.h"
#include "sriov/vf_link.h"

#include <stdbool.h>

#define CLAIM_VF_AUTO	-1
#define CLAIM_MAX_LOCKS 64

/* What --vfio asked for. */
struct claim_request {
	const char *host;		/* host=BDF (managed=on), or NULL with pf= */
	const char *pf;			/* pf=BDF: one of its VFs */
	int vf;				/* vf=N, or CLAIM_VF_AUTO */
	struct vf_link_change settings; /* pf= only */
};

struct claims {
	const char *root;
	struct journal journal;
	int locks[CLAIM_MAX_LOCKS]; /* one flock()ed file per function taken */
	unsigned int nr_locks;
};

/* Replays stale journals, then opens this process's; 0, or -1 with one line. */
int claims_begin(const char *root, struct claims *c, char *err, size_t errlen);

/* Takes the function r names, its address into bdf; 0, or -1 with one line. What was
 * done before a failure stays journaled for the undo. */
int claim_function(struct claims *c, const struct claim_request *r, char bdf[VFIO_BDF_LEN],
		   char *err, size_t errlen);

/* What taking one function added to a running guest did: its journal steps and the
 * lock it holds (-1: none). */
struct claim_span {
	unsigned int from, to;
	int lock;
};

/* claim_function for a function added to the running guest: span says what is its.
 * On failure, what was done is undone at once. */
int claim_hot(struct claims *c, const struct claim_request *r, char bdf[VFIO_BDF_LEN],
	      struct claim_span *span, char *err, size_t errlen);

/* Gives back what claim_hot took once the guest let it go and it is closed: its steps
 * undone now (and journaled as released), its lock let go; 0 if all went back. */
int claim_release(struct claims *c, const struct claim_span *span);

/* Closes the journal and the locks (the steward keeps its copies until it undid all). */
void claims_end(struct claims *c);

/* The lock file of a function: held while a conduit has it. */
bool claim_is_locked(const char *root, const char *bdf);

#endif
