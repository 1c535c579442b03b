#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>

void log_print(const char *level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	/* Format first so the line reaches stderr in one write even while the guest's
	 * console is printing from another thread. */
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "conduit: %s%s\n", level, line);
}
