/*
 * libFuzzer target: the MSI capability and the MSI-X capability, table and PBA of one
 * function, as a guest drives them (PCI Local Bus 3.0 §6.8). KVM is a stub that accepts
 * every routing and irqfd change; the eventfds are real, so a raised vector, masked or
 * not, shows in the PBA. Ops (fuzz_ops.h), by kind % 7: config write or read at off %
 * 256, MSI-X table write or read at off % (table + 16), PBA read, raise vector off,
 * function reset.
 */
#include "fuzz_ops.h"
#include "pci/config.h"
#include "pci/msi.h"
#include "pci/msix.h"

#include <stdlib.h>
#include <unistd.h>

#define MSI_VECTORS  32
#define MSIX_VECTORS 64

struct fn {
	struct pci_dev d;
	struct msi msi;
	struct msix msix;
};

static void fn_config_written(struct pci_dev *d, unsigned int off, unsigned int size)
{
	struct fn *f = d->priv;

	msi_config_written(&f->msi, off, size);
	msix_config_written(&f->msix, off, size);
}

static const struct pci_dev_ops fn_ops = {.config_written = fn_config_written};

static void vector_raise(struct fn *f, unsigned int v)
{
	uint64_t one = 1;
	int fd = v & 1 ? msi_vector_fd(&f->msi, (v >> 1) % MSI_VECTORS)
		       : msix_vector_fd(&f->msix, (v >> 1) % MSIX_VECTORS);

	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static void op_run(struct fn *f, const struct fuzz_op *op)
{
	unsigned int sz = op->size > 4 ? 4 : op->size, table = MSIX_VECTORS * MSIX_ENTRY_SIZE;
	uint8_t buf[8];

	switch (op->kind % 7) {
	case 0:
		pci_config_write(&f->d, op->off % (PCI_CFG_SPACE_SIZE - 3), op->bytes, sz);
		break;
	case 1:
		pci_config_read(&f->d, op->off % (PCI_CFG_SPACE_SIZE - 3), buf, sz);
		break;
	case 2:
		msix_table_write(&f->msix, op->off % (table + 16), op->bytes, op->size);
		break;
	case 3:
		msix_table_read(&f->msix, op->off % (table + 16), buf, op->size);
		break;
	case 4:
		msix_pba_read(&f->msix, op->off % 16, buf, op->size);
		break;
	case 5:
		vector_raise(f, op->off);
		break;
	default:
		msi_reset(&f->msi);
		msix_reset(&f->msix);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct irq_router r;
	struct fuzz_op op;
	struct fn f = {0};

	fuzz_router_init(&r);
	pci_dev_init(&f.d, &fn_ops, "fuzz", 0x1af4, 0x1000, 0x020000, PCI_HEADER_TYPE_NORMAL);
	f.d.priv = &f;
	if (msi_init(&f.msi, &f.d, &r, MSI_VECTORS, true, true) ||
	    msix_init(&f.msix, &f.d, &r, MSIX_VECTORS, 2, 0, 0x1000))
		abort();
	while (fuzz_op_next(&data, &size, &op))
		op_run(&f, &op);
	msi_destroy(&f.msi);
	msix_destroy(&f.msix);
	irq_router_destroy(&r);
	return 0;
}
