#include "sriov/nvme.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define OPC_IDENTIFY	   0x06
#define OPC_VIRT_MGMT	   0x1c
#define CNS_PRIMARY_CAPS   0x14
#define CNS_SECONDARY_LIST 0x15
#define SECONDARY_MAX	   127 /* entries in one Secondary Controller List */

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)le16_at(p) | (uint32_t)le16_at(p + 2) << 16;
}

/* Identify: CNS in CDW10 bits 7:0, a 4 KiB structure back. */
void nvme_identify_cmd(struct nvme_admin_cmd *cmd, uint8_t cns, void *buf)
{
	*cmd = (struct nvme_admin_cmd){
		.opcode = OPC_IDENTIFY,
		.addr = (uint64_t)(uintptr_t)buf,
		.data_len = NVME_ID_BUF,
		.cdw10 = cns,
	};
}

/* Virtualization Management: CDW10 ACT 3:0, RT 10:8, CNTLID 31:16; CDW11 NR 15:0. */
void nvme_virt_cmd(struct nvme_admin_cmd *cmd, enum nvme_virt_act act, enum nvme_virt_rt rt,
		   uint16_t cntlid, uint16_t nr)
{
	*cmd = (struct nvme_admin_cmd){
		.opcode = OPC_VIRT_MGMT,
		.cdw10 = (uint32_t)act | (uint32_t)rt << 8 | (uint32_t)cntlid << 16,
		.cdw11 = nr,
	};
}

/* Primary Controller Capabilities: CNTLID at 0, CRT at 4, the VQ fields from byte 32,
 * the VI fields from byte 64. */
void nvme_parse_primary(const uint8_t *buf, struct nvme_primary_caps *out)
{
	*out = (struct nvme_primary_caps){
		.cntlid = le16_at(buf),
		.crt = buf[4],
		.vqfrt = le32_at(buf + 32),
		.vqfrsm = le16_at(buf + 44),
		.vqgran = le16_at(buf + 46),
		.vifrt = le32_at(buf + 64),
		.vifrsm = le16_at(buf + 76),
		.vigran = le16_at(buf + 78),
	};
}

/* Secondary Controller List: the count in byte 0, 32-byte entries from byte 32 (SCID 0,
 * SCS 4 with bit 0 = online, VFN 8, NVQ 10, NVI 12). */
unsigned int nvme_parse_secondaries(const uint8_t *buf, struct nvme_secondary *out,
				    unsigned int max)
{
	unsigned int n = buf[0] < SECONDARY_MAX ? buf[0] : SECONDARY_MAX;

	if (n > max)
		n = max;
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *e = buf + 32 + 32 * i;

		out[i] = (struct nvme_secondary){
			.scid = le16_at(e),
			.online = e[4] & 1,
			.vfn = le16_at(e + 8),
			.nvq = le16_at(e + 10),
			.nvi = le16_at(e + 12),
		};
	}
	return n;
}

static uint16_t share_of(uint32_t total, unsigned int n, uint16_t max, uint16_t gran)
{
	uint32_t s = total / n;

	if (max && s > max)
		s = max;
	if (gran > 1)
		s -= s % gran;
	return s > UINT16_MAX ? UINT16_MAX : (uint16_t)s;
}

int nvme_vf_share(const struct nvme_primary_caps *caps, unsigned int n, uint16_t *vq, uint16_t *vi,
		  const char *pf, char *err, size_t errlen)
{
	if ((caps->crt & 3) != 3)
		return log_to_buf(
			err, errlen,
			"sriov %s: its NVMe controller has no flexible queue and interrupt "
			"resources to give VFs (CRT %#x)",
			pf, caps->crt);
	if (!n)
		return 0;
	*vq = share_of(caps->vqfrt, n, caps->vqfrsm, caps->vqgran);
	*vi = share_of(caps->vifrt, n, caps->vifrsm, caps->vigran);
	if (*vq < 2 || *vi < 1)
		return log_to_buf(
			err, errlen,
			"sriov %s: %u VFs would get %u queues and %u interrupts each (of %u "
			"and %u flexible); a VF needs 2 queues and 1 interrupt: use fewer VFs",
			pf, n, *vq, *vi, caps->vqfrt, caps->vifrt);
	return 0;
}

struct ctrl {
	int fd;
	const char *pf, *name;
	char *err;
	size_t errlen;
};

static int ctrl_admin(struct ctrl *c, struct nvme_admin_cmd *cmd, const char *what)
{
	int ret = ioctl(c->fd, NVME_IOCTL_ADMIN_CMD, cmd);

	if (ret < 0)
		return log_to_buf(c->err, c->errlen, "sriov %s: %s on /dev/%s failed: %s", c->pf,
				  what, c->name, strerror(errno));
	if (ret > 0)
		return log_to_buf(c->err, c->errlen,
				  "sriov %s: %s on /dev/%s failed: NVMe status %#x", c->pf, what,
				  c->name, ret);
	return 0;
}

static int ctrl_open(const char *root, struct ctrl *c)
{
	char path[PATH_MAX];

	host_path(path, sizeof(path), root, "/dev/%s", c->name);
	c->fd = open(path, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return log_to_buf(c->err, c->errlen, "sriov %s: cannot open /dev/%s: %s", c->pf,
				  c->name, strerror(errno));
	return 0;
}

static int ctrl_identify(struct ctrl *c, uint8_t cns, uint8_t *buf)
{
	struct nvme_admin_cmd cmd;

	nvme_identify_cmd(&cmd, cns, buf);
	return ctrl_admin(c, &cmd,
			  cns == CNS_PRIMARY_CAPS ? "Identify Primary Controller Capabilities"
						  : "Identify Secondary Controller List");
}

static int ctrl_virt(struct ctrl *c, enum nvme_virt_act act, enum nvme_virt_rt rt, uint16_t scid,
		     uint16_t nr)
{
	struct nvme_admin_cmd cmd;
	char what[96];

	snprintf(what, sizeof(what),
		 "Virtualization Management (action %u, resource %u, %u) "
		 "for secondary controller %u",
		 act, rt, nr, scid);
	nvme_virt_cmd(&cmd, act, rt, scid, nr);
	return ctrl_admin(c, &cmd, what);
}

static int ctrl_secondaries(struct ctrl *c, struct nvme_secondary *out, unsigned int max,
			    unsigned int *count)
{
	uint8_t buf[NVME_ID_BUF] = {0};

	if (ctrl_identify(c, CNS_SECONDARY_LIST, buf))
		return -1;
	*count = nvme_parse_secondaries(buf, out, max);
	return 0;
}

int nvme_secondaries(const char *root, const char *ctrl, struct nvme_secondary *out,
		     unsigned int max, unsigned int *count, char *err, size_t errlen)
{
	struct ctrl c = {.pf = ctrl, .name = ctrl, .err = err, .errlen = errlen};
	int ret;

	if (ctrl_open(root, &c))
		return -1;
	ret = ctrl_secondaries(&c, out, max, count);
	close(c.fd);
	return ret;
}

/* Resources, a function-level reset (the secondary takes them at reset), online. */
static int vf_bring_online(const char *root, struct ctrl *c, const struct sriov_vf *vf,
			   const struct nvme_secondary *s, uint16_t vq, uint16_t vi)
{
	int ret;

	if (vf->driver[0])
		return log_to_buf(c->err, c->errlen,
				  "sriov %s: NVMe VF %u (%s) is offline but bound to %s: unbind it "
				  "first",
				  c->pf, vf->index, vf->bdf, vf->driver);
	if (ctrl_virt(c, NVME_VIRT_ASSIGN, NVME_VIRT_VI, s->scid, vi) ||
	    ctrl_virt(c, NVME_VIRT_ASSIGN, NVME_VIRT_VQ, s->scid, vq))
		return -1;
	ret = host_write_line(root, "1", "/sys/bus/pci/devices/%s/reset", vf->bdf);
	if (ret)
		return log_to_buf(c->err, c->errlen, "sriov %s: cannot reset VF %s: %s", c->pf,
				  vf->bdf, strerror(-ret));
	return ctrl_virt(c, NVME_VIRT_ONLINE, NVME_VIRT_VQ, s->scid, 0);
}

static const struct nvme_secondary *find_vfn(const struct nvme_secondary *s, unsigned int n,
					     unsigned int vfn)
{
	for (unsigned int i = 0; i < n; i++)
		if (s[i].vfn == vfn)
			return &s[i];
	return NULL;
}

/* Offline secondaries of VFs that no longer exist give their resources back, so the
 * shares of the VFs that do add up. */
static int release_unused(struct ctrl *c, const struct nvme_secondary *s, unsigned int n,
			  unsigned int num_vfs)
{
	for (unsigned int i = 0; i < n; i++) {
		if (s[i].vfn <= num_vfs || s[i].online || (!s[i].nvq && !s[i].nvi))
			continue;
		if (ctrl_virt(c, NVME_VIRT_ASSIGN, NVME_VIRT_VQ, s[i].scid, 0) ||
		    ctrl_virt(c, NVME_VIRT_ASSIGN, NVME_VIRT_VI, s[i].scid, 0))
			return -1;
	}
	return 0;
}

static int online_all(const char *root, struct ctrl *c, const struct sriov_pf *pf)
{
	uint8_t buf[NVME_ID_BUF] = {0};
	struct nvme_secondary s[SECONDARY_MAX];
	struct nvme_primary_caps caps;
	unsigned int n;
	uint16_t vq = 0, vi = 0;

	if (ctrl_identify(c, CNS_PRIMARY_CAPS, buf))
		return -1;
	nvme_parse_primary(buf, &caps);
	if (nvme_vf_share(&caps, pf->num_vfs, &vq, &vi, pf->bdf, c->err, c->errlen) ||
	    ctrl_secondaries(c, s, SECONDARY_MAX, &n) || release_unused(c, s, n, pf->num_vfs))
		return -1;
	for (unsigned int i = 0; i < pf->num_vfs; i++) {
		const struct nvme_secondary *sc = find_vfn(s, n, i + 1);

		if (!sc)
			return log_to_buf(c->err, c->errlen,
					  "sriov %s: no secondary controller for VF %u", pf->bdf,
					  i);
		if (!sc->online && vf_bring_online(root, c, &pf->vfs[i], sc, vq, vi))
			return -1;
	}
	return 0;
}

int nvme_vfs_online(const char *root, const struct sriov_pf *pf, char *err, size_t errlen)
{
	struct ctrl c = {.pf = pf->bdf, .name = pf->nvme, .err = err, .errlen = errlen};
	int ret;

	if (!pf->nvme[0])
		return log_to_buf(err, errlen,
				  "sriov %s: an NVMe PF without an nvme controller: bind it to the "
				  "nvme driver, which passes conduit's commands to it",
				  pf->bdf);
	if (ctrl_open(root, &c))
		return -1;
	ret = online_all(root, &c, pf);
	close(c.fd);
	return ret;
}
