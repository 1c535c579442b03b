/*
 * ACPI tables: follows RSDP -> XSDT -> FADT -> DSDT/FACS and XSDT -> MADT/MCFG (and
 * SRAT/SLIT with NUMA nodes) the way OSPM does, translating guest addresses back into the buffer,
 * and checks every length, checksum and field against the offsets of the ACPI 6.3 spec and the PCI
 * Firmware spec (written out here, not shared with the code under test). The DSDT's AML is walked
 * just far enough to find \_SB.PCI0 (and more root complexes) and \_SB.MRES and to read their _PRT
 * and names. With acpica-tools installed, iasl disassembles every table (the DSDT's _CRS ranges are
 * read back from its output) and recompiles the DSDT, and acpiexec loads them the way Linux's
 * ACPICA does and evaluates \_S5, _PRT and _CRS.
 */
#include "tests/unit/check.h"
#include "vmm/x86/acpi.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define GUEST_ADDR 0xe0000
#define BUF_SIZE   0x20000

static const struct acpi_machine machine = {
	.nr_cpus = 4,
	.ioapic_addr = 0xfec00000,
	.lapic_addr = 0xfee00000,
	.pm1a_evt_port = 0x600,
	.pm1a_cnt_port = 0x604,
	.sci_irq = 9,
	.reset_port = 0xcf9,
	.reset_value = 0x06,
	.s5_slp_typ = 5,
	.ecam_addr = 0xe0000000,
	.ecam_buses = 256,
	.pci = {{.bus_first = 0,
		 .bus_last = 255,
		 .node = -1,
		 .io_base = 0xc000,
		 .io_end = 0x10000,
		 .mem32_base = 0xc0000000,
		 .mem32_end = 0xe0000000,
		 .mem64_base = 0x1000000000ULL,
		 .mem64_end = 0x2000000000ULL}},
	.nr_pci = 1,
	.pci_intx_gsi_base = 16,
};

struct tables {
	const uint8_t *buf;
	size_t used;
	uint64_t guest_addr;
	const uint8_t *rsdp, *xsdt, *fadt, *facs, *dsdt, *madt, *mcfg, *srat, *slit;
	uint64_t facs_addr;
};

/* A run of AML bytes: a table's definition block, or the body of an object in it. */
struct span {
	const uint8_t *p;
	const uint8_t *end;
};

/* EISA ids as ASL's EisaId() compresses them (ACPI 6.3 section 19.6.35). */
#define EISA_PNP0A08 0x080ad041u /* PCI Express root complex */
#define EISA_PNP0A03 0x030ad041u /* PCI host bridge */
#define EISA_PNP0C02 0x020cd041u /* motherboard resources */

#define XSDT_ENTRIES  5 /* at most */
#define PCI_SLOTS     32
#define PCI_INTX_GSIS 8

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool sums_to_zero(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return sum == 0;
}

/* The table of at least min_len bytes at guest address addr, or NULL if outside buf. */
static const uint8_t *at(const struct tables *t, uint64_t addr, size_t min_len)
{
	if (addr < t->guest_addr || addr - t->guest_addr > t->used ||
	    t->used - (addr - t->guest_addr) < min_len)
		return NULL;
	return t->buf + (addr - t->guest_addr);
}

/* A table with a System Description Table Header: signature, length in bounds, sum. */
static const uint8_t *table_at(const struct tables *t, uint64_t addr, const char *sig)
{
	const uint8_t *p = at(t, addr, 36);

	CHECK(p);
	if (!p)
		return NULL;
	CHECK(!memcmp(p, sig, 4));
	CHECK(at(t, addr, le32(p + 4)));
	if (memcmp(p, sig, 4) || !at(t, addr, le32(p + 4)))
		return NULL;
	CHECK(sums_to_zero(p, le32(p + 4)));
	CHECK(!memcmp(p + 10, "CNDUIT", 6));
	CHECK(!memcmp(p + 16, "CONDUIT ", 8));
	return p;
}

static void check_rsdp(struct tables *t)
{
	const uint8_t *r = t->buf;

	t->rsdp = r;
	CHECK(!memcmp(r, "RSD PTR ", 8));
	CHECK(sums_to_zero(r, 20));
	CHECK(r[15] == 2);
	CHECK(le32(r + 20) == 36);
	CHECK(sums_to_zero(r, 36));
	CHECK(!memcmp(r + 9, "CNDUIT", 6));
	CHECK(t->guest_addr % 16 == 0);
	t->xsdt = table_at(t, le64(r + 24), "XSDT");
}

/*
 * The XSDT lists the FADT, MADT and MCFG, in that order; the DSDT and FACS are only
 * reached via the FADT.
 */
/* FADT, MADT, MCFG, then SRAT and SLIT only with NUMA nodes. */
static void check_xsdt(struct tables *t, const struct acpi_machine *m)
{
	static const char *const sigs[XSDT_ENTRIES] = {"FACP", "APIC", "MCFG", "SRAT", "SLIT"};
	const uint8_t **tables[XSDT_ENTRIES] = {&t->fadt, &t->madt, &t->mcfg, &t->srat, &t->slit};
	size_t n = m->nr_nodes ? 5 : 3;
	const uint8_t *x = t->xsdt;

	if (!x)
		return;
	CHECK(x[8] == 1);
	CHECK(le32(x + 4) == 36 + n * 8);
	if (le32(x + 4) != 36 + n * 8)
		return;
	for (size_t i = 0; i < n; i++)
		*tables[i] = table_at(t, le64(x + 36 + i * 8), sigs[i]);
	CHECK(t->fadt && t->madt && t->mcfg);
	CHECK(!m->nr_nodes || (t->srat && t->slit));
}

static void check_gas_io(const uint8_t *g, uint8_t bits, uint8_t access, uint64_t port)
{
	CHECK(g[0] == 1); /* System I/O */
	CHECK(g[1] == bits);
	CHECK(g[2] == 0);
	CHECK(g[3] == access);
	CHECK(le64(g + 4) == port);
}

static void check_fadt(struct tables *t, const struct acpi_machine *m)
{
	const uint8_t *f = t->fadt;

	if (!f)
		return;
	CHECK(le32(f + 4) == 276);
	CHECK(f[8] == 6);
	CHECK(f[131] == 3); /* FADT minor version: ACPI 6.3 */
	/* FIRMWARE_CTRL must be 0 when X_FIRMWARE_CTRL is used. */
	CHECK(le32(f + 36) == 0);
	t->facs_addr = le64(f + 132);
	t->facs = at(t, t->facs_addr, 64);
	CHECK(t->facs);
	CHECK(le32(f + 40) == le64(f + 140));
	t->dsdt = table_at(t, le64(f + 140), "DSDT");
	CHECK(f[45] == 0); /* Preferred_PM_Profile: unspecified */
	CHECK(le16(f + 46) == m->sci_irq);
	CHECK(le32(f + 48) == 0);	 /* SMI_CMD: always in ACPI mode */
	CHECK(f[52] == 0 && f[53] == 0); /* ACPI_ENABLE, ACPI_DISABLE */
	CHECK(le32(f + 56) == m->pm1a_evt_port);
	CHECK(le32(f + 60) == 0); /* PM1b_EVT_BLK */
	CHECK(le32(f + 64) == m->pm1a_cnt_port);
	CHECK(le32(f + 68) == 0);		       /* PM1b_CNT_BLK */
	CHECK(le32(f + 76) == 0);		       /* PM_TMR_BLK */
	CHECK(le32(f + 80) == 0 && le32(f + 84) == 0); /* GPE blocks */
	CHECK(f[88] == 4);			       /* PM1_EVT_LEN */
	CHECK(f[89] == 2);			       /* PM1_CNT_LEN */
	CHECK(f[91] == 0);			       /* PM_TMR_LEN */
	CHECK(le16(f + 96) > 100);		       /* P_LVL2_LAT: no C2 */
	CHECK(le16(f + 98) > 1000);		       /* P_LVL3_LAT: no C3 */
	CHECK(f[108] == 0);			       /* CENTURY */
	/* IAPC_BOOT_ARCH: only VGA Not Present (bit 2); no 8042 (bit 1 clear), MSI works
	 * (bit 3 clear), CMOS RTC present (bit 5 clear). */
	CHECK(le16(f + 109) == 1 << 2);
	/* WBINVD, PROC_C1, SLP_BUTTON, RESET_REG_SUP; not PWR_BUTTON (the fixed power
	 * button is there), not HW_REDUCED_ACPI. */
	CHECK(le32(f + 112) == (1u << 0 | 1u << 2 | 1u << 5 | 1u << 10));
	check_gas_io(f + 116, 8, 1, m->reset_port);
	CHECK(f[128] == m->reset_value);
	check_gas_io(f + 148, 32, 2, m->pm1a_evt_port);
	check_gas_io(f + 172, 16, 2, m->pm1a_cnt_port);
	for (int off = 160; off < 268; off++) { /* PM1b .. SLEEP_STATUS_REG, except PM1a_CNT */
		if (off < 172 || off >= 184)
			CHECK(f[off] == 0);
	}
}

static void check_facs(const struct tables *t)
{
	const uint8_t *f = t->facs;

	if (!f)
		return;
	CHECK(t->facs_addr % 64 == 0);
	CHECK(!memcmp(f, "FACS", 4));
	CHECK(le32(f + 4) == 64);
	CHECK(f[32] == 2);
	for (int off = 8; off < 64; off++) /* no waking vector, global lock free */
		if (off != 32)
			CHECK(f[off] == 0);
}

static void check_madt(const struct tables *t, const struct acpi_machine *m)
{
	const uint8_t *a = t->madt;
	uint32_t len, off, cpus = 0, ioapics = 0, isos = 0, nmis = 0, others = 0;

	if (!a)
		return;
	len = le32(a + 4);
	CHECK(a[8] == 5);
	CHECK(len == 44 + m->nr_cpus * 8 + 12 + 10 + 6);
	CHECK(le32(a + 36) == m->lapic_addr);
	CHECK(le32(a + 40) == 1); /* PCAT_COMPAT */
	for (off = 44; off + 2 <= len && a[off + 1] >= 2 && off + a[off + 1] <= len;
	     off += a[off + 1]) {
		const uint8_t *e = a + off;

		switch (e[0]) {
		case 0: /* Processor Local APIC, in CPU order, BSP first */
			CHECK(e[1] == 8);
			CHECK(e[2] == cpus && e[3] == cpus);
			CHECK(le32(e + 4) == 1);
			cpus++;
			break;
		case 1: /* I/O APIC */
			CHECK(e[1] == 12);
			CHECK(e[2] == ACPI_IOAPIC_ID);
			CHECK(le32(e + 4) == m->ioapic_addr);
			CHECK(le32(e + 8) == 0);
			ioapics++;
			break;
		case 2: /* Interrupt Source Override: ISA SCI, level, active high */
			CHECK(e[1] == 10);
			CHECK(e[2] == 0 && e[3] == m->sci_irq);
			CHECK(le32(e + 4) == m->sci_irq);
			CHECK(le16(e + 8) == 0xd);
			isos++;
			break;
		case 4: /* Local APIC NMI: LINT1 of every processor */
			CHECK(e[1] == 6);
			CHECK(e[2] == 0xff);
			CHECK(le16(e + 3) == 0);
			CHECK(e[5] == 1);
			nmis++;
			break;
		default:
			others++;
		}
	}
	CHECK(off == len);
	CHECK(cpus == m->nr_cpus);
	CHECK(ioapics == 1 && isos == 1 && nmis == 1 && others == 0);
}

/*
 * MCFG (PCI Firmware Specification 3.2, section 4.1.2): 8 reserved bytes, then one
 * allocation: ECAM base, PCI segment group, start and end bus, 4 reserved bytes.
 */
static void check_mcfg(const struct tables *t, const struct acpi_machine *m)
{
	const uint8_t *c = t->mcfg;

	if (!c)
		return;
	CHECK(le32(c + 4) == 36 + 8 + 16 * m->nr_pci);
	CHECK(c[8] == 1);
	if (le32(c + 4) != 36 + 8 + 16 * m->nr_pci)
		return;
	CHECK(le64(c + 36) == 0);
	/* an allocation per root complex: bus 0's address, segment 0, its buses */
	for (unsigned int i = 0; i < m->nr_pci; i++) {
		const uint8_t *e = c + 44 + 16 * i;

		CHECK(le64(e) == m->ecam_addr);
		CHECK(le16(e + 8) == 0);
		CHECK(e[10] == m->pci[i].bus_first);
		CHECK(e[11] == m->pci[i].bus_last);
		CHECK(le32(e + 12) == 0);
	}
}

/*
 * SRAT (ACPI 6.3 §5.2.16): revision 3, "reserved 1" at 36, 8 reserved bytes, then a
 * Processor Local APIC Affinity (type 0, 16 bytes: domain 7:0 at 2, APIC ID at 3, flags
 * at 4 with Enabled in bit 0, domain 31:8 at 9, clock domain at 12) per CPU, then a Memory
 * Affinity (type 1, 40 bytes: domain at 2, base at 8, length at 16, flags at 28) per range.
 */
static void check_srat(const struct tables *t, const struct acpi_machine *m)
{
	const uint8_t *s = t->srat, *p;

	if (!s)
		return;
	CHECK(s[8] == 3);
	CHECK(le32(s + 4) == 48 + 16 * m->nr_cpus + 40 * m->nr_mem);
	if (le32(s + 4) != 48 + 16 * m->nr_cpus + 40 * m->nr_mem)
		return;
	CHECK(le32(s + 36) == 1 && le64(s + 40) == 0);
	p = s + 48;
	for (unsigned int c = 0; c < m->nr_cpus; c++, p += 16) {
		CHECK(p[0] == 0 && p[1] == 16);
		CHECK((p[2] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
		       (uint32_t)p[11] << 24) == m->cpu_node[c]);
		CHECK(p[3] == c && le32(p + 4) == 1 && p[8] == 0 && le32(p + 12) == 0);
	}
	for (unsigned int i = 0; i < m->nr_mem; i++, p += 40) {
		CHECK(p[0] == 1 && p[1] == 40);
		CHECK(le32(p + 2) == m->mem[i].node && le16(p + 6) == 0);
		CHECK(le64(p + 8) == m->mem[i].base && le64(p + 16) == m->mem[i].size);
		CHECK(le32(p + 24) == 0 && le32(p + 28) == 1 && le64(p + 32) == 0);
	}
}

/* SLIT (§5.2.17): revision 1, the number of localities (8 bytes) at 36, the matrix. */
static void check_slit(const struct tables *t, const struct acpi_machine *m)
{
	const uint8_t *s = t->slit;
	unsigned int n = m->nr_nodes;

	if (!s)
		return;
	CHECK(s[8] == 1);
	CHECK(le32(s + 4) == 44 + n * n);
	CHECK(le64(s + 36) == n);
	for (unsigned int i = 0; i < n && le32(s + 4) == 44 + n * n; i++)
		for (unsigned int j = 0; j < n; j++)
			CHECK(s[44 + i * n + j] == m->distance[i][j]);
}

/* The DSDT's definition block: the AML after the header. */
static struct span dsdt_aml(const struct tables *t)
{
	return (struct span){t->dsdt + 36, t->dsdt + le32(t->dsdt + 4)};
}

/* Name (\_S5, Package (4) { SLP_TYP, 0, 0, 0 }) with SLP_TYP as the smallest integer. */
static void check_s5(const struct tables *t, const struct acpi_machine *m)
{
	const uint8_t *d = t->dsdt;
	uint8_t s5[15] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x07, 0x04};
	size_t n = 9, len;
	bool found = false;

	CHECK(d[8] == 2); /* 64-bit integers */
	if (m->s5_slp_typ > 1)
		s5[n++] = 0x0a;
	else
		s5[7] = 0x06;
	s5[n++] = m->s5_slp_typ;
	n += 3; /* three Zero */
	len = le32(d + 4);
	for (size_t i = 36; i + n <= len; i++)
		found |= !memcmp(d + i, s5, n);
	CHECK(found);
}

/* The first occurrence of the n bytes at what in s, or NULL. */
static const uint8_t *find_bytes(struct span s, const void *what, size_t n)
{
	if (!s.p)
		return NULL;
	for (const uint8_t *p = s.p; (size_t)(s.end - p) >= n; p++)
		if (!memcmp(p, what, n))
			return p;
	return NULL;
}

/*
 * Reads the PkgLength at *p (ACPI 6.3 section 20.2.4): a lead byte whose bits 7-6 count
 * the bytes that follow it, with bits 3-0 then the low nibble. Returns the end of the
 * package it measures (which counts from *p) and moves *p past it, or NULL if that end
 * is past end.
 */
static const uint8_t *pkg_end(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *q = *p;
	size_t follow, len;

	if (q >= end)
		return NULL;
	follow = q[0] >> 6;
	if ((size_t)(end - q) <= follow)
		return NULL;
	len = follow ? q[0] & 0x0f : q[0] & 0x3f;
	for (size_t i = 0; i < follow; i++)
		len |= (size_t)q[1 + i] << (4 + 8 * i);
	if (len > (size_t)(end - q) || len < 1 + follow)
		return NULL;
	*p = q + 1 + follow;
	return q + len;
}

/*
 * The body (after the name) of the object whose opcode (op_len bytes) is followed by a
 * PkgLength and the NameString name (name_len bytes) in s, e.g. Scope (\_SB) or Device
 * (PCI0). An empty span if there is none.
 */
static struct span find_object(struct span s, const char *op, size_t op_len, const char *name,
			       size_t name_len)
{
	const uint8_t *p;

	for (; (p = find_bytes(s, op, op_len)); s.p = p + 1) {
		const uint8_t *body = p + op_len, *end = pkg_end(&body, s.end);

		if (end && (size_t)(end - body) >= name_len && !memcmp(body, name, name_len))
			return (struct span){body + name_len, end};
	}
	return (struct span){NULL, NULL};
}

static struct span find_device(struct span s, const char *name)
{
	return find_object(s, "\x5b\x82", 2, name, 4);
}

/* Name (seg, value) with the value as the smallest AML integer: Zero, One or a prefix. */
static bool has_name_int(struct span s, const char *seg, uint32_t value)
{
	uint8_t b[10] = {0x08};
	size_t n = 5, bytes = value <= 0xff ? 1 : value <= 0xffff ? 2 : 4;

	memcpy(b + 1, seg, 4);
	if (value > 1)
		b[n++] = bytes == 1 ? 0x0a : bytes == 2 ? 0x0b : 0x0c;
	for (size_t i = 0; i < bytes; i++)
		b[n++] = (uint8_t)(value >> (8 * i));
	return find_bytes(s, b, n) != NULL;
}

/* An AML integer (ACPI 6.3 section 20.2.3) at *p, which it moves past; false if none. */
static bool aml_int_at(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint8_t op;
	size_t n;

	if (*p >= end)
		return false;
	op = *(*p)++;
	if (op <= 0x01 || op == 0xff) { /* Zero, One, Ones */
		*v = op == 0xff ? UINT64_MAX : op;
		return true;
	}
	n = op == 0x0a ? 1 : op == 0x0b ? 2 : op == 0x0c ? 4 : op == 0x0e ? 8 : 0;
	if (!n || (size_t)(end - *p) < n)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v |= (uint64_t)(*p)[i] << (8 * i);
	*p += n;
	return true;
}

/* One _PRT entry, Package (4) { Address, Pin, Source, Source Index }, equal to want. */
static bool prt_entry(const uint8_t **p, const uint8_t *end, const uint64_t want[4])
{
	const uint8_t *q = *p, *pkg;
	uint64_t v;

	if (q >= end || *q++ != 0x12)
		return false;
	pkg = pkg_end(&q, end);
	if (!pkg || q >= pkg || *q++ != 4)
		return false;
	for (int i = 0; i < 4; i++)
		if (!aml_int_at(&q, pkg, &v) || v != want[i])
			return false;
	*p = pkg;
	return q == pkg;
}

/*
 * Name (_PRT, Package (128) {...}): pin p (INTA = 0) of every root-bus slot s, any
 * function, straight to GSI pci_intx_gsi_base + (s + p) % 8 (Source 0: no link device).
 */
static void check_prt(struct span pci0, const struct acpi_machine *m)
{
	const uint8_t *p = find_bytes(pci0, "\x08_PRT\x12", 6), *end;

	CHECK(p);
	if (!p)
		return;
	p += 6;
	end = pkg_end(&p, pci0.end);
	CHECK(end && p < end && *p == PCI_SLOTS * 4);
	if (!end || p >= end)
		return;
	p++;
	for (unsigned int i = 0; i < PCI_SLOTS * 4; i++) {
		uint64_t slot = i / 4, pin = i % 4;
		uint64_t want[4] = {slot << 16 | 0xffff, pin, 0,
				    m->pci_intx_gsi_base + (slot + pin) % PCI_INTX_GSIS};

		if (!prt_entry(&p, end, want)) {
			fprintf(stderr, "_PRT entry %u (slot %u, pin %u) is not as expected\n", i,
				i / 4, i % 4);
			CHECK(!"_PRT entry");
			return;
		}
	}
	CHECK(p == end);
}

static void root_name(unsigned int i, char name[5])
{
	snprintf(name, 5, i ? "PC%02u" : "PCI0", i % 100);
}

/* Root complex i: PCI0, PC01, ..., with _BBN its first bus, _UID i, _PXM its node. */
static void check_dsdt_root(struct span sb, const struct acpi_machine *m, unsigned int i)
{
	char name[5];
	struct span d;

	root_name(i, name);
	d = find_device(sb, name);
	CHECK(d.p);
	if (!d.p)
		return;
	CHECK(has_name_int(d, "_HID", EISA_PNP0A08));
	CHECK(has_name_int(d, "_CID", EISA_PNP0A03));
	CHECK(has_name_int(d, "_SEG", 0));
	CHECK(has_name_int(d, "_BBN", m->pci[i].bus_first));
	CHECK(has_name_int(d, "_UID", i));
	if (m->pci[i].node >= 0)
		CHECK(has_name_int(d, "_PXM", (uint32_t)m->pci[i].node));
	else
		CHECK(!find_bytes(d, "\x08_PXM", 5));
	CHECK(find_bytes(d, "\x08_CRS\x11", 6));
	check_prt(d, m);
}

/*
 * Scope (\_SB) holds Device (PCI0), the PCI Express root complex of segment 0 from bus
 * 0, the other root complexes, and Device (MRES), the motherboard resources that
 * reserve ECAM. Their _CRS are read back from iasl's disassembly (check_dsl_crs()).
 */
static void check_dsdt_pci(const struct tables *t, const struct acpi_machine *m)
{
	struct span sb = find_object(dsdt_aml(t), "\x10", 1, "\\_SB_", 5);
	struct span pci0 = find_device(sb, "PCI0"), mres = find_device(sb, "MRES");

	CHECK(sb.p && pci0.p && mres.p);
	for (unsigned int i = 0; sb.p && i < m->nr_pci; i++)
		check_dsdt_root(sb, m, i);
	CHECK(!find_device(sb, "PC08").p);
	if (m->nr_pci < 8) {
		char name[5];

		root_name(m->nr_pci, name);
		CHECK(!find_device(sb, name).p);
	}
	CHECK(has_name_int(mres, "_HID", EISA_PNP0C02));
	CHECK(find_bytes(mres, "\x08_CRS\x11", 6));
	/* Neither device inside the other. */
	CHECK(!pci0.p || !find_device(pci0, "MRES").p);
	CHECK(!mres.p || !find_device(mres, "PCI0").p);
}

static void check_dsdt(const struct tables *t, const struct acpi_machine *m)
{
	if (!t->dsdt)
		return;
	check_s5(t, m);
	check_dsdt_pci(t, m);
}

/* Marks the bytes of one table, which must not overlap another's. */
static void mark(bool *in_table, const struct tables *t, const uint8_t *p, size_t len)
{
	bool overlap = false;

	for (size_t i = (size_t)(p - t->buf); i < (size_t)(p - t->buf) + len; i++) {
		overlap |= in_table[i];
		in_table[i] = true;
	}
	CHECK(!overlap);
}

/* The tables fill the buffer up to used, apart, and the bytes between them are zero. */
static void check_padding(const struct tables *t)
{
	bool *in_table = calloc(t->used, sizeof(bool));
	const uint8_t *p[] = {t->xsdt, t->fadt, t->madt, t->mcfg, t->dsdt, t->srat, t->slit};
	bool ends = false;

	CHECK(in_table);
	if (!in_table)
		return;
	if (!t->facs) {
		free(in_table);
		return;
	}
	mark(in_table, t, t->rsdp, 36);
	mark(in_table, t, t->facs, 64);
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		if (!p[i])
			continue;
		mark(in_table, t, p[i], le32(p[i] + 4));
		ends |= p[i] + le32(p[i] + 4) == t->buf + t->used;
	}
	CHECK(ends);
	for (size_t i = 0; i < t->used; i++)
		if (!in_table[i])
			CHECK(t->buf[i] == 0);
	free(in_table);
}

static size_t build(struct tables *t, uint8_t *buf, size_t size, uint64_t guest_addr,
		    const struct acpi_machine *m)
{
	memset(t, 0, sizeof(*t));
	memset(buf, 0xa5, size); /* padding must come out zeroed, not left as it was */
	t->buf = buf;
	t->guest_addr = guest_addr;
	t->used = acpi_build(m, buf, size, guest_addr);
	return t->used;
}

static void check_all(uint64_t guest_addr, const struct acpi_machine *m)
{
	uint8_t *buf = malloc(BUF_SIZE);
	struct tables t;

	CHECK(buf);
	if (!buf)
		return;
	CHECK(build(&t, buf, BUF_SIZE, guest_addr, m) > 0);
	if (t.used) {
		check_rsdp(&t);
		check_xsdt(&t, m);
		check_fadt(&t, m);
		check_facs(&t);
		check_madt(&t, m);
		check_mcfg(&t, m);
		check_srat(&t, m);
		check_slit(&t, m);
		check_dsdt(&t, m);
		check_padding(&t);
	}
	free(buf);
}

/* Every size short of what the tables need fails, without writing past size. */
static void test_too_small(void)
{
	uint8_t *big = malloc(BUF_SIZE);
	struct tables t;
	size_t need;

	CHECK(big);
	if (!big)
		return;
	need = build(&t, big, BUF_SIZE, GUEST_ADDR, &machine);
	CHECK(need > 0);
	CHECK(build(&t, big, need, GUEST_ADDR, &machine) == need);
	for (size_t size = 0; size < need; size++) {
		uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan catches overruns */

		CHECK(buf);
		if (buf)
			CHECK(build(&t, buf, size, GUEST_ADDR, &machine) == 0);
		free(buf);
	}
	free(big);
}

static bool builds(const struct acpi_machine *m)
{
	static uint8_t buf[BUF_SIZE];

	return acpi_build(m, buf, sizeof(buf), GUEST_ADDR) > 0;
}

static void test_bad_input(void)
{
	static uint8_t buf[BUF_SIZE];
	struct acpi_machine m = machine;

	CHECK(acpi_build(&m, buf, sizeof(buf), GUEST_ADDR + 8) == 0);
	m.nr_cpus = 0;
	CHECK(!builds(&m));
	m.nr_cpus = ACPI_MAX_CPUS + 1;
	CHECK(!builds(&m));
	m.nr_cpus = 1;
	m.sci_irq = 16;
	CHECK(!builds(&m));
}

/* ECAM covers 1 to 256 buses; PCI0 starts at bus 0 and decodes I/O from 0xd00; root
 * complexes follow each other inside the ECAM. */
static void test_bad_pci(void)
{
	struct acpi_machine m = machine;

	m.ecam_buses = 0;
	CHECK(!builds(&m));
	m.ecam_buses = 257;
	CHECK(!builds(&m));
	m = machine;
	m.pci[0].mem32_end = m.pci[0].mem32_base - 1;
	m.pci[0].mem64_end = m.pci[0].mem64_base;
	CHECK(builds(&m)); /* empty windows are left out */
	m = machine;
	m.pci[0].io_end = 0xd00;
	CHECK(!builds(&m));
	m = machine;
	m.pci[0].bus_first = 1;
	CHECK(!builds(&m));
	m = machine;
	m.pci[0].bus_last = 255;
	m.ecam_buses = 255;
	CHECK(!builds(&m));
	m = machine;
	m.nr_pci = 0;
	CHECK(!builds(&m));
	m.nr_pci = ACPI_MAX_PCI_ROOTS + 1;
	CHECK(!builds(&m));
	m = machine;
	m.pci[0].node = 0; /* a _PXM needs an SRAT domain */
	CHECK(!builds(&m));
	m = machine;
	m.nr_pci = 2;
	m.pci[0].bus_last = 8;
	m.pci[1] = (struct acpi_pci_root){.bus_first = 8, .bus_last = 9, .node = -1};
	CHECK(!builds(&m)); /* overlapping bus ranges */
	m.pci[1].bus_first = 9;
	CHECK(builds(&m)); /* no windows at all: only buses */
	m.pci[1].bus_last = 7;
	CHECK(!builds(&m));
}

/* machine with another PCI layout: 64 buses of ECAM below the 32-bit window, and so on. */
static struct acpi_machine pci_variant(void)
{
	struct acpi_machine m = machine;

	m.ecam_addr = 0xb0000000;
	m.ecam_buses = 64;
	m.pci[0].bus_last = 63;
	m.pci[0].mem32_base = 0x80000000;
	m.pci[0].mem32_end = 0xb0000000;
	m.pci[0].mem64_base = 0x8000000000ULL;
	m.pci[0].mem64_end = 0x10000000000ULL;
	return m;
}

/*
 * Two guest nodes (CPUs 0,2 and 1,3; RAM below the hole split between them, node 1's
 * also above 4 GiB) and three root complexes: PCI0 with no node and no memory windows
 * (nothing behind it), PC01 on node 1 with a window of each kind, PC02 on node 0 with
 * memory only.
 */
static struct acpi_machine numa_variant(void)
{
	struct acpi_machine m = machine;

	m.ecam_buses = 16;
	m.nr_pci = 3;
	m.pci[0] = (struct acpi_pci_root){
		0, 3, -1, 0xc000, 0xd000, 0xc0000000, 0xc0000000, 0x1000000000ULL, 0x1000000000ULL};
	m.pci[1] = (struct acpi_pci_root){
		4, 6, 1, 0xd000, 0xe000, 0xc0000000, 0xc0300000, 0x1000000000ULL, 0x1000200000ULL};
	m.pci[2] = (struct acpi_pci_root){
		7, 15, 0, 0xe000, 0xe000, 0xc0300000, 0xe0000000, 0x1000200000ULL, 0x2000000000ULL};
	m.nr_nodes = 2;
	m.cpu_node[1] = m.cpu_node[3] = 1;
	m.nr_mem = 3;
	m.mem[0] = (struct acpi_mem_range){0, 0x40000000, 0};
	m.mem[1] = (struct acpi_mem_range){0x40000000, 0x80000000, 1};
	m.mem[2] = (struct acpi_mem_range){0x100000000ULL, 0x40000000, 1};
	m.distance[0][0] = m.distance[1][1] = 10;
	m.distance[0][1] = 21;
	m.distance[1][0] = 21;
	return m;
}

/* Nodes, CPUs and ranges out of bounds, or a SLIT Linux would throw away. */
static void test_bad_numa(void)
{
	struct acpi_machine m = numa_variant();

	CHECK(builds(&m));
	m.cpu_node[3] = 2;
	CHECK(!builds(&m));
	m = numa_variant();
	m.mem[2].node = 2;
	CHECK(!builds(&m));
	m = numa_variant();
	m.mem[1].size = 0;
	CHECK(!builds(&m));
	m = numa_variant();
	m.nr_mem = 0;
	CHECK(!builds(&m));
	m = numa_variant();
	m.nr_mem = ACPI_MAX_MEM_RANGES + 1;
	CHECK(!builds(&m));
	m = numa_variant();
	m.nr_nodes = ACPI_MAX_NODES + 1;
	CHECK(!builds(&m));
	m = numa_variant();
	m.distance[1][0] = 10;
	CHECK(!builds(&m));
	m = numa_variant();
	m.distance[1][1] = 11;
	CHECK(!builds(&m));
	m = numa_variant();
	m.pci[1].node = 2;
	CHECK(!builds(&m));
}

/*
 * One bus of ECAM above 4 GiB, one-byte windows, and INTx GSIs whose AML integers take
 * other encodings: Zero and One, then Byte, or Byte then Word past 255.
 */
static void test_pci_variants(void)
{
	static const uint8_t gsi_bases[] = {0, 250};
	struct acpi_machine m = machine;

	m.ecam_addr = 0x8000000000ULL;
	m.ecam_buses = 1;
	m.pci[0].bus_last = 0;
	m.pci[0].mem32_base = 0xfe000000;
	m.pci[0].mem32_end = 0xfe000001;
	m.pci[0].mem64_base = 0x4000000000ULL;
	m.pci[0].mem64_end = 0x4000000001ULL;
	for (size_t i = 0; i < sizeof(gsi_bases); i++) {
		m.pci_intx_gsi_base = gsi_bases[i];
		check_all(GUEST_ADDR, &m);
	}
	m = pci_variant();
	check_all(GUEST_ADDR, &m);
	m = numa_variant();
	check_all(GUEST_ADDR, &m);
	/* eight root complexes, the most a DSDT gets */
	m.nr_pci = ACPI_MAX_PCI_ROOTS;
	m.pci[2].bus_last = 7;
	for (unsigned int i = 3; i < ACPI_MAX_PCI_ROOTS; i++)
		m.pci[i] = (struct acpi_pci_root){.bus_first = (uint8_t)(i + 5),
						  .bus_last = (uint8_t)(i + 5),
						  .node = (int)i % 2};
	m.pci[ACPI_MAX_PCI_ROOTS - 1].bus_last = 15;
	check_all(GUEST_ADDR, &m);
}

static bool run(const char *dir, const char *cmd)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "cd '%s' && %s", dir, cmd);
	return system(buf) == 0;
}

static bool file_has(const char *dir, const char *name, const char *what)
{
	char path[512], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

/* Disassembles one table; iasl reports what it finds wrong but still exits 0. */
static void check_iasl_table(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[512], cmd[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	CHECK(f && fwrite(p, 1, len, f) == len);
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "iasl -d %s.dat >%s.log 2>&1", name, name);
	CHECK(run(dir, cmd));
	snprintf(path, sizeof(path), "%s.log", name);
	CHECK(!file_has(dir, path, "Error"));
	CHECK(!file_has(dir, path, "Warning"));
	snprintf(path, sizeof(path), "%s.dsl", name);
	CHECK(file_has(dir, path, "Signature"));
	CHECK(!file_has(dir, path, "****")); /* iasl's mark for a bad value */
}

/* The MCFG's allocation as iasl decodes it. */
static void check_dsl_mcfg(const char *dir, const struct acpi_machine *m)
{
	char want[64];

	snprintf(want, sizeof(want), "Base Address : %016" PRIX64, m->ecam_addr);
	CHECK(file_has(dir, "mcfg.dsl", want));
	CHECK(file_has(dir, "mcfg.dsl", "Segment Group Number : 0000"));
	for (unsigned int i = 0; i < m->nr_pci; i++) {
		snprintf(want, sizeof(want), "Start Bus Number : %02X", m->pci[i].bus_first);
		CHECK(file_has(dir, "mcfg.dsl", want));
		snprintf(want, sizeof(want), "End Bus Number : %02X", m->pci[i].bus_last);
		CHECK(file_has(dir, "mcfg.dsl", want));
	}
}

/* The SRAT's and SLIT's entries as iasl decodes them. */
static void check_dsl_numa(const char *dir, const struct acpi_machine *m)
{
	char want[128];

	CHECK(file_has(dir, "srat.dsl", "[Processor Local APIC/SAPIC Affinity]"));
	CHECK(file_has(dir, "srat.dsl", "[Memory Affinity]"));
	for (unsigned int i = 0; i < m->nr_mem; i++) {
		snprintf(want, sizeof(want), "Base Address : %016" PRIX64, m->mem[i].base);
		CHECK(file_has(dir, "srat.dsl", want));
		snprintf(want, sizeof(want), "Address Length : %016" PRIX64, m->mem[i].size);
		CHECK(file_has(dir, "srat.dsl", want));
	}
	snprintf(want, sizeof(want), "Localities : %016X", m->nr_nodes);
	CHECK(file_has(dir, "slit.dsl", want));
	snprintf(want, sizeof(want), "Locality   1 : %02X %02X", m->distance[1][0],
		 m->distance[1][1]);
	CHECK(m->nr_nodes < 2 || file_has(dir, "slit.dsl", want));
}

/*
 * A resource descriptor as iasl disassembles it: a line naming it (desc, and attr on the
 * same line) inside Device (device), then one value per line, each as 0x and digits hex
 * digits (len_digits for the length) followed by a comment naming the field.
 */
struct dsl_range {
	const char *device, *desc, *attr;
	int digits, len_digits;
	uint64_t min, max, len;
};

/* Whether line holds the value as iasl prints it, then the comment // label. */
static bool dsl_value(const char *line, int digits, uint64_t value, const char *label)
{
	char want[64];

	snprintf(want, sizeof(want), "0x%0*" PRIX64 ",", digits, value);
	return strstr(line, want) && strstr(line, label);
}

/* The values follow the descriptor's first line within 5 lines (fewer for an IO). */
static bool dsl_has_range(FILE *f, const struct dsl_range *r)
{
	char line[4096], device[32];
	bool in_device = false;
	int after = 0, hits = 0;

	snprintf(device, sizeof(device), "Device (%s)", r->device);
	rewind(f);
	while (hits < 3 && fgets(line, sizeof(line), f)) {
		if (strstr(line, "Device ("))
			in_device = strstr(line, device) != NULL;
		if (in_device && strstr(line, r->desc) && strstr(line, r->attr)) {
			after = 5;
			hits = 0;
		} else if (after && after--) {
			hits += dsl_value(line, r->digits, r->min, "// Range Minimum");
			hits += dsl_value(line, r->digits, r->max, "// Range Maximum");
			hits += dsl_value(line, r->len_digits, r->len, "// Length");
		}
	}
	return hits == 3;
}

static bool dsl_find_range(const char *dir, const struct dsl_range *r)
{
	char path[512];
	bool found;
	FILE *f;

	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	found = dsl_has_range(f, r);
	fclose(f);
	if (!found)
		fprintf(stderr, "%s %s[%#" PRIx64 ", %#" PRIx64 "] not in dsdt.dsl\n", r->device,
			r->desc, r->min, r->max);
	return found;
}

/* A root complex's bus range and windows; PCI0's legacy I/O besides. */
static void check_dsl_root_crs(const char *dir, const struct acpi_machine *m, unsigned int i)
{
	const struct acpi_pci_root *r = &m->pci[i];
	char name[5];

	root_name(i, name);
	CHECK(dsl_find_range(dir, &(struct dsl_range){name, "WordBusNumber (", "ResourceProducer",
						      4, 4, r->bus_first, r->bus_last,
						      r->bus_last - r->bus_first + 1u}));
	if (i == 0) {
		CHECK(dsl_find_range(
			dir, &(struct dsl_range){name, "IO (", "Decode16", 4, 2, 0xcf8, 0xcf8, 8}));
		CHECK(dsl_find_range(dir, &(struct dsl_range){name, "DWordIO (", "EntireRange", 8,
							      8, 0, 0xcf7, 0xcf8}));
		CHECK(dsl_find_range(dir, &(struct dsl_range){name, "DWordIO (", "EntireRange", 8,
							      8, 0xd00, r->io_end - 1u,
							      r->io_end - 0xd00u}));
	} else if (r->io_end > r->io_base) {
		CHECK(dsl_find_range(dir, &(struct dsl_range){name, "DWordIO (", "EntireRange", 8,
							      8, r->io_base, r->io_end - 1u,
							      r->io_end - r->io_base}));
	}
	if (r->mem32_end > r->mem32_base)
		CHECK(dsl_find_range(dir,
				     &(struct dsl_range){name, "DWordMemory (", "NonCacheable", 8,
							 8, r->mem32_base, r->mem32_end - 1u,
							 r->mem32_end - r->mem32_base}));
	if (r->mem64_end > r->mem64_base)
		CHECK(dsl_find_range(dir,
				     &(struct dsl_range){name, "QWordMemory (", "Prefetchable", 16,
							 16, r->mem64_base, r->mem64_end - 1,
							 r->mem64_end - r->mem64_base}));
}

/* The root complexes' and MRES's _CRS in the disassembled DSDT. */
static void check_dsl_crs(const char *dir, const struct acpi_machine *m)
{
	uint64_t ecam_len = (uint64_t)m->ecam_buses << 20;

	for (unsigned int i = 0; i < m->nr_pci; i++)
		check_dsl_root_crs(dir, m, i);
	CHECK(dsl_find_range(dir, &(struct dsl_range){"MRES", "QWordMemory (", "NonCacheable", 16,
						      16, m->ecam_addr, m->ecam_addr + ecam_len - 1,
						      ecam_len}));
}

/* What acpiexec prints when a method or ACPICA's resource or _PRT conversion fails. */
static const char *const acpiexec_failures[] = {
	"Firmware Warning",
	"Firmware Error",
	"ACPI Warning",
	"ACPI Error",
	"failed with status",
	"Could not get handle",
	"GetIrqRoutingTable failed",
	"AcpiGetCurrentResources failed",
	"AcpiWalkResources failed",
	"AcpiWalkResourceBuffer failed",
	"AcpiRsCreateAmlResources failed",
};

/* _OSC's arguments as acpiexec takes them (a buffer in parentheses): the PCI host
 * bridge UUID as ToUUID lays it out, a wrong one, and the three dwords: Linux's
 * request for hot-plug, SHPC, PME, AER and the PCIe capability, and for what was
 * granted. */
#define OSC_UUID	"(5B 4D DB 33 F7 1F 1C 40 96 57 74 41 C0 3D D7 66)"
#define OSC_OTHER_UUID	"(5B 4D DB 33 F7 1F 1C 40 96 57 74 41 C0 3D D7 67)"
#define OSC_ASK_ALL	"(00 00 00 00 1F 00 00 00 1F 00 00 00)"
#define OSC_ASK_GRANTED "(00 00 00 00 1F 00 00 00 11 00 00 00)"

/*
 * acpiexec (same package as iasl) runs the tables through ACPICA's table manager, as
 * Linux does: its FADT checks report "Firmware Warning" or "Firmware Error" on, e.g., an
 * X_ block whose width disagrees with the legacy length. Then it evaluates \_S5, PCI0's
 * _PRT and _CRS and MRES's _CRS, and converts them as Linux's ACPI core does
 * (AcpiGetIrqRoutingTable, AcpiGetCurrentResources). ACPICA's round trip of a resource
 * template then reports a "Data mismatch" in the End Tag because ACPICA writes its
 * checksum as 0 (meaning "not checked") where the template carries a real one: fine.
 */
static void check_acpiexec(const char *dir, const struct acpi_machine *m)
{
	char cmd[2048], name[5];
	size_t n;

	n = (size_t)snprintf(cmd, sizeof(cmd),
			     "timeout 60 acpiexec -b 'evaluate \\_S5; evaluate \\_SB.PCI0._PRT; "
			     "evaluate \\_SB.PCI0._CRS; evaluate \\_SB.MRES._CRS; "
			     "resources \\_SB.PCI0; resources \\_SB.MRES; "
			     "evaluate \\_SB.PCI0._OSC " OSC_UUID " 1 3 " OSC_ASK_ALL "; "
			     "evaluate \\_SB.PCI0._OSC " OSC_UUID " 1 3 " OSC_ASK_GRANTED "; "
			     "evaluate \\_SB.PCI0._OSC " OSC_OTHER_UUID " 1 3 " OSC_ASK_ALL);
	for (unsigned int i = 1; i < m->nr_pci; i++) {
		root_name(i, name);
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n,
				      "; evaluate \\_SB.%s._CRS; evaluate \\_SB.%s._PXM; "
				      "resources \\_SB.%s",
				      name, name, name);
	}
	snprintf(cmd + n, sizeof(cmd) - n, "' dsdt.dat facp.dat apic.dat facs.dat mcfg.dat%s",
		 m->nr_nodes ? " srat.dat slit.dat >exec.log 2>&1" : " >exec.log 2>&1");
	CHECK(run(dir, cmd));
	CHECK(file_has(dir, "exec.log", "ACPI: FACP"));
	CHECK(file_has(dir, "exec.log", "ACPI: MCFG"));
	for (size_t i = 0; i < sizeof(acpiexec_failures) / sizeof(acpiexec_failures[0]); i++)
		CHECK(!file_has(dir, "exec.log", acpiexec_failures[i]));
	CHECK(file_has(dir, "exec.log", "[Package] Contains 4 Elements"));
	CHECK(file_has(dir, "exec.log", "[Integer] = 0000000000000005"));
	CHECK(file_has(dir, "exec.log", "[Package] Contains 128 Elements"));
	CHECK(file_has(dir, "exec.log", "Evaluation of \\_SB.PCI0._CRS returned"));
	CHECK(file_has(dir, "exec.log", "Evaluation of \\_SB.MRES._CRS returned"));
	/* All 128 _PRT entries, PCI0's descriptors (six with both memory windows) and
	 * MRES's one got converted. */
	CHECK(file_has(dir, "exec.log", "[7F] PCI IRQ Routing Table Package"));
	CHECK(m->nr_pci > 1 || file_has(dir, "exec.log", "[06] EndTag Resource"));
	CHECK(file_has(dir, "exec.log", "[01] EndTag Resource"));
	CHECK(!m->nr_nodes || file_has(dir, "exec.log", "ACPI: SRAT"));
	CHECK(!m->nr_nodes || file_has(dir, "exec.log", "ACPI: SLIT"));
	CHECK(m->nr_pci < 2 || file_has(dir, "exec.log", "Evaluation of \\_SB.PC01._CRS returned"));
	CHECK(m->nr_pci < 2 || file_has(dir, "exec.log", "Evaluation of \\_SB.PC01._PXM returned"));
	/* _OSC: asked for everything, hot-plug and the PCIe capability come back, with
	 * "capabilities masked"; asked for those two, they are granted as they are; an
	 * unknown UUID is flagged. */
	CHECK(file_has(dir, "exec.log", "10 00 00 00 1F 00 00 00 11 00 00 00"));
	CHECK(file_has(dir, "exec.log", "00 00 00 00 1F 00 00 00 11 00 00 00"));
	CHECK(file_has(dir, "exec.log", "04 00 00 00 1F 00 00 00 1F 00 00 00"));
}

/* Disassembles every table but the RSDP (iasl -d takes none: check_rsdp() covered it). */
static void check_iasl_tables(const char *dir, const struct tables *t, const struct acpi_machine *m)
{
	check_iasl_table(dir, "xsdt", t->xsdt, le32(t->xsdt + 4));
	check_iasl_table(dir, "facp", t->fadt, le32(t->fadt + 4));
	check_iasl_table(dir, "facs", t->facs, 64);
	check_iasl_table(dir, "apic", t->madt, le32(t->madt + 4));
	check_iasl_table(dir, "mcfg", t->mcfg, le32(t->mcfg + 4));
	check_dsl_mcfg(dir, m);
	if (t->srat && t->slit) {
		check_iasl_table(dir, "srat", t->srat, le32(t->srat + 4));
		check_iasl_table(dir, "slit", t->slit, le32(t->slit + 4));
		check_dsl_numa(dir, m);
	}
	check_iasl_table(dir, "dsdt", t->dsdt, le32(t->dsdt + 4));
	CHECK(file_has(dir, "dsdt.dsl", "_S5, Package (0x04)"));
	CHECK(file_has(dir, "dsdt.dsl", "Name (_HID, EisaId (\"PNP0A08\")"));
	CHECK(file_has(dir, "dsdt.dsl", "Name (_CID, EisaId (\"PNP0A03\")"));
	CHECK(file_has(dir, "dsdt.dsl", "Name (_HID, EisaId (\"PNP0C02\")"));
	check_dsl_crs(dir, m);
	/* The disassembled DSDT compiles back without complaint. */
	CHECK(run(dir, "iasl -p dsdt-re dsdt.dsl >dsdt-re.log 2>&1"));
	CHECK(file_has(dir, "dsdt-re.log", "Compilation successful. 0 Errors, 0 Warnings"));
}

static void test_iasl(const struct acpi_machine *m)
{
	static uint8_t buf[BUF_SIZE];
	char dir[] = "/tmp/conduit-acpi-XXXXXX";
	int failures = check_failures;
	struct tables t;

	CHECK(mkdtemp(dir));
	CHECK(build(&t, buf, sizeof(buf), GUEST_ADDR, m) > 0);
	check_rsdp(&t);
	check_xsdt(&t, m);
	check_fadt(&t, m);
	if (!t.xsdt || !t.fadt || !t.madt || !t.mcfg || !t.dsdt || !t.facs)
		return;
	check_iasl_tables(dir, &t, m);
	check_acpiexec(dir, m);
	if (check_failures != failures)
		fprintf(stderr, "acpica-tools output kept in %s\n", dir);
	else
		run(dir, "rm -f *.dat *.log *.dsl *.aml && rmdir \"$PWD\"");
}

/* test_acpi --acpica: the tables through acpica-tools (iasl, acpiexec), skipped where
 * they are not installed. */
static int test_acpica(void)
{
	struct acpi_machine m = pci_variant();

	if (system("command -v iasl >/dev/null 2>&1 && command -v acpiexec >/dev/null 2>&1")) {
		printf("iasl or acpiexec not found (Debian package acpica-tools)\n");
		return CHECK_SKIP;
	}
	test_iasl(&machine);
	test_iasl(&m);
	m = numa_variant();
	test_iasl(&m);
	return CHECK_DONE();
}

int main(int argc, char **argv)
{
	struct acpi_machine m = machine;

	if (argc > 1 && !strcmp(argv[1], "--acpica"))
		return test_acpica();
	check_all(GUEST_ADDR, &machine);
	/* FACS alignment is in guest addresses, whatever the buffer's offset. */
	check_all(0xe0010, &machine);
	check_all(0xfff00000, &machine);
	m.nr_cpus = 1;
	check_all(GUEST_ADDR, &m);
	m.nr_cpus = ACPI_MAX_CPUS;
	check_all(GUEST_ADDR, &m);
	m.s5_slp_typ = 7;
	check_all(GUEST_ADDR, &m);
	m.s5_slp_typ = 0;
	check_all(GUEST_ADDR, &m);
	m.s5_slp_typ = 1;
	check_all(GUEST_ADDR, &m);
	test_pci_variants();
	test_too_small();
	test_bad_input();
	test_bad_pci();
	test_bad_numa();
	return CHECK_DONE();
}
