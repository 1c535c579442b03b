/* The 16550A as Linux's 8250 driver probes and drives it. */
#include "tests/unit/check.h"
#include "vmm/hw/serial.h"

#include <unistd.h>

static int irq_changes;
static bool irq_level;

static void irq(void *ctx, bool level)
{
	(void)ctx;
	irq_changes++;
	irq_level = level;
}

static struct io_region r;

static uint8_t rd(unsigned int reg)
{
	uint8_t v;

	r.read(r.opaque, reg, &v, 1);
	return v;
}

static void wr(unsigned int reg, uint8_t v)
{
	r.write(r.opaque, reg, &v, 1);
}

static void test_probe(void)
{
	/* scratch register and IER read back; FIFO enable shows in IIR bits 7:6 */
	wr(7, 0xa5);
	CHECK(rd(7) == 0xa5);
	wr(1, 0x0f);
	CHECK(rd(1) == 0x0f);
	wr(1, 0);
	wr(2, 0x01);
	CHECK((rd(2) & 0xc0) == 0xc0);
	/* divisor latch */
	wr(3, 0x80);
	wr(0, 0x01);
	wr(1, 0x00);
	CHECK(rd(0) == 0x01);
	wr(3, 0x03);
	/* loopback: MCR outputs show in MSR, THR comes back in RBR */
	wr(4, 0x1f);
	CHECK((rd(6) & 0xf0) == 0xf0);
	wr(0, 'L');
	CHECK(rd(5) & 0x01);
	CHECK(rd(0) == 'L');
	CHECK(!(rd(5) & 0x01));
	wr(4, 0);
	CHECK((rd(6) & 0xb0) == 0xb0); /* connected: DCD, DSR, CTS */
}

static void test_interrupts(struct serial *s, int out)
{
	uint8_t buf[4];

	irq_changes = 0;
	wr(4, 0x08); /* OUT2 gates the IRQ pin */
	wr(1, 0x02); /* THRI on an empty THR raises at once */
	CHECK(irq_level);
	CHECK((rd(2) & 0x0f) == 0x02);
	CHECK(!irq_level); /* reading IIR cleared THRE */
	CHECK((rd(2) & 0x0f) == 0x01);
	wr(0, 'x'); /* transmit: THR empty again, THRE pending */
	CHECK(irq_level);
	CHECK(read(out, buf, 1) == 1 && buf[0] == 'x');
	wr(1, 0x01); /* RX only */
	CHECK(!irq_level);
	CHECK(serial_receive(s, (const uint8_t *)"hi", 2) == 2);
	CHECK(irq_level);
	CHECK((rd(2) & 0x0f) == 0x04);
	CHECK(rd(0) == 'h' && rd(0) == 'i');
	CHECK(!irq_level);
	wr(4, 0); /* OUT2 off masks the pin even with data waiting */
	serial_receive(s, (const uint8_t *)"z", 1);
	CHECK(!irq_level);
	CHECK(rd(0) == 'z');
}

static void test_overrun(struct serial *s)
{
	uint8_t big[300] = {0};

	CHECK(serial_receive(s, big, sizeof(big)) == 256);
	CHECK(serial_receive(s, big, 1) == 0);
	wr(2, 0x03); /* FCR clear RX */
	CHECK(!(rd(5) & 0x01));
}

static void test_wide_and_odd_accesses(void)
{
	uint8_t v[4] = {0};

	/* multi-byte access beyond the 8 registers reads as floating bus */
	r.read(r.opaque, 6, v, 4);
	CHECK(v[2] == 0xff && v[3] == 0xff);
	r.write(r.opaque, 7, v, 4);
}

int main(void)
{
	int p[2];
	struct serial *s;

	CHECK(pipe(p) == 0);
	s = serial_create(p[1], irq, NULL);
	r = serial_region(s, 0x3f8);
	CHECK(r.base == 0x3f8 && r.len == 8);
	test_probe();
	test_interrupts(s, p[0]);
	test_overrun(s);
	test_wide_and_odd_accesses();
	serial_destroy(s);
	return CHECK_DONE();
}
