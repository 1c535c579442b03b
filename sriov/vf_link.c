#include "sriov/vf_link.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <linux/if_link.h>
#include <netlink/errno.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <string.h>

static struct nl_sock *vf_socket(const char *ifname, char *err, size_t errlen)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk) {
		log_to_buf(err, errlen, "sriov %s: out of memory for a netlink socket", ifname);
		return NULL;
	}
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret) {
		log_to_buf(err, errlen, "sriov %s: cannot open rtnetlink: %s", ifname,
			   nl_geterror(ret));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* The PF's link with its VF list (libnl asks with RTEXT_FILTER_VF). */
static struct rtnl_link *vf_get_link(struct nl_sock *sk, const char *ifname, char *err,
				     size_t errlen)
{
	struct rtnl_link *link = NULL;
	int ret = rtnl_link_get_kernel(sk, 0, ifname, &link);

	if (ret)
		log_to_buf(err, errlen, "sriov: no network interface %s: %s", ifname,
			   nl_geterror(ret));
	return ret ? NULL : link;
}

static void vf_read_one(struct rtnl_link_vf *v, struct vf_link *out)
{
	struct nl_addr *addr = NULL;
	nl_vf_vlans_t *vlans = NULL;
	struct nl_vf_rate rate = {.api = RTNL_LINK_VF_RATE_API_NEW};
	uint32_t u;

	*out = (struct vf_link){.known = true, .spoofchk = -1, .trust = -1, .link_state = -1};
	if (!rtnl_link_vf_get_addr(v, &addr) && nl_addr_get_len(addr) >= 6)
		memcpy(out->mac, nl_addr_get_binary_addr(addr), 6);
	if (!rtnl_link_vf_get_vlans(v, &vlans) && vlans && vlans->size > 0) {
		out->vlan = vlans->vlans[0].vf_vlan;
		out->qos = vlans->vlans[0].vf_vlan_qos;
	}
	if (!rtnl_link_vf_get_spoofchk(v, &u))
		out->spoofchk = (int)u;
	if (!rtnl_link_vf_get_trust(v, &u))
		out->trust = (int)u;
	if (!rtnl_link_vf_get_linkstate(v, &u))
		out->link_state = (int)u;
	if (!rtnl_link_vf_get_rate(v, &rate)) {
		out->min_rate = rate.min_tx_rate;
		out->max_rate = rate.max_tx_rate;
	}
}

int vf_link_read(const char *ifname, struct vf_link *out, unsigned int count, char *err,
		 size_t errlen)
{
	struct nl_sock *sk = vf_socket(ifname, err, errlen);
	struct rtnl_link *link;

	memset(out, 0, count * sizeof(*out));
	if (!sk)
		return -1;
	link = vf_get_link(sk, ifname, err, errlen);
	nl_socket_free(sk);
	if (!link)
		return -1;
	/* libnl keeps a VF list only when the driver reported one (ndo_get_vf_config) */
	for (unsigned int i = 0; i < count && rtnl_link_has_vf_list(link); i++) {
		struct rtnl_link_vf *v = rtnl_link_vf_get(link, i);

		if (v) {
			vf_read_one(v, &out[i]);
			rtnl_link_vf_put(v);
		}
	}
	rtnl_link_put(link);
	return 0;
}

static int vf_set_mac(struct rtnl_link_vf *v, const uint8_t mac[6])
{
	struct nl_addr *addr = nl_addr_build(AF_LLC, mac, 6);

	if (!addr)
		return -NLE_NOMEM;
	rtnl_link_vf_set_addr(v, addr);
	nl_addr_put(addr);
	return 0;
}

static int vf_set_vlan(struct rtnl_link_vf *v, unsigned int vlan, unsigned int qos)
{
	nl_vf_vlans_t *vlans;
	int ret = rtnl_link_vf_vlan_alloc(&vlans, 1);

	if (ret)
		return ret;
	vlans->vlans[0].vf_vlan = vlan;
	vlans->vlans[0].vf_vlan_qos = qos;
	vlans->vlans[0].vf_vlan_proto = 0; /* 802.1Q: IFLA_VF_VLAN */
	rtnl_link_vf_set_vlans(v, vlans);
	rtnl_link_vf_vlan_put(vlans);
	return 0;
}

static int vf_fill(struct rtnl_link_vf *v, unsigned int vf, const struct vf_link_change *c)
{
	struct nl_vf_rate rate = {.api = RTNL_LINK_VF_RATE_API_NEW};
	int ret = 0;

	rtnl_link_vf_set_index(v, vf);
	if (c->set_mac)
		ret = vf_set_mac(v, c->mac);
	if (!ret && c->set_vlan)
		ret = vf_set_vlan(v, c->vlan, c->qos);
	if (c->set_spoofchk)
		rtnl_link_vf_set_spoofchk(v, c->spoofchk);
	if (c->set_trust)
		rtnl_link_vf_set_trust(v, c->trust);
	if (c->set_link)
		rtnl_link_vf_set_linkstate(v, c->link_state);
	if (c->set_rate) {
		rate.min_tx_rate = c->min_rate;
		rate.max_tx_rate = c->max_rate;
		rtnl_link_vf_set_rate(v, &rate);
	}
	return ret;
}

/* A link object that carries only the VF's changes. */
static struct rtnl_link *vf_changes(unsigned int vf, const struct vf_link_change *c)
{
	struct rtnl_link *changes = rtnl_link_alloc();
	struct rtnl_link_vf *v = rtnl_link_vf_alloc();
	bool ok = changes && v && !vf_fill(v, vf, c) && !rtnl_link_vf_add(changes, v);

	if (v)
		rtnl_link_vf_put(v);
	if (!ok && changes) {
		rtnl_link_put(changes);
		changes = NULL;
	}
	return changes;
}

int vf_link_build(int ifindex, unsigned int vf, const struct vf_link_change *c, struct nl_msg **msg)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	struct rtnl_link *changes = vf_changes(vf, c);
	int ret = -NLE_NOMEM;

	if (orig && changes) {
		rtnl_link_set_ifindex(orig, ifindex);
		ret = rtnl_link_build_change_request(orig, changes, 0, msg);
	}
	if (orig)
		rtnl_link_put(orig);
	if (changes)
		rtnl_link_put(changes);
	return ret;
}

int vf_link_apply(const char *ifname, unsigned int vf, const struct vf_link_change *c, char *err,
		  size_t errlen)
{
	struct nl_sock *sk = vf_socket(ifname, err, errlen);
	struct rtnl_link *orig = NULL, *changes = NULL;
	int ret = -1;

	if (sk)
		orig = vf_get_link(sk, ifname, err, errlen);
	if (orig)
		changes = vf_changes(vf, c);
	if (orig && !changes)
		log_to_buf(err, errlen, "sriov %s VF %u: out of memory", ifname, vf);
	if (changes) {
		ret = rtnl_link_change(sk, orig, changes, 0);
		if (ret)
			ret = log_to_buf(err, errlen,
					 "sriov %s VF %u: the PF's driver refused the change: %s",
					 ifname, vf, nl_geterror(ret));
	}
	if (changes)
		rtnl_link_put(changes);
	if (orig)
		rtnl_link_put(orig);
	if (sk)
		nl_socket_free(sk);
	return ret;
}
