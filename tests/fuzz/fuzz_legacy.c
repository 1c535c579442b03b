/*
 * libFuzzer target: the PC's legacy ports as a guest reaches them through the I/O bus
 * (what a KVM_EXIT_IO does): the 16550A UART at 0x3f8, the CMOS RTC at 0x70, the ACPI
 * PM1 event and control blocks at 0x600/0x604, the reset register at 0xcf9 and the
 * 8042 at 0x60-0x64; host input arrives at the UART in between. Ops (fuzz_ops.h): kind
 * % 3 = 0 read, 1 write, 2 host sends val's first size bytes to the UART; kind / 3
 * picks the device, off its port.
 */
#include "fuzz_ops.h"
#include "vmm/hw/power.h"
#include "vmm/hw/rtc.h"
#include "vmm/hw/serial.h"

#include <fcntl.h>
#include <stdlib.h>

static const uint16_t ports[] = {0x3f8, 0x70, 0x600, 0x604, 0xcf9, 0x60};

static void serial_irq(void *ctx, bool level)
{
	(void)ctx, (void)level;
}

static void power_event(void *ctx, enum power_event ev, const char *how)
{
	(void)ctx, (void)ev, (void)how;
}

static time_t fixed_time(time_t *t)
{
	if (t)
		*t = 1700000000;
	return 1700000000;
}

static void run(struct iobus *pio, struct serial *s, const uint8_t *data, size_t size)
{
	struct fuzz_op op;
	uint64_t port;
	uint8_t buf[8];

	while (fuzz_op_next(&data, &size, &op)) {
		port = ports[(op.kind / 3) % (sizeof(ports) / sizeof(ports[0]))] + op.off % 8;
		if (op.kind % 3 == 0)
			iobus_read(pio, port, buf, op.size > 4 ? 4 : op.size);
		else if (op.kind % 3 == 1)
			iobus_write(pio, port, op.bytes, op.size > 4 ? 4 : op.size);
		else
			serial_receive(s, op.bytes, op.size);
	}
}

static void ports_register(struct iobus *pio, struct serial *s, struct rtc *rtc, struct power *pm)
{
	const struct io_region r[] = {
		serial_region(s, 0x3f8),	 rtc_region(rtc, 0x70),
		power_pm1_evt_region(pm, 0x600), power_pm1_cnt_region(pm, 0x604),
		power_reset_region(pm, 0xcf9),	 power_i8042_region(pm, 0x60),
	};
	unsigned int i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (iobus_register(pio, &r[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	struct iobus pio;
	struct serial *s;
	struct power pm;
	struct rtc rtc;

	if (null_fd < 0 && (null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	s = serial_create(null_fd, serial_irq, NULL);
	if (!s)
		abort();
	iobus_init(&pio);
	rtc_init(&rtc);
	rtc.now = fixed_time;
	power_init(&pm, power_event, NULL, NULL);
	ports_register(&pio, s, &rtc, &pm);
	run(&pio, s, data, size);
	iobus_destroy(&pio);
	serial_destroy(s);
	pthread_mutex_destroy(&rtc.lock);
	power_destroy(&pm);
	return 0;
}
