#include "vmm/options.h"
#include "virtio/coalesce.h"
#include "virtio/poll_window.h"
#include "vmm/base/log.h"
#include "vmm/base/size.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/ether.h>
#include <stdlib.h>
#include <string.h>

void options_usage(FILE *out)
{
	fputs("usage: conduit run --kernel PATH [options]\n"
	      "  --kernel PATH          Linux bzImage to boot (required)\n"
	      "  --initrd PATH          initial ramdisk\n"
	      "  --cmdline STR          kernel command line (default: console=ttyS0)\n"
	      "  --cpus N               number of vCPUs (default 1, at most 254)\n"
	      "  --memory SIZE[,hugepages=on][,shared=off][,prefault=on]\n"
	      "                         guest RAM with suffix K/M/G/T; a plain number is MiB\n"
	      "                         (default 512M)\n"
	      "  --serial stdio|none|file=PATH\n"
	      "                         where the guest's ttyS0 goes (default stdio)\n"
	      "  --pcie root-port,id=ID[,bus=RC]\n"
	      "                         a PCIe root port on the root bus (or on root complex RC)\n"
	      "  --pcie root-complex,id=ID[,numa=NODE]\n"
	      "                         one more PCIe root complex (a host bridge with its own\n"
	      "                         buses and windows), on guest NUMA node NODE\n"
	      "  --pcie switch,id=ID,bus=PORT,ports=N\n"
	      "                         a PCIe switch below PORT; its downstream ports are\n"
	      "                         named ID.0 .. ID.N-1\n"
	      "  --disk path=FILE[,readonly=on][,queues=N][,direct=on][,poll-us=N]\n"
	      "         [,coalesce-us=N][,fixed-buffers=on][,sqpoll=on][,bus=PORT]\n"
	      "                         virtio-blk on io_uring; the first is /dev/vda; one\n"
	      "                         queue per vCPU (at most 16) unless queues=N; each\n",
	      out);
	fprintf(out,
		"                         queue's thread busy-polls up to poll-us (default\n"
		"                         %u, as QEMU; 0: never) before it sleeps; an\n"
		"                         interrupt waits up to coalesce-us (default %u)\n",
		POLL_WINDOW_DEFAULT_US, COALESCE_DEFAULT_US);
	fputs("                         for more completions while the queue is deeper\n"
	      "                         than those, and while requests are under way the\n"
	      "                         guest does not kick: the ring is looked at within\n"
	      "                         coalesce-us (0: neither); fixed-buffers=on: guest RAM\n"
	      "                         is io_uring's registered buffers (pinned);\n"
	      "                         sqpoll=on: a kernel thread submits for the disk\n"
	      "  --rng[=bus=PORT]       virtio-rng fed from getrandom(2)\n"
	      "  --vfio host=DDDD:BB:DD.F[,managed=on][,bus=PORT][,msix-relocate=auto|on|off]\n"
	      "                         assign a host PCI function (PF or SR-IOV VF) bound to\n"
	      "                         vfio-pci; `conduit devices` lists candidates; the\n"
	      "                         MSI-X table moves to a BAR of its own if its host\n"
	      "                         page holds other registers (auto) or always (on);\n"
	      "                         managed=on: conduit binds it to vfio-pci and gives\n"
	      "                         it back to its driver at exit\n"
	      "  --vfio pf=DDDD:BB:DD.F[,vf=N|auto][,mac=MAC][,vlan=ID][,qos=N][,trust=on|off]\n"
	      "        [,spoofchk=on|off][,bus=PORT]\n"
	      "                         a VF of that PF (auto: the first no one holds), with\n"
	      "                         those settings, managed; all undone at exit\n"
	      "  --net tap=IFNAME|fd=N[:N...][,mac=MAC][,queues=N|auto][,vhost=on|off|auto]\n"
	      "        [,mtu=N][,bus=PORT]\n"
	      "                         virtio-net on a tap (created if missing, removed at\n"
	      "                         exit if created) or on tap fds opened for conduit;\n"
	      "                         one queue pair unless queues=N (auto: one per vCPU);\n"
	      "                         vhost-net when it opens (auto), else io_uring (off);\n"
	      "                         a random MAC unless mac=; the tap's MTU unless mtu=\n"
	      "  --api-socket PATH      the control socket (JSON lines, 0600, conduit's user and\n"
	      "                         root only): `conduit ctl PATH info` and the like\n"
	      "  --stats                at exit, print time to first KVM_RUN and VMM memory\n"
	      "  --numa auto|off        auto (default): on a host with several NUMA nodes, guest\n"
	      "                         RAM, vCPUs and I/O threads on the node of the assigned\n"
	      "                         functions (the majority when they disagree)\n"
	      "  --numa node=ID,cpus=LIST,memory=SIZE[,host-node=N]\n"
	      "                         a guest NUMA node (repeat for each, IDs from 0): its\n"
	      "                         vCPUs (e.g. 0-1:4) and RAM, bound to host node N\n"
	      "  --seccomp on|log|off   system call allowlists per thread (default on); log:\n"
	      "                         forbidden calls are logged by the kernel, not stopped\n"
	      "  --help                 this text\n"
	      "On a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A to the guest.\n",
	      out);
}

static int parse_cpus(const char *arg, struct vm_options *opts)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < 1 || v > OPT_MAX_CPUS) {
		log_error("--cpus '%s' is out of range: give a number from 1 to %d", arg,
			  OPT_MAX_CPUS);
		return -1;
	}
	opts->cpus = (unsigned int)v;
	return 0;
}

static int parse_serial(const char *arg, struct vm_options *opts)
{
	if (!strcmp(arg, "stdio")) {
		opts->serial = SERIAL_STDIO;
	} else if (!strcmp(arg, "none")) {
		opts->serial = SERIAL_NONE;
	} else if (!strncmp(arg, "file=", 5) && arg[5]) {
		opts->serial = SERIAL_FILE;
		opts->serial_path = arg + 5;
	} else {
		log_error("--serial '%s' is not understood: use stdio, none or file=PATH", arg);
		return -1;
	}
	return 0;
}

/* Splits "k1=v1,k2=v2" in place; a bare word comes back with val NULL. */
static bool kv_next(char **cursor, char **key, char **val)
{
	char *p = *cursor, *comma, *eq;

	if (!p || !*p)
		return false;
	comma = strchr(p, ',');
	if (comma)
		*comma = '\0';
	*cursor = comma ? comma + 1 : NULL;
	eq = strchr(p, '=');
	if (eq)
		*eq = '\0';
	*key = p;
	*val = eq ? eq + 1 : NULL;
	return true;
}

static char *keep(struct vm_options *opts, const char *arg)
{
	char *copy;

	if (opts->nr_strings == sizeof(opts->strings) / sizeof(opts->strings[0]))
		return NULL;
	copy = strdup(arg);
	if (copy)
		opts->strings[opts->nr_strings++] = copy;
	return copy;
}

void options_free(struct vm_options *opts)
{
	while (opts->nr_strings)
		free(opts->strings[--opts->nr_strings]);
}

static int parse_onoff(const char *opt, const char *key, const char *val, bool *out)
{
	if (val && !strcmp(val, "on")) {
		*out = true;
	} else if (val && !strcmp(val, "off")) {
		*out = false;
	} else {
		log_error("%s %s=%s: write %s=on or %s=off", opt, key, val ? val : "", key, key);
		return -1;
	}
	return 0;
}

static int parse_memory_flags(char *cur, const char *arg, struct vm_options *opts)
{
	char *key, *val;

	while (kv_next(&cur, &key, &val)) {
		if (!strcmp(key, "hugepages")) {
			if (parse_onoff("--memory", key, val, &opts->hugepages))
				return -1;
		} else if (!strcmp(key, "shared")) {
			if (parse_onoff("--memory", key, val, &opts->shared_memory))
				return -1;
		} else if (!strcmp(key, "prefault")) {
			if (parse_onoff("--memory", key, val, &opts->prefault))
				return -1;
		} else {
			log_error("--memory '%s': unknown setting '%s' (hugepages=on|off, "
				  "shared=on|off, prefault=on|off)",
				  arg, key);
			return -1;
		}
	}
	return 0;
}

static int parse_memory(const char *arg, struct vm_options *opts)
{
	char buf[64];
	char *comma;

	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	comma = strchr(buf, ',');
	if (comma) {
		*comma = '\0';
		if (parse_memory_flags(comma + 1, arg, opts))
			return -1;
	}
	if (size_parse(buf, &opts->memory))
		goto bad;
	if (opts->memory < OPT_MIN_MEMORY || opts->memory > OPT_MAX_MEMORY) {
		log_error("--memory %s is out of range: give between 32M and 1T", arg);
		return -1;
	}
	if (opts->memory & ((1ULL << 20) - 1)) {
		log_error("--memory %s is not a whole number of MiB: round it to M", arg);
		return -1;
	}
	return 0;
bad:
	log_error("--memory '%s' is not a size: write e.g. 512M, 2G or 2G,hugepages=on", arg);
	return -1;
}

static int parse_range(const char *opt, const char *key, const char *val, unsigned int min,
		       unsigned int max, unsigned int *out)
{
	char *end;
	long v;

	errno = 0;
	v = val ? strtol(val, &end, 10) : 0;
	if (!val || errno || *end || end == val || v < (long)min || v > (long)max) {
		log_error("%s %s=%s is out of range: give %u to %u", opt, key, val ? val : "", min,
			  max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int parse_count(const char *opt, const char *key, const char *val, unsigned int max,
		       unsigned int *out)
{
	return parse_range(opt, key, val, 1, max, out);
}

#define PCIE_SYNTAX                                                                                \
	"write root-port,id=ID[,bus=RC], switch,id=ID,bus=PORT,ports=N or "                        \
	"root-complex,id=ID[,numa=NODE]"

static int parse_pcie_key(struct port_opt *p, const char *key, char *val, bool first)
{
	unsigned int node;

	if (first && !val && !strcmp(key, "root-port"))
		return 0;
	if (first && !val && (!strcmp(key, "switch") || !strcmp(key, "root-complex"))) {
		p->is_switch = !strcmp(key, "switch");
		p->is_root_complex = !p->is_switch;
		return 0;
	}
	if (!strcmp(key, "id") && val && *val) {
		p->id = val;
		return 0;
	}
	if (!strcmp(key, "bus") && val && *val) {
		p->bus = val;
		return 0;
	}
	if (!strcmp(key, "ports"))
		return parse_count("--pcie", key, val, OPT_MAX_SWITCH_PORTS, &p->ports);
	if (!strcmp(key, "numa") &&
	    !parse_range("--pcie", key, val, 0, GUEST_NUMA_MAX_NODES - 1, &node)) {
		p->numa = (int)node;
		return 0;
	}
	return -1;
}

/* a switch plugs into a port; a root port into pcie.0 or a root complex; a root
 * complex is a bus of its own */
static bool pcie_complete(const struct port_opt *p)
{
	if (!p->id)
		return false;
	if (p->is_switch)
		return p->bus && p->ports && p->numa < 0;
	if (p->is_root_complex)
		return !p->bus && !p->ports && strcmp(p->id, "pcie.0");
	return !p->ports && p->numa < 0;
}

static int parse_pcie(const char *arg, struct vm_options *opts)
{
	struct port_opt *p = &opts->port[opts->nr_ports];
	char *cur = keep(opts, arg), *key, *val;
	bool first = true;

	if (opts->nr_ports == OPT_MAX_PORTS || !cur) {
		log_error("--pcie: at most %d ports, switches and root complexes", OPT_MAX_PORTS);
		return -1;
	}
	*p = (struct port_opt){.numa = -1};
	while (kv_next(&cur, &key, &val)) {
		if (parse_pcie_key(p, key, val, first))
			goto bad;
		first = false;
	}
	if (!pcie_complete(p))
		goto bad;
	opts->nr_ports++;
	return 0;
bad:
	log_error("--pcie '%s': " PCIE_SYNTAX, arg);
	return -1;
}

static int parse_disk(const char *arg, struct vm_options *opts)
{
	struct disk_opt *disk = &opts->disk[opts->nr_disks];
	struct blk_options *d = &disk->blk;
	char *cur = keep(opts, arg), *key, *val;
	int ret = 0;

	if (opts->nr_disks == OPT_MAX_DISKS || !cur) {
		log_error("--disk: at most %d disks", OPT_MAX_DISKS);
		return -1;
	}
	*disk = (struct disk_opt){
		.blk = {.poll_us = POLL_WINDOW_DEFAULT_US, .coalesce_us = COALESCE_DEFAULT_US}};
	while (!ret && kv_next(&cur, &key, &val)) {
		if (!strcmp(key, "path") && val && *val) {
			d->path = val;
		} else if (!strcmp(key, "readonly")) {
			ret = parse_onoff("--disk", key, val, &d->readonly);
		} else if (!strcmp(key, "direct")) {
			ret = parse_onoff("--disk", key, val, &d->direct);
		} else if (!strcmp(key, "queues")) {
			ret = parse_count("--disk", key, val, OPT_MAX_QUEUES, &d->queues);
		} else if (!strcmp(key, "sqpoll")) {
			ret = parse_onoff("--disk", key, val, &d->sqpoll);
		} else if (!strcmp(key, "fixed-buffers")) {
			ret = parse_onoff("--disk", key, val, &d->fixed_buffers);
		} else if (!strcmp(key, "poll-us")) {
			ret = parse_range("--disk", key, val, 0, OPT_MAX_POLL_US, &d->poll_us);
		} else if (!strcmp(key, "coalesce-us")) {
			ret = parse_range("--disk", key, val, 0, OPT_MAX_COALESCE_US,
					  &d->coalesce_us);
		} else if (!strcmp(key, "bus") && val && *val) {
			disk->bus = val;
		} else {
			log_error("--disk: unknown key '%s': use path, readonly, queues, direct, "
				  "poll-us, coalesce-us, fixed-buffers, sqpoll, bus",
				  key);
			return -1;
		}
	}
	if (!ret && !d->path) {
		log_error("--disk '%s' names no file: write path=FILE", arg);
		return -1;
	}
	opts->nr_disks += !ret;
	return ret;
}

static int parse_rng(const char *arg, struct vm_options *opts)
{
	opts->rng = true;
	if (!arg)
		return 0;
	if (strncmp(arg, "bus=", 4) || !arg[4]) {
		log_error("--rng='%s': write --rng or --rng=bus=PORT", arg);
		return -1;
	}
	opts->rng_bus = arg + 4;
	return 0;
}

static int parse_relocate(const char *val, enum vfio_msix_relocate *out)
{
	static const char *const names[] = {
		[VFIO_MSIX_RELOCATE_AUTO] = "auto",
		[VFIO_MSIX_RELOCATE_ON] = "on",
		[VFIO_MSIX_RELOCATE_OFF] = "off",
	};
	unsigned int i;

	for (i = 0; val && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(val, names[i])) {
			*out = (enum vfio_msix_relocate)i;
			return 0;
		}
	log_error("--vfio: msix-relocate='%s': write auto, on or off", val ? val : "");
	return -1;
}

int options_parse_on_off(const char *what, const char *val, bool *out)
{
	if (val && (!strcmp(val, "on") || !strcmp(val, "off"))) {
		*out = !strcmp(val, "on");
		return 0;
	}
	log_error("%s=%s: write on or off", what, val ? val : "");
	return -1;
}

/* A decimal number up to max; 0, or -1 (nothing printed). */
int options_parse_uint(const char *s, unsigned long max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* vf=N|auto, vlan=ID, qos=N */
static int parse_vfio_number(const char *key, const char *val, struct claim_request *c)
{
	unsigned int n;

	if (!strcmp(key, "vf") && val && !strcmp(val, "auto")) {
		c->vf = CLAIM_VF_AUTO;
		return 0;
	}
	if (!options_parse_uint(val,
				!strcmp(key, "vf")     ? 65535
				: !strcmp(key, "vlan") ? 4095
						       : 7,
				&n)) {
		if (!strcmp(key, "vf"))
			c->vf = (int)n;
		else if (!strcmp(key, "vlan"))
			c->settings.vlan = n, c->settings.set_vlan = true;
		else
			c->settings.qos = n, c->settings.set_vlan = true;
		return 0;
	}
	log_error("--vfio %s=%s: write %s", key, val ? val : "",
		  !strcmp(key, "vf")	 ? "a VF number from 0, or auto"
		  : !strcmp(key, "vlan") ? "a VLAN ID 0-4095 (0: none)"
					 : "a priority 0-7");
	return -1;
}

/* The keys of managed assignment (#11): 1 taken, 0 not one of them, -1 bad value. */
static int parse_vfio_managed(const char *key, const char *val, struct vfio_opt *v)
{
	struct vf_link_change *s = &v->claim.settings;

	if (!strcmp(key, "managed"))
		return options_parse_on_off("--vfio managed", val, &v->managed) ? -1 : 1;
	if (!strcmp(key, "pf") && val && *val) {
		v->claim.pf = val;
		return 1;
	}
	if (!strcmp(key, "vf") || !strcmp(key, "vlan") || !strcmp(key, "qos"))
		return parse_vfio_number(key, val, &v->claim) ? -1 : 1;
	if (!strcmp(key, "mac"))
		return (s->set_mac = true, options_parse_mac("--vfio mac", val, s->mac)) ? -1 : 1;
	if (!strcmp(key, "trust"))
		return (s->set_trust = true, options_parse_on_off("--vfio trust", val, &s->trust))
			       ? -1
			       : 1;
	if (!strcmp(key, "spoofchk"))
		return (s->set_spoofchk = true,
			options_parse_on_off("--vfio spoofchk", val, &s->spoofchk))
			       ? -1
			       : 1;
	return 0;
}

static int parse_vfio_key(char *key, char *val, struct vfio_opt *v, const char *arg)
{
	int ret = parse_vfio_managed(key, val, v);

	if (ret)
		return ret < 0 ? -1 : 0;
	if (!strcmp(key, "host") && val && *val)
		v->host = val;
	else if (!strcmp(key, "bus") && val && *val)
		v->bus = val;
	else if (!strcmp(key, "msix-relocate"))
		return parse_relocate(val, &v->msix_relocate);
	else {
		log_error("--vfio '%s': write host=DDDD:BB:DD.F[,managed=on] or "
			  "pf=DDDD:BB:DD.F[,vf=N|auto][,mac=..][,vlan=..][,qos=..][,trust=on|off]"
			  "[,spoofchk=on|off], with [,bus=PORT][,msix-relocate=auto|on|off]",
			  arg);
		return -1;
	}
	return 0;
}

/* host= or pf=, not both; the VF's keys only with pf=, which is always managed. */
static int check_vfio_opt(struct vfio_opt *v, const char *arg, bool said_managed)
{
	const struct vf_link_change *s = &v->claim.settings;
	bool vf_keys = v->claim.vf != CLAIM_VF_AUTO || s->set_mac || s->set_vlan || s->set_trust ||
		       s->set_spoofchk;

	if (!v->host == !v->claim.pf) {
		log_error("--vfio '%s': name the function with host=DDDD:BB:DD.F, or a PF's VF "
			  "with pf=DDDD:BB:DD.F[,vf=N|auto]",
			  arg);
		return -1;
	}
	if (v->host && vf_keys) {
		log_error("--vfio '%s': vf=, mac=, vlan=, qos=, trust= and spoofchk= go with pf=",
			  arg);
		return -1;
	}
	if (v->claim.pf && said_managed && !v->managed) {
		log_error("--vfio '%s': pf= is always managed (conduit takes the VF and gives it "
			  "back): drop managed=off",
			  arg);
		return -1;
	}
	v->managed = v->managed || v->claim.pf;
	v->claim.host = v->host;
	return 0;
}

static int parse_vfio(const char *arg, struct vm_options *opts)
{
	struct vfio_opt *v = &opts->vfio[opts->nr_vfio];
	char *cur = keep(opts, arg), *key, *val;
	bool said_managed = false;

	if (opts->nr_vfio == OPT_MAX_VFIO || !cur) {
		log_error("--vfio: at most %d assigned functions", OPT_MAX_VFIO);
		return -1;
	}
	*v = (struct vfio_opt){.claim = {.vf = CLAIM_VF_AUTO}};
	while (kv_next(&cur, &key, &val)) {
		said_managed = said_managed || !strcmp(key, "managed");
		if (parse_vfio_key(key, val, v, arg))
			return -1;
	}
	if (check_vfio_opt(v, arg, said_managed))
		return -1;
	opts->nr_vfio++;
	return 0;
}

static int parse_net_fds(char *val, struct net_opt *n)
{
	char *tok, *end, *save = NULL;
	long fd;

	for (tok = strtok_r(val, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		errno = 0;
		fd = strtol(tok, &end, 10);
		if (errno || *end || end == tok || fd < 0 || fd > INT_MAX ||
		    n->nr_fds == NET_MAX_PAIRS) {
			log_error("--net fd=%s: write open tap fds, one per queue pair, as N or "
				  "N:N:... (at most %d)",
				  val, NET_MAX_PAIRS);
			return -1;
		}
		n->fds[n->nr_fds++] = (int)fd;
	}
	return 0;
}

/* A unicast MAC address as six hex pairs; what names the option in the error line. */
int options_parse_mac(const char *what, const char *val, uint8_t mac[6])
{
	struct ether_addr a;

	if (!val || strlen(val) != 17 || !ether_aton_r(val, &a)) {
		log_error("%s=%s: not a MAC address: write six hex pairs, e.g. 52:54:00:12:34:56",
			  what, val ? val : "");
		return -1;
	}
	if (a.ether_addr_octet[0] & 1) {
		log_error("%s=%s is a multicast address: a NIC needs a unicast one (even first "
			  "octet)",
			  what, val);
		return -1;
	}
	memcpy(mac, a.ether_addr_octet, 6);
	return 0;
}

static int parse_net_mac(const char *val, struct net_opt *n)
{
	if (options_parse_mac("--net mac", val, n->mac))
		return -1;
	n->has_mac = true;
	return 0;
}

static int parse_net_vhost(const char *val, struct net_opt *n)
{
	if (val && !strcmp(val, "auto"))
		n->vhost = NET_VHOST_AUTO;
	else if (val && !strcmp(val, "on"))
		n->vhost = NET_VHOST_ON;
	else if (val && !strcmp(val, "off"))
		n->vhost = NET_VHOST_OFF;
	else {
		log_error("--net vhost=%s: write on, off or auto", val ? val : "");
		return -1;
	}
	return 0;
}

static int parse_net_key(const char *key, char *val, struct net_opt *n)
{
	if (!strcmp(key, "tap") && val && *val) {
		n->tap = val;
		return 0;
	}
	if (!strcmp(key, "fd") && val && *val)
		return parse_net_fds(val, n);
	if (!strcmp(key, "mac"))
		return parse_net_mac(val, n);
	if (!strcmp(key, "queues")) {
		if (val && !strcmp(val, "auto")) {
			n->queues = 0;
			return 0;
		}
		return parse_count("--net", key, val, NET_MAX_PAIRS, &n->queues);
	}
	if (!strcmp(key, "vhost"))
		return parse_net_vhost(val, n);
	if (!strcmp(key, "mtu")) /* 68: IPv4's minimum (RFC 791) */
		return parse_range("--net", key, val, 68, 65535, &n->mtu);
	if (!strcmp(key, "bus") && val && *val) {
		n->bus = val;
		return 0;
	}
	log_error("--net: unknown key '%s': use tap, fd, mac, queues, vhost, mtu, bus", key);
	return -1;
}

/* With fd=, one fd per pair: queues= may be left out, or must agree. */
static int parse_net_check(const char *arg, struct net_opt *n, bool queues_given)
{
	if (!n->tap == !n->nr_fds) {
		log_error("--net '%s': give either tap=IFNAME or fd=N[:N...]", arg);
		return -1;
	}
	if (n->nr_fds && queues_given && n->queues != n->nr_fds) {
		log_error("--net '%s': queues=%u but %u tap fds: give one fd per queue pair", arg,
			  n->queues, n->nr_fds);
		return -1;
	}
	if (n->nr_fds)
		n->queues = n->nr_fds;
	return 0;
}

static int parse_net(const char *arg, struct vm_options *opts)
{
	struct net_opt *n = &opts->net[opts->nr_nets];
	char *cur = keep(opts, arg), *key, *val;
	bool queues_given = false;

	if (opts->nr_nets == OPT_MAX_NETS || !cur) {
		log_error("--net: at most %d network devices", OPT_MAX_NETS);
		return -1;
	}
	*n = (struct net_opt){.queues = 1, .vhost = NET_VHOST_AUTO};
	while (kv_next(&cur, &key, &val)) {
		queues_given |= !strcmp(key, "queues");
		if (parse_net_key(key, val, n))
			return -1;
	}
	if (parse_net_check(arg, n, queues_given))
		return -1;
	opts->nr_nets++;
	return 0;
}

static int parse_seccomp(const char *arg, struct vm_options *opts)
{
	static const char *const modes[] = {
		[SANDBOX_OFF] = "off",
		[SANDBOX_ON] = "on",
		[SANDBOX_LOG] = "log",
	};
	unsigned int m;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		if (!strcmp(arg, modes[m])) {
			opts->seccomp = (enum sandbox_mode)m;
			return 0;
		}
	}
	log_error("--seccomp '%s': write on, log or off", arg);
	return -1;
}

/* --numa auto|off, or a guest node (vmm/guest_numa.h) */
static int parse_numa(const char *arg, struct vm_options *opts)
{
	char *spec;
	int ret;

	if (!strcmp(arg, "auto") || !strcmp(arg, "off")) {
		opts->numa_off = !strcmp(arg, "off");
		return 0;
	}
	if (strncmp(arg, "node=", 5)) {
		log_error("--numa '%s': write auto (the guest on its assigned functions' host "
			  "node), off, or node=ID,cpus=LIST,memory=SIZE[,host-node=N]",
			  arg);
		return -1;
	}
	spec = strdup(arg);
	ret = spec ? guest_numa_parse(&opts->numa, spec, arg) : -1;
	free(spec);
	return ret;
}

/* What no single option can check: the guest nodes against --cpus and --memory, and
 * each root complex's node. */
static int check_numa(const struct vm_options *opts)
{
	if (guest_numa_check(&opts->numa, opts->cpus, opts->memory))
		return -1;
	for (unsigned int i = 0; i < opts->nr_ports; i++) {
		const struct port_opt *p = &opts->port[i];

		if (p->is_root_complex && p->numa >= (int)opts->numa.nr_nodes) {
			log_error("--pcie root-complex,id=%s,numa=%d: the guest has no node %d: "
				  "define it with --numa node=%d,cpus=LIST,memory=SIZE",
				  p->id, p->numa, p->numa, p->numa);
			return -1;
		}
	}
	return 0;
}

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_SERIAL,
	OPT_STATS,
	OPT_PCIE,
	OPT_DISK,
	OPT_RNG,
	OPT_VFIO,
	OPT_NET,
	OPT_SECCOMP,
	OPT_NUMA,
	OPT_API_SOCKET,
	OPT_HELP,
};

static const struct option run_options[] = {
	{"kernel", required_argument, NULL, OPT_KERNEL},
	{"initrd", required_argument, NULL, OPT_INITRD},
	{"cmdline", required_argument, NULL, OPT_CMDLINE},
	{"cpus", required_argument, NULL, OPT_CPUS},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"serial", required_argument, NULL, OPT_SERIAL},
	{"stats", no_argument, NULL, OPT_STATS},
	{"pcie", required_argument, NULL, OPT_PCIE},
	{"disk", required_argument, NULL, OPT_DISK},
	{"rng", optional_argument, NULL, OPT_RNG},
	{"vfio", required_argument, NULL, OPT_VFIO},
	{"net", required_argument, NULL, OPT_NET},
	{"seccomp", required_argument, NULL, OPT_SECCOMP},
	{"numa", required_argument, NULL, OPT_NUMA},
	{"api-socket", required_argument, NULL, OPT_API_SOCKET},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int parse_one(int opt, const char *arg, const char *word, struct vm_options *opts)
{
	switch (opt) {
	case OPT_KERNEL:
		opts->kernel = arg;
		return 0;
	case OPT_INITRD:
		opts->initrd = arg;
		return 0;
	case OPT_CMDLINE:
		opts->cmdline = arg;
		return 0;
	case OPT_CPUS:
		return parse_cpus(arg, opts);
	case OPT_MEMORY:
		return parse_memory(arg, opts);
	case OPT_SERIAL:
		return parse_serial(arg, opts);
	case OPT_STATS:
		opts->stats = true;
		return 0;
	case OPT_PCIE:
		return parse_pcie(arg, opts);
	case OPT_DISK:
		return parse_disk(arg, opts);
	case OPT_RNG:
		return parse_rng(arg, opts);
	case OPT_VFIO:
		return parse_vfio(arg, opts);
	case OPT_NET:
		return parse_net(arg, opts);
	case OPT_SECCOMP:
		return parse_seccomp(arg, opts);
	case OPT_NUMA:
		return parse_numa(arg, opts);
	case OPT_API_SOCKET:
		opts->api_socket = arg;
		return 0;
	case ':':
		log_error("option '%s' needs a value: see conduit run --help", word);
		return -1;
	default:
		log_error("unknown option '%s': see conduit run --help", word);
		return -1;
	}
}

/* The defaults of `conduit run`. */
static void options_defaults(struct vm_options *opts)
{
	*opts = (struct vm_options){
		.cmdline = "console=ttyS0",
		.cpus = 1,
		.memory = 512ULL << 20,
		/* a memfd: in tools/guest-loss anonymous memory lost more guests (#15) */
		.shared_memory = true,
		.serial = SERIAL_STDIO,
		.seccomp = SANDBOX_ON,
	};
}

static bool is_device_option(int opt)
{
	return opt == OPT_DISK || opt == OPT_NET || opt == OPT_VFIO || opt == OPT_RNG;
}

/* The next option of argv (-1 at the end), and the word it was given as. */
static int next_option(int argc, char **argv, const char **word)
{
	int before = optind ? optind : 1;

	*word = before < argc ? argv[before] : "";
	return getopt_long(argc, argv, ":", run_options, NULL);
}

int options_parse_device(int argc, char **argv, struct vm_options *opts)
{
	const char *word;
	int opt;

	options_defaults(opts);
	optind = 0;
	opterr = 0;
	while ((opt = next_option(argc, argv, &word)) != -1) {
		if (!is_device_option(opt) && opt != ':' && opt != '?') {
			log_error("'%s' is not a device: add-device takes one --disk, --net, --rng "
				  "or --vfio",
				  word);
			goto fail;
		}
		if (parse_one(opt, optarg, word, opts))
			goto fail;
	}
	if (optind < argc || opts->nr_disks + opts->nr_nets + opts->nr_vfio + opts->rng != 1) {
		log_error("add-device takes exactly one --disk, --net, --rng or --vfio");
		goto fail;
	}
	return 0;
fail:
	options_free(opts);
	return -1;
}

/* argv[0] is "run"; parsing is reentrant enough for tests (optind is reset). */
enum options_result options_parse(int argc, char **argv, struct vm_options *opts)
{
	const char *word;
	int opt;

	options_defaults(opts);
	optind = 0;
	opterr = 0;
	while ((opt = next_option(argc, argv, &word)) != -1) {
		if (opt == OPT_HELP) {
			options_usage(stdout);
			options_free(opts);
			return OPTIONS_HELP;
		}
		if (parse_one(opt, optarg, word, opts))
			goto fail;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s': see conduit run --help", argv[optind]);
		goto fail;
	}
	if (!opts->kernel) {
		log_error("no kernel given: add --kernel PATH (a Linux bzImage)");
		goto fail;
	}
	if (check_numa(opts))
		goto fail;
	return OPTIONS_OK;
fail:
	options_free(opts);
	return OPTIONS_ERROR;
}
