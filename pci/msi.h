/* MSI capability: one message, up to 32 vectors by data low bits (PCI spec §6.8.1). */
#ifndef CONDUIT_PCI_MSI_H
#define CONDUIT_PCI_MSI_H

#include "irq/vector.h"
#include "pci/dev.h"

#define MSI_MAX_VECTORS 32

struct msi {
	struct pci_dev *dev;
	struct irq_router *irq;
	unsigned int cap; /* config offset */
	unsigned int nr;  /* Multiple Message Capable, as a count */
	bool addr64;
	bool per_vector_mask;
	struct irq_vector vec[MSI_MAX_VECTORS];
	/* Told after MSI is enabled, disabled, or its enabled vector count changes. */
	void (*notify)(void *opaque, bool enabled, unsigned int nr_vectors);
	void *notify_opaque;
	unsigned int notified_nr; /* what notify last reported; 0 = disabled */
};

int msi_init(struct msi *m, struct pci_dev *d, struct irq_router *irq, unsigned int nr_vectors,
	     bool addr64, bool per_vector_mask);
int msi_init_at(struct msi *m, struct pci_dev *d, struct irq_router *irq, unsigned int cap,
		unsigned int nr_vectors, bool addr64, bool per_vector_mask);
void msi_destroy(struct msi *m);
void msi_reset(struct msi *m);
void msi_config_written(struct msi *m, unsigned int off, unsigned int size);
bool msi_config_read(struct msi *m, unsigned int off, uint8_t *data, unsigned int size);
void msi_set_notify(struct msi *m, void (*fn)(void *opaque, bool enabled, unsigned int nr_vectors),
		    void *opaque);
bool msi_enabled(const struct msi *m);
unsigned int msi_nr_enabled(const struct msi *m);
int msi_vector_fd(const struct msi *m, unsigned int v);

#endif
