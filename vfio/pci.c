/*
 * An assigned function as a struct pci_dev. Config reads come live from the device with
 * the emulated bytes (vfio/config.c) laid over them; writes go to the image and, for
 * the forwarded registers, to the device. A Function Level Reset the guest starts
 * through PCIe Device Control becomes VFIO_DEVICE_RESET (the kernel picks FLR or the
 * best reset the device has), as does a reset from a bridge above.
 */
#include "vfio/pci.h"
#include "irq/posted.h"
#include "pci/bar.h"
#include "pci/bus.h"
#include "vfio/bar.h"
#include "vfio/irq.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static bool dev_config_read(struct pci_dev *d, unsigned int off, uint8_t *data, unsigned int size)
{
	struct vfio_dev *v = to_vfio(d);
	unsigned int live = off < v->cfg.size ? v->cfg.size - off : 0;

	if (live > size)
		live = size;
	if (live && pread(v->fd, data, live, (off_t)(v->cfg_region.off + off)) != (ssize_t)live)
		memset(data, 0xff, live);
	vfio_cfg_overlay(&v->cfg, d, off, data, size);
	if (v->has_msi)
		msi_config_read(&v->msi, off, data, size);
	return true;
}

static void device_reset(struct vfio_dev *v)
{
	if (v->can_reset && ioctl(v->fd, VFIO_DEVICE_RESET))
		log_warn("vfio %s: reset failed: %s", v->bdf, strerror(errno));
}

/* A 1 written to Initiate Function Level Reset (PCIe Device Control bit 15). */
static bool flr_requested(const struct vfio_dev *v, unsigned int off, const uint8_t *data,
			  unsigned int size)
{
	unsigned int bit = v->cfg.pcie + PCI_EXP_DEVCTL + 1;

	return v->cfg.pcie && off <= bit && off + size > bit &&
	       (data[bit - off] & (PCI_EXP_DEVCTL_BCR_FLR >> 8));
}

/* Writes the forwarded bytes of a guest config write to the device, run by run. */
static void dev_config_write(struct pci_dev *d, unsigned int off, const uint8_t *data,
			     unsigned int size)
{
	struct vfio_dev *v = to_vfio(d);
	uint8_t buf[8];
	unsigned int i = 0, start;

	if (size > sizeof(buf))
		return;
	memcpy(buf, data, size);
	/* the FLR itself is VFIO_DEVICE_RESET, once the rest of the write is in */
	v->flr_pending = flr_requested(v, off, data, size);
	if (v->flr_pending)
		buf[v->cfg.pcie + PCI_EXP_DEVCTL + 1 - off] &=
			(uint8_t) ~(PCI_EXP_DEVCTL_BCR_FLR >> 8);
	while (i < size) {
		for (; i < size && !v->cfg.fwd[off + i]; i++)
			;
		for (start = i; i < size && v->cfg.fwd[off + i]; i++)
			;
		if (i > start &&
		    pwrite(v->fd, buf + start, i - start,
			   (off_t)(v->cfg_region.off + off + start)) != (ssize_t)(i - start))
			log_warn("vfio %s: config write at 0x%x failed", v->bdf, off + start);
	}
}

static void irq_state_reset(struct vfio_dev *v)
{
	pthread_mutex_lock(&v->lock);
	vfio_irqs_stop(v);
	if (v->has_msix)
		msix_reset(&v->msix);
	if (v->has_msi)
		msi_reset(&v->msi);
	pthread_mutex_unlock(&v->lock);
}

/* Function reset from the guest's point of view: interrupts off, decoding off. */
static void dev_reset(struct pci_dev *d)
{
	struct vfio_dev *v = to_vfio(d);

	irq_state_reset(v);
	device_reset(v);
	pci_set16(d, PCI_COMMAND, 0);
	if (d->machine)
		pci_update_mappings(d);
}

static void dev_config_written(struct pci_dev *d, unsigned int off, unsigned int size)
{
	struct vfio_dev *v = to_vfio(d);

	if (v->flr_pending) {
		v->flr_pending = false;
		log_guest_info("vfio %s: function level reset by the guest", v->bdf);
		dev_reset(d);
		return;
	}
	pthread_mutex_lock(&v->lock);
	if (v->has_msix)
		msix_config_written(&v->msix, off, size);
	if (v->has_msi)
		msi_config_written(&v->msi, off, size);
	vfio_intx_update(v);
	pthread_mutex_unlock(&v->lock);
}

static void dev_bar_moved(struct pci_dev *d, unsigned int bar)
{
	vfio_bar_moved(to_vfio(d), bar);
}

/* Leaves the function as conduit found it: interrupts off, reset, still bound to
 * vfio-pci, ready for the next VM. */
static void dev_destroy(struct pci_dev *d)
{
	struct vfio_dev *v = to_vfio(d);

	pthread_mutex_lock(&v->lock);
	vfio_irqs_destroy(v);
	pthread_mutex_unlock(&v->lock);
	vfio_bars_destroy(v);
	if (v->fd >= 0) {
		device_reset(v);
		close(v->fd);
		vfio_device_close(v->container, v->group);
	}
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const struct pci_dev_ops vfio_pci_ops = {
	.config_write = dev_config_write,
	.config_written = dev_config_written,
	.config_read = dev_config_read,
	.bar_moved = dev_bar_moved,
	.reset = dev_reset,
	.destroy = dev_destroy,
};

static int device_info(struct vfio_dev *v)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};

	if (ioctl(v->fd, VFIO_DEVICE_GET_INFO, &info)) {
		log_error("vfio %s: VFIO_DEVICE_GET_INFO failed: %s", v->bdf, strerror(errno));
		return -1;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		log_error("vfio %s: not a PCI device as VFIO sees it", v->bdf);
		return -1;
	}
	v->can_reset = info.flags & VFIO_DEVICE_FLAGS_RESET;
	if (!v->can_reset)
		log_warn("vfio %s: the device has no reset VFIO can use: it starts as the "
			 "previous user left it",
			 v->bdf);
	return 0;
}

/* Reads the device's config space and builds the guest's view of it. */
static int config_init(struct vfio_dev *v, enum vfio_msix_relocate relocate)
{
	uint8_t raw[PCI_CFG_SIZE];
	size_t len;

	if (vfio_region_info(v, VFIO_PCI_CONFIG_REGION_INDEX, &v->cfg_region, NULL, NULL)) {
		log_error("vfio %s: no config space region", v->bdf);
		return -1;
	}
	len = v->cfg_region.size < sizeof(raw) ? v->cfg_region.size : sizeof(raw);
	memset(raw, 0, sizeof(raw));
	if (len < PCI_CFG_SPACE_SIZE ||
	    pread(v->fd, raw, len, (off_t)v->cfg_region.off) != (ssize_t)len) {
		log_error("vfio %s: cannot read its config space", v->bdf);
		return -1;
	}
	vfio_cfg_build(&v->cfg, &v->pci, raw, (unsigned int)len);
	if (vfio_irqs_init(v) || vfio_bars_init(v, raw, relocate))
		return -1;
	return 0;
}

/* One line at start: will the host post this function's interrupts, and if not, why. */
static void report_posting(struct vfio_dev *v, const char *root)
{
	enum irq_posted_kind kind = v->has_msix	 ? IRQ_POSTED_MSIX
				    : v->has_msi ? IRQ_POSTED_MSI
						 : IRQ_POSTED_INTX;
	char line[512];

	irq_posted_check(root, v->bdf, kind, line, sizeof(line));
	log_info("%s", line);
}

struct pci_dev *vfio_pci_create(const struct vfio_pci_args *a)
{
	struct vfio_dev *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	snprintf(v->bdf, sizeof(v->bdf), "%s", a->bdf);
	snprintf(v->pci.name, sizeof(v->pci.name), "vfio %s", a->bdf);
	v->pci.ops = &vfio_pci_ops;
	v->pci.priv = v;
	v->irq = a->irq;
	v->slots = a->slots;
	v->intx_fd = v->intx_resample_fd = -1;
	v->msix_relo_bar = v->rom_slot = -1;
	pthread_mutex_init(&v->lock, NULL);
	v->container = a->container;
	v->group = a->group;
	v->fd = vfio_device_open(a->container, a->bdf, a->group);
	if (v->fd < 0 || device_info(v))
		goto fail;
	device_reset(v);
	if (config_init(v, a->msix_relocate))
		goto fail;
	report_posting(v, a->host_root);
	return &v->pci;
fail:
	dev_destroy(&v->pci);
	return NULL;
}
