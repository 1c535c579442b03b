/*
 * virtio-net's io_uring datapath: one thread per queue pair, one io_uring each, in
 * which the thread waits for both queues' kicks, the tap becoming readable and the
 * device's stop eventfd.
 *
 * The frames themselves move with pwritev2/preadv2 on the (non-blocking) tap, from
 * the thread, in order. Submitted through io_uring they would not be: 6.1's tun has
 * no FMODE_NOWAIT, so io_uring hands each tap read and write to a worker thread, and
 * the writes of one batch run in parallel and reach the host out of order (measured
 * with tools/bench-net: TCP retransmits and out-of-order queues in L1, a 4-stream
 * rate 0.03x QEMU's).
 *
 * TX: each chain of the transmit queue becomes one write to the tap: the header,
 * copied out of guest RAM and checked (the guest cannot change it after the check),
 * then the frame straight from guest RAM.
 *
 * RX: receive chains are held until they can take the largest frame the tap may
 * hand over (net_rx_need); then frames are read into them while the tap has any.
 * With VIRTIO_NET_F_MRG_RXBUF a frame fills as many chains as it needs and the
 * header's num_buffers says how many (§5.1.6.3.2); the chains it did not need stay
 * held for the next frame. Without it, each frame takes one chain.
 *
 * Nothing is under way in the kernel on guest RAM between two turns of the loop, so
 * stopping only has to leave it.
 */
#include "virtio/net_io.h"
#include "virtio/tap.h"
#include "vmm/base/log.h"
#include "vmm/base/sandbox.h"

#include <endian.h>
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TAG_STOP     1
#define TAG_RX_KICK  2
#define TAG_TX_KICK  3
#define TAG_RX_READY 4
#define TAG_WAKE     5

#define RING_ENTRIES 16
#define TX_MAX_IOV   64 /* buffers of a frame: Linux sends at most MAX_SKB_FRAGS + 2 */
#define RX_MAX_IOV   1024
#define RX_MAX_HELD  NET_QUEUE_SIZE
#define BUDGET	     64 /* frames each way per turn of the loop: neither starves */

struct rx_held {
	uint16_t head;
	uint32_t len;	   /* bytes of its buffers in rx_iov */
	unsigned int niov; /* its entries in rx_iov */
};

struct net_pair {
	struct net *net;
	unsigned int index;
	struct virtio_queue *rxq, *txq;
	int tap;
	int wake_fd; /* net_pair_wake: the pair was (de)activated */
	struct io_uring ring;
	pthread_t thread;
	bool stopping, broken, logged;
	bool rx_polling, rx_failed;
	bool need_rx, need_tx, rx_pushed, tx_pushed;
	bool mrg;	  /* VIRTIO_NET_F_MRG_RXBUF negotiated */
	uint32_t rx_need; /* bytes held before a read */
	struct rx_held held[RX_MAX_HELD];
	unsigned int nheld, rx_niov;
	uint64_t rx_bytes;
	struct iovec rx_iov[RX_MAX_IOV];
	struct virtio_net_hdr_v1 tx_hdr; /* the checked copy that goes to the tap */
	struct iovec tx_iov[TX_MAX_IOV + 1];
	struct vq_chain chain;
};

static bool has(uint64_t features, unsigned int bit)
{
	return features & (1ULL << bit);
}

/* §5.1.6.2: flags only NEEDS_CSUM (DATA_VALID and RSC_INFO are the device's), with
 * VIRTIO_NET_F_CSUM and a checksum field inside the frame; a GSO type only with its
 * feature, NEEDS_CSUM and a segment size; ECN only with HOST_ECN. */
bool net_hdr_tx_ok(const struct virtio_net_hdr_v1 *h, uint64_t frame_len, uint64_t features)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (h->flags & (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if (csum && (!has(features, VIRTIO_NET_F_CSUM) ||
		     (uint64_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 > frame_len))
		return false;
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && !has(features, VIRTIO_NET_F_HOST_TSO4)) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !has(features, VIRTIO_NET_F_HOST_TSO6)) ||
	    (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6))
		return false;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_HOST_ECN))
		return false;
	return csum && le16toh(h->gso_size) && le16toh(h->hdr_len) <= frame_len;
}

uint32_t net_rx_need(const struct net *n)
{
	uint64_t f = n->dev.negotiated;
	unsigned int mtu =
		n->tap_mtu > le16toh(n->config.mtu) ? n->tap_mtu : le16toh(n->config.mtu);

	if (has(f, VIRTIO_NET_F_GUEST_TSO4) || has(f, VIRTIO_NET_F_GUEST_TSO6))
		return sizeof(struct virtio_net_hdr_v1) + NET_MAX_FRAME;
	return (uint32_t)(sizeof(struct virtio_net_hdr_v1) + 14 + 4 + (mtu ? mtu : 1500));
}

static void pair_error(struct net_pair *p, const char *what, int err)
{
	if (p->logged)
		return;
	p->logged = true;
	log_guest_warn("virtio-net %s queue pair %u: %s: %s", p->net->ifname, p->index, what,
		       strerror(err));
}

/* A malformed chain: the device stops serving and asks for a reset. */
static void pair_broken(struct net_pair *p)
{
	p->broken = true;
	virtio_dev_needs_reset(&p->net->dev);
}

static struct io_uring_sqe *sqe_get(struct net_pair *p)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);

	if (!sqe) {
		io_uring_submit(&p->ring);
		sqe = io_uring_get_sqe(&p->ring);
	}
	if (!sqe)
		pair_error(p, "the io_uring refused work", EBUSY);
	return sqe;
}

static void poll_arm(struct net_pair *p, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe = sqe_get(p);

	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, tag);
}

static void notify(struct net_pair *p, struct virtio_queue *q, bool *pushed)
{
	if (*pushed)
		virtio_queue_notify(q, p->net->dev.name);
	*pushed = false;
}

/* ---- transmit ---- */

/* Copies the first len bytes of iov[0..n) into dst; the iovecs after them (the rest of
 * the frame) into out, at most max; their count, or -1 when they do not fit. */
static int split_header(const struct iovec *iov, unsigned int n, void *dst, size_t len,
			struct iovec *out, unsigned int max)
{
	uint8_t *d = dst;
	unsigned int k = 0;
	size_t skip = 0;

	for (; n; iov++, n--) {
		size_t take = len < iov->iov_len ? len : iov->iov_len;

		memcpy(d, iov->iov_base, take);
		d += take;
		len -= take;
		skip = take;
		if (!len)
			break;
	}
	for (; n; iov++, n--, skip = 0) {
		if (iov->iov_len == skip)
			continue;
		if (k == max)
			return -1;
		out[k].iov_base = (uint8_t *)iov->iov_base + skip;
		out[k++].iov_len = iov->iov_len - skip;
	}
	return (int)k;
}

/* One frame to the tap; a frame the checks refuse is dropped (returned unsent), as is
 * one the tap cannot take now (its queue full: EAGAIN), as a NIC drops on overrun. */
static void tx_one(struct net_pair *p, const struct vq_chain *c)
{
	uint64_t hdr = sizeof(p->tx_hdr), frame = c->out_len - hdr;
	int k;

	k = c->out_len < hdr + 14 || frame > NET_MAX_FRAME
		    ? -1
		    : split_header(c->iov, c->nr_out, &p->tx_hdr, hdr, p->tx_iov + 1, TX_MAX_IOV);
	if (k >= 0 && net_hdr_tx_ok(&p->tx_hdr, frame, p->net->dev.negotiated)) {
		p->tx_hdr.num_buffers = 0;
		p->tx_iov[0] = (struct iovec){&p->tx_hdr, hdr};
		if (pwritev2(p->tap, p->tx_iov, k + 1, -1, 0) >= 0)
			virtio_stat_request(p->txq, frame);
		else if (errno != EAGAIN)
			pair_error(p, "writing to the tap", errno);
	}
	vq_push(&p->txq->vq, c->head, 0);
	p->tx_pushed = true;
}

/* Kicks stay off while draining; turning them back on re-checks the ring. After a
 * budget's worth the loop comes back for the rest. */
static void tx_drain(struct net_pair *p)
{
	unsigned int n = 0;
	int ret;

	p->need_tx = false;
	do {
		vq_disable_notify(&p->txq->vq);
		while ((ret = vq_pop(&p->txq->vq, &p->chain)) == 1) {
			tx_one(p, &p->chain);
			if (++n == BUDGET) {
				p->need_tx = true;
				return;
			}
		}
		if (ret < 0) {
			pair_broken(p);
			return;
		}
	} while (vq_enable_notify(&p->txq->vq));
}

/* ---- receive ---- */

static bool pair_active(const struct net_pair *p)
{
	return __atomic_load_n(&p->net->active[p->index], __ATOMIC_ACQUIRE);
}

/* Holds one more chain's device-writable buffers (as many as rx_iov still takes). */
static void rx_hold(struct net_pair *p, const struct vq_chain *c)
{
	struct rx_held *h = &p->held[p->nheld++];
	unsigned int i;

	*h = (struct rx_held){.head = c->head};
	for (i = c->nr_out; i < c->nr_out + c->nr_in && p->rx_niov < RX_MAX_IOV; i++) {
		p->rx_iov[p->rx_niov++] = c->iov[i];
		h->len += (uint32_t)c->iov[i].iov_len;
		h->niov++;
	}
	p->rx_bytes += h->len;
}

static bool rx_enough(const struct net_pair *p)
{
	if (!p->mrg)
		return p->nheld > 0;
	return p->rx_bytes >= p->rx_need || p->nheld == RX_MAX_HELD || p->rx_niov == RX_MAX_IOV;
}

/* Takes receive chains until the held ones suffice; false when the ring ran dry
 * first. A chain too small for the header cannot take a frame: it goes back empty. */
static bool rx_top_up(struct net_pair *p)
{
	int ret;

	while (!rx_enough(p)) {
		ret = vq_pop(&p->rxq->vq, &p->chain);
		if (ret <= 0) {
			if (ret < 0)
				pair_broken(p);
			return false;
		}
		if (p->chain.in_len < sizeof(struct virtio_net_hdr_v1)) {
			vq_push(&p->rxq->vq, p->chain.head, 0);
			p->rx_pushed = true;
			continue;
		}
		rx_hold(p, &p->chain);
	}
	return true;
}

/* Writes num_buffers (the header's last field, little-endian) through the iovecs. */
static void rx_set_num_buffers(struct net_pair *p, uint16_t n)
{
	uint8_t v[2] = {(uint8_t)n, (uint8_t)(n >> 8)};
	size_t off = offsetof(struct virtio_net_hdr_v1, num_buffers);
	unsigned int i, j = 0;

	for (i = 0; i < p->rx_niov && j < 2; i++) {
		size_t len = p->rx_iov[i].iov_len;

		for (; off < len && j < 2; off++)
			((uint8_t *)p->rx_iov[i].iov_base)[off] = v[j++];
		off = off >= len ? off - len : 0;
	}
}

/* Forgets the first k held chains. */
static void rx_release(struct net_pair *p, unsigned int k)
{
	unsigned int i, niov = 0;

	for (i = 0; i < k; i++) {
		niov += p->held[i].niov;
		p->rx_bytes -= p->held[i].len;
	}
	memmove(p->held, p->held + k, (p->nheld - k) * sizeof(p->held[0]));
	memmove(p->rx_iov, p->rx_iov + niov, (p->rx_niov - niov) * sizeof(p->rx_iov[0]));
	p->nheld -= k;
	p->rx_niov -= niov;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* A frame of len bytes (header included) arrived in the held chains: the ones it
 * filled go to the driver, num_buffers written first (§5.1.6.4: 1 without
 * MRG_RXBUF, where the frame has one chain whatever its size). */
static void rx_frame(struct net_pair *p, uint32_t len)
{
	unsigned int k = 1, i;
	uint32_t left = len;

	if (p->mrg)
		for (k = 0; left && k < p->nheld; k++)
			left -= min_u32(left, p->held[k].len);
	rx_set_num_buffers(p, (uint16_t)k);
	virtio_stat_request(p->rxq, len - sizeof(struct virtio_net_hdr_v1));
	for (i = 0, left = len; i < k; i++) {
		uint32_t use = min_u32(left, p->held[i].len);

		vq_push(&p->rxq->vq, p->held[i].head, use);
		left -= use;
	}
	p->rx_pushed = true;
	rx_release(p, k);
}

/* Held chains that suffice, or false with kicks on: the driver's next buffers wake
 * the thread. */
static bool rx_buffers(struct net_pair *p)
{
	do {
		vq_disable_notify(&p->rxq->vq);
		if (rx_top_up(p))
			return true;
	} while (!p->broken && vq_enable_notify(&p->rxq->vq));
	return false;
}

/* The tap has no frame now: a poll in the ring says when it has one. */
static void rx_poll_arm(struct net_pair *p)
{
	struct io_uring_sqe *sqe = sqe_get(p);

	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, p->tap, POLLIN);
	io_uring_sqe_set_data64(sqe, TAG_RX_READY);
	p->rx_polling = true;
}

/* Reads frames while the tap has them and chains hold them, a budget's worth per turn
 * of the loop. A detached queue (the pair not in use) reads EBADFD: nothing to do. */
static void rx_drain(struct net_pair *p)
{
	unsigned int n = 0;
	ssize_t len;

	p->need_rx = false;
	while (!p->rx_polling && !p->rx_failed && !p->broken && pair_active(p) && rx_buffers(p)) {
		if (n++ == BUDGET) {
			p->need_rx = true;
			return;
		}
		len = preadv2(p->tap, p->rx_iov, (int)(p->mrg ? p->rx_niov : p->held[0].niov), -1,
			      0);
		if (len >= (ssize_t)sizeof(struct virtio_net_hdr_v1)) {
			rx_frame(p, (uint32_t)len);
		} else if (len < 0 && errno == EAGAIN) {
			rx_poll_arm(p);
		} else if (len < 0 && errno != EINTR && pair_active(p)) {
			pair_error(p, "reading from the tap", errno);
			p->rx_failed = true;
		}
	}
}

/* ---- the thread ---- */

/* A poll that stops (no IORING_CQE_F_MORE, e.g. on a completion queue overflow) is
 * armed again. */
static void poll_done(struct net_pair *p, int fd, uint64_t tag, int res, unsigned int flags)
{
	if (res < 0 && res != -ECANCELED)
		pair_error(p, "polling an eventfd", -res);
	else if (!(flags & IORING_CQE_F_MORE))
		poll_arm(p, fd, tag);
}

/* A kick poll of queue q completed: a kick when it found the eventfd readable. */
static void kick_done(struct net_pair *p, struct virtio_queue *q, uint64_t tag, int res,
		      unsigned int flags)
{
	poll_done(p, q->kick_fd, tag, res, flags);
	if (res > 0)
		virtio_stat_add(&q->stats.kicks, 1);
}

static void pair_complete(struct net_pair *p, const struct io_uring_cqe *cqe)
{
	switch (cqe->user_data) {
	case TAG_STOP:
		p->stopping = true;
		break;
	case TAG_RX_KICK:
		p->need_rx = true;
		kick_done(p, p->rxq, TAG_RX_KICK, cqe->res, cqe->flags);
		break;
	case TAG_TX_KICK:
		p->need_tx = true;
		kick_done(p, p->txq, TAG_TX_KICK, cqe->res, cqe->flags);
		break;
	case TAG_WAKE:
		p->need_rx = true;
		poll_done(p, p->wake_fd, TAG_WAKE, cqe->res, cqe->flags);
		break;
	case TAG_RX_READY:
		p->rx_polling = false;
		p->need_rx = true;
		break;
	}
}

static void pair_reap(struct net_pair *p)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&p->ring, head, cqe)
	{
		n++;
		pair_complete(p, cqe);
	}
	io_uring_cq_advance(&p->ring, n);
}

static void pair_serve(struct net_pair *p)
{
	if (p->need_tx && !p->broken)
		tx_drain(p);
	if (p->need_rx)
		rx_drain(p);
	notify(p, p->txq, &p->tx_pushed);
	notify(p, p->rxq, &p->rx_pushed);
}

static void *pair_thread(void *arg)
{
	struct net_pair *p = arg;
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "net-q%u", p->index);
	sandbox_enter(SANDBOX_IO, name);
	poll_arm(p, p->net->stop_fd, TAG_STOP);
	poll_arm(p, p->rxq->kick_fd, TAG_RX_KICK);
	poll_arm(p, p->txq->kick_fd, TAG_TX_KICK);
	poll_arm(p, p->wake_fd, TAG_WAKE);
	/* buffers may be there before the first kick */
	p->need_rx = p->need_tx = true;
	while (!p->stopping) {
		pair_serve(p);
		/* work left over from a budget: look at the ring without waiting */
		if (p->need_tx || p->need_rx)
			ret = io_uring_submit(&p->ring);
		else
			ret = io_uring_submit_and_wait(&p->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			log_error("virtio-net %s queue pair %u: io_uring failed: %s",
				  p->net->ifname, p->index, strerror(-ret));
			break;
		}
		pair_reap(p);
	}
	return NULL;
}

static void pair_free(struct net_pair *p)
{
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	free(p);
}

static struct net_pair *pair_alloc(struct net *n, unsigned int index)
{
	struct net_pair *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0) {
		pair_free(p);
		return NULL;
	}
	p->net = n;
	p->index = index;
	p->rxq = &n->dev.queue[2 * index];
	p->txq = &n->dev.queue[2 * index + 1];
	p->tap = n->tap[index];
	p->mrg = has(n->dev.negotiated, VIRTIO_NET_F_MRG_RXBUF);
	p->rx_need = net_rx_need(n);
	return p;
}

struct net_pair *net_pair_start(struct net *n, unsigned int index)
{
	struct io_uring_params params = {0};
	struct net_pair *p = pair_alloc(n, index);
	int err;

	if (!p) {
		log_error("virtio-net %s: out of memory for queue pair %u", n->ifname, index);
		return NULL;
	}
	err = io_uring_queue_init_params(RING_ENTRIES, &p->ring, &params);
	if (err) {
		log_error("virtio-net %s: cannot create an io_uring (%s)", n->ifname,
			  strerror(-err));
		pair_free(p);
		return NULL;
	}
	err = pthread_create(&p->thread, NULL, pair_thread, p);
	if (err) {
		log_error("virtio-net %s: cannot start an I/O thread (%s)", n->ifname,
			  strerror(err));
		io_uring_queue_exit(&p->ring);
		pair_free(p);
		return NULL;
	}
	return p;
}

void net_pair_stop(struct net_pair *p)
{
	pthread_join(p->thread, NULL);
	io_uring_queue_exit(&p->ring);
	pair_free(p);
}

void net_pair_wake(struct net_pair *p)
{
	uint64_t one = 1;

	if (write(p->wake_fd, &one, sizeof(one)) < 0)
		log_guest_warn("virtio-net %s queue pair %u: cannot wake its I/O thread: %s",
			       p->net->ifname, p->index, strerror(errno));
}
