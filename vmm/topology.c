/*
 * Builds the PCI hierarchy from --pcie, --disk, --net, --rng and --vfio, in command-line order:
 * root complexes (root buses of their own), root ports on the root bus or the root
 * complex their bus= names, switches below the port their bus= names (upstream port
 * on that link, downstream ports ID.0..ID.N-1 on the switch's internal bus), then each
 * device on the port or root complex its bus= names, or on the root bus. A port's link
 * holds a single device. Then, as firmware would, bus numbers, BARs and windows are
 * assigned.
 */
#include "vmm/topology.h"
#include "pci/alloc.h"
#include "pci/pcie.h"
#include "pci/port.h"
#include "vfio/host_check.h"
#include "vfio/pci.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/pci.h"
#include "virtio/rng.h"
#include "vmm/base/log.h"
#include "vmm/x86/layout.h"

#include <stdio.h>
#include <string.h>

#define MAX_NAMED_PORTS (OPT_MAX_PORTS * OPT_MAX_SWITCH_PORTS)

/* A port (its link below) or a root complex (its root bus) that devices name in bus=. */
struct named_port {
	char id[64];
	struct pci_bus *bus;
};

struct topo {
	struct vm *vm;
	struct named_port named[MAX_NAMED_PORTS];
	unsigned int nr_named;
	unsigned int next_port_number;
	struct vfio_host_info vfio_info[OPT_MAX_VFIO];
};

static struct pci_bus *find_bus(struct topo *t, const char *id)
{
	unsigned int i;

	for (i = 0; i < t->nr_named; i++)
		if (!strcmp(t->named[i].id, id))
			return t->named[i].bus;
	return NULL;
}

static int name_bus(struct topo *t, const char *id, struct pci_bus *bus)
{
	if (find_bus(t, id)) {
		log_error("PCIe port id '%s' is used twice: give each --pcie its own id", id);
		return -1;
	}
	if (t->nr_named == MAX_NAMED_PORTS)
		return -1;
	snprintf(t->named[t->nr_named].id, sizeof(t->named[0].id), "%s", id);
	t->named[t->nr_named++].bus = bus;
	return 0;
}

static int name_port(struct topo *t, const char *id, struct pci_dev *port)
{
	if (!port) {
		log_error("cannot create PCIe port '%s': no free slot on its bus", id);
		return -1;
	}
	return name_bus(t, id, port->secondary);
}

/* The bus a device or switch goes on: a root bus, or the free link of a port. */
static struct pci_bus *bus_for(struct topo *t, const char *id, const char *what)
{
	struct pci_bus *bus;

	if (!id || !strcmp(id, "pcie.0"))
		return t->vm->pci.bus[0];
	bus = find_bus(t, id);
	if (!bus) {
		log_error("%s: no PCIe port '%s': define it first with --pcie root-port,id=%s",
			  what, id, id);
		return NULL;
	}
	if (bus->self && bus->dev[0]) {
		log_error("%s: PCIe port '%s' already holds a device (one per link): add a port",
			  what, id);
		return NULL;
	}
	return bus;
}

/* A root port goes on a root bus: pcie.0 or a root complex. */
static struct pci_bus *root_bus_for(struct topo *t, const char *id)
{
	struct pci_bus *bus;

	if (id && strcmp(id, "pcie.0") && !find_bus(t, id)) {
		log_error("--pcie root-port,bus=%s: no root complex '%s': define it first with "
			  "--pcie root-complex,id=%s",
			  id, id, id);
		return NULL;
	}
	bus = bus_for(t, id, "--pcie root-port");
	if (bus && bus->self) {
		log_error("--pcie root-port,bus=%s: root ports go on pcie.0 or a root complex, "
			  "not below a port: use a switch there",
			  id);
		return NULL;
	}
	return bus;
}

static int add_root_complex(struct topo *t, const struct port_opt *o)
{
	struct pci_bus *root = pci_root_new(&t->vm->pci, o->numa);

	if (!root) {
		log_error("--pcie root-complex,id=%s: at most %d root complexes", o->id,
			  PCI_MAX_ROOTS - 1);
		return -1;
	}
	return name_bus(t, o->id, root);
}

static int add_switch(struct topo *t, const struct port_opt *o)
{
	struct pci_bus *link = bus_for(t, o->bus, "--pcie switch");
	struct pci_dev *up;
	char name[64];
	unsigned int i;

	if (!link)
		return -1;
	if (!link->self) {
		log_error("--pcie switch,id=%s,bus=%s: a switch plugs into a port's link: name "
			  "a root port",
			  o->id, o->bus);
		return -1;
	}
	up = port_create_switch_up(link, o->id);
	if (!up)
		return -1;
	pcie_link_set_active(link->self, true);
	for (i = 0; i < o->ports; i++) {
		snprintf(name, sizeof(name), "%s.%u", o->id, i);
		if (name_port(t, name, port_create_switch_down(up->secondary, name, (uint8_t)i)))
			return -1;
	}
	return 0;
}

static int add_root_port(struct topo *t, const struct port_opt *p)
{
	struct pci_bus *root = root_bus_for(t, p->bus);

	if (!root)
		return -1;
	return name_port(t, p->id, port_create_root(root, p->id, (uint8_t)++t->next_port_number));
}

static int add_ports(struct topo *t)
{
	const struct vm_options *o = t->vm->opts;
	unsigned int i;

	for (i = 0; i < o->nr_ports; i++) {
		const struct port_opt *p = &o->port[i];
		int err = p->is_switch	       ? add_switch(t, p)
			  : p->is_root_complex ? add_root_complex(t, p)
					       : add_root_port(t, p);

		if (err)
			return -1;
	}
	return 0;
}

/* What `info` shows of a device: an id from its kind's prefix and its order. */
static struct vm_device *record(struct topo *t, const char *prefix, const char *kind,
				struct pci_dev *d, const char *bus_id)
{
	struct vm *vm = t->vm;
	struct vm_device *dev = &vm->devices[vm->nr_devices++];
	unsigned int n = 0;

	for (unsigned int i = 0; i + 1 < vm->nr_devices; i++)
		n += !strcmp(vm->devices[i].kind, kind);
	*dev = (struct vm_device){.kind = kind, .pci = d, .port = bus_id, .host_node = -1};
	snprintf(dev->id, sizeof(dev->id), "%s%u", prefix, n);
	return dev;
}

/* Puts d on bus; on failure destroys d. */
static int attach(struct pci_dev *d, struct pci_bus *bus, const char *what)
{
	if (pci_bus_attach(bus, d, -1)) {
		log_error("%s: no free slot on its root bus", what);
		d->ops->destroy(d);
		return -1;
	}
	if (bus->self)
		pcie_link_set_active(bus->self, true);
	return 0;
}

static int plug(struct topo *t, struct virtio_dev *vdev, const char *bus_id, const char *what,
		const char *prefix)
{
	struct pci_bus *bus = vdev ? bus_for(t, bus_id, what) : NULL;
	struct pci_dev *d = bus ? virtio_pci_create(vdev, &t->vm->irq, &t->vm->ram) : NULL;

	if (!d) {
		if (vdev)
			vdev->ops->destroy(vdev);
		return -1;
	}
	if (attach(d, bus, what))
		return -1;
	record(t, prefix, d->name, d, bus_id);
	return 0;
}

/*
 * --vfio: every function's host state is checked before any IOMMU group is opened,
 * so a bad one changes nothing on the host, and so the check's trial open of a group
 * does not collide with a group already held for an earlier function.
 */
static int check_vfio(struct topo *t, struct vfio_host_info *info)
{
	const struct vm_options *o = t->vm->opts;
	struct vfio_backend_paths paths;
	unsigned int i, j;
	char err[1024];

	for (i = 0; i < o->nr_vfio; i++) {
		if (vfio_host_check("/", t->vm->vfio_host[i], &info[i], err, sizeof(err))) {
			log_error("%s", err);
			return -1;
		}
		if (vfio_backend_select("/", &info[i], &paths) == VFIO_BACKEND_IOMMUFD)
			log_info("vfio %s: the host offers iommufd (%s), which conduit does not "
				 "drive yet: using the VFIO group interface",
				 info[i].bdf, paths.device);
		for (j = 0; j < i; j++)
			if (!strcmp(info[j].bdf, info[i].bdf)) {
				log_error("--vfio host=%s is given twice: a function can be "
					  "assigned once",
					  info[i].bdf);
				return -1;
			}
	}
	return 0;
}

static int add_vfio(struct topo *t, const struct vfio_opt *o, const struct vfio_host_info *info)
{
	struct pci_bus *bus = bus_for(t, o->bus, "--vfio");
	struct vm_device *dev;
	struct pci_dev *d;

	if (!bus)
		return -1;
	d = vfio_pci_create(&(struct vfio_pci_args){.bdf = info->bdf,
						    .group = info->group,
						    .container = &t->vm->vfio,
						    .irq = &t->vm->irq,
						    .slots = &t->vm->slots,
						    .host_root = "/",
						    .msix_relocate = o->msix_relocate});
	if (!d || attach(d, bus, "--vfio"))
		return -1;
	dev = record(t, "vfio", "vfio", d, o->bus);
	memcpy(dev->host_bdf, info->bdf, sizeof(dev->host_bdf));
	dev->host_node = info->numa_node;
	return 0;
}

/* Like QEMU's virtio-blk-pci: a queue per vCPU, so each CPU submits and completes on
 * its own queue and interrupt (no cross-CPU completion IPIs in the guest). */
static unsigned int disk_queues(const struct vm_options *o)
{
	return o->cpus < OPT_MAX_QUEUES ? o->cpus : OPT_MAX_QUEUES;
}

/* queues=auto: a pair per vCPU, as for disks */
static int add_net(struct topo *t, const struct net_opt *n)
{
	const struct vm_options *o = t->vm->opts;
	unsigned int pairs = n->queues ? n->queues : o->cpus;
	struct net_options no = {.tap = n->tap,
				 .fds = n->fds,
				 .pairs = pairs < NET_MAX_PAIRS ? pairs : NET_MAX_PAIRS,
				 .has_mac = n->has_mac,
				 .mtu = n->mtu,
				 .vhost = n->vhost};

	memcpy(no.mac, n->mac, sizeof(no.mac));
	return plug(t, net_create(&no), n->bus, "--net", "net");
}

static int add_devices(struct topo *t)
{
	const struct vm_options *o = t->vm->opts;
	unsigned int i;

	for (i = 0; i < o->nr_disks; i++) {
		const struct disk_opt *d = &o->disk[i];
		struct blk_options bo = {.path = d->path,
					 .readonly = d->readonly,
					 .direct = d->direct,
					 .queues = d->queues ? d->queues : disk_queues(o)};

		if (plug(t, blk_create(&bo), d->bus, "--disk", "disk"))
			return -1;
	}
	for (i = 0; i < o->nr_nets; i++)
		if (add_net(t, &o->net[i]))
			return -1;
	if (o->rng && plug(t, rng_create(), o->rng_bus, "--rng", "rng"))
		return -1;
	for (i = 0; i < o->nr_vfio; i++)
		if (add_vfio(t, &o->vfio[i], &t->vfio_info[i]))
			return -1;
	return 0;
}

void topology_windows(const struct vm *vm, struct pci_windows *w)
{
	uint64_t ram_top = HIGH_RAM_ADDR + vm->ram.high_size;

	w->io_base = PCI_IO_ADDR;
	w->io_end = PCI_IO_END;
	w->mem32_base = PCI_MEM32_ADDR;
	w->mem32_end = PCI_MEM32_END;
	w->mem64_base = (ram_top + PCI_MEM64_ALIGN - 1) & ~(PCI_MEM64_ALIGN - 1);
	w->mem64_end = w->mem64_base + PCI_MEM64_SIZE;
}

int topology_build(struct vm *vm)
{
	static struct topo t;
	struct pci_windows w;

	memset(&t, 0, sizeof(t));
	t.vm = vm;
	if (check_vfio(&t, t.vfio_info) || add_ports(&t) || add_devices(&t))
		return -1;
	topology_windows(vm, &w);
	return pci_assign_resources(&vm->pci, &w);
}
