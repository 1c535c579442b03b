/*
 * The modern virtio-pci transport. Everything lives in BAR 0 (64-bit memory), each
 * structure in its own 4 KiB page and located by a vendor capability:
 *
 *   0x0000  common configuration   0x2000  device configuration
 *   0x1000  ISR status             0x3000  notifications, 4 bytes per queue
 *
 * and the MSI-X table/PBA in BAR 2. Queue notifications never reach this code: each
 * queue's notify address is a KVM ioeventfd, so a driver kick only signals the
 * backend's kick eventfd. Interrupts leave as writes to MSI-X vector eventfds that
 * are KVM irqfds. Only setup and teardown exit to userspace.
 *
 * Negotiation: the device offers its backend's features plus VERSION_1, INDIRECT_DESC
 * and EVENT_IDX; FEATURES_OK sticks only if the driver took VERSION_1 and nothing the
 * device did not offer. DRIVER_OK maps the rings (validated) and starts the backend.
 * Writing 0 to device_status resets everything, vectors included.
 */
#include "virtio/pci.h"
#include "irq/ioeventfd.h"
#include "pci/bar.h"
#include "pci/config.h"
#include "pci/msix.h"
#include "pci/pcie.h"
#include "vmm/base/le.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define VENDOR_VIRTIO	   0x1af4
#define DEVICE_MODERN_BASE 0x1040
#define SUBSYS_ID	   0x1100

#define BAR_CFG	       0
#define BAR_MSIX       2
#define COMMON_OFF     0x0000
#define ISR_OFF	       0x1000
#define DEVCFG_OFF     0x2000
#define NOTIFY_OFF     0x3000
#define NOTIFY_MULT    4
#define BAR_CFG_SIZE   0x4000
#define BAR_MSIX_SIZE  0x2000
#define MSIX_PBA_OFF   0x1000
#define COMMON_CFG_LEN sizeof(struct virtio_pci_common_cfg)

#define TRANSPORT_FEATURES                                                                         \
	(1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_INDIRECT_DESC |                        \
	 1ULL << VIRTIO_RING_F_EVENT_IDX)

struct vq_config {
	uint16_t size;
	uint16_t vector;
	uint64_t desc, avail, used;
};

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *vdev;
	const struct guest_ram *ram;
	struct msix msix;
	struct irq_router *irq;
	pthread_mutex_t lock;
	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint8_t status;
	uint8_t generation;
	uint8_t isr;
	uint16_t queue_sel;
	uint16_t config_vector;
	struct vq_config q[VIRTIO_MAX_QUEUES];
	uint64_t notify_addr; /* where the ioeventfds are registered; 0 when none */
};

static struct virtio_pci *to_vp(struct pci_dev *d)
{
	return d->priv;
}

/* The driver kicks a queue by writing its 16-bit index to the queue's notify address. */
static int ioeventfd(struct virtio_pci *vp, unsigned int q, uint64_t bar_addr, bool assign)
{
	return ioeventfd_set(vp->irq->vm_fd, bar_addr + NOTIFY_OFF + q * NOTIFY_MULT, 2,
			     vp->vdev->queue[q].kick_fd, assign);
}

/* BAR 0 moved or changed decoding: move the notify ioeventfds with it. */
static void vp_bar_moved(struct pci_dev *d, unsigned int bar)
{
	struct virtio_pci *vp = to_vp(d);
	unsigned int q;

	if (bar != BAR_CFG)
		return;
	for (q = 0; vp->notify_addr && q < vp->vdev->nr_queues; q++)
		ioeventfd(vp, q, vp->notify_addr, false);
	vp->notify_addr = 0;
	if (!d->bar[BAR_CFG].mapped)
		return;
	for (q = 0; q < vp->vdev->nr_queues; q++)
		if (ioeventfd(vp, q, d->bar[BAR_CFG].addr, true))
			log_guest_warn(
				"%s: KVM_IOEVENTFD for queue %u failed (%s): kicks will exit",
				vp->vdev->name, q, strerror(errno));
	vp->notify_addr = d->bar[BAR_CFG].addr;
}

static uint64_t device_features(struct virtio_pci *vp)
{
	return vp->vdev->ops->features(vp->vdev) | TRANSPORT_FEATURES;
}

/* I/O threads OR NEEDS_RESET in at any time (vp_flag_reset): every access is atomic. */
static uint8_t vp_status(struct virtio_pci *vp)
{
	return __atomic_load_n(&vp->status, __ATOMIC_ACQUIRE);
}

static void vp_reset(struct virtio_pci *vp)
{
	unsigned int q;

	vp->vdev->ops->reset(vp->vdev);
	__atomic_store_n(&vp->status, 0, __ATOMIC_SEQ_CST);
	vp->isr = 0;
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (q = 0; q < vp->vdev->nr_queues; q++) {
		vp->q[q] = (struct vq_config){.size = vp->vdev->queue_max_size,
					      .vector = VIRTIO_MSI_NO_VECTOR};
		vp->vdev->queue[q].enabled = false;
		vp->vdev->queue[q].call_fd = -1;
	}
}

/* The eventfd behind an MSI-X vector (an irqfd while unmasked), -1 for none. */
static int vp_vector_fd(struct virtio_pci *vp, uint16_t vector)
{
	return vector == VIRTIO_MSI_NO_VECTOR ? -1 : msix_vector_fd(&vp->msix, vector);
}

static int vp_activate(struct virtio_pci *vp)
{
	struct virtio_dev *vdev = vp->vdev;
	bool event_idx = vp->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	bool indirect = vp->driver_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	unsigned int q;

	vdev->negotiated = vp->driver_features;
	for (q = 0; q < vdev->nr_queues; q++) {
		struct virtio_queue *vq = &vdev->queue[q];
		struct vq_config *c = &vp->q[q];

		if (!vq->enabled)
			continue;
		if (vq_init(&vq->vq, vp->ram, c->size, c->desc, c->avail, c->used, event_idx,
			    indirect))
			return -1;
		vq->call_fd = vp_vector_fd(vp, c->vector);
	}
	return vdev->ops->activate(vdev);
}

/* Sets NEEDS_RESET (an atomic OR: an I/O thread may set it at the same time) and tells
 * the driver through the config interrupt (§2.1.2). */
static void vp_flag_reset(struct virtio_pci *vp, const char *why)
{
	uint64_t one = 1;
	int fd = vp_vector_fd(vp, vp->config_vector);

	if (__atomic_fetch_or(&vp->status, VIRTIO_CONFIG_S_NEEDS_RESET, __ATOMIC_SEQ_CST) &
	    VIRTIO_CONFIG_S_NEEDS_RESET)
		return; /* already flagged and said: a guest cannot flood the log */
	__atomic_or_fetch(&vp->isr, VIRTIO_PCI_ISR_CONFIG, __ATOMIC_SEQ_CST);
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		log_guest_warn("%s: cannot raise the config interrupt", vp->vdev->name);
	log_guest_warn("%s: device needs reset: %s", vp->vdev->name, why);
}

/*
 * The driver sets status bits one step at a time and clears them only by a reset,
 * writing 0 (§2.1.1, §3.1.1); NEEDS_RESET is the device's bit. A write that clears a bit
 * already set is a driver error: it changes nothing and the device asks for a reset.
 * Taken as it came, it would activate a running device a second time under its I/O
 * threads, or renegotiate its features. Bits are only ever added, with an atomic OR, so
 * a NEEDS_RESET an I/O thread sets meanwhile is never lost.
 */
static void vp_set_status(struct virtio_pci *vp, uint8_t status)
{
	uint8_t old = vp_status(vp) & (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET;

	if (status == 0) {
		vp_reset(vp);
		return;
	}
	status &= (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET;
	if (old & ~status) {
		vp_flag_reset(vp, "the driver cleared status bits without a reset");
		return;
	}
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		uint64_t f = vp->driver_features;

		if (!(f & (1ULL << VIRTIO_F_VERSION_1)) || (f & ~device_features(vp)))
			status &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	__atomic_or_fetch(&vp->status, status, __ATOMIC_SEQ_CST);
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    vp_activate(vp))
		vp_flag_reset(vp, "cannot start the device with the rings the driver gave");
}

/* Called by a backend that met a malformed chain. */
static void vp_needs_reset(struct virtio_dev *vdev)
{
	vp_flag_reset(vdev->transport, "a malformed request");
}

static uint64_t common_read(struct virtio_pci *vp, unsigned int off)
{
	struct vq_config *c = vp->queue_sel < vp->vdev->nr_queues ? &vp->q[vp->queue_sel] : NULL;
	uint64_t f;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		f = device_features(vp);
		return vp->dfselect == 0 ? (uint32_t)f : vp->dfselect == 1 ? f >> 32 : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		f = vp->driver_features;
		return vp->gfselect == 0 ? (uint32_t)f : vp->gfselect == 1 ? f >> 32 : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return vp->config_vector;
	case VIRTIO_PCI_COMMON_NUMQ:
		return vp->vdev->nr_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return vp_status(vp);
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return vp->generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vp->queue_sel;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return c ? c->size : 0;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return c ? c->vector : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return c ? vp->vdev->queue[vp->queue_sel].enabled : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return vp->queue_sel;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return c ? (uint32_t)c->desc : 0;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return c ? c->desc >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return c ? (uint32_t)c->avail : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return c ? c->avail >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return c ? (uint32_t)c->used : 0;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return c ? c->used >> 32 : 0;
	default:
		return 0;
	}
}

static void set_lo(uint64_t *v, uint32_t lo)
{
	*v = (*v & ~0xffffffffULL) | lo;
}

static void set_hi(uint64_t *v, uint32_t hi)
{
	*v = (*v & 0xffffffffULL) | (uint64_t)hi << 32;
}

static uint16_t checked_vector(struct virtio_pci *vp, uint32_t v)
{
	return v < vp->msix.nr ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void queue_write(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	struct vq_config *c;
	bool live = vp_status(vp) & VIRTIO_CONFIG_S_DRIVER_OK;

	if (vp->queue_sel >= vp->vdev->nr_queues)
		return;
	c = &vp->q[vp->queue_sel];
	/* Queue layout is frozen once the queue is enabled or the device is running. */
	if (off != VIRTIO_PCI_COMMON_Q_MSIX && (live || vp->vdev->queue[vp->queue_sel].enabled))
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* a power of two no larger than the maximum (split ring rule) */
		if (v && v <= vp->vdev->queue_max_size && !(v & (v - 1)))
			c->size = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		c->vector = checked_vector(vp, v);
		/* A running queue interrupts through the new vector from now on: its I/O
		 * thread loads call_fd for every notification. */
		if (live && vp->vdev->queue[vp->queue_sel].enabled) {
			__atomic_store_n(&vp->vdev->queue[vp->queue_sel].call_fd,
					 vp_vector_fd(vp, c->vector), __ATOMIC_RELEASE);
			if (vp->vdev->ops->vector_changed)
				vp->vdev->ops->vector_changed(vp->vdev, vp->queue_sel);
		}
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		vp->vdev->queue[vp->queue_sel].enabled = v == 1;
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		set_lo(&c->desc, v);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_hi(&c->desc, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		set_lo(&c->avail, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_hi(&c->avail, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		set_lo(&c->used, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_hi(&c->used, v);
		break;
	}
}

static void common_write(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		if (vp_status(vp) & VIRTIO_CONFIG_S_FEATURES_OK)
			break;
		if (vp->gfselect == 0)
			set_lo(&vp->driver_features, v);
		else if (vp->gfselect == 1)
			set_hi(&vp->driver_features, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->config_vector = checked_vector(vp, v);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		vp_set_status(vp, (uint8_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_sel = (uint16_t)v;
		break;
	default:
		queue_write(vp, off, v);
		break;
	}
}

static void vp_bar_read(struct pci_dev *d, unsigned int bar, uint64_t off, uint8_t *data,
			unsigned int size)
{
	struct virtio_pci *vp = to_vp(d);

	memset(data, 0, size);
	pthread_mutex_lock(&vp->lock);
	if (bar == BAR_MSIX) {
		if (off < MSIX_PBA_OFF)
			msix_table_read(&vp->msix, off, data, size);
		else
			msix_pba_read(&vp->msix, off - MSIX_PBA_OFF, data, size);
	} else if (off < COMMON_OFF + COMMON_CFG_LEN) {
		le_put(data, size, common_read(vp, (unsigned int)off));
	} else if (off == ISR_OFF) {
		/* reading ISR acknowledges it (§4.1.4.5) */
		data[0] = __atomic_exchange_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
	} else if (off >= DEVCFG_OFF && off + size <= DEVCFG_OFF + vp->vdev->config_size) {
		vp->vdev->ops->config_read(vp->vdev, (uint32_t)(off - DEVCFG_OFF), data, size);
	}
	pthread_mutex_unlock(&vp->lock);
}

static void vp_bar_write(struct pci_dev *d, unsigned int bar, uint64_t off, const uint8_t *data,
			 unsigned int size)
{
	struct virtio_pci *vp = to_vp(d);
	uint64_t one = 1;

	pthread_mutex_lock(&vp->lock);
	if (bar == BAR_MSIX) {
		if (off < MSIX_PBA_OFF)
			msix_table_write(&vp->msix, off, data, size);
	} else if (off < COMMON_OFF + COMMON_CFG_LEN) {
		common_write(vp, (unsigned int)off, (uint32_t)le_get(data, size));
	} else if (off >= DEVCFG_OFF && off + size <= DEVCFG_OFF + vp->vdev->config_size) {
		vp->vdev->ops->config_write(vp->vdev, (uint32_t)(off - DEVCFG_OFF), data, size);
	} else if (off >= NOTIFY_OFF &&
		   off < NOTIFY_OFF + vp->vdev->nr_queues * NOTIFY_MULT * 1ULL) {
		/* a kick that missed the ioeventfd (other width): deliver it the same way */
		unsigned int q = (unsigned int)(off - NOTIFY_OFF) / NOTIFY_MULT;

		if (write(vp->vdev->queue[q].kick_fd, &one, sizeof(one)) < 0)
			log_guest_warn("%s: cannot signal queue %u", vp->vdev->name, q);
	}
	pthread_mutex_unlock(&vp->lock);
}

static void vp_config_written(struct pci_dev *d, unsigned int off, unsigned int size)
{
	struct virtio_pci *vp = to_vp(d);

	pthread_mutex_lock(&vp->lock);
	msix_config_written(&vp->msix, off, size);
	pthread_mutex_unlock(&vp->lock);
}

static void vp_pci_reset(struct pci_dev *d)
{
	struct virtio_pci *vp = to_vp(d);

	pthread_mutex_lock(&vp->lock);
	vp_reset(vp);
	msix_reset(&vp->msix);
	pthread_mutex_unlock(&vp->lock);
}

static void vp_destroy(struct pci_dev *d)
{
	struct virtio_pci *vp = to_vp(d);
	unsigned int q;

	vp->vdev->ops->reset(vp->vdev);
	for (q = 0; vp->notify_addr && q < vp->vdev->nr_queues; q++)
		ioeventfd(vp, q, vp->notify_addr, false);
	for (q = 0; q < vp->vdev->nr_queues; q++)
		close(vp->vdev->queue[q].kick_fd);
	msix_destroy(&vp->msix);
	vp->vdev->ops->destroy(vp->vdev);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

static const struct pci_dev_ops virtio_pci_ops = {
	.config_written = vp_config_written,
	.bar_moved = vp_bar_moved,
	.reset = vp_pci_reset,
	.destroy = vp_destroy,
};

static void add_cap(struct pci_dev *d, uint8_t type, uint32_t off, uint32_t len, bool notify)
{
	unsigned int c = pci_cap_add(d, PCI_CAP_ID_VNDR, notify ? 20 : 16);

	pci_set8(d, c + VIRTIO_PCI_CAP_LEN, notify ? 20 : 16);
	pci_set8(d, c + VIRTIO_PCI_CAP_CFG_TYPE, type);
	pci_set8(d, c + VIRTIO_PCI_CAP_BAR, BAR_CFG);
	pci_set32(d, c + VIRTIO_PCI_CAP_OFFSET, off);
	pci_set32(d, c + VIRTIO_PCI_CAP_LENGTH, len);
	if (notify)
		pci_set32(d, c + 16, NOTIFY_MULT);
}

static uint32_t class_of(uint16_t device_id)
{
	switch (device_id) {
	case 2:
		return 0x010000; /* mass storage, SCSI, as every virtio-blk */
	case 1:
		return 0x020000; /* network */
	default:
		return 0x00ff00; /* unclassified */
	}
}

static int vp_setup_queues(struct virtio_pci *vp)
{
	unsigned int q;

	for (q = 0; q < vp->vdev->nr_queues; q++) {
		vp->vdev->queue[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->vdev->queue[q].kick_fd < 0)
			return -1;
	}
	return 0;
}

struct pci_dev *virtio_pci_create(struct virtio_dev *vdev, struct irq_router *irq,
				  const struct guest_ram *ram)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	struct pci_dev *d;

	if (!vp || vdev->nr_queues == 0 || vdev->nr_queues > VIRTIO_MAX_QUEUES) {
		free(vp);
		return NULL;
	}
	d = &vp->pci;
	d->priv = vp;
	vp->vdev = vdev;
	vp->ram = ram;
	vp->irq = irq;
	vdev->transport = vp;
	vdev->needs_reset = vp_needs_reset;
	pthread_mutex_init(&vp->lock, NULL);
	pci_dev_init(d, &virtio_pci_ops, vdev->name, VENDOR_VIRTIO,
		     (uint16_t)(DEVICE_MODERN_BASE + vdev->device_id), class_of(vdev->device_id),
		     PCI_HEADER_TYPE_NORMAL);
	pci_set8(d, PCI_REVISION_ID, 1);
	pci_set16(d, PCI_SUBSYSTEM_VENDOR_ID, VENDOR_VIRTIO);
	pci_set16(d, PCI_SUBSYSTEM_ID, SUBSYS_ID);
	pci_bar_init(d, BAR_CFG, PCI_BAR_MEM64, true, BAR_CFG_SIZE);
	pci_bar_init(d, BAR_MSIX, PCI_BAR_MEM32, false, BAR_MSIX_SIZE);
	d->bar[BAR_CFG].read = d->bar[BAR_MSIX].read = vp_bar_read;
	d->bar[BAR_CFG].write = d->bar[BAR_MSIX].write = vp_bar_write;
	add_cap(d, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, COMMON_CFG_LEN, false);
	add_cap(d, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 1, false);
	/* Only devices with a configuration space have the capability: Linux rejects a
	 * zero-length one and fails the probe. */
	if (vdev->config_size)
		add_cap(d, VIRTIO_PCI_CAP_DEVICE_CFG, DEVCFG_OFF, vdev->config_size, false);
	add_cap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF, vdev->nr_queues * NOTIFY_MULT, true);
	pcie_cap_add(d, PCI_EXP_TYPE_ENDPOINT, 0);
	if (msix_init(&vp->msix, d, irq, vdev->nr_queues + 1u, BAR_MSIX, 0, MSIX_PBA_OFF) ||
	    vp_setup_queues(vp)) {
		log_error("%s: cannot allocate interrupt or notification eventfds", vdev->name);
		msix_destroy(&vp->msix);
		free(vp);
		return NULL;
	}
	vp_reset(vp);
	return d;
}

const struct virtio_dev *virtio_pci_device(const struct pci_dev *d)
{
	return d->ops == &virtio_pci_ops ? ((const struct virtio_pci *)d->priv)->vdev : NULL;
}

static uint64_t stat_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void virtio_dev_stats(const struct virtio_dev *dev, struct virtio_queue_stats *sum)
{
	*sum = (struct virtio_queue_stats){0};
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		const struct virtio_queue_stats *s = &dev->queue[q].stats;

		sum->kicks += stat_read(&s->kicks);
		sum->requests += stat_read(&s->requests);
		sum->interrupts += stat_read(&s->interrupts);
		sum->bytes += stat_read(&s->bytes);
		sum->polls += stat_read(&s->polls);
		sum->poll_hits += stat_read(&s->poll_hits);
	}
}
