#include "irq/vector.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

void irq_vector_none(struct irq_vector *v)
{
	*v = (struct irq_vector){.eventfd = -1, .gsi = -1};
}

int irq_vector_init(struct irq_vector *v, struct irq_router *r)
{
	irq_vector_none(v);
	v->router = r;
	v->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->eventfd < 0) {
		log_error("cannot create an interrupt vector's eventfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void detach(struct irq_vector *v)
{
	if (!v->irqfd)
		return;
	irqfd_deassign(v->router, v->eventfd, (uint32_t)v->gsi);
	v->irqfd = false;
}

void irq_vector_destroy(struct irq_vector *v)
{
	detach(v);
	if (v->gsi >= 0)
		irq_gsi_free(v->router, (uint32_t)v->gsi);
	if (v->eventfd >= 0)
		close(v->eventfd);
	irq_vector_none(v);
}

void irq_vector_update(struct irq_vector *v, bool live, uint64_t addr, uint32_t data)
{
	if (!live || !addr) {
		detach(v);
		return;
	}
	if (v->gsi < 0)
		v->gsi = irq_gsi_alloc(v->router);
	if (v->gsi < 0 || irq_route_msi(v->router, (uint32_t)v->gsi, addr, data))
		return;
	if (!v->irqfd && !irqfd_assign(v->router, v->eventfd, (uint32_t)v->gsi))
		v->irqfd = true;
}

bool irq_vector_pending(const struct irq_vector *v)
{
	struct pollfd p = {.fd = v->eventfd, .events = POLLIN};

	return v->eventfd >= 0 && !v->irqfd && poll(&p, 1, 0) == 1;
}

void irq_vector_clear(struct irq_vector *v)
{
	uint64_t drain;

	while (v->eventfd >= 0 && read(v->eventfd, &drain, sizeof(drain)) > 0)
		;
}
