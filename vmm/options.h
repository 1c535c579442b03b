/* `conduit run` command line: parsed and range-checked before any host state changes. */
#ifndef CONDUIT_OPTIONS_H
#define CONDUIT_OPTIONS_H

#include "sriov/claim.h"
#include "vfio/relocate.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "vmm/base/sandbox.h"
#include "vmm/guest_numa.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define OPT_MIN_MEMORY (32ULL << 20)
#define OPT_MAX_MEMORY (1ULL << 40)
#define OPT_MAX_CPUS   254 /* xAPIC IDs 0..253; 254 is the IOAPIC, 255 broadcast */

#define OPT_MAX_PORTS	     32
#define OPT_MAX_DISKS	     16
#define OPT_MAX_SWITCH_PORTS 32
#define OPT_MAX_QUEUES	     16
#define OPT_MAX_POLL_US	     1000  /* --disk poll-us= */
#define OPT_MAX_COALESCE_US  10000 /* --disk coalesce-us= */
#define OPT_MAX_VFIO	     16
#define OPT_MAX_NETS	     8

/* --pcie root-port,id=ID[,bus=RC] | switch,id=ID,bus=ID,ports=N |
 *        root-complex,id=ID[,numa=NODE] */
struct port_opt {
	bool is_switch;
	bool is_root_complex;
	const char *id;
	const char *bus;    /* switch: the port its upstream side plugs into; root port:
			     * pcie.0 or a root complex */
	unsigned int ports; /* switch: downstream ports, named ID.0 .. ID.N-1 */
	int numa;	    /* root complex: its guest node; -1: none */
};

/* --disk path=FILE[,readonly=on][,queues=N][,direct=on][,bus=ID] */
struct disk_opt {
	struct blk_options blk; /* blk.queues 0: one per vCPU, decided with --cpus */
	const char *bus;
};

/* --net tap=IFNAME|fd=N[:N...][,mac=MAC][,queues=N|auto][,vhost=on|off|auto][,mtu=N]
 *       [,bus=ID] */
struct net_opt {
	const char *tap;
	int fds[NET_MAX_PAIRS];
	unsigned int nr_fds;
	uint8_t mac[6];
	bool has_mac;
	unsigned int queues; /* queue pairs; 0: auto, one per vCPU */
	enum net_vhost vhost;
	unsigned int mtu; /* 0: the tap's */
	const char *bus;
};

/* --vfio host=DDDD:BB:DD.F[,managed=on|off] or pf=DDDD:BB:DD.F[,vf=N|auto][,mac=MAC]
 * [,vlan=ID][,qos=N][,trust=on|off][,spoofchk=on|off], with [,bus=ID]
 * [,msix-relocate=auto|on|off] */
struct vfio_opt {
	const char *host; /* NULL with pf= */
	const char *bus;
	enum vfio_msix_relocate msix_relocate;
	bool managed; /* conduit binds it to vfio-pci and gives it back (always with pf=) */
	struct claim_request claim;
};

enum serial_mode {
	SERIAL_STDIO,
	SERIAL_NONE,
	SERIAL_FILE,
};

struct vm_options {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned int cpus;
	uint64_t memory;
	bool hugepages;
	bool shared_memory; /* guest RAM in a memfd (MAP_SHARED; default), or anonymous */
	bool prefault;	    /* guest RAM allocated in full at start */
	enum serial_mode serial;
	const char *serial_path;
	bool stats;		/* print startup time and VMM memory at exit */
	const char *api_socket; /* --api-socket PATH: the control socket */
	enum sandbox_mode seccomp;
	bool numa_off;		/* --numa off: no device-local placement */
	struct guest_numa numa; /* --numa node=... */
	struct port_opt port[OPT_MAX_PORTS];
	unsigned int nr_ports;
	struct disk_opt disk[OPT_MAX_DISKS];
	unsigned int nr_disks;
	bool rng;
	const char *rng_bus;
	struct vfio_opt vfio[OPT_MAX_VFIO];
	unsigned int nr_vfio;
	struct net_opt net[OPT_MAX_NETS];
	unsigned int nr_nets;
	/* the above point in */
	char *strings[OPT_MAX_PORTS + OPT_MAX_DISKS + OPT_MAX_VFIO + OPT_MAX_NETS + 1];
	unsigned int nr_strings;
};

enum options_result {
	OPTIONS_OK,
	OPTIONS_HELP,  /* --help was given: usage printed, exit 0 */
	OPTIONS_ERROR, /* one line already printed, exit 1 */
};

enum options_result options_parse(int argc, char **argv, struct vm_options *opts);
/* One device's options for a running VM (argv[0] is not an option): exactly one
 * --disk, --net, --rng or --vfio. 0, or -1 with one line logged; options_free() after. */
int options_parse_device(int argc, char **argv, struct vm_options *opts);
int options_parse_mac(const char *what, const char *val, uint8_t mac[6]);
int options_parse_on_off(const char *what, const char *val, bool *out);
int options_parse_uint(const char *s, unsigned long max, unsigned int *out);
void options_usage(FILE *out);
void options_free(struct vm_options *opts);

#endif
