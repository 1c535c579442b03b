/*
 * memcheck: a guest program that fills a buffer with a pattern and verifies it, over
 * and over, until SIGTERM. A VMM that writes device data into the wrong guest page
 * shows up here as a mismatch long before the page it hit crashes the guest.
 * Usage: memcheck MiB    prints MEMCHECK-ERROR=... per bad word (at most 16) and, at
 * the end, MEMCHECK-PASSES=N MEMCHECK-BAD=N. Built static: the guest has no libc.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* A pattern no stale copy of an earlier pass matches: the pass number is mixed in. */
static uint64_t word(uint64_t pass, uint64_t i)
{
	uint64_t x = (pass << 40) ^ i ^ 0x9e3779b97f4a7c15ULL;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 29);
}

static uint64_t check(const volatile uint64_t *buf, uint64_t n, uint64_t pass, uint64_t *reported)
{
	uint64_t i, bad = 0;

	for (i = 0; i < n && !stop; i++) {
		uint64_t want = word(pass, i), got = buf[i];

		if (got == want)
			continue;
		bad++;
		if ((*reported)++ < 16)
			printf("MEMCHECK-ERROR=pass %llu offset 0x%llx want 0x%016llx got "
			       "0x%016llx\n",
			       (unsigned long long)pass, (unsigned long long)(i * 8),
			       (unsigned long long)want, (unsigned long long)got);
	}
	fflush(stdout);
	return bad;
}

int main(int argc, char **argv)
{
	uint64_t n, i, pass, done = 0, bad = 0, reported = 0;
	volatile uint64_t *buf;

	if (argc != 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: memcheck MiB\n");
		return 1;
	}
	n = (uint64_t)atoi(argv[1]) << 17;
	buf = mmap(NULL, n * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("memcheck: mmap");
		return 1;
	}
	signal(SIGTERM, on_term);
	for (pass = 0; !stop; pass++) {
		for (i = 0; i < n && !stop; i++)
			buf[i] = word(pass, i);
		if (stop)
			break;
		bad += check(buf, n, pass, &reported);
		done += !stop;
	}
	printf("MEMCHECK-PASSES=%llu\nMEMCHECK-BAD=%llu\n", (unsigned long long)done,
	       (unsigned long long)bad);
	return 0;
}
