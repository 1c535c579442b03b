/* The host terminal behind the guest's serial console: raw mode and the Ctrl-A escape. */
#ifndef CONDUIT_CONSOLE_H
#define CONDUIT_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

struct console {
	int in_fd;   /* -1 when the guest gets no input */
	bool raw;    /* the terminal was switched to raw mode and must be restored */
	bool escape; /* the previous byte was the escape */
	struct termios saved;
};

void console_open(struct console *c, bool interactive);
void console_restore(struct console *c);
size_t console_filter(struct console *c, const uint8_t *in, size_t n, uint8_t *out, bool *quit);

#endif
