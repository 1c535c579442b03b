/*
 * AML byte-code builder. Opcode values and encodings are from ACPI 6.x section 20.2
 * ("AML Grammar Definition"); resource descriptors from section 6.4.
 */
#include "vmm/x86/aml.h"
#include "vmm/base/le.h"

#include <stdlib.h>
#include <string.h>

/* AML opcodes (ACPI 6.x section 20.2). */
#define AML_ZERO_OP	       0x00
#define AML_ONE_OP	       0x01
#define AML_NAME_OP	       0x08
#define AML_BYTE_PREFIX	       0x0a
#define AML_WORD_PREFIX	       0x0b
#define AML_DWORD_PREFIX       0x0c
#define AML_STRING_PREFIX      0x0d
#define AML_QWORD_PREFIX       0x0e
#define AML_SCOPE_OP	       0x10
#define AML_BUFFER_OP	       0x11
#define AML_PACKAGE_OP	       0x12
#define AML_VAR_PACKAGE_OP     0x13
#define AML_METHOD_OP	       0x14
#define AML_DUAL_NAME_PREFIX   0x2e
#define AML_MULTI_NAME_PREFIX  0x2f
#define AML_EXT_OP_PREFIX      0x5b
#define AML_ROOT_CHAR	       0x5c
#define AML_PARENT_PREFIX_CHAR 0x5e
#define AML_LOCAL0_OP	       0x60
#define AML_ARG0_OP	       0x68
#define AML_STORE_OP	       0x70
#define AML_AND_OP	       0x7b
#define AML_OR_OP	       0x7d
#define AML_CREATE_DWORD_FIELD 0x8a
#define AML_LNOT_OP	       0x92
#define AML_LEQUAL_OP	       0x93
#define AML_IF_OP	       0xa0
#define AML_ELSE_OP	       0xa1
#define AML_RETURN_OP	       0xa4
#define AML_ONES_OP	       0xff
#define AML_DEVICE_OP	       0x82 /* after AML_EXT_OP_PREFIX */
#define AML_NULL_NAME	       0x00

#define AML_NAMESEG_LEN	      4
#define AML_MAX_LOCAL	      7
#define AML_MAX_ARG	      6
#define AML_MAX_NARGS	      7
#define AML_METHOD_SERIALIZED (1u << 3) /* MethodFlags bit 3; bits 0-2 are ArgCount */

/* Resource descriptor tags (ACPI 6.x section 6.4): small ones hold their length. */
#define AML_RES_IRQ	      0x23 /* IRQ descriptor with its optional information byte */
#define AML_RES_IO	      0x47
#define AML_RES_END_TAG	      0x79
#define AML_RES_DWORD_SPACE   0x87
#define AML_RES_WORD_SPACE    0x88
#define AML_RES_EXT_INTERRUPT 0x89
#define AML_RES_QWORD_SPACE   0x8a

/* Address space descriptor Resource Type (ACPI 6.x section 6.4.3.5). */
#define AML_SPACE_MEMORY 0
#define AML_SPACE_IO	 1
#define AML_SPACE_BUS	 2

/* Address space General Flags: bit 3 _MAF, bit 2 _MIF, bit 1 _DEC = 0 positive decode,
 * bit 0 = 0 ResourceProducer. */
#define AML_SPACE_FIXED_PRODUCER 0x0c
/* Memory Type Specific Flags: bit 0 _RW read-write, bits 1-2 _MEM, bits 3-4 _MTP = 0. */
#define AML_MEM_READ_WRITE  0x01
#define AML_MEM_CACHE_SHIFT 1
/* I/O Type Specific Flags: bits 0-1 _RNG = 3, both ISA and non-ISA ranges. */
#define AML_IO_ENTIRE_RANGE 0x03

/* IRQ descriptor information byte: bit 0 _HE, bit 3 _LL, bit 4 _SHR. */
#define AML_IRQ_INFO_EDGE	0x01
#define AML_IRQ_INFO_ACTIVE_LOW 0x08
#define AML_IRQ_INFO_SHARED	0x10
/* Extended Interrupt flags: bit 0 consumer, bit 1 _HE, bit 2 _LL, bit 3 _SHR. */
#define AML_EXT_IRQ_CONSUMER   0x01
#define AML_EXT_IRQ_EDGE       0x02
#define AML_EXT_IRQ_ACTIVE_LOW 0x04
#define AML_EXT_IRQ_SHARED     0x08

enum aml_frame_kind {
	AML_FRAME_PLAIN,       /* Scope, Device, Method: PkgLength only */
	AML_FRAME_PACKAGE,     /* PkgLength, NumElements */
	AML_FRAME_BUFFER,      /* PkgLength, BufferSize */
	AML_FRAME_RESTEMPLATE, /* Buffer ending with an End Tag */
};

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->data);
	aml_init(a);
}

bool aml_ok(const struct aml *a)
{
	return !a->failed && a->depth == 0;
}

/* Makes room for n more bytes; false (and the builder failed) if that is impossible. */
static bool aml_grow(struct aml *a, size_t n)
{
	size_t cap = a->cap ? a->cap : 256;
	uint8_t *data;

	if (a->failed)
		return false;
	if (a->len + n <= a->cap)
		return true;
	while (cap < a->len + n)
		cap *= 2;
	data = realloc(a->data, cap);
	if (!data) {
		a->failed = true;
		return false;
	}
	a->data = data;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *bytes, size_t n)
{
	if (!n || !aml_grow(a, n))
		return;
	memcpy(a->data + a->len, bytes, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Appends the low n bytes of v, least significant first: AML is little-endian. */
static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	le_put(b, n, v);
	aml_bytes(a, b, n);
}

/* Inserts n bytes at offset pos, moving what follows. */
static void aml_insert(struct aml *a, size_t pos, const uint8_t *bytes, size_t n)
{
	if (!aml_grow(a, n))
		return;
	memmove(a->data + pos + n, a->data + pos, a->len - pos);
	memcpy(a->data + pos, bytes, n);
	a->len += n;
}

/* Counts a data object as an element of the innermost open object. */
static void aml_count_element(struct aml *a)
{
	if (a->depth)
		a->frames[a->depth - 1].elements++;
}

size_t aml_pkglen_encode(uint8_t out[4], size_t body_len)
{
	/*
	 * PkgLength (ACPI 6.x section 20.2.4): a lead byte whose bits 7-6 give the number of
	 * bytes that follow. Alone, its bits 5-0 hold the length (up to 63); otherwise its
	 * bits 3-0 hold the low nibble and each following byte 8 more bits, so 2, 3 and 4
	 * bytes hold up to 2^12 - 1, 2^20 - 1 and 2^28 - 1.
	 */
	static const size_t max[] = {0x3f, 0xfff, 0xfffff, 0xfffffff};

	for (size_t n = 1; n <= 4; n++) {
		size_t v = body_len + n;

		if (body_len > max[n - 1] || v > max[n - 1])
			continue;
		if (n == 1) {
			out[0] = (uint8_t)v;
			return 1;
		}
		out[0] = (uint8_t)(((n - 1) << 6) | (v & 0xf));
		for (size_t i = 1; i < n; i++)
			out[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
		return n;
	}
	return 0;
}

/* Encodes an integer in its smallest form (ACPI 6.x section 20.2.3); returns its size. */
static size_t aml_int_encode(uint8_t out[9], uint64_t v)
{
	uint8_t prefix;
	size_t n;

	if (v == 0 || v == 1 || v == UINT64_MAX) {
		out[0] = v == 0 ? AML_ZERO_OP : v == 1 ? AML_ONE_OP : AML_ONES_OP;
		return 1;
	}
	if (v <= UINT8_MAX) {
		prefix = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		prefix = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		prefix = AML_DWORD_PREFIX;
		n = 4;
	} else {
		prefix = AML_QWORD_PREFIX;
		n = 8;
	}
	out[0] = prefix;
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

void aml_int(struct aml *a, uint64_t value)
{
	uint8_t enc[9];

	aml_bytes(a, enc, aml_int_encode(enc, value));
	aml_count_element(a);
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c > 0x7f) {
			a->failed = true;
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
	aml_count_element(a);
}

static bool aml_nameseg_char_ok(char c, bool lead)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !lead && c >= '0' && c <= '9';
}

/* Encodes the NameSeg of len characters at s padded with '_'; false if malformed. */
static bool aml_nameseg_encode(char out[AML_NAMESEG_LEN], const char *s, size_t len)
{
	if (len == 0 || len > AML_NAMESEG_LEN)
		return false;
	for (size_t i = 0; i < AML_NAMESEG_LEN; i++) {
		if (i >= len) {
			out[i] = '_';
			continue;
		}
		if (!aml_nameseg_char_ok(s[i], i == 0))
			return false;
		out[i] = s[i];
	}
	return true;
}

/*
 * Appends a NameString (ACPI 6.x section 20.2.2): prefixes, then NullName for no
 * segment, one NameSeg, DualNamePrefix and two, or MultiNamePrefix, a count and more.
 */
static void aml_name_string(struct aml *a, const char *path)
{
	char segs[255][AML_NAMESEG_LEN];
	size_t nsegs = 0;
	const char *p = path;

	if (!*p) {
		a->failed = true; /* an empty path names nothing */
		return;
	}
	if (*p == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		for (; *p == '^'; p++)
			aml_byte(a, AML_PARENT_PREFIX_CHAR);
	}
	while (*p) {
		size_t len = strcspn(p, ".");

		if (nsegs == 255 || !aml_nameseg_encode(segs[nsegs++], p, len)) {
			a->failed = true;
			return;
		}
		p += len;
		if (*p == '.' && !*++p) {
			a->failed = true; /* trailing '.' */
			return;
		}
	}
	if (nsegs == 0) {
		aml_byte(a, AML_NULL_NAME);
	} else if (nsegs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nsegs);
	}
	aml_bytes(a, segs, nsegs * AML_NAMESEG_LEN);
}

void aml_path(struct aml *a, const char *path)
{
	aml_name_string(a, path);
	aml_count_element(a);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, path);
}

/* Opens an object whose PkgLength aml_end() will insert at the current offset. */
static void aml_open(struct aml *a, enum aml_frame_kind kind)
{
	if (a->depth == AML_MAX_DEPTH) {
		a->failed = true;
		return;
	}
	a->frames[a->depth++] = (struct aml_frame){.start = a->len, .kind = kind};
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a, AML_FRAME_PLAIN);
	aml_name_string(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_open(a, AML_FRAME_PLAIN);
	aml_name_string(a, path);
}

void aml_method_begin(struct aml *a, const char *path, unsigned int nargs, bool serialized)
{
	if (nargs > AML_MAX_NARGS) {
		a->failed = true;
		return;
	}
	aml_byte(a, AML_METHOD_OP);
	aml_open(a, AML_FRAME_PLAIN);
	aml_name_string(a, path);
	aml_byte(a, (uint8_t)(nargs | (serialized ? AML_METHOD_SERIALIZED : 0)));
}

void aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	aml_open(a, AML_FRAME_PLAIN);
}

void aml_else_begin(struct aml *a)
{
	aml_byte(a, AML_ELSE_OP);
	aml_open(a, AML_FRAME_PLAIN);
}

void aml_package_begin(struct aml *a)
{
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a, AML_FRAME_PACKAGE);
}

void aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a, AML_FRAME_BUFFER);
}

void aml_restemplate_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a, AML_FRAME_RESTEMPLATE);
}

void aml_buffer(struct aml *a, const void *bytes, size_t n)
{
	aml_buffer_begin(a);
	aml_bytes(a, bytes, n);
	aml_end(a);
}

/*
 * Inserts, in front of the contents starting at f->start, the PkgLength and whatever
 * precedes the contents: hdr (hdr_len bytes) counts towards the PkgLength.
 */
static void aml_close(struct aml *a, const struct aml_frame *f, const uint8_t *hdr, size_t hdr_len)
{
	uint8_t bytes[4 + 9];
	size_t n = aml_pkglen_encode(bytes, a->len - f->start + hdr_len);

	if (!n) {
		a->failed = true;
		return;
	}
	if (hdr_len)
		memcpy(bytes + n, hdr, hdr_len);
	aml_insert(a, f->start, bytes, n + hdr_len);
}

/* Package: NumElements is a byte, so past 255 elements it becomes a VarPackage whose
 * VarNumElements is an integer (ACPI 6.x section 20.2.5.4). */
static void aml_close_package(struct aml *a, const struct aml_frame *f)
{
	uint8_t count[9];

	if (f->elements <= UINT8_MAX) {
		count[0] = (uint8_t)f->elements;
		aml_close(a, f, count, 1);
		return;
	}
	a->data[f->start - 1] = AML_VAR_PACKAGE_OP;
	aml_close(a, f, count, aml_int_encode(count, f->elements));
}

/* End Tag (ACPI 6.x section 6.4.2.9): its checksum makes the whole template sum to 0. */
static void aml_end_tag(struct aml *a, const struct aml_frame *f)
{
	uint8_t sum = AML_RES_END_TAG;

	for (size_t i = f->start; i < a->len; i++)
		sum += a->data[i];
	aml_byte(a, AML_RES_END_TAG);
	aml_byte(a, (uint8_t)-sum);
}

/* Buffer: BufferSize is an integer giving the number of bytes that follow it. */
static void aml_close_buffer(struct aml *a, const struct aml_frame *f)
{
	uint8_t size[9];

	aml_close(a, f, size, aml_int_encode(size, a->len - f->start));
}

void aml_end(struct aml *a)
{
	struct aml_frame f;

	if (a->failed)
		return;
	if (!a->depth) {
		a->failed = true;
		return;
	}
	f = a->frames[--a->depth];
	switch (f.kind) {
	case AML_FRAME_PLAIN:
		aml_close(a, &f, NULL, 0);
		return;
	case AML_FRAME_PACKAGE:
		aml_close_package(a, &f);
		break;
	case AML_FRAME_BUFFER:
		aml_close_buffer(a, &f);
		break;
	case AML_FRAME_RESTEMPLATE:
		aml_end_tag(a, &f);
		aml_close_buffer(a, &f);
		break;
	}
	aml_count_element(a);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

void aml_store(struct aml *a)
{
	aml_byte(a, AML_STORE_OP);
}

void aml_lequal(struct aml *a)
{
	aml_byte(a, AML_LEQUAL_OP);
}

void aml_lnot(struct aml *a)
{
	aml_byte(a, AML_LNOT_OP);
}

void aml_and(struct aml *a)
{
	aml_byte(a, AML_AND_OP);
}

void aml_or(struct aml *a)
{
	aml_byte(a, AML_OR_OP);
}

void aml_create_dword_field(struct aml *a)
{
	aml_byte(a, AML_CREATE_DWORD_FIELD);
}

void aml_local(struct aml *a, unsigned int n)
{
	if (n > AML_MAX_LOCAL) {
		a->failed = true;
		return;
	}
	aml_byte(a, (uint8_t)(AML_LOCAL0_OP + n));
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > AML_MAX_ARG) {
		a->failed = true;
		return;
	}
	aml_byte(a, (uint8_t)(AML_ARG0_OP + n));
}

static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ToUUID (ACPI 6.x section 19.6.142): the first three groups little-endian, the last
 * two as written. */
void aml_uuid(struct aml *a, const char *uuid)
{
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	uint8_t text[16], out[16];
	size_t n = 0;

	for (const char *p = uuid; *p && n < 16; p++) {
		int hi, lo;

		if (*p == '-')
			continue;
		hi = aml_hex_digit(p[0]);
		lo = hi < 0 ? -1 : aml_hex_digit(p[1]);
		if (hi < 0 || lo < 0) {
			a->failed = true;
			return;
		}
		text[n++] = (uint8_t)(hi << 4 | lo);
		p++;
	}
	if (n != 16 || strlen(uuid) != 36) {
		a->failed = true;
		return;
	}
	for (n = 0; n < 16; n++)
		out[n] = text[order[n]];
	aml_buffer(a, out, sizeof(out));
}

uint32_t aml_eisaid(const char *id)
{
	/*
	 * EISA id (ACPI 6.x section 19.6.35, EISAID): the three letters take 5 bits each
	 * ('A' = 1) in a big-endian 16-bit value, followed by the product number's four hex
	 * digits as two bytes; the four bytes read as a little-endian 32-bit integer.
	 */
	uint32_t letters = 0, product = 0;

	if (strlen(id) != 7)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return 0;
		letters = (letters << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		int d = aml_hex_digit(id[i]);

		if (d < 0)
			return 0;
		product = (product << 4) | (uint32_t)d;
	}
	return (letters >> 8) | (letters & 0xff) << 8 | (product >> 8) << 16 |
	       (product & 0xff) << 24;
}

void aml_res_irq(struct aml *a, uint16_t irq_mask, unsigned int flags)
{
	uint8_t info = 0;

	if (flags & AML_IRQ_EDGE)
		info |= AML_IRQ_INFO_EDGE;
	if (flags & AML_IRQ_ACTIVE_LOW)
		info |= AML_IRQ_INFO_ACTIVE_LOW;
	if (flags & AML_IRQ_SHARED)
		info |= AML_IRQ_INFO_SHARED;
	aml_byte(a, AML_RES_IRQ);
	aml_le(a, irq_mask, 2);
	aml_byte(a, info);
}

void aml_res_interrupt(struct aml *a, uint32_t gsi, unsigned int flags)
{
	uint8_t info = AML_EXT_IRQ_CONSUMER;

	if (flags & AML_IRQ_EDGE)
		info |= AML_EXT_IRQ_EDGE;
	if (flags & AML_IRQ_ACTIVE_LOW)
		info |= AML_EXT_IRQ_ACTIVE_LOW;
	if (flags & AML_IRQ_SHARED)
		info |= AML_EXT_IRQ_SHARED;
	aml_byte(a, AML_RES_EXT_INTERRUPT);
	aml_le(a, 6, 2); /* flags, table length, one interrupt number */
	aml_byte(a, info);
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(a, AML_RES_IO);
	aml_byte(a, 0x01); /* _DEC: decodes 16 address bits */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

/*
 * Word, DWord and QWord Address Space descriptors (ACPI 6.x section 6.4.3.5) share one
 * layout: tag, length, resource type, general flags, type specific flags, then
 * _GRA, _MIN, _MAX, _TRA and _LEN, each width bytes wide.
 */
static void aml_res_space(struct aml *a, uint8_t tag, unsigned int width, uint8_t type,
			  uint8_t type_flags, uint64_t min, uint64_t max)
{
	aml_byte(a, tag);
	aml_le(a, 3 + 5 * width, 2);
	aml_byte(a, type);
	aml_byte(a, AML_SPACE_FIXED_PRODUCER);
	aml_byte(a, type_flags);
	aml_le(a, 0, width);
	aml_le(a, min, width);
	aml_le(a, max, width);
	aml_le(a, 0, width);
	aml_le(a, max - min + 1, width);
}

void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_space(a, AML_RES_WORD_SPACE, 2, AML_SPACE_BUS, 0, min, max);
}

void aml_res_dword_io(struct aml *a, uint32_t min, uint32_t max)
{
	aml_res_space(a, AML_RES_DWORD_SPACE, 4, AML_SPACE_IO, AML_IO_ENTIRE_RANGE, min, max);
}

static uint8_t aml_mem_flags(enum aml_mem_cache cache)
{
	return (uint8_t)(AML_MEM_READ_WRITE | (unsigned int)cache << AML_MEM_CACHE_SHIFT);
}

void aml_res_dword_memory(struct aml *a, uint32_t min, uint32_t max, enum aml_mem_cache cache)
{
	aml_res_space(a, AML_RES_DWORD_SPACE, 4, AML_SPACE_MEMORY, aml_mem_flags(cache), min, max);
}

void aml_res_qword_memory(struct aml *a, uint64_t min, uint64_t max, enum aml_mem_cache cache)
{
	aml_res_space(a, AML_RES_QWORD_SPACE, 8, AML_SPACE_MEMORY, aml_mem_flags(cache), min, max);
}
