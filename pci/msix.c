/*
 * MSI-X, the way KVM can deliver it without exits: each table entry is an irq_vector
 * (irq/vector.h), live while MSI-X is enabled, the function is not masked and the
 * entry is not masked. A masked vector's eventfd holds the pending bit the PBA shows;
 * unmasking delivers it, as the spec requires. Table entries reset to masked; writes to
 * a vector's address/data are honoured whether or not it is masked (Linux reprograms
 * affinity on live vectors). An owner that hands the eventfds to someone else (VFIO
 * gives them to the kernel) asks with msix_set_notify() to be told when the guest
 * switches MSI-X on or off.
 */
#include "pci/msix.h"
#include "pci/config.h"
#include "vmm/base/le.h"
#include "vmm/base/log.h"

#include <stdlib.h>
#include <string.h>

#define MSIX_CAP_LEN 12

static uint32_t entry32(const struct msix *x, unsigned int v, unsigned int field)
{
	return le32_get(x->table + v * MSIX_ENTRY_SIZE + field);
}

static uint16_t msg_ctrl(const struct msix *x)
{
	return pci_get16(x->dev, x->cap + PCI_MSIX_FLAGS);
}

bool msix_enabled(const struct msix *x)
{
	return msg_ctrl(x) & PCI_MSIX_FLAGS_ENABLE;
}

static bool vector_live(const struct msix *x, unsigned int v)
{
	uint16_t ctrl = msg_ctrl(x);

	return (ctrl & PCI_MSIX_FLAGS_ENABLE) && !(ctrl & PCI_MSIX_FLAGS_MASKALL) &&
	       !(entry32(x, v, PCI_MSIX_ENTRY_VECTOR_CTRL) & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void vector_update(struct msix *x, unsigned int v)
{
	uint64_t addr = entry32(x, v, PCI_MSIX_ENTRY_LOWER_ADDR) |
			(uint64_t)entry32(x, v, PCI_MSIX_ENTRY_UPPER_ADDR) << 32;

	irq_vector_update(&x->vec[v], vector_live(x, v), addr, entry32(x, v, PCI_MSIX_ENTRY_DATA));
}

static void update_all(struct msix *x)
{
	unsigned int v;

	for (v = 0; v < x->nr; v++)
		vector_update(x, v);
}

/* Tells the owner (VFIO) when MSI-X starts or stops; function masking is not a change. */
static void notify_update(struct msix *x)
{
	bool enabled = msix_enabled(x);

	if (enabled == x->notified_enabled)
		return;
	x->notified_enabled = enabled;
	if (x->notify)
		x->notify(x->notify_opaque, enabled, enabled ? x->nr : 0);
}

int msix_init(struct msix *x, struct pci_dev *d, struct irq_router *irq, unsigned int nr,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off)
{
	unsigned int cap = nr && nr <= 2048 ? pci_cap_add(d, PCI_CAP_ID_MSIX, MSIX_CAP_LEN) : 0;

	memset(x, 0, sizeof(*x));
	if (!cap)
		return -1;
	pci_set16(d, cap + PCI_MSIX_FLAGS, (uint16_t)(nr - 1));
	pci_set32(d, cap + PCI_MSIX_TABLE, table_off | bar);
	pci_set32(d, cap + PCI_MSIX_PBA, pba_off | bar);
	return msix_init_at(x, d, irq, cap);
}

/* Emulates the MSI-X capability already at offset cap of d's image, with the table
 * size and table/PBA locations written there (an assigned device's own). */
int msix_init_at(struct msix *x, struct pci_dev *d, struct irq_router *irq, unsigned int cap)
{
	unsigned int v, nr = (pci_get16(d, cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;

	memset(x, 0, sizeof(*x));
	x->dev = d;
	x->irq = irq;
	x->nr = nr;
	x->cap = cap;
	x->table = calloc(nr, MSIX_ENTRY_SIZE);
	x->vec = calloc(nr, sizeof(*x->vec));
	if (!x->table || !x->vec)
		return -1;
	pci_set_wmask16(d, x->cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (v = 0; v < nr; v++)
		irq_vector_none(&x->vec[v]);
	for (v = 0; v < nr; v++)
		if (irq_vector_init(&x->vec[v], irq))
			return -1;
	msix_reset(x);
	return 0;
}

void msix_reset(struct msix *x)
{
	unsigned int v;

	pci_set16(x->dev, x->cap + PCI_MSIX_FLAGS, (uint16_t)(x->nr - 1));
	memset(x->table, 0, x->nr * MSIX_ENTRY_SIZE);
	for (v = 0; v < x->nr; v++) {
		x->table[v * MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
			PCI_MSIX_ENTRY_CTRL_MASKBIT;
		vector_update(x, v);
		irq_vector_clear(&x->vec[v]);
	}
	notify_update(x);
}

void msix_destroy(struct msix *x)
{
	unsigned int v;

	for (v = 0; x->vec && v < x->nr; v++)
		irq_vector_destroy(&x->vec[v]);
	free(x->vec);
	free(x->table);
	x->vec = NULL;
	x->table = NULL;
}

/* Table accesses are dword or qword (spec); anything else reads ones, writes nothing. */
static bool table_access_ok(const struct msix *x, uint64_t off, unsigned int size)
{
	return (size == 4 || size == 8) && !(off & (size - 1)) &&
	       off + size <= (uint64_t)x->nr * MSIX_ENTRY_SIZE;
}

void msix_table_read(struct msix *x, uint64_t off, uint8_t *data, unsigned int size)
{
	if (!table_access_ok(x, off, size)) {
		memset(data, 0xff, size);
		return;
	}
	memcpy(data, x->table + off, size);
}

void msix_table_write(struct msix *x, uint64_t off, const uint8_t *data, unsigned int size)
{
	unsigned int first, last, v;

	if (!table_access_ok(x, off, size))
		return;
	memcpy(x->table + off, data, size);
	first = (unsigned int)(off / MSIX_ENTRY_SIZE);
	last = (unsigned int)((off + size - 1) / MSIX_ENTRY_SIZE);
	for (v = first; v <= last; v++)
		vector_update(x, v);
}

void msix_pba_read(struct msix *x, uint64_t off, uint8_t *data, unsigned int size)
{
	unsigned int i, bit;

	memset(data, 0, size);
	for (i = 0; i < size; i++)
		for (bit = 0; bit < 8; bit++) {
			uint64_t v = (off + i) * 8 + bit;

			if (v < x->nr && irq_vector_pending(&x->vec[v]))
				data[i] |= (uint8_t)(1 << bit);
		}
}

void msix_config_written(struct msix *x, unsigned int off, unsigned int size)
{
	unsigned int ctl = x->cap + PCI_MSIX_FLAGS;

	if (off < ctl + 2 && off + size > ctl) {
		update_all(x);
		notify_update(x);
	}
}

int msix_vector_fd(const struct msix *x, unsigned int v)
{
	return v < x->nr ? x->vec[v].eventfd : -1;
}

void msix_set_notify(struct msix *x,
		     void (*fn)(void *opaque, bool enabled, unsigned int nr_vectors), void *opaque)
{
	x->notify = fn;
	x->notify_opaque = opaque;
}
