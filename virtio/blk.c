/*
 * virtio-blk, the device: the disk behind it (opened, locked, sized), its feature
 * bits and configuration space (§5.2.3, §5.2.4), and starting and stopping the
 * per-queue I/O threads of blk_io.c.
 */
#include "virtio/blk.h"
#include "virtio/blk_io.h"
#include "vmm/base/log.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* The fields up to the write-zeroes ones; secure erase is not offered. */
#define BLK_CONFIG_SIZE offsetof(struct virtio_blk_config, max_secure_erase_sectors)

static struct blk *to_blk(struct virtio_dev *dev)
{
	return (struct blk *)((char *)dev - offsetof(struct blk, dev));
}

/* An open file description lock: released when conduit exits, however it exits, and
 * seen by every other conduit, QEMU (which uses the same locks) and lslocks. */
static int blk_lock(struct blk *b)
{
	struct flock fl = {.l_type = b->readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET};

	if (fcntl(b->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		log_error("disk '%s' is locked by another process: stop it or give a copy",
			  b->path);
	else
		log_error("cannot lock disk '%s': %s", b->path, strerror(errno));
	return -1;
}

/* Whether path is a block device the kernel holds read-only (BLKROGET: a read-only
 * loop device, a write-protected disk, `blockdev --setro`). */
static bool blk_bdev_readonly(const char *path)
{
	struct stat st;
	int fd, ro = 0;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (ioctl(fd, BLKROGET, &ro))
		ro = 0;
	close(fd);
	return ro;
}

static int blk_open(struct blk *b, bool direct, struct stat *st)
{
	struct statfs fs;
	int flags;

	if (!b->readonly && blk_bdev_readonly(b->path)) {
		log_info("disk '%s': the block device is read-only: so is the guest's disk",
			 b->path);
		b->readonly = true;
	}
	flags = (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
	b->fd = open(b->path, flags);
	if (b->fd < 0) {
		if (errno == EINVAL && direct)
			log_error("disk '%s': its file system does not support direct=on", b->path);
		else
			log_error("cannot open disk '%s': %s", b->path, strerror(errno));
		return -1;
	}
	if (fstat(b->fd, st)) {
		log_error("cannot stat disk '%s': %s", b->path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		log_error("disk '%s' is not a regular file or a block device", b->path);
		return -1;
	}
	b->in_memory = S_ISREG(st->st_mode) && !fstatfs(b->fd, &fs) &&
		       (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
	return blk_lock(b);
}

/* Capacity counts 512-byte sectors whatever the block size (§5.2.4). */
static int blk_size(struct blk *b, const struct stat *st)
{
	uint64_t bytes = (uint64_t)st->st_size;

	if (S_ISBLK(st->st_mode) && ioctl(b->fd, BLKGETSIZE64, &bytes)) {
		log_error("cannot get the size of disk '%s': %s", b->path, strerror(errno));
		return -1;
	}
	if (bytes % 512)
		log_warn("disk '%s': size is not a multiple of 512 bytes, the guest sees %llu "
			 "bytes less",
			 b->path, (unsigned long long)(bytes % 512));
	b->capacity = bytes / 512;
	return 0;
}

/* How the disk is laid out, in bytes: what the guest should align its I/O to. */
struct blk_geometry {
	uint32_t logical;  /* the smallest unit O_DIRECT can address */
	uint32_t physical; /* the unit the device (or file system) writes */
	uint32_t align;	   /* where the first physical block starts */
	uint32_t min_io, opt_io;
};

#define BLK_MAX_PHYSICAL 65536U /* a file system block beyond is no disk's (9p, NFS) */

/* A block device says (the ioctls behind lsblk -t); a file has its file system's block
 * size as its physical block and minimum I/O, and 512-byte logical blocks. Values the
 * kernel does not give, or that do not fit (the physical block must be a power-of-two
 * multiple of the logical one, the rest multiples of it), are left out. */
static bool is_pow2_multiple(uint32_t v, uint32_t unit)
{
	return v >= unit && v % unit == 0 && !((v / unit) & (v / unit - 1));
}

static void blk_geometry(struct blk *b, const struct stat *st, struct blk_geometry *g)
{
	int logical = 512, align = 0;
	unsigned int physical = 0, min_io = 0, opt_io = 0;

	if (S_ISBLK(st->st_mode)) {
		if (ioctl(b->fd, BLKSSZGET, &logical) || logical < 512)
			logical = 512;
		if (ioctl(b->fd, BLKPBSZGET, &physical))
			physical = 0;
		if (ioctl(b->fd, BLKALIGNOFF, &align) || align < 0)
			align = 0;
		if (ioctl(b->fd, BLKIOMIN, &min_io))
			min_io = 0;
		if (ioctl(b->fd, BLKIOOPT, &opt_io))
			opt_io = 0;
	} else {
		physical = st->st_blksize > 0 ? (unsigned int)st->st_blksize : 0;
		min_io = physical <= BLK_MAX_PHYSICAL ? physical : 0;
	}
	g->logical = (uint32_t)logical;
	g->physical = is_pow2_multiple(physical, g->logical) && physical <= BLK_MAX_PHYSICAL
			      ? physical
			      : g->logical;
	g->align = (uint32_t)align % g->physical;
	g->min_io = min_io % g->logical || min_io / g->logical > UINT16_MAX ? 0 : min_io;
	g->opt_io = opt_io % g->logical ? 0 : opt_io;
}

static uint8_t log2_u32(uint32_t v)
{
	uint8_t e = 0;

	while (v >>= 1)
		e++;
	return e;
}

/* VIRTIO_BLK_F_TOPOLOGY (§5.2.4): all in logical blocks; the physical block as a
 * power of two of them. */
static void blk_config_topology(struct virtio_blk_config *c, const struct blk_geometry *g)
{
	c->blk_size = htole32(g->logical);
	c->physical_block_exp = log2_u32(g->physical / g->logical);
	c->alignment_offset = (uint8_t)(g->align / g->logical);
	c->min_io_size = htole16((uint16_t)(g->min_io / g->logical));
	c->opt_io_size = htole32(g->opt_io / g->logical);
}

static void blk_config_init(struct blk *b, const struct stat *st)
{
	struct virtio_blk_config *c = &b->config;
	struct blk_geometry g;
	uint32_t align;

	blk_geometry(b, st, &g);
	align = g.physical / 512;
	c->capacity = htole64(b->capacity);
	/* the header and the status take two of a chain's descriptors */
	c->seg_max = htole32(BLK_QUEUE_SIZE - 2);
	blk_config_topology(c, &g);
	c->num_queues = htole16(b->dev.nr_queues);
	c->max_discard_sectors = htole32(BLK_MAX_DWZ_SECTORS);
	c->max_discard_seg = htole32(BLK_MAX_DWZ_SEGS);
	c->discard_sector_alignment = htole32(align);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_DWZ_SECTORS);
	c->max_write_zeroes_seg = htole32(BLK_MAX_DWZ_SEGS);
	c->write_zeroes_may_unmap = 1;
}

/* GET_ID: 20 ASCII bytes, no NUL when all 20 are used (§5.2.6); the same file gives
 * the same serial from run to run. */
static void blk_serial(struct blk *b, const struct stat *st)
{
	uint64_t dev = st->st_dev, id = S_ISBLK(st->st_mode) ? st->st_rdev : st->st_ino;
	char s[VIRTIO_BLK_ID_BYTES + 1];

	snprintf(s, sizeof(s), "%04x%016llx",
		 (unsigned int)((dev ^ dev >> 16 ^ dev >> 32) & 0xffff), (unsigned long long)id);
	memcpy(b->serial, s, VIRTIO_BLK_ID_BYTES);
}

static uint64_t blk_features(struct virtio_dev *dev)
{
	struct blk *b = to_blk(dev);
	uint64_t f = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
		     1ULL << VIRTIO_BLK_F_TOPOLOGY | 1ULL << VIRTIO_BLK_F_FLUSH;

	if (b->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else
		f |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	if (dev->nr_queues > 1)
		f |= 1ULL << VIRTIO_BLK_F_MQ;
	return f;
}

static void blk_config_read(struct virtio_dev *dev, uint32_t offset, uint8_t *data,
			    unsigned int size)
{
	struct blk *b = to_blk(dev);

	memset(data, 0, size);
	if (offset < BLK_CONFIG_SIZE)
		memcpy(data, (uint8_t *)&b->config + offset,
		       size < BLK_CONFIG_SIZE - offset ? size : BLK_CONFIG_SIZE - offset);
}

/* Only writeback is writable, and only with VIRTIO_BLK_F_CONFIG_WCE, which is not
 * offered: the driver writes nothing here. */
static void blk_config_write(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
			     unsigned int size)
{
	(void)dev;
	(void)offset;
	(void)data;
	(void)size;
}

static void blk_reset(struct virtio_dev *dev)
{
	struct blk *b = to_blk(dev);
	uint64_t v = 1;
	unsigned int q;

	if (write(b->stop_fd, &v, sizeof(v)) != sizeof(v))
		log_error("disk '%s': cannot stop its I/O threads", b->path);
	for (q = 0; q < dev->nr_queues; q++) {
		if (b->queue[q])
			blk_queue_stop(b->queue[q]);
		b->queue[q] = NULL;
	}
	if (read(b->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error("disk '%s': cannot rearm its stop eventfd", b->path);
	b->broken = false;
}

static int blk_activate(struct virtio_dev *dev)
{
	struct blk *b = to_blk(dev);
	unsigned int q;

	for (q = 0; q < dev->nr_queues; q++) {
		if (!dev->queue[q].enabled)
			continue;
		b->queue[q] = blk_queue_start(b, q);
		if (!b->queue[q]) {
			blk_reset(dev);
			return -1;
		}
	}
	return 0;
}

static void blk_free(struct blk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	if (b->stop_fd >= 0)
		close(b->stop_fd);
	free(b->path);
	free(b);
}

static void blk_destroy(struct virtio_dev *dev)
{
	blk_reset(dev);
	blk_free(to_blk(dev));
}

static const struct virtio_dev_ops blk_ops = {
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.activate = blk_activate,
	.reset = blk_reset,
	.destroy = blk_destroy,
};

struct virtio_dev *blk_create(const struct blk_options *o)
{
	unsigned int queues = o->queues ? o->queues : 1;
	struct blk *b = calloc(1, sizeof(*b));
	struct stat st;

	if (!b || !(b->path = strdup(o->path))) {
		log_error("out of memory for disk '%s'", o->path);
		free(b);
		return NULL;
	}
	b->fd = b->stop_fd = -1;
	b->readonly = o->readonly;
	b->poll_us = o->poll_us;
	b->coalesce_us = o->coalesce_us;
	b->fixed_buffers = o->fixed_buffers;
	b->sqpoll = o->sqpoll;
	if (queues > VIRTIO_MAX_QUEUES) {
		log_error("disk '%s': queues=%u, at most %u", o->path, queues, VIRTIO_MAX_QUEUES);
		goto fail;
	}
	if (blk_open(b, o->direct, &st) || blk_size(b, &st))
		goto fail;
	b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->stop_fd < 0) {
		log_error("disk '%s': cannot create an eventfd (%s)", o->path, strerror(errno));
		goto fail;
	}
	b->dev.ops = &blk_ops;
	b->dev.device_id = VIRTIO_ID_BLOCK;
	b->dev.nr_queues = (uint16_t)queues;
	b->dev.queue_max_size = BLK_QUEUE_SIZE;
	b->dev.config_size = BLK_CONFIG_SIZE;
	b->dev.name = "virtio-blk";
	blk_config_init(b, &st);
	blk_serial(b, &st);
	return &b->dev;
fail:
	blk_free(b);
	return NULL;
}
