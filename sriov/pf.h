/*
 * An SR-IOV physical function as the host shows it in sysfs, and the one change made
 * there: how many VFs it has (sriov_numvfs), with host-driver autoprobe of new VFs
 * (sriov_drivers_autoprobe) off unless asked for — VFs meant for guests should not
 * be grabbed by igbvf or nvme first.
 *
 * The facts come from the host inventory (the code behind `conduit devices`) and from
 * a few attributes it does not read; holders from vfio/holder.h. All under a root:
 * "/" on a host, a fake tree in unit tests.
 */
#ifndef CONDUIT_SRIOV_PF_H
#define CONDUIT_SRIOV_PF_H

#include "vfio/holder.h"
#include "vfio/host_check.h"

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

struct sriov_vf {
	unsigned int index; /* its number on the PF, from 0: virtfnN */
	char bdf[VFIO_BDF_LEN];
	char driver[64]; /* "": none bound */
	int group;	 /* IOMMU group; -1: none */
	struct vfio_holder holder;
};

struct sriov_pf {
	char bdf[VFIO_BDF_LEN];
	char driver[64];       /* "": none bound (then it cannot make VFs) */
	char netdev[IFNAMSIZ]; /* its network interface; "": none */
	bool is_nvme;	       /* an NVMe controller (class 0108h): its VFs need resources */
	char nvme[32];	       /* its NVMe controller (nvme0); "": none */
	unsigned int num_vfs, total_vfs;
	bool autoprobe;	      /* sriov_drivers_autoprobe */
	struct sriov_vf *vfs; /* num_vfs of them, by index */
};

/* 0 with pf filled (sriov_pf_free it), or -1 with one line in err naming the fix. */
int sriov_pf_read(const char *root, const char *bdf, struct sriov_pf *pf, char *err, size_t errlen);
void sriov_pf_free(struct sriov_pf *pf);

/* The PF of a VF and the VF's index on it; 0, or -1 with one line in err. */
int sriov_vf_locate(const char *root, const char *vf, char pf[VFIO_BDF_LEN], unsigned int *index,
		    char *err, size_t errlen);

/* The first VF someone holds, or NULL. */
const struct sriov_vf *sriov_pf_held_vf(const struct sriov_pf *pf);

/*
 * Gives the PF n VFs (0 removes them) with autoprobe as asked; refuses while a VF is
 * held. On failure the PF is put back as it was (its VF count and autoprobe) and err
 * says why. pf is read again afterwards by the caller.
 */
int sriov_pf_set_vfs(const char *root, const struct sriov_pf *pf, unsigned int n, bool autoprobe,
		     char *err, size_t errlen);

#endif
