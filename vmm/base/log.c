#include "vmm/base/log.h"
#include "vmm/base/clock.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread char *capture_buf;
static __thread size_t capture_len;

void log_capture(char *buf, size_t len)
{
	capture_buf = len ? buf : NULL;
	capture_len = len;
	if (capture_buf)
		capture_buf[0] = '\0';
}

static void log_vprint(const char *level, const char *fmt, va_list ap)
{
	char line[512];

	/* Format first so the line reaches stderr in one write even while the guest's
	 * console is printing from another thread. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "conduit: %s%s\n", level, line);
	if (capture_buf && !capture_buf[0] && !strcmp(level, "error: "))
		snprintf(capture_buf, capture_len, "%s", line);
}

void log_print(const char *level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}

int log_to_buf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

bool log_limit_pass(struct log_limit *l, uint64_t now, unsigned int *dropped)
{
	*dropped = 0;
	if (!l->count || now - l->start >= LOG_LIMIT_WINDOW_NS) {
		*dropped = l->suppressed;
		l->start = now;
		l->count = 0;
		l->suppressed = 0;
	}
	if (l->count < LOG_LIMIT_BURST) {
		l->count++;
		return true;
	}
	l->suppressed++;
	return false;
}

void log_limited(struct log_limit *l, const char *level, const char *fmt, ...)
{
	unsigned int dropped;
	va_list ap;
	bool pass;

	pthread_mutex_lock(&limit_lock);
	pass = log_limit_pass(l, clock_ns(), &dropped);
	pthread_mutex_unlock(&limit_lock);
	if (dropped)
		log_print(level, "%u similar lines left out", dropped);
	if (!pass)
		return;
	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}
