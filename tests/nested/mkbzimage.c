/*
 * Writes a minimal bzImage whose 64-bit entry point writes 0x42 to port 0x80 (an exit
 * the flight recorder must show) and executes ud2 with no IDT: the #UD cannot be
 * delivered, nor the #GP/#DF that follow, so the CPU triple-faults. The nested suite
 * boots it to check that conduit reports a crashed guest. With --hang it writes 0x43
 * and spins with interrupts off instead: a guest that hangs, for SIGQUIT's dump.
 */
#include "tests/common/forge_bzimage.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	static const uint8_t ud2[] = {
		0xb0, 0x42, /* mov al, 0x42 */
		0xe6, 0x80, /* out 0x80, al */
		0x0f, 0x0b, /* ud2 */
	};
	static const uint8_t spin[] = {
		0xb0, 0x43, /* mov al, 0x43 */
		0xe6, 0x80, /* out 0x80, al */
		0xfa,	    /* cli */
		0xeb, 0xfe, /* jmp $ */
	};
	bool hang = argc == 3 && !strcmp(argv[1], "--hang");
	static uint8_t img[64 << 10];
	size_t n = forge_bzimage(
		img, sizeof(img),
		&(struct forge_opts){.relocatable = 1,
				     .entry64 = hang ? spin : ud2,
				     .entry64_len = hang ? sizeof(spin) : sizeof(ud2)});
	const char *out = argv[argc - 1];
	FILE *f;

	if (argc != 2 + hang || !n) {
		fprintf(stderr, "usage: mkbzimage [--hang] OUT\n");
		return 1;
	}
	f = fopen(out, "wb");
	if (!f || fwrite(img, 1, n, f) != n || fclose(f)) {
		perror(out);
		return 1;
	}
	return 0;
}
