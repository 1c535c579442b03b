/* Builds synthetic bzImages for tests: valid ones with chosen header fields, and with
 * a payload whose 64-bit entry point runs code the test picked. */
#ifndef CONDUIT_TESTS_FORGE_BZIMAGE_H
#define CONDUIT_TESTS_FORGE_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

struct forge_opts {
	uint16_t version;	   /* 0x020f when 0 */
	uint16_t xloadflags;	   /* XLF_KERNEL_64 when 0 */
	uint8_t setup_sects;	   /* 0 means 4, as in the protocol */
	uint32_t init_size;	   /* 16 MiB when 0 */
	uint32_t cmdline_size;	   /* 2047 when 0 */
	uint32_t initrd_addr_max;  /* 0x7fffffff when 0 */
	uint32_t kernel_alignment; /* 2 MiB when 0 */
	uint8_t relocatable;
	uint64_t pref_address;
	const uint8_t *entry64; /* bytes placed at payload offset 0x200 */
	size_t entry64_len;
	size_t payload_len; /* 0x1000 when 0 */
};

/* Returns the image size, or 0 if cap is too small. */
size_t forge_bzimage(uint8_t *buf, size_t cap, const struct forge_opts *o);

#endif
