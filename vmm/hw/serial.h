/* 16550A UART (the PC's COM1): guest console out, host input in. */
#ifndef CONDUIT_SERIAL_H
#define CONDUIT_SERIAL_H

#include "vmm/base/iobus.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct serial;

typedef void (*serial_irq_fn)(void *ctx, bool level);

struct serial *serial_create(int out_fd, serial_irq_fn set_irq, void *irq_ctx);
void serial_destroy(struct serial *s);
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);
struct io_region serial_region(struct serial *s, uint16_t port);

#endif
