/*
 * Generic config space behaviour. A write changes only the bits wmask allows, and a 1
 * written to a bit in w1cmask clears it (Status, Device Status, ...). Capabilities are
 * chained from 0x34 (standard, in the first 256 bytes) and from 0x100 (extended).
 */
#include "pci/config.h"
#include "pci/bar.h"

#include <stdio.h>
#include <string.h>

void pci_dev_init(struct pci_dev *d, const struct pci_dev_ops *ops, const char *name,
		  uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t header_type)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	memset(d->w1cmask, 0, sizeof(d->w1cmask));
	d->ops = ops;
	snprintf(d->name, sizeof(d->name), "%s", name);
	pci_set16(d, PCI_VENDOR_ID, vendor);
	pci_set16(d, PCI_DEVICE_ID, device);
	pci_set32(d, PCI_CLASS_REVISION, class_code << 8);
	pci_set8(d, PCI_HEADER_TYPE, header_type);
	pci_set16(d, PCI_STATUS, PCI_STATUS_CAP_LIST);
	/* Command: I/O, memory, bus master, SERR, parity, INTx disable are writable. */
	pci_set_wmask16(d, PCI_COMMAND,
			PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	pci_set_w1c16(d, PCI_STATUS,
		      PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
			      PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
			      PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	if ((header_type & 0x7f) == PCI_HEADER_TYPE_NORMAL)
		d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->cap_next = 0x40;
	d->ecap_next = 0x100;
	d->ecap_last = 0;
}

/* Appends a standard capability of len bytes; returns its offset, 0 if full. */
unsigned int pci_cap_add(struct pci_dev *d, uint8_t id, unsigned int len)
{
	unsigned int off = d->cap_next, p;

	if (off + len > 0x100)
		return 0;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	if (!d->cfg[PCI_CAPABILITY_LIST]) {
		d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	} else {
		for (p = d->cfg[PCI_CAPABILITY_LIST]; d->cfg[p + 1]; p = d->cfg[p + 1])
			;
		d->cfg[p + 1] = (uint8_t)off;
	}
	d->cap_next = (uint8_t)((off + len + 3) & ~3U);
	return off;
}

unsigned int pci_cap_find(const struct pci_dev *d, uint8_t id)
{
	unsigned int p, hops = 0;

	for (p = d->cfg[PCI_CAPABILITY_LIST]; p && hops < 48; p = d->cfg[p + 1], hops++)
		if (d->cfg[p] == id)
			return p;
	return 0;
}

/* Extended capabilities start at 0x100; each header is ID:16, version:4, next:12. */
unsigned int pci_ecap_add(struct pci_dev *d, uint16_t id, uint8_t version, unsigned int len)
{
	unsigned int off = d->ecap_next;

	if (off + len > PCI_CFG_SIZE)
		return 0;
	if (d->ecap_last)
		pci_set32(d, d->ecap_last, (pci_get32(d, d->ecap_last) & 0x000fffff) | off << 20);
	pci_set32(d, off, id | (uint32_t)version << 16);
	d->ecap_last = (uint16_t)off;
	d->ecap_next = (uint16_t)((off + len + 3) & ~3U);
	return off;
}

void pci_config_read(struct pci_dev *d, unsigned int off, uint8_t *data, unsigned int size)
{
	if (off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off) {
		memset(data, 0xff, size);
		return;
	}
	if (d->ops && d->ops->config_read && d->ops->config_read(d, off, data, size))
		return;
	memcpy(data, &d->cfg[off], size);
}

static bool is_bridge(const struct pci_dev *d)
{
	return (d->cfg[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_BRIDGE;
}

/* Registers that decide what a function (or a bridge, for what is below it) decodes:
 * the command register, BARs, the expansion ROM, and a bridge's bus numbers and
 * windows. */
static bool touches_decode(const struct pci_dev *d, unsigned int off, unsigned int size)
{
	unsigned int end = off + size;
	unsigned int last = is_bridge(d) ? PCI_PREF_LIMIT_UPPER32 + 4 : PCI_BASE_ADDRESS_5 + 4;
	unsigned int rom = is_bridge(d) ? PCI_ROM_ADDRESS1 : PCI_ROM_ADDRESS;

	if (off < PCI_COMMAND + 2 && end > PCI_COMMAND)
		return true;
	if (off < rom + 4 && end > rom)
		return true;
	return off < last && end > PCI_BASE_ADDRESS_0;
}

void pci_config_write(struct pci_dev *d, unsigned int off, const uint8_t *data, unsigned int size)
{
	unsigned int i;

	if (off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off)
		return;
	if (d->ops && d->ops->config_write)
		d->ops->config_write(d, off, data, size);
	for (i = 0; i < size; i++) {
		uint8_t w = d->wmask[off + i], c = d->w1cmask[off + i];

		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~w) | (data[i] & w));
		d->cfg[off + i] &= (uint8_t) ~(data[i] & c);
	}
	if (d->machine && touches_decode(d, off, size))
		pci_update_mappings(d);
	if (d->ops && d->ops->config_written)
		d->ops->config_written(d, off, size);
}

void pci_cfg_read(struct pci_machine *m, unsigned int busnr, unsigned int devfn, unsigned int off,
		  uint8_t *data, unsigned int size)
{
	struct pci_dev *d;

	pthread_mutex_lock(&m->lock);
	d = pci_find(m, busnr, devfn);
	if (d)
		pci_config_read(d, off, data, size);
	else
		memset(data, 0xff, size); /* master abort: no device answers */
	pthread_mutex_unlock(&m->lock);
}

void pci_cfg_write(struct pci_machine *m, unsigned int busnr, unsigned int devfn, unsigned int off,
		   const uint8_t *data, unsigned int size)
{
	struct pci_dev *d;

	pthread_mutex_lock(&m->lock);
	d = pci_find(m, busnr, devfn);
	if (d)
		pci_config_write(d, off, data, size);
	pthread_mutex_unlock(&m->lock);
}
