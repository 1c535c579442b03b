#include "vmm/base/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Sizes as users write them for QEMU's -m: a plain number is MiB. */
int size_parse(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t shift = 20;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		static const char units[] = "KMGT";
		const char *u = strchr(units, toupper((unsigned char)*end));

		if (!u)
			return -1;
		shift = 10 * (uint64_t)(u - units + 1);
		end++;
	}
	if (*end == 'i' || *end == 'B')
		end += (end[0] == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}
