/* Sizes as users write them: 512 (MiB), 4k, 2G, 3GiB, 1T. */
#ifndef CONDUIT_SIZE_H
#define CONDUIT_SIZE_H

#include <stdint.h>

/* 0 and the size in bytes, or -1 for anything else (a sign, an unknown unit, overflow). */
int size_parse(const char *s, uint64_t *out);

#endif
