/*
 * virtio-net's control queue commands (§5.1.6.5): the receive filter modes and MAC
 * tables (accepted: a tap delivers what the host sends it), and the number of queue
 * pairs in use. A command arrives as class, command and data, copied out of guest
 * RAM; the answer is one ack byte.
 */
#ifndef CONDUIT_VIRTIO_NET_CTRL_H
#define CONDUIT_VIRTIO_NET_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_CTRL_MAX 65536 /* bytes of a command, data included, at most */
/* Queue pairs a device has at most (max_virtqueue_pairs): 2 queues each and the
 * control queue within VIRTIO_MAX_QUEUES. */
#define NET_MAX_PAIRS 16

struct net_ctrl {
	uint64_t features;	/* negotiated: commands of features not taken fail */
	unsigned int max_pairs; /* the device's */
	unsigned int pairs;	/* in use: 1 until VQ_PAIRS_SET (§5.1.6.5.5) */
	bool promisc, allmulti;
	unsigned int uc_macs, mc_macs; /* entries of the last MAC_TABLE_SET */
};

/* Resets to one pair of max_pairs, filters off. */
void net_ctrl_init(struct net_ctrl *c, uint64_t features, unsigned int max_pairs);
/* Executes one command of len bytes; VIRTIO_NET_OK or VIRTIO_NET_ERR. */
uint8_t net_ctrl_exec(struct net_ctrl *c, const uint8_t *cmd, size_t len);

#endif
