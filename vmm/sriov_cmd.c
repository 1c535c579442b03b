/*
 * `conduit sriov`: shows an SR-IOV PF and its VFs (driver, IOMMU group, network
 * settings or NVMe secondary controller, who holds each), sets its VF count, and
 * changes a VF's network settings through its PF.
 */
#include "vmm/sriov_cmd.h"
#include "sriov/claim.h"
#include "sriov/journal.h"
#include "sriov/nvme.h"
#include "sriov/pf.h"
#include "sriov/vf_link.h"
#include "vmm/api/json.h"
#include "vmm/base/log.h"
#include "vmm/options.h"
#include "vmm/vm_exit.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sriov_args {
	const char *target;
	bool json, autoprobe, set_vfs, recover;
	unsigned int vfs;
	struct vf_link_change change;
};

/* What one table shows: the PF, and per VF its network settings or secondary. */
struct sriov_view {
	struct sriov_pf pf;
	struct vf_link *links;		/* num_vfs, when the PF has a netdev */
	struct nvme_secondary sec[127]; /* when it is an NVMe PF on nvme */
	unsigned int nsec;
};

static void sriov_usage(FILE *out)
{
	fputs("usage: conduit sriov PF [--json]\n"
	      "       conduit sriov PF --vfs N [--autoprobe]\n"
	      "       conduit sriov --recover\n"
	      "       conduit sriov VF [--mac MAC] [--vlan ID[,QOS]] [--spoofchk on|off]\n"
	      "                        [--trust on|off] [--rate [MIN:]MAX] [--link auto|on|off]\n"
	      "Shows an SR-IOV physical function (DDDD:BB:DD.F) and its VFs: driver, IOMMU group,\n"
	      "network settings (NIC PFs) or secondary controller (NVMe PFs), and the process\n"
	      "holding each through VFIO.\n"
	      "  --vfs N        enable N VFs (0 removes them; refused while a VF is in use);\n"
	      "                 host drivers do not probe them unless --autoprobe. On an NVMe\n"
	      "                 PF each VF also gets its share of queues and interrupts and is\n"
	      "                 brought online.\n"
	      "  --mac, --vlan, --spoofchk, --trust, --rate (Mbit/s), --link: a VF's settings,\n"
	      "                 kept by its PF's driver (as `ip link set PF vf N ...`)\n"
	      "  --recover      undo what managed assignment of conduits that are gone (SIGKILL,\n"
	      "                 a crash) left on the host; each conduit start does it too\n"
	      "  --json         print JSON\n"
	      "CONDUIT_HOST_ROOT=DIR reads sysfs, /proc and /dev under DIR (for tests).\n",
	      out);
}

/* --vlan ID[,QOS]: 802.1Q VLAN 0-4095 (0: none), priority 0-7 */
static int parse_vlan(const char *val, struct vf_link_change *c)
{
	char id[16];
	const char *comma = strchr(val, ',');
	size_t len = comma ? (size_t)(comma - val) : strlen(val);

	c->set_vlan = true;
	snprintf(id, sizeof(id), "%.*s", (int)(len < sizeof(id) ? len : sizeof(id) - 1), val);
	if (len < sizeof(id) && !options_parse_uint(id, 4095, &c->vlan) &&
	    (!comma || !options_parse_uint(comma + 1, 7, &c->qos)))
		return 0;
	log_error("--vlan %s: write a VLAN ID 0-4095 (0: none) and optionally ,QOS 0-7", val);
	return -1;
}

/* --rate [MIN:]MAX in Mbit/s, 0 = no limit */
static int parse_rate(const char *val, struct vf_link_change *c)
{
	const char *colon = strchr(val, ':');
	char min[16];

	c->set_rate = true;
	if (!colon && !options_parse_uint(val, UINT32_MAX, &c->max_rate))
		return 0;
	if (colon && (size_t)(colon - val) < sizeof(min)) {
		snprintf(min, sizeof(min), "%.*s", (int)(colon - val), val);
		if (!options_parse_uint(min, UINT32_MAX, &c->min_rate) &&
		    !options_parse_uint(colon + 1, UINT32_MAX, &c->max_rate))
			return 0;
	}
	log_error("--rate %s: write [MIN:]MAX in Mbit/s, e.g. 1000 or 100:1000 (0: no limit)", val);
	return -1;
}

static int parse_link(const char *val, struct vf_link_change *c)
{
	static const char *const names[] = {"auto", "on", "off"};

	c->set_link = true;
	for (unsigned int i = 0; i < 3; i++)
		if (!strcmp(val, names[i])) {
			c->link_state = (enum vf_link_state)i;
			return 0;
		}
	log_error("--link %s: write auto (follow the PF), on or off", val);
	return -1;
}

static bool any_vf_setting(const struct vf_link_change *c)
{
	return c->set_mac || c->set_vlan || c->set_spoofchk || c->set_trust || c->set_rate ||
	       c->set_link;
}

static int parse_option(int opt, const char *val, struct sriov_args *a)
{
	struct vf_link_change *c = &a->change;

	switch (opt) {
	case 'j':
		a->json = true;
		return 0;
	case 'a':
		a->autoprobe = true;
		return 0;
	case 'R':
		a->recover = true;
		return 0;
	case 'n':
		a->set_vfs = true;
		if (!options_parse_uint(val, 65535, &a->vfs))
			return 0;
		log_error("--vfs %s: write a number of VFs (0 removes them)", val);
		return -1;
	case 'm':
		c->set_mac = true;
		return options_parse_mac("--mac", val, c->mac);
	case 'v':
		return parse_vlan(val, c);
	case 's':
		c->set_spoofchk = true;
		return options_parse_on_off("--spoofchk", val, &c->spoofchk);
	case 't':
		c->set_trust = true;
		return options_parse_on_off("--trust", val, &c->trust);
	case 'r':
		return parse_rate(val, c);
	default:
		return parse_link(val, c);
	}
}

/* OPTIONS_OK with a filled, OPTIONS_HELP, or OPTIONS_ERROR with one line printed. */
static enum options_result parse_args(int argc, char **argv, struct sriov_args *a)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},	 {"autoprobe", no_argument, NULL, 'a'},
		{"vfs", required_argument, NULL, 'n'},	 {"mac", required_argument, NULL, 'm'},
		{"vlan", required_argument, NULL, 'v'},	 {"spoofchk", required_argument, NULL, 's'},
		{"trust", required_argument, NULL, 't'}, {"rate", required_argument, NULL, 'r'},
		{"link", required_argument, NULL, 'l'},	 {"help", no_argument, NULL, 'h'},
		{"recover", no_argument, NULL, 'R'},	 {NULL, 0, NULL, 0},
	};
	int opt;

	*a = (struct sriov_args){0};
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (opt == 'h') {
			sriov_usage(stdout);
			return OPTIONS_HELP;
		}
		if (opt == '?' || opt == ':') {
			log_error("%s option '%s': see conduit sriov --help",
				  opt == ':' ? "missing value for" : "unknown", argv[optind - 1]);
			return OPTIONS_ERROR;
		}
		if (parse_option(opt, optarg, a))
			return OPTIONS_ERROR;
	}
	if (a->recover && optind == argc)
		return OPTIONS_OK;
	if (optind != argc - 1) {
		log_error("conduit sriov takes one PCI function (a PF, or a VF to change): see "
			  "conduit sriov --help");
		return OPTIONS_ERROR;
	}
	a->target = argv[optind];
	if (a->autoprobe && !a->set_vfs) {
		log_error("--autoprobe goes with --vfs N: it says whether host drivers probe "
			  "the new VFs");
		return OPTIONS_ERROR;
	}
	if (a->set_vfs && any_vf_setting(&a->change)) {
		log_error("--vfs changes a PF, --mac/--vlan/... a VF: give them in two commands");
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

static const char *host_root(void)
{
	const char *root = getenv("CONDUIT_HOST_ROOT");

	return root && *root ? root : "/";
}

/* The PF and what its driver and controller say about the VFs; a part that cannot be
 * read is left out with a warning. */
static int view_read(const char *root, const char *bdf, struct sriov_view *v)
{
	char err[512];

	memset(v, 0, sizeof(*v));
	if (sriov_pf_read(root, bdf, &v->pf, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	if (v->pf.netdev[0] && v->pf.num_vfs) {
		v->links = calloc(v->pf.num_vfs, sizeof(*v->links));
		if (v->links &&
		    vf_link_read(v->pf.netdev, v->links, v->pf.num_vfs, err, sizeof(err)))
			log_warn("%s", err);
	}
	if (v->pf.nvme[0] &&
	    nvme_secondaries(root, v->pf.nvme, v->sec, 127, &v->nsec, err, sizeof(err)))
		log_warn("%s", err);
	return 0;
}

static void view_free(struct sriov_view *v)
{
	free(v->links);
	sriov_pf_free(&v->pf);
}

static const struct nvme_secondary *view_secondary(const struct sriov_view *v, unsigned int i)
{
	for (unsigned int k = 0; k < v->nsec; k++)
		if (v->sec[k].vfn == i + 1)
			return &v->sec[k];
	return NULL;
}

static const struct vf_link *view_link(const struct sriov_view *v, unsigned int i)
{
	return v->links && v->links[i].known ? &v->links[i] : NULL;
}

static const char *link_state_name(int s)
{
	return s == VF_LINK_AUTO  ? "auto"
	       : s == VF_LINK_ON  ? "on"
	       : s == VF_LINK_OFF ? "off"
				  : NULL;
}

static const char *on_off(int v)
{
	return v < 0 ? NULL : v ? "on" : "off";
}

static void format_mac(const uint8_t *m, char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void holder_text(const struct vfio_holder *h, char *out, size_t len)
{
	if (h->pid)
		snprintf(out, len, "pid %d (%s)", (int)h->pid, h->comm);
	else
		snprintf(out, len, "-");
}

static void print_net_row(const struct sriov_vf *vf, const struct vf_link *l, const char *user)
{
	char mac[18] = "-", vlan[16] = "-", rate[32] = "-";

	if (l) {
		format_mac(l->mac, mac);
		if (l->vlan || l->qos)
			snprintf(vlan, sizeof(vlan), "%u,%u", l->vlan, l->qos);
		if (l->min_rate || l->max_rate)
			snprintf(rate, sizeof(rate), "%u:%u", l->min_rate, l->max_rate);
	}
	printf("%-3u %-13s %-9s %-6d %-18s %-7s %-9s %-6s %-12s %-5s %s\n", vf->index, vf->bdf,
	       or_dash(vf->driver), vf->group, mac, vlan, or_dash(l ? on_off(l->spoofchk) : NULL),
	       or_dash(l ? on_off(l->trust) : NULL), rate,
	       or_dash(l ? link_state_name(l->link_state) : NULL), user);
}

static void print_nvme_row(const struct sriov_vf *vf, const struct nvme_secondary *s,
			   const char *user)
{
	char scid[8] = "-", nvq[8] = "-", nvi[8] = "-";

	if (s) {
		snprintf(scid, sizeof(scid), "%u", s->scid);
		snprintf(nvq, sizeof(nvq), "%u", s->nvq);
		snprintf(nvi, sizeof(nvi), "%u", s->nvi);
	}
	printf("%-3u %-13s %-9s %-6d %-10s %-8s %-7s %-11s %s\n", vf->index, vf->bdf,
	       or_dash(vf->driver), vf->group, scid, s ? (s->online ? "online" : "offline") : "-",
	       nvq, nvi, user);
}

static void print_plain(const struct sriov_view *v)
{
	const struct sriov_pf *pf = &v->pf;
	bool nvme = pf->is_nvme;
	char user[64];

	printf("PF %s  driver %s  %s %s  VFs %u of %u  autoprobe %s\n", pf->bdf,
	       or_dash(pf->driver), nvme ? "controller" : "interface",
	       or_dash(nvme ? pf->nvme : pf->netdev), pf->num_vfs, pf->total_vfs,
	       pf->autoprobe ? "on" : "off");
	if (!pf->num_vfs)
		return;
	if (nvme)
		printf("%-3s %-13s %-9s %-6s %-10s %-8s %-7s %-11s %s\n", "VF", "BDF", "driver",
		       "group", "secondary", "state", "queues", "interrupts", "in use by");
	else
		printf("%-3s %-13s %-9s %-6s %-18s %-7s %-9s %-6s %-12s %-5s %s\n", "VF", "BDF",
		       "driver", "group", "MAC", "VLAN", "spoofchk", "trust", "rate", "link",
		       "in use by");
	for (unsigned int i = 0; i < pf->num_vfs; i++) {
		holder_text(&pf->vfs[i].holder, user, sizeof(user));
		if (nvme)
			print_nvme_row(&pf->vfs[i], view_secondary(v, i), user);
		else
			print_net_row(&pf->vfs[i], view_link(v, i), user);
	}
}

static json_object *json_on_off(int v)
{
	return v < 0 ? NULL : json_object_new_boolean(v);
}

static void json_add_link(json_object *o, const struct vf_link *l)
{
	char mac[18];

	format_mac(l->mac, mac);
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "vlan", json_object_new_int((int)l->vlan));
	json_object_object_add(o, "qos", json_object_new_int((int)l->qos));
	json_object_object_add(o, "spoofchk", json_on_off(l->spoofchk));
	json_object_object_add(o, "trust", json_on_off(l->trust));
	json_object_object_add(o, "min_rate_mbps", json_object_new_int64(l->min_rate));
	json_object_object_add(o, "max_rate_mbps", json_object_new_int64(l->max_rate));
	json_object_object_add(o, "link_state", json_str_or_null(link_state_name(l->link_state)));
}

static json_object *json_secondary(const struct nvme_secondary *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "controller_id", json_object_new_int(s->scid));
	json_object_object_add(o, "online", json_object_new_boolean(s->online));
	json_object_object_add(o, "queues", json_object_new_int(s->nvq));
	json_object_object_add(o, "interrupts", json_object_new_int(s->nvi));
	return o;
}

static json_object *json_holder(const struct vfio_holder *h)
{
	json_object *o;

	if (!h->pid)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(h->pid));
	json_object_object_add(o, "comm", json_object_new_string(h->comm));
	return o;
}

static json_object *json_vf(const struct sriov_view *v, unsigned int i)
{
	const struct sriov_vf *vf = &v->pf.vfs[i];
	const struct nvme_secondary *s = view_secondary(v, i);
	const struct vf_link *l = view_link(v, i);
	json_object *o = json_object_new_object();

	json_object_object_add(o, "index", json_object_new_int((int)vf->index));
	json_object_object_add(o, "bdf", json_object_new_string(vf->bdf));
	json_object_object_add(o, "driver", json_str_or_null(vf->driver));
	json_object_object_add(o, "iommu_group",
			       vf->group < 0 ? NULL : json_object_new_int(vf->group));
	if (l)
		json_add_link(o, l);
	if (s)
		json_object_object_add(o, "secondary_controller", json_secondary(s));
	json_object_object_add(o, "in_use_by", json_holder(&vf->holder));
	return o;
}

static void print_json(const struct sriov_view *v)
{
	const struct sriov_pf *pf = &v->pf;
	json_object *o = json_object_new_object(), *vfs = json_object_new_array();

	json_object_object_add(o, "bdf", json_object_new_string(pf->bdf));
	json_object_object_add(o, "driver", json_str_or_null(pf->driver));
	json_object_object_add(o, "interface", json_str_or_null(pf->netdev));
	json_object_object_add(o, "nvme_controller", json_str_or_null(pf->nvme));
	json_object_object_add(o, "num_vfs", json_object_new_int((int)pf->num_vfs));
	json_object_object_add(o, "total_vfs", json_object_new_int((int)pf->total_vfs));
	json_object_object_add(o, "autoprobe", json_object_new_boolean(pf->autoprobe));
	for (unsigned int i = 0; i < pf->num_vfs; i++)
		json_object_array_add(vfs, json_vf(v, i));
	json_object_object_add(o, "vfs", vfs);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(o);
}

static int show(const char *root, const char *pf, bool json)
{
	struct sriov_view v;

	if (view_read(root, pf, &v))
		return EXIT_BAD_INPUT;
	if (json)
		print_json(&v);
	else
		print_plain(&v);
	view_free(&v);
	return 0;
}

/* An NVMe PF's new VFs get their resources; when that fails the VF count goes back. */
static int nvme_ready(const char *root, const struct sriov_pf *old, char *err, size_t errlen)
{
	struct sriov_pf now;
	char undo[512];
	int ret;

	if (sriov_pf_read(root, old->bdf, &now, err, errlen))
		return -1;
	ret = nvme_vfs_online(root, &now, err, errlen);
	if (ret && sriov_pf_set_vfs(root, &now, old->num_vfs, old->autoprobe, undo, sizeof(undo)))
		log_error("%s", undo);
	sriov_pf_free(&now);
	return ret;
}

/* A VF a conduit has taken (managed assignment) counts as in use even before that
 * conduit opens it. */
static int taken_vf(const char *root, const struct sriov_pf *pf, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < pf->num_vfs; i++)
		if (claim_is_locked(root, pf->vfs[i].bdf))
			return log_to_buf(err, errlen,
					  "sriov %s: VF %u (%s) is taken by a conduit (managed "
					  "assignment): stop it before changing the VF count",
					  pf->bdf, i, pf->vfs[i].bdf);
	return 0;
}

static int set_vfs(const char *root, const struct sriov_args *a)
{
	struct sriov_pf pf;
	char err[512];
	int ret;

	if (sriov_pf_read(root, a->target, &pf, err, sizeof(err))) {
		log_error("%s", err);
		return EXIT_BAD_INPUT;
	}
	ret = taken_vf(root, &pf, err, sizeof(err)) ||
	      sriov_pf_set_vfs(root, &pf, a->vfs, a->autoprobe, err, sizeof(err));
	if (!ret && pf.is_nvme && a->vfs)
		ret = nvme_ready(root, &pf, err, sizeof(err));
	sriov_pf_free(&pf);
	if (ret) {
		log_error("%s", err);
		return EXIT_BAD_INPUT;
	}
	return show(root, a->target, a->json);
}

static int set_vf(const char *root, const struct sriov_args *a)
{
	char pf_bdf[VFIO_BDF_LEN], err[512];
	struct sriov_pf pf;
	unsigned int index;
	int ret;

	if (sriov_vf_locate(root, a->target, pf_bdf, &index, err, sizeof(err)) ||
	    sriov_pf_read(root, pf_bdf, &pf, err, sizeof(err))) {
		log_error("%s", err);
		return EXIT_BAD_INPUT;
	}
	ret = pf.netdev[0]
		      ? vf_link_apply(pf.netdev, index, &a->change, err, sizeof(err))
		      : log_to_buf(err, sizeof(err),
				   "sriov %s: its PF %s has no network interface (driver %s): VF "
				   "network settings are kept by a NIC PF's host driver",
				   a->target, pf_bdf, or_dash(pf.driver));
	sriov_pf_free(&pf);
	if (ret) {
		log_error("%s", err);
		return EXIT_BAD_INPUT;
	}
	return show(root, pf_bdf, a->json);
}

/* What conduits that are gone left on the host goes back (their journals). */
static int recover(const char *root)
{
	int n = journal_recover(root);

	printf("%d journal%s of conduits that are gone replayed\n", n, n == 1 ? "" : "s");
	return 0;
}

/* A VF named alone shows its PF. */
static int show_target(const char *root, const struct sriov_args *a)
{
	char pf[VFIO_BDF_LEN], err[512];
	unsigned int index;

	if (!sriov_vf_locate(root, a->target, pf, &index, err, sizeof(err)))
		return show(root, pf, a->json);
	return show(root, a->target, a->json);
}

int sriov_cmd(int argc, char **argv)
{
	const char *root = host_root();
	struct sriov_args a;

	switch (parse_args(argc, argv, &a)) {
	case OPTIONS_HELP:
		return 0;
	case OPTIONS_ERROR:
		return EXIT_BAD_INPUT;
	default:
		break;
	}
	if (a.recover)
		return recover(root);
	if (a.set_vfs)
		return set_vfs(root, &a);
	if (any_vf_setting(&a.change))
		return set_vf(root, &a);
	return show_target(root, &a);
}
