/* One-line messages to stderr, prefixed with the program name. */
#ifndef CONDUIT_LOG_H
#define CONDUIT_LOG_H

#define log_error(...) log_print("error: ", __VA_ARGS__)
#define log_warn(...)  log_print("warning: ", __VA_ARGS__)
#define log_info(...)  log_print("", __VA_ARGS__)

void log_print(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
