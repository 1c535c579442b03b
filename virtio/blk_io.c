/*
 * The virtio-blk I/O threads: one per queue, each waiting in its own io_uring on
 * both the queue's kick eventfd (a multishot poll that completes at each driver
 * notification) and the disk operations it submitted. Data moves between the file
 * and guest RAM directly (READV/WRITEV on iovecs pointing into the guest), never
 * through a copy.
 *
 * A file in memory (tmpfs, ramfs) is the exception: io_uring cannot read or write it
 * without blocking on kernels whose shmem lacks FMODE_NOWAIT (6.1 among them), so it
 * hands every such operation to an io-wq worker, a thread hop each way for what is a
 * memory copy. There the I/O thread copies with preadv/pwritev itself, and the
 * request completes with the rest of its batch: one interrupt per batch.
 *
 * Each ring has the disk's file registered (no file lookup per operation) and, with
 * fixed-buffers=on, guest RAM as its registered buffers: a request whose data is one
 * segment goes as READ_FIXED/WRITE_FIXED, and the kernel does not pin and unpin its
 * pages for every operation (others go as READV/WRITEV). With sqpoll=on a kernel
 * thread, shared by the disk's rings, takes the submissions off them.
 *
 * With poll-us=, a thread about to sleep first busy-polls the available ring and its
 * completions for a window that adapts to how soon work came before (poll_window.h),
 * kicks off meanwhile: a guest that submits while the thread looks does not exit.
 * With coalesce-us=, the interrupt for completions may wait for more, and the thread
 * sleeps with kicks off while requests are under way (coalesce.h).
 *
 * Flushes are ordered here, not with IOSQE_IO_DRAIN: a drained FSYNC waits for every
 * earlier operation of the ring, the kick poll included, which never completes for
 * good. Instead each data request gets a sequence number, and a flush is submitted
 * once every data request older than it has completed.
 */
#include "virtio/blk_io.h"
#include "virtio/coalesce.h"
#include "virtio/poll_window.h"
#include "vmm/base/clock.h"
#include "vmm/base/log.h"
#include "vmm/base/sandbox.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR	       512ULL
#define SQPOLL_IDLE_MS 100 /* sqpoll=on: the kernel thread sleeps after this much idle */

/* user_data of the operations that are not a request's */
#define TAG_KICK 1
#define TAG_STOP 2
#define TAG_CALL 3
#define PENDING	 0xff /* a request status: not finished yet */

/* The completion queue holds every operation that can be under way at once (the kick
 * poll, stop poll and interrupt writes have the headroom): a guest that queues 256
 * discards of 16 segments each waits for room instead of overflowing it. */
#define CQ_ENTRIES   (8 * BLK_QUEUE_SIZE)
#define CQ_HEADROOM  64
#define MAX_INFLIGHT (CQ_ENTRIES - CQ_HEADROOM)

struct blk_req;

/* One io_uring operation of a request: its user_data points here. */
struct blk_op {
	struct blk_req *req;
	uint64_t offset, len; /* fallocate range */
	int mode;	      /* fallocate mode */
	int tried;	      /* ... modes that were not supported */
	int res;	      /* a copy done in the I/O thread: its result */
	struct blk_op *next;  /* ... waiting in blk_queue.copied */
};

struct blk_req {
	struct blk_req *next, *prev;
	uint64_t seq;	   /* data: submission order; flush: newest data it waits for */
	uint64_t offset;   /* file offset of the next transfer */
	struct iovec *iov; /* data not transferred yet */
	unsigned int niov;
	uint8_t *status;      /* the last device-writable byte */
	uint32_t written;     /* bytes written into the chain before the status */
	unsigned int pending; /* operations under way */
	uint32_t type;
	uint8_t result;
	struct blk_op op[BLK_MAX_DWZ_SEGS];
	struct vq_chain chain; /* last: most of its iovecs are never touched */
};

struct blk_list {
	struct blk_req *head, *tail;
};

struct blk_queue {
	struct blk *blk;
	struct virtio_queue *q;
	unsigned int index;
	struct io_uring ring;
	pthread_t thread;
	struct blk_req *reqs;
	struct blk_req *free;		      /* linked through next */
	struct blk_list data;		      /* data requests under way, oldest first */
	struct blk_list flush;		      /* flushes waiting for older data requests */
	struct blk_op *copied, **copied_tail; /* in-memory transfers done, oldest first */
	uint64_t seq;
	unsigned int inflight; /* operations under way, the kick and stop polls aside */
	unsigned int pushed;   /* used entries the guest has not been interrupted for */
	bool stopping, need_drain, starved, logged, kick_armed;
	bool writeback; /* VIRTIO_BLK_F_FLUSH negotiated */
	bool discard, write_zeroes;
	struct poll_window poll;
	struct coalesce hold;
	int fd;			     /* the file in sqes: 0 once registered, else blk->fd */
	uint8_t file_flags;	     /* IOSQE_FIXED_FILE once registered */
	const struct guest_ram *ram; /* registered as buffers; NULL: not */
};

static void list_append(struct blk_list *l, struct blk_req *r)
{
	r->next = NULL;
	r->prev = l->tail;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
}

static void list_unlink(struct blk_list *l, struct blk_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
}

/* Drops len bytes from the front of an iovec array (header, or bytes transferred). */
static struct iovec *iov_drop(struct iovec *iov, unsigned int *n, uint64_t len)
{
	while (len && *n) {
		if (iov->iov_len > len) {
			iov->iov_base = (uint8_t *)iov->iov_base + len;
			iov->iov_len -= len;
			break;
		}
		len -= iov->iov_len;
		iov++;
		(*n)--;
	}
	return iov;
}

static void iov_gather(const struct iovec *iov, void *dst, size_t len)
{
	uint8_t *d = dst;

	for (; len; iov++) {
		size_t k = iov->iov_len < len ? iov->iov_len : len;

		memcpy(d, iov->iov_base, k);
		d += k;
		len -= k;
	}
}

static void iov_scatter(const struct iovec *iov, unsigned int n, const void *src, size_t len)
{
	const uint8_t *s = src;

	for (; len && n; iov++, n--) {
		size_t k = iov->iov_len < len ? iov->iov_len : len;

		memcpy(iov->iov_base, s, k);
		s += k;
		len -= k;
	}
}

/* A free sqe; when the submission queue is full it is submitted first. NULL only if
 * the kernel refused that submission: every caller copes with it. */
static struct io_uring_sqe *sqe_get(struct blk_queue *bq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);

	if (!sqe) {
		io_uring_submit(&bq->ring);
		sqe = io_uring_get_sqe(&bq->ring);
	}
	return sqe;
}

static void io_error(struct blk_queue *bq, const char *what, int err)
{
	if (bq->logged)
		return;
	bq->logged = true;
	log_guest_warn("disk '%s' queue %u: %s failed: %s (the guest sees an I/O error)",
		       bq->blk->path, bq->index, what, strerror(err));
}

/* A multishot poll: one completion per kick and nothing to re-arm. The eventfd is
 * never read: its count says nothing the available ring does not, and reading it
 * would cost an operation per kick. */
static void arm_kick(struct blk_queue *bq)
{
	struct io_uring_sqe *sqe = sqe_get(bq);

	/* without an sqe the thread loop tries again; drain meanwhile */
	bq->kick_armed = sqe != NULL;
	bq->need_drain = true;
	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, bq->q->kick_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, TAG_KICK);
}

/* Counts op as under way for request r, whichever way it runs. */
static void op_start(struct blk_queue *bq, struct blk_req *r, struct blk_op *op)
{
	op->req = r;
	r->pending++;
	bq->inflight++;
}

static void op_submit(struct blk_queue *bq, struct blk_req *r, struct blk_op *op,
		      struct io_uring_sqe *sqe)
{
	op_start(bq, r, op);
	sqe->flags |= bq->file_flags;
	io_uring_sqe_set_data(sqe, op);
}

/* An operation finished without io_uring: its completion runs in copies_done(). */
static void op_done_now(struct blk_queue *bq, struct blk_req *r, struct blk_op *op, int res)
{
	op_start(bq, r, op);
	op->res = res;
	op->next = NULL;
	*bq->copied_tail = op;
	bq->copied_tail = &op->next;
}

/* The sqe for op of request r; without one (the kernel refused a submission) the
 * operation fails now with EBUSY: an I/O error for the guest, never a crash. */
static struct io_uring_sqe *op_sqe(struct blk_queue *bq, struct blk_req *r, struct blk_op *op)
{
	struct io_uring_sqe *sqe = sqe_get(bq);

	if (!sqe)
		op_done_now(bq, r, op, -EBUSY);
	return sqe;
}

/* A transfer of an in-memory file, done now. */
static void rw_copy(struct blk_queue *bq, struct blk_req *r)
{
	int fd = bq->blk->fd;
	ssize_t n;

	if (r->type == VIRTIO_BLK_T_IN)
		n = preadv(fd, r->iov, (int)r->niov, (off_t)r->offset);
	else
		n = pwritev2(fd, r->iov, (int)r->niov, (off_t)r->offset,
			     bq->writeback ? 0 : RWF_DSYNC);
	op_done_now(bq, r, &r->op[0], n < 0 ? -errno : (int)n);
}

/* A request with one data segment from registered guest RAM: the fixed operations. */
static void rw_prep(struct blk_queue *bq, struct blk_req *r, struct io_uring_sqe *sqe)
{
	int buf = bq->ram && r->niov == 1 ? blk_ram_piece(bq->ram->host, bq->ram->size,
							  r->iov[0].iov_base, r->iov[0].iov_len)
					  : -1;
	void *base = r->iov[0].iov_base;
	unsigned int len = (unsigned int)r->iov[0].iov_len;

	if (r->type == VIRTIO_BLK_T_IN && buf >= 0)
		io_uring_prep_read_fixed(sqe, bq->fd, base, len, r->offset, buf);
	else if (r->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, bq->fd, r->iov, r->niov, r->offset);
	else if (buf >= 0)
		io_uring_prep_write_fixed(sqe, bq->fd, base, len, r->offset, buf);
	else
		io_uring_prep_writev(sqe, bq->fd, r->iov, r->niov, r->offset);
}

/* Without VIRTIO_BLK_F_FLUSH negotiated a completed write must be stable (§5.2.6.2). */
static void rw_submit(struct blk_queue *bq, struct blk_req *r)
{
	struct io_uring_sqe *sqe;

	if (bq->blk->in_memory) {
		rw_copy(bq, r);
		return;
	}
	sqe = op_sqe(bq, r, &r->op[0]);
	if (!sqe)
		return;
	rw_prep(bq, r, sqe);
	if (r->type == VIRTIO_BLK_T_OUT)
		sqe->rw_flags = bq->writeback ? 0 : RWF_DSYNC;
	op_submit(bq, r, &r->op[0], sqe);
}

static void fallocate_submit(struct blk_queue *bq, struct blk_req *r, struct blk_op *op)
{
	struct io_uring_sqe *sqe = op_sqe(bq, r, op);

	if (!sqe)
		return;
	io_uring_prep_fallocate(sqe, bq->fd, op->mode, op->offset, op->len);
	op_submit(bq, r, op, sqe);
}

static void data_track(struct blk_queue *bq, struct blk_req *r)
{
	r->seq = ++bq->seq;
	list_append(&bq->data, r);
}

/* Submits the flushes whose older data requests have all completed. */
static void flush_issue(struct blk_queue *bq)
{
	struct blk_req *f;

	while (!bq->stopping && (f = bq->flush.head) &&
	       (!bq->data.head || bq->data.head->seq > f->seq)) {
		struct io_uring_sqe *sqe;

		list_unlink(&bq->flush, f);
		sqe = op_sqe(bq, f, &f->op[0]);
		if (!sqe)
			continue;
		io_uring_prep_fsync(sqe, bq->fd, IORING_FSYNC_DATASYNC);
		op_submit(bq, f, &f->op[0], sqe);
	}
}

/* What a request that succeeded moved: read into the guest or written from it. */
static uint64_t req_data_bytes(const struct blk_req *r)
{
	if (r->result != VIRTIO_BLK_S_OK)
		return 0;
	if (r->type == VIRTIO_BLK_T_IN)
		return r->written;
	if (r->type == VIRTIO_BLK_T_OUT)
		return r->chain.out_len - sizeof(struct virtio_blk_outhdr);
	return 0;
}

static void req_finish(struct blk_queue *bq, struct blk_req *r)
{
	if (!bq->stopping) {
		__atomic_store_n(r->status, r->result, __ATOMIC_RELAXED);
		virtio_stat_request(bq->q, req_data_bytes(r));
		vq_push(&bq->q->vq, r->chain.head, r->written + 1);
		bq->pushed++;
	}
	r->next = bq->free;
	bq->free = r;
	if (bq->starved) {
		bq->starved = false;
		bq->need_drain = true;
	}
}

static uint8_t rw_start(struct blk_queue *bq, struct blk_req *r, uint64_t sector, struct iovec *iov,
			unsigned int n, uint64_t len)
{
	if (len % SECTOR || sector > bq->blk->capacity || len / SECTOR > bq->blk->capacity - sector)
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	r->iov = iov;
	r->niov = n;
	r->offset = sector * SECTOR;
	data_track(bq, r);
	rw_submit(bq, r);
	return PENDING;
}

/* Checks one discard/write-zeroes segment (§5.2.6.2) and fills its operation. */
static uint8_t dwz_check(struct blk_queue *bq, uint32_t type,
			 const struct virtio_blk_discard_write_zeroes *s, struct blk_op *op)
{
	uint64_t sector = le64toh(s->sector), num = le32toh(s->num_sectors);
	uint32_t flags = le32toh(s->flags);

	if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
		return VIRTIO_BLK_S_UNSUPP;
	if (type == VIRTIO_BLK_T_DISCARD && flags)
		return VIRTIO_BLK_S_UNSUPP;
	if (num > BLK_MAX_DWZ_SECTORS || sector > bq->blk->capacity ||
	    num > bq->blk->capacity - sector)
		return VIRTIO_BLK_S_IOERR;
	op->offset = sector * SECTOR;
	op->len = num * SECTOR;
	op->tried = 0;
	if (type == VIRTIO_BLK_T_WRITE_ZEROES && !flags)
		op->mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	else
		op->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return VIRTIO_BLK_S_OK;
}

static uint8_t dwz_start(struct blk_queue *bq, struct blk_req *r, struct iovec *iov, uint64_t len)
{
	struct virtio_blk_discard_write_zeroes seg[BLK_MAX_DWZ_SEGS];
	unsigned int n = (unsigned int)(len / sizeof(seg[0])), i, ops = 0;
	uint8_t st;

	if (len % sizeof(seg[0]) || n == 0 || n > BLK_MAX_DWZ_SEGS || r->chain.in_len != 1)
		return VIRTIO_BLK_S_IOERR;
	iov_gather(iov, seg, len);
	for (i = 0; i < n; i++) {
		st = dwz_check(bq, r->type, &seg[i], &r->op[ops]);
		if (st != VIRTIO_BLK_S_OK)
			return st;
		if (r->op[ops].len)
			ops++;
	}
	if (!ops)
		return VIRTIO_BLK_S_OK;
	data_track(bq, r);
	for (i = 0; i < ops; i++)
		fallocate_submit(bq, r, &r->op[i]);
	return PENDING;
}

static uint8_t get_id(struct blk_queue *bq, struct blk_req *r)
{
	struct vq_chain *c = &r->chain;
	uint64_t len = c->in_len - 1;

	if (len > VIRTIO_BLK_ID_BYTES)
		len = VIRTIO_BLK_ID_BYTES;
	iov_scatter(&c->iov[c->nr_out], c->nr_in, bq->blk->serial, len);
	r->written = (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

/* Requests by type (§5.2.6); out/nout are the readable buffers after the header. */
static uint8_t req_dispatch(struct blk_queue *bq, struct blk_req *r, uint64_t sector,
			    struct iovec *out, unsigned int nout)
{
	struct vq_chain *c = &r->chain;
	bool ro = bq->blk->readonly;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		if (nout)
			return VIRTIO_BLK_S_IOERR;
		return rw_start(bq, r, sector, &c->iov[c->nr_out], c->nr_in, c->in_len - 1);
	case VIRTIO_BLK_T_OUT:
		/* a read-only disk fails writes and writes nothing (§5.2.6.2) */
		if (ro || c->in_len != 1)
			return VIRTIO_BLK_S_IOERR;
		return rw_start(bq, r, sector, out, nout,
				c->out_len - sizeof(struct virtio_blk_outhdr));
	case VIRTIO_BLK_T_FLUSH:
		r->seq = bq->seq;
		list_append(&bq->flush, r);
		flush_issue(bq);
		return PENDING;
	case VIRTIO_BLK_T_GET_ID:
		return get_id(bq, r);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (ro)
			return VIRTIO_BLK_S_IOERR;
		if (!(r->type == VIRTIO_BLK_T_DISCARD ? bq->discard : bq->write_zeroes))
			return VIRTIO_BLK_S_UNSUPP;
		return dwz_start(bq, r, out, c->out_len - sizeof(struct virtio_blk_outhdr));
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* A request is a 16-byte header in the first readable bytes, data, and a status in
 * the last writable byte (§5.2.6); buffers may split or merge these anywhere. */
static void req_start(struct blk_queue *bq, struct blk_req *r)
{
	struct vq_chain *c = &r->chain;
	struct virtio_blk_outhdr h;
	struct iovec *last, *out;
	unsigned int nout = c->nr_out;

	r->written = 0;
	r->pending = 0;
	if (c->in_len == 0) {
		/* no byte to put a status in: hand the chain back untouched */
		vq_push(&bq->q->vq, c->head, 0);
		bq->pushed++;
		r->next = bq->free;
		bq->free = r;
		return;
	}
	last = &c->iov[c->nr_out + c->nr_in - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (--last->iov_len == 0)
		c->nr_in--;
	r->result = VIRTIO_BLK_S_IOERR;
	if (c->out_len >= sizeof(h)) {
		iov_gather(c->iov, &h, sizeof(h));
		out = iov_drop(c->iov, &nout, sizeof(h));
		r->type = le32toh(h.type);
		r->result = req_dispatch(bq, r, le64toh(h.sector), out, nout);
	}
	if (r->result != PENDING)
		req_finish(bq, r);
	else
		r->result = VIRTIO_BLK_S_OK;
}

/* A short transfer continues where it stopped; a read that meets the end of the
 * file reads zeros from there on. */
static void rw_done(struct blk_queue *bq, struct blk_req *r, int res)
{
	bool in = r->type == VIRTIO_BLK_T_IN;

	if (res < 0 || (res == 0 && !in)) {
		io_error(bq, in ? "read" : "write", res < 0 ? -res : EIO);
		r->result = VIRTIO_BLK_S_IOERR;
		return;
	}
	if (res == 0) {
		for (; r->niov; r->niov--, r->iov++) {
			memset(r->iov->iov_base, 0, r->iov->iov_len);
			r->written += (uint32_t)r->iov->iov_len;
		}
		return;
	}
	if (in)
		r->written += (uint32_t)res;
	r->offset += (uint64_t)res;
	r->iov = iov_drop(r->iov, &r->niov, (uint64_t)res);
	if (r->niov && !bq->stopping)
		rw_submit(bq, r);
}

/* Both modes zero a range, a punched hole by unmapping it: a file system without
 * ZERO_RANGE (tmpfs) may punch, a block device whose write-zeroes cannot unmap has no
 * PUNCH_HOLE (Linux's blkdev_fallocate) but ZERO_RANGE. The one not tried yet, or 0. */
static int fallocate_other_mode(struct blk_op *op)
{
	op->tried |= op->mode;
	if (!(op->tried & FALLOC_FL_ZERO_RANGE))
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (!(op->tried & FALLOC_FL_PUNCH_HOLE))
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return 0;
}

/* Discard is a hint (§5.2.6.2): a file or device that cannot punch holes ignores it.
 * Write-zeroes must zero: in the other mode if this one is not supported. */
static void fallocate_done(struct blk_queue *bq, struct blk_op *op, int res)
{
	struct blk_req *r = op->req;
	bool unsupported = res == -EOPNOTSUPP && !bq->stopping;

	if (unsupported && r->type == VIRTIO_BLK_T_DISCARD)
		return;
	if (unsupported) {
		op->mode = fallocate_other_mode(op);
		if (op->mode) {
			fallocate_submit(bq, r, op);
			return;
		}
	}
	if (res < 0) {
		io_error(bq, r->type == VIRTIO_BLK_T_DISCARD ? "discard" : "write zeroes", -res);
		r->result = VIRTIO_BLK_S_IOERR;
	}
}

static void op_done(struct blk_queue *bq, struct blk_op *op, int res)
{
	struct blk_req *r = op->req;

	bq->inflight--;
	r->pending--;
	if (r->type == VIRTIO_BLK_T_FLUSH) {
		if (res < 0) {
			io_error(bq, "flush", -res);
			r->result = VIRTIO_BLK_S_IOERR;
		}
	} else if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) {
		rw_done(bq, r, res);
	} else {
		fallocate_done(bq, op, res);
	}
	if (r->pending)
		return;
	if (r->type != VIRTIO_BLK_T_FLUSH) {
		list_unlink(&bq->data, r);
		flush_issue(bq);
	}
	req_finish(bq, r);
}

/* Completes the in-memory transfers, and those their short transfers start. */
static void copies_done(struct blk_queue *bq)
{
	struct blk_op *op;

	while ((op = bq->copied)) {
		bq->copied = op->next;
		if (!bq->copied)
			bq->copied_tail = &bq->copied;
		op_done(bq, op, op->res);
	}
}

static void blk_broken(struct blk_queue *bq)
{
	if (!__atomic_exchange_n(&bq->blk->broken, true, __ATOMIC_SEQ_CST))
		virtio_dev_needs_reset(&bq->blk->dev);
}

/* Pops until the ring is empty (true), or requests or room for their operations run
 * out, or the device broke. */
static bool queue_pop_all(struct blk_queue *bq)
{
	struct blk_req *r;
	int ret;

	for (;;) {
		if (__atomic_load_n(&bq->blk->broken, __ATOMIC_RELAXED))
			return false;
		r = bq->free;
		if (!r || bq->inflight + BLK_MAX_DWZ_SEGS > MAX_INFLIGHT) {
			bq->starved = true;
			return false;
		}
		ret = vq_pop(&bq->q->vq, &r->chain);
		if (ret == 0)
			return true;
		if (ret < 0) {
			blk_broken(bq);
			return false;
		}
		bq->free = r->next;
		req_start(bq, r);
	}
}

/* Kicks go off while the thread works; queue_found_work decides, before the thread
 * sleeps, whether they come back on (the driver that sees a completion and submits at
 * once would kick in between otherwise). */
static void queue_drain(struct blk_queue *bq)
{
	bq->need_drain = false;
	vq_disable_notify(&bq->q->vq);
	queue_pop_all(bq);
}

/* The interrupt goes out as an eventfd write in the ring: it leaves with the
 * io_uring_enter that waits for what comes next, a system call saved per batch. With
 * coalesce-us= it may wait for more completions first (coalesce.h); what is under way
 * is counted in operations, so a discard of several ranges weighs as several requests. */
static void queue_notify(struct blk_queue *bq)
{
	static const uint64_t one = 1;
	struct io_uring_sqe *sqe;
	int fd;

	if (!bq->pushed || coalesce_hold(&bq->hold, bq->pushed, bq->inflight, clock_ns()))
		return;
	bq->pushed = 0;
	/* the driver may move the queue to another vector while it runs */
	fd = __atomic_load_n(&bq->q->call_fd, __ATOMIC_ACQUIRE);
	if (fd < 0 || !vq_should_notify(&bq->q->vq))
		return;
	virtio_stat_add(&bq->q->stats.interrupts, 1);
	sqe = sqe_get(bq);
	if (!sqe) {
		if (write(fd, &one, sizeof(one)) != sizeof(one))
			io_error(bq, "interrupting the guest", errno);
		return;
	}
	io_uring_prep_write(sqe, fd, &one, sizeof(one), 0);
	io_uring_sqe_set_data64(sqe, TAG_CALL);
}

/* A poll that stops (no IORING_CQE_F_MORE, e.g. on a completion queue overflow) is
 * armed again. */
static void kick_done(struct blk_queue *bq, int res, unsigned int flags)
{
	if (res < 0 && res != -ECANCELED) {
		io_error(bq, "polling the kick eventfd", -res);
		return;
	}
	if (!(flags & IORING_CQE_F_MORE))
		arm_kick(bq);
	if (res > 0) {
		virtio_stat_add(&bq->q->stats.kicks, 1);
		coalesce_request_seen(&bq->hold, bq->inflight);
	}
	bq->need_drain = true;
}

static void queue_reap(struct blk_queue *bq)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&bq->ring, head, cqe)
	{
		n++;
		if (cqe->user_data == TAG_KICK)
			kick_done(bq, cqe->res, cqe->flags);
		else if (cqe->user_data == TAG_STOP)
			bq->stopping = true;
		else if (cqe->user_data == TAG_CALL && cqe->res < 0)
			io_error(bq, "interrupting the guest", -cqe->res);
		else if (cqe->user_data > TAG_CALL)
			op_done(bq, io_uring_cqe_get_data(cqe), cqe->res);
	}
	io_uring_cq_advance(&bq->ring, n);
}

/* Spins for the window on new buffers and completions, kicks off; true if either came.
 * Kicks stay off then: the thread goes on working, and a driver that submits as soon
 * as it sees a completion needs no kick. */
static bool queue_poll(struct blk_queue *bq)
{
	struct virtqueue *vq = &bq->q->vq;
	uint64_t now = clock_ns(), end = now + bq->poll.ns, left = coalesce_left(&bq->hold, now);
	bool found;

	/* a held interrupt is due: the loop sends it */
	if (left && now + left < end)
		end = now + left;
	virtio_stat_add(&bq->q->stats.polls, 1);
	vq_disable_notify(vq);
	do
		found = io_uring_cq_ready(&bq->ring) || vq_has_avail(vq);
	while (!found && clock_ns() < end);
	if (found && vq_has_avail(vq)) {
		bq->need_drain = true;
		coalesce_request_seen(&bq->hold, bq->inflight);
	}
	return found;
}

/* Before the thread may sleep: the poll if its window is open; if that found nothing,
 * with requests under way and coalesce-us= kicks stay off and the ring is looked at
 * after the sleep (queue_sleep ends it in time), else kicks on with a last look at the
 * ring (vq_enable_notify). True if work came; kicks stay off then. Kicks are on
 * whenever the thread sleeps with nothing under way. */
static bool queue_found_work(struct blk_queue *bq)
{
	bool found = bq->poll.ns && queue_poll(bq);

	if (found)
		virtio_stat_add(&bq->q->stats.poll_hits, 1);
	else if (coalesce_kicks_off(&bq->hold, bq->inflight))
		bq->need_drain = true;
	else if (vq_enable_notify(&bq->q->vq))
		found = bq->need_drain = true;
	return found;
}

/* Submits what is queued and sleeps until the next completion, or until a held
 * interrupt is due or the ring is to be looked at with kicks off (-ETIME; what that
 * look finds tells whether kicks off still pay, coalesce.h). */
static int queue_sleep(struct blk_queue *bq)
{
	uint64_t now = clock_ns(), left = coalesce_sleep(&bq->hold, bq->inflight, now);
	struct __kernel_timespec ts = {.tv_sec = (long long)(left / 1000000000),
				       .tv_nsec = (long long)(left % 1000000000)};
	bool kicks_off = coalesce_kicks_off(&bq->hold, bq->inflight);
	struct io_uring_cqe *cqe;
	int ret;

	if (!left)
		return io_uring_submit_and_wait(&bq->ring, 1);
	ret = io_uring_submit_and_wait_timeout(&bq->ring, &cqe, 1, &ts, NULL);
	if (ret == -ETIME && kicks_off)
		coalesce_looked(&bq->hold, clock_ns() - now, vq_has_avail(&bq->q->vq));
	return ret;
}

/* Submits what is queued and waits for the next completion (a kick is one), unless
 * queue_found_work finds some first; the time until work came sizes the next window
 * (a timed-out sleep is not work). Without a window the submission goes with the
 * sleep, one system call. */
static int queue_wait(struct blk_queue *bq)
{
	struct poll_window *w = &bq->poll;
	uint64_t t0 = w->max_ns ? clock_ns() : 0;
	int ret = 0;

	if (!bq->stopping) {
		if (w->max_ns)
			ret = io_uring_submit(&bq->ring);
		if (queue_found_work(bq)) {
			if (!w->max_ns)
				return io_uring_submit(&bq->ring);
			poll_window_update(w, clock_ns() - t0);
			return ret;
		}
	}
	if (ret >= 0)
		ret = queue_sleep(bq);
	if (w->max_ns && ret != -ETIME)
		poll_window_update(w, clock_ns() - t0);
	return ret;
}

static void *queue_thread(void *arg)
{
	struct blk_queue *bq = arg;
	/* a new ring: its first sqe is always there */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "blk-q%u", bq->index);
	sandbox_enter(SANDBOX_IO, name);

	io_uring_prep_poll_add(sqe, bq->blk->stop_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, TAG_STOP);
	/* arming drains too: the driver may have made buffers available before its
	 * first kick */
	arm_kick(bq);
	/* stopping: no new requests, no more used entries, wait for what is under way */
	while (!bq->stopping || bq->inflight) {
		if (!bq->kick_armed && !bq->stopping)
			arm_kick(bq);
		if (bq->need_drain && !bq->stopping)
			queue_drain(bq);
		copies_done(bq);
		queue_notify(bq);
		ret = queue_wait(bq);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY && ret != -ETIME) {
			log_error("disk '%s' queue %u: io_uring failed: %s", bq->blk->path,
				  bq->index, strerror(-ret));
			break;
		}
		queue_reap(bq);
	}
	return NULL;
}

/* The ring's end is the kernel's to finish later (a work item): its registered file
 * and buffers go now, or the disk's lock would outlive the disk (a re-added disk, or
 * the next conduit, would find it locked). */
static void queue_free(struct blk_queue *bq)
{
	if (bq->file_flags)
		io_uring_unregister_files(&bq->ring);
	if (bq->ram)
		io_uring_unregister_buffers(&bq->ring);
	io_uring_queue_exit(&bq->ring);
	free(bq->reqs);
	free(bq);
}

static struct blk_queue *queue_alloc(struct blk *b, unsigned int index)
{
	struct blk_queue *bq = calloc(1, sizeof(*bq));
	uint64_t f = b->dev.negotiated;
	unsigned int i, n;

	if (!bq)
		return NULL;
	bq->blk = b;
	bq->index = index;
	bq->q = &b->dev.queue[index];
	bq->copied_tail = &bq->copied;
	bq->writeback = f & (1ULL << VIRTIO_BLK_F_FLUSH);
	bq->discard = f & (1ULL << VIRTIO_BLK_F_DISCARD);
	bq->write_zeroes = f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	poll_window_init(&bq->poll, b->poll_us);
	coalesce_init(&bq->hold, b->coalesce_us);
	n = bq->q->vq.size;
	bq->reqs = calloc(n, sizeof(*bq->reqs));
	if (!bq->reqs) {
		free(bq);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		bq->reqs[i].next = bq->free;
		bq->free = &bq->reqs[i];
	}
	return bq;
}

int blk_ram_piece(const uint8_t *host, uint64_t size, const void *base, uint64_t len)
{
	uintptr_t b = (uintptr_t)base, h = (uintptr_t)host;
	uint64_t off = b - h;

	if (b < h || !len || off > size || len > size - off)
		return -1;
	return off / BLK_RAM_PIECE == (off + len - 1) / BLK_RAM_PIECE ? (int)(off / BLK_RAM_PIECE)
								      : -1;
}

/* Guest RAM as the ring's buffers, in pieces of at most what one may be. */
static int register_ram(struct blk_queue *bq, const struct guest_ram *ram)
{
	unsigned int n = (unsigned int)((ram->size + BLK_RAM_PIECE - 1) / BLK_RAM_PIECE), i;
	struct iovec *iov = calloc(n, sizeof(*iov));
	int ret;

	if (!iov)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint64_t off = (uint64_t)i * BLK_RAM_PIECE;

		iov[i].iov_base = ram->host + off;
		iov[i].iov_len = ram->size - off < BLK_RAM_PIECE ? ram->size - off : BLK_RAM_PIECE;
	}
	ret = io_uring_register_buffers(&bq->ring, iov, n);
	free(iov);
	return ret;
}

/* Runs where io_uring_register may be called (a vCPU thread activating the device).
 * The file always; guest RAM with fixed-buffers=on, which pins all of it for as long
 * as the ring lives (an unprivileged user's RLIMIT_MEMLOCK may refuse: said once). */
static void queue_register(struct blk_queue *bq)
{
	struct blk *b = bq->blk;
	int ret;

	bq->fd = b->fd;
	if (!io_uring_register_files(&bq->ring, &b->fd, 1)) {
		bq->fd = 0;
		bq->file_flags = IOSQE_FIXED_FILE;
	}
	if (!b->fixed_buffers || b->in_memory)
		return;
	ret = register_ram(bq, bq->q->vq.ram);
	if (!ret)
		bq->ram = bq->q->vq.ram;
	else if (!__atomic_exchange_n(&b->fixed_refused, true, __ATOMIC_RELAXED))
		log_warn("disk '%s': guest RAM cannot be io_uring buffers (%s; RLIMIT_MEMLOCK?): "
			 "requests go as READV/WRITEV",
			 b->path, strerror(-ret));
}

/* sqpoll=on: the disk's first ring gets a kernel thread that takes submissions off
 * the rings without system calls, idle after SQPOLL_IDLE_MS; its other queues' rings
 * share that thread (IORING_SETUP_ATTACH_WQ). */
static void ring_params(const struct blk *b, struct io_uring_params *p)
{
	*p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE, .cq_entries = CQ_ENTRIES};
	if (!b->sqpoll || b->sqpoll_refused)
		return;
	p->flags |= IORING_SETUP_SQPOLL;
	p->sq_thread_idle = SQPOLL_IDLE_MS;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (b->queue[q]) {
			p->flags |= IORING_SETUP_ATTACH_WQ;
			p->wq_fd = (uint32_t)b->queue[q]->ring.ring_fd;
			return;
		}
	}
}

/* A ring as ring_params says; one the kernel refuses SQPOLL for (EPERM before Linux
 * 5.11 without CAP_SYS_NICE, a kernel without it) is made without, said once. */
static int ring_init(struct blk *b, struct io_uring *ring)
{
	struct io_uring_params params;
	int err;

	ring_params(b, &params);
	err = io_uring_queue_init_params(2 * BLK_QUEUE_SIZE, ring, &params);
	if (err && (params.flags & IORING_SETUP_SQPOLL)) {
		log_warn("disk '%s': sqpoll=on refused by the kernel (%s): the I/O threads "
			 "submit themselves",
			 b->path, strerror(-err));
		b->sqpoll_refused = true;
		ring_params(b, &params);
		err = io_uring_queue_init_params(2 * BLK_QUEUE_SIZE, ring, &params);
	}
	return err;
}

struct blk_queue *blk_queue_start(struct blk *b, unsigned int index)
{
	struct blk_queue *bq = queue_alloc(b, index);
	int err;

	if (!bq) {
		log_error("disk '%s': out of memory for queue %u", b->path, index);
		return NULL;
	}
	err = ring_init(b, &bq->ring);
	if (err) {
		log_error("disk '%s': cannot create an io_uring (%s)", b->path, strerror(-err));
		free(bq->reqs);
		free(bq);
		return NULL;
	}
	queue_register(bq);
	err = pthread_create(&bq->thread, NULL, queue_thread, bq);
	if (err) {
		log_error("disk '%s': cannot start an I/O thread (%s)", b->path, strerror(err));
		queue_free(bq);
		return NULL;
	}
	return bq;
}

void blk_queue_stop(struct blk_queue *bq)
{
	pthread_join(bq->thread, NULL);
	queue_free(bq);
}
