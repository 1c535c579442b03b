/*
 * A VF's network settings as its PF's driver keeps them (rtnetlink IFLA_VF_* on the
 * PF's interface): MAC, VLAN and QoS, spoof checking, trust, rate limits, link state.
 * Read and changed through libnl-route-3, as `ip link set PF vf N ...` does.
 */
#ifndef CONDUIT_SRIOV_VF_LINK_H
#define CONDUIT_SRIOV_VF_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_msg;

/* IFLA_VF_LINK_STATE_*: follow the PF's link, always up, always down */
enum vf_link_state { VF_LINK_AUTO = 0, VF_LINK_ON = 1, VF_LINK_OFF = 2 };

struct vf_link {
	bool known; /* the PF's driver reported this VF */
	uint8_t mac[6];
	unsigned int vlan, qos;
	int spoofchk, trust, link_state; /* -1: not reported */
	unsigned int min_rate, max_rate; /* Mbit/s; 0: no limit */
};

/* What to change; only the fields whose set_ flag is true. */
struct vf_link_change {
	bool set_mac, set_vlan, set_spoofchk, set_trust, set_rate, set_link;
	uint8_t mac[6];
	unsigned int vlan, qos; /* vlan 0 and qos 0: no VLAN */
	bool spoofchk, trust;
	unsigned int min_rate, max_rate;
	enum vf_link_state link_state;
};

/* The settings of VFs 0..count-1 of the interface ifname; 0, or -1 with one line. */
int vf_link_read(const char *ifname, struct vf_link *out, unsigned int count, char *err,
		 size_t errlen);

/* Applies c to VF vf of ifname; 0, or -1 with one line naming what the driver refused. */
int vf_link_apply(const char *ifname, unsigned int vf, const struct vf_link_change *c, char *err,
		  size_t errlen);

/* The RTM_NEWLINK request vf_link_apply sends for the interface with index ifindex. */
int vf_link_build(int ifindex, unsigned int vf, const struct vf_link_change *c,
		  struct nl_msg **msg);

#endif
