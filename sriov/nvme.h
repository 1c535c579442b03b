/*
 * NVMe SR-IOV: a VF's secondary controller does I/O only once its primary controller
 * (the PF) gave it flexible queue (VQ) and interrupt (VI) resources and brought it
 * online (NVMe Base Specification 2.0, 8.26 Virtualization Enhancements). The PF's
 * controller takes the commands through the nvme driver's admin passthrough ioctl:
 * Identify CNS 14h (Primary Controller Capabilities) and 15h (Secondary Controller
 * List), and Virtualization Management (opcode 1Ch).
 */
#ifndef CONDUIT_SRIOV_NVME_H
#define CONDUIT_SRIOV_NVME_H

#include "sriov/pf.h"

#include <linux/nvme_ioctl.h>
#include <stdbool.h>
#include <stdint.h>

#define NVME_ID_BUF 4096

/* Virtualization Management actions (CDW10 bits 3:0) and resource types (10:8) */
enum nvme_virt_act {
	NVME_VIRT_OFFLINE = 7, /* Secondary Offline */
	NVME_VIRT_ASSIGN = 8,  /* Secondary Assign */
	NVME_VIRT_ONLINE = 9,  /* Secondary Online */
};
enum nvme_virt_rt { NVME_VIRT_VQ = 0, NVME_VIRT_VI = 1 };

/* Identify Primary Controller Capabilities, the fields conduit uses */
struct nvme_primary_caps {
	uint16_t cntlid;
	uint8_t crt;		 /* bit 0: VQ resources, bit 1: VI resources */
	uint32_t vqfrt, vifrt;	 /* flexible resources in total */
	uint16_t vqfrsm, vifrsm; /* at most this many to one secondary controller */
	uint16_t vqgran, vigran; /* allocated in multiples of this */
};

/* One Secondary Controller Entry */
struct nvme_secondary {
	uint16_t scid; /* its controller ID */
	uint16_t vfn;  /* its VF number, from 1 (VF index + 1) */
	uint16_t nvq, nvi;
	bool online;
};

void nvme_identify_cmd(struct nvme_admin_cmd *cmd, uint8_t cns, void *buf);
void nvme_virt_cmd(struct nvme_admin_cmd *cmd, enum nvme_virt_act act, enum nvme_virt_rt rt,
		   uint16_t cntlid, uint16_t nr);
void nvme_parse_primary(const uint8_t *buf, struct nvme_primary_caps *out);
/* The list's entries into out (at most max); how many. */
unsigned int nvme_parse_secondaries(const uint8_t *buf, struct nvme_secondary *out,
				    unsigned int max);

/* Each of n VFs' even share of the flexible resources, in whole granules and within the
 * per-controller maximum; 0, or -1 with one line when a share cannot run a VF (an admin
 * and an I/O queue, one interrupt). */
int nvme_vf_share(const struct nvme_primary_caps *caps, unsigned int n, uint16_t *vq, uint16_t *vi,
		  const char *pf, char *err, size_t errlen);

/* The secondary controllers of the PF's controller (/dev/CTRL under root). */
int nvme_secondaries(const char *root, const char *ctrl, struct nvme_secondary *out,
		     unsigned int max, unsigned int *count, char *err, size_t errlen);

/*
 * Readies the PF's VFs for I/O: each offline one gets its share, is reset (sysfs reset)
 * and brought online; secondaries beyond the PF's VF count give their resources back.
 * VFs already online are left as they are. 0, or -1 with one line.
 */
int nvme_vfs_online(const char *root, const struct sriov_pf *pf, char *err, size_t errlen);

#endif
