#include "sriov/claim.h"
#include "sriov/bind.h"
#include "sriov/pf.h"
#include "vfio/inventory.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int claims_begin(const char *root, struct claims *c, char *err, size_t errlen)
{
	*c = (struct claims){.root = root, .journal = {.fd = -1}};
	journal_recover(root);
	return journal_open(root, &c->journal, err, errlen);
}

void claims_end(struct claims *c)
{
	journal_close(&c->journal);
	for (unsigned int i = 0; i < c->nr_locks; i++)
		close(c->locks[i]);
	c->nr_locks = 0;
}

static int lock_open(const char *root, const char *bdf)
{
	char path[PATH_MAX];

	host_path(path, sizeof(path), root, JOURNAL_DIR "/lock.%s", bdf);
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

bool claim_is_locked(const char *root, const char *bdf)
{
	char path[PATH_MAX];
	bool locked;
	int fd;

	host_path(path, sizeof(path), root, JOURNAL_DIR "/lock.%s", bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC); /* none: never taken */
	locked = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;

	if (fd >= 0)
		close(fd);
	return locked;
}

/* 1: bdf is this conduit's now; 0: another conduit has it; -1: error in err. */
static int lock_take(struct claims *c, const char *bdf, char *err, size_t errlen)
{
	int fd;

	if (c->nr_locks == CLAIM_MAX_LOCKS)
		return log_to_buf(err, errlen, "%s: more than %d functions to take", bdf,
				  CLAIM_MAX_LOCKS);
	fd = lock_open(c->root, bdf);
	if (fd < 0)
		return log_to_buf(err, errlen, "cannot create " JOURNAL_DIR "/lock.%s: %s", bdf,
				  strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return 0;
	}
	c->locks[c->nr_locks++] = fd;
	return 1;
}

/* Onto vfio-pci, journaled first with the driver it had. */
static int take_function(struct claims *c, const char *bdf, char *err, size_t errlen)
{
	struct journal_step s = {.kind = JOURNAL_BIND};

	snprintf(s.bdf, sizeof(s.bdf), "%s", bdf);
	bind_driver(c->root, bdf, s.driver, sizeof(s.driver));
	if (!strcmp(s.driver, "vfio-pci"))
		return 0;
	bind_override(c->root, bdf, s.override, sizeof(s.override));
	if (journal_add(&c->journal, &s, err, errlen))
		return -1;
	log_info("vfio %s: managed: from %s to vfio-pci", bdf,
		 s.driver[0] ? s.driver : "no driver");
	return bind_vfio(c->root, bdf, err, errlen);
}

/* Drivers that leave an IOMMU group viable for VFIO (as vfio/host_check.c judges). */
static bool group_ok(const char *driver)
{
	return !driver || !strcmp(driver, "vfio-pci") || !strcmp(driver, "pci-stub") ||
	       !strcmp(driver, "pcieport");
}

/* Every other member of bdf's IOMMU group on a host driver goes to vfio-pci too. */
static int take_group(struct claims *c, const char *bdf, char *err, size_t errlen)
{
	char sysfs[PATH_MAX], *name = (char *)bdf;
	struct inventory_list one = {.names = &name, .count = 1};
	struct inventory_source src = {.sysfs = sysfs};
	struct inventory inv, members;
	int ret = 0;

	host_path(sysfs, sizeof(sysfs), c->root, "/sys");
	if (inventory_read(&src, &one, &inv) || inv.count != 1)
		return log_to_buf(err, errlen, "%s: cannot read its IOMMU group (above)", bdf);
	if (inv.devs[0].group_members.count &&
	    !inventory_read(&src, &inv.devs[0].group_members, &members)) {
		for (size_t i = 0; i < members.count && !ret; i++)
			if (!group_ok(members.devs[i].driver))
				ret = take_function(c, members.devs[i].bdf, err, errlen);
		inventory_free(&members);
	}
	inventory_free(&inv);
	return ret;
}

/* A VF auto may take: no host driver (or vfio-pci already), nobody holding it, and
 * this conduit gets its lock. */
static int vf_free(struct claims *c, const struct sriov_vf *vf, char *err, size_t errlen)
{
	if ((vf->driver[0] && strcmp(vf->driver, "vfio-pci")) || vf->holder.pid)
		return 0;
	return lock_take(c, vf->bdf, err, errlen);
}

static const struct sriov_vf *pick_auto(struct claims *c, const struct sriov_pf *pf, char *err,
					size_t errlen)
{
	for (unsigned int i = 0; i < pf->num_vfs; i++) {
		int ret = vf_free(c, &pf->vfs[i], err, errlen);

		if (ret)
			return ret > 0 ? &pf->vfs[i] : NULL;
	}
	log_to_buf(err, errlen,
		   "--vfio pf=%s,vf=auto: none of its %u VFs is free (`conduit sriov %s` shows "
		   "who has them; --vfs N makes more)",
		   pf->bdf, pf->num_vfs, pf->bdf);
	return NULL;
}

static const struct sriov_vf *pick_named(struct claims *c, const struct sriov_pf *pf,
					 unsigned int n, char *err, size_t errlen)
{
	const struct sriov_vf *vf;
	int ret;

	if (n >= pf->num_vfs) {
		log_to_buf(err, errlen,
			   "--vfio pf=%s,vf=%u: it has %u VFs (`conduit sriov %s --vfs N`)",
			   pf->bdf, n, pf->num_vfs, pf->bdf);
		return NULL;
	}
	vf = &pf->vfs[n];
	if (vf->holder.pid) {
		log_to_buf(err, errlen, "--vfio pf=%s,vf=%u: %s is in use by pid %d (%s)", pf->bdf,
			   n, vf->bdf, (int)vf->holder.pid, vf->holder.comm);
		return NULL;
	}
	ret = lock_take(c, vf->bdf, err, errlen);
	if (!ret)
		log_to_buf(err, errlen,
			   "--vfio pf=%s,vf=%u: %s is taken by another conduit (or named twice)",
			   pf->bdf, n, vf->bdf);
	return ret > 0 ? vf : NULL;
}

/* The old values of the settings about to change. */
static void old_settings(const struct vf_link *now, const struct vf_link_change *want,
			 struct vf_link_change *old)
{
	*old = (struct vf_link_change){
		.set_mac = want->set_mac,
		.set_vlan = want->set_vlan,
		.set_spoofchk = want->set_spoofchk && now->spoofchk >= 0,
		.set_trust = want->set_trust && now->trust >= 0,
		.set_rate = want->set_rate,
		.set_link = want->set_link && now->link_state >= 0,
		.vlan = now->vlan,
		.qos = now->qos,
		.spoofchk = now->spoofchk > 0,
		.trust = now->trust > 0,
		.min_rate = now->min_rate,
		.max_rate = now->max_rate,
		.link_state =
			now->link_state > 0 ? (enum vf_link_state)now->link_state : VF_LINK_AUTO,
	};
	memcpy(old->mac, now->mac, 6);
}

static bool any_setting(const struct vf_link_change *s)
{
	return s->set_mac || s->set_vlan || s->set_spoofchk || s->set_trust || s->set_rate ||
	       s->set_link;
}

static int apply_settings(struct claims *c, const struct sriov_pf *pf, const struct sriov_vf *vf,
			  const struct vf_link_change *want, char *err, size_t errlen)
{
	struct journal_step s = {.kind = JOURNAL_VF, .vf = vf->index};
	struct vf_link *now;
	int ret;

	if (!any_setting(want))
		return 0;
	if (!pf->netdev[0])
		return log_to_buf(
			err, errlen,
			"--vfio pf=%s: mac=, vlan=, trust=, spoofchk= need the PF's network "
			"interface, and it has none (driver %s)",
			pf->bdf, pf->driver[0] ? pf->driver : "none");
	now = calloc(vf->index + 1, sizeof(*now));
	if (!now)
		return log_to_buf(err, errlen, "VF %s: out of memory", vf->bdf);
	ret = vf_link_read(pf->netdev, now, vf->index + 1, err, errlen);
	if (!ret) {
		snprintf(s.ifname, sizeof(s.ifname), "%s", pf->netdev);
		old_settings(&now[vf->index], want, &s.old);
		ret = journal_add(&c->journal, &s, err, errlen) ||
		      vf_link_apply(pf->netdev, vf->index, want, err, errlen);
	}
	free(now);
	return ret ? -1 : 0;
}

static int claim_vf(struct claims *c, const struct claim_request *r, char bdf[VFIO_BDF_LEN],
		    char *err, size_t errlen)
{
	const struct sriov_vf *vf;
	struct sriov_pf pf;
	int ret = -1;

	if (sriov_pf_read(c->root, r->pf, &pf, err, errlen))
		return -1;
	vf = r->vf == CLAIM_VF_AUTO ? pick_auto(c, &pf, err, errlen)
				    : pick_named(c, &pf, (unsigned int)r->vf, err, errlen);
	if (vf) {
		snprintf(bdf, VFIO_BDF_LEN, "%s", vf->bdf);
		log_info("vfio %s: VF %u of %s, managed", vf->bdf, vf->index, pf.bdf);
		ret = apply_settings(c, &pf, vf, &r->settings, err, errlen);
	}
	sriov_pf_free(&pf);
	return ret;
}

int claim_function(struct claims *c, const struct claim_request *r, char bdf[VFIO_BDF_LEN],
		   char *err, size_t errlen)
{
	int ret;

	if (r->pf) {
		if (claim_vf(c, r, bdf, err, errlen))
			return -1;
	} else {
		if (!vfio_bdf_canon(r->host, bdf))
			return log_to_buf(err, errlen, "--vfio host=%s: not a PCI function address",
					  r->host);
		ret = lock_take(c, bdf, err, errlen);
		if (ret <= 0)
			return ret ? -1
				   : log_to_buf(err, errlen,
						"--vfio host=%s: taken by another conduit (or "
						"named twice)",
						bdf);
	}
	if (!host_exists(c->root, "/sys/bus/pci/devices/%s", bdf))
		return log_to_buf(err, errlen,
				  "no PCI function %s on this host: `conduit devices` lists them",
				  bdf);
	return take_group(c, bdf, err, errlen) || take_function(c, bdf, err, errlen) ? -1 : 0;
}

int claim_hot(struct claims *c, const struct claim_request *r, char bdf[VFIO_BDF_LEN],
	      struct claim_span *span, char *err, size_t errlen)
{
	unsigned int locks = c->nr_locks;
	int ret;

	span->from = c->journal.steps;
	ret = claim_function(c, r, bdf, err, errlen);
	span->to = c->journal.steps;
	span->lock = c->nr_locks > locks ? c->locks[locks] : -1;
	if (ret)
		claim_release(c, span);
	return ret;
}

int claim_release(struct claims *c, const struct claim_span *span)
{
	int failed = journal_undo(&c->journal, span->from, span->to);

	for (unsigned int i = 0; span->lock >= 0 && i < c->nr_locks; i++) {
		if (c->locks[i] != span->lock)
			continue;
		close(span->lock);
		c->locks[i] = c->locks[--c->nr_locks];
		break;
	}
	return failed ? -1 : 0;
}
