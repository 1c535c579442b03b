/*
 * KVM GSI routing and irqfds. KVM_SET_GSI_ROUTING replaces the whole table, so the
 * router keeps the table: the in-kernel irqchip's default routes for GSI 0..23 plus
 * one MSI route per allocated GSI, and commits it on every change. An irqfd binds an
 * eventfd to a GSI: a write to the eventfd injects the interrupt in the kernel, with
 * no exit and no userspace thread — the path the kernel can post. GSIs above the irqchip's
 * are handed out and given back (a vector destroyed, a device unplugged).
 */
#ifndef CONDUIT_IRQ_ROUTER_H
#define CONDUIT_IRQ_ROUTER_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IRQ_FIRST_MSI_GSI 24 /* after the IOAPIC's 24 pins */

struct irq_router {
	int vm_fd;
	/* ioctl(2) on vm_fd; unit tests put a recorder here to check the decisions */
	int (*kvm_ioctl)(int fd, unsigned long request, void *arg);
	pthread_mutex_t lock;
	struct kvm_irq_routing_entry *entry;
	unsigned int count, capacity;
	uint64_t *gsi_used; /* bitmap of GSIs handed out, from IRQ_FIRST_MSI_GSI */
	unsigned int max_gsi;
};

int irq_router_init(struct irq_router *r, int vm_fd);
void irq_router_destroy(struct irq_router *r);
int irq_gsi_alloc(struct irq_router *r);
/* Drops gsi's route and makes it free again; its irqfd must be gone. */
void irq_gsi_free(struct irq_router *r, uint32_t gsi);
int irq_route_msi(struct irq_router *r, uint32_t gsi, uint64_t addr, uint32_t data);
int irqfd_assign(struct irq_router *r, int fd, uint32_t gsi);
int irqfd_assign_resample(struct irq_router *r, int fd, int resample_fd, uint32_t gsi);
int irqfd_deassign(struct irq_router *r, int fd, uint32_t gsi);

#endif
