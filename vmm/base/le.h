/* Little-endian loads and stores of byte images: config space, register files, firmware
 * tables and boot headers are little-endian whatever the host is. */
#ifndef CONDUIT_LE_H
#define CONDUIT_LE_H

#include <stdint.h>

/* size bytes (1..8) at p, least significant first. */
static inline uint64_t le_get(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	while (size--)
		v = v << 8 | p[size];
	return v;
}

static inline void le_put(uint8_t *p, unsigned int size, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < size; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint16_t le16_get(const uint8_t *p)
{
	return (uint16_t)le_get(p, 2);
}

static inline uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)le_get(p, 4);
}

#endif
