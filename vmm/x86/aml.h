/*
 * AML (ACPI Machine Language) byte-code builder, ACPI 6.x chapter 20 ("ACPI Machine
 * Language Specification") and section 6.4 ("Resource Data Types for ACPI").
 *
 * The builder appends to a growable byte buffer. Objects whose encoding starts with a
 * PkgLength (Scope, Device, Method, Package, Buffer) are opened with an aml_*_begin()
 * call and closed with aml_end(): the PkgLength, and the element count or buffer size,
 * are only known once the contents are written, so aml_end() inserts them in front of
 * the contents. AML is prefix notation, so an operator is emitted first and its operands
 * follow as further calls:
 *
 *	aml_scope_begin(a, "\\_SB");
 *	aml_device_begin(a, "PCI0");
 *	aml_name(a, "_HID");
 *	aml_int(a, aml_eisaid("PNP0A08"));
 *	aml_method_begin(a, "_STA", 0, false);
 *	aml_return(a);
 *	aml_int(a, 0x0f);
 *	aml_end(a);
 *	aml_end(a);
 *	aml_end(a);
 *
 * Errors (bad name, unbalanced aml_end(), nesting deeper than AML_MAX_DEPTH, out of
 * memory) are sticky: the builder stops writing and aml_ok() returns false, so callers
 * check once at the end instead of after every call.
 */
#ifndef CONDUIT_AML_H
#define CONDUIT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

/* An object opened by aml_*_begin() whose contents start at data[start]. */
struct aml_frame {
	size_t start;
	unsigned int kind;
	unsigned int elements; /* data objects written directly inside it (Package count) */
};

/* data[0..len) is the AML built so far: read it once aml_ok() says it is complete. */
struct aml {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool failed;
	unsigned int depth;
	struct aml_frame frames[AML_MAX_DEPTH];
};

/* Interrupt descriptor flags for aml_res_irq() and aml_res_interrupt(). */
#define AML_IRQ_EDGE	   (1u << 0) /* clear: level-triggered */
#define AML_IRQ_ACTIVE_LOW (1u << 1) /* clear: active-high */
#define AML_IRQ_SHARED	   (1u << 2) /* clear: exclusive */

/* Memory range cacheability (_MEM) for the memory address space descriptors. */
enum aml_mem_cache {
	AML_MEM_NONCACHEABLE = 0,
	AML_MEM_CACHEABLE = 1,
	AML_MEM_WRITE_COMBINING = 2,
	AML_MEM_PREFETCHABLE = 3,
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* True if nothing failed and every aml_*_begin() has been closed by aml_end(). */
bool aml_ok(const struct aml *a);

/*
 * Encodes the PkgLength of an object whose contents after the PkgLength are body_len
 * bytes, in the fewest bytes (1-4) that can hold it; the encoded value counts the
 * PkgLength bytes themselves. Returns the number of bytes written to out, or 0 if the
 * length does not fit the 28 bits of the 4-byte form.
 */
size_t aml_pkglen_encode(uint8_t out[4], size_t body_len);

/*
 * Compresses a 7-character EISA id ("PNP0A08": three letters A-Z, four hex digits) into
 * the 32-bit integer ASL's EISAID() produces. Returns 0 (never a valid id) if malformed.
 */
uint32_t aml_eisaid(const char *id);

/* Appends raw bytes, e.g. a hand-made resource descriptor inside a resource template. */
void aml_bytes(struct aml *a, const void *bytes, size_t n);

/*
 * Data objects. Each counts as one element of an enclosing Package; a Buffer or Package
 * counts when its aml_end() closes it.
 */
/*
 * Integer in its smallest encoding: Zero, One, Ones, Byte, Word, DWord or QWord. Ones
 * stands for all 64 bits set, as integers are 64-bit in definition blocks of revision 2.
 */
void aml_int(struct aml *a, uint64_t value);
/* String of ASCII characters 0x01-0x7f. */
void aml_string(struct aml *a, const char *s);
/* Reference to a named object, e.g. "\\_SB.LNKA" as a _PRT source. */
void aml_path(struct aml *a, const char *path);
/* Buffer holding n given bytes. */
void aml_buffer(struct aml *a, const void *bytes, size_t n);
/* Buffer holding the bytes written until aml_end(). */
void aml_buffer_begin(struct aml *a);
/* Package holding the data objects written until aml_end(); VarPackage past 255 of them. */
void aml_package_begin(struct aml *a);

/*
 * Named objects and namespace modifiers. A path is a NamePath: an optional root prefix
 * '\' or parent prefixes '^', then NameSegs separated by '.'; a NameSeg is 1-4 characters,
 * the first A-Z or '_', the rest A-Z, 0-9 or '_', padded to 4 with '_'.
 */
/* Name(path, ...): follow with exactly one data object. */
void aml_name(struct aml *a, const char *path);
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *path);
/* nargs 0-7; a serialized method runs one invocation at a time (sync level 0). */
void aml_method_begin(struct aml *a, const char *path, unsigned int nargs, bool serialized);
/* Closes the innermost object opened by an aml_*_begin() call. */
void aml_if_begin(struct aml *a);   /* follow with the predicate, then the body */
void aml_else_begin(struct aml *a); /* right after an If's aml_end() */
void aml_end(struct aml *a);

/* Statements for method bodies: operands follow as further calls. */
void aml_return(struct aml *a);			/* follow with the value */
void aml_store(struct aml *a);			/* follow with the source, then the destination */
void aml_lequal(struct aml *a);			/* follow with two operands */
void aml_lnot(struct aml *a);			/* follow with the operand */
void aml_and(struct aml *a);			/* follow with two operands and a target */
void aml_or(struct aml *a);			/* follow with two operands and a target */
void aml_create_dword_field(struct aml *a);	/* follow with buffer, byte index, aml_path */
void aml_uuid(struct aml *a, const char *uuid); /* ToUUID("xxxxxxxx-xxxx-...") */
void aml_local(struct aml *a, unsigned int n);	/* Local0-Local7 */
void aml_arg(struct aml *a, unsigned int n);	/* Arg0-Arg6 */

/*
 * Resource templates (ACPI 6.x section 6.4): a Buffer of resource descriptors that
 * aml_end() terminates with an End Tag whose checksum makes all of its bytes sum to zero.
 * The address space descriptors are ResourceProducer, MinFixed, MaxFixed, PosDecode with
 * _GRA = 0 and _LEN = max - min + 1 (a fixed window, e.g. a host bridge's _CRS), and with
 * no translation.
 */
void aml_restemplate_begin(struct aml *a);
/* IRQ descriptor: irq_mask has bit n set for ISA IRQ n. */
void aml_res_irq(struct aml *a, uint16_t irq_mask, unsigned int flags);
/* Extended Interrupt descriptor (ResourceConsumer) for one global system interrupt. */
void aml_res_interrupt(struct aml *a, uint32_t gsi, unsigned int flags);
/* I/O port descriptor with 16-bit decode. */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max);
/* DWordIO covering the entire range (ISA and non-ISA ports). */
void aml_res_dword_io(struct aml *a, uint32_t min, uint32_t max);
/* Read-write memory range (AddressRangeMemory). */
void aml_res_dword_memory(struct aml *a, uint32_t min, uint32_t max, enum aml_mem_cache cache);
void aml_res_qword_memory(struct aml *a, uint64_t min, uint64_t max, enum aml_mem_cache cache);

#endif
