/* Linux x86 boot protocol: validation of a bzImage's setup header. */
#ifndef CONDUIT_BZIMAGE_H
#define CONDUIT_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

struct bzimage {
	const uint8_t *hdr;	/* setup header as it sits in the file (offset 0x1f1) */
	size_t hdr_len;		/* bytes of it to copy into the zero page */
	const uint8_t *payload; /* protected-mode kernel, loaded at 1 MiB */
	size_t payload_len;
	uint16_t version;
	uint32_t init_size; /* bytes the kernel needs from its aligned load address */
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size; /* longest command line, without the NUL */
	uint8_t relocatable;
	uint64_t pref_address;
};

int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage *bz, char *err, size_t errlen);
uint64_t bzimage_end(const struct bzimage *bz, uint64_t load_addr);

#endif
