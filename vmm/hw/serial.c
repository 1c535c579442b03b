/*
 * A 16550A as Linux's 8250 driver sees it. Transmission is instant: THR is always
 * empty, so LSR always reads THRE|TEMT and a THR write re-arms the THRE interrupt.
 * Interrupt identification follows the UART's fixed priority: receiver line status,
 * then received data, then THR empty, then modem status; reading IIR while it reports
 * THRE clears that source (the datasheet's rule), reading RBR drains received data.
 * The IRQ pin is gated by MCR.OUT2, as on every PC board. Loopback mode (MCR.LOOP)
 * feeds THR back to RBR and reflects MCR's outputs in MSR, which the driver's probe
 * checks.
 */
#include "vmm/hw/serial.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define REG_DATA 0 /* RBR/THR, DLL with DLAB */
#define REG_IER	 1 /* DLM with DLAB */
#define REG_IIR	 2 /* FCR on write */
#define REG_LCR	 3
#define REG_MCR	 4
#define REG_LSR	 5
#define REG_MSR	 6
#define REG_SCR	 7

#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI	 0x08

#define IIR_NONE 0x01
#define IIR_MSI	 0x00
#define IIR_THRI 0x02
#define IIR_RDI	 0x04
#define IIR_FIFO 0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI	0x40
#define MSR_DCD 0x80

#define RX_FIFO_SIZE 256

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	serial_irq_fn set_irq;
	void *irq_ctx;
	bool irq_level;
	bool thri_pending;
	uint8_t ier, lcr, mcr, lsr_errors, scr, fcr, dll, dlm;
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	return IIR_NONE;
}

static void serial_update_irq(struct serial *s)
{
	bool level = serial_iir_id(s) != IIR_NONE && (s->mcr & MCR_OUT2);

	/* ISA interrupts are edge triggered: only changes of the line matter. */
	if (level != s->irq_level) {
		s->irq_level = level;
		s->set_irq(s->irq_ctx, level);
	}
}

static bool rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count == RX_FIFO_SIZE) {
		s->lsr_errors |= LSR_OE;
		return false;
	}
	s->rx[(s->rx_head + s->rx_count++) % RX_FIFO_SIZE] = c;
	return true;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
	s->rx_count--;
	return c;
}

static void serial_transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP)
		rx_push(s, c);
	else if (s->out_fd >= 0 && write(s->out_fd, &c, 1) < 0)
		s->out_fd = -1; /* the console went away: keep the guest running */
	s->thri_pending = true;
}

static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
	       (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg)
{
	uint8_t v;

	switch (reg) {
	case REG_DATA:
		return (s->lcr & LCR_DLAB) ? s->dll : rx_pop(s);
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR:
		v = serial_iir_id(s);
		if (v == IIR_THRI)
			s->thri_pending = false;
		return v | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = LSR_THRE | LSR_TEMT | s->lsr_errors | (s->rx_count ? LSR_DR : 0);
		s->lsr_errors = 0;
		return v;
	case REG_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			serial_transmit(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI while THR is empty raises it at once. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thri_pending = true;
		s->ier = v & (IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
		break;
	case REG_IIR:
		s->fcr = v & FCR_ENABLE;
		if (v & FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1f;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static void serial_io_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct serial *s = opaque;
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < size; i++)
		data[i] = offset + i < 8 ? serial_read_reg(s, (unsigned int)offset + i) : 0xff;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_io_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct serial *s = opaque;
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < size && offset + i < 8; i++)
		serial_write_reg(s, (unsigned int)offset + i, data[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* Returns how many bytes the receive FIFO took; the rest is the caller's to retry. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < RX_FIFO_SIZE)
		rx_push(s, buf[n++]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

struct io_region serial_region(struct serial *s, uint16_t port)
{
	return (struct io_region){
		.base = port,
		.len = 8,
		.read = serial_io_read,
		.write = serial_io_write,
		.opaque = s,
	};
}

struct serial *serial_create(int out_fd, serial_irq_fn set_irq, void *irq_ctx)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->irq_ctx = irq_ctx;
	return s;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}
