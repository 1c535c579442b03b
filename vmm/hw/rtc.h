/* MC146818 CMOS real-time clock at ports 0x70/0x71. */
#ifndef CONDUIT_RTC_H
#define CONDUIT_RTC_H

#include "vmm/base/iobus.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];
	time_t (*now)(time_t *); /* time(2); tests substitute a fixed clock */
};

void rtc_init(struct rtc *rtc);
struct io_region rtc_region(struct rtc *rtc, uint16_t port);

#endif
