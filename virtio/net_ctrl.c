/* virtio-net control commands (§5.1.6.5), checked byte for byte: the guest wrote them. */
#include "virtio/net_ctrl.h"
#include "vmm/base/le.h"

#include <linux/virtio_net.h>

#define CMD_HDR 2 /* class, command */

void net_ctrl_init(struct net_ctrl *c, uint64_t features, unsigned int max_pairs)
{
	*c = (struct net_ctrl){.features = features, .max_pairs = max_pairs, .pairs = 1};
}

static bool has(const struct net_ctrl *c, unsigned int feature)
{
	return c->features & (1ULL << feature);
}

/* §5.1.6.5.1: PROMISC and ALLMULTI take one byte, 0 (off) or 1 (on); the others
 * belong to VIRTIO_NET_F_CTRL_RX_EXTRA, not offered. */
static uint8_t ctrl_rx(struct net_ctrl *c, uint8_t cmd, const uint8_t *data, size_t len)
{
	if (!has(c, VIRTIO_NET_F_CTRL_RX) || len != 1 || data[0] > 1)
		return VIRTIO_NET_ERR;
	if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
		c->promisc = data[0];
	else if (cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)
		c->allmulti = data[0];
	else
		return VIRTIO_NET_ERR;
	return VIRTIO_NET_OK;
}

/* One table of MAC_TABLE_SET: a le32 count, then that many 6-byte addresses. Its
 * length, or 0 when it does not fit in what is left. */
static size_t mac_table(const uint8_t *data, size_t len, unsigned int *entries)
{
	uint32_t n;

	if (len < 4)
		return 0;
	n = le32_get(data);
	if (n > (len - 4) / 6)
		return 0;
	*entries = n;
	return 4 + (size_t)n * 6;
}

/* §5.1.6.5.2: the unicast table, then the multicast one, and nothing after them. */
static uint8_t ctrl_mac(struct net_ctrl *c, uint8_t cmd, const uint8_t *data, size_t len)
{
	unsigned int uc, mc;
	size_t a, b;

	if (!has(c, VIRTIO_NET_F_CTRL_RX) || cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET)
		return VIRTIO_NET_ERR;
	a = mac_table(data, len, &uc);
	b = a ? mac_table(data + a, len - a, &mc) : 0;
	if (!b || a + b != len)
		return VIRTIO_NET_ERR;
	c->uc_macs = uc;
	c->mc_macs = mc;
	return VIRTIO_NET_OK;
}

/* §5.1.6.5.5: a le16 count of pairs, 1 to the device's maximum. */
static uint8_t ctrl_mq(struct net_ctrl *c, uint8_t cmd, const uint8_t *data, size_t len)
{
	unsigned int pairs;

	if (!has(c, VIRTIO_NET_F_MQ) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != 2)
		return VIRTIO_NET_ERR;
	pairs = le16_get(data);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > c->max_pairs)
		return VIRTIO_NET_ERR;
	c->pairs = pairs;
	return VIRTIO_NET_OK;
}

uint8_t net_ctrl_exec(struct net_ctrl *c, const uint8_t *cmd, size_t len)
{
	if (len < CMD_HDR || len > NET_CTRL_MAX)
		return VIRTIO_NET_ERR;
	switch (cmd[0]) {
	case VIRTIO_NET_CTRL_RX:
		return ctrl_rx(c, cmd[1], cmd + CMD_HDR, len - CMD_HDR);
	case VIRTIO_NET_CTRL_MAC:
		return ctrl_mac(c, cmd[1], cmd + CMD_HDR, len - CMD_HDR);
	case VIRTIO_NET_CTRL_MQ:
		return ctrl_mq(c, cmd[1], cmd + CMD_HDR, len - CMD_HDR);
	default:
		return VIRTIO_NET_ERR;
	}
}
