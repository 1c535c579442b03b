/* SR-IOV management (`conduit sriov`) on fake host trees: an igb PF with VFs in sysfs
 * (as libpci's sysfs method and Linux lay them out), a process holding a VF's VFIO
 * group in /proc; the NVMe commands' encodings and the resource shares; the netlink
 * request that changes a VF, parsed back attribute by attribute. */
#include "sriov/nvme.h"
#include "sriov/pf.h"
#include "sriov/vf_link.h"
#include "tests/common/fake_tree.h"
#include "tests/unit/check.h"
#include "vmm/sriov_cmd.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PF  "0000:00:03.0"
#define VF0 "0000:00:12.0"
#define VF1 "0000:00:12.2"

static char root[256];
static char err[1024];

static const char *attr(const char *bdf, const char *name)
{
	return tree_at("%s/sys/bus/pci/devices/%s/%s", root, bdf, name);
}

static void add_fn(const char *bdf, unsigned int device, unsigned int class, int group,
		   const char *driver)
{
	tree_pci_fn(root, bdf, device, class, group, driver);
}

/* An igb PF with 2 of 7 VFs (autoprobe on, interface eth0): VF 0 on vfio-pci and held
 * by pid 4321 (conduit) through /dev/vfio/9, VF 1 without a driver. */
static void host_fresh(void)
{
	tree_remove(root);
	tree_mkdirs(root);
	add_fn(PF, 0x10c9, 0x020000, 8, "igb");
	tree_put_text(attr(PF, "sriov_totalvfs"), "7\n");
	tree_put_text(attr(PF, "sriov_numvfs"), "2\n");
	tree_put_text(attr(PF, "sriov_drivers_autoprobe"), "1\n");
	tree_mkdirs(attr(PF, "net/eth0"));
	add_fn(VF0, 0x10ca, 0x020000, 9, "vfio-pci");
	add_fn(VF1, 0x10ca, 0x020000, 10, "");
	tree_link("../" VF0, attr(PF, "virtfn0"));
	tree_link("../" VF1, attr(PF, "virtfn1"));
	tree_link("../" PF, attr(VF0, "physfn"));
	tree_link("../" PF, attr(VF1, "physfn"));
	tree_mkdirs(tree_at("%s/proc/4321/fd", root));
	tree_put_text(tree_at("%s/proc/4321/comm", root), "conduit\n");
	tree_link("/dev/null", tree_at("%s/proc/4321/fd/0", root));
	tree_link("/dev/vfio/9", tree_at("%s/proc/4321/fd/7", root));
	tree_mkdirs(tree_at("%s/proc/sys", root)); /* not a process */
}

static void read_text(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, out, len - 1);

	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (fd >= 0)
		close(fd);
}

static void test_pf_read(void)
{
	struct sriov_pf pf;

	host_fresh();
	CHECK(sriov_pf_read(root, "00:03.0", &pf, err, sizeof(err)) == 0);
	CHECK(!strcmp(pf.bdf, PF) && !strcmp(pf.driver, "igb") && !strcmp(pf.netdev, "eth0"));
	CHECK(pf.num_vfs == 2 && pf.total_vfs == 7 && pf.autoprobe && !pf.is_nvme);
	CHECK(pf.vfs[0].index == 0 && !strcmp(pf.vfs[0].bdf, VF0));
	CHECK(!strcmp(pf.vfs[0].driver, "vfio-pci") && pf.vfs[0].group == 9);
	CHECK(pf.vfs[0].holder.pid == 4321 && !strcmp(pf.vfs[0].holder.comm, "conduit"));
	CHECK(pf.vfs[1].index == 1 && !strcmp(pf.vfs[1].bdf, VF1) && !pf.vfs[1].driver[0]);
	CHECK(pf.vfs[1].holder.pid == 0);
	CHECK(sriov_pf_held_vf(&pf) == &pf.vfs[0]);
	sriov_pf_free(&pf);

	CHECK(sriov_pf_read(root, VF1, &pf, err, sizeof(err)) == -1);
	CHECK(strstr(err, "a VF, not a PF") && strstr(err, "conduit sriov " PF));
	CHECK(sriov_pf_read(root, "0000:00:1f.0", &pf, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no PCI function 0000:00:1f.0") && strstr(err, "conduit devices"));
	CHECK(sriov_pf_read(root, "eth0", &pf, err, sizeof(err)) == -1);
	CHECK(strstr(err, "'eth0' is not a PCI function address"));
	CHECK(!strstr(err, root));
}

static void test_vf_locate(void)
{
	char pf[VFIO_BDF_LEN];
	unsigned int index = 99;

	host_fresh();
	CHECK(sriov_vf_locate(root, VF1, pf, &index, err, sizeof(err)) == 0);
	CHECK(!strcmp(pf, PF) && index == 1);
	CHECK(sriov_vf_locate(root, PF, pf, &index, err, sizeof(err)) == -1);
	CHECK(strstr(err, PF ": not a VF"));
}

/* Held VFs: the cdev of the iommufd interface counts as much as the group. */
static void test_holder_cdev(void)
{
	struct vfio_holder h;

	host_fresh();
	vfio_holder_find(root, 10, NULL, &h);
	CHECK(h.pid == 0);
	tree_link("/dev/vfio/devices/vfio3", tree_at("%s/proc/4321/fd/8", root));
	vfio_holder_find(root, -1, "vfio3", &h);
	CHECK(h.pid == 4321);
	vfio_holder_find(root, -1, "vfio4", &h);
	CHECK(h.pid == 0);
}

static void check_attrs(const char *numvfs, const char *autoprobe)
{
	char text[32];

	read_text(attr(PF, "sriov_numvfs"), text, sizeof(text));
	CHECK(!strcmp(text, numvfs));
	read_text(attr(PF, "sriov_drivers_autoprobe"), text, sizeof(text));
	CHECK(!strcmp(text, autoprobe));
}

static void test_set_vfs(void)
{
	struct sriov_pf pf;

	host_fresh();
	CHECK(sriov_pf_read(root, PF, &pf, err, sizeof(err)) == 0);
	/* held: nothing is written */
	CHECK(sriov_pf_set_vfs(root, &pf, 3, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "VF 0 (" VF0 ") is in use by pid 4321 (conduit)"));
	check_attrs("2", "1");
	pf.vfs[0].holder.pid = 0; /* let go */
	CHECK(sriov_pf_set_vfs(root, &pf, 8, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "8 VFs asked for, it has at most 7"));
	check_attrs("2", "1");
	/* through 0, autoprobe off (a regular file keeps the last write) */
	CHECK(sriov_pf_set_vfs(root, &pf, 3, false, err, sizeof(err)) == 0);
	check_attrs("3", "0");
	CHECK(sriov_pf_set_vfs(root, &pf, 0, true, err, sizeof(err)) == 0);
	check_attrs("0", "1");
	/* a driver that refuses (a write to /dev/full fails): autoprobe back as it was */
	tree_put_text(attr(PF, "sriov_drivers_autoprobe"), "1\n");
	tree_link("/dev/full", attr(PF, "sriov_numvfs"));
	CHECK(sriov_pf_set_vfs(root, &pf, 3, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "its driver igb refused 3 VFs"));
	check_attrs("", "1");
	pf.driver[0] = '\0';
	CHECK(sriov_pf_set_vfs(root, &pf, 1, false, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no driver bound"));
	sriov_pf_free(&pf);
}

/* ---- NVMe ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void test_nvme_commands(void)
{
	uint8_t buf[NVME_ID_BUF];
	struct nvme_admin_cmd cmd;

	nvme_identify_cmd(&cmd, 0x15, buf);
	CHECK(cmd.opcode == 0x06 && cmd.cdw10 == 0x15 && cmd.data_len == 4096);
	CHECK(cmd.addr == (uint64_t)(uintptr_t)buf);
	/* nvme-cli's virt-mgmt -c 3 -r 1 -a 8 -n 2 */
	nvme_virt_cmd(&cmd, NVME_VIRT_ASSIGN, NVME_VIRT_VI, 3, 2);
	CHECK(cmd.opcode == 0x1c && cmd.cdw10 == (8 | 1 << 8 | 3 << 16) && cmd.cdw11 == 2);
	CHECK(cmd.data_len == 0 && cmd.addr == 0);
	nvme_virt_cmd(&cmd, NVME_VIRT_ONLINE, NVME_VIRT_VQ, 0x1234, 0);
	CHECK(cmd.cdw10 == (9 | 0x1234u << 16) && cmd.cdw11 == 0);
}

static void test_nvme_parse(void)
{
	uint8_t buf[NVME_ID_BUF] = {0};
	struct nvme_secondary s[4];
	struct nvme_primary_caps c;

	put16(buf, 0x41);
	buf[4] = 3;
	put16(buf + 32, 8); /* VQFRT */
	put16(buf + 34, 1); /* its high half: 65544 */
	put16(buf + 44, 4); /* VQFRSM */
	put16(buf + 46, 1); /* VQGRAN */
	put16(buf + 64, 4); /* VIFRT */
	put16(buf + 76, 2); /* VIFRSM */
	put16(buf + 78, 1); /* VIGRAN */
	nvme_parse_primary(buf, &c);
	CHECK(c.cntlid == 0x41 && c.crt == 3 && c.vqfrt == 65544 && c.vqfrsm == 4);
	CHECK(c.vqgran == 1 && c.vifrt == 4 && c.vifrsm == 2 && c.vigran == 1);

	memset(buf, 0, sizeof(buf));
	buf[0] = 3;
	put16(buf + 32, 1), buf[32 + 4] = 1, put16(buf + 32 + 8, 1);
	put16(buf + 32 + 10, 4), put16(buf + 32 + 12, 2);
	put16(buf + 64, 2), buf[64 + 4] = 0, put16(buf + 64 + 8, 2);
	put16(buf + 96, 7), buf[96 + 4] = 0xfe, put16(buf + 96 + 8, 3);
	CHECK(nvme_parse_secondaries(buf, s, 4) == 3);
	CHECK(s[0].scid == 1 && s[0].online && s[0].vfn == 1 && s[0].nvq == 4 && s[0].nvi == 2);
	CHECK(s[1].scid == 2 && !s[1].online && s[1].vfn == 2 && !s[1].nvq);
	CHECK(s[2].scid == 7 && !s[2].online && s[2].vfn == 3); /* only bit 0 is the state */
	CHECK(nvme_parse_secondaries(buf, s, 2) == 2);
	buf[0] = 255; /* more than a list holds: 127 */
	CHECK(nvme_parse_secondaries(buf, s, 4) == 4);
}

/* The testbed's controller: 8 flexible queues, 4 interrupts (QEMU nvme sriov_*). */
static void test_nvme_share(void)
{
	struct nvme_primary_caps c = {.crt = 3, .vqfrt = 8, .vifrt = 4};
	uint16_t vq = 0, vi = 0;

	CHECK(nvme_vf_share(&c, 2, &vq, &vi, PF, err, sizeof(err)) == 0 && vq == 4 && vi == 2);
	CHECK(nvme_vf_share(&c, 3, &vq, &vi, PF, err, sizeof(err)) == 0 && vq == 2 && vi == 1);
	CHECK(nvme_vf_share(&c, 5, &vq, &vi, PF, err, sizeof(err)) == -1);
	CHECK(strstr(err, "5 VFs would get 1 queues and 0 interrupts") && strstr(err, "fewer VFs"));
	c.vqfrsm = 3;
	c.vqgran = 2;
	CHECK(nvme_vf_share(&c, 1, &vq, &vi, PF, err, sizeof(err)) == 0 && vq == 2 && vi == 4);
	c.crt = 1;
	CHECK(nvme_vf_share(&c, 1, &vq, &vi, PF, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no flexible queue and interrupt resources"));
}

/* ---- netlink ---- */

/* The IFLA_VF_* attributes of the one IFLA_VF_INFO in a change request for ifindex. */
static bool vf_attrs(struct nl_msg *msg, int ifindex, struct nlattr **vf)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct ifinfomsg *ifi = nlmsg_data(h);
	struct nlattr *tb[IFLA_MAX + 1], *info;
	int rem, n = 0;

	if (nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) || !tb[IFLA_VFINFO_LIST] ||
	    ifi->ifi_index != ifindex)
		return false;
	nla_for_each_nested(info, tb[IFLA_VFINFO_LIST], rem)
	{
		if (nla_type(info) != IFLA_VF_INFO || nla_parse_nested(vf, IFLA_VF_MAX, info, NULL))
			return false;
		n++;
	}
	return n == 1;
}

static void test_netlink_all(void)
{
	struct vf_link_change c = {
		.set_mac = true,
		.mac = {0x52, 0x54, 0, 0xab, 0xcd, 0xef},
		.set_vlan = true,
		.vlan = 100,
		.qos = 3,
		.set_spoofchk = true,
		.spoofchk = false,
		.set_trust = true,
		.trust = true,
		.set_rate = true,
		.min_rate = 10,
		.max_rate = 900,
		.set_link = true,
		.link_state = VF_LINK_OFF,
	};
	struct nlattr *vf[IFLA_VF_MAX + 1];
	struct nl_msg *msg = NULL;

	CHECK(vf_link_build(7, 2, &c, &msg) == 0 && msg);
	if (!msg || !vf_attrs(msg, 7, vf)) {
		CHECK(!"a change request with one IFLA_VF_INFO for ifindex 7");
		nlmsg_free(msg);
		return;
	}
	struct ifla_vf_mac *mac = vf[IFLA_VF_MAC] ? nla_data(vf[IFLA_VF_MAC]) : NULL;
	struct ifla_vf_vlan *vlan = vf[IFLA_VF_VLAN] ? nla_data(vf[IFLA_VF_VLAN]) : NULL;
	struct ifla_vf_spoofchk *sc = vf[IFLA_VF_SPOOFCHK] ? nla_data(vf[IFLA_VF_SPOOFCHK]) : NULL;
	struct ifla_vf_trust *tr = vf[IFLA_VF_TRUST] ? nla_data(vf[IFLA_VF_TRUST]) : NULL;
	struct ifla_vf_rate *rate = vf[IFLA_VF_RATE] ? nla_data(vf[IFLA_VF_RATE]) : NULL;
	struct ifla_vf_link_state *ls =
		vf[IFLA_VF_LINK_STATE] ? nla_data(vf[IFLA_VF_LINK_STATE]) : NULL;

	CHECK(mac && mac->vf == 2 && !memcmp(mac->mac, c.mac, 6));
	CHECK(vlan && vlan->vf == 2 && vlan->vlan == 100 && vlan->qos == 3);
	CHECK(sc && sc->vf == 2 && sc->setting == 0);
	CHECK(tr && tr->vf == 2 && tr->setting == 1);
	CHECK(rate && rate->vf == 2 && rate->min_tx_rate == 10 && rate->max_tx_rate == 900);
	CHECK(ls && ls->vf == 2 && ls->link_state == IFLA_VF_LINK_STATE_DISABLE);
	nlmsg_free(msg);
}

/* Only what is asked for goes to the driver: a trust change carries no MAC. */
static void test_netlink_only_asked(void)
{
	struct vf_link_change c = {.set_trust = true, .trust = false};
	struct nlattr *vf[IFLA_VF_MAX + 1];
	struct nl_msg *msg = NULL;

	CHECK(vf_link_build(3, 0, &c, &msg) == 0 && msg);
	CHECK(msg && vf_attrs(msg, 3, vf));
	if (msg && vf_attrs(msg, 3, vf)) {
		CHECK(vf[IFLA_VF_TRUST] && !vf[IFLA_VF_MAC] && !vf[IFLA_VF_VLAN]);
		CHECK(!vf[IFLA_VF_SPOOFCHK] && !vf[IFLA_VF_RATE] && !vf[IFLA_VF_LINK_STATE]);
	}
	nlmsg_free(msg);
}

/* ---- the command ---- */

/* sriov_cmd with argv, its standard output in out. */
static int run_cmd(char *out, size_t len, const char *a1, const char *a2, const char *a3)
{
	const char *path = tree_at("%s/stdout", root);
	char *argv[] = {"sriov", (char *)a1, (char *)a2, (char *)a3, NULL};
	int argc = 1 + !!a1 + !!a2 + !!a3, saved, fd, ret;
	ssize_t n;

	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	ret = sriov_cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	fd = open(path, O_RDONLY);
	n = read(fd, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return ret;
}

static void test_cmd(void)
{
	static char out[16384];
	json_object *o, *vfs, *vf0, *v;
	int lock;

	host_fresh();
	setenv("CONDUIT_HOST_ROOT", root, 1);
	CHECK(run_cmd(out, sizeof(out), PF, "--json", NULL) == 0);
	o = json_tokener_parse(out);
	CHECK(o && json_object_object_get_ex(o, "vfs", &vfs));
	CHECK(json_object_object_get_ex(o, "num_vfs", &v) && json_object_get_int(v) == 2);
	CHECK(json_object_object_get_ex(o, "autoprobe", &v) && json_object_get_boolean(v));
	vf0 = o ? json_object_array_get_idx(vfs, 0) : NULL;
	CHECK(vf0 && json_object_object_get_ex(vf0, "in_use_by", &v) &&
	      json_object_object_get_ex(v, "pid", &v) && json_object_get_int(v) == 4321);
	json_object_put(o);
	/* a VF alone shows its PF; plain text names the holder */
	CHECK(run_cmd(out, sizeof(out), VF1, NULL, NULL) == 0);
	CHECK(strstr(out, "PF " PF "  driver igb  interface eth0  VFs 2 of 7  autoprobe on"));
	CHECK(strstr(out, "pid 4321 (conduit)"));
	CHECK(run_cmd(out, sizeof(out), PF, "--vfs", "3") == 1); /* VF 0 is held */
	check_attrs("2", "1");
	/* a VF a conduit has taken, not yet opened: in use too */
	unlink(tree_at("%s/proc/4321/fd/7", root));
	tree_mkdirs(tree_at("%s/run/conduit", root));
	lock = open(tree_at("%s/run/conduit/lock.%s", root, VF1), O_RDWR | O_CREAT, 0600);
	CHECK(lock >= 0 && flock(lock, LOCK_EX) == 0);
	CHECK(run_cmd(out, sizeof(out), PF, "--vfs", "3") == 1);
	check_attrs("2", "1");
	close(lock);
	CHECK(run_cmd(out, sizeof(out), PF, "--vfs", "3") == 0);
	check_attrs("3", "0");
	tree_put_text(attr(PF, "sriov_numvfs"), "2\n");
	tree_put_text(attr(PF, "sriov_drivers_autoprobe"), "1\n");
	CHECK(run_cmd(out, sizeof(out), PF, "--autoprobe", NULL) == 1);
	CHECK(run_cmd(out, sizeof(out), PF, "--trust", "maybe") == 1);
	CHECK(run_cmd(out, sizeof(out), VF1, "--rate", "1:2:3") == 1);
	CHECK(run_cmd(out, sizeof(out), VF1, "--mac", "01:00:5e:00:00:01") == 1);
	CHECK(run_cmd(out, sizeof(out), PF, "--bogus", NULL) == 1);
	CHECK(run_cmd(out, sizeof(out), PF, VF1, NULL) == 1);
	unsetenv("CONDUIT_HOST_ROOT");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(root, sizeof(root), "%s/conduit-sriov-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_pf_read();
	test_vf_locate();
	test_holder_cdev();
	test_set_vfs();
	test_nvme_commands();
	test_nvme_parse();
	test_nvme_share();
	test_netlink_all();
	test_netlink_only_asked();
	test_cmd();
	tree_remove(root);
	return CHECK_DONE();
}
