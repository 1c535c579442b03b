/*
 * The boot protocol (Documentation/arch/x86/boot.rst) puts a setup header at offset
 * 0x1f1 of a bzImage. Its version tells which fields exist: 2.12 added xloadflags, whose
 * XLF_KERNEL_64 bit promises the 64-bit entry point at load address + 0x200 that conduit
 * uses, so older kernels are refused. The file is untrusted: every length is checked
 * against the file size before it is used.
 */
#include "vmm/x86/bzimage.h"
#include "vmm/base/le.h"
#include "vmm/base/log.h"

#include <asm/bootparam.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HDR_OFFSET	    0x1f1
#define HDR_MAGIC	    0x53726448 /* "HdrS" */
#define BOOT_FLAG	    0xaa55
#define MIN_VERSION	    0x020c
#define DEFAULT_SETUP_SECTS 4

#define FIELD(name) (offsetof(struct boot_params, hdr) + offsetof(struct setup_header, name))

static void read_fields(const uint8_t *buf, struct bzimage *bz)
{
	bz->version = le16_get(buf + FIELD(version));
	bz->init_size = le32_get(buf + FIELD(init_size));
	bz->kernel_alignment = le32_get(buf + FIELD(kernel_alignment));
	bz->initrd_addr_max = le32_get(buf + FIELD(initrd_addr_max));
	bz->cmdline_size = le32_get(buf + FIELD(cmdline_size));
	bz->relocatable = buf[FIELD(relocatable_kernel)];
	bz->pref_address = (uint64_t)le32_get(buf + FIELD(pref_address)) |
			   (uint64_t)le32_get(buf + FIELD(pref_address) + 4) << 32;
}

/* The header's length is self-described: the 2-byte jump at 0x200 lands right after it. */
static size_t header_len(const uint8_t *buf)
{
	size_t end = 0x202 + buf[0x201];
	size_t max = HDR_OFFSET + sizeof(struct setup_header);

	return (end < max ? end : max) - HDR_OFFSET;
}

int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage *bz, char *err, size_t errlen)
{
	size_t setup_len, sys_len;
	unsigned int setup_sects;

	memset(bz, 0, sizeof(*bz));
	if (len < HDR_OFFSET + sizeof(struct setup_header))
		return log_to_buf(err, errlen, "file is too small to be a bzImage (%zu bytes)",
				  len);
	if (le16_get(buf + FIELD(boot_flag)) != BOOT_FLAG ||
	    le32_get(buf + FIELD(header)) != HDR_MAGIC)
		return log_to_buf(err, errlen, "not a bzImage (no boot protocol header)");
	read_fields(buf, bz);
	if (bz->version < MIN_VERSION)
		return log_to_buf(err, errlen,
				  "boot protocol %u.%02u is too old: conduit needs 2.12+",
				  bz->version >> 8, bz->version & 0xff);
	if (!(le16_get(buf + FIELD(xloadflags)) & XLF_KERNEL_64))
		return log_to_buf(err, errlen,
				  "kernel has no 64-bit entry point (not an x86_64 kernel)");
	setup_sects = buf[FIELD(setup_sects)] ? buf[FIELD(setup_sects)] : DEFAULT_SETUP_SECTS;
	setup_len = (setup_sects + 1) * 512;
	if (setup_len >= len)
		return log_to_buf(err, errlen,
				  "bzImage is truncated: no kernel after the setup sectors");
	sys_len = (size_t)le32_get(buf + FIELD(syssize)) * 16;
	if (sys_len > len - setup_len)
		return log_to_buf(err, errlen,
				  "bzImage is truncated: %zu bytes of kernel, header says %zu",
				  len - setup_len, sys_len);
	if (!sys_len || bz->init_size < sys_len)
		return log_to_buf(err, errlen,
				  "bzImage header is inconsistent: init_size %u, payload %zu",
				  bz->init_size, sys_len);
	if (bz->kernel_alignment & (bz->kernel_alignment - 1))
		return log_to_buf(err, errlen, "bzImage header is inconsistent: alignment 0x%x",
				  bz->kernel_alignment);
	bz->hdr = buf + HDR_OFFSET;
	bz->hdr_len = header_len(buf);
	bz->payload = buf + setup_len;
	/* Bytes past syssize (a signed kernel's appended signature) are not kernel. */
	bz->payload_len = sys_len;
	return 0;
}

/*
 * The end of the memory the kernel claims while it decompresses and runs: a relocatable
 * kernel works from its load address rounded up to kernel_alignment, a fixed one from
 * pref_address; either way init_size bytes.
 */
uint64_t bzimage_end(const struct bzimage *bz, uint64_t load_addr)
{
	uint64_t align = bz->kernel_alignment ? bz->kernel_alignment : 1;
	uint64_t start = (load_addr + align - 1) & ~(align - 1);

	if (!bz->relocatable && bz->pref_address > start)
		start = bz->pref_address;
	return start + bz->init_size;
}
