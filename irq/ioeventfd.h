/* The other direction from an irqfd: a guest write to an address signals an eventfd
 * inside KVM, without an exit (virtio queue notifications). */
#ifndef CONDUIT_IRQ_IOEVENTFD_H
#define CONDUIT_IRQ_IOEVENTFD_H

#include <stdbool.h>
#include <stdint.h>

/* A guest write of len bytes to MMIO address addr signals fd (assign), or no longer. */
int ioeventfd_set(int vm_fd, uint64_t addr, unsigned int len, int fd, bool assign);

#endif
