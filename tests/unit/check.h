/* Minimal checks for unit tests: each failed CHECK prints where and counts. */
#ifndef CONDUIT_TESTS_CHECK_H
#define CONDUIT_TESTS_CHECK_H
#include <stdio.h>
static int check_failures;
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)
#define CHECK_DONE()                                                                               \
	(check_failures ? (fprintf(stderr, "%d check(s) failed\n", check_failures), 1) : 0)
/* A test whose checks need a tool the machine lacks: meson counts it as skipped. */
#define CHECK_SKIP 77
#endif
