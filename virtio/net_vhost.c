/* vhost-net (drivers/vhost/net.c) driven through its ioctls (linux/vhost.h). */
#include "virtio/net_vhost.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* What the device needs from the kernel's implementation: virtio 1.x and the ring
 * features the transport offers every driver. */
#define VHOST_NEEDED                                                                               \
	(1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX |                            \
	 1ULL << VIRTIO_RING_F_INDIRECT_DESC)

static int vhost_open_one(struct net *n, unsigned int i)
{
	n->vhost[i] = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (n->vhost[i] < 0)
		return -errno;
	if (ioctl(n->vhost[i], VHOST_SET_OWNER) ||
	    (i == 0 && ioctl(n->vhost[i], VHOST_GET_FEATURES, &n->vhost_features)))
		return -errno;
	return 0;
}

static void vhost_close_all(struct net *n)
{
	unsigned int i;

	for (i = 0; i < n->pairs; i++) {
		if (n->vhost[i] >= 0)
			close(n->vhost[i]);
		n->vhost[i] = -1;
	}
}

static int vhost_unavailable(struct net *n, bool required, int err)
{
	vhost_close_all(n);
	if (required) {
		log_error("--net vhost=on: cannot use /dev/vhost-net (%s): modprobe vhost_net, "
			  "or give vhost=off for conduit's own datapath",
			  strerror(err));
		return -1;
	}
	log_info("virtio-net %s: no vhost-net (%s; modprobe vhost_net): the io_uring "
		 "datapath serves it",
		 n->ifname, strerror(err));
	return 0;
}

int net_vhost_open(struct net *n, bool required)
{
	unsigned int i;
	int err;

	for (i = 0; i < n->pairs; i++) {
		err = vhost_open_one(n, i);
		if (err)
			return vhost_unavailable(n, required, -err);
	}
	if ((n->vhost_features & VHOST_NEEDED) != VHOST_NEEDED)
		return vhost_unavailable(n, required, ENOTSUP);
	return 1;
}

/* All of guest RAM, in its two slots (below the 32-bit MMIO hole and from 4 GiB). */
static int vhost_set_memory(int fd, const struct guest_ram *ram)
{
	struct vhost_memory *m = calloc(1, sizeof(*m) + 2 * sizeof(m->regions[0]));
	int ret;

	if (!m)
		return -1;
	m->regions[0] = (struct vhost_memory_region){.guest_phys_addr = 0,
						     .memory_size = ram->low_size,
						     .userspace_addr = (uintptr_t)ram->host};
	m->nregions = 1;
	if (ram->high_size)
		m->regions[m->nregions++] = (struct vhost_memory_region){
			.guest_phys_addr = GUEST_RAM_HIGH_ADDR,
			.memory_size = ram->high_size,
			.userspace_addr = (uintptr_t)(ram->host + ram->low_size)};
	ret = ioctl(fd, VHOST_SET_MEM_TABLE, m);
	free(m);
	return ret;
}

/* One ring (vhost's index 0 = receive, 1 = transmit): size, start, the host
 * addresses vq_init validated, its kick and call eventfds. The rings are new: both
 * sides start at 0. */
static int vhost_set_ring(int fd, unsigned int index, const struct virtio_queue *q)
{
	const struct virtqueue *vq = &q->vq;
	struct vhost_vring_state num = {index, vq->size}, base = {index, 0};
	struct vhost_vring_addr addr = {.index = index,
					.desc_user_addr = (uintptr_t)vq->desc,
					.avail_user_addr = (uintptr_t)vq->avail,
					.used_user_addr = (uintptr_t)vq->used};
	struct vhost_vring_file kick = {index, q->kick_fd};
	struct vhost_vring_file call = {index, __atomic_load_n(&q->call_fd, __ATOMIC_ACQUIRE)};

	if (ioctl(fd, VHOST_SET_VRING_NUM, &num) || ioctl(fd, VHOST_SET_VRING_BASE, &base) ||
	    ioctl(fd, VHOST_SET_VRING_ADDR, &addr) || ioctl(fd, VHOST_SET_VRING_KICK, &kick) ||
	    ioctl(fd, VHOST_SET_VRING_CALL, &call))
		return -1;
	return 0;
}

static int vhost_set_backend(int fd, int tap)
{
	struct vhost_vring_file rx = {0, tap}, tx = {1, tap};

	return ioctl(fd, VHOST_NET_SET_BACKEND, &rx) || ioctl(fd, VHOST_NET_SET_BACKEND, &tx) ? -1
											      : 0;
}

/* The features the driver took that vhost acts on; the header stays the tap's
 * (no VHOST_NET_F_VIRTIO_NET_HDR: vhost passes it through). */
int net_vhost_start(struct net *n, unsigned int pair)
{
	uint64_t features = n->dev.negotiated & n->vhost_features;
	const struct virtio_queue *rx = &n->dev.queue[2 * pair], *tx = rx + 1;
	int fd = n->vhost[pair];

	if (ioctl(fd, VHOST_SET_FEATURES, &features) || vhost_set_memory(fd, rx->vq.ram) ||
	    vhost_set_ring(fd, 0, rx) || vhost_set_ring(fd, 1, tx) ||
	    vhost_set_backend(fd, n->tap[pair])) {
		log_guest_warn("virtio-net %s queue pair %u: vhost-net refused the rings: %s",
			       n->ifname, pair, strerror(errno));
		net_vhost_stop(n, pair);
		return -1;
	}
	return 0;
}

/* Without a backend the worker leaves the rings alone; GET_VRING_BASE then reads
 * where it stopped (the rings go with the reset, so the value is not kept). */
void net_vhost_stop(struct net *n, unsigned int pair)
{
	struct vhost_vring_state rx = {0, 0}, tx = {1, 0};
	int fd = n->vhost[pair];

	if (vhost_set_backend(fd, -1) || ioctl(fd, VHOST_GET_VRING_BASE, &rx) ||
	    ioctl(fd, VHOST_GET_VRING_BASE, &tx))
		log_error("virtio-net %s queue pair %u: cannot stop vhost-net: %s", n->ifname, pair,
			  strerror(errno));
}

void net_vhost_set_call(struct net *n, unsigned int queue)
{
	const struct virtio_queue *q = &n->dev.queue[queue];
	struct vhost_vring_file call = {queue % 2, __atomic_load_n(&q->call_fd, __ATOMIC_ACQUIRE)};

	if (ioctl(n->vhost[queue / 2], VHOST_SET_VRING_CALL, &call))
		log_guest_warn("virtio-net %s: vhost-net kept queue %u's old vector: %s", n->ifname,
			       queue, strerror(errno));
}
