/* One-line messages to stderr, prefixed with the program name. */
#ifndef CONDUIT_LOG_H
#define CONDUIT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define log_error(...) log_print("error: ", __VA_ARGS__)
#define log_warn(...)  log_print("warning: ", __VA_ARGS__)
#define log_info(...)  log_print("", __VA_ARGS__)

void log_print(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* While buf is set, the calling thread's first error line is also kept in it (no
 * prefix): the control socket's reply names what went wrong in code that logs. NULL
 * stops it. */
void log_capture(char *buf, size_t len);

/* For code that reports to its caller rather than to stderr (parsers, host checks):
 * the message into err (one line, no prefix); returns -1. */
int log_to_buf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Lines a guest can cause as often as it likes (a BAR placed over RAM, a broken
 * virtqueue, a failing vector) are rate-limited per call site: at most LOG_LIMIT_BURST
 * in a LOG_LIMIT_WINDOW_NS window; the first line of a later window says how many were
 * left out before it.
 */
#define LOG_LIMIT_BURST	    10
#define LOG_LIMIT_WINDOW_NS (5ULL * 1000000000ULL)

struct log_limit {
	uint64_t start; /* when the current window began (CLOCK_MONOTONIC ns) */
	unsigned int count, suppressed;
};

#define log_guest_(level, ...)                                                                     \
	do {                                                                                       \
		static struct log_limit limit_;                                                    \
		log_limited(&limit_, level, __VA_ARGS__);                                          \
	} while (0)
#define log_guest_warn(...) log_guest_("warning: ", __VA_ARGS__)
#define log_guest_info(...) log_guest_("", __VA_ARGS__)

void log_limited(struct log_limit *l, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The decision alone: true when a line at time now may print; *dropped is how many
 * lines the window that just ended left out (0 if none or still the same window). */
bool log_limit_pass(struct log_limit *l, uint64_t now, unsigned int *dropped);

#endif
