/* virtio-blk on a real temporary file through io_uring, driven by a test driver; with
 * --bdev, on a loop device over that file (skipped, 77, where the machine gives none). */
#include "tests/common/vq_driver.h"
#include "tests/unit/check.h"
#include "virtio/blk.h"
#include "virtio/blk_io.h"
#include "virtio/coalesce.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/loop.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAM_SIZE  (64ULL << 20)
#define RINGS	  0x100000ULL /* queue q's rings at RINGS + q MiB */
#define HDRS	  0x800000ULL /* request headers: 32 bytes each, status at +16 */
#define DATA	  0x1000000ULL
#define DISK_SIZE (4ULL << 20)
#define NQ	  4
#define WAIT_MS	  5000

struct disk {
	struct virtio_dev *dev;
	struct vqd vqd[NQ];
	unsigned int nq;
};

struct io {
	uint32_t type;
	uint64_t sector;
	uint64_t data; /* guest address of the data buffer */
	uint32_t len;  /* 0: no data buffer */
	bool in;       /* data is device-writable */
};

static struct guest_ram ram;
static char path[256];
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

static uint64_t all_features(struct virtio_dev *dev)
{
	return dev->ops->features(dev) | 1ULL << VIRTIO_F_VERSION_1 |
	       1ULL << VIRTIO_RING_F_EVENT_IDX | 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
}

/* The transport's part: rings for nq queues, features, DRIVER_OK. */
static int disk_activate(struct disk *k, unsigned int nq, uint64_t features)
{
	unsigned int q;

	k->nq = nq;
	for (q = 0; q < nq; q++) {
		CHECK(vqd_init(&k->vqd[q], &ram, RINGS + (q << 20), 256,
			       features & (1ULL << VIRTIO_RING_F_EVENT_IDX)) == 0);
		CHECK(vqd_attach(&k->vqd[q], &k->dev->queue[q],
				 features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)) == 0);
	}
	return vqd_activate(k->dev, features);
}

static int disk_open(struct disk *k, const struct blk_options *o, unsigned int nq)
{
	k->dev = blk_create(o);
	if (!k->dev)
		return -1;
	k->dev->needs_reset = on_needs_reset;
	return disk_activate(k, nq, all_features(k->dev));
}

static void disk_reset(struct disk *k)
{
	unsigned int q;

	k->dev->ops->reset(k->dev);
	for (q = 0; q < k->nq; q++)
		vqd_destroy(&k->vqd[q]);
}

static void disk_close(struct disk *k)
{
	disk_reset(k);
	k->dev->ops->destroy(k->dev);
}

/* Adds a request with its header at hdr and its status at hdr + 16. */
static int submit(struct vqd *d, uint64_t hdr, const struct io *io, bool indirect)
{
	struct virtio_blk_outhdr *h = gp(hdr, 17);
	struct vqd_buf b[3] = {{hdr, 16, false}};
	unsigned int n = 1;

	h->type = htole32(io->type);
	h->ioprio = 0;
	h->sector = htole64(io->sector);
	*((uint8_t *)h + 16) = 0xee;
	if (io->len)
		b[n++] = (struct vqd_buf){io->data, io->len, io->in};
	b[n++] = (struct vqd_buf){hdr + 16, 1, true};
	return vqd_add(d, b, n, indirect);
}

static int status_of(uint64_t hdr)
{
	return *(uint8_t *)gp(hdr + 16, 1);
}

/* One request on queue 0, waited for: its status, or -1 on timeout. */
static int do_io(struct disk *k, const struct io *io, uint32_t *used_len)
{
	uint16_t head;
	uint32_t len;
	int h = submit(&k->vqd[0], HDRS, io, false);

	vqd_kick(&k->vqd[0]);
	if (h < 0 || vqd_wait_used(&k->vqd[0], &head, &len, WAIT_MS) != 1 || head != h)
		return -1;
	if (used_len)
		*used_len = len;
	return status_of(HDRS);
}

static void pattern(uint64_t gpa, uint32_t len, uint8_t seed)
{
	uint8_t *p = gp(gpa, len);
	uint32_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + i / 251);
}

static bool mem_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static bool file_is(uint64_t off, const void *want, size_t len)
{
	uint8_t *buf = malloc(len);
	int fd = open(path, O_RDONLY);
	bool same = fd >= 0 && pread(fd, buf, len, (off_t)off) == (ssize_t)len &&
		    memcmp(buf, want, len) == 0;

	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

static bool file_is_zero(uint64_t off, size_t len)
{
	void *z = calloc(1, len);
	bool same = file_is(off, z, len);

	free(z);
	return same;
}

static void make_disk(uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	close(fd);
}

static void test_config(void)
{
	struct blk_options o = {.path = path, .queues = 4};
	struct virtio_dev *dev;
	struct virtio_blk_config c;
	struct stat st;
	uint64_t f;

	make_disk(DISK_SIZE + 100);
	dev = blk_create(&o);
	CHECK(dev && dev->device_id == 2 && dev->nr_queues == 4);
	if (!dev)
		return;
	f = dev->ops->features(dev);
	CHECK(f & 1ULL << VIRTIO_BLK_F_MQ && f & 1ULL << VIRTIO_BLK_F_FLUSH);
	CHECK(f & 1ULL << VIRTIO_BLK_F_DISCARD && f & 1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	CHECK(!(f & 1ULL << VIRTIO_BLK_F_RO));
	CHECK(dev->config_size == 60);
	dev->ops->config_read(dev, 0, (uint8_t *)&c, dev->config_size);
	/* the odd 100 bytes are rounded away */
	CHECK(le64toh(c.capacity) == DISK_SIZE / 512);
	CHECK(le32toh(c.seg_max) == 254 && le32toh(c.blk_size) == 512);
	CHECK(le16toh(c.num_queues) == 4 && le32toh(c.max_discard_seg) == 16);
	CHECK(c.write_zeroes_may_unmap == 1);
	/* a file: its file system's block is the physical block, and the minimum I/O */
	CHECK(f & 1ULL << VIRTIO_BLK_F_TOPOLOGY);
	CHECK(stat(path, &st) == 0 && st.st_blksize >= 512 &&
	      512u << c.physical_block_exp == (unsigned int)st.st_blksize);
	CHECK(le16toh(c.min_io_size) == st.st_blksize / 512 && c.alignment_offset == 0);
	dev->ops->destroy(dev);
}

static void test_read_write(struct disk *k)
{
	struct io w = {VIRTIO_BLK_T_OUT, 8, DATA, 8192, false};
	struct io r = {VIRTIO_BLK_T_IN, 8, DATA + 0x10000, 8192, true};
	struct virtio_queue_stats *st = &k->dev->queue[0].stats, was = *st;
	uint32_t len = 0;

	pattern(DATA, 8192, 1);
	CHECK(do_io(k, &w, &len) == VIRTIO_BLK_S_OK && len == 1);
	CHECK(file_is(8 * 512, gp(DATA, 8192), 8192));
	memset(gp(DATA + 0x10000, 8192), 0, 8192);
	CHECK(do_io(k, &r, &len) == VIRTIO_BLK_S_OK && len == 8193);
	CHECK(memcmp(gp(DATA, 8192), gp(DATA + 0x10000, 8192), 8192) == 0);
	/* the last sector of the disk */
	w.sector = DISK_SIZE / 512 - 1;
	w.len = 512;
	CHECK(do_io(k, &w, NULL) == VIRTIO_BLK_S_OK);
	CHECK(file_is(DISK_SIZE - 512, gp(DATA, 512), 512));
	/* the queue's counters: three requests and their data, kicks; with
	 * event-idx, an interrupt only when the driver was waiting already */
	CHECK(__atomic_load_n(&st->requests, __ATOMIC_RELAXED) == was.requests + 3);
	CHECK(__atomic_load_n(&st->bytes, __ATOMIC_RELAXED) == was.bytes + 8192 + 8192 + 512);
	CHECK(__atomic_load_n(&st->kicks, __ATOMIC_RELAXED) > was.kicks);
	CHECK(__atomic_load_n(&st->interrupts, __ATOMIC_RELAXED) - was.interrupts <= 3);
}

/* Header and data in one buffer, data and status in another (§5.2.6: the device
 * must not assume how the request is split into buffers). */
static void test_merged_buffers(struct disk *k)
{
	struct virtio_blk_outhdr *h = gp(DATA, 16);
	struct vqd_buf wb[2] = {{DATA, 16 + 1024, false}, {DATA + 0x3000, 1, true}};
	struct vqd_buf rb[3] = {{DATA + 0x4000, 8, false},
				{DATA + 0x4008, 8, false},
				{DATA + 0x5000, 1024 + 1, true}};
	struct virtio_blk_outhdr *rh = gp(DATA + 0x4000, 16);
	uint16_t head;
	uint32_t len;

	h->type = htole32(VIRTIO_BLK_T_OUT);
	h->sector = htole64(100);
	pattern(DATA + 16, 1024, 9);
	CHECK(vqd_add(&k->vqd[0], wb, 2, false) >= 0);
	vqd_kick(&k->vqd[0]);
	CHECK(vqd_wait_used(&k->vqd[0], &head, &len, WAIT_MS) == 1 && len == 1);
	CHECK(*(uint8_t *)gp(DATA + 0x3000, 1) == VIRTIO_BLK_S_OK);
	CHECK(file_is(100 * 512, gp(DATA + 16, 1024), 1024));
	/* a header split in two, data and status sharing the last buffer */
	rh->type = htole32(VIRTIO_BLK_T_IN);
	rh->sector = htole64(100);
	CHECK(vqd_add(&k->vqd[0], rb, 3, true) >= 0);
	vqd_kick(&k->vqd[0]);
	CHECK(vqd_wait_used(&k->vqd[0], &head, &len, WAIT_MS) == 1 && len == 1025);
	CHECK(*(uint8_t *)gp(DATA + 0x5000 + 1024, 1) == VIRTIO_BLK_S_OK);
	CHECK(memcmp(gp(DATA + 16, 1024), gp(DATA + 0x5000, 1024), 1024) == 0);
}

/* Writes and a flush in flight together: the flush waits for the writes. */
static void test_flush(struct disk *k)
{
	struct io w = {VIRTIO_BLK_T_OUT, 0, DATA, 65536, false};
	struct io f = {VIRTIO_BLK_T_FLUSH, 0, 0, 0, false};
	unsigned int i, done = 0, flush_pos = 0;
	int heads[9];
	uint16_t head;
	uint32_t len;

	pattern(DATA, 65536, 3);
	for (i = 0; i < 8; i++) {
		w.sector = i * 128;
		heads[i] = submit(&k->vqd[0], HDRS + 32 * i, &w, false);
	}
	heads[8] = submit(&k->vqd[0], HDRS + 32 * 8, &f, false);
	vqd_kick(&k->vqd[0]);
	while (done < 9 && vqd_wait_used(&k->vqd[0], &head, &len, WAIT_MS) == 1)
		if (head == heads[8] && !flush_pos)
			flush_pos = ++done;
		else
			done++;
	CHECK(done == 9 && flush_pos == 9);
	for (i = 0; i < 9; i++)
		CHECK(status_of(HDRS + 32 * i) == VIRTIO_BLK_S_OK);
	CHECK(file_is(7 * 128 * 512, gp(DATA, 65536), 65536));
}

static int dwz(struct disk *k, uint32_t type, uint64_t sector, uint32_t num, uint32_t flags,
	       unsigned int nseg)
{
	struct virtio_blk_discard_write_zeroes *s = gp(DATA + 0x20000, 16 * nseg);
	struct io io = {type, 0, DATA + 0x20000, 16 * nseg, false};
	unsigned int i;

	for (i = 0; i < nseg; i++) {
		s[i].sector = htole64(sector + i * num);
		s[i].num_sectors = htole32(num);
		s[i].flags = htole32(flags);
	}
	return do_io(k, &io, NULL);
}

static void test_discard_write_zeroes(struct disk *k)
{
	struct io w = {VIRTIO_BLK_T_OUT, 0, DATA, 65536, false};

	pattern(DATA, 65536, 5);
	CHECK(do_io(k, &w, NULL) == VIRTIO_BLK_S_OK);
	CHECK(dwz(k, VIRTIO_BLK_T_DISCARD, 8, 8, 0, 1) == VIRTIO_BLK_S_OK);
	CHECK(file_is_zero(8 * 512, 4096) && file_is(0, gp(DATA, 4096), 4096));
	CHECK(dwz(k, VIRTIO_BLK_T_WRITE_ZEROES, 32, 3, 0, 2) == VIRTIO_BLK_S_OK);
	CHECK(file_is_zero(32 * 512, 6 * 512) && file_is(38 * 512, gp(DATA + 38 * 512, 512), 512));
	CHECK(dwz(k, VIRTIO_BLK_T_WRITE_ZEROES, 64, 16, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1) ==
	      VIRTIO_BLK_S_OK);
	CHECK(file_is_zero(64 * 512, 16 * 512) && file_is(80 * 512, gp(DATA + 80 * 512, 512), 512));
	/* empty segments are valid and do nothing */
	CHECK(dwz(k, VIRTIO_BLK_T_DISCARD, 0, 0, 0, 2) == VIRTIO_BLK_S_OK);
	/* unknown flags, and unmap on a discard (§5.2.6.2) */
	CHECK(dwz(k, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 2, 1) == VIRTIO_BLK_S_UNSUPP);
	CHECK(dwz(k, VIRTIO_BLK_T_DISCARD, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1) ==
	      VIRTIO_BLK_S_UNSUPP);
	/* more segments than offered, out of range, past the per-segment maximum */
	CHECK(dwz(k, VIRTIO_BLK_T_DISCARD, 0, 1, 0, 17) == VIRTIO_BLK_S_IOERR);
	CHECK(dwz(k, VIRTIO_BLK_T_DISCARD, DISK_SIZE / 512 - 4, 8, 0, 1) == VIRTIO_BLK_S_IOERR);
	CHECK(dwz(k, VIRTIO_BLK_T_WRITE_ZEROES, ~0ULL - 2, 8, 0, 1) == VIRTIO_BLK_S_IOERR);
	CHECK(dwz(k, VIRTIO_BLK_T_DISCARD, 0, (1u << 22) + 1, 0, 1) == VIRTIO_BLK_S_IOERR);
	CHECK(file_is(0, gp(DATA, 4096), 4096));
}

static void test_get_id_and_unsupported(struct disk *k)
{
	struct io id = {VIRTIO_BLK_T_GET_ID, 0, DATA, 20, true};
	struct io odd = {99, 0, 0, 0, false};
	struct stat st;
	char want[21];
	uint32_t len;

	CHECK(stat(path, &st) == 0);
	snprintf(want, sizeof(want), "%04x%016llx",
		 (unsigned int)((st.st_dev ^ st.st_dev >> 16 ^ st.st_dev >> 32) & 0xffff),
		 (unsigned long long)st.st_ino);
	CHECK(do_io(k, &id, &len) == VIRTIO_BLK_S_OK && len == 21);
	CHECK(memcmp(gp(DATA, 20), want, 20) == 0);
	CHECK(do_io(k, &odd, &len) == VIRTIO_BLK_S_UNSUPP && len == 1);
}

static void test_bad_requests(struct disk *k)
{
	struct io r = {VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, DATA, 1024, true};
	struct vqd_buf only_hdr[1] = {{HDRS, 16, false}};
	struct vqd_buf short_hdr[2] = {{HDRS, 8, false}, {HDRS + 16, 1, true}};
	uint16_t head;
	uint32_t len;

	CHECK(do_io(k, &r, NULL) == VIRTIO_BLK_S_IOERR); /* runs past the end */
	r.sector = ~0ULL / 512;
	CHECK(do_io(k, &r, NULL) == VIRTIO_BLK_S_IOERR); /* offset overflows */
	r.sector = 0;
	r.len = 1000;
	CHECK(do_io(k, &r, NULL) == VIRTIO_BLK_S_IOERR); /* not whole sectors */
	r.type = VIRTIO_BLK_T_OUT;
	r.len = 512;
	CHECK(do_io(k, &r, NULL) == VIRTIO_BLK_S_IOERR); /* write data device-writable */
	CHECK(vqd_add(&k->vqd[0], short_hdr, 2, false) >= 0);
	vqd_kick(&k->vqd[0]);
	CHECK(vqd_wait_used(&k->vqd[0], &head, &len, WAIT_MS) == 1 && len == 1);
	CHECK(status_of(HDRS) == VIRTIO_BLK_S_IOERR);
	/* no writable byte for a status: handed back, nothing written */
	CHECK(vqd_add(&k->vqd[0], only_hdr, 1, false) >= 0);
	vqd_kick(&k->vqd[0]);
	CHECK(vqd_wait_used(&k->vqd[0], &head, &len, WAIT_MS) == 1 && len == 0);
}

/* A file cut short under a running disk reads as zeros past its new end. */
static void test_read_past_eof(struct disk *k)
{
	struct io r = {VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 8, DATA, 4096, true};
	int fd = open(path, O_RDWR);
	uint32_t len;

	CHECK(fd >= 0 && ftruncate(fd, DISK_SIZE - 2048) == 0);
	memset(gp(DATA, 4096), 0xaa, 4096);
	CHECK(do_io(k, &r, &len) == VIRTIO_BLK_S_OK && len == 4097);
	CHECK(((uint8_t *)gp(DATA, 4096))[4095] == 0);
	CHECK(ftruncate(fd, DISK_SIZE) == 0);
	close(fd);
}

/* Every request kind; with fixed_buffers, one-segment requests use registered guest
 * RAM (root may pin 64 MiB; another user's RLIMIT_MEMLOCK may refuse, and it says so). */
static void test_disk(bool fixed_buffers)
{
	struct blk_options o = {.path = path, .fixed_buffers = fixed_buffers};
	struct disk k;

	make_disk(DISK_SIZE);
	CHECK(disk_open(&k, &o, 1) == 0);
	CHECK(getuid() != 0 || !((struct blk *)k.dev)->fixed_refused);
	test_read_write(&k);
	test_merged_buffers(&k);
	test_flush(&k);
	test_discard_write_zeroes(&k);
	test_get_id_and_unsupported(&k);
	test_bad_requests(&k);
	test_read_past_eof(&k);
	disk_close(&k);
}

/* Without VIRTIO_BLK_F_FLUSH writes are synchronous, and discard is not negotiated. */
static void test_write_through(void)
{
	struct blk_options o = {.path = path};
	struct io w = {VIRTIO_BLK_T_OUT, 0, DATA, 4096, false};
	struct disk k;
	uint64_t f;

	make_disk(DISK_SIZE);
	k.dev = blk_create(&o);
	CHECK(k.dev != NULL);
	if (!k.dev)
		return;
	f = all_features(k.dev) & ~(1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_DISCARD |
				    1ULL << VIRTIO_RING_F_EVENT_IDX);
	CHECK(disk_activate(&k, 1, f) == 0);
	pattern(DATA, 4096, 11);
	CHECK(do_io(&k, &w, NULL) == VIRTIO_BLK_S_OK && file_is(0, gp(DATA, 4096), 4096));
	CHECK(dwz(&k, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 1) == VIRTIO_BLK_S_UNSUPP);
	disk_close(&k);
}

static void test_readonly(void)
{
	struct blk_options o = {.path = path, .readonly = true};
	struct io w = {VIRTIO_BLK_T_OUT, 0, DATA, 4096, false};
	struct io r = {VIRTIO_BLK_T_IN, 0, DATA, 4096, true};
	struct disk k, k2;

	make_disk(DISK_SIZE);
	CHECK(disk_open(&k, &o, 1) == 0);
	CHECK(k.dev->ops->features(k.dev) & 1ULL << VIRTIO_BLK_F_RO);
	/* readers share the disk */
	k2.dev = blk_create(&o);
	CHECK(k2.dev != NULL);
	if (k2.dev)
		k2.dev->ops->destroy(k2.dev);
	pattern(DATA, 4096, 13);
	CHECK(do_io(&k, &w, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(dwz(&k, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 1) == VIRTIO_BLK_S_IOERR);
	CHECK(dwz(&k, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1) == VIRTIO_BLK_S_IOERR);
	CHECK(file_is_zero(0, 4096));
	CHECK(do_io(&k, &r, NULL) == VIRTIO_BLK_S_OK);
	disk_close(&k);
}

/* A malformed chain: NEEDS_RESET once, nothing served until reset, then all works. */
static void test_bad_chain(void)
{
	struct blk_options o = {.path = path};
	struct vqd_buf bad[2] = {{HDRS, 16, false}, {RAM_SIZE - 8, 16, true}};
	struct io r = {VIRTIO_BLK_T_IN, 0, DATA, 512, true};
	struct disk k;
	uint16_t head;
	uint32_t len;

	make_disk(DISK_SIZE);
	resets = 0;
	CHECK(disk_open(&k, &o, 1) == 0);
	CHECK(vqd_add(&k.vqd[0], bad, 2, false) >= 0);
	vqd_kick(&k.vqd[0]);
	CHECK(vqd_wait_used(&k.vqd[0], &head, &len, 300) == 0);
	CHECK(__atomic_load_n(&resets, __ATOMIC_SEQ_CST) == 1);
	CHECK(submit(&k.vqd[0], HDRS, &r, false) >= 0);
	vqd_kick(&k.vqd[0]);
	CHECK(vqd_wait_used(&k.vqd[0], &head, &len, 300) == 0);
	disk_reset(&k);
	CHECK(disk_activate(&k, 1, all_features(k.dev)) == 0);
	CHECK(do_io(&k, &r, NULL) == VIRTIO_BLK_S_OK);
	CHECK(resets == 1);
	disk_close(&k);
}

/* Four queues, each with 32 writes in flight at once, then read back; with coalesce-us=
 * (an interrupt held while more of its queue is under way still goes in the end) and
 * with sqpoll=on (the queues' rings share the first one's kernel submission thread). */
static void test_multiqueue(unsigned int coalesce_us, bool sqpoll)
{
	struct blk_options o = {
		.path = path, .queues = NQ, .coalesce_us = coalesce_us, .sqpoll = sqpoll};
	unsigned int q, i, done[NQ] = {0};
	uint16_t head;
	uint32_t len;
	struct disk k;

	make_disk(DISK_SIZE);
	CHECK(disk_open(&k, &o, NQ) == 0);
	CHECK(!sqpoll || getuid() != 0 || !((struct blk *)k.dev)->sqpoll_refused);
	for (q = 0; q < NQ; q++) {
		for (i = 0; i < 32; i++) {
			uint64_t n = q * 32 + i;
			struct io w = {VIRTIO_BLK_T_OUT, n * 8, DATA + n * 4096, 4096, false};

			pattern(w.data, 4096, (uint8_t)n);
			CHECK(submit(&k.vqd[q], HDRS + 32 * n, &w, i % 2) >= 0);
		}
		vqd_kick(&k.vqd[q]);
	}
	for (q = 0; q < NQ; q++)
		while (done[q] < 32 && vqd_wait_used(&k.vqd[q], &head, &len, WAIT_MS) == 1)
			done[q]++;
	for (q = 0; q < NQ; q++)
		CHECK(done[q] == 32);
	for (i = 0; i < NQ * 32; i++)
		CHECK(status_of(HDRS + 32 * i) == VIRTIO_BLK_S_OK);
	CHECK(file_is(0, gp(DATA, NQ * 32 * 4096), NQ * 32 * 4096));
	disk_close(&k);
}

/* Fault injection: the executable is linked with --wrap=io_uring_submit, so conduit's
 * submissions come here; the next submit_refusals of them fail as a kernel that refuses
 * work would (-EBUSY, nothing submitted). While slow_pipe is a pipe's read end, the
 * next read operation submitted reads it instead of the disk: a disk operation that
 * stays under way until the test writes to the pipe. */
static int submit_refusals;
static int slow_pipe = -1;
int __real_io_uring_submit(struct io_uring *ring);
int __wrap_io_uring_submit(struct io_uring *ring);

static void slow_down_read(struct io_uring_sq *sq, int fd)
{
	unsigned int i;

	for (i = sq->sqe_head; i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];

		if (sqe->opcode != IORING_OP_READV && sqe->opcode != IORING_OP_READ &&
		    sqe->opcode != IORING_OP_READ_FIXED)
			continue;
		sqe->fd = fd;
		sqe->flags &= (uint8_t)~IOSQE_FIXED_FILE;
		sqe->off = (uint64_t)-1;
		__atomic_store_n(&slow_pipe, -1, __ATOMIC_SEQ_CST);
		return;
	}
}

int __wrap_io_uring_submit(struct io_uring *ring)
{
	int fd = __atomic_load_n(&slow_pipe, __ATOMIC_SEQ_CST);

	if (__atomic_load_n(&submit_refusals, __ATOMIC_SEQ_CST) > 0 &&
	    __atomic_sub_fetch(&submit_refusals, 1, __ATOMIC_SEQ_CST) >= 0)
		return -EBUSY;
	if (fd >= 0)
		slow_down_read(&ring->sq, fd);
	return __real_io_uring_submit(ring);
}

/* A full ring of discards with the most segments each, kicked at once: 4096 io_uring
 * operations from one drain, eight times the submission queue (#8 defect 6). The
 * submission made when the queue first fills is refused, so the next sqe is missing:
 * that one operation fails its request with IOERR, the rest complete, nothing crashes
 * (the code before the fix dereferenced the missing sqe). */
static void test_discard_flood(void)
{
	struct blk_options o = {.path = path};
	struct virtio_blk_discard_write_zeroes *s;
	unsigned int i, j, done = 0, ok = 0, failed = 0;
	uint16_t head;
	uint32_t len;
	struct disk k;

	make_disk(DISK_SIZE);
	CHECK(disk_open(&k, &o, 1) == 0);
	for (i = 0; i < BLK_QUEUE_SIZE; i++) {
		struct io d = {VIRTIO_BLK_T_DISCARD, 0, DATA + 256 * i, 16 * BLK_MAX_DWZ_SEGS,
			       false};

		s = gp(d.data, d.len);
		for (j = 0; j < BLK_MAX_DWZ_SEGS; j++)
			s[j] = (struct virtio_blk_discard_write_zeroes){
				.sector = htole64(i * BLK_MAX_DWZ_SEGS + j),
				.num_sectors = htole32(1)};
		CHECK(submit(&k.vqd[0], HDRS + 32 * i, &d, true) >= 0);
	}
	__atomic_store_n(&submit_refusals, 1, __ATOMIC_SEQ_CST);
	vqd_kick(&k.vqd[0]);
	while (done < BLK_QUEUE_SIZE && vqd_wait_used(&k.vqd[0], &head, &len, WAIT_MS) == 1)
		done++;
	CHECK(done == BLK_QUEUE_SIZE);
	CHECK(__atomic_load_n(&submit_refusals, __ATOMIC_SEQ_CST) == 0);
	for (i = 0; i < BLK_QUEUE_SIZE; i++) {
		ok += status_of(HDRS + 32 * i) == VIRTIO_BLK_S_OK;
		failed += status_of(HDRS + 32 * i) == VIRTIO_BLK_S_IOERR;
	}
	CHECK(failed == 1 && ok == BLK_QUEUE_SIZE - 1);
	disk_close(&k);
}

static void test_direct(void)
{
	struct blk_options o = {.path = path, .direct = true};
	struct io w = {VIRTIO_BLK_T_OUT, 16, DATA, 8192, false};
	struct io r = {VIRTIO_BLK_T_IN, 16, DATA + 0x10000, 8192, true};
	struct disk k;
	int fd;

	make_disk(DISK_SIZE);
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0)
		return; /* the file system has no O_DIRECT */
	close(fd);
	CHECK(disk_open(&k, &o, 1) == 0);
	pattern(DATA, 8192, 17);
	CHECK(do_io(&k, &w, NULL) == VIRTIO_BLK_S_OK);
	CHECK(do_io(&k, &r, NULL) == VIRTIO_BLK_S_OK);
	CHECK(memcmp(gp(DATA, 8192), gp(DATA + 0x10000, 8192), 8192) == 0);
	disk_close(&k);
}

static void test_create_errors(void)
{
	struct blk_options o = {.path = path};
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	struct virtio_dev *dev;
	char missing[300];
	int fd;

	snprintf(missing, sizeof(missing), "%s.missing", path);
	o.path = missing;
	CHECK(blk_create(&o) == NULL);
	o.path = "/";
	o.readonly = true;
	CHECK(blk_create(&o) == NULL);
	o.path = path;
	o.readonly = false;
	o.queues = VIRTIO_MAX_QUEUES + 1;
	CHECK(blk_create(&o) == NULL);
	o.queues = 1;
	/* held by another open file description, as another process would */
	make_disk(DISK_SIZE);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0);
	CHECK(blk_create(&o) == NULL);
	o.readonly = true;
	CHECK(blk_create(&o) == NULL);
	close(fd);
	dev = blk_create(&o);
	CHECK(dev != NULL);
	if (dev)
		dev->ops->destroy(dev);
}

/* Which registered piece of guest RAM a request's one segment lies in: whole in one,
 * or none (READV/WRITEV then). Addresses only: no RAM of 3 GiB is made. */
static void test_ram_pieces(void)
{
	uint8_t *host = (uint8_t *)(uintptr_t)0x100000000ULL;
	uint64_t size = 3 * BLK_RAM_PIECE;

	CHECK(blk_ram_piece(host, size, host, 4096) == 0);
	CHECK(blk_ram_piece(host, size, host + BLK_RAM_PIECE - 4096, 4096) == 0);
	CHECK(blk_ram_piece(host, size, host + BLK_RAM_PIECE - 4096, 8192) == -1); /* crosses */
	CHECK(blk_ram_piece(host, size, host + BLK_RAM_PIECE, 8192) == 1);
	CHECK(blk_ram_piece(host, size, host + size - 1, 1) == 2);
	CHECK(blk_ram_piece(host, size, host + size - 1, 2) == -1); /* past the end */
	CHECK(blk_ram_piece(host, size, host + 4096, 0) == -1);
	CHECK(blk_ram_piece(host + 4096, size, host, 512) == -1); /* before the start */
}

/* 200 reads one after another, each submitted as soon as the last completed: the
 * queue's counters after them. */
static struct virtio_queue_stats sequential_reads(unsigned int poll_us)
{
	struct blk_options o = {.path = path, .poll_us = poll_us};
	struct io r = {VIRTIO_BLK_T_IN, 0, DATA, 4096, true};
	struct virtio_queue_stats st = {0};
	struct disk k;
	int i, ok = 0;

	make_disk(DISK_SIZE);
	if (disk_open(&k, &o, 1)) {
		CHECK(!"disk for the polling test");
		return st;
	}
	for (i = 0; i < 200; i++, r.sector = (r.sector + 8) % (DISK_SIZE / 512))
		ok += do_io(&k, &r, NULL) == VIRTIO_BLK_S_OK;
	CHECK(ok == 200);
	st = k.dev->queue[0].stats;
	disk_close(&k);
	return st;
}

/* poll-us=: the I/O thread polls before it sleeps and finds requests that way, kicks
 * off meanwhile, so the driver kicks less than once per request; 0 never polls. */
static void test_polling(void)
{
	struct virtio_queue_stats on = sequential_reads(1000), off = sequential_reads(0);

	printf("# poll-us=1000: %llu requests, %llu kicks, %llu polls, %llu found work\n",
	       (unsigned long long)on.requests, (unsigned long long)on.kicks,
	       (unsigned long long)on.polls, (unsigned long long)on.poll_hits);
	CHECK(on.requests == 200 && on.polls > 0 && on.poll_hits > 0);
	CHECK(on.poll_hits <= on.polls && on.kicks < on.requests);
	CHECK(off.requests == 200 && off.polls == 0 && off.poll_hits == 0 && off.kicks > 0);
}

/* Waits (up to WAIT_MS) for the device to ask for kicks again, or not. */
static bool kicks_become(struct vqd *d, bool on)
{
	int i;

	for (i = 0; i < WAIT_MS && vqd_kicks_on(d) != on; i++)
		usleep(1000);
	return vqd_kicks_on(d) == on;
}

/* Adds write n (sector 8n, its own data and header) and kicks; its head. */
static int write_n(struct disk *k, unsigned int n, bool *kicked)
{
	struct io w = {VIRTIO_BLK_T_OUT, 8 * n, DATA + 4096 * n, 4096, false};
	int head;

	pattern(w.data, 4096, (uint8_t)n);
	head = submit(&k->vqd[0], HDRS + 32 * n, &w, false);
	*kicked = vqd_kick(&k->vqd[0]);
	return head;
}

/* Write n came back next, done. */
static bool write_done(struct disk *k, unsigned int n, int want)
{
	uint16_t head;
	uint32_t len;

	return vqd_wait_used(&k->vqd[0], &head, &len, WAIT_MS) == 1 && head == want &&
	       status_of(HDRS + 32 * n) == VIRTIO_BLK_S_OK &&
	       file_is(8 * 512 * n, gp(DATA + 4096 * n, 4096), 4096);
}

/* coalesce-us= and kicks (coalesce.h), with a read kept under way (slow_pipe) while
 * writes come: the first write kicks, which shows the guest submits while requests are
 * under way; with coalesce-us= kicks are off from then on, so the second write, made
 * as soon as the first is done, sends none and is served (at the latest coalesce-us
 * later) all the same; the look after that finds nothing and turns them on again, and
 * the third write kicks. With 0 every write kicks. Each is served before the read.
 * coalesce-us is 1 s here, so the second write comes well within it on a loaded
 * machine; poll-us=1: the thread submits through io_uring_submit. */
static void test_kicks_while_under_way(unsigned int coalesce_us)
{
	struct blk_options o = {.path = path, .poll_us = 1, .coalesce_us = coalesce_us};
	struct io r = {VIRTIO_BLK_T_IN, 0, DATA, 4096, true};
	bool k1, k2, k3;
	uint8_t data[4096];
	uint16_t head;
	uint32_t len;
	int p[2], rh, h;
	struct disk k;

	make_disk(DISK_SIZE);
	if (pipe2(p, O_CLOEXEC) || disk_open(&k, &o, 1)) {
		CHECK(!"pipe and disk for the kicks test");
		return;
	}
	if (((struct blk *)k.dev)->in_memory) {
		printf("# kicks test skipped: a file in memory is copied, not submitted\n");
		disk_close(&k);
		close(p[0]);
		close(p[1]);
		return;
	}
	__atomic_store_n(&slow_pipe, p[0], __ATOMIC_SEQ_CST);
	rh = submit(&k.vqd[0], HDRS, &r, false);
	vqd_kick(&k.vqd[0]);
	CHECK(kicks_become(&k.vqd[0], true)); /* nothing seen yet: kicks on while it waits */
	CHECK(__atomic_load_n(&slow_pipe, __ATOMIC_SEQ_CST) < 0);
	h = write_n(&k, 1, &k1);
	CHECK(write_done(&k, 1, h) && k1);
	h = write_n(&k, 2, &k2);
	CHECK(write_done(&k, 2, h) && k2 == !coalesce_us);
	CHECK(kicks_become(&k.vqd[0], true));
	h = write_n(&k, 3, &k3);
	CHECK(write_done(&k, 3, h) && k3);
	memset(data, 0x5a, sizeof(data));
	CHECK(write(p[1], data, sizeof(data)) == sizeof(data));
	CHECK(vqd_wait_used(&k.vqd[0], &head, &len, WAIT_MS) == 1 && head == rh);
	CHECK(status_of(HDRS) == VIRTIO_BLK_S_OK && !memcmp(gp(r.data, 4096), data, 4096));
	printf("# coalesce-us=%u: writes made while a read was under way kicked: %d %d %d\n",
	       coalesce_us, k1, k2, k3);
	disk_close(&k);
	close(p[0]);
	close(p[1]);
}

/* meson runs this test twice: TMPDIR on tmpfs (copies in the I/O thread) and on the
 * build directory's file system (io_uring), and says which in CONDUIT_TEST_IN_MEMORY. */
static void test_backend(void)
{
	const char *want = getenv("CONDUIT_TEST_IN_MEMORY");
	struct blk_options o = {.path = path, .queues = 1};
	struct virtio_dev *dev;

	make_disk(DISK_SIZE);
	dev = blk_create(&o);
	CHECK(dev != NULL);
	if (!dev)
		return;
	if (want)
		CHECK(((struct blk *)dev)->in_memory == (*want == '1'));
	dev->ops->destroy(dev);
}

/* A loop device over the disk file with logical blocks of block_size: its fd (for
 * loop_detach) and its path in dev; -1 when this machine gives none (no loop driver,
 * no permission, a container's /dev without the node). */
static int loop_attach(unsigned int block_size, bool readonly, char *dev, size_t len)
{
	struct loop_config cfg = {.block_size = block_size};
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), n, fd, backing;

	n = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	if (ctl >= 0)
		close(ctl);
	if (n < 0)
		return -1;
	snprintf(dev, len, "/dev/loop%d", n);
	fd = open(dev, O_RDWR | O_CLOEXEC);
	backing = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	cfg.fd = (unsigned int)backing;
	cfg.info.lo_flags = readonly ? LO_FLAGS_READ_ONLY : 0;
	if (fd >= 0 && backing >= 0 && ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
		close(backing);
		return fd;
	}
	if (fd >= 0)
		close(fd);
	if (backing >= 0)
		close(backing);
	return -1;
}

static void loop_detach(int fd)
{
	CHECK(ioctl(fd, LOOP_CLR_FD, 0) == 0);
	close(fd);
}

/* 4 KiB logical blocks, O_DIRECT: the guest learns the geometry, aligned I/O reaches
 * the file, unaligned I/O fails (the guest must honour blk_size), write-zeroes (with
 * and without unmap) and discard go through the block layer. */
static void test_bdev_4k(const char *dev)
{
	struct blk_options o = {.path = dev, .direct = true};
	struct io w = {VIRTIO_BLK_T_OUT, 8, DATA, 16384, false};
	struct io r = {VIRTIO_BLK_T_IN, 8, DATA + 0x10000, 16384, true};
	struct io odd = {VIRTIO_BLK_T_IN, 1, DATA + 0x10000, 512, true};
	struct virtio_blk_config c;
	struct disk k;

	CHECK(disk_open(&k, &o, 1) == 0);
	CHECK(k.dev->ops->features(k.dev) & 1ULL << VIRTIO_BLK_F_TOPOLOGY);
	k.dev->ops->config_read(k.dev, 0, (uint8_t *)&c, sizeof(c));
	CHECK(le64toh(c.capacity) == DISK_SIZE / 512 && le32toh(c.blk_size) == 4096);
	CHECK(c.physical_block_exp == 0 && c.alignment_offset == 0);
	pattern(DATA, 16384, 23);
	CHECK(do_io(&k, &w, NULL) == VIRTIO_BLK_S_OK);
	memset(gp(DATA + 0x10000, 16384), 0, 16384);
	CHECK(do_io(&k, &r, NULL) == VIRTIO_BLK_S_OK);
	CHECK(memcmp(gp(DATA, 16384), gp(DATA + 0x10000, 16384), 16384) == 0);
	CHECK(do_io(&k, &odd, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(dwz(&k, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 0, 1) == VIRTIO_BLK_S_OK);
	CHECK(dwz(&k, VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1) ==
	      VIRTIO_BLK_S_OK);
	CHECK(do_io(&k, &r, NULL) == VIRTIO_BLK_S_OK);
	CHECK(mem_zero(gp(DATA + 0x10000, 8192), 8192) &&
	      memcmp(gp(DATA + 8192, 8192), gp(DATA + 0x10000 + 8192, 8192), 8192) == 0);
	CHECK(dwz(&k, VIRTIO_BLK_T_DISCARD, 24, 8, 0, 1) == VIRTIO_BLK_S_OK);
	disk_close(&k);
	CHECK(file_is_zero(8 * 512, 8192));
}

/* A read-only block device gives a read-only disk, asked for or not. */
static void test_bdev_readonly(const char *dev)
{
	struct blk_options o = {.path = dev};
	struct io w = {VIRTIO_BLK_T_OUT, 0, DATA, 4096, false};
	struct disk k;

	CHECK(disk_open(&k, &o, 1) == 0);
	CHECK(k.dev->ops->features(k.dev) & 1ULL << VIRTIO_BLK_F_RO);
	CHECK(do_io(&k, &w, NULL) == VIRTIO_BLK_S_IOERR);
	disk_close(&k);
}

static int test_bdev(void)
{
	char dev[32];
	int fd;

	make_disk(DISK_SIZE);
	fd = loop_attach(4096, false, dev, sizeof(dev));
	if (fd < 0) {
		printf("# no loop device here (%s): skipped\n", strerror(errno));
		return 77;
	}
	test_bdev_4k(dev);
	loop_detach(fd);
	fd = loop_attach(512, true, dev, sizeof(dev));
	CHECK(fd >= 0);
	if (fd >= 0) {
		test_bdev_readonly(dev);
		loop_detach(fd);
	}
	return CHECK_DONE();
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd, ret;

	snprintf(path, sizeof(path), "%s/conduit-blk-XXXXXX", tmp);
	fd = mkstemp(path);
	if (fd < 0 || guest_ram_create(&ram, RAM_SIZE, 0))
		return 1;
	close(fd);
	if (argc > 1 && !strcmp(argv[1], "--bdev")) {
		ret = test_bdev();
		unlink(path);
		guest_ram_destroy(&ram);
		return ret;
	}
	test_backend();
	test_config();
	test_disk(false);
	test_disk(true);
	test_write_through();
	test_readonly();
	test_bad_chain();
	test_multiqueue(0, false);
	test_multiqueue(10000, false);
	test_multiqueue(COALESCE_DEFAULT_US, true);
	test_discard_flood();
	test_direct();
	test_ram_pieces();
	test_polling();
	test_kicks_while_under_way(1000000);
	test_kicks_while_under_way(0);
	test_create_errors();
	unlink(path);
	guest_ram_destroy(&ram);
	return CHECK_DONE();
}
