/*
 * AML builder: PkgLength, integer, name and string encodings, nesting, resource
 * descriptors against bytes iasl produces for the same ASL, error handling, and a PCI
 * host bridge built with the API, disassembled and recompiled by iasl when it is there.
 */
#include "tests/unit/check.h"
#include "vmm/x86/aml.h"

#include <stdlib.h>
#include <string.h>

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* True if the builder holds exactly the n bytes at want. */
static bool aml_is(const struct aml *a, const uint8_t *want, size_t n)
{
	return aml_ok(a) && a->len == n && !memcmp(a->data, want, n);
}

/* Decodes a PkgLength independently of the builder; stores its size in *nbytes. */
static size_t pkglen_decode(const uint8_t *p, size_t *nbytes)
{
	size_t n = (size_t)(p[0] >> 6) + 1, v;

	*nbytes = n;
	if (n == 1)
		return p[0] & 0x3f;
	if (p[0] & 0x30)
		return 0; /* bits 5-4 of a multi-byte lead byte are reserved zero */
	v = p[0] & 0x0f;
	for (size_t i = 1; i < n; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

static void check_pkglen_bytes(size_t body, const uint8_t *want, size_t n)
{
	uint8_t out[4] = {0};

	CHECK(aml_pkglen_encode(out, body) == n);
	CHECK(!memcmp(out, want, n));
}

static void test_pkglen_boundaries(void)
{
	uint8_t out[4];

	/* The value counts the PkgLength itself: 62 + 1 = 63 is the largest 1-byte form. */
	check_pkglen_bytes(0, BYTES(0x01));
	check_pkglen_bytes(62, BYTES(0x3f));
	check_pkglen_bytes(63, BYTES(0x41, 0x04));		      /* 65 = 0x41 */
	check_pkglen_bytes(4093, BYTES(0x4f, 0xff));		      /* 4095 */
	check_pkglen_bytes(4094, BYTES(0x81, 0x00, 0x01));	      /* 4097 */
	check_pkglen_bytes(1048572, BYTES(0x8f, 0xff, 0xff));	      /* 2^20 - 1 */
	check_pkglen_bytes(1048573, BYTES(0xc1, 0x00, 0x00, 0x01));   /* 2^20 + 1 */
	check_pkglen_bytes(0xffffffb, BYTES(0xcf, 0xff, 0xff, 0xff)); /* 2^28 - 1 */
	CHECK(aml_pkglen_encode(out, 0xffffffc) == 0);
	CHECK(aml_pkglen_encode(out, SIZE_MAX) == 0);
}

/* Every length round-trips through the smallest encoding able to hold it. */
static void test_pkglen_roundtrip(void)
{
	static const size_t limit[] = {0x3f, 0xfff, 0xfffff, 0xfffffff};
	static const size_t around[] = {0,    62,   63,	     64,      4093,    4094,
					4095, 4096, 1048572, 1048573, 1048576, 0xffffffb};

	for (size_t k = 0; k < sizeof(around) / sizeof(around[0]) + 70000; k++) {
		size_t body = k < sizeof(around) / sizeof(around[0]) ? around[k] : k;
		uint8_t out[4];
		size_t n = aml_pkglen_encode(out, body), dec_n, want_n = 1;

		while (body + want_n > limit[want_n - 1])
			want_n++;
		CHECK(n == want_n);
		CHECK(pkglen_decode(out, &dec_n) == body + n);
		CHECK(dec_n == n);
	}
}

/* An object built with the builder carries the PkgLength of everything after its op. */
static void check_scope_len(size_t raw)
{
	struct aml a;
	uint8_t *filler = calloc(1, raw);
	size_t n, v;

	aml_init(&a);
	aml_scope_begin(&a, "\\");
	aml_bytes(&a, filler, raw);
	aml_end(&a);
	CHECK(aml_ok(&a));
	CHECK(a.data[0] == 0x10);
	v = pkglen_decode(a.data + 1, &n);
	CHECK(v == a.len - 1);
	CHECK(v == n + 2 + raw); /* PkgLength, '\', NullName, contents */
	CHECK(a.data[1 + n] == '\\' && a.data[2 + n] == 0x00);
	aml_free(&a);
	free(filler);
}

static void test_pkglen_in_objects(void)
{
	static const size_t raw[] = {0, 59, 60, 61, 4091, 4092, 4093, 1048570, 1048571, 1048572};

	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		check_scope_len(raw[i]);
}

static void check_int(uint64_t v, const uint8_t *want, size_t n)
{
	struct aml a;

	aml_init(&a);
	aml_int(&a, v);
	CHECK(aml_is(&a, want, n));
	aml_free(&a);
}

static void test_integers(void)
{
	check_int(0, BYTES(0x00));
	check_int(1, BYTES(0x01));
	check_int(2, BYTES(0x0a, 0x02));
	check_int(0xff, BYTES(0x0a, 0xff));
	check_int(0x100, BYTES(0x0b, 0x00, 0x01));
	check_int(0xffff, BYTES(0x0b, 0xff, 0xff));
	check_int(0x10000, BYTES(0x0c, 0x00, 0x00, 0x01, 0x00));
	check_int(0xffffffff, BYTES(0x0c, 0xff, 0xff, 0xff, 0xff));
	check_int(0x100000000, BYTES(0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00));
	check_int(0x0123456789abcdef, BYTES(0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01));
	check_int(0xfffffffffffffffe, BYTES(0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
	check_int(UINT64_MAX, BYTES(0xff));
}

static void check_path(const char *path, const uint8_t *want, size_t n)
{
	struct aml a;

	aml_init(&a);
	aml_path(&a, path);
	CHECK(aml_is(&a, want, n));
	aml_free(&a);
}

static void check_bad_path(const char *path)
{
	struct aml a;

	aml_init(&a);
	aml_path(&a, path);
	CHECK(!aml_ok(&a));
	aml_free(&a);
}

static void test_names(void)
{
	check_path("_S5_", BYTES('_', 'S', '5', '_'));
	check_path("_S5", BYTES('_', 'S', '5', '_'));
	check_path("A", BYTES('A', '_', '_', '_'));
	check_path("\\_S5", BYTES('\\', '_', 'S', '5', '_'));
	check_path("\\", BYTES('\\', 0x00));
	check_path("^", BYTES('^', 0x00));
	check_path("^^PCI0", BYTES('^', '^', 'P', 'C', 'I', '0'));
	check_path("\\_SB.PCI0", BYTES('\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'));
	check_path("_SB.PCI0.ISA",
		   BYTES(0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'I', 'S', 'A', '_'));
	check_path("\\_SB.PCI0.S08.S10", BYTES('\\', 0x2f, 4, '_', 'S', 'B', '_', 'P', 'C', 'I',
					       '0', 'S', '0', '8', '_', 'S', '1', '0', '_'));
	check_bad_path("");
	check_bad_path("pci0");
	check_bad_path("0PCI");
	check_bad_path("PCI00");
	check_bad_path("\\_SB.");
	check_bad_path("\\_SB..PCI0");
	check_bad_path(".PCI0");
	check_bad_path("\\^PCI0");
	check_bad_path("PC-0");
}

static void test_strings(void)
{
	struct aml a;

	aml_init(&a);
	aml_string(&a, "PCI");
	CHECK(aml_is(&a, BYTES(0x0d, 'P', 'C', 'I', 0x00)));
	aml_free(&a);

	aml_init(&a);
	aml_string(&a, "");
	CHECK(aml_is(&a, BYTES(0x0d, 0x00)));
	aml_free(&a);

	aml_init(&a);
	aml_string(&a, "caf\xc3\xa9");
	CHECK(!aml_ok(&a));
	aml_free(&a);
}

static void test_eisaid(void)
{
	CHECK(aml_eisaid("PNP0A03") == 0x030AD041);
	CHECK(aml_eisaid("PNP0A08") == 0x080AD041);
	CHECK(aml_eisaid("PNP0c0c") == 0x0C0CD041);
	CHECK(aml_eisaid("ACPI0A0") == 0);
	CHECK(aml_eisaid("pnp0A03") == 0);
	CHECK(aml_eisaid("PNP0A0") == 0);
	CHECK(aml_eisaid("PNP0A033") == 0);
	CHECK(aml_eisaid("PNP0A0G") == 0);
	CHECK(aml_eisaid("PN@0A03") == 0);
}

static void test_packages_and_buffers(void)
{
	struct aml a;

	/* Name (\_S5, Package () { 5, Zero, Zero, Zero }) as iasl encodes it. */
	aml_init(&a);
	aml_name(&a, "\\_S5");
	aml_package_begin(&a);
	aml_int(&a, 5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a);
	CHECK(aml_is(&a, BYTES(0x08, '\\', '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00,
			       0x00, 0x00)));
	aml_free(&a);

	/* Package { Package { One }, "A", Buffer { 0xAA }, \_SB }: nested objects count once;
	 * the one-byte Buffer's BufferSize is One. */
	aml_init(&a);
	aml_package_begin(&a);
	aml_package_begin(&a);
	aml_int(&a, 1);
	aml_end(&a);
	aml_string(&a, "A");
	aml_buffer(&a, BYTES(0xaa));
	aml_path(&a, "\\_SB");
	aml_end(&a);
	CHECK(aml_is(&a, BYTES(0x12, 0x12, 0x04, 0x12, 0x03, 0x01, 0x01, 0x0d, 'A', 0x00, 0x11,
			       0x03, 0x01, 0xaa, '\\', '_', 'S', 'B', '_')));
	aml_free(&a);

	/* An empty Buffer has BufferSize Zero; an empty Package NumElements 0. */
	aml_init(&a);
	aml_buffer(&a, NULL, 0);
	aml_package_begin(&a);
	aml_end(&a);
	CHECK(aml_is(&a, BYTES(0x11, 0x02, 0x00, 0x12, 0x02, 0x00)));
	aml_free(&a);
}

/* Past 255 elements a Package becomes a VarPackage with an integer count. */
static void test_var_package(void)
{
	struct aml a;
	size_t n;

	aml_init(&a);
	aml_package_begin(&a);
	for (int i = 0; i < 300; i++)
		aml_int(&a, 0);
	aml_end(&a);
	CHECK(aml_ok(&a));
	CHECK(a.data[0] == 0x13);
	CHECK(pkglen_decode(a.data + 1, &n) == a.len - 1);
	CHECK(n == 2);
	CHECK(a.data[3] == 0x0b && a.data[4] == 0x2c && a.data[5] == 0x01); /* Word 300 */
	aml_free(&a);

	aml_init(&a);
	aml_package_begin(&a);
	for (int i = 0; i < 255; i++)
		aml_int(&a, 0);
	aml_end(&a);
	CHECK(aml_ok(&a));
	CHECK(a.data[0] == 0x12 && a.data[3] == 255);
	aml_free(&a);
}

static void test_methods(void)
{
	struct aml a;

	/* Method (MTST, 1, Serialized) { Store (Arg0, Local0) Return (Local0) } */
	aml_init(&a);
	aml_method_begin(&a, "MTST", 1, true);
	aml_store(&a);
	aml_arg(&a, 0);
	aml_local(&a, 0);
	aml_return(&a);
	aml_local(&a, 0);
	aml_end(&a);
	CHECK(aml_is(&a,
		     BYTES(0x14, 0x0b, 'M', 'T', 'S', 'T', 0x09, 0x70, 0x68, 0x60, 0xa4, 0x60)));
	aml_free(&a);

	/* Device (\_SB.DEV) { Method (_STA, 0, NotSerialized) { Return (0x0F) } } */
	aml_init(&a);
	aml_device_begin(&a, "\\_SB.DEV");
	aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_int(&a, 0x0f);
	aml_end(&a);
	aml_end(&a);
	CHECK(aml_is(&a, BYTES(0x5b, 0x82, 0x15, '\\', 0x2e, '_', 'S', 'B', '_', 'D', 'E', 'V', '_',
			       0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f)));
	aml_free(&a);

	/* Highest Local and Arg, and the argument count in MethodFlags bits 0-2. */
	aml_init(&a);
	aml_method_begin(&a, "M7", 7, false);
	aml_local(&a, 7);
	aml_arg(&a, 6);
	aml_end(&a);
	CHECK(aml_is(&a, BYTES(0x14, 0x08, 'M', '7', '_', '_', 0x07, 0x67, 0x6e)));
	aml_free(&a);
}

/* If/Else, LEqual, LNot, And, Or, CreateDWordField and ToUUID, as _OSC uses them. */
static void test_conditions(void)
{
	struct aml a;

	/* If (LNot (LEqual (Arg1, One))) { Or (CDW1, 0x08, CDW1) } Else { And (Arg0, 0x11,
	 * Local0) } */
	aml_init(&a);
	aml_if_begin(&a);
	aml_lnot(&a);
	aml_lequal(&a);
	aml_arg(&a, 1);
	aml_int(&a, 1);
	aml_or(&a);
	aml_path(&a, "CDW1");
	aml_int(&a, 8);
	aml_path(&a, "CDW1");
	aml_end(&a);
	aml_else_begin(&a);
	aml_and(&a);
	aml_arg(&a, 0);
	aml_int(&a, 0x11);
	aml_local(&a, 0);
	aml_end(&a);
	CHECK(aml_is(&a,
		     BYTES(0xa0, 0x10, 0x92, 0x93, 0x69, 0x01, 0x7d, 'C', 'D', 'W', '1', 0x0a, 0x08,
			   'C', 'D', 'W', '1', 0xa1, 0x06, 0x7b, 0x68, 0x0a, 0x11, 0x60)));
	aml_free(&a);

	/* CreateDWordField (Arg3, 0x08, CDW3) */
	aml_init(&a);
	aml_create_dword_field(&a);
	aml_arg(&a, 3);
	aml_int(&a, 8);
	aml_path(&a, "CDW3");
	CHECK(aml_is(&a, BYTES(0x8a, 0x6b, 0x0a, 0x08, 'C', 'D', 'W', '3')));
	aml_free(&a);

	/* ToUUID: the PCI host bridge _OSC UUID as ACPI 6.x 19.6.142 lays it out */
	aml_init(&a);
	aml_uuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD766");
	CHECK(aml_is(&a, BYTES(0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c,
			       0x40, 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66)));
	aml_free(&a);
	aml_init(&a);
	aml_uuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD76"); /* one digit short */
	CHECK(!aml_ok(&a));
	aml_free(&a);
	aml_init(&a);
	aml_uuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD7G6");
	CHECK(!aml_ok(&a));
	aml_free(&a);
}

static void check_fails(void (*build)(struct aml *a))
{
	struct aml a;

	aml_init(&a);
	build(&a);
	CHECK(!aml_ok(&a));
	aml_free(&a);
}

static void build_unbalanced_end(struct aml *a)
{
	aml_end(a);
}

static void build_unclosed(struct aml *a)
{
	aml_scope_begin(a, "\\_SB");
}

static void build_too_deep(struct aml *a)
{
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(a);
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_end(a);
}

static void build_too_many_args(struct aml *a)
{
	aml_method_begin(a, "MTST", 8, false);
	aml_end(a);
}

static void build_bad_local(struct aml *a)
{
	aml_local(a, 8);
}

static void build_bad_arg(struct aml *a)
{
	aml_arg(a, 7);
}

static void build_bad_device_name(struct aml *a)
{
	aml_device_begin(a, "pci0");
	aml_end(a);
}

static void test_errors(void)
{
	struct aml a;

	check_fails(build_unbalanced_end);
	check_fails(build_unclosed);
	check_fails(build_too_deep);
	check_fails(build_too_many_args);
	check_fails(build_bad_local);
	check_fails(build_bad_arg);
	check_fails(build_bad_device_name);

	/* AML_MAX_DEPTH levels are fine. */
	aml_init(&a);
	for (int i = 0; i < AML_MAX_DEPTH; i++)
		aml_package_begin(&a);
	for (int i = 0; i < AML_MAX_DEPTH; i++)
		aml_end(&a);
	CHECK(aml_ok(&a));
	aml_free(&a);
}

static bool sums_to_zero(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return sum == 0;
}

/* One descriptor in a template: Buffer, PkgLength, BufferSize, descriptor, End Tag. */
static void check_descriptor(void (*emit)(struct aml *a), const uint8_t *want, size_t n)
{
	struct aml a;
	size_t pl_n, size_n = n + 2 <= 0xff ? 2 : 3;

	aml_init(&a);
	aml_restemplate_begin(&a);
	emit(&a);
	aml_end(&a);
	CHECK(aml_ok(&a));
	CHECK(a.data[0] == 0x11);
	CHECK(pkglen_decode(a.data + 1, &pl_n) == a.len - 1);
	CHECK(a.len == 1 + pl_n + size_n + n + 2);
	CHECK(a.len >= n + 2 && !memcmp(a.data + a.len - n - 2, want, n));
	CHECK(a.data[a.len - 2] == 0x79);
	CHECK(sums_to_zero(a.data + a.len - n - 2, n + 2));
	aml_free(&a);
}

static void emit_bus(struct aml *a)
{
	aml_res_word_bus_number(a, 0, 0xff);
}

static void emit_io(struct aml *a)
{
	aml_res_io(a, 0xcf8, 0xcf8, 1, 8);
}

static void emit_dword_io(struct aml *a)
{
	aml_res_dword_io(a, 0xd00, 0xffff);
}

static void emit_dword_mem(struct aml *a)
{
	aml_res_dword_memory(a, 0xc0000000, 0xfebfffff, AML_MEM_NONCACHEABLE);
}

static void emit_qword_mem(struct aml *a)
{
	aml_res_qword_memory(a, 0x8000000000, 0xffffffffff, AML_MEM_PREFETCHABLE);
}

static void emit_interrupt(struct aml *a)
{
	aml_res_interrupt(a, 9, 0);
}

static void emit_irq(struct aml *a)
{
	aml_res_irq(a, 1 << 5 | 1 << 9, AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED);
}

static void emit_irq_edge(struct aml *a)
{
	aml_res_irq(a, 1 << 4, AML_IRQ_EDGE);
}

static void emit_interrupt_edge_low_shared(struct aml *a)
{
	aml_res_interrupt(a, 0x12345678, AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED);
}

/* Expected bytes are what iasl 20200925 compiles the ASL in each comment to. */
static void test_resources(void)
{
	/* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0,
	 * 0x100) */
	check_descriptor(emit_bus, BYTES(0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
					 0xff, 0x00, 0x00, 0x00, 0x00, 0x01));
	/* IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08) */
	check_descriptor(emit_io, BYTES(0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08));
	/* DWordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, 0xD00,
	 * 0xFFFF, 0, 0xF300) */
	check_descriptor(emit_dword_io, BYTES(0x87, 0x17, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00,
					      0x00, 0x00, 0x0d, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,
					      0x00, 0x00, 0x00, 0x00, 0x00, 0xf3, 0x00, 0x00));
	/* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
	 * ReadWrite, 0, 0xC0000000, 0xFEBFFFFF, 0, 0x3EC00000) */
	check_descriptor(emit_dword_mem, BYTES(0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00,
					       0x00, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe,
					       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x3e));
	/* QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Prefetchable,
	 * ReadWrite, 0, 0x8000000000, 0xFFFFFFFFFF, 0, 0x8000000000) */
	check_descriptor(emit_qword_mem,
			 BYTES(0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
			       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
			       0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00,
			       0x00, 0x00));
	/* Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 9 } */
	check_descriptor(emit_interrupt,
			 BYTES(0x89, 0x06, 0x00, 0x01, 0x01, 0x09, 0x00, 0x00, 0x00));
	/* Interrupt (ResourceConsumer, Edge, ActiveLow, Shared) { 0x12345678 } */
	check_descriptor(emit_interrupt_edge_low_shared,
			 BYTES(0x89, 0x06, 0x00, 0x0f, 0x01, 0x78, 0x56, 0x34, 0x12));
	/* IRQ (Level, ActiveLow, Shared) { 5, 9 } */
	check_descriptor(emit_irq, BYTES(0x23, 0x20, 0x02, 0x18));
	/* IRQ (Edge, ActiveHigh, Exclusive) { 4 } */
	check_descriptor(emit_irq_edge, BYTES(0x23, 0x10, 0x00, 0x01));
}

#define PCI0_SLOTS 4

/*
 * What the PCI host bridge issue will add to the DSDT: Device PCI0 with its ids, segment,
 * bus range and windows, and a _PRT routing INTA-INTD of each slot straight to GSIs.
 */
static void build_pci0(struct aml *a)
{
	aml_scope_begin(a, "\\_SB");
	aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_int(a, aml_eisaid("PNP0A08"));
	aml_name(a, "_CID");
	aml_int(a, aml_eisaid("PNP0A03"));
	aml_name(a, "_SEG");
	aml_int(a, 0);
	aml_name(a, "_BBN");
	aml_int(a, 0);
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_res_word_bus_number(a, 0, 0xff);
	aml_res_io(a, 0xcf8, 0xcf8, 1, 8);
	aml_res_dword_io(a, 0, 0xcf7);
	aml_res_dword_io(a, 0xd00, 0xffff);
	aml_res_dword_memory(a, 0xc0000000, 0xfebfffff, AML_MEM_NONCACHEABLE);
	aml_res_qword_memory(a, 0x8000000000, 0xffffffffff, AML_MEM_PREFETCHABLE);
	aml_end(a);
	aml_name(a, "_PRT");
	aml_package_begin(a);
	for (unsigned int slot = 0; slot < PCI0_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			/* Address (device in the high word, any function), pin, source (0:
			 * a GSI), source index: the GSI. */
			aml_package_begin(a);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin);
			aml_int(a, 0);
			aml_int(a, 16 + (slot + pin) % 4);
			aml_end(a);
		}
	}
	aml_end(a);
	aml_method_begin(a, "_STA", 0, false);
	aml_return(a);
	aml_int(a, 0x0f);
	aml_end(a);
	aml_end(a);
	aml_end(a);
}

static const uint8_t *find(const struct aml *a, const uint8_t *needle, size_t n)
{
	for (size_t i = 0; i + n <= a->len; i++)
		if (!memcmp(a->data + i, needle, n))
			return a->data + i;
	return NULL;
}

static void test_pci0_structure(const struct aml *a)
{
	const uint8_t *p;
	size_t n;

	CHECK(aml_ok(a));
	/* Scope (\_SB) spans everything; Device (PCI0) follows its name. */
	CHECK(a->data[0] == 0x10);
	CHECK(pkglen_decode(a->data + 1, &n) == a->len - 1);
	CHECK(!memcmp(a->data + 1 + n, "\\_SB_\x5b\x82", 7));
	CHECK(find(a, BYTES(0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08)));
	CHECK(find(a, BYTES(0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03)));
	CHECK(find(a, BYTES(0x08, '_', 'S', 'E', 'G', 0x00)));
	/* _PRT: 16 entries, the one for slot 1 pin INTB routed to GSI 18. */
	p = find(a, BYTES(0x08, '_', 'P', 'R', 'T', 0x12));
	CHECK(p);
	if (p) {
		p += 6;
		pkglen_decode(p, &n);
		CHECK(p[n] == PCI0_SLOTS * 4);
	}
	CHECK(find(a,
		   BYTES(0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00, 0x01, 0x00, 0x0a, 0x12)));
}

/* ACPI table header for a definition block holding the AML, so iasl can read it. */
static size_t wrap_ssdt(uint8_t *t, const struct aml *a)
{
	size_t len = 36 + a->len;
	uint8_t sum = 0;

	memset(t, 0, 36);
	memcpy(t, "SSDT", 4);
	for (int i = 0; i < 4; i++)
		t[4 + i] = (uint8_t)(len >> (8 * i));
	t[8] = 2;
	memcpy(t + 10, "CNDUITCONDUIT ", 14);
	memcpy(t + 36, a->data, a->len);
	for (size_t i = 0; i < len; i++)
		sum += t[i];
	t[9] = (uint8_t)-sum;
	return len;
}

static bool file_has(const char *path, const char *what)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

static bool run(const char *dir, const char *cmd)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "cd '%s' && %s", dir, cmd);
	return system(buf) == 0;
}

/*
 * Disassembles the table with iasl, then compiles the disassembly again: both must go
 * through without an error or warning.
 */
static void check_iasl(const uint8_t *table, size_t len)
{
	char dir[] = "/tmp/conduit-aml-XXXXXX", path[256];
	FILE *f;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/pci0.aml", dir);
	f = fopen(path, "wb");
	CHECK(f && fwrite(table, 1, len, f) == len);
	if (f)
		fclose(f);
	CHECK(run(dir, "iasl -d pci0.aml >dis.log 2>&1"));
	snprintf(path, sizeof(path), "%s/dis.log", dir);
	CHECK(!file_has(path, "Error") && !file_has(path, "Warning"));
	snprintf(path, sizeof(path), "%s/pci0.dsl", dir);
	CHECK(file_has(path, "Device (PCI0)"));
	CHECK(file_has(path, "EisaId (\"PNP0A08\")"));
	CHECK(file_has(path, "QWordMemory (ResourceProducer"));
	CHECK(!file_has(path, "****")); /* iasl's mark for what it found wrong */
	CHECK(run(dir, "iasl -p re pci0.dsl >asm.log 2>&1"));
	snprintf(path, sizeof(path), "%s/asm.log", dir);
	CHECK(file_has(path, "Compilation successful. 0 Errors, 0 Warnings"));
	if (check_failures)
		fprintf(stderr, "iasl output kept in %s\n", dir);
	else
		run(dir, "rm -f pci0.aml pci0.dsl re.aml dis.log asm.log && rmdir \"$PWD\"");
}

static void test_pci0(void)
{
	struct aml a;

	aml_init(&a);
	build_pci0(&a);
	test_pci0_structure(&a);
	aml_free(&a);
}

/* test_aml --iasl: the PCI0 example through iasl, skipped where it is not installed. */
static int test_pci0_iasl(void)
{
	uint8_t *table;
	struct aml a;

	if (system("command -v iasl >/dev/null 2>&1")) {
		printf("iasl not found (Debian package acpica-tools)\n");
		return CHECK_SKIP;
	}
	aml_init(&a);
	build_pci0(&a);
	CHECK(aml_ok(&a));
	table = malloc(36 + a.len);
	CHECK(table);
	if (table && aml_ok(&a))
		check_iasl(table, wrap_ssdt(table, &a));
	free(table);
	aml_free(&a);
	return CHECK_DONE();
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--iasl"))
		return test_pci0_iasl();
	test_pkglen_boundaries();
	test_pkglen_roundtrip();
	test_pkglen_in_objects();
	test_integers();
	test_names();
	test_strings();
	test_eisaid();
	test_packages_and_buffers();
	test_var_package();
	test_methods();
	test_conditions();
	test_errors();
	test_resources();
	test_pci0();
	return CHECK_DONE();
}
