/*
 * virtio-net (virtio 1.2 §5.1) on a host tap: N receive/transmit queue pairs and a
 * control queue, served by conduit's io_uring datapath (net_io.c). The tap carries
 * the virtio-net header itself (IFF_VNET_HDR), so checksum and segmentation offloads
 * pass between the guest and the host stack untouched.
 */
#ifndef CONDUIT_VIRTIO_NET_H
#define CONDUIT_VIRTIO_NET_H

#include "virtio/net_ctrl.h"
#include "virtio/virtio_dev.h"

#include <stdbool.h>
#include <stdint.h>

enum net_vhost {
	NET_VHOST_AUTO, /* vhost-net when /dev/vhost-net opens, else io_uring */
	NET_VHOST_ON,
	NET_VHOST_OFF,
};

struct net_options {
	const char *tap;    /* interface name, created when missing; or NULL and: */
	const int *fds;	    /* tap fds opened by the caller, one per queue pair */
	unsigned int pairs; /* queue pairs, 1..NET_MAX_PAIRS */
	uint8_t mac[6];	    /* as given, or random when !has_mac */
	bool has_mac;
	unsigned int mtu; /* 0: the tap's own */
	enum net_vhost vhost;
};

/* NULL and one error line on failure (no tun, not a tap, ...). */
struct virtio_dev *net_create(const struct net_options *o);

#endif
