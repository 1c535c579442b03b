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
	port_cold_plug(link->self);
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

/* The name a bus= gave, kept as long as the topology: the named port's own copy. */
static const char *port_name(struct topo *t, const char *id)
{
	for (unsigned int i = 0; id && i < t->nr_named; i++)
		if (!strcmp(t->named[i].id, id))
			return t->named[i].id;
	return NULL;
}

/* Whether some device has this id. */
int topology_device_index(const struct vm *vm, const char *id)
{
	for (unsigned int i = 0; i < vm->nr_devices; i++)
		if (!strcmp(vm->devices[i].id, id))
			return (int)i;
	return -1;
}

/* What `info` shows of a device: an id from its kind's prefix and the first number
 * no device of the VM has (a removed device's id is free again). */
static struct vm_device *record(struct topo *t, const char *prefix, const char *kind,
				struct pci_dev *d, const char *bus_id)
{
	struct vm *vm = t->vm;
	struct vm_device *dev;
	char id[VM_DEVICE_ID_LEN];
	unsigned int n = 0;

	do
		snprintf(id, sizeof(id), "%s%u", prefix, n++);
	while (topology_device_index(vm, id) >= 0);
	dev = &vm->devices[vm->nr_devices++];
	*dev = (struct vm_device){
		.kind = kind, .pci = d, .port = port_name(t, bus_id), .host_node = -1};
	memcpy(dev->id, id, sizeof(id));
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
		port_cold_plug(bus->self);
	return 0;
}

/* A virtio device on its PCI function; NULL (logged) destroys what was made. */
static struct pci_dev *virtio_function(struct topo *t, struct virtio_dev *vdev)
{
	struct pci_dev *d = vdev ? virtio_pci_create(vdev, &t->vm->irq, &t->vm->ram) : NULL;

	if (!d && vdev)
		vdev->ops->destroy(vdev);
	return d;
}

static int plug(struct topo *t, struct virtio_dev *vdev, const char *bus_id, const char *what,
		const char *prefix)
{
	struct pci_bus *bus = vdev ? bus_for(t, bus_id, what) : NULL;
	struct pci_dev *d = virtio_function(t, bus ? vdev : NULL);

	if (!d) {
		if (vdev && !bus)
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

static struct pci_dev *create_vfio(struct topo *t, const struct vfio_opt *o,
				   const struct vfio_host_info *info)
{
	return vfio_pci_create(&(struct vfio_pci_args){.bdf = info->bdf,
						       .group = info->group,
						       .container = &t->vm->vfio,
						       .irq = &t->vm->irq,
						       .slots = &t->vm->slots,
						       .host_root = "/",
						       .msix_relocate = o->msix_relocate});
}

static struct vm_device *record_vfio(struct topo *t, struct pci_dev *d, const char *bus_id,
				     const struct vfio_host_info *info)
{
	struct vm_device *dev = record(t, "vfio", "vfio", d, bus_id);

	memcpy(dev->host_bdf, info->bdf, sizeof(dev->host_bdf));
	dev->host_node = info->numa_node;
	return dev;
}

static int add_vfio(struct topo *t, const struct vfio_opt *o, const struct vfio_host_info *info)
{
	struct pci_bus *bus = bus_for(t, o->bus, "--vfio");
	struct pci_dev *d = bus ? create_vfio(t, o, info) : NULL;

	if (!d || attach(d, bus, "--vfio"))
		return -1;
	record_vfio(t, d, o->bus, info);
	return 0;
}

/* Like QEMU's virtio-blk-pci: a queue per vCPU, so each CPU submits and completes on
 * its own queue and interrupt (no cross-CPU completion IPIs in the guest). */
static unsigned int disk_queues(const struct vm_options *o)
{
	return o->cpus < OPT_MAX_QUEUES ? o->cpus : OPT_MAX_QUEUES;
}

/* queues=auto: a pair per vCPU, as for disks */
static struct virtio_dev *create_net(struct topo *t, const struct net_opt *n)
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
	return net_create(&no);
}

static struct virtio_dev *create_disk(struct topo *t, const struct disk_opt *d)
{
	struct blk_options bo = d->blk;

	if (!bo.queues)
		bo.queues = disk_queues(t->vm->opts);
	return blk_create(&bo);
}

static int add_devices(struct topo *t)
{
	const struct vm_options *o = t->vm->opts;
	unsigned int i;

	for (i = 0; i < o->nr_disks; i++)
		if (plug(t, create_disk(t, &o->disk[i]), o->disk[i].bus, "--disk", "disk"))
			return -1;
	for (i = 0; i < o->nr_nets; i++)
		if (plug(t, create_net(t, &o->net[i]), o->net[i].bus, "--net", "net"))
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

/* The machine's topology: built once at start, its named ports used again by
 * devices added later. */
static struct topo topo;

int topology_build(struct vm *vm)
{
	struct topo *t = &topo;
	struct pci_windows w;

	memset(t, 0, sizeof(*t));
	t->vm = vm;
	if (check_vfio(t, t->vfio_info) || add_ports(t) || add_devices(t))
		return -1;
	topology_windows(vm, &w);
	return pci_assign_resources(&vm->pci, &w);
}

/* Where a device added at run time goes: the named port, which must have a hot-plug
 * slot with nothing behind it, or the first such port. */
static struct named_port *hot_slot(struct topo *t, const char *id)
{
	for (unsigned int i = 0; i < t->nr_named; i++) {
		struct named_port *p = &t->named[i];
		bool slot = p->bus->self && port_has_slot(p->bus->self);

		if (id && strcmp(p->id, id))
			continue;
		if (slot && !p->bus->dev[0])
			return p;
		if (id) {
			log_error(slot ? "port '%s' holds a device already: remove it first or "
					 "name another port"
				       : "'%s' has no hot-plug slot: add devices on a root port "
					 "or a switch's downstream port",
				  id);
			return NULL;
		}
	}
	if (id)
		log_error("no port '%s': the ports are the ids of conduit's --pcie options", id);
	else
		log_error("no free hot-plug port: start conduit with an empty --pcie root-port "
			  "for each device to add");
	return NULL;
}

/* The one --vfio of a request: checked on the host like one given at start, and not
 * assigned already (a managed one was taken by vmm/hotplug.c and comes as host=). */
static bool hot_vfio_check(struct topo *t, const struct vfio_opt *o, struct vfio_host_info *info)
{
	char err[1024];

	if (vfio_host_check("/", o->host, info, err, sizeof(err))) {
		log_error("%s", err);
		return false;
	}
	for (unsigned int i = 0; i < t->vm->nr_devices; i++) {
		if (!strcmp(t->vm->devices[i].host_bdf, info->bdf)) {
			log_error("%s is assigned already, as %s", info->bdf, t->vm->devices[i].id);
			return false;
		}
	}
	return true;
}

static struct pci_dev *hot_create(struct topo *t, const struct vm_options *o,
				  struct vfio_host_info *info, const char **prefix)
{
	*prefix = o->nr_disks ? "disk" : o->nr_nets ? "net" : o->rng ? "rng" : "vfio";
	if (o->nr_disks)
		return virtio_function(t, create_disk(t, &o->disk[0]));
	if (o->nr_nets)
		return virtio_function(t, create_net(t, &o->net[0]));
	if (o->rng)
		return virtio_function(t, rng_create());
	return hot_vfio_check(t, &o->vfio[0], info) ? create_vfio(t, &o->vfio[0], info) : NULL;
}

static const char *device_bus(const struct vm_options *o)
{
	return o->nr_disks  ? o->disk[0].bus
	       : o->nr_nets ? o->net[0].bus
	       : o->rng	    ? o->rng_bus
			    : o->vfio[0].bus;
}

struct vm_device *topology_hot_add(struct vm *vm, const struct vm_options *o)
{
	struct topo *t = &topo;
	struct named_port *slot = hot_slot(t, device_bus(o));
	struct vfio_host_info info;
	const char *prefix;
	struct pci_dev *d;
	int err;

	if (slot && vm->nr_devices == VM_MAX_DEVICES)
		log_error("the VM has %d devices, the most it can have", VM_MAX_DEVICES);
	if (!slot || vm->nr_devices == VM_MAX_DEVICES)
		return NULL;
	d = hot_create(t, o, &info, &prefix);
	if (!d)
		return NULL;
	pthread_mutex_lock(&vm->pci.lock);
	err = port_hot_plug(slot->bus->self, d);
	pthread_mutex_unlock(&vm->pci.lock);
	if (err) {
		log_error("port '%s' cannot take the device", slot->id);
		d->ops->destroy(d);
		return NULL;
	}
	if (!strcmp(prefix, "vfio"))
		return record_vfio(t, d, slot->id, &info);
	return record(t, prefix, d->name, d, slot->id);
}

void topology_hot_remove(struct vm *vm, unsigned int i)
{
	struct pci_dev *port = vm->devices[i].pci->bus->self, *d;

	pthread_mutex_lock(&vm->pci.lock);
	d = port_hot_unplug(port);
	pthread_mutex_unlock(&vm->pci.lock);
	if (d)
		d->ops->destroy(d);
	memmove(&vm->devices[i], &vm->devices[i + 1],
		(vm->nr_devices - i - 1) * sizeof(vm->devices[0]));
	vm->nr_devices--;
}
