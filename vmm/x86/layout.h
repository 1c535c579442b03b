/*
 * Guest physical address map (x86_64).
 *
 *   0x0000_0500  GDT for the 64-bit boot entry
 *   0x0000_7000  zero page (struct boot_params)
 *   0x0000_9000  identity page tables: PML4, PDPT, 4 PDs of 2 MiB pages = 4 GiB
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  top of conventional RAM; EBDA/VGA/BIOS area reserved above it
 *   0x000e_0000  ACPI tables (RSDP 16-byte aligned where the legacy scan looks)
 *   0x0010_0000  protected-mode kernel (bzImage payload), then initrd at the top of low RAM
 *   0xc000_0000  start of the MMIO hole: low RAM never reaches past here; 512 MiB
 *                window for 32-bit PCI BARs and bridge memory windows
 *   0xe000_0000  PCIe ECAM, 256 MiB: 256 buses of config space
 *   0xfec0_0000  IOAPIC, 0xfee0_0000 LAPIC (in-kernel)
 *   4 GiB        RAM that did not fit below the hole
 *   above RAM    64 GiB window for 64-bit PCI BARs, 1 GiB aligned
 */
#ifndef CONDUIT_LAYOUT_H
#define CONDUIT_LAYOUT_H

#include "vmm/base/memory.h"

#define GDT_ADDR	0x500ULL
#define ZERO_PAGE_ADDR	0x7000ULL
#define PML4_ADDR	0x9000ULL
#define PDPT_ADDR	0xa000ULL
#define PD_ADDR		0xb000ULL /* 4 pages */
#define BOOT_STACK_ADDR 0x8ff0ULL
#define CMDLINE_ADDR	0x20000ULL
#define CMDLINE_MAX	0x10000ULL
#define EBDA_ADDR	0x9fc00ULL
#define ACPI_ADDR	0xe0000ULL
#define ACPI_SIZE	0x20000ULL
#define KERNEL_ADDR	0x100000ULL

#define MMIO_HOLE_ADDR	GUEST_RAM_LOW_MAX
#define PCI_MEM32_ADDR	0xc0000000ULL
#define PCI_MEM32_END	0xe0000000ULL
#define ECAM_ADDR	0xe0000000ULL
#define ECAM_BUSES	256
#define PCI_MEM64_ALIGN (1ULL << 30)
#define PCI_MEM64_SIZE	(64ULL << 30)
#define PCI_IO_ADDR	0xc000ULL
#define PCI_IO_END	0x10000ULL
#define PCI_INTX_GSI	16
#define IOAPIC_ADDR	0xfec00000ULL
#define LAPIC_ADDR	0xfee00000ULL
#define HIGH_RAM_ADDR	GUEST_RAM_HIGH_ADDR

/* Legacy I/O ports conduit emulates. */
#define SERIAL0_PORT 0x3f8
#define SERIAL0_IRQ  4
#define RTC_PORT     0x70
#define I8042_PORT   0x60  /* data 0x60, command/status 0x64 */
#define PM_EVT_PORT  0x600 /* PM1a event block: PM1_STS, PM1_EN */
#define PM_CNT_PORT  0x604 /* PM1a control block */
#define RESET_PORT   0xcf9
#define SCI_IRQ	     9

#endif
