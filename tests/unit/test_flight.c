/* The flight recorder: what each exit kind records, the ring keeping the newest. */
#include "tests/unit/check.h"
#include "vmm/flight.h"

#include <stdlib.h>
#include <string.h>

#define NS 1000000000ULL

static struct kvm_run *run_alloc(void)
{
	return calloc(1, 4096);
}

static void test_pio(void)
{
	struct kvm_run *run = run_alloc();
	struct flight f = {0};
	char line[160];

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_OUT;
	run->io.port = 0x3f8;
	run->io.size = 1;
	run->io.count = 1;
	run->io.data_offset = 1024;
	((unsigned char *)run)[1024] = 'A';
	flight_record(&f, run, 5 * NS);
	CHECK(f.total == 1);
	CHECK(f.ring[0].addr == 0x3f8 && f.ring[0].data == 'A' && f.ring[0].write);
	flight_format(&f.ring[0], 6 * NS + NS / 2, line, sizeof(line));
	CHECK(!strcmp(line, "-1.500000 s  pio out port 0x03f8 size 1 data 0x41"));
	free(run);
}

static void test_mmio_and_others(void)
{
	struct kvm_run *run = run_alloc();
	struct flight f = {0};
	char line[160];

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xfebf1014;
	run->mmio.len = 4;
	memcpy(run->mmio.data, "\x0f\x00\x00\x00", 4);
	flight_record(&f, run, NS);
	flight_format(&f.ring[0], NS, line, sizeof(line));
	CHECK(!strcmp(line, "+0.000000 s  mmio read 0xfebf1014 len 4 data 0xf"));
	run->exit_reason = KVM_EXIT_SHUTDOWN;
	flight_record(&f, run, NS);
	flight_format(&f.ring[1], NS, line, sizeof(line));
	CHECK(strstr(line, "shutdown (triple fault)") != NULL);
	flight_record_intr(&f, NS);
	flight_format(&f.ring[2], NS, line, sizeof(line));
	CHECK(strstr(line, "kick") != NULL);
	run->exit_reason = 77;
	flight_record(&f, run, NS);
	flight_format(&f.ring[3], NS, line, sizeof(line));
	CHECK(strstr(line, "exit reason 77") != NULL);
	free(run);
}

/* More exits than slots: the ring holds the newest FLIGHT_EXITS, in order. */
static void test_ring(void)
{
	struct kvm_run *run = run_alloc();
	struct flight f = {0};
	unsigned int i;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.len = 8;
	for (i = 0; i < FLIGHT_EXITS + 5; i++) {
		run->mmio.phys_addr = i;
		flight_record(&f, run, i);
	}
	CHECK(f.total == FLIGHT_EXITS + 5);
	for (i = 5; i < FLIGHT_EXITS + 5; i++)
		CHECK(f.ring[i % FLIGHT_EXITS].addr == i);
	/* a length KVM would never report does not read past the data field */
	run->mmio.len = 200;
	flight_record(&f, run, 0);
	free(run);
}

int main(void)
{
	test_pio();
	test_mmio_and_others();
	test_ring();
	return CHECK_DONE();
}
