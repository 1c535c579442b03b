/* The state of one assigned function, shared by vfio/pci.c, bar.c, irq.c and
 * relocate.c. */
#ifndef CONDUIT_VFIO_DEVICE_H
#define CONDUIT_VFIO_DEVICE_H

#include "pci/msi.h"
#include "pci/msix.h"
#include "vfio/container.h"
#include "vfio/config.h"
#include "vfio/mmap.h"

#include <pthread.h>

struct irq_router;
struct memslots;

/* One VFIO region: where it sits in the device fd. */
struct vfio_region {
	uint64_t off, size;
	uint32_t flags;
};

#define VFIO_MAX_VECTORS 2048 /* MSI-X Table Size is 11 bits */

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
	struct vfio_container *container; /* its group's, which it leaves when closed */
	int group;
	struct irq_router *irq;
	struct memslots *slots;
	pthread_mutex_t lock; /* MSI-X table accesses and interrupt (re)configuration */
	struct vfio_cfg cfg;
	struct vfio_region cfg_region;
	struct vfio_bar bar[PCI_NUM_BARS];
	struct vfio_region rom;
	uint8_t *rom_data; /* the ROM's contents, read once at start */
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
	unsigned int msi_count, msix_count; /* vectors handed to the kernel, 0 = none */

	uint32_t intx_count; /* from VFIO_DEVICE_GET_IRQ_INFO; 0: no INTx */
	int intx_fd, intx_resample_fd;
	unsigned int intx_gsi;
	bool intx_on;
};

static inline struct vfio_dev *to_vfio(struct pci_dev *d)
{
	return d->priv;
}

#endif
