#include "tests/common/forge_bzimage.h"

#include <asm/bootparam.h>
#include <string.h>

#define HDR(field) (offsetof(struct boot_params, hdr) + offsetof(struct setup_header, field))

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

static void forge_header(uint8_t *buf, const struct forge_opts *o, size_t payload_len)
{
	buf[HDR(setup_sects)] = o->setup_sects;
	put32(buf + HDR(syssize), (uint32_t)((payload_len + 15) / 16));
	put16(buf + HDR(boot_flag), 0xaa55);
	buf[0x200] = 0xeb; /* jmp short over the header, its length self-described */
	buf[0x201] = 0x66;
	memcpy(buf + HDR(header), "HdrS", 4);
	put16(buf + HDR(version), (uint16_t)or_default(o->version, 0x020f));
	buf[HDR(loadflags)] = LOADED_HIGH;
	put32(buf + HDR(code32_start), 0x100000);
	put32(buf + HDR(initrd_addr_max), or_default(o->initrd_addr_max, 0x7fffffff));
	put32(buf + HDR(kernel_alignment), or_default(o->kernel_alignment, 0x200000));
	buf[HDR(relocatable_kernel)] = o->relocatable;
	put16(buf + HDR(xloadflags), (uint16_t)or_default(o->xloadflags, XLF_KERNEL_64));
	put32(buf + HDR(cmdline_size), or_default(o->cmdline_size, 2047));
	put32(buf + HDR(pref_address), (uint32_t)o->pref_address);
	put32(buf + HDR(pref_address) + 4, (uint32_t)(o->pref_address >> 32));
	put32(buf + HDR(init_size), or_default(o->init_size, 16 << 20));
}

size_t forge_bzimage(uint8_t *buf, size_t cap, const struct forge_opts *o)
{
	size_t setup_len = ((size_t)(o->setup_sects ? o->setup_sects : 4) + 1) * 512;
	size_t payload_len = o->payload_len ? o->payload_len : 0x1000;
	size_t total = setup_len + payload_len;

	if (total > cap || 0x200 + o->entry64_len > payload_len)
		return 0;
	memset(buf, 0, total);
	forge_header(buf, o, payload_len);
	/* hlt everywhere, so a jump to the wrong place stops instead of running zeros */
	memset(buf + setup_len, 0xf4, payload_len);
	if (o->entry64_len)
		memcpy(buf + setup_len + 0x200, o->entry64, o->entry64_len);
	return total;
}
