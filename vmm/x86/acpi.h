/*
 * ACPI tables for an x86_64 guest booted without firmware (ACPI 6.3 layouts): RSDP, XSDT,
 * FADT, FACS, MADT and DSDT, laid out in one buffer that the VMM copies into guest memory.
 *
 * The platform described is full ACPI hardware (not hardware-reduced) with fixed PM1a
 * event and control register blocks in I/O space, no SMI command port, no PM timer, no
 * GPE blocks, no 8042, no VGA, a CMOS RTC, a reset register, xAPIC local APICs and one
 * IO APIC. The device models behind it must behave as follows:
 *
 * - PM1a_CNT (16-bit): SMI_CMD is 0, so the platform is always in ACPI mode and SCI_EN
 *   (bit 0) must always read 1; writes to it are ignored. OSPM enters sleep state S5 by
 *   writing SLP_TYP (bits 12-10) = s5_slp_typ together with SLP_EN (bit 13): power off
 *   then. SLP_EN reads as 0.
 * - PM1a_EVT: PM1_STS (16-bit, write 1 to clear) then PM1_EN (16-bit) at +2. The SCI is
 *   asserted while any bit is set in both; it is level-triggered and active-high on GSI
 *   sci_irq (MADT Interrupt Source Override). The FADT declares no fixed-feature power or
 *   sleep button, so a power button would be a control-method device (PNP0C0C).
 * - RESET_REG: writing reset_value to reset_port (8-bit I/O) resets the machine. Linux
 *   tries it first on reboot, then the 8042 reset command (0xfe to port 0x64).
 * - The IO APIC's ID register must read ACPI_IOAPIC_ID.
 * - The buffer's guest range must be reported as reserved (not RAM) in the e820 map.
 */
#ifndef CONDUIT_ACPI_H
#define CONDUIT_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_PCI_ROOTS  8
#define ACPI_MAX_NODES	    8
#define ACPI_MAX_MEM_RANGES (2 * ACPI_MAX_NODES) /* a node's RAM may span the MMIO hole */

/* xAPIC IDs are 8 bits and 0xff is the broadcast ID, so 255 CPUs fit in LAPIC entries. */
#define ACPI_MAX_CPUS 255

/*
 * ID of the IO APIC. The KVM in-kernel IO APIC keeps a 4-bit ID that resets to 0, so a
 * per-CPU scheme (ID = nr_cpus) would not fit past 15 CPUs. IO APIC and local APIC IDs
 * need not differ with xAPIC system-bus delivery (only the old 3-wire APIC bus required
 * it), and x86_64 Linux only requires IO APIC IDs to be unique among IO APICs.
 */
#define ACPI_IOAPIC_ID 0

/*
 * A PCI Express root complex on segment 0: \_SB.PCI0 for the first, \_SB.PC01.. for the
 * rest, each with the bus numbers [bus_first, bus_last] and windows [base, end) it
 * forwards (an empty window is left out of its _CRS). PCI0 also decodes the legacy I/O
 * ports below 0xd00 but 0xcf8-0xcff, and I/O from 0xd00 up to its io_end; the others
 * their own I/O window.
 */
struct acpi_pci_root {
	uint8_t bus_first, bus_last;
	int node; /* its proximity domain (_PXM); -1: none */
	uint32_t io_base, io_end;
	uint32_t mem32_base, mem32_end;
	uint64_t mem64_base, mem64_end;
};

/* Guest RAM [base, base + size) of proximity domain node (SRAT Memory Affinity). */
struct acpi_mem_range {
	uint64_t base, size;
	uint32_t node;
};

struct acpi_machine {
	unsigned int nr_cpus;	/* LAPIC (processor UID and APIC ID) 0..nr_cpus-1 */
	uint32_t ioapic_addr;	/* 0xfec00000, IO APIC ACPI_IOAPIC_ID, GSI base 0 */
	uint32_t lapic_addr;	/* 0xfee00000 */
	uint16_t pm1a_evt_port; /* PM1a event block: 4 bytes (PM1_STS, PM1_EN) */
	uint16_t pm1a_cnt_port; /* PM1a control block: 2 bytes */
	uint8_t sci_irq;	/* 9 */
	uint16_t reset_port;	/* FADT RESET_REG in system I/O space, e.g. 0xcf9 */
	uint8_t reset_value;	/* e.g. 0x06 */
	uint8_t s5_slp_typ;	/* SLP_TYP value the DSDT's _S5 package gives, e.g. 5 */
	/* PCI segment 0: ECAM for buses 0..ecam_buses-1, the root complexes in bus order
	 * (one MCFG entry each). INTx of root-bus slot s, pin p (INTA = 0) goes to GSI
	 * pci_intx_gsi_base + (s + p) % 8 on every root bus. */
	uint64_t ecam_addr;
	uint16_t ecam_buses;
	struct acpi_pci_root pci[ACPI_MAX_PCI_ROOTS];
	unsigned int nr_pci;
	uint8_t pci_intx_gsi_base;
	/* NUMA, when nr_nodes > 0: SRAT (each CPU's node, and the RAM ranges, which must
	 * cover all of RAM) and SLIT (distance[i][j], 10 on the diagonal). */
	unsigned int nr_nodes;
	uint8_t cpu_node[ACPI_MAX_CPUS];
	struct acpi_mem_range mem[ACPI_MAX_MEM_RANGES];
	unsigned int nr_mem;
	uint8_t distance[ACPI_MAX_NODES][ACPI_MAX_NODES];
};

/*
 * Lays out the RSDP (at offset 0), XSDT, FACS, DSDT (\_S5, \_SB.PCI0 and more root
 * complexes, \_SB.MRES), FADT, MADT, MCFG, and with NUMA nodes SRAT and SLIT in buf, which the
 * guest sees at guest physical address guest_addr (16-byte aligned, inside 0xE0000..0xFFFFF so
 * Linux's legacy RSDP scan finds it too). Returns the number of bytes used, or 0 if size is too
 * small, guest_addr is not 16-byte aligned, nr_cpus is 0 or above ACPI_MAX_CPUS, sci_irq is not an
 * ISA IRQ (0-15), ecam_buses is not 1..256, a root complex's buses are not inside the ECAM or
 * follow no order, PCI0 has no I/O from 0xd00, a node or range is out of bounds, a
 * SLIT distance is not what Linux accepts, or memory for the AML cannot be had.
 */
size_t acpi_build(const struct acpi_machine *m, uint8_t *buf, size_t size, uint64_t guest_addr);

#endif
