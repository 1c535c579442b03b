/* MSI decisions: the capability's layout and write masks for each variant, which vectors
 * are routed (and with what data) as the guest enables, grants, masks and unmasks, what
 * Pending Bits shows, and when the owner is notified. KVM is replaced by a recorder of
 * the routing table and irqfd bindings; the eventfds are real. */
#include "pci/config.h"
#include "pci/msi.h"
#include "tests/unit/check.h"

#include <string.h>
#include <unistd.h>

#define MAX_FD	 1024
#define MAX_GSI	 2048
#define MSG_ADDR 0xfee00000U

static struct {
	int irqfd_gsi[MAX_FD]; /* per eventfd: bound GSI or -1 */
	uint64_t route_addr[MAX_GSI];
	uint32_t route_data[MAX_GSI];
	unsigned int injected;
} kvm;

static struct {
	unsigned int calls;
	bool enabled;
	unsigned int nr;
} told;

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd;
	if (req == KVM_IRQFD) {
		struct kvm_irqfd *i = arg;
		uint64_t n;

		if (i->fd >= MAX_FD)
			return -1;
		kvm.irqfd_gsi[i->fd] = (i->flags & KVM_IRQFD_FLAG_DEASSIGN) ? -1 : (int)i->gsi;
		/* like KVM, an irqfd bound to a signalled eventfd injects at once */
		if (!(i->flags & KVM_IRQFD_FLAG_DEASSIGN) && read((int)i->fd, &n, 8) == 8)
			kvm.injected++;
	} else if (req == KVM_SET_GSI_ROUTING) {
		struct kvm_irq_routing *t = arg;

		for (unsigned int e = 0; e < t->nr; e++) {
			const struct kvm_irq_routing_entry *r = &t->entries[e];

			if (r->type != KVM_IRQ_ROUTING_MSI || r->gsi >= MAX_GSI)
				continue;
			kvm.route_addr[r->gsi] = r->u.msi.address_lo | (uint64_t)r->u.msi.address_hi
									       << 32;
			kvm.route_data[r->gsi] = r->u.msi.data;
		}
	}
	return 0;
}

static void on_enable(void *opaque, bool enabled, unsigned int nr)
{
	CHECK(opaque == &told);
	told.calls++;
	told.enabled = enabled;
	told.nr = nr;
}

/* The device wiring a real function does: its config ops call into msi. */
static void dev_written(struct pci_dev *d, unsigned int off, unsigned int size)
{
	msi_config_written(d->priv, off, size);
}

static bool dev_read(struct pci_dev *d, unsigned int off, uint8_t *data, unsigned int size)
{
	return msi_config_read(d->priv, off, data, size);
}

static const struct pci_dev_ops ops = {.config_written = dev_written, .config_read = dev_read};

static void new_dev(struct pci_dev *d, struct msi *m)
{
	pci_dev_init(d, &ops, "t", 1, 2, 0, PCI_HEADER_TYPE_NORMAL);
	d->priv = m;
}

static void wr(struct msi *m, unsigned int reg, uint32_t v, unsigned int size)
{
	pci_config_write(m->dev, m->cap + reg, (uint8_t *)&v, size);
}

static uint32_t rd(struct msi *m, unsigned int reg, unsigned int size)
{
	uint32_t v = 0;

	pci_config_read(m->dev, m->cap + reg, (uint8_t *)&v, size);
	return v;
}

static int bound(struct msi *m, unsigned int v)
{
	return kvm.irqfd_gsi[msi_vector_fd(m, v)];
}

static void signal_vector(struct msi *m, unsigned int v)
{
	uint64_t one = 1;

	CHECK(write(msi_vector_fd(m, v), &one, 8) == 8);
}

static uint16_t ctrl_enable(unsigned int mme)
{
	return (uint16_t)(PCI_MSI_FLAGS_ENABLE | mme << 4);
}

/* Every variant: the length, Message Control, and what writing all ones leaves. */
static void check_layout(bool addr64, bool pvm, unsigned int len, unsigned int data,
			 unsigned int mask, struct irq_router *r)
{
	static struct pci_dev d;
	struct msi m;
	unsigned int off;

	new_dev(&d, &m);
	CHECK(msi_init(&m, &d, r, 8, addr64, pvm) == 0);
	CHECK(pci_cap_find(&d, PCI_CAP_ID_MSI) == m.cap);
	CHECK(d.cap_next == m.cap + ((len + 3) & ~3U));
	CHECK(rd(&m, PCI_MSI_FLAGS, 2) ==
	      (3 << 1 | (addr64 ? PCI_MSI_FLAGS_64BIT : 0) | (pvm ? PCI_MSI_FLAGS_MASKBIT : 0)));
	for (off = 0; off < len; off += 2)
		wr(&m, off, 0xffff, 2);
	/* capability ID, next pointer, MMC, 64-bit and PVM bits are read-only */
	CHECK(rd(&m, 0, 2) == PCI_CAP_ID_MSI);
	CHECK(rd(&m, PCI_MSI_FLAGS, 2) ==
	      (PCI_MSI_FLAGS_ENABLE | 3 << 4 | 3 << 1 | (addr64 ? PCI_MSI_FLAGS_64BIT : 0) |
	       (pvm ? PCI_MSI_FLAGS_MASKBIT : 0)));
	CHECK(rd(&m, PCI_MSI_ADDRESS_LO, 4) == 0xfffffffc);
	if (addr64)
		CHECK(rd(&m, PCI_MSI_ADDRESS_HI, 4) == 0xffffffff);
	CHECK(rd(&m, data, 2) == 0xffff);
	if (pvm) {
		CHECK(rd(&m, data + 2, 2) == 0); /* reserved */
		CHECK(rd(&m, mask, 4) == 0xff);	 /* one bit per capable vector */
		CHECK(rd(&m, mask + 4, 4) == 0); /* pending: read-only, none */
	}
	/* nothing past the capability became writable */
	CHECK(d.wmask[m.cap + len] == 0 && d.wmask[m.cap + len + 1] == 0);
	msi_destroy(&m);
}

static void test_layouts(struct irq_router *r)
{
	check_layout(false, false, 10, PCI_MSI_DATA_32, 0, r);
	check_layout(true, false, 14, PCI_MSI_DATA_64, 0, r);
	check_layout(false, true, 20, PCI_MSI_DATA_32, PCI_MSI_MASK_32, r);
	check_layout(true, true, 24, PCI_MSI_DATA_64, PCI_MSI_MASK_64, r);
}

static void test_bad_counts(struct irq_router *r)
{
	static struct pci_dev d;
	struct msi m;

	new_dev(&d, &m);
	CHECK(msi_init(&m, &d, r, 0, false, false) < 0);
	msi_destroy(&m);
	CHECK(msi_init(&m, &d, r, 3, false, false) < 0);
	msi_destroy(&m);
	CHECK(msi_init(&m, &d, r, 64, false, false) < 0);
	msi_destroy(&m);
	CHECK(pci_cap_find(&d, PCI_CAP_ID_MSI) == 0);
}

/* An 8-vector, 64-bit, maskable function programmed the way Linux does it, not yet
 * enabled; the notify and injection records start from zero. */
static void programmed(struct pci_dev *d, struct msi *m, struct irq_router *r)
{
	new_dev(d, m);
	CHECK(msi_init(m, d, r, 8, true, true) == 0);
	msi_set_notify(m, on_enable, &told);
	memset(&told, 0, sizeof(told));
	kvm.injected = 0;
	wr(m, PCI_MSI_ADDRESS_LO, MSG_ADDR, 4);
	wr(m, PCI_MSI_ADDRESS_HI, 0, 4);
	wr(m, PCI_MSI_DATA_64, 0x4123, 2);
}

/* MME=2: four vectors, data low 2 bits replaced by the vector number. */
static void test_grant(struct irq_router *r)
{
	static struct pci_dev d;
	struct msi m;
	unsigned int v;

	programmed(&d, &m, r);
	CHECK(told.calls == 0 && bound(&m, 0) < 0);
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(2), 2);
	CHECK(msi_enabled(&m) && msi_nr_enabled(&m) == 4);
	CHECK(told.calls == 1 && told.enabled && told.nr == 4);
	for (v = 0; v < 4; v++) {
		CHECK(bound(&m, v) >= IRQ_FIRST_MSI_GSI);
		CHECK(kvm.route_data[bound(&m, v)] == (0x4120 | v));
		CHECK(kvm.route_addr[bound(&m, v)] == MSG_ADDR);
	}
	CHECK(bound(&m, 0) != bound(&m, 3));
	for (v = 4; v < 8; v++)
		CHECK(bound(&m, v) < 0);
	CHECK(msi_vector_fd(&m, 8) == -1);
	msi_destroy(&m);
}

/* A masked vector's event waits in Pending Bits; unmask binds and delivers it. */
static void test_mask(struct irq_router *r)
{
	static struct pci_dev d;
	struct msi m;

	programmed(&d, &m, r);
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(2), 2);
	wr(&m, PCI_MSI_MASK_64, 1 << 2, 4);
	CHECK(bound(&m, 2) < 0 && bound(&m, 1) >= 0 && bound(&m, 3) >= 0);
	CHECK(rd(&m, PCI_MSI_PENDING_64, 4) == 0);
	signal_vector(&m, 2);
	CHECK(rd(&m, PCI_MSI_PENDING_64, 4) == 1 << 2);
	CHECK(rd(&m, PCI_MSI_PENDING_64, 1) == 1 << 2);
	CHECK(rd(&m, PCI_MSI_MASK_64 + 2, 4) == (1 << 2) << 16); /* straddles mask|pending */
	CHECK(rd(&m, PCI_MSI_MASK_64, 4) == 1 << 2);
	wr(&m, PCI_MSI_PENDING_64, 0, 4); /* read-only: the event stays pending */
	CHECK(rd(&m, PCI_MSI_PENDING_64, 4) == 1 << 2);
	wr(&m, PCI_MSI_MASK_64, 0, 4);
	CHECK(bound(&m, 2) >= 0 && kvm.injected == 1);
	CHECK(rd(&m, PCI_MSI_PENDING_64, 4) == 0);
	CHECK(told.calls == 1); /* masking is not an enable change */
	msi_destroy(&m);
}

/* Retargeting a live MSI re-routes every granted vector in place; a smaller grant
 * detaches the rest and keeps one more bit of the data. */
static void test_retarget(struct irq_router *r)
{
	static struct pci_dev d;
	struct msi m;

	programmed(&d, &m, r);
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(2), 2);
	wr(&m, PCI_MSI_DATA_64, 0x5500, 2);
	wr(&m, PCI_MSI_ADDRESS_HI, 1, 4);
	CHECK(kvm.route_data[bound(&m, 1)] == 0x5501);
	CHECK(kvm.route_addr[bound(&m, 3)] == ((uint64_t)1 << 32 | MSG_ADDR));
	CHECK(told.calls == 1);
	wr(&m, PCI_MSI_DATA_64, 0x5502, 2);
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(1), 2);
	CHECK(told.calls == 2 && told.enabled && told.nr == 2);
	CHECK(bound(&m, 1) >= 0 && bound(&m, 2) < 0 && bound(&m, 3) < 0);
	CHECK(kvm.route_data[bound(&m, 1)] == 0x5503);
	msi_destroy(&m);
}

/* Disable: everything detaches; events wait and go out on re-enable. */
static void test_disable(struct irq_router *r)
{
	static struct pci_dev d;
	struct msi m;

	programmed(&d, &m, r);
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(1), 2);
	wr(&m, PCI_MSI_FLAGS, 0, 2);
	CHECK(!msi_enabled(&m) && msi_nr_enabled(&m) == 0);
	CHECK(told.calls == 2 && !told.enabled && told.nr == 0);
	CHECK(bound(&m, 0) < 0 && bound(&m, 1) < 0);
	signal_vector(&m, 0);
	wr(&m, PCI_MSI_FLAGS, 3 << 4, 2); /* MME while disabled is not an enable change */
	CHECK(told.calls == 2);
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(0), 2);
	CHECK(told.calls == 3 && told.enabled && told.nr == 1);
	CHECK(bound(&m, 0) >= 0 && kvm.injected == 1);
	msi_destroy(&m);
}

/* Reset: disabled, registers cleared, nothing bound, pending events dropped. */
static void test_reset(struct irq_router *r)
{
	static struct pci_dev d;
	struct msi m;
	unsigned int v;

	programmed(&d, &m, r);
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(3), 2);
	wr(&m, PCI_MSI_MASK_64, 0x1, 4);
	signal_vector(&m, 0);
	msi_reset(&m);
	CHECK(told.calls == 2 && !told.enabled && told.nr == 0);
	CHECK(rd(&m, PCI_MSI_FLAGS, 2) == (3 << 1 | PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT));
	CHECK(rd(&m, PCI_MSI_ADDRESS_LO, 4) == 0 && rd(&m, PCI_MSI_DATA_64, 2) == 0);
	CHECK(rd(&m, PCI_MSI_MASK_64, 4) == 0 && rd(&m, PCI_MSI_PENDING_64, 4) == 0);
	for (v = 0; v < 8; v++)
		CHECK(bound(&m, v) < 0);
	msi_reset(&m); /* already disabled: nothing to tell */
	CHECK(told.calls == 2);
	wr(&m, PCI_MSI_ADDRESS_LO, MSG_ADDR, 4);
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(0), 2);
	CHECK(bound(&m, 0) >= 0 && kvm.injected == 0);
	msi_destroy(&m);
}

/* What a guest should not write: a grant beyond MMC, the read-only bits. */
static void test_hostile(struct irq_router *r)
{
	static struct pci_dev d;
	struct msi m;
	unsigned int v;

	new_dev(&d, &m);
	CHECK(msi_init(&m, &d, r, 4, false, true) == 0);
	msi_set_notify(&m, on_enable, &told);
	memset(&told, 0, sizeof(told));
	wr(&m, PCI_MSI_ADDRESS_LO, MSG_ADDR | 3, 4);
	CHECK(rd(&m, PCI_MSI_ADDRESS_LO, 4) == MSG_ADDR);
	wr(&m, PCI_MSI_DATA_32, 0x40, 2);
	wr(&m, PCI_MSI_MASK_32, 0xfffffff0, 4); /* bits past the 4 vectors are reserved */
	CHECK(rd(&m, PCI_MSI_MASK_32, 4) == 0);
	/* MME=7 (reserved) with MMC=2: clamped to the 4 the function has */
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(7), 2);
	CHECK(rd(&m, PCI_MSI_FLAGS, 2) == (ctrl_enable(2) | 2 << 1 | PCI_MSI_FLAGS_MASKBIT));
	CHECK(msi_nr_enabled(&m) == 4 && told.calls == 1 && told.nr == 4);
	for (v = 0; v < 4; v++)
		CHECK(bound(&m, v) >= 0 && kvm.route_data[bound(&m, v)] == (0x40 | v));
	/* MMC, 64-bit and PVM cannot be changed by a write */
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(2) | PCI_MSI_FLAGS_QMASK | PCI_MSI_FLAGS_64BIT, 2);
	CHECK(rd(&m, PCI_MSI_FLAGS, 2) == (ctrl_enable(2) | 2 << 1 | PCI_MSI_FLAGS_MASKBIT));
	wr(&m, PCI_MSI_FLAGS, ctrl_enable(2), 2);
	CHECK(rd(&m, PCI_MSI_FLAGS, 2) == (ctrl_enable(2) | 2 << 1 | PCI_MSI_FLAGS_MASKBIT));
	CHECK(told.calls == 1);
	msi_destroy(&m);
}

/* The smallest and largest: one vector keeps its data whole, 32 replace 5 bits. */
static void test_extremes(struct irq_router *r)
{
	static struct pci_dev d1, d32;
	struct msi one, all;

	new_dev(&d1, &one);
	CHECK(msi_init(&one, &d1, r, 1, false, false) == 0);
	CHECK(rd(&one, PCI_MSI_FLAGS, 2) == 0);
	wr(&one, PCI_MSI_ADDRESS_LO, MSG_ADDR, 4);
	wr(&one, PCI_MSI_DATA_32, 0x4fff, 2);
	wr(&one, PCI_MSI_FLAGS, ctrl_enable(3), 2); /* clamped to MME=0 */
	CHECK(msi_nr_enabled(&one) == 1 && kvm.route_data[bound(&one, 0)] == 0x4fff);
	CHECK(msi_vector_fd(&one, 1) == -1);

	new_dev(&d32, &all);
	CHECK(msi_init(&all, &d32, r, 32, true, true) == 0);
	CHECK(rd(&all, PCI_MSI_FLAGS, 2) == (5 << 1 | PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT));
	wr(&all, PCI_MSI_ADDRESS_LO, MSG_ADDR, 4);
	wr(&all, PCI_MSI_DATA_64, 0x4fea, 2);
	wr(&all, PCI_MSI_MASK_64, 0xffffffff, 4);
	CHECK(rd(&all, PCI_MSI_MASK_64, 4) == 0xffffffff);
	wr(&all, PCI_MSI_MASK_64, ~(1U << 31 | 1U << 5), 4);
	wr(&all, PCI_MSI_FLAGS, ctrl_enable(5), 2);
	CHECK(msi_nr_enabled(&all) == 32 && bound(&all, 0) < 0);
	CHECK(bound(&all, 31) >= 0 && kvm.route_data[bound(&all, 31)] == 0x4fff);
	CHECK(bound(&all, 5) >= 0 && kvm.route_data[bound(&all, 5)] == 0x4fe5);
	signal_vector(&all, 30);
	CHECK(rd(&all, PCI_MSI_PENDING_64, 4) == 1U << 30);
	msi_destroy(&one);
	msi_destroy(&all);
}

int main(void)
{
	struct irq_router r;

	memset(kvm.irqfd_gsi, 0xff, sizeof(kvm.irqfd_gsi));
	CHECK(irq_router_init(&r, -1) == 0);
	r.kvm_ioctl = fake_ioctl;
	test_layouts(&r);
	test_bad_counts(&r);
	test_grant(&r);
	test_mask(&r);
	test_retarget(&r);
	test_disable(&r);
	test_reset(&r);
	test_hostile(&r);
	test_extremes(&r);
	irq_router_destroy(&r);
	return CHECK_DONE();
}
