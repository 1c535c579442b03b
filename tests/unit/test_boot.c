/* Zero page, command line, initrd placement, page tables and GDT written by the loader. */
#include "tests/common/forge_bzimage.h"
#include "tests/unit/check.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/layout.h"

#include <asm/bootparam.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t img[64 << 10];
static char kernel_path[] = "/tmp/conduit-test-kernel-XXXXXX";
static char initrd_path[] = "/tmp/conduit-test-initrd-XXXXXX";

static void write_file(char *path, const void *data, size_t len)
{
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void test_zero_page(void)
{
	static const uint8_t entry[] = {0x0f, 0x0b};
	struct guest_ram ram;
	struct e820_map e820;
	struct boot_params *zp;
	uint8_t initrd[5000];
	uint64_t *pd, *pml4;
	size_t n = forge_bzimage(img, sizeof(img),
				 &(struct forge_opts){.relocatable = 1,
						      .entry64 = entry,
						      .entry64_len = sizeof(entry)});
	struct boot_request req = {
		.kernel = kernel_path,
		.initrd = initrd_path,
		.cmdline = "console=ttyS0 quiet",
		.rsdp_addr = ACPI_ADDR,
		.e820 = &e820,
	};

	memset(initrd, 0x5a, sizeof(initrd));
	write_file(kernel_path, img, n);
	write_file(initrd_path, initrd, sizeof(initrd));
	/* shared=on: a memfd backs the same layout; the boot path is the same */
	CHECK(guest_ram_create(&ram, 64 << 20, GUEST_RAM_SHARED) == 0);
	CHECK(ram.fd >= 0 && ram.size == 64 << 20);
	guest_ram_destroy(&ram);
	CHECK(guest_ram_create(&ram, 64 << 20, GUEST_RAM_PREFAULT) == 0);
	CHECK(ram.fd == -1 && ram.host[(64 << 20) - 1] == 0);
	guest_ram_destroy(&ram);
	CHECK(guest_ram_create(&ram, 64 << 20, 0) == 0);
	CHECK(ram.fd == -1); /* anonymous memory by default */
	e820_build(&e820, ram.low_size, ram.high_size);
	CHECK(boot_load_linux(&ram, &req) == 0);

	zp = guest_ram_ptr(&ram, ZERO_PAGE_ADDR, sizeof(*zp));
	CHECK(zp->hdr.boot_flag == 0xaa55);
	CHECK(zp->hdr.header == 0x53726448);
	CHECK(zp->hdr.type_of_loader == 0xff);
	CHECK(zp->hdr.loadflags & LOADED_HIGH);
	CHECK(zp->hdr.loadflags & CAN_USE_HEAP);
	CHECK(zp->hdr.cmd_line_ptr == CMDLINE_ADDR);
	CHECK(!strcmp((char *)guest_ram_ptr(&ram, CMDLINE_ADDR, 32), req.cmdline));
	CHECK(zp->acpi_rsdp_addr == ACPI_ADDR);
	CHECK(zp->e820_entries == e820.count);
	CHECK(zp->e820_table[2].addr == KERNEL_ADDR);
	/* initrd: page aligned, at the top of the 64 MiB of RAM, contents intact */
	CHECK(zp->hdr.ramdisk_size == sizeof(initrd));
	CHECK(zp->hdr.ramdisk_image % 4096 == 0);
	CHECK(zp->hdr.ramdisk_image + sizeof(initrd) <= 64 << 20);
	CHECK(zp->hdr.ramdisk_image + sizeof(initrd) > (64 << 20) - 4096);
	CHECK(!memcmp(guest_ram_ptr(&ram, zp->hdr.ramdisk_image, sizeof(initrd)), initrd,
		      sizeof(initrd)));
	/* payload at 1 MiB, entry code at +0x200 */
	CHECK(!memcmp(guest_ram_ptr(&ram, KERNEL_ADDR + 0x200, 2), entry, 2));
	/* identity map: PML4[0] -> PDPT, PD entry 5 maps 10 MiB as a 2 MiB page */
	pml4 = guest_ram_ptr(&ram, PML4_ADDR, 4096);
	pd = guest_ram_ptr(&ram, PD_ADDR, 4 * 4096);
	CHECK((pml4[0] & ~0xfffULL) == PDPT_ADDR);
	CHECK(pd[5] == ((5ULL << 21) | 0x83));
	CHECK(pd[2047] == ((2047ULL << 21) | 0x83));
	CHECK(((uint64_t *)guest_ram_ptr(&ram, GDT_ADDR, 32))[2] == 0x00af9b000000ffffULL);

	guest_ram_destroy(&ram);
}

static void new_kernel_file(const struct forge_opts *o)
{
	size_t n = forge_bzimage(img, sizeof(img), o);

	CHECK(n > 0);
	strcpy(kernel_path + sizeof(kernel_path) - 7, "XXXXXX");
	write_file(kernel_path, img, n);
}

static void test_refusals(void)
{
	struct guest_ram ram;
	struct e820_map e820;
	char longline[4096];
	struct boot_request req = {.kernel = kernel_path, .cmdline = "", .e820 = &e820};

	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	CHECK(guest_ram_create(&ram, 64 << 20, 0) == 0);
	e820_build(&e820, ram.low_size, ram.high_size);

	new_kernel_file(&(struct forge_opts){.relocatable = 1});
	CHECK(boot_load_linux(&ram, &req) == 0);
	req.cmdline = longline; /* longer than cmdline_size 2047 */
	CHECK(boot_load_linux(&ram, &req) < 0);
	req.cmdline = "";
	req.initrd = "/nonexistent/initrd";
	CHECK(boot_load_linux(&ram, &req) < 0);
	req.initrd = NULL;
	unlink(kernel_path);

	req.kernel = "/nonexistent/bzImage";
	CHECK(boot_load_linux(&ram, &req) < 0);
	req.kernel = "/tmp"; /* a directory */
	CHECK(boot_load_linux(&ram, &req) < 0);

	/* a kernel whose init_size does not fit below the hole of a 64 MiB guest */
	new_kernel_file(&(struct forge_opts){.relocatable = 1, .init_size = 80 << 20});
	req.kernel = kernel_path;
	CHECK(boot_load_linux(&ram, &req) < 0);
	unlink(kernel_path);
	guest_ram_destroy(&ram);
}

static void test_initrd_placement(void)
{
	struct guest_ram ram = {.low_size = 512 << 20};
	uint64_t addr;

	CHECK(boot_place_initrd(&ram, 32 << 20, 0x7fffffff, 10 << 20, &addr) == 0);
	CHECK(addr == (502ULL << 20));
	/* initrd_addr_max below the end of RAM wins */
	CHECK(boot_place_initrd(&ram, 32 << 20, (256 << 20) - 1, 4097, &addr) == 0);
	CHECK(addr == (256ULL << 20) - 8192);
	/* too large: would overlap the kernel */
	CHECK(boot_place_initrd(&ram, 32 << 20, 0x7fffffff, 481 << 20, &addr) < 0);
	CHECK(boot_place_initrd(&ram, 32 << 20, 0x7fffffff, 1ULL << 40, &addr) < 0);
}

int main(void)
{
	test_zero_page();
	unlink(kernel_path);
	unlink(initrd_path);
	test_refusals();
	test_initrd_placement();
	return CHECK_DONE();
}
