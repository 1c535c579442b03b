/*
 * virtio-net, the device: its tap, feature bits and configuration space (§5.1.3,
 * §5.1.4), the control queue's thread, and starting and stopping the queue pairs'
 * I/O threads (net_io.c).
 *
 * Offloads: the tap does the checksum and segmentation work, so the device offers
 * CSUM and HOST_TSO4/6/ECN (frames from the guest may need them; the tap's
 * virtio_net_hdr_to_skb does the rest) and the GUEST_* ones the tap can hand over
 * (TUNSETOFFLOAD, set at activation from what the driver took).
 */
#include "virtio/net.h"
#include "virtio/net_io.h"
#include "virtio/net_vhost.h"
#include "virtio/queue_server.h"
#include "virtio/tap.h"
#include "vmm/base/log.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

/* MAC, status, max_virtqueue_pairs and mtu: the fields of the features offered. */
#define NET_CONFIG_SIZE offsetof(struct virtio_net_config, speed)

#define HOST_OFFLOADS                                                                              \
	(1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_HOST_TSO4 |                              \
	 1ULL << VIRTIO_NET_F_HOST_TSO6 | 1ULL << VIRTIO_NET_F_HOST_ECN)

/* Each guest offload and the tap flag behind it. */
static const struct {
	unsigned int feature, tun;
} guest_offloads[] = {
	{VIRTIO_NET_F_GUEST_CSUM, TUN_F_CSUM},
	{VIRTIO_NET_F_GUEST_TSO4, TUN_F_TSO4},
	{VIRTIO_NET_F_GUEST_TSO6, TUN_F_TSO6},
	{VIRTIO_NET_F_GUEST_ECN, TUN_F_TSO_ECN},
};

#define NR_GUEST_OFFLOADS (sizeof(guest_offloads) / sizeof(guest_offloads[0]))

static struct net *to_net(struct virtio_dev *dev)
{
	return (struct net *)((char *)dev - offsetof(struct net, dev));
}

static bool has(uint64_t features, unsigned int bit)
{
	return features & (1ULL << bit);
}

static uint64_t net_features(struct virtio_dev *dev)
{
	struct net *n = to_net(dev);
	uint64_t f = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS |
		     1ULL << VIRTIO_NET_F_MTU | 1ULL << VIRTIO_NET_F_MRG_RXBUF |
		     1ULL << VIRTIO_NET_F_CTRL_VQ | 1ULL << VIRTIO_NET_F_CTRL_RX |
		     1ULL << VIRTIO_NET_F_MQ | HOST_OFFLOADS;
	unsigned int i;

	for (i = 0; i < NR_GUEST_OFFLOADS; i++)
		if (n->offloads & guest_offloads[i].tun)
			f |= 1ULL << guest_offloads[i].feature;
	if (n->dev.kernel_datapath && !has(n->vhost_features, VIRTIO_NET_F_MRG_RXBUF))
		f &= ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	return f;
}

static void net_config_read(struct virtio_dev *dev, uint32_t offset, uint8_t *data,
			    unsigned int size)
{
	struct net *n = to_net(dev);

	memset(data, 0, size);
	if (offset < NET_CONFIG_SIZE)
		memcpy(data, (uint8_t *)&n->config + offset,
		       size < NET_CONFIG_SIZE - offset ? size : NET_CONFIG_SIZE - offset);
}

/* The MAC is writable only without VIRTIO_F_VERSION_1 (§5.1.4.2): nothing here is. */
static void net_config_write(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
			     unsigned int size)
{
	(void)dev;
	(void)offset;
	(void)data;
	(void)size;
}

/* ---- queue pairs in use: tap queues attached, I/O threads reading ---- */

/* Pairs from `pairs` on are detached, so the kernel steers no frame to a queue whose
 * receive ring the driver does not fill; the first pairs are attached. Pair 0 always
 * is: a tap without queues has no carrier. */
static void net_use_pairs(struct net *n, unsigned int pairs)
{
	unsigned int i;

	for (i = 1; i < n->pairs; i++) {
		bool on = i < pairs;

		if (on == __atomic_load_n(&n->active[i], __ATOMIC_ACQUIRE))
			continue;
		if (!on)
			__atomic_store_n(&n->active[i], false, __ATOMIC_RELEASE);
		if (tap_set_queue(n->tap[i], on))
			log_guest_warn("virtio-net %s: cannot %s tap queue %u: %s", n->ifname,
				       on ? "attach" : "detach", i, strerror(errno));
		else if (on)
			__atomic_store_n(&n->active[i], true, __ATOMIC_RELEASE);
		if (n->pair[i])
			net_pair_wake(n->pair[i]);
	}
}

/* ---- the control queue ---- */

static size_t gather(const struct iovec *iov, unsigned int n, uint8_t *dst, size_t max)
{
	size_t len = 0;

	for (; n; iov++, n--) {
		if (iov->iov_len > max - len)
			return max + 1;
		memcpy(dst + len, iov->iov_base, iov->iov_len);
		len += iov->iov_len;
	}
	return len;
}

/* One command: copied out of guest RAM, executed, acked in its first writable byte.
 * The queue pairs it sets are in use before the driver sees the ack. */
static uint32_t ctrl_serve(void *ctx, struct vq_chain *c)
{
	struct net *n = ctx;
	size_t len = gather(c->iov, c->nr_out, n->ctrl_buf, NET_CTRL_MAX);
	uint8_t ack = VIRTIO_NET_ERR;

	if (c->nr_in == 0 || c->iov[c->nr_out].iov_len == 0)
		return 0;
	if (len <= NET_CTRL_MAX)
		ack = net_ctrl_exec(&n->ctrl, n->ctrl_buf, len);
	if (ack == VIRTIO_NET_OK)
		net_use_pairs(n, n->ctrl.pairs);
	*(uint8_t *)c->iov[c->nr_out].iov_base = ack;
	return 1;
}

/* The control queue's thread attaches and detaches tap queues (ioctl), as vCPU
 * threads set devices up: it takes their system call list. */
static int ctrl_start(struct net *n)
{
	n->ctrl_server = (struct queue_server){.dev = &n->dev,
					       .q = &n->dev.queue[2 * n->pairs],
					       .stop_fd = n->stop_fd,
					       .kind = SANDBOX_VCPU,
					       .name = "net-ctrl",
					       .serve = ctrl_serve,
					       .ctx = n};
	return queue_server_start(&n->ctrl_server);
}

/* ---- activation and reset ---- */

static void net_reset(struct virtio_dev *dev)
{
	struct net *n = to_net(dev);
	uint64_t v = 1;
	unsigned int i;

	if (write(n->stop_fd, &v, sizeof(v)) != sizeof(v))
		log_error("virtio-net %s: cannot stop its I/O threads", n->ifname);
	for (i = 0; i < n->pairs; i++) {
		if (n->pair[i])
			net_pair_stop(n->pair[i]);
		n->pair[i] = NULL;
		if (n->vhost_started[i])
			net_vhost_stop(n, i);
		n->vhost_started[i] = false;
	}
	queue_server_stop(&n->ctrl_server);
	if (read(n->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error("virtio-net %s: cannot rearm its stop eventfd", n->ifname);
}

/* The tap hands over the offloads the driver took, and only those. */
static int net_set_offloads(struct net *n)
{
	unsigned int tun = 0, i;

	for (i = 0; i < NR_GUEST_OFFLOADS; i++)
		if (has(n->dev.negotiated, guest_offloads[i].feature))
			tun |= guest_offloads[i].tun;
	for (i = 0; i < n->pairs; i++)
		if (tap_set_offloads(n->tap[i], tun)) {
			log_guest_warn("virtio-net %s: cannot set the tap's offloads: %s",
				       n->ifname, strerror(errno));
			return -1;
		}
	return 0;
}

static int net_start_pairs(struct net *n)
{
	unsigned int i;

	for (i = 0; i < n->pairs; i++) {
		if (!n->dev.queue[2 * i].enabled || !n->dev.queue[2 * i + 1].enabled)
			continue;
		if (n->dev.kernel_datapath) {
			if (net_vhost_start(n, i))
				return -1;
			n->vhost_started[i] = true;
		} else if (!(n->pair[i] = net_pair_start(n, i))) {
			return -1;
		}
	}
	return 0;
}

/* §5.1.6.5.5: one pair in use until the driver sets more. */
static int net_activate(struct virtio_dev *dev)
{
	struct net *n = to_net(dev);
	bool mq = has(dev->negotiated, VIRTIO_NET_F_MQ);

	net_ctrl_init(&n->ctrl, dev->negotiated, mq ? n->pairs : 1);
	net_use_pairs(n, 1);
	if (net_set_offloads(n) || net_start_pairs(n))
		goto fail;
	if (has(dev->negotiated, VIRTIO_NET_F_CTRL_VQ) && dev->queue[2 * n->pairs].enabled &&
	    ctrl_start(n))
		goto fail;
	return 0;
fail:
	net_reset(dev);
	return -1;
}

static void net_vector_changed(struct virtio_dev *dev, unsigned int q)
{
	struct net *n = to_net(dev);

	if (q < 2 * n->pairs && n->vhost_started[q / 2])
		net_vhost_set_call(n, q);
}

static void net_free(struct net *n)
{
	unsigned int i;

	for (i = 0; i < n->pairs; i++) {
		if (n->tap[i] >= 0)
			close(n->tap[i]);
		if (n->vhost[i] >= 0)
			close(n->vhost[i]);
	}
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	free(n->ctrl_buf);
	free(n);
}

static void net_destroy(struct virtio_dev *dev)
{
	net_reset(dev);
	net_free(to_net(dev));
}

static const struct virtio_dev_ops net_ops = {
	.features = net_features,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.activate = net_activate,
	.vector_changed = net_vector_changed,
	.reset = net_reset,
	.destroy = net_destroy,
};

/* ---- creation ---- */

/* A random unicast, locally administered address (IEEE 802: bits 0 and 1 of the first
 * octet). */
static void random_mac(uint8_t *mac)
{
	if (getrandom(mac, 6, 0) != 6)
		memset(mac + 3, getpid() & 0xff, 3);
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u);
}

static int net_open_taps(struct net *n, const struct net_options *o)
{
	unsigned int i;

	if (o->tap) {
		snprintf(n->ifname, sizeof(n->ifname), "%s", o->tap);
		return tap_open(o->tap, o->pairs, n->tap, &n->created);
	}
	for (i = 0; i < o->pairs; i++) {
		if (tap_adopt(o->fds[i]))
			return -1;
		n->tap[i] = o->fds[i];
	}
	return tap_name(n->tap[0], n->ifname);
}

static void net_config_init(struct net *n, const struct net_options *o)
{
	struct virtio_net_config *c = &n->config;

	if (o->has_mac)
		memcpy(c->mac, o->mac, 6);
	else
		random_mac(c->mac);
	c->status = htole16(VIRTIO_NET_S_LINK_UP);
	c->max_virtqueue_pairs = htole16((uint16_t)o->pairs);
	n->tap_mtu = tap_mtu(n->ifname);
	c->mtu = htole16((uint16_t)(o->mtu ? o->mtu : n->tap_mtu ? n->tap_mtu : 1500));
}

struct virtio_dev *net_create(const struct net_options *o)
{
	struct net *n = calloc(1, sizeof(*n));
	unsigned int i;
	int vhost;

	if (!n || !(n->ctrl_buf = malloc(NET_CTRL_MAX))) {
		log_error("out of memory for a virtio-net device");
		free(n);
		return NULL;
	}
	n->pairs = o->pairs;
	for (i = 0; i < NET_MAX_PAIRS; i++) {
		n->tap[i] = n->vhost[i] = -1;
		n->active[i] = i < o->pairs; /* opening a tap queue attaches it */
	}
	n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->stop_fd < 0 || net_open_taps(n, o))
		goto fail;
	vhost = o->vhost == NET_VHOST_OFF ? 0 : net_vhost_open(n, o->vhost == NET_VHOST_ON);
	if (vhost < 0)
		goto fail;
	n->dev.kernel_datapath = vhost == 1;
	n->offloads = tap_offloads_supported(n->tap[0],
					     TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
	n->dev.ops = &net_ops;
	n->dev.device_id = VIRTIO_ID_NET;
	n->dev.nr_queues = (uint16_t)(2 * o->pairs + 1);
	n->dev.queue_max_size = NET_QUEUE_SIZE;
	n->dev.config_size = NET_CONFIG_SIZE;
	n->dev.name = "virtio-net";
	net_config_init(n, o);
	log_info("virtio-net: tap %s%s, %u queue pair%s, MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU "
		 "%u, %s datapath",
		 n->ifname, n->created ? " (created; removed at exit)" : "", n->pairs,
		 n->pairs > 1 ? "s" : "", n->config.mac[0], n->config.mac[1], n->config.mac[2],
		 n->config.mac[3], n->config.mac[4], n->config.mac[5], le16toh(n->config.mtu),
		 n->dev.kernel_datapath ? "vhost-net" : "io_uring");
	return &n->dev;
fail:
	net_free(n);
	return NULL;
}
