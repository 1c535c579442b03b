/*
 * MSI, delivered like MSI-X (see pci/msix.c): each vector owns an eventfd that is a
 * KVM irqfd on a GSI routed to the vector's message while the vector can fire.
 *
 * The hardware rule (PCI Local Bus 3.0 §6.8.1): the capability holds one message
 * address and one 16-bit data value. Message Control advertises how many vectors the
 * function has (Multiple Message Capable, a power of two up to 32) and software grants
 * a power of two (Multiple Message Enable); vector i of the 2^MME granted is sent by
 * replacing the low MME bits of the data with i. Software must not grant more than the
 * function asked for; if it does, the function gets what it is capable of. A function
 * capable of per-vector masking has a Mask Bits register (one per vector, read-write)
 * and a Pending Bits register (read-only): a masked vector may not send, it sets its
 * pending bit instead, and sends once unmasked. Here each vector is an irq_vector
 * (irq/vector.h), live only while enabled, granted and unmasked: otherwise its eventfd
 * holds the pending bit the Pending Bits read shows, and unmasking delivers it.
 * Address and data changes re-route live vectors. An owner that hands the eventfds to
 * someone else (VFIO gives them to the kernel) asks with msi_set_notify() to be told
 * when MSI is enabled, disabled or resized.
 */
#include "pci/msi.h"
#include "pci/config.h"

#include <string.h>

#define MSI_FLAGS_MMC_SHIFT 1
#define MSI_FLAGS_MME_SHIFT 4
#define MSI_ADDR_LO_WMASK   0xfffffffcU /* dword aligned */

/* Config offsets of the registers that move: with a 64-bit address they sit a dword on. */
static unsigned int off_data(const struct msi *m)
{
	return m->cap + (m->addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
}

static unsigned int off_mask(const struct msi *m)
{
	return m->cap + (m->addr64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned int off_pending(const struct msi *m)
{
	return m->cap + (m->addr64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

static unsigned int cap_len(bool addr64, bool per_vector_mask)
{
	if (per_vector_mask)
		return (addr64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32) + 4;
	return (addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32) + 2;
}

static uint16_t msg_ctrl(const struct msi *m)
{
	return pci_get16(m->dev, m->cap + PCI_MSI_FLAGS);
}

/* Message Control as it comes out of reset: capabilities set, disabled, one granted. */
static uint16_t ctrl_reset_value(const struct msi *m)
{
	uint16_t ctrl = (uint16_t)(__builtin_ctz(m->nr) << MSI_FLAGS_MMC_SHIFT);

	if (m->addr64)
		ctrl |= PCI_MSI_FLAGS_64BIT;
	if (m->per_vector_mask)
		ctrl |= PCI_MSI_FLAGS_MASKBIT;
	return ctrl;
}

static uint32_t vector_bits(unsigned int nr)
{
	return nr >= 32 ? 0xffffffffU : (1U << nr) - 1;
}

bool msi_enabled(const struct msi *m)
{
	return msg_ctrl(m) & PCI_MSI_FLAGS_ENABLE;
}

/* Vectors granted by Multiple Message Enable while MSI is enabled, else 0. */
unsigned int msi_nr_enabled(const struct msi *m)
{
	uint16_t ctrl = msg_ctrl(m);

	if (!(ctrl & PCI_MSI_FLAGS_ENABLE))
		return 0;
	return 1U << ((ctrl & PCI_MSI_FLAGS_QSIZE) >> MSI_FLAGS_MME_SHIFT);
}

/* A grant beyond Multiple Message Capable (or a reserved encoding) is cut back to it. */
static void mme_clamp(struct msi *m)
{
	uint16_t ctrl = msg_ctrl(m);
	unsigned int mmc = (ctrl & PCI_MSI_FLAGS_QMASK) >> MSI_FLAGS_MMC_SHIFT;
	unsigned int mme = (ctrl & PCI_MSI_FLAGS_QSIZE) >> MSI_FLAGS_MME_SHIFT;

	if (mme <= mmc)
		return;
	ctrl = (uint16_t)((ctrl & ~PCI_MSI_FLAGS_QSIZE) | mmc << MSI_FLAGS_MME_SHIFT);
	pci_set16(m->dev, m->cap + PCI_MSI_FLAGS, ctrl);
}

static bool vector_masked(const struct msi *m, unsigned int v)
{
	return m->per_vector_mask && (pci_get32(m->dev, off_mask(m)) >> v & 1);
}

static bool vector_live(const struct msi *m, unsigned int v)
{
	return v < msi_nr_enabled(m) && !vector_masked(m, v);
}

static uint64_t msg_addr(const struct msi *m)
{
	uint64_t addr = pci_get32(m->dev, m->cap + PCI_MSI_ADDRESS_LO);

	if (m->addr64)
		addr |= (uint64_t)pci_get32(m->dev, m->cap + PCI_MSI_ADDRESS_HI) << 32;
	return addr;
}

/* Vector v's data: the programmed data with its low log2(granted) bits replaced by v. */
static uint32_t msg_data(const struct msi *m, unsigned int v)
{
	uint32_t low = msi_nr_enabled(m) - 1;

	return (pci_get16(m->dev, off_data(m)) & ~low) | v;
}

static void vector_update(struct msi *m, unsigned int v)
{
	irq_vector_update(&m->vec[v], vector_live(m, v), msg_addr(m), msg_data(m, v));
}

static void update_all(struct msi *m)
{
	unsigned int v;

	for (v = 0; v < m->nr; v++)
		vector_update(m, v);
}

/* Tells the owner (VFIO) when the set of vectors that can fire starts, stops or resizes. */
static void notify_update(struct msi *m)
{
	unsigned int nr = msi_nr_enabled(m);

	if (nr == m->notified_nr)
		return;
	m->notified_nr = nr;
	if (m->notify)
		m->notify(m->notify_opaque, nr != 0, nr);
}

static void set_wmasks(struct msi *m)
{
	struct pci_dev *d = m->dev;

	pci_set_wmask16(d, m->cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	pci_set_wmask32(d, m->cap + PCI_MSI_ADDRESS_LO, MSI_ADDR_LO_WMASK);
	if (m->addr64)
		pci_set_wmask32(d, m->cap + PCI_MSI_ADDRESS_HI, 0xffffffffU);
	pci_set_wmask16(d, off_data(m), 0xffff);
	if (m->per_vector_mask)
		pci_set_wmask32(d, off_mask(m), vector_bits(m->nr));
}

static bool valid_count(unsigned int nr)
{
	return nr && nr <= MSI_MAX_VECTORS && !(nr & (nr - 1));
}

/* No vectors, no eventfds: safe to msi_destroy(). */
static void msi_clear(struct msi *m)
{
	unsigned int v;

	memset(m, 0, sizeof(*m));
	for (v = 0; v < MSI_MAX_VECTORS; v++)
		irq_vector_none(&m->vec[v]);
}

int msi_init(struct msi *m, struct pci_dev *d, struct irq_router *irq, unsigned int nr_vectors,
	     bool addr64, bool per_vector_mask)
{
	unsigned int cap = valid_count(nr_vectors) ? pci_cap_add(d, PCI_CAP_ID_MSI,
								 cap_len(addr64, per_vector_mask))
						   : 0;

	if (!cap) {
		msi_clear(m);
		return -1;
	}
	return msi_init_at(m, d, irq, cap, nr_vectors, addr64, per_vector_mask);
}

/* Emulates the MSI capability already at offset cap of d's image (an assigned device's,
 * whose capability list is the device's own). */
int msi_init_at(struct msi *m, struct pci_dev *d, struct irq_router *irq, unsigned int cap,
		unsigned int nr_vectors, bool addr64, bool per_vector_mask)
{
	unsigned int v;

	msi_clear(m);
	if (!valid_count(nr_vectors))
		return -1;
	m->dev = d;
	m->irq = irq;
	m->nr = nr_vectors;
	m->addr64 = addr64;
	m->per_vector_mask = per_vector_mask;
	m->cap = cap;
	set_wmasks(m);
	for (v = 0; v < m->nr; v++)
		if (irq_vector_init(&m->vec[v], irq))
			return -1;
	msi_reset(m);
	return 0;
}

void msi_reset(struct msi *m)
{
	unsigned int v;

	pci_set16(m->dev, m->cap + PCI_MSI_FLAGS, ctrl_reset_value(m));
	pci_set32(m->dev, m->cap + PCI_MSI_ADDRESS_LO, 0);
	if (m->addr64)
		pci_set32(m->dev, m->cap + PCI_MSI_ADDRESS_HI, 0);
	pci_set16(m->dev, off_data(m), 0);
	if (m->per_vector_mask)
		pci_set32(m->dev, off_mask(m), 0);
	for (v = 0; v < m->nr; v++) {
		vector_update(m, v);
		irq_vector_clear(&m->vec[v]);
	}
	notify_update(m);
}

void msi_destroy(struct msi *m)
{
	unsigned int v;

	for (v = 0; v < m->nr; v++)
		irq_vector_destroy(&m->vec[v]);
}

void msi_config_written(struct msi *m, unsigned int off, unsigned int size)
{
	unsigned int start = m->cap + PCI_MSI_FLAGS;
	unsigned int end = m->cap + cap_len(m->addr64, m->per_vector_mask);

	if (off >= end || off + size <= start)
		return;
	mme_clamp(m);
	update_all(m);
	notify_update(m);
}

static uint32_t pending_bits(const struct msi *m)
{
	uint32_t bits = 0;
	unsigned int v;

	for (v = 0; v < m->nr; v++)
		if (irq_vector_pending(&m->vec[v]))
			bits |= 1U << v;
	return bits;
}

/* For the device's config_read op: fills reads that touch Pending Bits, live from the
 * eventfds; returns false (generic read) for everything else. */
bool msi_config_read(struct msi *m, unsigned int off, uint8_t *data, unsigned int size)
{
	unsigned int reg = off_pending(m), i;
	uint32_t bits;

	if (!m->per_vector_mask || off >= reg + 4 || off + size <= reg)
		return false;
	bits = pending_bits(m);
	memcpy(data, &m->dev->cfg[off], size);
	for (i = 0; i < size; i++)
		if (off + i >= reg && off + i < reg + 4)
			data[i] = (uint8_t)(bits >> 8 * (off + i - reg));
	return true;
}

void msi_set_notify(struct msi *m, void (*fn)(void *opaque, bool enabled, unsigned int nr_vectors),
		    void *opaque)
{
	m->notify = fn;
	m->notify_opaque = opaque;
}

int msi_vector_fd(const struct msi *m, unsigned int v)
{
	return v < m->nr ? m->vec[v].eventfd : -1;
}
