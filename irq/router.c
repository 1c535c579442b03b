#include "irq/router.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define IOAPIC_PINS 24

static int kvm_vm_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}
#define PIC_IRQS 16

static int add_entry(struct irq_router *r, const struct kvm_irq_routing_entry *e)
{
	if (r->count == r->capacity) {
		unsigned int cap = r->capacity ? r->capacity * 2 : 64;
		struct kvm_irq_routing_entry *grown = realloc(r->entry, cap * sizeof(*grown));

		if (!grown)
			return -1;
		r->entry = grown;
		r->capacity = cap;
	}
	r->entry[r->count++] = *e;
	return 0;
}

static int commit(struct irq_router *r)
{
	struct kvm_irq_routing *table;
	size_t size = sizeof(*table) + r->count * sizeof(r->entry[0]);
	int ret;

	table = calloc(1, size);
	if (!table)
		return -1;
	table->nr = r->count;
	memcpy(table->entries, r->entry, r->count * sizeof(r->entry[0]));
	ret = r->kvm_ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, table);
	if (ret)
		log_error("KVM_SET_GSI_ROUTING with %u routes failed: %s", r->count,
			  strerror(errno));
	free(table);
	return ret;
}

/* The in-kernel irqchip's own default: GSI n is IOAPIC pin n, and for n < 16 also the
 * 8259 pair's pin n % 8 on the master (n < 8) or slave. */
static int add_irqchip_defaults(struct irq_router *r)
{
	unsigned int gsi;

	for (gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		struct kvm_irq_routing_entry io = {
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi},
		};
		struct kvm_irq_routing_entry pic = {
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							 : KVM_IRQCHIP_PIC_SLAVE,
				      .pin = gsi % 8},
		};

		if (add_entry(r, &io) || (gsi < PIC_IRQS && add_entry(r, &pic)))
			return -1;
	}
	return 0;
}

int irq_router_init(struct irq_router *r, int vm_fd)
{
	int max;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->vm_fd = vm_fd;
	r->kvm_ioctl = kvm_vm_ioctl;
	max = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
	r->max_gsi = max > IRQ_FIRST_MSI_GSI ? (unsigned int)max : 1024;
	r->gsi_used = calloc((r->max_gsi + 63) / 64, sizeof(uint64_t));
	if (!r->gsi_used)
		return -1;
	return add_irqchip_defaults(r);
}

void irq_router_destroy(struct irq_router *r)
{
	free(r->entry);
	free(r->gsi_used);
	r->entry = NULL;
	r->gsi_used = NULL;
	pthread_mutex_destroy(&r->lock);
}

int irq_gsi_alloc(struct irq_router *r)
{
	unsigned int g;
	int gsi = -1;

	pthread_mutex_lock(&r->lock);
	for (g = IRQ_FIRST_MSI_GSI; g < r->max_gsi && gsi < 0; g++)
		if (!(r->gsi_used[g / 64] & 1ULL << (g % 64))) {
			r->gsi_used[g / 64] |= 1ULL << (g % 64);
			gsi = (int)g;
		}
	pthread_mutex_unlock(&r->lock);
	if (gsi < 0)
		log_error("out of KVM GSIs (%u): too many interrupt vectors", r->max_gsi);
	return gsi;
}

static int find_msi_route(const struct irq_router *r, uint32_t gsi)
{
	unsigned int i;

	for (i = 0; i < r->count; i++)
		if (r->entry[i].gsi == gsi && r->entry[i].type == KVM_IRQ_ROUTING_MSI)
			return (int)i;
	return -1;
}

void irq_gsi_free(struct irq_router *r, uint32_t gsi)
{
	int i;

	if (gsi < IRQ_FIRST_MSI_GSI || gsi >= r->max_gsi)
		return;
	pthread_mutex_lock(&r->lock);
	i = find_msi_route(r, gsi);
	if (i >= 0) {
		r->entry[i] = r->entry[--r->count];
		commit(r);
	}
	r->gsi_used[gsi / 64] &= ~(1ULL << (gsi % 64));
	pthread_mutex_unlock(&r->lock);
}

/* Points gsi at an MSI message (address, data), adding the route on first use. */
int irq_route_msi(struct irq_router *r, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry e = {
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi = {.address_lo = (uint32_t)addr,
			  .address_hi = (uint32_t)(addr >> 32),
			  .data = data},
	};
	int i, ret = 0;

	pthread_mutex_lock(&r->lock);
	i = find_msi_route(r, gsi);
	if (i >= 0) {
		if (!memcmp(&r->entry[i], &e, sizeof(e)))
			goto out;
		r->entry[i] = e;
	} else if (add_entry(r, &e)) {
		ret = -1;
		goto out;
	}
	ret = commit(r);
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irqfd_assign(struct irq_router *r, int fd, uint32_t gsi)
{
	struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};

	if (r->kvm_ioctl(r->vm_fd, KVM_IRQFD, &irqfd)) {
		log_error("KVM_IRQFD for GSI %u failed: %s", gsi, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A level-triggered line (INTx) fed by an eventfd: a write asserts the IOAPIC pin
 * gsi; when the guest EOIs it KVM deasserts the pin and signals resample_fd, which
 * tells the device's owner (VFIO) to unmask and re-sample the real line.
 */
int irqfd_assign_resample(struct irq_router *r, int fd, int resample_fd, uint32_t gsi)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = KVM_IRQFD_FLAG_RESAMPLE,
		.resamplefd = (uint32_t)resample_fd,
	};

	if (r->kvm_ioctl(r->vm_fd, KVM_IRQFD, &irqfd)) {
		log_error("KVM_IRQFD (resample) for GSI %u failed: %s", gsi, strerror(errno));
		return -1;
	}
	return 0;
}

int irqfd_deassign(struct irq_router *r, int fd, uint32_t gsi)
{
	struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN};

	return r->kvm_ioctl(r->vm_fd, KVM_IRQFD, &irqfd);
}
