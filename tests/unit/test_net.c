/*
 * virtio-net: the transmit header checks and control commands as tables, and the
 * io_uring datapath of one queue pair against a tap-like socketpair (SOCK_SEQPACKET
 * keeps frame boundaries as a tap does; the virtio-net header travels in front of
 * each frame as with IFF_VNET_HDR), driven by a test driver: frames each way,
 * merged receive buffers, frames dropped by the checks, transmit without receive
 * buffers, and a stop while chains are held and the tap is polled.
 */
#include "tests/common/vq_driver.h"
#include "tests/unit/check.h"
#include "virtio/net.h"
#include "virtio/net_io.h"

#include <endian.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAM_SIZE (64ULL << 20)
#define RX_RING	 0x100000ULL
#define TX_RING	 0x200000ULL
#define RX_BUFS	 0x1000000ULL /* 1536-byte receive buffers */
#define TX_BUFS	 0x2000000ULL
#define RX_LEN	 1536
#define HDR	 sizeof(struct virtio_net_hdr_v1)
#define WAIT_MS	 5000

static struct guest_ram ram;
static int resets;

static void on_needs_reset(struct virtio_dev *dev)
{
	(void)dev;
	__atomic_add_fetch(&resets, 1, __ATOMIC_SEQ_CST);
}

static void *gp(uint64_t gpa, uint64_t len)
{
	return guest_ram_ptr(&ram, gpa, len);
}

/* ---- transmit header checks (§5.1.6.2) ---- */

static bool hdr_ok(uint8_t flags, uint8_t gso, uint16_t size, uint16_t start, uint16_t off,
		   uint64_t features)
{
	struct virtio_net_hdr_v1 h = {.flags = flags,
				      .gso_type = gso,
				      .gso_size = htole16(size),
				      .csum_start = htole16(start),
				      .csum_offset = htole16(off),
				      .hdr_len = htole16(54)};

	return net_hdr_tx_ok(&h, 1000, features);
}

static void test_hdr_checks(void)
{
	uint64_t all = 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_HOST_TSO4 |
		       1ULL << VIRTIO_NET_F_HOST_TSO6 | 1ULL << VIRTIO_NET_F_HOST_ECN;
	uint8_t csum = VIRTIO_NET_HDR_F_NEEDS_CSUM;

	CHECK(hdr_ok(0, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 0, 0));
	CHECK(hdr_ok(csum, VIRTIO_NET_HDR_GSO_NONE, 0, 34, 16, all));
	CHECK(hdr_ok(csum, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16, all));
	CHECK(hdr_ok(csum, VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN, 1428, 54, 16, all));
	/* partial checksum without VIRTIO_NET_F_CSUM, or past the frame's end */
	CHECK(!hdr_ok(csum, VIRTIO_NET_HDR_GSO_NONE, 0, 34, 16, 0));
	CHECK(!hdr_ok(csum, VIRTIO_NET_HDR_GSO_NONE, 0, 990, 16, all));
	CHECK(!hdr_ok(csum, VIRTIO_NET_HDR_GSO_NONE, 0, 0xffff, 0xffff, all));
	/* the device's flags, unknown flags */
	CHECK(!hdr_ok(VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 0, all));
	CHECK(!hdr_ok(0x80, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 0, all));
	/* GSO without its feature, without NEEDS_CSUM, without a size; UDP; ECN alone */
	CHECK(!hdr_ok(csum, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16, 1ULL << VIRTIO_NET_F_CSUM));
	CHECK(!hdr_ok(0, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16, all));
	CHECK(!hdr_ok(csum, VIRTIO_NET_HDR_GSO_TCPV4, 0, 34, 16, all));
	CHECK(!hdr_ok(csum, VIRTIO_NET_HDR_GSO_UDP, 1448, 34, 6, all));
	CHECK(!hdr_ok(csum, VIRTIO_NET_HDR_GSO_NONE | VIRTIO_NET_HDR_GSO_ECN, 0, 34, 16, all));
	CHECK(!hdr_ok(csum, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448, 34, 16,
		      all & ~(1ULL << VIRTIO_NET_F_HOST_ECN)));
	CHECK(!hdr_ok(csum, 7, 1448, 34, 16, all));
}

/* ---- control commands (§5.1.6.5) ---- */

static uint8_t ctrl(struct net_ctrl *c, const uint8_t *cmd, size_t len)
{
	return net_ctrl_exec(c, cmd, len);
}

static void test_ctrl(void)
{
	uint64_t f = 1ULL << VIRTIO_NET_F_CTRL_RX | 1ULL << VIRTIO_NET_F_MQ;
	const uint8_t promisc[] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1};
	const uint8_t pairs2[] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0};
	const uint8_t pairs0[] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 0, 0};
	const uint8_t pairs5[] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 5, 0};
	/* one unicast, two multicast addresses */
	uint8_t table[2 + 4 + 6 + 4 + 12] = {VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, 1};
	struct net_ctrl c;

	table[2 + 4 + 6] = 2;
	net_ctrl_init(&c, f, 4);
	CHECK(c.pairs == 1);
	CHECK(ctrl(&c, promisc, sizeof(promisc)) == VIRTIO_NET_OK && c.promisc);
	CHECK(ctrl(&c, pairs2, sizeof(pairs2)) == VIRTIO_NET_OK && c.pairs == 2);
	CHECK(ctrl(&c, pairs0, sizeof(pairs0)) == VIRTIO_NET_ERR && c.pairs == 2);
	CHECK(ctrl(&c, pairs5, sizeof(pairs5)) == VIRTIO_NET_ERR && c.pairs == 2);
	CHECK(ctrl(&c, pairs2, 3) == VIRTIO_NET_ERR);
	CHECK(ctrl(&c, table, sizeof(table)) == VIRTIO_NET_OK && c.uc_macs == 1 && c.mc_macs == 2);
	/* a table that claims more entries than it has, or leaves bytes over */
	table[2] = 4;
	CHECK(ctrl(&c, table, sizeof(table)) == VIRTIO_NET_ERR);
	table[2] = 1;
	CHECK(ctrl(&c, table, sizeof(table) - 1) == VIRTIO_NET_ERR);
	table[2] = 0xff, table[5] = 0xff; /* a count near 2^32 */
	CHECK(ctrl(&c, table, sizeof(table)) == VIRTIO_NET_ERR);
	CHECK(ctrl(&c, promisc, 1) == VIRTIO_NET_ERR);
	CHECK(ctrl(&c, (const uint8_t[]){99, 0}, 2) == VIRTIO_NET_ERR);
	/* commands of features the driver did not take */
	net_ctrl_init(&c, 0, 4);
	CHECK(ctrl(&c, promisc, sizeof(promisc)) == VIRTIO_NET_ERR);
	CHECK(ctrl(&c, pairs2, sizeof(pairs2)) == VIRTIO_NET_ERR && c.pairs == 1);
}

/* ---- the datapath ---- */

struct nic {
	struct net *n;
	struct net_pair *p;
	struct vqd rx, tx;
	int peer; /* the "host" end of the socketpair */
};

static void nic_start(struct nic *k, uint64_t features)
{
	uint64_t f = features | 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0); /* as conduit's taps */
	k->n = calloc(1, sizeof(*k->n));
	snprintf(k->n->ifname, sizeof(k->n->ifname), "test");
	k->n->pairs = 1;
	k->n->tap[0] = sv[0];
	k->n->active[0] = true;
	k->n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	k->n->dev.nr_queues = 3;
	k->n->dev.negotiated = f;
	k->n->dev.needs_reset = on_needs_reset;
	k->n->config.mtu = htole16(1500);
	k->peer = sv[1];
	CHECK(vqd_init(&k->rx, &ram, RX_RING, 256, true) == 0);
	CHECK(vqd_init(&k->tx, &ram, TX_RING, 256, true) == 0);
	CHECK(vqd_attach(&k->rx, &k->n->dev.queue[0], false) == 0);
	CHECK(vqd_attach(&k->tx, &k->n->dev.queue[1], false) == 0);
	k->p = net_pair_start(k->n, 0);
	CHECK(k->p != NULL);
}

static void nic_stop(struct nic *k)
{
	uint64_t one = 1;

	CHECK(write(k->n->stop_fd, &one, sizeof(one)) == sizeof(one));
	if (k->p)
		net_pair_stop(k->p);
	vqd_destroy(&k->rx);
	vqd_destroy(&k->tx);
	close(k->n->tap[0]);
	close(k->peer);
	close(k->n->stop_fd);
	free(k->n);
}

static void post_rx(struct nic *k, unsigned int first, unsigned int n)
{
	unsigned int i;

	for (i = first; i < first + n; i++) {
		struct vqd_buf b = {RX_BUFS + i * 2048ULL, RX_LEN, true};

		CHECK(vqd_add(&k->rx, &b, 1, false) >= 0);
	}
	vqd_kick(&k->rx);
}

/* A frame of len bytes after hdr, in two buffers; its used entry is waited for. */
static void send_tx(struct nic *k, const struct virtio_net_hdr_v1 *hdr, uint32_t len, uint8_t fill)
{
	struct vqd_buf b[2] = {{TX_BUFS, HDR, false}, {TX_BUFS + 4096, len, false}};
	uint16_t head;
	uint32_t used;

	memcpy(gp(TX_BUFS, HDR), hdr, HDR);
	memset(gp(TX_BUFS + 4096, len), fill, len);
	CHECK(vqd_add(&k->tx, b, 2, false) >= 0);
	vqd_kick(&k->tx);
	CHECK(vqd_wait_used(&k->tx, &head, &used, WAIT_MS) == 1 && used == 0);
}

/* What the host end received: its length, or -1 when nothing came in 200 ms. */
static ssize_t host_recv(struct nic *k, uint8_t *buf, size_t len)
{
	struct pollfd p = {.fd = k->peer, .events = POLLIN};

	if (poll(&p, 1, 200) != 1)
		return -1;
	return recv(k->peer, buf, len, 0);
}

static void test_tx(void)
{
	struct virtio_net_hdr_v1 ok = {.num_buffers = htole16(7)}, bad = {.flags = 0x80};
	static uint8_t buf[70000];
	struct nic k;

	nic_start(&k, 0);
	/* no receive buffers at all: transmit goes on */
	send_tx(&k, &ok, 60, 0xab);
	CHECK(host_recv(&k, buf, sizeof(buf)) == (ssize_t)(HDR + 60));
	CHECK(buf[HDR] == 0xab && buf[HDR + 59] == 0xab);
	/* the tap gets num_buffers 0 whatever the driver wrote */
	CHECK(buf[10] == 0 && buf[11] == 0);
	/* refused by the header check, too short for Ethernet, larger than 64 KiB */
	send_tx(&k, &bad, 60, 1);
	CHECK(host_recv(&k, buf, sizeof(buf)) == -1);
	send_tx(&k, &ok, 13, 1);
	CHECK(host_recv(&k, buf, sizeof(buf)) == -1);
	send_tx(&k, &ok, NET_MAX_FRAME + 1, 1);
	CHECK(host_recv(&k, buf, sizeof(buf)) == -1);
	send_tx(&k, &ok, 1514, 0xcd);
	CHECK(host_recv(&k, buf, sizeof(buf)) == (ssize_t)(HDR + 1514) && buf[HDR + 1513] == 0xcd);
	CHECK(resets == 0);
	nic_stop(&k);
}

static void host_send(struct nic *k, uint32_t len, uint8_t fill)
{
	static uint8_t frame[70000];

	memset(frame, 0, HDR);
	memset(frame + HDR, fill, len - HDR);
	CHECK(send(k->peer, frame, len, 0) == (ssize_t)len);
}

static uint16_t num_buffers(uint16_t head)
{
	return le16toh(
		((struct virtio_net_hdr_v1 *)gp(RX_BUFS + head * 2048ULL, HDR))->num_buffers);
}

/* With GUEST_TSO4 a frame may be 64 KiB: reads wait for that much in held chains, and
 * a 4000-byte frame fills three 1536-byte chains. */
static void test_rx_merged(void)
{
	uint64_t f = 1ULL << VIRTIO_NET_F_MRG_RXBUF | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
		     1ULL << VIRTIO_NET_F_GUEST_TSO4;
	uint32_t lens[3], len;
	uint16_t heads[3], head;
	unsigned int i;
	struct nic k;

	nic_start(&k, f);
	post_rx(&k, 0, 64);
	host_send(&k, 4000, 0x5a);
	for (i = 0; i < 3; i++)
		CHECK(vqd_wait_used(&k.rx, &heads[i], &lens[i], WAIT_MS) == 1);
	CHECK(lens[0] == RX_LEN && lens[1] == RX_LEN && lens[2] == 4000 - 2 * RX_LEN);
	CHECK(num_buffers(heads[0]) == 3);
	CHECK(*(uint8_t *)gp(RX_BUFS + heads[2] * 2048ULL + lens[2] - 1, 1) == 0x5a);
	/* the chains the first frame did not need take the next */
	host_send(&k, 100, 0x66);
	CHECK(vqd_wait_used(&k.rx, &head, &len, WAIT_MS) == 1 && len == 100);
	CHECK(num_buffers(head) == 1);
	CHECK(!vqd_get_used(&k.rx, &head, &len));
	/* stopped while chains are held and the tap is polled */
	nic_stop(&k);
}

/* Without MRG_RXBUF each frame takes one chain, num_buffers 1; a chain too small for
 * the header goes back empty. */
static void test_rx_single(void)
{
	struct vqd_buf tiny = {RX_BUFS + 100 * 2048ULL, HDR - 1, true};
	uint16_t head;
	uint32_t len;
	struct nic k;

	nic_start(&k, 0);
	CHECK(vqd_add(&k.rx, &tiny, 1, false) >= 0);
	post_rx(&k, 1, 2); /* descriptors 1 and 2, buffers at their index */
	CHECK(vqd_wait_used(&k.rx, &head, &len, WAIT_MS) == 1 && len == 0);
	host_send(&k, 1000, 0x11);
	CHECK(vqd_wait_used(&k.rx, &head, &len, WAIT_MS) == 1 && len == 1000);
	CHECK(head == 1 && num_buffers(head) == 1);
	host_send(&k, 1500, 0x22);
	CHECK(vqd_wait_used(&k.rx, &head, &len, WAIT_MS) == 1 && len == 1500 && head == 2);
	CHECK(*(uint8_t *)gp(RX_BUFS + 2 * 2048ULL + 1499, 1) == 0x22);
	nic_stop(&k);
}

/* ---- the device on a real tap (test_net_tap: needs CAP_NET_ADMIN) ---- */

static uint8_t ctrl_cmd(struct vqd *d, const uint8_t *cmd, uint32_t len)
{
	struct vqd_buf b[2] = {{TX_BUFS, len, false}, {TX_BUFS + 4096, 1, true}};
	uint8_t *ack = gp(TX_BUFS + 4096, 1);
	uint16_t head;
	uint32_t used;

	memcpy(gp(TX_BUFS, len), cmd, len);
	*ack = 0xee;
	CHECK(vqd_add(d, b, 2, false) >= 0);
	vqd_kick(d);
	CHECK(vqd_wait_used(d, &head, &used, WAIT_MS) == 1 && used == 1);
	return *ack;
}

static void check_config(struct virtio_dev *dev)
{
	struct virtio_net_config c;
	uint64_t f = dev->ops->features(dev);

	dev->ops->config_read(dev, 0, (uint8_t *)&c, dev->config_size);
	CHECK(dev->device_id == VIRTIO_ID_NET && dev->nr_queues == 5);
	CHECK(!memcmp(c.mac, "\x52\x54\x00\x12\x34\x56", 6));
	CHECK(le16toh(c.status) == VIRTIO_NET_S_LINK_UP && le16toh(c.max_virtqueue_pairs) == 2);
	CHECK(le16toh(c.mtu) == 1400);
	CHECK((f & (1ULL << VIRTIO_NET_F_MQ)) && (f & (1ULL << VIRTIO_NET_F_CTRL_VQ)) &&
	      (f & (1ULL << VIRTIO_NET_F_MRG_RXBUF)) && (f & (1ULL << VIRTIO_NET_F_MTU)));
	/* a Linux tap takes checksum and TSO offloads */
	CHECK((f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) && (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4)));
}

/* Two pairs: only the first in use until VQ_PAIRS_SET, which attaches the second tap
 * queue; the tap conduit created is gone once the device is. */
static int test_tap(void)
{
	struct net_options o = {.tap = "cndtest0",
				.pairs = 2,
				.has_mac = true,
				.mtu = 1400,
				.vhost = NET_VHOST_OFF};
	const uint8_t two[] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0};
	const uint8_t three[] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 3, 0};
	struct virtio_dev *dev;
	struct vqd q[5];
	struct net *n;
	unsigned int i;

	memcpy(o.mac, "\x52\x54\x00\x12\x34\x56", 6);
	if (access("/dev/net/tun", R_OK | W_OK) || if_nametoindex(o.tap))
		return CHECK_SKIP;
	dev = net_create(&o);
	if (!dev)
		return CHECK_SKIP; /* no CAP_NET_ADMIN: said on stderr */
	n = (struct net *)dev;
	CHECK(n->created && if_nametoindex(o.tap));
	check_config(dev);
	for (i = 0; i < 5; i++) {
		CHECK(vqd_init(&q[i], &ram, RX_RING + i * 0x100000ULL, 256, true) == 0);
		CHECK(vqd_attach(&q[i], &dev->queue[i], false) == 0);
	}
	CHECK(vqd_activate(dev, dev->ops->features(dev) | 1ULL << VIRTIO_F_VERSION_1 |
					1ULL << VIRTIO_RING_F_EVENT_IDX) == 0);
	CHECK(n->active[0] && !n->active[1]);
	CHECK(ctrl_cmd(&q[4], two, sizeof(two)) == VIRTIO_NET_OK && n->active[1]);
	CHECK(ctrl_cmd(&q[4], three, sizeof(three)) == VIRTIO_NET_ERR && n->active[1]);
	dev->ops->reset(dev);
	for (i = 0; i < 5; i++)
		vqd_destroy(&q[i]);
	dev->ops->destroy(dev);
	CHECK(!if_nametoindex(o.tap));
	return 0;
}

static int open_tap(const char *name, short flags)
{
	struct ifreq ifr = {.ifr_flags = flags};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd >= 0 && ioctl(fd, TUNSETIFF, &ifr)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* fd=: taps an orchestrator opened; anything else is refused with one line. */
static void test_tap_fds(void)
{
	int fds[2] = {open_tap("cndtest1", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE),
		      open_tap("cndtest1", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)};
	int bad[1] = {open("/dev/null", O_RDWR | O_CLOEXEC)};
	int nohdr[1] = {open_tap("cndtest2", IFF_TAP | IFF_NO_PI)};
	struct net_options o = {.fds = fds, .pairs = 2, .vhost = NET_VHOST_OFF};
	struct virtio_dev *dev;

	CHECK(fds[0] >= 0 && fds[1] >= 0 && bad[0] >= 0 && nohdr[0] >= 0);
	dev = net_create(&o);
	CHECK(dev && !strcmp(((struct net *)dev)->ifname, "cndtest1"));
	/* the datapath reads until EAGAIN: the fds become non-blocking */
	CHECK(dev && (fcntl(fds[0], F_GETFL) & O_NONBLOCK));
	if (dev)
		dev->ops->destroy(dev); /* closes the fds it was given */
	o = (struct net_options){.fds = bad, .pairs = 1, .vhost = NET_VHOST_OFF};
	CHECK(net_create(&o) == NULL);
	o.fds = nohdr;
	CHECK(net_create(&o) == NULL);
	close(bad[0]);
	close(nohdr[0]);
	CHECK(!if_nametoindex("cndtest1") && !if_nametoindex("cndtest2"));
}

int main(int argc, char **argv)
{
	int ret = 0;

	CHECK(guest_ram_create(&ram, RAM_SIZE, 0) == 0);
	if (argc > 1 && !strcmp(argv[1], "--tap")) {
		ret = test_tap();
		if (!ret)
			test_tap_fds();
	} else {
		test_hdr_checks();
		test_ctrl();
		test_tx();
		test_rx_merged();
		test_rx_single();
	}
	CHECK(resets == 0);
	guest_ram_destroy(&ram);
	return ret ? ret : CHECK_DONE();
}
