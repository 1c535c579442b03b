/*
 * 64-bit boot protocol: the protected-mode kernel is loaded at 1 MiB and entered at
 * load address + 0x200 in long mode, with paging on and an identity map covering the
 * kernel, zero page, command line and initrd, a GDT whose __BOOT_CS (0x10) is a flat
 * 64-bit code segment and __BOOT_DS (0x18) a flat data segment, interrupts off, and
 * RSI holding the zero page address.
 */
#include "vmm/x86/boot.h"
#include "vmm/base/log.h"
#include "vmm/x86/bzimage.h"
#include "vmm/x86/layout.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define KERNEL_FILE_MAX	      (512ULL << 20)
#define LOADER_TYPE_UNDEFINED 0xff
#define PAGE_SIZE	      4096ULL

#define BOOT_CS 0x10
#define BOOT_DS 0x18

#define PTE_PRESENT 0x1ULL
#define PTE_RW	    0x2ULL
#define PTE_PS	    0x80ULL

#define CR0_PE	 0x1ULL
#define CR0_ET	 0x10ULL
#define CR0_PG	 0x80000000ULL
#define CR4_PAE	 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static int open_regular(const char *what, const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("cannot open %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		log_error("%s '%s' is not a regular file", what, path);
		close(fd);
		return -1;
	}
	return fd;
}

static int read_full(int fd, void *buf, uint64_t len, const char *what, const char *path)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)done);

		if (n <= 0) {
			log_error("cannot read %s '%s': %s", what, path,
				  n ? strerror(errno) : "file shrank while reading");
			return -1;
		}
		done += (uint64_t)n;
	}
	return 0;
}

static uint8_t *read_kernel(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open_regular("kernel", path, &st);

	if (fd < 0)
		return NULL;
	if ((uint64_t)st.st_size > KERNEL_FILE_MAX) {
		log_error("kernel '%s' is %lld bytes: not a bzImage (too large)", path,
			  (long long)st.st_size);
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf || read_full(fd, buf, (uint64_t)st.st_size, "kernel", path)) {
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/*
 * The initrd goes as high as possible (Linux's own loaders do the same, keeping the
 * space right after the kernel free for its early allocations), page aligned, below
 * both the header's initrd_addr_max and the end of low RAM, and above the kernel.
 */
int boot_place_initrd(const struct guest_ram *ram, uint64_t kernel_end, uint32_t addr_max,
		      uint64_t size, uint64_t *addr)
{
	uint64_t top = (uint64_t)addr_max + 1;

	if (top > ram->low_size)
		top = ram->low_size;
	if (size > top || ((top - size) & ~(PAGE_SIZE - 1)) < kernel_end)
		return -1;
	*addr = (top - size) & ~(PAGE_SIZE - 1);
	return 0;
}

static int load_initrd(const struct guest_ram *ram, const char *path, uint64_t kernel_end,
		       uint32_t addr_max, struct boot_params *zp)
{
	struct stat st;
	uint64_t addr;
	int fd = open_regular("initrd", path, &st), ret;

	if (fd < 0)
		return -1;
	if (boot_place_initrd(ram, kernel_end, addr_max, (uint64_t)st.st_size, &addr)) {
		log_error("initrd '%s' (%llu MiB) does not fit in guest RAM next to the kernel: "
			  "raise --memory",
			  path, (unsigned long long)(st.st_size >> 20));
		close(fd);
		return -1;
	}
	ret = read_full(fd, guest_ram_ptr(ram, addr, (uint64_t)st.st_size), (uint64_t)st.st_size,
			"initrd", path);
	close(fd);
	zp->hdr.ramdisk_image = (uint32_t)addr;
	zp->hdr.ramdisk_size = (uint32_t)st.st_size;
	return ret;
}

static void write_page_tables(const struct guest_ram *ram)
{
	uint64_t *pml4 = guest_ram_ptr(ram, PML4_ADDR, PAGE_SIZE);
	uint64_t *pdpt = guest_ram_ptr(ram, PDPT_ADDR, PAGE_SIZE);
	uint64_t *pd = guest_ram_ptr(ram, PD_ADDR, 4 * PAGE_SIZE);
	unsigned int i;

	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (PD_ADDR + i * PAGE_SIZE) | PTE_PRESENT | PTE_RW;
	/* 2048 2-MiB pages identity-map the first 4 GiB. */
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
}

static const uint64_t boot_gdt[] = {
	0, 0, 0x00af9b000000ffffULL, /* 0x10: code, 64-bit (L=1), present, DPL 0 */
	0x00cf93000000ffffULL,	     /* 0x18: data, 4 GiB flat, writable */
};

static void write_gdt(const struct guest_ram *ram)
{
	memcpy(guest_ram_ptr(ram, GDT_ADDR, sizeof(boot_gdt)), boot_gdt, sizeof(boot_gdt));
}

static int check_cmdline(const struct bzimage *bz, const char *cmdline)
{
	size_t len = strlen(cmdline);
	size_t max = bz->cmdline_size < CMDLINE_MAX - 1 ? bz->cmdline_size : CMDLINE_MAX - 1;

	if (len > max) {
		log_error("--cmdline is %zu bytes; this kernel takes at most %zu", len, max);
		return -1;
	}
	return 0;
}

static void fill_zero_page(struct boot_params *zp, const struct bzimage *bz,
			   const struct boot_request *req)
{
	memset(zp, 0, sizeof(*zp));
	memcpy(&zp->hdr, bz->hdr, bz->hdr_len);
	zp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	zp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	zp->hdr.heap_end_ptr = 0xfe00;
	zp->hdr.vid_mode = 0xffff; /* "normal": no video mode switch */
	zp->hdr.cmd_line_ptr = CMDLINE_ADDR;
	zp->hdr.code32_start = KERNEL_ADDR;
	if (bz->version >= 0x020e) /* acpi_rsdp_addr exists since protocol 2.14 */
		zp->acpi_rsdp_addr = req->rsdp_addr;
	memcpy(zp->e820_table, req->e820->entry, sizeof(req->e820->entry[0]) * req->e820->count);
	zp->e820_entries = (uint8_t)req->e820->count;
}

static int place_kernel(const struct guest_ram *ram, const struct bzimage *bz, const char *path,
			uint64_t *end)
{
	*end = bzimage_end(bz, KERNEL_ADDR);
	if (*end > ram->low_size) {
		log_error("kernel '%s' needs %llu MiB of low RAM to boot: raise --memory", path,
			  (unsigned long long)((*end + (1 << 20) - 1) >> 20));
		return -1;
	}
	memcpy(guest_ram_ptr(ram, KERNEL_ADDR, bz->payload_len), bz->payload, bz->payload_len);
	return 0;
}

int boot_load_linux(const struct guest_ram *ram, const struct boot_request *req)
{
	struct boot_params *zp = guest_ram_ptr(ram, ZERO_PAGE_ADDR, sizeof(*zp));
	char err[160];
	struct bzimage bz;
	uint64_t kernel_end;
	size_t len;
	uint8_t *file = read_kernel(req->kernel, &len);
	int ret = -1;

	if (!file)
		return -1;
	if (bzimage_parse(file, len, &bz, err, sizeof(err))) {
		log_error("kernel '%s': %s", req->kernel, err);
		goto out;
	}
	if (check_cmdline(&bz, req->cmdline) || place_kernel(ram, &bz, req->kernel, &kernel_end))
		goto out;
	fill_zero_page(zp, &bz, req);
	strcpy(guest_ram_ptr(ram, CMDLINE_ADDR, strlen(req->cmdline) + 1), req->cmdline);
	if (req->initrd && load_initrd(ram, req->initrd, kernel_end, bz.initrd_addr_max, zp))
		goto out;
	write_page_tables(ram);
	write_gdt(ram);
	ret = 0;
out:
	free(file);
	return ret;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, uint8_t l)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = !l,
		.s = 1,
		.l = l,
		.g = 1,
	};
}

int boot_setup_bsp(int vcpu_fd)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = KERNEL_ADDR + 0x200,
		.rsi = ZERO_PAGE_ADDR,
		.rsp = BOOT_STACK_ADDR,
		.rflags = 0x2, /* bit 1 is always set; IF clear */
	};

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = sizeof(boot_gdt) - 1;
	sregs.cs = flat_segment(BOOT_CS, 0xb, 1); /* execute/read, accessed */
	sregs.ds = flat_segment(BOOT_DS, 0x3, 0); /* read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 |= CR4_PAE;
	sregs.cr0 |= CR0_PE | CR0_PG | CR0_ET;
	sregs.efer |= EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs))
		return -1;
	return ioctl(vcpu_fd, KVM_SET_REGS, &regs);
}
