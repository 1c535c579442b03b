/*
 * Two numbers users compare VMMs by: time from process start to the first KVM_RUN,
 * and memory the VMM uses beyond guest RAM. The second is peak RSS (getrusage) minus
 * the guest RAM pages resident at exit (mincore on the RAM mapping); guest RAM is
 * never given back while the VM runs, so its resident set at exit is its peak.
 */
#include "vmm/stats.h"
#include "vmm/base/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static uint64_t start_ns;
static long long first_run_us = -1;

static long long us_since_start(void)
{
	return (long long)((clock_ns() - start_ns) / 1000);
}

void stats_process_start(void)
{
	start_ns = clock_ns();
}

void stats_first_run(void)
{
	long long expected = -1;

	__atomic_compare_exchange_n(&first_run_us, &expected, us_since_start(), false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static uint64_t resident_kib(const struct guest_ram *ram)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = ram->size / (uint64_t)page, i;
	unsigned char *vec = malloc(pages ? pages : 1);
	uint64_t n = 0;

	if (!vec || mincore(ram->host, ram->size, vec)) {
		free(vec);
		return 0;
	}
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n * (uint64_t)page / 1024;
}

/* dma_map_seconds < 0: no device was assigned, nothing was mapped. */
void stats_report(const struct guest_ram *ram, uint64_t exits, double dma_map_seconds)
{
	struct rusage ru;
	uint64_t guest = resident_kib(ram);

	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr,
		"conduit-stats: first_kvm_run_us=%lld peak_rss_kib=%ld guest_ram_resident_kib=%llu "
		"vmm_overhead_kib=%lld exits=%llu",
		first_run_us, ru.ru_maxrss, (unsigned long long)guest,
		(long long)ru.ru_maxrss - (long long)guest, (unsigned long long)exits);
	if (dma_map_seconds >= 0)
		fprintf(stderr, " dma_map_seconds=%.3f dma_map_seconds_per_gib=%.3f",
			dma_map_seconds, dma_map_seconds / ((double)ram->size / (1 << 30)));
	fputc('\n', stderr);
}

void stats_device(const char *id, const struct virtio_queue_stats *s)
{
	fprintf(stderr,
		"conduit-stats: device=%s kicks=%llu requests=%llu interrupts=%llu bytes=%llu "
		"polls=%llu poll_hits=%llu\n",
		id, (unsigned long long)s->kicks, (unsigned long long)s->requests,
		(unsigned long long)s->interrupts, (unsigned long long)s->bytes,
		(unsigned long long)s->polls, (unsigned long long)s->poll_hits);
}
