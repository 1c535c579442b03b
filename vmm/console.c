/*
 * Guest input comes from stdin only when it is a terminal, which is then put in raw
 * mode so every key (Ctrl-C included) reaches the guest. As in QEMU and kvmtool,
 * Ctrl-A x leaves and Ctrl-A Ctrl-A sends one Ctrl-A; other escapes are dropped.
 */
#include "vmm/console.h"

#include <unistd.h>

void console_open(struct console *c, bool interactive)
{
	struct termios raw;

	c->in_fd = -1;
	c->raw = false;
	c->escape = false;
	if (!interactive || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &c->saved))
		return;
	raw = c->saved;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR; /* keep conduit's own messages readable */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		return;
	c->raw = true;
	c->in_fd = STDIN_FILENO;
}

void console_restore(struct console *c)
{
	if (c->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
	c->raw = false;
}

/* Copies the bytes meant for the guest from in to out (out holds at least n). */
size_t console_filter(struct console *c, const uint8_t *in, size_t n, uint8_t *out, bool *quit)
{
	size_t i, o = 0;

	*quit = false;
	for (i = 0; i < n; i++) {
		if (c->escape) {
			c->escape = false;
			if (in[i] == 'x' || in[i] == 'X') {
				*quit = true;
				return o;
			}
			if (in[i] == CONSOLE_ESCAPE)
				out[o++] = CONSOLE_ESCAPE;
		} else if (in[i] == CONSOLE_ESCAPE) {
			c->escape = true;
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}
