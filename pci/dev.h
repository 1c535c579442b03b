/*
 * One device contract for every PCI function: emulated bridges, virtio devices and
 * (later) VFIO functions are all a struct pci_dev with the same few operations.
 *
 * Config space is a 4 KiB image with two masks: wmask marks the bits the guest may
 * write, w1cmask the bits a write of 1 clears (status registers). Standard behaviour
 * (BAR sizing, command register, capability lists) lives in pci/config.c and
 * pci/bar.c; a device overrides reads or reacts to writes through its ops. This
 * header is the contract only: the struct and the little-endian image accessors.
 */
#ifndef CONDUIT_PCI_DEV_H
#define CONDUIT_PCI_DEV_H

#include "vmm/base/le.h"

#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stdint.h>

#define PCI_CFG_SIZE	  4096
#define PCI_NUM_BARS	  6
#define PCI_ROM_BAR	  6 /* bar[PCI_ROM_BAR]: the expansion ROM, sized and placed as a BAR */
#define PCI_NUM_RESOURCES 7
#define PCI_DEVFN(d, f)	  ((uint8_t)(((d) << 3) | (f)))
#define PCI_BDF_STR_LEN	  16

struct pci_dev;
struct pci_bus;

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,
	PCI_BAR_ROM, /* 32-bit memory, decoding while its own enable bit is set too */
};

struct pci_bar {
	struct pci_dev *dev;
	unsigned int index;
	enum pci_bar_type type;
	bool prefetchable;
	uint64_t size; /* power of two, 0 = unused */
	uint64_t addr; /* where the guest placed it; valid while mapped */
	bool mapped;   /* registered on the I/O or MMIO bus */
	/* Accesses that exit to userspace; offset is relative to the BAR. */
	void (*read)(struct pci_dev *dev, unsigned int bar, uint64_t offset, uint8_t *data,
		     unsigned int size);
	void (*write)(struct pci_dev *dev, unsigned int bar, uint64_t offset, const uint8_t *data,
		      unsigned int size);
};

struct pci_dev_ops {
	/* Sees each config write as the guest made it, before the generic write is
	 * applied (may be NULL): for functions whose registers live elsewhere (VFIO). */
	void (*config_write)(struct pci_dev *dev, unsigned int offset, const uint8_t *data,
			     unsigned int size);
	/* Called after the generic config write has been applied (may be NULL). */
	void (*config_written)(struct pci_dev *dev, unsigned int offset, unsigned int size);
	/* Overrides a config read of [offset, offset+size) when non-NULL; returns true if
	 * it filled data. */
	bool (*config_read)(struct pci_dev *dev, unsigned int offset, uint8_t *data,
			    unsigned int size);
	/* A BAR moved or its decoding switched on/off: bar->mapped, bar->addr are new. */
	void (*bar_moved)(struct pci_dev *dev, unsigned int bar);
	/* Function-level or bus reset: back to power-on state. */
	void (*reset)(struct pci_dev *dev);
	void (*destroy)(struct pci_dev *dev);
};

struct pci_dev {
	const struct pci_dev_ops *ops;
	void *priv;    /* the device model's own state */
	char name[32]; /* what it is, for log lines: "virtio-blk", "root-port rp1" */
	struct pci_bus *bus;
	uint8_t devfn;
	struct pci_bus *secondary; /* for bridges: the bus behind it */
	struct pci_bar bar[PCI_NUM_RESOURCES];
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint8_t w1cmask[PCI_CFG_SIZE];
	uint8_t cap_next;   /* where pci_cap_add() puts the next standard capability */
	uint16_t ecap_next; /* where pci_ecap_add() puts the next extended capability */
	uint16_t ecap_last; /* offset of the last extended capability, 0 if none */
	struct pci_machine *machine;
};

/* Config space helpers (little-endian image). */
static inline uint8_t pci_get8(const struct pci_dev *d, unsigned int off)
{
	return d->cfg[off];
}

static inline uint16_t pci_get16(const struct pci_dev *d, unsigned int off)
{
	return le16_get(&d->cfg[off]);
}

static inline uint32_t pci_get32(const struct pci_dev *d, unsigned int off)
{
	return le32_get(&d->cfg[off]);
}

static inline void pci_set8(struct pci_dev *d, unsigned int off, uint8_t v)
{
	d->cfg[off] = v;
}

static inline void pci_set16(struct pci_dev *d, unsigned int off, uint16_t v)
{
	le_put(&d->cfg[off], 2, v);
}

static inline void pci_set32(struct pci_dev *d, unsigned int off, uint32_t v)
{
	le_put(&d->cfg[off], 4, v);
}

static inline void pci_set_wmask16(struct pci_dev *d, unsigned int off, uint16_t mask)
{
	le_put(&d->wmask[off], 2, mask);
}

static inline void pci_set_wmask32(struct pci_dev *d, unsigned int off, uint32_t mask)
{
	le_put(&d->wmask[off], 4, mask);
}

static inline void pci_set_w1c16(struct pci_dev *d, unsigned int off, uint16_t mask)
{
	le_put(&d->w1cmask[off], 2, mask);
}

#endif
