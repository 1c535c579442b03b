#include "sriov/pf.h"
#include "vfio/inventory.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYSFS_PCI "/sys/bus/pci/devices/"

/* inventory_read of the named functions under root. */
static int read_facts(const char *root, char **names, size_t count, struct inventory *inv)
{
	struct inventory_list list = {.names = names, .count = count};
	char sysfs[PATH_MAX];
	struct inventory_source src = {.sysfs = sysfs};

	host_path(sysfs, sizeof(sysfs), root, "/sys");
	return inventory_read(&src, &list, inv);
}

static const struct inventory_dev *find_dev(const struct inventory *inv, const char *bdf)
{
	for (size_t i = 0; i < inv->count; i++)
		if (!strcmp(inv->devs[i].bdf, bdf))
			return &inv->devs[i];
	return NULL;
}

/* The first entry of a sysfs directory of the device (net/eth0, nvme/nvme0). */
static void first_entry(const char *root, const char *bdf, const char *sub, char *out, size_t len)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	out[0] = '\0';
	host_path(path, sizeof(path), root, SYSFS_PCI "%s/%s", bdf, sub);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && snprintf(out, len, "%s", e->d_name) < (int)len)
			break;
	closedir(d);
}

static void vf_fill(const char *root, struct sriov_vf *vf, unsigned int index,
		    const struct inventory_dev *d)
{
	char cdev[64];

	vf->index = index;
	snprintf(vf->bdf, sizeof(vf->bdf), "%s", d->bdf);
	snprintf(vf->driver, sizeof(vf->driver), "%s", d->driver ? d->driver : "");
	vf->group = d->iommu_group;
	vfio_holder_find(root, vf->group,
			 vfio_device_cdev(root, vf->bdf, cdev, sizeof(cdev)) ? cdev : NULL,
			 &vf->holder);
}

/* Each VF's driver, group and holder, by index. */
static int read_vfs(const char *root, const struct inventory_dev *p, struct sriov_pf *pf, char *err,
		    size_t errlen)
{
	struct inventory inv;
	int ret = 0;

	pf->num_vfs = (unsigned int)p->vfs.count;
	if (!pf->num_vfs)
		return 0;
	pf->vfs = calloc(pf->num_vfs, sizeof(*pf->vfs));
	if (!pf->vfs)
		return log_to_buf(err, errlen, "sriov %s: out of memory", pf->bdf);
	if (read_facts(root, p->vfs.names, p->vfs.count, &inv))
		return log_to_buf(err, errlen,
				  "sriov %s: cannot read its VFs (the line above says why)",
				  pf->bdf);
	for (unsigned int i = 0; i < pf->num_vfs && !ret; i++) {
		const struct inventory_dev *d = find_dev(&inv, p->vfs.names[i]);

		if (d)
			vf_fill(root, &pf->vfs[i], i, d);
		else
			ret = log_to_buf(err, errlen, "sriov %s: VF %u (%s) vanished while read",
					 pf->bdf, i, p->vfs.names[i]);
	}
	inventory_free(&inv);
	return ret;
}

static int pf_fill(const char *root, const struct inventory_dev *p, struct sriov_pf *pf, char *err,
		   size_t errlen)
{
	char line[16];

	if (p->physfn)
		return log_to_buf(err, errlen,
				  "sriov %s: a VF, not a PF: its PF is %s (`conduit sriov %s`)",
				  pf->bdf, p->physfn, p->physfn);
	if (!p->sriov)
		return log_to_buf(
			err, errlen,
			"sriov %s: not an SR-IOV PF (no sriov_totalvfs): `conduit devices` "
			"shows which functions have VFs",
			pf->bdf);
	snprintf(pf->driver, sizeof(pf->driver), "%s", p->driver ? p->driver : "");
	pf->is_nvme = p->class_id == 0x0108;
	pf->total_vfs = p->total_vfs > 0 ? (unsigned int)p->total_vfs : 0;
	pf->autoprobe = host_read_line(root, line, sizeof(line),
				       SYSFS_PCI "%s/sriov_drivers_autoprobe", pf->bdf) ||
			strcmp(line, "0");
	first_entry(root, pf->bdf, "net", pf->netdev, sizeof(pf->netdev));
	first_entry(root, pf->bdf, "nvme", pf->nvme, sizeof(pf->nvme));
	return read_vfs(root, p, pf, err, errlen);
}

int sriov_pf_read(const char *root, const char *bdf, struct sriov_pf *pf, char *err, size_t errlen)
{
	struct inventory inv;
	char *name = pf->bdf;
	int ret;

	memset(pf, 0, sizeof(*pf));
	if (!vfio_bdf_canon(bdf, pf->bdf))
		return log_to_buf(
			err, errlen,
			"sriov: '%s' is not a PCI function address; expected DDDD:BB:DD.F "
			"(e.g. 0000:01:00.0)",
			bdf);
	if (!host_exists(root, SYSFS_PCI "%s", pf->bdf))
		return log_to_buf(
			err, errlen,
			"sriov: no PCI function %s on this host: `conduit devices` lists them",
			pf->bdf);
	if (read_facts(root, &name, 1, &inv) || inv.count != 1)
		return log_to_buf(
			err, errlen,
			"sriov %s: cannot read its facts from sysfs (the line above says why)",
			pf->bdf);
	ret = pf_fill(root, &inv.devs[0], pf, err, errlen);
	inventory_free(&inv);
	if (ret)
		sriov_pf_free(pf);
	return ret;
}

void sriov_pf_free(struct sriov_pf *pf)
{
	free(pf->vfs);
	pf->vfs = NULL;
	pf->num_vfs = 0;
}

int sriov_vf_locate(const char *root, const char *vf, char pf[VFIO_BDF_LEN], unsigned int *index,
		    char *err, size_t errlen)
{
	char bdf[VFIO_BDF_LEN], target[64];

	if (!vfio_bdf_canon(vf, bdf))
		return log_to_buf(
			err, errlen,
			"sriov: '%s' is not a PCI function address; expected DDDD:BB:DD.F", vf);
	if (host_link_name(root, target, sizeof(target), SYSFS_PCI "%s/physfn", bdf) ||
	    !vfio_bdf_canon(target, pf))
		return log_to_buf(
			err, errlen,
			"sriov %s: not a VF (no physfn link): name a VF, or its PF to see "
			"its VFs",
			bdf);
	for (unsigned int i = 0; i < 4096; i++) {
		if (host_link_name(root, target, sizeof(target), SYSFS_PCI "%s/virtfn%u", pf, i))
			break;
		if (!strcmp(target, bdf)) {
			*index = i;
			return 0;
		}
	}
	return log_to_buf(err, errlen, "sriov %s: its PF %s does not list it among its VFs", bdf,
			  pf);
}

const struct sriov_vf *sriov_pf_held_vf(const struct sriov_pf *pf)
{
	for (unsigned int i = 0; i < pf->num_vfs; i++)
		if (pf->vfs[i].holder.pid)
			return &pf->vfs[i];
	return NULL;
}

static int write_attr(const char *root, const char *bdf, const char *attr, unsigned int value)
{
	char text[16];

	snprintf(text, sizeof(text), "%u", value);
	return host_write_line(root, text, SYSFS_PCI "%s/%s", bdf, attr);
}

static int set_vfs_refused(const struct sriov_pf *pf, unsigned int n, char *err, size_t errlen)
{
	const struct sriov_vf *held = sriov_pf_held_vf(pf);

	if (n > pf->total_vfs)
		return log_to_buf(err, errlen,
				  "sriov %s: %u VFs asked for, it has at most %u (sriov_totalvfs)",
				  pf->bdf, n, pf->total_vfs);
	if (held)
		return log_to_buf(err, errlen,
				  "sriov %s: VF %u (%s) is in use by pid %d (%s): stop it before "
				  "changing the VF count",
				  pf->bdf, held->index, held->bdf, (int)held->holder.pid,
				  held->holder.comm);
	if (!pf->driver[0])
		return log_to_buf(
			err, errlen,
			"sriov %s: no driver bound; its host driver (igb, nvme, ...) makes "
			"the VFs: bind it first",
			pf->bdf);
	return 0;
}

/*
 * The kernel takes a new VF count only from 0 (PCIe SR-IOV: NumVFs changes while VF
 * Enable is clear), so a change goes through 0. Autoprobe applies to VFs created after
 * it is set.
 */
int sriov_pf_set_vfs(const char *root, const struct sriov_pf *pf, unsigned int n, bool autoprobe,
		     char *err, size_t errlen)
{
	int ret;

	if (set_vfs_refused(pf, n, err, errlen))
		return -1;
	ret = write_attr(root, pf->bdf, "sriov_drivers_autoprobe", autoprobe);
	if (ret)
		return log_to_buf(err, errlen, "sriov %s: cannot set sriov_drivers_autoprobe: %s",
				  pf->bdf, strerror(-ret));
	if (n == pf->num_vfs)
		return 0;
	if (pf->num_vfs && n)
		ret = write_attr(root, pf->bdf, "sriov_numvfs", 0);
	if (!ret)
		ret = write_attr(root, pf->bdf, "sriov_numvfs", n);
	if (!ret)
		return 0;
	/* as it was: the old count (through 0) and autoprobe */
	write_attr(root, pf->bdf, "sriov_numvfs", 0);
	if (pf->num_vfs)
		write_attr(root, pf->bdf, "sriov_numvfs", pf->num_vfs);
	write_attr(root, pf->bdf, "sriov_drivers_autoprobe", pf->autoprobe);
	return log_to_buf(err, errlen,
			  "sriov %s: its driver %s refused %u VFs: %s (dmesg says more)", pf->bdf,
			  pf->driver, n, strerror(-ret));
}
