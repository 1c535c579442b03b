/* MSI-X capability, vector table and pending bit array (PCI spec §6.8.2). */
#ifndef CONDUIT_PCI_MSIX_H
#define CONDUIT_PCI_MSIX_H

#include "irq/vector.h"
#include "pci/dev.h"

#define MSIX_ENTRY_SIZE 16

struct msix {
	struct pci_dev *dev;
	struct irq_router *irq;
	unsigned int cap; /* config offset */
	unsigned int nr;
	uint8_t *table; /* nr entries of 16 bytes, as the guest wrote them */
	struct irq_vector *vec;
	/* Told after MSI-X is enabled or disabled (nr_vectors is 0 when disabled). */
	void (*notify)(void *opaque, bool enabled, unsigned int nr_vectors);
	void *notify_opaque;
	bool notified_enabled; /* what notify last reported */
};

int msix_init(struct msix *x, struct pci_dev *d, struct irq_router *irq, unsigned int nr,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off);
int msix_init_at(struct msix *x, struct pci_dev *d, struct irq_router *irq, unsigned int cap);
void msix_destroy(struct msix *x);
void msix_table_read(struct msix *x, uint64_t off, uint8_t *data, unsigned int size);
void msix_table_write(struct msix *x, uint64_t off, const uint8_t *data, unsigned int size);
void msix_pba_read(struct msix *x, uint64_t off, uint8_t *data, unsigned int size);
void msix_config_written(struct msix *x, unsigned int off, unsigned int size);
void msix_reset(struct msix *x);
bool msix_enabled(const struct msix *x);
int msix_vector_fd(const struct msix *x, unsigned int v);
void msix_set_notify(struct msix *x,
		     void (*fn)(void *opaque, bool enabled, unsigned int nr_vectors), void *opaque);

#endif
