/*
 * Config access mechanisms. ECAM (PCIe spec §7.2.2): a 256 MiB MMIO window where
 * address bits 27:20 are the bus, 19:15 the device, 14:12 the function and 11:0 the
 * register, reaching all 4 KiB of config space. The legacy mechanism #1: a dword
 * write to 0xcf8 with bit 31 set selects bus/devfn/register (first 256 bytes), and
 * 0xcfc-0xcff carry the data. A byte access to 0xcf9 is not part of CONFIG_ADDRESS:
 * it is the chipset's reset control register, handed to the power model.
 */
#include "pci/host.h"
#include "pci/config.h"

#include <string.h>

#define VENDOR_REDHAT	  0x1b36
#define DEVICE_PCIE_HOST  0x0008
#define CLASS_BRIDGE_HOST 0x060000
#define CF8_ENABLE	  0x80000000U
#define CF8_PORT	  0xcf8
#define CFC_PORT	  0xcfc

static bool access_ok(uint64_t off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && !(off & (size - 1));
}

static void ecam_read(void *opaque, uint64_t off, uint8_t *data, unsigned int size)
{
	struct pci_host *h = opaque;

	if (!access_ok(off, size)) {
		memset(data, 0xff, size);
		return;
	}
	pci_cfg_read(h->machine, (unsigned int)(off >> 20), (off >> 12) & 0xff, off & 0xfff, data,
		     size);
}

static void ecam_write(void *opaque, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct pci_host *h = opaque;

	if (access_ok(off, size))
		pci_cfg_write(h->machine, (unsigned int)(off >> 20), (off >> 12) & 0xff,
			      off & 0xfff, data, size);
}

static void cf8_read(void *opaque, uint64_t off, uint8_t *data, unsigned int size)
{
	struct pci_host *h = opaque;

	if (off == 1 && size == 1) {
		h->cf9.read(h->cf9.opaque, 0, data, 1);
		return;
	}
	memset(data, 0xff, size);
	if (off == 0 && size == 4)
		memcpy(data, &h->cf8, 4);
}

static void cf8_write(void *opaque, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct pci_host *h = opaque;

	if (off == 1 && size == 1)
		h->cf9.write(h->cf9.opaque, 0, data, 1);
	else if (off == 0 && size == 4)
		memcpy(&h->cf8, data, 4);
}

static bool cfc_target(const struct pci_host *h, uint64_t off, unsigned int size, unsigned int *reg)
{
	if (!(h->cf8 & CF8_ENABLE) || !access_ok(off, size))
		return false;
	*reg = (h->cf8 & 0xfc) + (unsigned int)off;
	return true;
}

static void cfc_read(void *opaque, uint64_t off, uint8_t *data, unsigned int size)
{
	struct pci_host *h = opaque;
	unsigned int reg;

	if (!cfc_target(h, off, size, &reg)) {
		memset(data, 0xff, size);
		return;
	}
	pci_cfg_read(h->machine, (h->cf8 >> 16) & 0xff, (h->cf8 >> 8) & 0xff, reg, data, size);
}

static void cfc_write(void *opaque, uint64_t off, const uint8_t *data, unsigned int size)
{
	struct pci_host *h = opaque;
	unsigned int reg;

	if (cfc_target(h, off, size, &reg))
		pci_cfg_write(h->machine, (h->cf8 >> 16) & 0xff, (h->cf8 >> 8) & 0xff, reg, data,
			      size);
}

static const struct pci_dev_ops host_ops = {0};

int pci_host_init(struct pci_host *h, struct pci_machine *m, uint64_t ecam_addr,
		  const struct io_region *reset_reg)
{
	struct io_region ecam = {.base = ecam_addr,
				 .len = PCI_ECAM_SIZE,
				 .read = ecam_read,
				 .write = ecam_write,
				 .opaque = h};
	struct io_region cf8 = {
		.base = CF8_PORT, .len = 4, .read = cf8_read, .write = cf8_write, .opaque = h};
	struct io_region cfc = {
		.base = CFC_PORT, .len = 4, .read = cfc_read, .write = cfc_write, .opaque = h};

	memset(h, 0, sizeof(*h));
	h->machine = m;
	h->cf9 = *reset_reg;
	pci_dev_init(&h->dev, &host_ops, "host-bridge", VENDOR_REDHAT, DEVICE_PCIE_HOST,
		     CLASS_BRIDGE_HOST, PCI_HEADER_TYPE_NORMAL);
	pci_set16(&h->dev, PCI_STATUS, 0); /* no capabilities */
	if (pci_bus_attach(m->bus[0], &h->dev, PCI_DEVFN(0, 0)))
		return -1;
	if (iobus_register(m->mmio, &ecam) || iobus_register(m->pio, &cf8) ||
	    iobus_register(m->pio, &cfc))
		return -1;
	return 0;
}
