/* ACPI S5, the reset control register, the 8042 reset line and the power button. */
#include "tests/unit/check.h"
#include "vmm/hw/power.h"

#include <string.h>

static int offs, resets;
static int sci_level = -1, sci_changes;

static void sci(void *ctx, bool level)
{
	(void)ctx;
	sci_level = level;
	sci_changes++;
}

static void event(void *ctx, enum power_event ev, const char *how)
{
	(void)ctx;
	(void)how;
	if (ev == POWER_OFF)
		offs++;
	else
		resets++;
}

static void w16(struct io_region *r, uint64_t off, uint16_t v)
{
	uint8_t d[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	r->write(r->opaque, off, d, 2);
}

static uint16_t r16(struct io_region *r, uint64_t off)
{
	uint8_t d[2];

	r->read(r->opaque, off, d, 2);
	return (uint16_t)(d[0] | d[1] << 8);
}

static void w8(struct io_region *r, uint64_t off, uint8_t v)
{
	r->write(r->opaque, off, &v, 1);
}

int main(void)
{
	struct power pm;
	struct io_region cnt, evt, rst, kbd;
	uint8_t b;

	power_init(&pm, event, sci, NULL);
	cnt = power_pm1_cnt_region(&pm, 0x604);
	evt = power_pm1_evt_region(&pm, 0x600);
	rst = power_reset_region(&pm, 0xcf9);
	kbd = power_i8042_region(&pm, 0x60);

	CHECK(r16(&cnt, 0) & 1);	 /* SCI_EN: ACPI always enabled */
	w16(&cnt, 0, 3 << 10 | 1 << 13); /* S3 is not S5 */
	CHECK(offs == 0);
	w16(&cnt, 0, 5 << 10); /* SLP_TYP without SLP_EN */
	CHECK(offs == 0);
	w16(&cnt, 0, 5 << 10 | 1 << 13);
	CHECK(offs == 1);

	/* A press before the guest enables the event latches, raises no SCI. */
	CHECK(!power_button_press(&pm));
	CHECK(r16(&evt, 0) == 0x0100 && sci_changes == 0);
	pm.pm1_sts |= 0x0001;
	w16(&evt, 2, 0x0120); /* PM1_EN: enabling PWRBTN_EN with the status set: SCI */
	CHECK(r16(&evt, 2) == 0x0120);
	CHECK(sci_level == 1 && sci_changes == 1);
	w16(&evt, 0, 0x0001); /* PM1_STS is write-1-to-clear */
	CHECK(r16(&evt, 0) == 0x0100 && sci_level == 1);
	w16(&evt, 0, 0x0100); /* the guest acknowledges the press: SCI drops */
	CHECK(r16(&evt, 0) == 0 && sci_level == 0 && sci_changes == 2);
	CHECK(power_button_press(&pm)); /* enabled now: the SCI rises at once */
	CHECK(sci_level == 1 && sci_changes == 3);
	CHECK(power_button_press(&pm)); /* a second press while pending: no new edge */
	CHECK(sci_changes == 3);
	w16(&evt, 2, 0x0000); /* disabling the event drops the SCI, keeps the status */
	CHECK(sci_level == 0 && r16(&evt, 0) == 0x0100);

	w8(&rst, 0, 0x02); /* SYS_RST alone only arms */
	CHECK(resets == 0);
	rst.read(rst.opaque, 0, &b, 1);
	CHECK(b == 0x02);
	w8(&rst, 0, 0x06);
	CHECK(resets == 1);

	kbd.read(kbd.opaque, 4, &b, 1);
	CHECK(b == 0);	   /* input buffer empty: kb_wait() returns */
	w8(&kbd, 4, 0xd1); /* other commands are ignored */
	w8(&kbd, 0, 0xfe); /* 0xfe on the data port is not the reset command */
	CHECK(resets == 1);
	w8(&kbd, 4, 0xfe);
	CHECK(resets == 2);
	power_destroy(&pm);
	return CHECK_DONE();
}
