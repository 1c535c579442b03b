/* conduit: a KVM virtual machine monitor. Command dispatch. */
#include "vmm/log.h"
#include "vmm/options.h"
#include "vmm/stats.h"
#include "vmm/vm.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fputs("usage: conduit COMMAND [options]\n"
	      "commands:\n"
	      "  run       boot a virtual machine (conduit run --help)\n"
	      "  version   print the version\n",
	      out);
}

static int cmd_run(int argc, char **argv)
{
	struct vm_options opts;
	int ret;

	switch (options_parse(argc, argv, &opts)) {
	case OPTIONS_HELP:
		return 0;
	case OPTIONS_ERROR:
		return EXIT_BAD_INPUT;
	default:
		ret = vm_run(&opts);
		options_free(&opts);
		return ret;
	}
}

int main(int argc, char **argv)
{
	stats_process_start();
	if (argc < 2) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		puts("conduit " CONDUIT_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	log_error("unknown command '%s': see conduit --help", argv[1]);
	return EXIT_BAD_INPUT;
}
