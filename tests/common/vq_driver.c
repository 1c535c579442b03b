#include "tests/common/vq_driver.h"

#include <endian.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PAGE 4096ULL

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

void *vqd_ptr(const struct vqd *d, uint64_t gpa, uint64_t len)
{
	return guest_ram_ptr(d->ram, gpa, len);
}

static struct vring_desc *desc_at(struct vqd *d, uint64_t table, unsigned int i)
{
	return vqd_ptr(d, table + 16ULL * i, 16);
}

static struct vring_avail *avail_ring(struct vqd *d)
{
	return vqd_ptr(d, d->avail, 6 + 2ULL * d->size);
}

static struct vring_used *used_ring(struct vqd *d)
{
	return vqd_ptr(d, d->used, 6 + 8ULL * d->size);
}

int vqd_init(struct vqd *d, struct guest_ram *ram, uint64_t base, uint16_t size, bool event_idx)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->kick_fd = d->call_fd = -1;
	d->ram = ram;
	d->size = size;
	d->event_idx = event_idx;
	d->desc = base;
	d->avail = base + 16ULL * size;
	d->used = align_up(d->avail + 6 + 2ULL * size, PAGE);
	d->tables = align_up(d->used + 6 + 8ULL * size, PAGE);
	d->end = d->tables + 16ULL * VQD_MAX_INDIRECT * size;
	if (base % PAGE || !vqd_ptr(d, base, d->end - base))
		return -1;
	memset(vqd_ptr(d, base, d->end - base), 0, d->end - base);
	d->next = calloc(size, sizeof(*d->next));
	d->chain_len = calloc(size, sizeof(*d->chain_len));
	d->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!d->next || !d->chain_len || d->kick_fd < 0 || d->call_fd < 0) {
		vqd_destroy(d);
		return -1;
	}
	for (i = 0; i < size; i++)
		d->next[i] = (uint16_t)(i + 1);
	d->nr_free = size;
	return 0;
}

void vqd_destroy(struct vqd *d)
{
	free(d->next);
	free(d->chain_len);
	if (d->kick_fd >= 0)
		close(d->kick_fd);
	if (d->call_fd >= 0)
		close(d->call_fd);
	d->next = d->chain_len = NULL;
	d->kick_fd = d->call_fd = -1;
}

static void desc_write(struct vring_desc *v, const struct vqd_buf *b, bool more, uint16_t next)
{
	uint16_t flags = (b->writable ? VRING_DESC_F_WRITE : 0) | (more ? VRING_DESC_F_NEXT : 0);

	v->addr = htole64(b->gpa);
	v->len = htole32(b->len);
	v->flags = htole16(flags);
	v->next = htole16(more ? next : 0);
}

static uint16_t take_desc(struct vqd *d)
{
	uint16_t i = d->free_head;

	d->free_head = d->next[i];
	d->nr_free--;
	return i;
}

/* Indirect: one ring descriptor pointing at this head's table (§2.7.5.3). */
static void add_indirect(struct vqd *d, uint16_t head, const struct vqd_buf *b, unsigned int n)
{
	uint64_t table = d->tables + 16ULL * VQD_MAX_INDIRECT * head;
	struct vqd_buf t = {.gpa = table, .len = 16 * n};
	struct vring_desc *v = desc_at(d, d->desc, head);
	unsigned int i;

	for (i = 0; i < n; i++)
		desc_write(desc_at(d, table, i), &b[i], i + 1 < n, (uint16_t)(i + 1));
	desc_write(v, &t, false, 0);
	v->flags = htole16(VRING_DESC_F_INDIRECT);
	d->chain_len[head] = 1;
}

int vqd_add(struct vqd *d, const struct vqd_buf *b, unsigned int n, bool indirect)
{
	unsigned int need = indirect ? 1 : n, i;
	struct vring_avail *a = avail_ring(d);
	uint16_t head, cur;

	if (n == 0 || need > d->nr_free || (indirect && n > VQD_MAX_INDIRECT))
		return -1;
	head = cur = take_desc(d);
	if (indirect) {
		add_indirect(d, head, b, n);
	} else {
		for (i = 0; i < n; i++) {
			uint16_t nxt = i + 1 < n ? take_desc(d) : 0;

			desc_write(desc_at(d, d->desc, cur), &b[i], i + 1 < n, nxt);
			d->next[cur] = nxt;
			cur = nxt;
		}
		d->chain_len[head] = (uint16_t)n;
	}
	a->ring[d->avail_idx & (d->size - 1)] = htole16(head);
	d->avail_idx++;
	return head;
}

/* The device's avail_event, after the used ring's entries (§2.7.10). */
static uint16_t avail_event(struct vqd *d)
{
	return le16toh(__atomic_load_n((uint16_t *)&used_ring(d)->ring[d->size], __ATOMIC_ACQUIRE));
}

/* §2.7.10: kick if avail_event lies in [kicked_idx, avail_idx), or, without
 * EVENT_IDX, unless the device set VRING_USED_F_NO_NOTIFY. */
static bool need_kick(struct vqd *d)
{
	uint16_t ev;

	if (!d->event_idx)
		return !(le16toh(__atomic_load_n(&used_ring(d)->flags, __ATOMIC_RELAXED)) &
			 VRING_USED_F_NO_NOTIFY);
	ev = avail_event(d);
	return (uint16_t)(d->avail_idx - ev - 1) < (uint16_t)(d->avail_idx - d->kicked_idx);
}

bool vqd_kicks_on(struct vqd *d)
{
	return avail_event(d) == d->avail_idx;
}

bool vqd_kick(struct vqd *d)
{
	uint64_t one = 1;
	bool kick;

	__atomic_store_n(&avail_ring(d)->idx, htole16(d->avail_idx), __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	kick = need_kick(d);
	d->kicked_idx = d->avail_idx;
	if (kick && write(d->kick_fd, &one, sizeof(one)) != sizeof(one))
		abort();
	return kick;
}

bool vqd_get_used(struct vqd *d, uint16_t *head, uint32_t *len)
{
	struct vring_used *u = used_ring(d);
	struct vring_used_elem e;
	uint16_t i, n;

	if (le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE)) == d->last_used)
		return false;
	e = u->ring[d->last_used & (d->size - 1)];
	d->last_used++;
	*head = (uint16_t)le32toh(e.id);
	*len = le32toh(e.len);
	for (i = *head, n = d->chain_len[*head]; n; n--) {
		uint16_t nxt = d->next[i];

		d->next[i] = d->free_head;
		d->free_head = i;
		d->nr_free++;
		i = nxt;
	}
	d->chain_len[*head] = 0;
	return true;
}

/* Ask for an interrupt at the next used entry: used_event = last_used, or clear
 * VRING_AVAIL_F_NO_INTERRUPT (it is never set here). */
static void enable_interrupt(struct vqd *d)
{
	struct vring_avail *a = avail_ring(d);

	if (d->event_idx)
		__atomic_store_n(&a->ring[d->size], htole16(d->last_used), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* The call eventfd is non-blocking, as the transport's MSI-X eventfds are. */
static bool wait_call(struct vqd *d, int timeout_ms)
{
	struct pollfd p = {.fd = d->call_fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	return read(d->call_fd, &v, sizeof(v)) == sizeof(v);
}

int vqd_wait_used(struct vqd *d, uint16_t *head, uint32_t *len, int timeout_ms)
{
	for (;;) {
		if (vqd_get_used(d, head, len))
			return 1;
		enable_interrupt(d);
		if (vqd_get_used(d, head, len))
			return 1;
		if (!wait_call(d, timeout_ms))
			return 0;
	}
}

int vqd_attach(struct vqd *d, struct virtio_queue *q, bool indirect)
{
	if (vq_init(&q->vq, d->ram, d->size, d->desc, d->avail, d->used, d->event_idx, indirect))
		return -1;
	q->kick_fd = d->kick_fd;
	q->call_fd = d->call_fd;
	q->enabled = true;
	return 0;
}

int vqd_activate(struct virtio_dev *dev, uint64_t features)
{
	dev->negotiated = features;
	return dev->ops->activate(dev);
}
