/* Split virtqueues against a driver that plays by the rules and one that does not. */
#include "tests/common/vq_driver.h"
#include "tests/unit/check.h"
#include "virtio/virtqueue.h"
#include "vmm/x86/layout.h"

#include <endian.h>
#include <linux/virtio_ring.h>
#include <string.h>

#define RAM_SIZE (16ULL << 20)
#define RING	 0x10000ULL
#define DATA	 0x200000ULL
#define QSIZE	 8

static struct guest_ram ram;
static struct vq_chain chain;

/* A fresh queue of QSIZE entries; the rings are zeroed by vqd_init. */
static void setup(struct vqd *d, struct virtqueue *vq, bool event_idx, bool indirect)
{
	CHECK(vqd_init(d, &ram, RING, QSIZE, event_idx) == 0);
	CHECK(vq_init(vq, &ram, QSIZE, d->desc, d->avail, d->used, event_idx, indirect) == 0);
}

static struct vring_desc *desc(struct vqd *d, uint64_t table, unsigned int i)
{
	return vqd_ptr(d, table + 16ULL * i, 16);
}

static void set_desc(struct vqd *d, uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc *v = desc(d, table, i);

	v->addr = htole64(addr);
	v->len = htole32(len);
	v->flags = htole16(flags);
	v->next = htole16(next);
}

/* Publishes head as the next available entry, as a (possibly hostile) driver. */
static void publish(struct vqd *d, uint16_t head)
{
	struct vring_avail *a = vqd_ptr(d, d->avail, 4 + 2ULL * d->size);

	a->ring[d->avail_idx % d->size] = htole16(head);
	a->idx = htole16(++d->avail_idx);
}

static bool iov_is(const struct iovec *v, uint64_t gpa, uint64_t len)
{
	return v->iov_base == guest_ram_ptr(&ram, gpa, len) && v->iov_len == len;
}

static void test_init_checks(void)
{
	struct virtqueue vq;

	CHECK(vq_init(&vq, &ram, 0, RING, RING + 0x1000, RING + 0x2000, false, false) < 0);
	CHECK(vq_init(&vq, &ram, 3, RING, RING + 0x1000, RING + 0x2000, false, false) < 0);
	CHECK(vq_init(&vq, &ram, 8, RING + 8, RING + 0x1000, RING + 0x2000, false, false) < 0);
	CHECK(vq_init(&vq, &ram, 8, RING, RING + 0x1001, RING + 0x2000, false, false) < 0);
	CHECK(vq_init(&vq, &ram, 8, RING, RING + 0x1000, RING + 0x2002, false, false) < 0);
	CHECK(vq_pop(&vq, &chain) < 0);
	/* rings must lie wholly in RAM: the used ring may not run past its end */
	CHECK(vq_init(&vq, &ram, 8, RING, RING + 0x1000, RAM_SIZE - 64, false, false) < 0);
	CHECK(vq_init(&vq, &ram, 8, RING, RING + 0x1000, RAM_SIZE - 68, false, false) == 0);
	/* with EVENT_IDX it carries avail_event too */
	CHECK(vq_init(&vq, &ram, 8, RING, RING + 0x1000, RAM_SIZE - 68, true, false) < 0);
	CHECK(vq_init(&vq, &ram, 8, RING, RING + 0x1000, MMIO_HOLE_ADDR, false, false) < 0);
	CHECK(vq_init(&vq, &ram, 32768, RING, RING + 0x80000, RING + 0x90000, true, true) == 0);
}

static void test_direct_chain(void)
{
	struct vqd_buf b[3] = {
		{DATA, 16, false}, {DATA + 0x1000, 4096, false}, {DATA + 0x3000, 1, true}};
	struct virtqueue vq;
	struct vqd d;
	uint16_t head;
	uint32_t len;
	int h;

	setup(&d, &vq, false, false);
	CHECK(vq_pop(&vq, &chain) == 0);
	h = vqd_add(&d, b, 3, false);
	vqd_kick(&d);
	CHECK(vq_pop(&vq, &chain) == 1);
	CHECK(chain.head == h && chain.nr_out == 2 && chain.nr_in == 1);
	CHECK(chain.out_len == 16 + 4096 && chain.in_len == 1);
	CHECK(iov_is(&chain.iov[0], DATA, 16) && iov_is(&chain.iov[1], DATA + 0x1000, 4096));
	CHECK(iov_is(&chain.iov[2], DATA + 0x3000, 1));
	CHECK(vq_pop(&vq, &chain) == 0);
	vq_push(&vq, chain.head, 1);
	CHECK(vqd_get_used(&d, &head, &len) && head == h && len == 1);
	vqd_destroy(&d);
}

static void test_indirect_chain(void)
{
	struct vqd_buf b[4] = {{DATA, 16, false},
			       {DATA + 0x1000, 512, true},
			       {DATA + 0x2000, 512, true},
			       {DATA + 0x3000, 1, true}};
	struct virtqueue vq;
	struct vqd d;
	int h;

	setup(&d, &vq, true, true);
	h = vqd_add(&d, b, 4, true);
	vqd_kick(&d);
	CHECK(vq_pop(&vq, &chain) == 1);
	CHECK(chain.head == h && chain.nr_out == 1 && chain.nr_in == 3);
	CHECK(chain.out_len == 16 && chain.in_len == 1025);
	CHECK(iov_is(&chain.iov[3], DATA + 0x3000, 1));
	/* the WRITE flag of the descriptor naming the table is ignored (§2.7.5.3.2) */
	set_desc(&d, d.desc, 1, d.tables, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	set_desc(&d, d.tables, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(&d, d.tables, 1, DATA + 8, 8, 0, 0);
	publish(&d, 1);
	CHECK(vq_pop(&vq, &chain) == 1 && chain.nr_out == 2 && chain.out_len == 16);
	vqd_destroy(&d);
}

/* Direct descriptors followed by one INDIRECT descriptor are valid (§2.7.5.3.2). */
static void test_mixed_chain(void)
{
	struct virtqueue vq;
	struct vqd d;

	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 5, DATA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(&d, d.desc, 2, d.tables, 32, VRING_DESC_F_INDIRECT, 0);
	set_desc(&d, d.tables, 0, DATA + 0x1000, 4096, VRING_DESC_F_NEXT, 1);
	set_desc(&d, d.tables, 1, DATA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	publish(&d, 5);
	CHECK(vq_pop(&vq, &chain) == 1);
	CHECK(chain.head == 5 && chain.nr_out == 2 && chain.nr_in == 1);
	CHECK(iov_is(&chain.iov[1], DATA + 0x1000, 4096) && chain.out_len == 4112);
	vqd_destroy(&d);
}

/* One hostile chain at head 0: pop must fail, and keep failing after a repair. */
static void expect_broken(struct vqd *d, struct virtqueue *vq, uint16_t head)
{
	publish(d, head);
	CHECK(vq_pop(vq, &chain) < 0);
	set_desc(d, d->desc, head, DATA, 16, 0, 0);
	CHECK(vq_pop(vq, &chain) < 0);
	vq_push(vq, 0, 0);
	CHECK(!vq_enable_notify(vq));
	vqd_destroy(d);
}

static void test_bad_indices(void)
{
	struct vring_avail *a;
	struct virtqueue vq;
	struct vqd d;

	/* the available index may not run more than a ring ahead */
	setup(&d, &vq, false, false);
	a = vqd_ptr(&d, d.avail, 4);
	a->idx = htole16(QSIZE + 1);
	CHECK(vq_pop(&vq, &chain) < 0);
	vqd_destroy(&d);
	/* head out of the table */
	setup(&d, &vq, false, false);
	expect_broken(&d, &vq, QSIZE);
	/* next out of the table */
	setup(&d, &vq, false, false);
	set_desc(&d, d.desc, 0, DATA, 16, VRING_DESC_F_NEXT, QSIZE);
	expect_broken(&d, &vq, 0);
	/* a loop ends at the queue size */
	setup(&d, &vq, false, false);
	set_desc(&d, d.desc, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&d, d.desc, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	expect_broken(&d, &vq, 0);
}

static void test_bad_buffers(void)
{
	struct virtqueue vq;
	struct vqd d;

	/* outside RAM, in the MMIO hole */
	setup(&d, &vq, false, false);
	set_desc(&d, d.desc, 0, MMIO_HOLE_ADDR, 16, 0, 0);
	expect_broken(&d, &vq, 0);
	/* starting in RAM and crossing its end */
	setup(&d, &vq, false, false);
	set_desc(&d, d.desc, 0, RAM_SIZE - 8, 16, 0, 0);
	expect_broken(&d, &vq, 0);
	/* the address wrapping around 2^64 */
	setup(&d, &vq, false, false);
	set_desc(&d, d.desc, 0, ~0ULL - 4, 16, 0, 0);
	expect_broken(&d, &vq, 0);
	/* empty */
	setup(&d, &vq, false, false);
	set_desc(&d, d.desc, 0, DATA, 0, 0, 0);
	expect_broken(&d, &vq, 0);
	/* readable after writable */
	setup(&d, &vq, false, false);
	set_desc(&d, d.desc, 0, DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(&d, d.desc, 1, DATA, 16, 0, 0);
	expect_broken(&d, &vq, 0);
}

static void test_bad_indirect(void)
{
	struct virtqueue vq;
	struct vqd d;

	/* not negotiated */
	setup(&d, &vq, false, false);
	set_desc(&d, d.desc, 0, d.tables, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(&d, d.tables, 0, DATA, 16, 0, 0);
	expect_broken(&d, &vq, 0);
	/* empty table, table not a multiple of 16, table out of RAM */
	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 0, d.tables, 0, VRING_DESC_F_INDIRECT, 0);
	expect_broken(&d, &vq, 0);
	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 0, d.tables, 24, VRING_DESC_F_INDIRECT, 0);
	expect_broken(&d, &vq, 0);
	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 0, RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(&d, &vq, 0);
	/* NEXT together with INDIRECT */
	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 0, d.tables, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(&d, d.tables, 0, DATA, 16, 0, 0);
	set_desc(&d, d.desc, 1, DATA, 16, 0, 0);
	expect_broken(&d, &vq, 0);
	/* an indirect table inside an indirect table */
	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 0, d.tables, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(&d, d.tables, 0, d.tables + 0x400, 16, VRING_DESC_F_INDIRECT, 0);
	expect_broken(&d, &vq, 0);
	/* next beyond the table */
	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 0, d.tables, 32, VRING_DESC_F_INDIRECT, 0);
	set_desc(&d, d.tables, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	expect_broken(&d, &vq, 0);
	/* a table that loops on itself, and one longer than the queue */
	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 0, d.tables, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(&d, d.tables, 0, DATA, 16, VRING_DESC_F_NEXT, 0);
	expect_broken(&d, &vq, 0);
	setup(&d, &vq, false, true);
	set_desc(&d, d.desc, 0, d.tables, 16 * (QSIZE + 1), VRING_DESC_F_INDIRECT, 0);
	for (unsigned int i = 0; i <= QSIZE; i++)
		set_desc(&d, d.tables, i, DATA, 16, i < QSIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	expect_broken(&d, &vq, 0);
}

/* A big queue still bounds a chain by VQ_MAX_IOV buffers. */
static void test_chain_iov_limit(void)
{
	uint64_t table = DATA + 0x100000;
	struct virtqueue vq;
	struct vqd d;
	unsigned int i;

	CHECK(vqd_init(&d, &ram, RING, 2048, false) == 0);
	CHECK(vq_init(&vq, &ram, 2048, d.desc, d.avail, d.used, false, true) == 0);
	set_desc(&d, d.desc, 0, table, 16 * (VQ_MAX_IOV + 1), VRING_DESC_F_INDIRECT, 0);
	for (i = 0; i <= VQ_MAX_IOV; i++)
		set_desc(&d, table, i, DATA, 16, i < VQ_MAX_IOV ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	publish(&d, 0);
	CHECK(vq_pop(&vq, &chain) < 0);
	vqd_destroy(&d);
}

/* A chain longer than 2^32 bytes in total (§2.7.5) needs RAM on both sides of 4 GiB. */
static void test_chain_too_long(void)
{
	struct guest_ram big;
	struct virtqueue vq;
	struct vqd d;

	if (guest_ram_create(&big, 8ULL << 30, 0))
		return;
	CHECK(vqd_init(&d, &big, RING, QSIZE, false) == 0);
	CHECK(vq_init(&vq, &big, QSIZE, d.desc, d.avail, d.used, false, false) == 0);
	set_desc(&d, d.desc, 0, DATA, 0x80000000u, VRING_DESC_F_NEXT, 1);
	set_desc(&d, d.desc, 1, HIGH_RAM_ADDR, 0x80000000u, VRING_DESC_F_NEXT, 2);
	set_desc(&d, d.desc, 2, HIGH_RAM_ADDR, 1, 0, 0);
	publish(&d, 0);
	CHECK(vq_pop(&vq, &chain) < 0);
	vqd_destroy(&d);
	guest_ram_destroy(&big);
}

/* Cycles n one-buffer chains through the queue: the driver adds, the device pops and
 * pushes, the driver collects. Returns false on any mismatch. */
static bool cycle(struct vqd *d, struct virtqueue *vq, unsigned int n)
{
	struct vqd_buf b = {DATA, 64, true};
	uint16_t head;
	uint32_t len;

	while (n--) {
		int h = vqd_add(d, &b, 1, false);

		vqd_kick(d);
		if (h < 0 || vq_pop(vq, &chain) != 1 || chain.head != h)
			return false;
		vq_push(vq, chain.head, 64);
		if (!vqd_get_used(d, &head, &len) || head != h || len != 64)
			return false;
	}
	return true;
}

static void test_index_wrap(void)
{
	struct virtqueue vq;
	struct vqd d;

	setup(&d, &vq, true, false);
	CHECK(cycle(&d, &vq, 65536 + 3 * QSIZE + 3));
	CHECK(vq.last_avail == (uint16_t)(3 * QSIZE + 3) && vq.used_idx == vq.last_avail);
	CHECK(vq_pop(&vq, &chain) == 0);
	vqd_destroy(&d);
}

static uint16_t *used_event_of(struct vqd *d)
{
	struct vring_avail *a = vqd_ptr(d, d->avail, 6 + 2 * QSIZE);

	return &a->ring[QSIZE];
}

static void test_notify_flags(void)
{
	struct vring_avail *a;
	struct vring_used *u;
	struct virtqueue vq;
	struct vqd d;

	setup(&d, &vq, false, false);
	a = vqd_ptr(&d, d.avail, 6 + 2 * QSIZE);
	u = vqd_ptr(&d, d.used, 6 + 8 * QSIZE);
	vq_disable_notify(&vq);
	CHECK(le16toh(u->flags) == VRING_USED_F_NO_NOTIFY);
	CHECK(!vq_enable_notify(&vq) && u->flags == 0);
	CHECK(cycle(&d, &vq, 1));
	CHECK(vq_should_notify(&vq));
	a->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	CHECK(cycle(&d, &vq, 1));
	CHECK(!vq_should_notify(&vq));
	/* a buffer added while kicks were off is reported by enable */
	vq_disable_notify(&vq);
	set_desc(&d, d.desc, 0, DATA, 16, 0, 0);
	publish(&d, 0);
	CHECK(vq_enable_notify(&vq));
	CHECK(vq_pop(&vq, &chain) == 1);
	CHECK(!vq_enable_notify(&vq));
	vqd_destroy(&d);
}

/* avail_event sits right after the used ring's entries (virtio 1.2 §2.7.8). */
static uint16_t avail_event_of(const struct vring_used *u)
{
	uint16_t v;

	memcpy(&v, &u->ring[QSIZE], sizeof(v));
	return le16toh(v);
}

static void test_event_idx_wrap(void)
{
	struct vring_used *u;
	struct virtqueue vq;
	struct vqd d;

	setup(&d, &vq, true, false);
	u = vqd_ptr(&d, d.used, 6 + 8 * QSIZE + 2);
	CHECK(cycle(&d, &vq, 65534));
	*used_event_of(&d) = htole16(65000);
	CHECK(vq_should_notify(&vq));  /* 65000 lies in [0, 65534) */
	CHECK(!vq_should_notify(&vq)); /* nothing pushed since */
	/* avail_event follows last_avail, across the wrap */
	CHECK(!vq_enable_notify(&vq) && avail_event_of(u) == 65534);
	/* used_event 65535, used index 65534 → 0: the entry the driver waits for passed */
	*used_event_of(&d) = htole16(65535);
	CHECK(cycle(&d, &vq, 2));
	CHECK(vq.used_idx == 0 && vq_should_notify(&vq));
	/* 0 → 1 does not pass 65535 again */
	CHECK(cycle(&d, &vq, 1));
	CHECK(!vq_should_notify(&vq));
	/* used_event 1, index 1 → 3: passes */
	*used_event_of(&d) = htole16(1);
	CHECK(cycle(&d, &vq, 2));
	CHECK(vq_should_notify(&vq));
	CHECK(!vq_enable_notify(&vq) && avail_event_of(u) == 3);
	/* off: avail_event one behind, so a driver adding the next buffer does not kick
	 * (need_event(event, new, old) false), even across the wrap */
	vq_disable_notify(&vq);
	CHECK(avail_event_of(u) == 2);
	CHECK(!vring_need_event(avail_event_of(u), 4, 3));
	CHECK(vring_need_event(3, 4, 3)); /* as enable left it: it would */
	vqd_destroy(&d);
	setup(&d, &vq, true, false);
	u = vqd_ptr(&d, d.used, 6 + 8 * QSIZE + 2);
	vq_disable_notify(&vq); /* last_avail 0: 65535 */
	CHECK(avail_event_of(u) == 65535 && !vring_need_event(65535, 1, 0));
	vqd_destroy(&d);
}

int main(void)
{
	if (guest_ram_create(&ram, RAM_SIZE, 0))
		return 1;
	test_init_checks();
	test_direct_chain();
	test_indirect_chain();
	test_mixed_chain();
	test_bad_indices();
	test_bad_buffers();
	test_bad_indirect();
	test_chain_iov_limit();
	test_chain_too_long();
	test_index_wrap();
	test_notify_flags();
	test_event_idx_wrap();
	guest_ram_destroy(&ram);
	return CHECK_DONE();
}
