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

/* xAPIC IDs are 8 bits and 0xff is the broadcast ID, so 255 CPUs fit in LAPIC entries. */
#define ACPI_MAX_CPUS 255

/*
 * ID of the IO APIC. The KVM in-kernel IO APIC keeps a 4-bit ID that resets to 0, so a
 * per-CPU scheme (ID = nr_cpus) would not fit past 15 CPUs. IO APIC and local APIC IDs
 * need not differ with xAPIC system-bus delivery (only the old 3-wire APIC bus required
 * it), and x86_64 Linux only requires IO APIC IDs to be unique among IO APICs.
 */
#define ACPI_IOAPIC_ID 0

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
	/* PCI segment 0 (the MCFG table and \_SB.PCI0): ECAM and the host bridge's windows,
	 * each [base, end). INTx of root-bus slot s, pin p (INTA = 0) goes to GSI
	 * pci_intx_gsi_base + (s + p) % 8. */
	uint64_t ecam_addr;
	uint16_t ecam_buses;
	uint32_t pci_mem32_base, pci_mem32_end;
	uint64_t pci_mem64_base, pci_mem64_end;
	uint8_t pci_intx_gsi_base;
};

/*
 * Lays out the RSDP (at offset 0), XSDT, FACS, DSDT (\_S5, \_SB.PCI0, \_SB.MRES), FADT,
 * MADT and MCFG in buf, which the guest sees at guest physical address guest_addr
 * (16-byte aligned, inside 0xE0000..0xFFFFF so Linux's legacy RSDP scan finds it too).
 * Returns the number of bytes used, or 0 if size is too small, guest_addr is not 16-byte
 * aligned, nr_cpus is 0 or above ACPI_MAX_CPUS, sci_irq is not an ISA IRQ (0-15),
 * ecam_buses is not 1..256, a PCI window is empty, or memory for the AML cannot be had.
 */
size_t acpi_build(const struct acpi_machine *m, uint8_t *buf, size_t size, uint64_t guest_addr);

#endif
