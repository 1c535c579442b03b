/*
 * bench-blk-host: the virtio-blk backend on the plain host (no KVM), driven by the
 * test driver playing the guest, against fio's io_uring engine on the same file.
 * 4 KiB random reads at queue depth 1 and 32; prints IOPS for both and the ratio
 * (conduit / fio, higher is better).
 *
 * Usage: bench-blk-host [--file PATH | --dir DIR] [--size MIB] [--runtime SECONDS]
 *                       [--rounds N] [--buffered] [--poll-us N] [--coalesce-us N]
 *                       [--driver-spin]
 * The two alternate, N rounds (default 3) of each, and the medians are compared:
 * virtualised hosts are noisy. Without --file it creates a file of --size MiB
 * (default 256) of random data in DIR (default: the current directory; tmpfs before
 * Linux 6.6 has no O_DIRECT, so use a disk-backed one) and removes it at the end.
 * Reads are O_DIRECT for both when the file system takes it, cached for both
 * otherwise (and it says so). --buffered reads through the page cache on purpose:
 * with the file cached, what is measured is the cost of a request in software, not
 * the disk. --poll-us and --coalesce-us are the disk's (default conduit's).
 * The driver (this program's main thread) sleeps on the queue's interrupt eventfd
 * by default, so each request costs two thread wake-ups that fio does not have (the
 * device's, the driver's). --driver-spin makes it spin on its used ring with
 * interrupts suppressed instead, as a guest vCPU that busy-polls (or halt-polls)
 * does: what is left is the backend's own cost per request; with poll-us > 0 the
 * backend then finds the next request by polling, not by a kick.
 */
#include "tests/common/vq_driver.h"
#include "virtio/blk.h"
#include "virtio/coalesce.h"
#include "virtio/poll_window.h"
#include "vmm/base/clock.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RAM_SIZE   (64ULL << 20)
#define RING	   0x100000ULL
#define HDRS	   0x800000ULL /* 32 bytes per slot: header, status at +16 */
#define DATA	   0x1000000ULL
#define BS	   4096u
#define QUEUE_SIZE 256
#define MAX_ROUNDS 15
#define NR_DEPTHS  2

static const unsigned int depths[NR_DEPTHS] = {1, 32};

struct bench {
	const char *path;
	uint64_t sectors;
	int runtime;
	unsigned int rounds;
	unsigned int poll_us, coalesce_us;
	bool direct, buffered, spin;
	uint64_t rand;
	struct guest_ram ram;
	struct vqd d;
	uint16_t slot_of[QUEUE_SIZE];
};

static uint64_t next_rand(struct bench *b)
{
	b->rand ^= b->rand << 13;
	b->rand ^= b->rand >> 7;
	b->rand ^= b->rand << 17;
	return b->rand;
}

/* Queues a 4 KiB read of a random block into slot i. */
static void submit(struct bench *b, unsigned int i)
{
	uint64_t hdr = HDRS + 32ULL * i;
	struct virtio_blk_outhdr *h = vqd_ptr(&b->d, hdr, 17);
	struct vqd_buf buf[3] = {
		{hdr, 16, false}, {DATA + (uint64_t)BS * i, BS, true}, {hdr + 16, 1, true}};
	int head;

	h->type = htole32(VIRTIO_BLK_T_IN);
	h->sector = htole64(next_rand(b) % (b->sectors / 8) * 8);
	head = vqd_add(&b->d, buf, 3, false);
	if (head < 0) {
		fprintf(stderr, "bench-blk-host: out of descriptors\n");
		exit(1);
	}
	b->slot_of[head] = (uint16_t)i;
}

/* A read came back: check it, and put its slot back in play while the clock runs. */
static void complete(struct bench *b, uint16_t head, uint32_t len, bool again)
{
	unsigned int i = b->slot_of[head];

	if (*(uint8_t *)vqd_ptr(&b->d, HDRS + 32ULL * i + 16, 1) != VIRTIO_BLK_S_OK ||
	    len != BS + 1) {
		fprintf(stderr, "bench-blk-host: a read failed\n");
		exit(1);
	}
	if (again)
		submit(b, i);
}

/* The next used entry: waited for on the interrupt, or (--driver-spin) spun for on
 * the ring until the run ends. */
static bool next_used(struct bench *b, uint64_t end, uint16_t *head, uint32_t *len)
{
	if (!b->spin)
		return vqd_wait_used(&b->d, head, len, -1) == 1;
	while (!vqd_get_used(&b->d, head, len))
		if (clock_ns() >= end)
			return false;
	return true;
}

/* Keeps qd reads in flight for the run time: each interrupt collects every
 * completion, resubmits them and kicks once. */
static double run_conduit(struct bench *b, unsigned int qd)
{
	unsigned int i, inflight = qd;
	uint64_t start, end, done = 0;
	uint16_t head;
	uint32_t len;

	for (i = 0; i < qd; i++)
		submit(b, i);
	vqd_kick(&b->d);
	start = clock_ns();
	end = start + (uint64_t)b->runtime * 1000000000ULL;
	while (clock_ns() < end) {
		if (!next_used(b, end, &head, &len))
			continue;
		do {
			complete(b, head, len, true);
			done++;
		} while (vqd_get_used(&b->d, &head, &len));
		vqd_kick(&b->d);
	}
	end = clock_ns();
	while (inflight && vqd_wait_used(&b->d, &head, &len, 1000) == 1) {
		complete(b, head, len, false);
		inflight--;
	}
	return (double)done * 1e9 / (double)(end - start);
}

static double bench_conduit(struct bench *b, unsigned int qd)
{
	struct blk_options o = {.path = b->path,
				.readonly = true,
				.direct = b->direct,
				.poll_us = b->poll_us,
				.coalesce_us = b->coalesce_us};
	struct virtio_dev *dev = blk_create(&o);
	uint64_t f;
	double iops;

	if (!dev)
		exit(1);
	f = dev->ops->features(dev) | 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX |
	    1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (vqd_init(&b->d, &b->ram, RING, QUEUE_SIZE, true) ||
	    vqd_attach(&b->d, &dev->queue[0], true) || vqd_activate(dev, f)) {
		fprintf(stderr, "bench-blk-host: cannot start the device\n");
		exit(1);
	}
	iops = run_conduit(b, qd);
	dev->ops->reset(dev);
	dev->ops->destroy(dev);
	vqd_destroy(&b->d);
	return iops;
}

/* fio --output-format=terse, version 3: field 8 is the read IOPS. */
static double parse_terse(const char *line)
{
	const char *p = line;
	int field;

	for (field = 1; field < 8 && p; field++) {
		p = strchr(p, ';');
		if (p)
			p++;
	}
	return p ? strtod(p, NULL) : -1;
}

static double bench_fio(struct bench *b, unsigned int qd)
{
	char depth[32], runtime[32], file[4200], direct[16], line[8192];
	char *argv[] = {"fio",
			"--name=x",
			"--ioengine=io_uring",
			direct,
			"--rw=randread",
			"--bs=4k",
			depth,
			runtime,
			"--time_based",
			"--readonly",
			"--invalidate=0", /* fio drops the file's cached pages by default */
			file,
			"--output-format=terse",
			NULL};
	int fds[2], status;
	FILE *out;
	pid_t pid;
	double iops = -1;

	snprintf(depth, sizeof(depth), "--iodepth=%u", qd);
	snprintf(runtime, sizeof(runtime), "--runtime=%d", b->runtime);
	snprintf(file, sizeof(file), "--filename=%s", b->path);
	snprintf(direct, sizeof(direct), "--direct=%d", b->direct);
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execvp("fio", argv);
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	while (out && fgets(line, sizeof(line), out))
		if (strncmp(line, "3;", 2) == 0)
			iops = parse_terse(line);
	if (out)
		fclose(out);
	waitpid(pid, &status, 0);
	return iops;
}

/* A file of random data: reads of holes would never reach the disk. */
static int make_file(char *path, uint64_t size)
{
	static uint8_t chunk[1 << 20];
	int fd = mkstemp(path);
	uint64_t off;

	if (fd < 0)
		return -1;
	for (off = 0; off < size; off += sizeof(chunk)) {
		if (getrandom(chunk, sizeof(chunk), 0) != sizeof(chunk) ||
		    pwrite(fd, chunk, sizeof(chunk), (off_t)off) != sizeof(chunk)) {
			close(fd);
			return -1;
		}
	}
	fsync(fd);
	close(fd);
	return 0;
}

/* --buffered measures requests, not the disk: the whole file goes in the cache. */
static void warm_cache(const char *path)
{
	static uint8_t chunk[1 << 20];
	int fd = open(path, O_RDONLY);

	while (fd >= 0 && read(fd, chunk, sizeof(chunk)) > 0)
		;
	if (fd >= 0)
		close(fd);
}

static bool direct_works(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-blk-host [--file PATH | --dir DIR] [--size MIB] "
			"[--runtime SECONDS] [--rounds N] [--buffered] [--poll-us N] "
			"[--coalesce-us N] [--driver-spin]\n");
	exit(1);
}

static void parse_args(int argc, char **argv, struct bench *b, const char **dir, uint64_t *mib)
{
	static const struct option opts[] = {{"file", required_argument, NULL, 'f'},
					     {"dir", required_argument, NULL, 'd'},
					     {"size", required_argument, NULL, 's'},
					     {"runtime", required_argument, NULL, 'r'},
					     {"rounds", required_argument, NULL, 'n'},
					     {"buffered", no_argument, NULL, 'b'},
					     {"poll-us", required_argument, NULL, 'p'},
					     {"coalesce-us", required_argument, NULL, 'c'},
					     {"driver-spin", no_argument, NULL, 'S'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			b->path = optarg;
			break;
		case 'd':
			*dir = optarg;
			break;
		case 's':
			*mib = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			b->runtime = atoi(optarg);
			break;
		case 'n':
			b->rounds = (unsigned int)atoi(optarg);
			break;
		case 'b':
			b->buffered = true;
			break;
		case 'p':
			b->poll_us = (unsigned int)atoi(optarg);
			break;
		case 'c':
			b->coalesce_us = (unsigned int)atoi(optarg);
			break;
		case 'S':
			b->spin = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || b->runtime <= 0 || *mib == 0 || b->rounds == 0 ||
	    b->rounds > MAX_ROUNDS)
		usage();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Alternates conduit and fio, round after round, then compares the medians. */
static void compare(struct bench *b)
{
	double c[NR_DEPTHS][MAX_ROUNDS], f[NR_DEPTHS][MAX_ROUNDS], mc, mf;
	unsigned int r, i;

	for (r = 0; r < b->rounds; r++) {
		for (i = 0; i < NR_DEPTHS; i++) {
			c[i][r] = bench_conduit(b, depths[i]);
			f[i][r] = bench_fio(b, depths[i]);
			printf("round %u QD%-3u conduit %9.0f  fio %9.0f\n", r + 1, depths[i],
			       c[i][r], f[i][r]);
			fflush(stdout);
		}
	}
	printf("%-12s %14s %14s %8s\n", "4k randread", "conduit IOPS", "fio IOPS", "ratio");
	for (i = 0; i < NR_DEPTHS; i++) {
		mc = median(c[i], b->rounds);
		mf = median(f[i], b->rounds);
		printf("QD%-10u %14.0f %14.0f %8.2f\n", depths[i], mc, mf, mf > 0 ? mc / mf : 0);
	}
}

int main(int argc, char **argv)
{
	struct bench b = {.runtime = 10,
			  .rounds = 3,
			  .poll_us = POLL_WINDOW_DEFAULT_US,
			  .coalesce_us = COALESCE_DEFAULT_US,
			  .rand = 0x9e3779b97f4a7c15ULL};
	const char *dir = ".";
	char tmp[4096];
	uint64_t mib = 256;
	struct stat st;

	parse_args(argc, argv, &b, &dir, &mib);
	if (!b.path) {
		snprintf(tmp, sizeof(tmp), "%s/conduit-bench-XXXXXX", dir);
		if (make_file(tmp, mib << 20)) {
			fprintf(stderr, "bench-blk-host: cannot create %s: %s\n", tmp,
				strerror(errno));
			return 1;
		}
		b.path = tmp;
	}
	if (stat(b.path, &st) || guest_ram_create(&b.ram, RAM_SIZE, 0))
		return 1;
	b.sectors = (uint64_t)st.st_size / 512;
	b.direct = !b.buffered && direct_works(b.path);
	if (b.buffered)
		warm_cache(b.path);
	printf("file %s, %llu MiB, %s, %d s per run, poll-us=%u, coalesce-us=%u, driver %s\n",
	       b.path, (unsigned long long)(st.st_size >> 20),
	       b.direct ? "O_DIRECT (direct=on, fio --direct=1)"
	       : b.buffered
		       ? "page cache for both (--buffered, fio --direct=0)"
		       : "no O_DIRECT on this file system: page cache for both (fio --direct=0)",
	       b.runtime, b.poll_us, b.coalesce_us,
	       b.spin ? "spins on its used ring" : "sleeps on interrupts");
	compare(&b);
	if (b.path == tmp)
		unlink(tmp);
	guest_ram_destroy(&b.ram);
	return 0;
}
