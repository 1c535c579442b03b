/*
 * A host PCI function assigned to the guest through VFIO: the same struct pci_dev
 * contract as every emulated function, backed by the VFIO device fd.
 */
#ifndef CONDUIT_VFIO_PCI_H
#define CONDUIT_VFIO_PCI_H

#include "irq/router.h"
#include "pci/dev.h"
#include "vfio/container.h"
#include "vfio/relocate.h"
#include "vmm/base/memslot.h"

struct vfio_pci_args {
	const char *bdf; /* DDDD:BB:DD.F, checked by vfio_host_check() */
	int group;	 /* its IOMMU group */
	struct vfio_container *container;
	struct irq_router *irq;
	struct memslots *slots;
	const char *host_root; /* "/": where sysfs is read for the posting report */
	enum vfio_msix_relocate msix_relocate;
};

struct pci_dev *vfio_pci_create(const struct vfio_pci_args *a);

#endif
