/*
 * ACPI fixed hardware, PM1a blocks: PM1_STS (write 1 to clear) and PM1_EN form the
 * event block; PM1_CNT holds SCI_EN, which reads 1 because the FADT has no SMI_CMD
 * (ACPI is always on), and SLP_TYP/SLP_EN: writing SLP_EN with the \_S5 type powers
 * the machine off. A guest reset arrives through the FADT's RESET_REG (0xcf9, the
 * chipset's reset control register: RST_CPU, bit 2, resets) or the 8042's pulse-reset
 * command 0xfe on port 0x64. conduit emulates nothing else of the 8042: its status
 * register reads 0 (input buffer empty) so Linux's kb_wait() never stalls.
 * The power button is the fixed-feature one (ACPI 6.5, 4.8.2.2.1.1): PWRBTN_STS in
 * PM1_STS, PWRBTN_EN in PM1_EN; the SCI is asserted while an enabled status bit is set.
 */
#include "vmm/hw/power.h"
#include "vmm/base/le.h"

#include <string.h>

#define PM1_PWRBTN	      0x0100 /* PWRBTN_STS in PM1_STS, PWRBTN_EN in PM1_EN */
#define PM1_CNT_SCI_EN	      0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK  0x1c00
#define PM1_CNT_SLP_EN	      0x2000

#define RST_CNT_RST_CPU	      0x04
#define I8042_CMD_PULSE_RESET 0xfe
#define I8042_CMD_PORT_OFFSET 4

void power_init(struct power *pm, power_event_fn event, power_sci_fn sci, void *ctx)
{
	memset(pm, 0, sizeof(*pm));
	pm->event = event;
	pm->sci = sci;
	pm->ctx = ctx;
	pthread_mutex_init(&pm->lock, NULL);
}

void power_destroy(struct power *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

/* Under pm->lock: the SCI follows the enabled status bits. */
static void sci_update(struct power *pm)
{
	bool level = pm->pm1_sts & pm->pm1_en & PM1_PWRBTN;

	if (level != pm->sci_level && pm->sci)
		pm->sci(pm->ctx, level);
	pm->sci_level = level;
}

bool power_button_press(struct power *pm)
{
	bool enabled;

	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts |= PM1_PWRBTN;
	enabled = pm->pm1_en & PM1_PWRBTN;
	sci_update(pm);
	pthread_mutex_unlock(&pm->lock);
	return enabled;
}

static void pm1_evt_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct power *pm = opaque;
	uint32_t block;

	pthread_mutex_lock(&pm->lock);
	block = pm->pm1_sts | (uint32_t)pm->pm1_en << 16;
	pthread_mutex_unlock(&pm->lock);
	le_put(data, size, block >> (offset * 8));
}

static void pm1_evt_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct power *pm = opaque;
	uint32_t v = le_get(data, size) << (offset * 8);
	uint32_t mask = (size >= 4 ? ~0U : ((1U << (size * 8)) - 1)) << (offset * 8);

	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts &= (uint16_t) ~(v & mask);
	if (mask >> 16)
		pm->pm1_en = (uint16_t)((pm->pm1_en & ~(mask >> 16)) | (v >> 16));
	sci_update(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void pm1_cnt_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct power *pm = opaque;

	le_put(data, size, (uint32_t)(pm->pm1_cnt | PM1_CNT_SCI_EN) >> (offset * 8));
}

static void pm1_cnt_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct power *pm = opaque;
	uint16_t v;

	if (offset + size > 2)
		return;
	v = (uint16_t)(le_get(data, size) << (offset * 8));
	if (v & PM1_CNT_SLP_EN &&
	    (v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT == POWER_S5_SLP_TYP) {
		pm->event(pm->ctx, POWER_OFF, "ACPI S5");
		return;
	}
	pm->pm1_cnt = v & (uint16_t)~PM1_CNT_SLP_EN;
}

static void reset_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct power *pm = opaque;

	(void)offset;
	le_put(data, size, pm->rst_cnt);
}

static void reset_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct power *pm = opaque;

	(void)offset;
	(void)size;
	pm->rst_cnt = data[0] & (uint8_t)~RST_CNT_RST_CPU;
	if (data[0] & RST_CNT_RST_CPU)
		pm->event(pm->ctx, POWER_RESET, "reset control register 0xcf9");
}

static void i8042_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, size);
}

static void i8042_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct power *pm = opaque;

	(void)size;
	if (offset == I8042_CMD_PORT_OFFSET && data[0] == I8042_CMD_PULSE_RESET)
		pm->event(pm->ctx, POWER_RESET, "8042 keyboard controller reset");
}

static struct io_region region(struct power *pm, uint16_t port, uint64_t len,
			       void (*rd)(void *, uint64_t, uint8_t *, unsigned int),
			       void (*wr)(void *, uint64_t, const uint8_t *, unsigned int))
{
	return (struct io_region){.base = port, .len = len, .read = rd, .write = wr, .opaque = pm};
}

struct io_region power_pm1_evt_region(struct power *pm, uint16_t port)
{
	return region(pm, port, 4, pm1_evt_read, pm1_evt_write);
}

struct io_region power_pm1_cnt_region(struct power *pm, uint16_t port)
{
	return region(pm, port, 2, pm1_cnt_read, pm1_cnt_write);
}

struct io_region power_reset_region(struct power *pm, uint16_t port)
{
	return region(pm, port, 1, reset_read, reset_write);
}

/* Ports 0x60 (data) to 0x64 (command/status). Port 0x61, the speaker/NMI status port in
 * between, is served by KVM's in-kernel PIT and never exits to here. */
struct io_region power_i8042_region(struct power *pm, uint16_t port)
{
	return region(pm, port, 5, i8042_read, i8042_write);
}
