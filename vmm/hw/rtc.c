/*
 * The guest reads wall-clock time (UTC, BCD, 24-hour: status register B = 0x02) from
 * the host on every access to a time register; the update-in-progress flag never
 * sets, so Linux's mc146818 reader never waits. Time written by the guest is not kept
 * (the host clock is the source of truth); the rest of CMOS is plain RAM. No RTC
 * interrupts are generated: Linux keeps time with the LAPIC timer and kvmclock.
 */
#include "vmm/hw/rtc.h"

#include <string.h>

#define RTC_SECONDS    0x00
#define RTC_MINUTES    0x02
#define RTC_HOURS      0x04
#define RTC_WEEKDAY    0x06
#define RTC_DAY	       0x07
#define RTC_MONTH      0x08
#define RTC_YEAR       0x09
#define RTC_REG_A      0x0a
#define RTC_REG_B      0x0b
#define RTC_REG_C      0x0c
#define RTC_REG_D      0x0d
#define RTC_CENTURY    0x32
#define RTC_INDEX_MASK 0x7f /* bit 7 of the index port is the NMI mask */

#define REG_A_DIVIDER_32K 0x20
#define REG_A_RATE_1024HZ 0x06
#define REG_B_24H	  0x02
#define REG_D_VRT	  0x80

static uint8_t bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

static int rtc_time_reg(uint8_t reg, const struct tm *tm)
{
	switch (reg) {
	case RTC_SECONDS:
		return bcd(tm->tm_sec);
	case RTC_MINUTES:
		return bcd(tm->tm_min);
	case RTC_HOURS:
		return bcd(tm->tm_hour);
	case RTC_WEEKDAY:
		return bcd(tm->tm_wday + 1);
	case RTC_DAY:
		return bcd(tm->tm_mday);
	case RTC_MONTH:
		return bcd(tm->tm_mon + 1);
	case RTC_YEAR:
		return bcd(tm->tm_year % 100);
	case RTC_CENTURY:
		return bcd(19 + tm->tm_year / 100);
	default:
		return -1;
	}
}

static uint8_t rtc_read_reg(struct rtc *rtc, uint8_t reg)
{
	time_t t = rtc->now(NULL);
	struct tm tm;
	int v;

	gmtime_r(&t, &tm);
	v = rtc_time_reg(reg, &tm);
	if (v >= 0)
		return (uint8_t)v;
	if (reg == RTC_REG_C) /* reading C acknowledges interrupt flags */
		return 0;
	return rtc->cmos[reg];
}

static void rtc_io_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct rtc *rtc = opaque;

	memset(data, 0xff, size);
	pthread_mutex_lock(&rtc->lock);
	if (offset == 0)
		data[0] = rtc->index;
	else if (offset == 1)
		data[0] = rtc_read_reg(rtc, rtc->index & RTC_INDEX_MASK);
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_io_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct rtc *rtc = opaque;
	uint8_t reg;

	(void)size;
	pthread_mutex_lock(&rtc->lock);
	reg = rtc->index & RTC_INDEX_MASK;
	if (offset == 0)
		rtc->index = data[0];
	else if (reg == RTC_REG_B) /* keep the BCD/24h format the reader relies on */
		rtc->cmos[reg] = (uint8_t)((data[0] & ~0x06) | REG_B_24H);
	else if (reg != RTC_REG_A && reg != RTC_REG_C && reg != RTC_REG_D &&
		 rtc_time_reg(reg, &(struct tm){0}) < 0)
		rtc->cmos[reg] = data[0];
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_init(struct rtc *rtc)
{
	memset(rtc, 0, sizeof(*rtc));
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->now = time;
	rtc->cmos[RTC_REG_A] = REG_A_DIVIDER_32K | REG_A_RATE_1024HZ;
	rtc->cmos[RTC_REG_B] = REG_B_24H;
	rtc->cmos[RTC_REG_D] = REG_D_VRT;
}

struct io_region rtc_region(struct rtc *rtc, uint16_t port)
{
	return (struct io_region){
		.base = port,
		.len = 2,
		.read = rtc_io_read,
		.write = rtc_io_write,
		.opaque = rtc,
	};
}
