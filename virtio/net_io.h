/*
 * virtio-net's inside, shared by the device (net.c), its control queue (net_ctrl.c),
 * the vhost-net datapath (net_vhost.c) and the io_uring datapath (net_io.c): one I/O
 * thread per queue pair moves frames between the pair's tap queue and guest RAM,
 * waiting for the guest's kicks and the tap in its own io_uring.
 *
 * Queues (§5.1.2): receiveq N is queue 2N, transmitq N is 2N+1, the control queue
 * comes last.
 */
#ifndef CONDUIT_VIRTIO_NET_IO_H
#define CONDUIT_VIRTIO_NET_IO_H

#include "virtio/net_ctrl.h"
#include "virtio/queue_server.h"
#include "virtio/virtio_dev.h"

#include <linux/virtio_net.h>
#include <net/if.h>
#include <pthread.h>

#define NET_QUEUE_SIZE 256
/* The largest frame a tap hands over or takes: 64 KiB of IP, Ethernet and VLAN headers */
#define NET_MAX_FRAME (65535 + 14 + 4)

struct net_pair;

struct net {
	struct virtio_dev dev;
	char ifname[IFNAMSIZ];
	bool created; /* conduit created the tap: it goes away with conduit */
	int tap[NET_MAX_PAIRS];
	unsigned int pairs;    /* queue pairs the device has */
	unsigned int offloads; /* TUN_F_* the tap accepts */
	unsigned int tap_mtu;
	struct virtio_net_config config;
	struct net_ctrl ctrl;		      /* what the driver set through the control queue */
	struct net_pair *pair[NET_MAX_PAIRS]; /* the io_uring datapath's, or: */
	int vhost[NET_MAX_PAIRS];	      /* vhost-net instances, -1 when not used */
	bool vhost_started[NET_MAX_PAIRS];
	uint64_t vhost_features;
	bool active[NET_MAX_PAIRS]; /* the pair's tap queue is attached (and read) */
	int stop_fd;		    /* written by reset: every thread of the device ends */
	struct queue_server ctrl_server;
	uint8_t *ctrl_buf; /* a control command, copied out of guest RAM */
};

/* The driver's header on a transmitted frame of frame_len bytes (after the header) is
 * one the negotiated features allow and the tap can act on safely (§5.1.6.2). */
bool net_hdr_tx_ok(const struct virtio_net_hdr_v1 *h, uint64_t frame_len, uint64_t features);

/* The frame size receive buffers must hold, header included, for the negotiated
 * offloads: a whole 64 KiB GSO frame, or one MTU-sized frame. */
uint32_t net_rx_need(const struct net *n);

/* Starts pair index's I/O thread; NULL with one line on failure. */
struct net_pair *net_pair_start(struct net *n, unsigned int index);
/* After stop_fd was written: waits for the thread, then frees the pair. */
void net_pair_stop(struct net_pair *p);
/* The control queue activated or deactivated the pair: a wake-up for its thread. */
void net_pair_wake(struct net_pair *p);

#endif
