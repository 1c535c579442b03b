#include "virtio/virtqueue.h"
#include "vmm/base/log.h"

#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A chain may not describe more than 2^32 bytes in total (§2.7.5). */
#define VQ_MAX_CHAIN_BYTES (1ULL << 32)

static int vq_fail(struct virtqueue *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int vq_fail(struct virtqueue *vq, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vq->broken = true;
	log_guest_warn("virtqueue at 0x%llx: %s", (unsigned long long)vq->desc_addr, why);
	return -1;
}

/* The ring fields the driver writes are read with single loads: a value it changes
 * under us is seen either old or new, never torn. */
static uint16_t ring_load(const __virtio16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void ring_store(__virtio16 *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

/* used_event trails the available ring, avail_event the used ring (§2.7.7, §2.7.8). */
static __virtio16 *used_event(struct virtqueue *vq)
{
	return &vq->avail->ring[vq->size];
}

static __virtio16 *avail_event(struct virtqueue *vq)
{
	return (__virtio16 *)&vq->used->ring[vq->size];
}

static void *ring_map(const struct guest_ram *ram, const char *what, uint64_t gpa, uint64_t align,
		      uint64_t len)
{
	void *p = gpa % align ? NULL : guest_ram_ptr(ram, gpa, len);

	if (!p)
		log_guest_warn(
			"virtqueue %s at 0x%llx (%llu bytes) is misaligned or not in guest RAM",
			what, (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

int vq_init(struct virtqueue *vq, const struct guest_ram *ram, uint16_t size, uint64_t desc,
	    uint64_t avail, uint64_t used, bool event_idx, bool indirect)
{
	uint64_t ev = event_idx ? 2 : 0;

	memset(vq, 0, sizeof(*vq));
	vq->broken = true;
	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1))) {
		log_guest_warn("virtqueue size %u is not a power of two up to %u", size,
			       VQ_MAX_SIZE);
		return -1;
	}
	vq->desc = ring_map(ram, "descriptor table", desc, 16, 16ULL * size);
	vq->avail = ring_map(ram, "available ring", avail, 2, 4 + 2ULL * size + ev);
	vq->used = ring_map(ram, "used ring", used, 4, 4 + 8ULL * size + ev);
	if (!vq->desc || !vq->avail || !vq->used)
		return -1;
	vq->ram = ram;
	vq->size = size;
	vq->desc_addr = desc;
	vq->avail_addr = avail;
	vq->used_addr = used;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	/* A queue starts at index 0 with notifications on (§2.7.6, §2.7.8). */
	ring_store(&vq->used->flags, 0);
	__atomic_store_n(&vq->used->idx, 0, __ATOMIC_RELEASE);
	if (event_idx)
		ring_store(avail_event(vq), 0);
	vq->broken = false;
	return 0;
}

/* Reads a descriptor the driver may be rewriting: from the copy on, only the copy
 * counts (the barrier stops the compiler from going back to guest memory). */
static void desc_read(const struct vring_desc *src, uint64_t *addr, uint32_t *len, uint16_t *flags,
		      uint16_t *next)
{
	struct vring_desc d;

	memcpy(&d, src, sizeof(d));
	__asm__ volatile("" ::: "memory");
	*addr = le64toh(d.addr);
	*len = le32toh(d.len);
	*flags = le16toh(d.flags);
	*next = le16toh(d.next);
}

struct chain_walk {
	const struct vring_desc *table;
	uint32_t table_len;
	bool in_indirect;
	unsigned int max; /* buffers a chain may have */
};

/* An INDIRECT descriptor ends the direct part of a chain and names a table of
 * descriptors that continues it (§2.7.5.3): only when negotiated, only one per chain,
 * never with NEXT; its WRITE flag is ignored. */
static int walk_indirect(struct virtqueue *vq, struct chain_walk *w, uint64_t addr, uint32_t len,
			 uint16_t flags)
{
	if (!vq->indirect)
		return vq_fail(vq, "indirect descriptor but VIRTIO_F_INDIRECT_DESC not negotiated");
	if (w->in_indirect)
		return vq_fail(vq, "indirect descriptor inside an indirect table");
	if (flags & VRING_DESC_F_NEXT)
		return vq_fail(vq, "indirect descriptor with NEXT set");
	if (len == 0 || len % sizeof(struct vring_desc))
		return vq_fail(vq, "indirect table of %u bytes is not a multiple of 16", len);
	w->table = guest_ram_ptr(vq->ram, addr, len);
	if (!w->table)
		return vq_fail(vq, "indirect table at 0x%llx (%u bytes) is not in guest RAM",
			       (unsigned long long)addr, len);
	w->table_len = len / sizeof(struct vring_desc);
	w->in_indirect = true;
	return 0;
}

/* One buffer of the chain: in guest RAM, not empty, readable ones before writable
 * ones (§2.7.4.2), and the chain not longer than the queue (§2.7.5.3.1). */
static int walk_buffer(struct virtqueue *vq, struct chain_walk *w, struct vq_chain *c,
		       uint64_t addr, uint32_t len, bool writable)
{
	unsigned int n = c->nr_out + c->nr_in;
	void *p;

	if (n == w->max)
		return vq_fail(vq, "descriptor chain longer than %u buffers (a loop?)", w->max);
	if (len == 0)
		return vq_fail(vq, "zero-length buffer in chain %u", c->head);
	p = guest_ram_ptr(vq->ram, addr, len);
	if (!p)
		return vq_fail(vq, "buffer at 0x%llx (%u bytes) is not in guest RAM",
			       (unsigned long long)addr, len);
	if (!writable && c->nr_in)
		return vq_fail(vq, "device-readable buffer after a device-writable one");
	if (c->out_len + c->in_len + len > VQ_MAX_CHAIN_BYTES)
		return vq_fail(vq, "descriptor chain longer than 4 GiB");
	c->iov[n].iov_base = p;
	c->iov[n].iov_len = len;
	if (writable) {
		c->nr_in++;
		c->in_len += len;
	} else {
		c->nr_out++;
		c->out_len += len;
	}
	return 0;
}

static int chain_walk(struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
	struct chain_walk w = {.table = vq->desc, .table_len = vq->size};
	uint32_t i = head, len;
	uint16_t flags, next;
	uint64_t addr;

	w.max = vq->size < VQ_MAX_IOV ? vq->size : VQ_MAX_IOV;
	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		if (i >= w.table_len)
			return vq_fail(vq, "descriptor index %u out of a %u-entry table", i,
				       w.table_len);
		desc_read(&w.table[i], &addr, &len, &flags, &next);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (walk_indirect(vq, &w, addr, len, flags))
				return -1;
			i = 0;
			continue;
		}
		if (walk_buffer(vq, &w, c, addr, len, flags & VRING_DESC_F_WRITE))
			return -1;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	uint16_t head;

	if (vq->broken)
		return -1;
	if (vq->last_avail == vq->avail_shadow) {
		/* Acquire: the ring entries and descriptors the driver wrote before
		 * publishing this index are visible once we see the index (§2.7.13). */
		vq->avail_shadow = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
		if ((uint16_t)(vq->avail_shadow - vq->last_avail) > vq->size)
			return vq_fail(vq,
				       "available index moved %u entries ahead of a %u-entry ring",
				       (uint16_t)(vq->avail_shadow - vq->last_avail), vq->size);
		if (vq->last_avail == vq->avail_shadow)
			return 0;
	}
	head = ring_load(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	if (head >= vq->size)
		return vq_fail(vq, "head descriptor %u out of a %u-entry table", head, vq->size);
	if (chain_walk(vq, head, c))
		return -1;
	vq->last_avail++;
	return 1;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->size - 1)];

	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(written), __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release: the entry is visible before the index that hands it over (§2.7.14). */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

/* §2.7.10: with EVENT_IDX, interrupt if used_event lies in the entries pushed since
 * the last decision, i.e. in [old, new) modulo 2^16. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_should_notify(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used;

	/* Full fence: used->idx must be visible before we read the driver's
	 * suppression field, or a driver re-enabling interrupts concurrently and
	 * checking used->idx could miss both the entry and the interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = vq->used_idx;
	if (vq->event_idx)
		return need_event(ring_load(used_event(vq)), vq->used_idx, old);
	return !(ring_load(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

void vq_disable_notify(struct virtqueue *vq)
{
	if (vq->broken)
		return;
	/* With EVENT_IDX the driver kicks when its new avail->idx passes avail_event
	 * (§2.7.10): one behind last_avail is passed already, so no kick comes. A drain
	 * leaves it behind by popping; a thread that polls without popping needs this. */
	if (vq->event_idx)
		ring_store(avail_event(vq), (uint16_t)(vq->last_avail - 1));
	else
		ring_store(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

bool vq_enable_notify(struct virtqueue *vq)
{
	if (vq->broken)
		return false;
	if (vq->event_idx)
		ring_store(avail_event(vq), vq->last_avail);
	else
		ring_store(&vq->used->flags, 0);
	/* Full fence: the request for kicks must be visible before we look at
	 * avail->idx again, or a driver that read the old suppression state and skipped
	 * its kick would leave a buffer behind unseen. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ring_load(&vq->avail->idx) != vq->last_avail;
}

bool vq_has_avail(struct virtqueue *vq)
{
	/* A peek for busy polling: vq_pop reads the index again, with the acquire that
	 * pairs with the driver's barrier before it published the index. */
	return !vq->broken && ring_load(&vq->avail->idx) != vq->last_avail;
}
