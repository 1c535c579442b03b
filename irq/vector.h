/*
 * One message-signalled interrupt vector as KVM delivers it, for every source conduit
 * has (MSI, MSI-X, assigned functions, and next vhost call fds and hotplug ports).
 * The vector owns an eventfd: whoever raises the interrupt writes it (a device thread,
 * the VFIO kernel driver, vhost). While the vector may fire, the eventfd is an irqfd on
 * a GSI routed to the vector's message, so the write becomes an interrupt inside KVM
 * with no exit (and, with an IRQ-bypass capable IOMMU, a posted one). While masked the
 * irqfd is detached: writes count up in the eventfd, which is the pending bit, and
 * re-attaching makes KVM deliver an eventfd that is already signalled at once.
 */
#ifndef CONDUIT_IRQ_VECTOR_H
#define CONDUIT_IRQ_VECTOR_H

#include "irq/router.h"

#include <stdbool.h>
#include <stdint.h>

struct irq_vector {
	struct irq_router *router;
	int eventfd; /* -1: none (not initialised, or destroyed) */
	int gsi;     /* -1 until first routed */
	bool irqfd;  /* eventfd bound to gsi in KVM */
};

/* A vector that owns nothing: safe to destroy. */
void irq_vector_none(struct irq_vector *v);
int irq_vector_init(struct irq_vector *v, struct irq_router *r);
/* Detaches the irqfd, gives the GSI back and closes the eventfd. */
void irq_vector_destroy(struct irq_vector *v);
/* live: the vector may fire (enabled, not masked). Routes it to (addr, data) and
 * attaches the irqfd, or detaches it when not live or no address is programmed. */
void irq_vector_update(struct irq_vector *v, bool live, uint64_t addr, uint32_t data);
/* Raised while it could not fire (masked): what a PBA or Pending Bits read shows. */
bool irq_vector_pending(const struct irq_vector *v);
/* Forgets a pending interrupt (function reset). */
void irq_vector_clear(struct irq_vector *v);

#endif
