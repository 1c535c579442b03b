/*
 * ACPI tables (ACPI 6.3, chapter 5 "ACPI Software Programming Model"). Every table is
 * written field by field at the offsets the spec gives, little-endian, into zeroed space,
 * so fields not written here are the spec's "zero: not supported" values.
 *
 * Layout: RSDP at offset 0, XSDT, FACS (64-byte aligned), DSDT, then the tables the
 * XSDT lists. Adding a table is a builder returning its guest address plus one line in
 * acpi_xsdt_tables[]; adding to the DSDT is a function plus one line in acpi_dsdt_parts[].
 */
#include "vmm/x86/acpi.h"
#include "pci/bus.h"
#include "vmm/base/le.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/x86/aml.h"

#define ACPI_OEM_ID	      "CNDUIT"
#define ACPI_OEM_TABLE_ID     "CONDUIT "
#define ACPI_OEM_REVISION     1
#define ACPI_CREATOR_ID	      "CNDT"
#define ACPI_CREATOR_REVISION 1

/* System Description Table Header (ACPI 6.3 section 5.2.6). */
#define ACPI_HDR_LENGTH		  4
#define ACPI_HDR_REVISION	  8
#define ACPI_HDR_CHECKSUM	  9
#define ACPI_HDR_OEM_ID		  10
#define ACPI_HDR_OEM_TABLE_ID	  16
#define ACPI_HDR_OEM_REVISION	  24
#define ACPI_HDR_CREATOR_ID	  28
#define ACPI_HDR_CREATOR_REVISION 32
#define ACPI_HDR_SIZE		  36

/* Root System Description Pointer (section 5.2.5.3), revision 2 for the XSDT (5.2.8). */
#define RSDP_CHECKSUM	    8
#define RSDP_OEM_ID	    9
#define RSDP_REVISION	    15
#define RSDP_LENGTH	    20
#define RSDP_XSDT_ADDRESS   24
#define RSDP_EXT_CHECKSUM   32
#define RSDP_V1_SIZE	    20 /* the part the first checksum covers */
#define RSDP_SIZE	    36
#define RSDP_REVISION_ACPI2 2
#define XSDT_REVISION	    1
#define XSDT_ENTRY_SIZE	    8

/* Fixed ACPI Description Table (section 5.2.9), revision 6 with minor version 3. */
#define FADT_DSDT	     40
#define FADT_SCI_INT	     46
#define FADT_PM1A_EVT_BLK    56
#define FADT_PM1A_CNT_BLK    64
#define FADT_PM1_EVT_LEN     88
#define FADT_PM1_CNT_LEN     89
#define FADT_P_LVL2_LAT	     96
#define FADT_P_LVL3_LAT	     98
#define FADT_IAPC_BOOT_ARCH  109
#define FADT_FLAGS	     112
#define FADT_RESET_REG	     116
#define FADT_RESET_VALUE     128
#define FADT_MINOR_VERSION   131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT	     140
#define FADT_X_PM1A_EVT_BLK  148
#define FADT_X_PM1A_CNT_BLK  172
#define FADT_HYPERVISOR_ID   268
#define FADT_SIZE	     276
#define FADT_REVISION	     6
#define FADT_MINOR	     3
#define FADT_PM1_EVT_BYTES   4 /* PM1_STS and PM1_EN, 16 bits each */
#define FADT_PM1_CNT_BYTES   2
#define FADT_P_LVL2_NONE     101  /* a C2 latency above 100 us: no C2 state */
#define FADT_P_LVL3_NONE     1001 /* a C3 latency above 1000 us: no C3 state */

/* FADT Fixed Feature Flags (section 5.2.9). */
#define FADT_F_WBINVD	     (1u << 0)
#define FADT_F_PROC_C1	     (1u << 2)
#define FADT_F_SLP_BUTTON    (1u << 5) /* no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP (1u << 10)

/*
 * IA-PC Boot Architecture Flags (section 5.2.9.3). Left clear: LEGACY_DEVICES (no
 * user-visible ISA devices to enumerate), 8042 (only its reset command is emulated, so
 * Linux must not probe for a keyboard controller), MSI Not Supported, and CMOS RTC Not
 * Present (there is a CMOS RTC at port 0x70).
 */
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure (section 5.2.3.2). */
#define GAS_SPACE_IO	1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2

/* Firmware ACPI Control Structure (section 5.2.10). */
#define FACS_LENGTH	   4
#define FACS_VERSION	   32
#define FACS_SIZE	   64
#define FACS_ALIGN	   64
#define FACS_VERSION_ACPI4 2

/* Multiple APIC Description Table (section 5.2.12), revision 5 for ACPI 6.3. */
#define MADT_REVISION	    5
#define MADT_LAPIC_ADDR	    36
#define MADT_FLAGS	    40
#define MADT_HEADER_SIZE    44
#define MADT_PCAT_COMPAT    (1u << 0) /* dual 8259 PICs are present too */
#define MADT_LAPIC	    0
#define MADT_LAPIC_SIZE	    8
#define MADT_LAPIC_ENABLED  (1u << 0)
#define MADT_IOAPIC	    1
#define MADT_IOAPIC_SIZE    12
#define MADT_ISO	    2
#define MADT_ISO_SIZE	    10
#define MADT_LAPIC_NMI	    4
#define MADT_LAPIC_NMI_SIZE 6
#define MADT_ALL_PROCESSORS 0xff
#define MADT_ISA_BUS	    0
#define MADT_LINT1	    1
/* MPS INTI flags: polarity in bits 1-0 (01 active high), trigger in bits 3-2 (11 level). */
#define MPS_INTI_ACTIVE_HIGH 0x1
#define MPS_INTI_LEVEL	     0xc
#define MPS_INTI_CONFORMS    0x0

/* DSDT revision 2 makes AML integers 64 bits wide (section 5.2.11.1). */
#define DSDT_REVISION 2

#define ACPI_ISA_IRQS	 16
#define ACPI_TABLE_ALIGN 8

struct acpi_builder {
	const struct acpi_machine *m;
	uint8_t *buf;
	size_t size;
	size_t used;
	uint64_t guest_addr;
	uint64_t facs; /* guest addresses the FADT points to */
	uint64_t dsdt;
};

/* The byte that makes the len bytes at p sum to zero, given its place holds zero. */
static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

/*
 * Reserves len zeroed bytes at the next guest address that is a multiple of align.
 * Returns them and stores their guest address in gpa, or NULL if buf is too small.
 */
static uint8_t *acpi_reserve(struct acpi_builder *b, size_t len, size_t align, uint64_t *gpa)
{
	uint64_t addr = b->guest_addr + b->used;
	size_t start = b->used + (size_t)((align - addr % align) % align);

	if (start > b->size || len > b->size - start)
		return NULL;
	memset(b->buf + b->used, 0, start + len - b->used);
	b->used = start + len;
	*gpa = b->guest_addr + start;
	return b->buf + start;
}

/* Reserves a table of len bytes and fills in its System Description Table Header. */
static uint8_t *acpi_table_begin(struct acpi_builder *b, const char sig[4], size_t len,
				 uint8_t revision, uint64_t *gpa)
{
	uint8_t *t = acpi_reserve(b, len, ACPI_TABLE_ALIGN, gpa);

	if (!t)
		return NULL;
	memcpy(t, sig, 4);
	le_put(t + ACPI_HDR_LENGTH, 4, (uint32_t)len);
	t[ACPI_HDR_REVISION] = revision;
	memcpy(t + ACPI_HDR_OEM_ID, ACPI_OEM_ID, 6);
	memcpy(t + ACPI_HDR_OEM_TABLE_ID, ACPI_OEM_TABLE_ID, 8);
	le_put(t + ACPI_HDR_OEM_REVISION, 4, ACPI_OEM_REVISION);
	memcpy(t + ACPI_HDR_CREATOR_ID, ACPI_CREATOR_ID, 4);
	le_put(t + ACPI_HDR_CREATOR_REVISION, 4, ACPI_CREATOR_REVISION);
	return t;
}

/* Sets the checksum once every other byte of the table is final. */
static void acpi_table_end(uint8_t *t, size_t len)
{
	t[ACPI_HDR_CHECKSUM] = acpi_checksum(t, len);
}

static void acpi_put_gas(uint8_t *p, uint8_t bit_width, uint8_t access_size, uint64_t port)
{
	p[0] = GAS_SPACE_IO;
	p[1] = bit_width;
	p[2] = 0; /* bit offset */
	p[3] = access_size;
	le_put(p + 4, 8, port);
}

static uint64_t acpi_build_facs(struct acpi_builder *b)
{
	uint64_t gpa;
	uint8_t *t = acpi_reserve(b, FACS_SIZE, FACS_ALIGN, &gpa);

	if (!t)
		return 0;
	/* No checksum: the FACS is read-write memory OSPM shares (global lock). */
	memcpy(t, "FACS", 4);
	le_put(t + FACS_LENGTH, 4, FACS_SIZE);
	t[FACS_VERSION] = FACS_VERSION_ACPI4;
	return gpa;
}

/* \_S5: SLP_TYPa, SLP_TYPb and two reserved values (section 7.4.2). */
static void acpi_dsdt_sleep_states(struct aml *a, const struct acpi_machine *m)
{
	aml_name(a, "\\_S5");
	aml_package_begin(a);
	aml_int(a, m->s5_slp_typ);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_end(a);
}

#define PCI_SLOTS	32
#define PCI0_IO_FROM	0xd00 /* legacy ports below, 0xcf8-0xcff (config) excluded */
#define MCFG_RESERVED	8
#define MCFG_ENTRY_SIZE 16

/* The windows a root complex forwards, each only when it is not empty. */
static void pci_crs_windows(struct aml *a, const struct acpi_pci_root *r, bool pci0)
{
	if (pci0) {
		aml_res_io(a, 0xcf8, 0xcf8, 1, 8);
		aml_res_dword_io(a, 0, 0xcf7);
		aml_res_dword_io(a, PCI0_IO_FROM, r->io_end - 1);
	} else if (r->io_end > r->io_base) {
		aml_res_dword_io(a, r->io_base, r->io_end - 1);
	}
	if (r->mem32_end > r->mem32_base)
		aml_res_dword_memory(a, r->mem32_base, r->mem32_end - 1, AML_MEM_NONCACHEABLE);
	if (r->mem64_end > r->mem64_base)
		aml_res_qword_memory(a, r->mem64_base, r->mem64_end - 1, AML_MEM_PREFETCHABLE);
}

static void pci_crs(struct aml *a, const struct acpi_pci_root *r, bool pci0)
{
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_res_word_bus_number(a, r->bus_first, r->bus_last);
	pci_crs_windows(a, r, pci0);
	aml_end(a);
}

/* _PRT: every root-bus slot's four pins straight to IOAPIC GSIs (no link devices). */
static void pci_prt(struct aml *a, const struct acpi_machine *m)
{
	aml_name(a, "_PRT");
	aml_package_begin(a);
	for (unsigned int slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			aml_package_begin(a);
			aml_int(a, (uint64_t)slot << 16 | 0xffff); /* device, any function */
			aml_int(a, pin);
			aml_int(a, 0); /* source 0: the next field is a GSI */
			aml_int(a, pci_root_intx_gsi(m->pci_intx_gsi_base, slot, pin));
			aml_end(a);
		}
	}
	aml_end(a);
}

/*
 * _OSC (PCI Firmware 3.3 §4.5.1): the OS asks for control of PCIe features in the third
 * dword of Arg3 and gets what the platform grants back in it. conduit grants native
 * PCIe hot-plug (bit 0) and the PCIe capability structure (bit 4, without which Linux
 * takes no native service); SHPC, PME, AER, LTR and DPC stay unclaimed, as conduit
 * implements none of them. An unknown UUID or revision is flagged in the first dword.
 */
#define OSC_PCI_HOST_BRIDGE_UUID  "33DB4D5B-1FF7-401C-9657-7441C03DD766"
#define OSC_GRANTED		  0x11
#define OSC_UNRECOGNIZED_UUID	  0x04
#define OSC_UNRECOGNIZED_REVISION 0x08
#define OSC_CAPABILITIES_MASKED	  0x10

/* Or (CDW1, bits, CDW1) */
static void osc_flag(struct aml *a, uint64_t bits)
{
	aml_or(a);
	aml_path(a, "CDW1");
	aml_int(a, bits);
	aml_path(a, "CDW1");
}

/* If (LNot (LEqual (x, y))): the caller writes x and y, the body and the aml_end(). */
static void osc_if_not_equal(struct aml *a)
{
	aml_if_begin(a);
	aml_lnot(a);
	aml_lequal(a);
}

static void pci_osc_granted(struct aml *a)
{
	aml_create_dword_field(a);
	aml_arg(a, 3);
	aml_int(a, 8);
	aml_path(a, "CDW3");
	osc_if_not_equal(a); /* revision 1 is the one this layout is */
	aml_arg(a, 1);
	aml_int(a, 1);
	osc_flag(a, OSC_UNRECOGNIZED_REVISION);
	aml_end(a);
	aml_and(a); /* Local0 = what is asked and granted */
	aml_path(a, "CDW3");
	aml_int(a, OSC_GRANTED);
	aml_local(a, 0);
	osc_if_not_equal(a);
	aml_local(a, 0);
	aml_path(a, "CDW3");
	osc_flag(a, OSC_CAPABILITIES_MASKED);
	aml_end(a);
	aml_store(a);
	aml_local(a, 0);
	aml_path(a, "CDW3");
}

static void pci_osc(struct aml *a)
{
	aml_method_begin(a, "_OSC", 4, false);
	aml_create_dword_field(a);
	aml_arg(a, 3);
	aml_int(a, 0);
	aml_path(a, "CDW1");
	aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_uuid(a, OSC_PCI_HOST_BRIDGE_UUID);
	pci_osc_granted(a);
	aml_end(a);
	aml_else_begin(a);
	osc_flag(a, OSC_UNRECOGNIZED_UUID);
	aml_end(a);
	aml_return(a);
	aml_arg(a, 3);
	aml_end(a);
}

/* A PCI Express root complex (PNP0A08, compatible with PNP0A03): PCI0, PC01, ... */
static void acpi_dsdt_pci_root(struct aml *a, const struct acpi_machine *m, unsigned int i)
{
	const struct acpi_pci_root *r = &m->pci[i];
	char name[5] = "PCI0";

	if (i)
		snprintf(name, sizeof(name), "PC%02u", i % 100);
	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_int(a, aml_eisaid("PNP0A08"));
	aml_name(a, "_CID");
	aml_int(a, aml_eisaid("PNP0A03"));
	aml_name(a, "_SEG");
	aml_int(a, 0);
	aml_name(a, "_BBN");
	aml_int(a, r->bus_first);
	aml_name(a, "_UID");
	aml_int(a, i);
	if (r->node >= 0) { /* _PXM: the node of the devices below (ACPI 6.3 §6.2.14) */
		aml_name(a, "_PXM");
		aml_int(a, (uint64_t)r->node);
	}
	pci_crs(a, r, i == 0);
	pci_prt(a, m);
	pci_osc(a);
	aml_end(a);
}

/* \_SB's root complexes, and a motherboard resource device (PNP0C02) that reserves the
 * ECAM window. */
static void acpi_dsdt_pci(struct aml *a, const struct acpi_machine *m)
{
	aml_scope_begin(a, "\\_SB");
	for (unsigned int i = 0; i < m->nr_pci; i++)
		acpi_dsdt_pci_root(a, m, i);
	aml_device_begin(a, "MRES");
	aml_name(a, "_HID");
	aml_int(a, aml_eisaid("PNP0C02"));
	aml_name(a, "_UID");
	aml_int(a, 1);
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_res_qword_memory(a, m->ecam_addr, m->ecam_addr + ((uint64_t)m->ecam_buses << 20) - 1,
			     AML_MEM_NONCACHEABLE);
	aml_end(a);
	aml_end(a);
	aml_end(a);
}

typedef void (*acpi_dsdt_fn)(struct aml *a, const struct acpi_machine *m);

/* What the DSDT defines, in order. */
static const acpi_dsdt_fn acpi_dsdt_parts[] = {
	acpi_dsdt_sleep_states,
	acpi_dsdt_pci,
};

static uint64_t acpi_build_dsdt(struct acpi_builder *b)
{
	struct aml a;
	uint64_t gpa = 0;
	uint8_t *t = NULL;

	aml_init(&a);
	for (size_t i = 0; i < sizeof(acpi_dsdt_parts) / sizeof(acpi_dsdt_parts[0]); i++)
		acpi_dsdt_parts[i](&a, b->m);
	if (aml_ok(&a))
		t = acpi_table_begin(b, "DSDT", ACPI_HDR_SIZE + a.len, DSDT_REVISION, &gpa);
	if (t) {
		memcpy(t + ACPI_HDR_SIZE, a.data, a.len);
		acpi_table_end(t, ACPI_HDR_SIZE + a.len);
	}
	aml_free(&a);
	return t ? gpa : 0;
}

static uint64_t acpi_build_fadt(struct acpi_builder *b)
{
	const struct acpi_machine *m = b->m;
	uint64_t gpa;
	uint8_t *t = acpi_table_begin(b, "FACP", FADT_SIZE, FADT_REVISION, &gpa);

	if (!t)
		return 0;
	/*
	 * FIRMWARE_CTRL must be zero when X_FIRMWARE_CTRL is set (section 5.2.9), whereas
	 * DSDT, a 0-4 GiB address, may repeat X_DSDT.
	 */
	le_put(t + FADT_X_FIRMWARE_CTRL, 8, b->facs);
	le_put(t + FADT_X_DSDT, 8, b->dsdt);
	if (b->dsdt <= UINT32_MAX)
		le_put(t + FADT_DSDT, 4, (uint32_t)b->dsdt);
	le_put(t + FADT_SCI_INT, 2, m->sci_irq);
	/*
	 * SMI_CMD, ACPI_ENABLE and ACPI_DISABLE stay 0: there is no SMM, the hardware is
	 * always in ACPI mode, so PM1_CNT.SCI_EN reads 1.
	 */
	le_put(t + FADT_PM1A_EVT_BLK, 4, m->pm1a_evt_port);
	le_put(t + FADT_PM1A_CNT_BLK, 4, m->pm1a_cnt_port);
	t[FADT_PM1_EVT_LEN] = FADT_PM1_EVT_BYTES;
	t[FADT_PM1_CNT_LEN] = FADT_PM1_CNT_BYTES;
	le_put(t + FADT_P_LVL2_LAT, 2, FADT_P_LVL2_NONE);
	le_put(t + FADT_P_LVL3_LAT, 2, FADT_P_LVL3_NONE);
	le_put(t + FADT_IAPC_BOOT_ARCH, 2, FADT_BOOT_VGA_NOT_PRESENT);
	le_put(t + FADT_FLAGS, 4,
	       FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP);
	acpi_put_gas(t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, m->reset_port);
	t[FADT_RESET_VALUE] = m->reset_value;
	t[FADT_MINOR_VERSION] = FADT_MINOR;
	/*
	 * The X_ blocks repeat the legacy ones: ACPICA warns when their bit width is not
	 * 8 times the legacy length. The PM1 registers are 16 bits wide.
	 */
	acpi_put_gas(t + FADT_X_PM1A_EVT_BLK, FADT_PM1_EVT_BYTES * 8, GAS_ACCESS_WORD,
		     m->pm1a_evt_port);
	acpi_put_gas(t + FADT_X_PM1A_CNT_BLK, FADT_PM1_CNT_BYTES * 8, GAS_ACCESS_WORD,
		     m->pm1a_cnt_port);
	memcpy(t + FADT_HYPERVISOR_ID, ACPI_OEM_TABLE_ID, 8);
	acpi_table_end(t, FADT_SIZE);
	return gpa;
}

static uint8_t *madt_put_lapic(uint8_t *p, uint8_t uid, uint8_t apic_id)
{
	p[0] = MADT_LAPIC;
	p[1] = MADT_LAPIC_SIZE;
	p[2] = uid;
	p[3] = apic_id;
	le_put(p + 4, 4, MADT_LAPIC_ENABLED);
	return p + MADT_LAPIC_SIZE;
}

static uint8_t *madt_put_ioapic(uint8_t *p, uint8_t id, uint32_t addr, uint32_t gsi_base)
{
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_SIZE;
	p[2] = id;
	le_put(p + 4, 4, addr);
	le_put(p + 8, 4, gsi_base);
	return p + MADT_IOAPIC_SIZE;
}

static uint8_t *madt_put_iso(uint8_t *p, uint8_t isa_irq, uint32_t gsi, uint16_t flags)
{
	p[0] = MADT_ISO;
	p[1] = MADT_ISO_SIZE;
	p[2] = MADT_ISA_BUS;
	p[3] = isa_irq;
	le_put(p + 4, 4, gsi);
	le_put(p + 8, 2, flags);
	return p + MADT_ISO_SIZE;
}

static uint8_t *madt_put_lapic_nmi(uint8_t *p, uint8_t uid, uint16_t flags, uint8_t lint)
{
	p[0] = MADT_LAPIC_NMI;
	p[1] = MADT_LAPIC_NMI_SIZE;
	p[2] = uid;
	le_put(p + 3, 2, flags);
	p[5] = lint;
	return p + MADT_LAPIC_NMI_SIZE;
}

static uint64_t acpi_build_madt(struct acpi_builder *b)
{
	const struct acpi_machine *m = b->m;
	size_t len = MADT_HEADER_SIZE + m->nr_cpus * MADT_LAPIC_SIZE + MADT_IOAPIC_SIZE +
		     MADT_ISO_SIZE + MADT_LAPIC_NMI_SIZE;
	uint64_t gpa;
	uint8_t *t = acpi_table_begin(b, "APIC", len, MADT_REVISION, &gpa);
	uint8_t *p;

	if (!t)
		return 0;
	le_put(t + MADT_LAPIC_ADDR, 4, m->lapic_addr);
	le_put(t + MADT_FLAGS, 4, MADT_PCAT_COMPAT);
	/* The boot processor comes first (section 5.2.12.1): vCPU 0 is the BSP. */
	p = t + MADT_HEADER_SIZE;
	for (unsigned int cpu = 0; cpu < m->nr_cpus; cpu++)
		p = madt_put_lapic(p, (uint8_t)cpu, (uint8_t)cpu);
	p = madt_put_ioapic(p, ACPI_IOAPIC_ID, m->ioapic_addr, 0);
	/* ISA IRQs map 1:1 onto GSIs; only the SCI's trigger and polarity differ. */
	p = madt_put_iso(p, m->sci_irq, m->sci_irq, MPS_INTI_LEVEL | MPS_INTI_ACTIVE_HIGH);
	madt_put_lapic_nmi(p, MADT_ALL_PROCESSORS, MPS_INTI_CONFORMS, MADT_LINT1);
	acpi_table_end(t, len);
	return gpa;
}

/* MCFG (PCI Firmware spec §4.1.2): segment 0's ECAM, one entry per root complex with
 * its bus range; the base address is that of bus 0 in every entry. */
static uint64_t acpi_build_mcfg(struct acpi_builder *b)
{
	const struct acpi_machine *m = b->m;
	size_t len = ACPI_HDR_SIZE + MCFG_RESERVED + m->nr_pci * MCFG_ENTRY_SIZE;
	uint64_t gpa;
	uint8_t *t = acpi_table_begin(b, "MCFG", len, 1, &gpa), *e;

	if (!t)
		return 0;
	e = t + ACPI_HDR_SIZE + MCFG_RESERVED;
	for (unsigned int i = 0; i < m->nr_pci; i++, e += MCFG_ENTRY_SIZE) {
		le_put(e, 8, m->ecam_addr);
		le_put(e + 8, 2, 0);
		e[10] = m->pci[i].bus_first;
		e[11] = m->pci[i].bus_last;
	}
	acpi_table_end(t, len);
	return gpa;
}

/* System Resource Affinity Table (ACPI 6.3 section 5.2.16), revision 3. */
#define SRAT_REVISION	 3
#define SRAT_HEADER_SIZE 48 /* header, a reserved 1 (4 bytes), 8 reserved bytes */
#define SRAT_LAPIC	 0
#define SRAT_LAPIC_SIZE	 16
#define SRAT_MEMORY	 1
#define SRAT_MEMORY_SIZE 40
#define SRAT_ENABLED	 (1u << 0)
#define SLIT_REVISION	 1
#define SLIT_LOCALITIES	 36 /* 8 bytes, then the matrix, row by row */
#define SLIT_HEADER_SIZE 44

/* Processor Local APIC/SAPIC Affinity (5.2.16.1): the domain split in bits 7:0 and 31:8. */
static uint8_t *srat_put_lapic(uint8_t *p, uint8_t apic_id, uint32_t node)
{
	p[0] = SRAT_LAPIC;
	p[1] = SRAT_LAPIC_SIZE;
	p[2] = (uint8_t)node;
	p[3] = apic_id;
	le_put(p + 4, 4, SRAT_ENABLED);
	le_put(p + 9, 3, node >> 8);
	return p + SRAT_LAPIC_SIZE;
}

/* Memory Affinity (5.2.16.2): neither hot-pluggable nor non-volatile. */
static uint8_t *srat_put_memory(uint8_t *p, const struct acpi_mem_range *r)
{
	p[0] = SRAT_MEMORY;
	p[1] = SRAT_MEMORY_SIZE;
	le_put(p + 2, 4, r->node);
	le_put(p + 8, 8, r->base);
	le_put(p + 16, 8, r->size);
	le_put(p + 28, 4, SRAT_ENABLED);
	return p + SRAT_MEMORY_SIZE;
}

static uint64_t acpi_build_srat(struct acpi_builder *b)
{
	const struct acpi_machine *m = b->m;
	size_t len = SRAT_HEADER_SIZE + m->nr_cpus * SRAT_LAPIC_SIZE + m->nr_mem * SRAT_MEMORY_SIZE;
	uint64_t gpa;
	uint8_t *t = acpi_table_begin(b, "SRAT", len, SRAT_REVISION, &gpa), *p;

	if (!t)
		return 0;
	le_put(t + ACPI_HDR_SIZE, 4, 1); /* "reserved, must be 1" for compatibility */
	p = t + SRAT_HEADER_SIZE;
	for (unsigned int cpu = 0; cpu < m->nr_cpus; cpu++)
		p = srat_put_lapic(p, (uint8_t)cpu, m->cpu_node[cpu]);
	for (unsigned int i = 0; i < m->nr_mem; i++)
		p = srat_put_memory(p, &m->mem[i]);
	acpi_table_end(t, len);
	return gpa;
}

/* System Locality Information Table (5.2.17): localities are the proximity domains. */
static uint64_t acpi_build_slit(struct acpi_builder *b)
{
	const struct acpi_machine *m = b->m;
	size_t len = SLIT_HEADER_SIZE + m->nr_nodes * m->nr_nodes;
	uint64_t gpa;
	uint8_t *t = acpi_table_begin(b, "SLIT", len, SLIT_REVISION, &gpa);

	if (!t)
		return 0;
	le_put(t + SLIT_LOCALITIES, 8, m->nr_nodes);
	for (unsigned int i = 0; i < m->nr_nodes; i++)
		memcpy(t + SLIT_HEADER_SIZE + i * m->nr_nodes, m->distance[i], m->nr_nodes);
	acpi_table_end(t, len);
	return gpa;
}

static bool acpi_has_numa(const struct acpi_machine *m)
{
	return m->nr_nodes > 0;
}

/* Tables the XSDT may list, in order; each builder returns its guest address, or 0 if
 * out of room; a table whose wanted() says no is left out. */
static const struct {
	uint64_t (*build)(struct acpi_builder *b);
	bool (*wanted)(const struct acpi_machine *m);
} acpi_xsdt_tables[] = {
	{acpi_build_fadt, NULL},	  {acpi_build_madt, NULL},	    {acpi_build_mcfg, NULL},
	{acpi_build_srat, acpi_has_numa}, {acpi_build_slit, acpi_has_numa},
};

#define ACPI_NR_XSDT_TABLES (sizeof(acpi_xsdt_tables) / sizeof(acpi_xsdt_tables[0]))

static size_t acpi_nr_tables(const struct acpi_machine *m)
{
	size_t n = 0;

	for (size_t i = 0; i < ACPI_NR_XSDT_TABLES; i++)
		n += !acpi_xsdt_tables[i].wanted || acpi_xsdt_tables[i].wanted(m);
	return n;
}

static void acpi_put_rsdp(uint8_t *rsdp, uint64_t xsdt)
{
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + RSDP_OEM_ID, ACPI_OEM_ID, 6);
	rsdp[RSDP_REVISION] = RSDP_REVISION_ACPI2;
	/* RsdtAddress stays 0: with revision 2 and an XSDT, OSPM uses the XSDT. */
	le_put(rsdp + RSDP_LENGTH, 4, RSDP_SIZE);
	le_put(rsdp + RSDP_XSDT_ADDRESS, 8, xsdt);
	rsdp[RSDP_CHECKSUM] = acpi_checksum(rsdp, RSDP_V1_SIZE);
	rsdp[RSDP_EXT_CHECKSUM] = acpi_checksum(rsdp, RSDP_SIZE);
}

/* Root complexes in bus order inside the ECAM; PCI0 decodes I/O from 0xd00. (A root
 * complex with nothing behind it may have no memory windows, PCI0 included.) */
static bool acpi_pci_ok(const struct acpi_machine *m)
{
	const struct acpi_pci_root *r = m->pci;

	if (m->nr_pci < 1 || m->nr_pci > ACPI_MAX_PCI_ROOTS || r->bus_first != 0 ||
	    r->io_end <= PCI0_IO_FROM || r->io_end > 0x10000)
		return false;
	for (unsigned int i = 0; i < m->nr_pci; i++) {
		if (m->pci[i].bus_last < m->pci[i].bus_first ||
		    m->pci[i].bus_last >= m->ecam_buses || m->pci[i].node >= (int)m->nr_nodes ||
		    (i && m->pci[i].bus_first <= m->pci[i - 1].bus_last))
			return false;
	}
	return true;
}

static bool acpi_numa_ok(const struct acpi_machine *m)
{
	if (m->nr_nodes > ACPI_MAX_NODES || m->nr_mem > ACPI_MAX_MEM_RANGES ||
	    (m->nr_nodes && !m->nr_mem))
		return false;
	for (unsigned int cpu = 0; m->nr_nodes && cpu < m->nr_cpus; cpu++)
		if (m->cpu_node[cpu] >= m->nr_nodes)
			return false;
	for (unsigned int i = 0; i < m->nr_mem; i++)
		if (m->mem[i].node >= m->nr_nodes || !m->mem[i].size)
			return false;
	/* SLIT: 10 is a node's distance to itself; others are above it, 255 unreachable */
	for (unsigned int i = 0; i < m->nr_nodes; i++)
		for (unsigned int j = 0; j < m->nr_nodes; j++)
			if (i == j ? m->distance[i][j] != 10 : m->distance[i][j] <= 10)
				return false;
	return true;
}

static bool acpi_machine_ok(const struct acpi_machine *m)
{
	return m->nr_cpus >= 1 && m->nr_cpus <= ACPI_MAX_CPUS && m->sci_irq < ACPI_ISA_IRQS &&
	       m->ecam_buses >= 1 && m->ecam_buses <= 256 && acpi_pci_ok(m) && acpi_numa_ok(m);
}

/* Builds each wanted table and lists it in the XSDT; false when one does not fit. */
static bool acpi_build_tables(struct acpi_builder *b, uint8_t *xsdt)
{
	size_t n = 0;

	for (size_t i = 0; i < ACPI_NR_XSDT_TABLES; i++) {
		uint64_t table;

		if (acpi_xsdt_tables[i].wanted && !acpi_xsdt_tables[i].wanted(b->m))
			continue;
		table = acpi_xsdt_tables[i].build(b);
		if (!table)
			return false;
		le_put(xsdt + ACPI_HDR_SIZE + n++ * XSDT_ENTRY_SIZE, 8, table);
	}
	return true;
}

size_t acpi_build(const struct acpi_machine *m, uint8_t *buf, size_t size, uint64_t guest_addr)
{
	struct acpi_builder b = {.m = m, .buf = buf, .size = size, .guest_addr = guest_addr};
	size_t xsdt_len;
	uint64_t rsdp_gpa, xsdt_gpa;
	uint8_t *rsdp, *xsdt;

	if (guest_addr % 16 || !acpi_machine_ok(m))
		return 0;
	xsdt_len = ACPI_HDR_SIZE + acpi_nr_tables(m) * XSDT_ENTRY_SIZE;
	rsdp = acpi_reserve(&b, RSDP_SIZE, 16, &rsdp_gpa);
	xsdt = acpi_table_begin(&b, "XSDT", xsdt_len, XSDT_REVISION, &xsdt_gpa);
	if (!rsdp || !xsdt)
		return 0;
	b.facs = acpi_build_facs(&b);
	b.dsdt = acpi_build_dsdt(&b);
	if (!b.facs || !b.dsdt || !acpi_build_tables(&b, xsdt))
		return 0;
	acpi_table_end(xsdt, xsdt_len);
	acpi_put_rsdp(rsdp, xsdt_gpa);
	return b.used;
}
