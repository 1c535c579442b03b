/* Setup-header validation against valid, truncated and hostile bzImages. */
#include "tests/common/forge_bzimage.h"
#include "tests/unit/check.h"
#include "vmm/x86/bzimage.h"

#include <asm/bootparam.h>
#include <stdlib.h>
#include <string.h>

static uint8_t img[64 << 10];

static int parse(size_t len, struct bzimage *bz)
{
	char err[160];

	return bzimage_parse(img, len, bz, err, sizeof(err));
}

static size_t forge(const struct forge_opts *o)
{
	size_t n = forge_bzimage(img, sizeof(img), o);

	CHECK(n > 0);
	return n;
}

static void test_valid(void)
{
	struct bzimage bz;
	size_t n = forge(&(struct forge_opts){.init_size = 0x1234000, .relocatable = 1});

	CHECK(parse(n, &bz) == 0);
	CHECK(bz.version == 0x020f);
	CHECK(bz.init_size == 0x1234000);
	CHECK(bz.cmdline_size == 2047);
	CHECK(bz.payload == img + 5 * 512);
	CHECK(bz.payload_len == 0x1000);
	CHECK(bz.hdr == img + 0x1f1);
	/* header ends where the jump at 0x200 lands: 0x202 + 0x66 */
	CHECK(bz.hdr_len == 0x268 - 0x1f1);
	/* relocatable: decompression starts at the 2 MiB-aligned address above 1 MiB */
	CHECK(bzimage_end(&bz, 0x100000) == 0x200000 + 0x1234000);
}

static void test_setup_sects_zero_means_four(void)
{
	struct bzimage bz;
	size_t n = forge(&(struct forge_opts){.setup_sects = 0});

	CHECK(parse(n, &bz) == 0 && bz.payload == img + 5 * 512);
	n = forge(&(struct forge_opts){.setup_sects = 30});
	CHECK(parse(n, &bz) == 0 && bz.payload == img + 31 * 512);
}

static void test_rejects(void)
{
	struct bzimage bz;
	size_t n;

	n = forge(&(struct forge_opts){0});
	CHECK(parse(0, &bz) < 0);
	CHECK(parse(0x200, &bz) < 0);	/* shorter than the header */
	CHECK(parse(5 * 512, &bz) < 0); /* setup only, no kernel */
	CHECK(parse(n - 1, &bz) < 0);	/* kernel shorter than syssize */

	img[0x1fe] = 0;
	CHECK(parse(n, &bz) < 0); /* no 0xaa55 boot flag */
	forge(&(struct forge_opts){0});
	img[0x202] = 'X';
	CHECK(parse(n, &bz) < 0); /* no HdrS */

	n = forge(&(struct forge_opts){.version = 0x020b});
	CHECK(parse(n, &bz) < 0); /* protocol older than 2.12 */
	n = forge(&(struct forge_opts){.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G});
	CHECK(parse(n, &bz) < 0); /* 32-bit kernel */
	n = forge(&(struct forge_opts){.init_size = 16});
	CHECK(parse(n, &bz) < 0); /* init_size smaller than the payload */
	n = forge(&(struct forge_opts){.kernel_alignment = 0x3000});
	CHECK(parse(n, &bz) < 0); /* alignment not a power of two */
}

static void test_hostile_syssize(void)
{
	struct bzimage bz;
	size_t n = forge(&(struct forge_opts){0});

	/* syssize claiming 64 GiB must not pass as "the rest of the file" */
	memset(img + 0x1f4, 0xff, 4);
	CHECK(parse(n, &bz) < 0);
	/* zero syssize: nothing to load */
	memset(img + 0x1f4, 0, 4);
	CHECK(parse(n, &bz) < 0);
}

static void test_signature_tail_ignored(void)
{
	struct bzimage bz;
	size_t n = forge(&(struct forge_opts){0});

	/* A signed kernel carries bytes after syssize: they are not loaded. */
	CHECK(parse(n + 512, &bz) == 0);
	CHECK(bz.payload_len == 0x1000);
}

static void test_fixed_address_kernel(void)
{
	struct bzimage bz;
	size_t n = forge(&(struct forge_opts){
		.relocatable = 0, .pref_address = 0x1000000, .init_size = 0x800000});

	CHECK(parse(n, &bz) == 0);
	CHECK(bzimage_end(&bz, 0x100000) == 0x1800000);
}

/* Every prefix and single-byte corruption of a valid image parses or fails cleanly
 * (ASan catches any read past the buffer). */
static void test_every_truncation(void)
{
	struct bzimage bz;
	size_t n = forge(&(struct forge_opts){0}), i;
	uint8_t *copy;

	for (i = 0; i < n; i += 7) {
		copy = malloc(i ? i : 1);
		memcpy(copy, img, i);
		if (bzimage_parse(copy, i, &bz, (char[64]){0}, 64) == 0)
			CHECK(bz.payload + bz.payload_len <= copy + i);
		free(copy);
	}
}

int main(void)
{
	test_valid();
	test_setup_sects_zero_means_four();
	test_rejects();
	test_hostile_syssize();
	test_signature_tail_ignored();
	test_fixed_address_kernel();
	test_every_truncation();
	return CHECK_DONE();
}
