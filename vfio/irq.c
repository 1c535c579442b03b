/*
 * Interrupts of an assigned function, none of which pass through conduit at run time.
 *
 * MSI and MSI-X: the guest programs the emulated capability and table (pci/msi.c,
 * pci/msix.c); each vector owns an eventfd that is a KVM irqfd while the vector can
 * fire. When the guest enables MSI or MSI-X, those eventfds are handed to the kernel
 * with VFIO_DEVICE_SET_IRQS, so the host interrupt handler signals KVM directly (and
 * with an IRQ-bypass capable IOMMU, KVM posts it without waking any host CPU). Masking
 * a vector only detaches its irqfd: the kernel keeps signalling, the eventfd holds the
 * pending state, and unmasking delivers it. MSI's vector count is negotiated through
 * Multiple Message Enable, so a new count re-issues SET_IRQS.
 *
 * INTx is level-triggered: VFIO masks the host line when it fires and signals the
 * trigger eventfd, an irqfd that asserts the guest's IOAPIC pin; the guest's EOI makes
 * KVM deassert it and signal the resample eventfd, which VFIO takes as "unmask". The
 * kernel allows only one of INTx, MSI, MSI-X at a time, so INTx is switched off while
 * either is on and back on when both are off.
 */
#include "pci/bus.h"
#include "vfio/host_check.h"
#include "vfio/irq.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int set_irqs(struct vfio_dev *v, uint32_t index, uint32_t flags, unsigned int count,
		    const int *fds)
{
	size_t len = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
	struct vfio_irq_set *set = calloc(1, len);
	int ret;

	if (!set)
		return -1;
	set->argsz = (uint32_t)len;
	set->flags = flags;
	set->index = index;
	set->count = count;
	if (count)
		memcpy(set->data, fds, count * sizeof(int32_t));
	ret = ioctl(v->fd, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	return ret;
}

static int irqs_off(struct vfio_dev *v, uint32_t index)
{
	return set_irqs(v, index, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, NULL);
}

static int irqs_eventfds(struct vfio_dev *v, uint32_t index, const int *fds, unsigned int n)
{
	return set_irqs(v, index, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, n, fds);
}

static void intx_off(struct vfio_dev *v)
{
	if (!v->intx_on)
		return;
	irqs_off(v, VFIO_PCI_INTX_IRQ_INDEX);
	irqfd_deassign(v->irq, v->intx_fd, v->intx_gsi);
	v->intx_on = false;
}

static void intx_on(struct vfio_dev *v)
{
	v->intx_gsi = pci_intx_gsi(&v->pci);
	if (irqfd_assign_resample(v->irq, v->intx_fd, v->intx_resample_fd, v->intx_gsi))
		return;
	if (irqs_eventfds(v, VFIO_PCI_INTX_IRQ_INDEX, &v->intx_fd, 1) ||
	    set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX,
		     VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, 1,
		     &v->intx_resample_fd)) {
		log_guest_warn("vfio %s: cannot enable INTx: %s", v->bdf, strerror(errno));
		irqs_off(v, VFIO_PCI_INTX_IRQ_INDEX);
		irqfd_deassign(v->irq, v->intx_fd, v->intx_gsi);
		return;
	}
	v->intx_on = true;
}

/* INTx runs while the function has a pin, sits on a bus, and neither MSI nor MSI-X is
 * on. Called with v->lock held. */
void vfio_intx_update(struct vfio_dev *v)
{
	bool want = v->intx_count && v->pci.cfg[PCI_INTERRUPT_PIN] && v->pci.bus && !v->msi_count &&
		    !v->msix_count;

	if (want && !v->intx_on)
		intx_on(v);
	else if (!want)
		intx_off(v);
}

/*
 * Hands the guest's nr vectors of VFIO IRQ index (MSI or MSI-X) to the kernel: the host
 * interrupt handler then writes their eventfds, KVM's irqfds. on is how many the kernel
 * has now; returns how many it has after (0: none).
 */
static unsigned int vectors_to_kernel(struct vfio_dev *v, uint32_t index, const char *what,
				      const struct irq_vector *vec, unsigned int on,
				      unsigned int nr)
{
	int fds[VFIO_MAX_VECTORS];
	unsigned int i;

	if (on)
		irqs_off(v, index);
	if (!nr)
		return 0;
	intx_off(v);
	for (i = 0; i < nr && i < VFIO_MAX_VECTORS; i++)
		fds[i] = vec[i].eventfd;
	if (irqs_eventfds(v, index, fds, i)) {
		log_guest_warn("vfio %s: cannot enable %u %s vectors: %s", v->bdf, i, what,
			       strerror(errno));
		return 0;
	}
	return i;
}

static void msix_changed(void *opaque, bool enabled, unsigned int nr)
{
	struct vfio_dev *v = opaque;

	v->msix_count = vectors_to_kernel(v, VFIO_PCI_MSIX_IRQ_INDEX, "MSI-X", v->msix.vec,
					  v->msix_count, enabled ? nr : 0);
	vfio_intx_update(v);
}

static void msi_changed(void *opaque, bool enabled, unsigned int nr)
{
	struct vfio_dev *v = opaque;

	v->msi_count = vectors_to_kernel(v, VFIO_PCI_MSI_IRQ_INDEX, "MSI", v->msi.vec, v->msi_count,
					 enabled ? nr : 0);
	vfio_intx_update(v);
}

static uint32_t irq_count(struct vfio_dev *v, uint32_t index)
{
	struct vfio_irq_info info = {.argsz = sizeof(info), .index = index};

	return ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &info) ? 0 : info.count;
}

static int msi_setup(struct vfio_dev *v)
{
	unsigned int cap = v->cfg.msi;
	uint16_t flags = pci_get16(&v->pci, cap + PCI_MSI_FLAGS);
	unsigned int mmc = (flags & PCI_MSI_FLAGS_QMASK) >> 1;

	if (mmc > 5)
		mmc = 5;
	if (msi_init_at(&v->msi, &v->pci, v->irq, cap, 1U << mmc, flags & PCI_MSI_FLAGS_64BIT,
			flags & PCI_MSI_FLAGS_MASKBIT))
		return -1;
	v->has_msi = true;
	msi_set_notify(&v->msi, msi_changed, v);
	return 0;
}

static int msix_setup(struct vfio_dev *v)
{
	unsigned int cap = v->cfg.msix;
	uint32_t table = pci_get32(&v->pci, cap + PCI_MSIX_TABLE);
	uint32_t pba = pci_get32(&v->pci, cap + PCI_MSIX_PBA);

	if (msix_init_at(&v->msix, &v->pci, v->irq, cap))
		return -1;
	v->has_msix = true;
	v->msix_table_bar = table & PCI_MSIX_TABLE_BIR;
	v->msix_table = (struct vfio_area){table & PCI_MSIX_TABLE_OFFSET,
					   (uint64_t)v->msix.nr * MSIX_ENTRY_SIZE};
	v->msix_pba_bar = pba & PCI_MSIX_PBA_BIR;
	v->msix_pba = (struct vfio_area){pba & PCI_MSIX_PBA_OFFSET, (v->msix.nr + 63) / 64 * 8};
	msix_set_notify(&v->msix, msix_changed, v);
	return 0;
}

/* Emulation for the device's MSI/MSI-X capabilities and INTx eventfds; must run
 * before the BARs are set up (the MSI-X table must trap). */
int vfio_irqs_init(struct vfio_dev *v)
{
	v->intx_fd = v->intx_resample_fd = -1;
	if (v->cfg.msi && irq_count(v, VFIO_PCI_MSI_IRQ_INDEX) && msi_setup(v))
		return -1;
	if (v->cfg.msix && irq_count(v, VFIO_PCI_MSIX_IRQ_INDEX) && msix_setup(v))
		return -1;
	v->intx_count = irq_count(v, VFIO_PCI_INTX_IRQ_INDEX);
	if (!v->intx_count)
		return 0;
	v->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->intx_resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return v->intx_fd < 0 || v->intx_resample_fd < 0 ? -1 : 0;
}

/* Everything off in the kernel: on reset and before the device is closed. */
void vfio_irqs_stop(struct vfio_dev *v)
{
	intx_off(v);
	if (v->msix_count)
		irqs_off(v, VFIO_PCI_MSIX_IRQ_INDEX);
	if (v->msi_count)
		irqs_off(v, VFIO_PCI_MSI_IRQ_INDEX);
	v->msix_count = 0;
	v->msi_count = 0;
}

void vfio_irqs_destroy(struct vfio_dev *v)
{
	vfio_irqs_stop(v);
	if (v->has_msix)
		msix_destroy(&v->msix);
	if (v->has_msi)
		msi_destroy(&v->msi);
	if (v->intx_fd >= 0)
		close(v->intx_fd);
	if (v->intx_resample_fd >= 0)
		close(v->intx_resample_fd);
}

/* One /proc/interrupts line: "IRQ: per-CPU counts... chip hwirq name"; the counts of
 * ncpu CPUs summed into *sum when its name is vfio-pci's for the function
 * (vfio-intx(BDF), vfio-msi[N](BDF), vfio-msix[N](BDF)). */
static void irq_line_add(const char *line, const char *owner, unsigned int ncpu, uint64_t *sum)
{
	const char *p = strchr(line, ':'), *name = strstr(line, " vfio-");
	size_t n = strlen(line), o = strlen(owner);
	char *end;

	while (n && line[n - 1] == '\n')
		n--;
	if (!p || !name || n < o || memcmp(line + n - o, owner, o))
		return;
	for (p++; ncpu--; p = end) {
		uint64_t v = strtoull(p, &end, 10);

		if (end == p)
			return;
		*sum += v;
	}
}

int vfio_host_irq_count(const char *root, const char *bdf, uint64_t *count)
{
	char *line = NULL, owner[VFIO_BDF_LEN + 2], path[PATH_MAX];
	unsigned int ncpu = 0;
	size_t cap = 0;
	FILE *f;

	host_path(path, sizeof(path), root, "/proc/interrupts");
	f = fopen(path, "re");
	if (!f)
		return -1;
	snprintf(owner, sizeof(owner), "(%s)", bdf);
	*count = 0;
	/* the header names one column per CPU: "CPU0 CPU1 ..." */
	if (getline(&line, &cap, f) > 0)
		for (const char *c = line; (c = strstr(c, "CPU")); c += 3)
			ncpu++;
	while (getline(&line, &cap, f) > 0)
		irq_line_add(line, owner, ncpu, count);
	free(line);
	fclose(f);
	return 0;
}
