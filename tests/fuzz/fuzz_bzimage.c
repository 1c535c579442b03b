/* libFuzzer target: the setup-header parser against arbitrary files. A parse that
 * succeeds must describe a payload and header inside the input. */
#include "vmm/x86/bzimage.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bzimage bz;
	char err[160];

	if (bzimage_parse(data, size, &bz, err, sizeof(err)))
		return 0;
	if (bz.payload < data || bz.payload + bz.payload_len > data + size ||
	    bz.hdr + bz.hdr_len > data + size || bz.init_size < bz.payload_len)
		abort();
	(void)bzimage_end(&bz, 0x100000);
	return 0;
}
