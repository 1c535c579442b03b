/*
 * The input format of the fuzz targets that act as a guest: a list of 8-byte
 * accesses. Byte 0 picks what to do (each target says), byte 1 the access size (1, 2,
 * 4 or 8 bytes from its low two bits), bytes 2-3 an offset and bytes 4-7 a value,
 * little-endian. A trailing partial access is ignored.
 */
#ifndef CONDUIT_FUZZ_OPS_H
#define CONDUIT_FUZZ_OPS_H

#include "irq/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_op {
	uint8_t kind;
	unsigned int size;
	uint16_t off;
	uint32_t val;
	uint8_t bytes[8]; /* val as the data of an access of size bytes */
};

static inline bool fuzz_op_next(const uint8_t **p, size_t *left, struct fuzz_op *op)
{
	const uint8_t *b = *p;

	if (*left < 8)
		return false;
	op->kind = b[0];
	op->size = 1u << (b[1] & 3);
	op->off = (uint16_t)(b[2] | b[3] << 8);
	op->val =
		(uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
	memcpy(op->bytes, b + 4, 4);
	memcpy(op->bytes + 4, b + 4, 4);
	*p += 8;
	*left -= 8;
	return true;
}

static inline int fuzz_kvm_accept(int fd, unsigned long req, void *arg)
{
	(void)fd, (void)req, (void)arg;
	return 0;
}

/* A router per input whose KVM accepts every routing and irqfd change: GSIs are
 * handed out for a VM's lifetime, never taken back. */
static inline void fuzz_router_init(struct irq_router *r)
{
	if (irq_router_init(r, -1))
		abort();
	r->kvm_ioctl = fuzz_kvm_accept;
}

#endif
