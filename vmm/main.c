/* conduit: a KVM virtual machine monitor. Command dispatch. */
#include "sriov/claim.h"
#include "vfio/host_check.h"
#include "vfio/inventory.h"
#include "vmm/base/log.h"
#include "vmm/ctl_cmd.h"
#include "vmm/options.h"
#include "vmm/sriov_cmd.h"
#include "vmm/stats.h"
#include "vmm/vm.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fputs("usage: conduit COMMAND [options]\n"
	      "commands:\n"
	      "  run       boot a virtual machine (conduit run --help)\n"
	      "  devices   list host PCI functions to pass through (conduit devices --help)\n"
	      "  sriov     show and set up SR-IOV VFs on the host (conduit sriov --help)\n"
	      "  ctl       talk to a running conduit's control socket (conduit ctl --help)\n"
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

static void devices_usage(FILE *out)
{
	fputs("usage: conduit devices [--json]\n"
	      "Lists the host's PCI functions for --vfio host=DDDD:BB:DD.F: the bound driver, the\n"
	      "IOMMU group (its other members must leave their host drivers too), the NUMA node,\n"
	      "and SR-IOV VFs of each PF.\n"
	      "  --json   a JSON array with one object per function\n"
	      "  --help   this text\n"
	      "CONDUIT_SYSFS=DIR reads a sysfs tree at DIR instead of /sys (for tests).\n",
	      out);
}

/* Who holds each function on vfio-pci, and which ones conduits took (on this host;
 * not under CONDUIT_SYSFS, a tree with no processes). */
static void devices_mark_held(struct inventory *inv)
{
	char cdev[64];

	if (getenv("CONDUIT_SYSFS"))
		return;
	for (size_t i = 0; i < inv->count; i++) {
		struct inventory_dev *d = &inv->devs[i];

		if (!d->driver || strcmp(d->driver, "vfio-pci"))
			continue;
		vfio_holder_find("/", d->iommu_group,
				 vfio_device_cdev("/", d->bdf, cdev, sizeof(cdev)) ? cdev : NULL,
				 &d->holder);
		d->managed = claim_is_locked("/", d->bdf);
	}
}

/* argv[0] is "devices". */
static int cmd_devices(int argc, char **argv)
{
	static const struct option devices_options[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct inventory_source src = {.sysfs = getenv("CONDUIT_SYSFS")};
	struct inventory inv;
	bool json = false;
	int opt, before;

	optind = 0;
	opterr = 0;
	for (before = 1; (opt = getopt_long(argc, argv, ":", devices_options, NULL)) != -1;
	     before = optind) {
		if (opt == 'h') {
			devices_usage(stdout);
			return 0;
		}
		if (opt != 'j') {
			log_error("unknown option '%s': see conduit devices --help", argv[before]);
			return EXIT_BAD_INPUT;
		}
		json = true;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s': see conduit devices --help", argv[optind]);
		return EXIT_BAD_INPUT;
	}
	if (!src.sysfs || !*src.sysfs)
		src.sysfs = "/sys";
	if (inventory_scan(&src, &inv))
		return EXIT_BAD_INPUT;
	devices_mark_held(&inv);
	if (json)
		inventory_print_json(&inv, stdout);
	else
		inventory_print_plain(&inv, stdout);
	inventory_free(&inv);
	return 0;
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
	if (!strcmp(argv[1], "devices"))
		return cmd_devices(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sriov"))
		return sriov_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return ctl_cmd(argc - 1, argv + 1);
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
