/* MSI-X decisions: which vectors are routed and bound to irqfds as the guest enables,
 * masks and unmasks, and what the PBA shows. KVM is replaced by a recorder of the
 * routing table and irqfd bindings; the eventfds are real. */
#include "pci/config.h"
#include "pci/msix.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NR 4

static struct {
	int irqfd_gsi[64]; /* per eventfd: bound GSI or -1 */
	uint32_t route_data[2048];
	unsigned int commits;
	unsigned int injected;
} kvm;

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd;
	if (req == KVM_IRQFD) {
		struct kvm_irqfd *i = arg;

		uint64_t n;

		kvm.irqfd_gsi[i->fd] = (i->flags & KVM_IRQFD_FLAG_DEASSIGN) ? -1 : (int)i->gsi;
		/* like KVM, an irqfd bound to a signalled eventfd injects at once */
		if (!(i->flags & KVM_IRQFD_FLAG_DEASSIGN) && read((int)i->fd, &n, 8) == 8)
			kvm.injected++;
	} else if (req == KVM_SET_GSI_ROUTING) {
		struct kvm_irq_routing *t = arg;

		for (unsigned int e = 0; e < t->nr; e++)
			if (t->entries[e].type == KVM_IRQ_ROUTING_MSI)
				kvm.route_data[t->entries[e].gsi] = t->entries[e].u.msi.data;
		kvm.commits++;
	}
	return 0;
}

static struct {
	unsigned int calls;
	bool enabled;
	unsigned int nr;
} told;

static void on_enable(void *opaque, bool enabled, unsigned int nr)
{
	CHECK(opaque == &told);
	told.calls++;
	told.enabled = enabled;
	told.nr = nr;
}

static void entry(struct msix *x, unsigned int v, uint32_t addr, uint32_t data, uint32_t ctrl)
{
	uint32_t e[4] = {addr, 0, data, ctrl};

	msix_table_write(x, v * 16, (uint8_t *)e, 8);
	msix_table_write(x, v * 16 + 8, (uint8_t *)&e[2], 8);
}

static void ctrl(struct msix *x, uint16_t v)
{
	pci_config_write(x->dev, x->cap + PCI_MSIX_FLAGS, (uint8_t *)&v, 2);
	msix_config_written(x, x->cap + PCI_MSIX_FLAGS, 2);
}

static uint8_t pba(struct msix *x)
{
	uint8_t b;

	msix_pba_read(x, 0, &b, 1);
	return b;
}

static int bound(struct msix *x, unsigned int v)
{
	return kvm.irqfd_gsi[msix_vector_fd(x, v)];
}

int main(void)
{
	static struct pci_dev d;
	struct irq_router r;
	struct msix x;
	uint64_t one = 1;
	uint32_t t;

	memset(kvm.irqfd_gsi, 0xff, sizeof(kvm.irqfd_gsi));
	CHECK(irq_router_init(&r, -1) == 0);
	r.kvm_ioctl = fake_ioctl;
	pci_dev_init(&d, NULL, "t", 1, 2, 0, PCI_HEADER_TYPE_NORMAL);
	CHECK(msix_init(&x, &d, &r, NR, 2, 0, 0x800) == 0);
	CHECK(pci_get16(&d, x.cap + PCI_MSIX_FLAGS) == NR - 1);
	CHECK(pci_get32(&d, x.cap + PCI_MSIX_TABLE) == 2);
	CHECK(pci_get32(&d, x.cap + PCI_MSIX_PBA) == 0x802);
	msix_set_notify(&x, on_enable, &told);
	/* entries come out of reset masked */
	msix_table_read(&x, 12, (uint8_t *)&t, 4);
	CHECK(t == 1);

	/* programmed and unmasked, but MSI-X not enabled: nothing bound */
	entry(&x, 0, 0xfee00000, 0x41, 0);
	entry(&x, 1, 0xfee00000, 0x42, 1);
	CHECK(bound(&x, 0) < 0);
	CHECK(told.calls == 0);
	ctrl(&x, PCI_MSIX_FLAGS_ENABLE);
	CHECK(told.calls == 1 && told.enabled && told.nr == NR);
	CHECK(bound(&x, 0) >= 24 && kvm.route_data[bound(&x, 0)] == 0x41);
	CHECK(bound(&x, 1) < 0); /* vector 1 is masked */

	/* a masked vector's event is pending in the PBA; unmasking binds and delivers */
	CHECK(write(msix_vector_fd(&x, 1), &one, 8) == 8);
	CHECK(pba(&x) == 0x02);
	entry(&x, 1, 0xfee00000, 0x42, 0);
	CHECK(bound(&x, 1) >= 24 && kvm.route_data[bound(&x, 1)] == 0x42);
	CHECK(kvm.injected == 1); /* the pending message went out on unmask */
	CHECK(pba(&x) == 0);	  /* KVM owns the eventfd again */

	/* function mask detaches everything, and re-attaches on clear */
	ctrl(&x, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	CHECK(bound(&x, 0) < 0 && bound(&x, 1) < 0);
	CHECK(write(msix_vector_fd(&x, 0), &one, 8) == 8);
	CHECK(pba(&x) == 0x01);
	ctrl(&x, PCI_MSIX_FLAGS_ENABLE);
	CHECK(bound(&x, 0) >= 24 && bound(&x, 1) >= 24);
	CHECK(told.calls == 1); /* the function mask is not an enable change */

	/* disable and re-enable: the owner hears both */
	ctrl(&x, 0);
	CHECK(told.calls == 2 && !told.enabled && told.nr == 0);
	CHECK(bound(&x, 0) < 0 && bound(&x, 1) < 0);
	ctrl(&x, PCI_MSIX_FLAGS_ENABLE);
	CHECK(told.calls == 3 && told.enabled && told.nr == NR);

	/* retargeting a live vector updates its route in place */
	entry(&x, 0, 0xfee01000, 0x55, 0);
	CHECK(kvm.route_data[bound(&x, 0)] == 0x55);

	/* odd-sized or out-of-table accesses are ignored */
	t = 0;
	msix_table_write(&x, 2, (uint8_t *)&t, 2);
	msix_table_write(&x, NR * 16, (uint8_t *)&t, 4);
	msix_table_read(&x, NR * 16, (uint8_t *)&t, 4);
	CHECK(t == 0xffffffff);

	/* reset: disabled, masked, nothing bound, nothing pending */
	msix_reset(&x);
	CHECK(bound(&x, 0) < 0 && bound(&x, 1) < 0 && pba(&x) == 0);
	CHECK(told.calls == 4 && !told.enabled && told.nr == 0);
	msix_reset(&x); /* already disabled: nothing to tell */
	CHECK(told.calls == 4);
	msix_destroy(&x);
	irq_router_destroy(&r);
	return CHECK_DONE();
}
