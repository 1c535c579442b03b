/*
 * One device contract for every PCI function: emulated bridges, virtio devices and
 * (later) VFIO functions are all a struct pci_dev with the same few operations.
 *
 * Config space is a 4 KiB image with two masks: wmask marks the bits the guest may
 * write, w1cmask the bits a write of 1 clears (status registers). Standard behaviour
 * (BAR sizing, command register, capability lists) lives in pci/config.c and
 * pci/bar.c; a device overrides reads or reacts to writes through its ops.
 */
#ifndef CONDUIT_PCI_H
#define CONDUIT_PCI_H

#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stdint.h>

#define PCI_CFG_SIZE	4096
#define PCI_NUM_BARS	6
#define PCI_DEVFN(d, f) ((uint8_t)(((d) << 3) | (f)))
#define PCI_BDF_STR_LEN 16

struct pci_dev;
struct pci_bus;

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,
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
	struct pci_bar bar[PCI_NUM_BARS];
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
	return (uint16_t)(d->cfg[off] | d->cfg[off + 1] << 8);
}

static inline uint32_t pci_get32(const struct pci_dev *d, unsigned int off)
{
	return (uint32_t)pci_get16(d, off) | (uint32_t)pci_get16(d, off + 2) << 16;
}

static inline void pci_set8(struct pci_dev *d, unsigned int off, uint8_t v)
{
	d->cfg[off] = v;
}

static inline void pci_set16(struct pci_dev *d, unsigned int off, uint16_t v)
{
	d->cfg[off] = (uint8_t)v;
	d->cfg[off + 1] = (uint8_t)(v >> 8);
}

static inline void pci_set32(struct pci_dev *d, unsigned int off, uint32_t v)
{
	pci_set16(d, off, (uint16_t)v);
	pci_set16(d, off + 2, (uint16_t)(v >> 16));
}

void pci_set_wmask16(struct pci_dev *d, unsigned int off, uint16_t mask);
void pci_set_wmask32(struct pci_dev *d, unsigned int off, uint32_t mask);
void pci_set_w1c16(struct pci_dev *d, unsigned int off, uint16_t mask);

void pci_dev_init(struct pci_dev *d, const struct pci_dev_ops *ops, const char *name,
		  uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t header_type);
unsigned int pci_cap_add(struct pci_dev *d, uint8_t id, unsigned int len);
unsigned int pci_ecap_add(struct pci_dev *d, uint16_t id, uint8_t version, unsigned int len);
unsigned int pci_cap_find(const struct pci_dev *d, uint8_t id);

void pci_config_read(struct pci_dev *d, unsigned int off, uint8_t *data, unsigned int size);
void pci_config_write(struct pci_dev *d, unsigned int off, const uint8_t *data, unsigned int size);

void pci_bar_init(struct pci_dev *d, unsigned int bar, enum pci_bar_type type, bool prefetchable,
		  uint64_t size);
uint64_t pci_bar_addr(const struct pci_dev *d, unsigned int bar);
void pci_bar_set_addr(struct pci_dev *d, unsigned int bar, uint64_t addr);

void pci_bdf_str(const struct pci_dev *d, char *out, unsigned int len);
bool pci_is_bridge(const struct pci_dev *d);

#endif
