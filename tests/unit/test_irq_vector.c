/* Interrupt vectors and GSIs (irq/vector.c, irq/router.c): a vector routes and binds
 * only while live, its eventfd holds the pending bit while not, and destroying it
 * unbinds it, drops its route and frees its GSI for the next vector, so hot-unplugged
 * devices do not use up KVM's routing table. KVM is a recorder; eventfds are real. */
#include "irq/vector.h"
#include "tests/unit/check.h"

#include <string.h>
#include <unistd.h>

static struct {
	int irqfd_gsi[1024];	 /* per eventfd: bound GSI or -1 */
	unsigned int msi_routes; /* MSI entries in the last committed table */
} kvm;

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd;
	if (req == KVM_IRQFD) {
		struct kvm_irqfd *i = arg;

		kvm.irqfd_gsi[i->fd] = (i->flags & KVM_IRQFD_FLAG_DEASSIGN) ? -1 : (int)i->gsi;
	} else if (req == KVM_SET_GSI_ROUTING) {
		struct kvm_irq_routing *t = arg;

		kvm.msi_routes = 0;
		for (unsigned int e = 0; e < t->nr; e++)
			kvm.msi_routes += t->entries[e].type == KVM_IRQ_ROUTING_MSI;
	}
	return 0;
}

static void test_live_and_pending(struct irq_router *r)
{
	struct irq_vector v;
	uint64_t one = 1;

	CHECK(irq_vector_init(&v, r) == 0);
	irq_vector_update(&v, false, 0xfee00000, 0x41);
	CHECK(v.gsi < 0 && !v.irqfd); /* never live: no GSI taken */
	CHECK(write(v.eventfd, &one, 8) == 8);
	CHECK(irq_vector_pending(&v));
	irq_vector_clear(&v);
	CHECK(!irq_vector_pending(&v));
	irq_vector_update(&v, true, 0, 0x41);
	CHECK(!v.irqfd); /* live but no address programmed yet */
	irq_vector_update(&v, true, 0xfee00000, 0x41);
	CHECK(v.gsi >= IRQ_FIRST_MSI_GSI && v.irqfd && kvm.irqfd_gsi[v.eventfd] == v.gsi);
	CHECK(write(v.eventfd, &one, 8) == 8);
	CHECK(!irq_vector_pending(&v)); /* KVM delivers it: not pending */
	irq_vector_update(&v, false, 0xfee00000, 0x41);
	CHECK(!v.irqfd && kvm.irqfd_gsi[v.eventfd] == -1 && irq_vector_pending(&v));
	irq_vector_destroy(&v);
	CHECK(v.eventfd == -1 && v.gsi == -1);
	irq_vector_destroy(&v); /* twice is harmless */
}

/* Every GSI handed out and given back, many times over: none leaks. */
static void test_gsi_reuse(struct irq_router *r)
{
	struct irq_vector v[8];
	unsigned int round, i;
	int first;

	for (round = 0; round < 3 * r->max_gsi; round++) {
		for (i = 0; i < 8; i++) {
			CHECK(irq_vector_init(&v[i], r) == 0);
			irq_vector_update(&v[i], true, 0xfee00000, 0x40 + i);
		}
		CHECK(kvm.msi_routes == 8);
		first = v[0].gsi;
		for (i = 0; i < 8; i++)
			irq_vector_destroy(&v[i]);
		CHECK(kvm.msi_routes == 0);
		CHECK(first == IRQ_FIRST_MSI_GSI);
	}
}

static void test_exhaustion(struct irq_router *r)
{
	unsigned int n = r->max_gsi - IRQ_FIRST_MSI_GSI, i;
	int gsi;

	for (i = 0; i < n; i++)
		CHECK(irq_gsi_alloc(r) == (int)(IRQ_FIRST_MSI_GSI + i));
	CHECK(irq_gsi_alloc(r) == -1); /* says "out of KVM GSIs" once */
	irq_gsi_free(r, IRQ_FIRST_MSI_GSI + 5);
	CHECK(irq_gsi_alloc(r) == IRQ_FIRST_MSI_GSI + 5);
	irq_gsi_free(r, 3);	   /* an irqchip pin: not ours to free */
	irq_gsi_free(r, 1u << 30); /* out of range */
	CHECK(irq_gsi_alloc(r) == -1);
	for (gsi = IRQ_FIRST_MSI_GSI; gsi < (int)r->max_gsi; gsi++)
		irq_gsi_free(r, (uint32_t)gsi);
	CHECK(irq_gsi_alloc(r) == IRQ_FIRST_MSI_GSI);
	irq_gsi_free(r, IRQ_FIRST_MSI_GSI);
}

int main(void)
{
	struct irq_router r;

	memset(kvm.irqfd_gsi, 0xff, sizeof(kvm.irqfd_gsi));
	CHECK(irq_router_init(&r, -1) == 0);
	r.kvm_ioctl = fake_ioctl;
	r.max_gsi = 64; /* a small table, to reach its end */
	test_live_and_pending(&r);
	test_gsi_reuse(&r);
	test_exhaustion(&r);
	irq_router_destroy(&r);
	return CHECK_DONE();
}
