/* The state of one assigned function, shared by vfio/pci.c, bar.c and irq.c. */
#ifndef CONDUIT_VFIO_DEVICE_H
#define CONDUIT_VFIO_DEVICE_H

#include "pci/msi.h"
#include "pci/msix.h"
#include "vfio/config.h"
#include "vfio/mmap.h"
#include "vfio/pci.h"

#include <pthread.h>

/* One VFIO region: where it sits in the device fd. */
struct vfio_region {
	uint64_t off, size;
	uint32_t flags;
};

struct vfio_bar {
	struct vfio_region r;
	uint8_t *map; /* the whole BAR reserved, the areas mmap'd into it; NULL if none */
	struct vfio_area area[VFIO_MAX_AREAS];
	unsigned int nr_areas;
	int slot[VFIO_MAX_AREAS]; /* KVM memory slot of each area while mapped, else -1 */
};

struct vfio_dev {
	struct pci_dev pci;
	char bdf[PCI_BDF_STR_LEN];
	int fd;
	struct irq_router *irq;
	struct memslots *slots;
	struct iobus *mmio;
	pthread_mutex_t lock; /* MSI-X table accesses and interrupt (re)configuration */
	struct vfio_cfg cfg;
	struct vfio_region cfg_region;
	struct vfio_bar bar[PCI_NUM_BARS];
	struct vfio_region rom;
	uint8_t *rom_data; /* the ROM's contents, read once at start */
	uint64_t rom_addr; /* where the ROM decodes, 0 when it does not */
	int rom_slot;	   /* its read-only memory slot while it decodes, else -1 */
	bool can_reset;
	bool flr_pending; /* the config write under way initiates an FLR */

	bool has_msix, has_msi;
	struct msix msix;
	unsigned int msix_table_bar, msix_pba_bar;
	struct vfio_area msix_table, msix_pba;
	int msix_relo_bar; /* emulated BAR the table and PBA moved to, -1: not moved */
	uint64_t msix_relo_size;
	struct msi msi;
	unsigned int msi_count; /* vectors handed to the kernel, 0 = none */
	bool msix_on;

	uint32_t intx_count; /* from VFIO_DEVICE_GET_IRQ_INFO; 0: no INTx */
	int intx_fd, intx_resample_fd;
	unsigned int intx_gsi;
	bool intx_on;
};

static inline struct vfio_dev *to_vfio(struct pci_dev *d)
{
	return d->priv;
}

int vfio_region_info(struct vfio_dev *v, uint32_t index, struct vfio_region *r,
		     struct vfio_area *sparse, unsigned int *nr_sparse);
enum pci_bar_type vfio_bar_type(const uint8_t *raw, unsigned int bar);
int vfio_bars_init(struct vfio_dev *v, const uint8_t *raw, enum vfio_msix_relocate relocate);
/* -1 and one error line if the MSI-X table or PBA is not inside a BAR the device has. */
int vfio_msix_check(const struct vfio_dev *v);
void vfio_msix_relocate(struct vfio_dev *v, const uint8_t *raw, enum vfio_msix_relocate mode,
			struct vfio_area allowed[][VFIO_MAX_AREAS], const unsigned int *nr);
void vfio_bar_moved(struct vfio_dev *v, unsigned int bar);
void vfio_rom_update(struct vfio_dev *v);
void vfio_bars_destroy(struct vfio_dev *v);

int vfio_irqs_init(struct vfio_dev *v);
void vfio_intx_update(struct vfio_dev *v);
void vfio_irqs_stop(struct vfio_dev *v);
void vfio_irqs_destroy(struct vfio_dev *v);

#endif
