/*
 * What the control socket's commands do to the running VM: `info` reads the machine
 * (devices with their guest and host addresses), `pause`/`resume` close and open the
 * vCPUs' gate (vmm/vcpu_gate.h) with the guest's clock held still in between,
 * `power-button` presses the ACPI button, `counters` reads the vCPUs' exit counts and
 * the devices' (virtio queues' work, assigned functions' host interrupts),
 * `add-device` and `remove-device` go through vmm/hotplug.h.
 * Runs on the main thread, between polls.
 */
#include "vmm/vm_api.h"
#include "vmm/api/json.h"
#include "vmm/base/log.h"
#include "vfio/irq.h"
#include "virtio/pci.h"
#include "vmm/hotplug.h"

#include <stdio.h>

static json_object *json_node_or_null(int node)
{
	return node >= 0 ? json_object_new_int(node) : NULL;
}

/* The guest node of the root complex a device sits below; -1: none. */
static int device_guest_node(const struct pci_dev *d)
{
	const struct pci_bus *bus = d->bus;

	while (bus->self)
		bus = bus->self->bus;
	return bus->numa_node;
}

/* As the guest's sysfs names it: segment 0, the bus number its bridges hold now. */
static json_object *device_guest_bdf(struct vm *vm, const struct pci_dev *d)
{
	char bdf[PCI_BDF_STR_LEN];
	unsigned int bus;

	pthread_mutex_lock(&vm->pci.lock);
	bus = pci_bus_number(d->bus);
	pthread_mutex_unlock(&vm->pci.lock);
	snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.%u", bus, d->devfn >> 3, d->devfn & 7);
	return json_object_new_string(bdf);
}

static json_object *device_info(struct vm *vm, const struct vm_device *dev)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(dev->id));
	json_object_object_add(o, "kind", json_object_new_string(dev->kind));
	json_object_object_add(o, "guest_bdf", device_guest_bdf(vm, dev->pci));
	json_object_object_add(o, "host_bdf", json_str_or_null(dev->host_bdf));
	json_object_object_add(o, "port", json_object_new_string(dev->port ? dev->port : "pcie.0"));
	json_object_object_add(o, "host_numa_node", json_node_or_null(dev->host_node));
	json_object_object_add(o, "guest_numa_node",
			       json_node_or_null(device_guest_node(dev->pci)));
	json_object_object_add(o, "removing", json_object_new_boolean(dev->removing));
	return o;
}

static json_object *vm_state(struct vm *vm)
{
	json_object *o = json_object_new_object();

	json_object_object_add(
		o, "state",
		json_object_new_string(vcpu_gate_is_closed(&vm->gate) ? "paused" : "running"));
	return o;
}

static json_object *api_info(struct vm *vm)
{
	json_object *o = vm_state(vm), *devs = json_object_new_array();

	json_object_object_add(o, "vcpus", json_object_new_int((int)vm->nr_vcpus));
	json_object_object_add(o, "memory_bytes", json_object_new_int64((int64_t)vm->opts->memory));
	for (unsigned int i = 0; i < vm->nr_devices; i++)
		json_object_array_add(devs, device_info(vm, &vm->devices[i]));
	json_object_object_add(o, "devices", devs);
	return o;
}

/* The guest's kvmclock is read once every vCPU is parked, and put back on resume. */
static json_object *api_pause(struct vm *vm)
{
	if (vcpu_gate_is_closed(&vm->gate))
		return vm_state(vm);
	vcpus_park(vm->vcpus, vm->nr_vcpus, &vm->gate);
	if (kvm_clock_get(&vm->kvm, &vm->paused_clock))
		log_warn("pause: cannot read the guest's clock (KVM_GET_CLOCK): it will jump on "
			 "resume");
	api_server_event(&vm->api, "paused", NULL);
	return vm_state(vm);
}

static json_object *api_resume(struct vm *vm)
{
	if (!vcpu_gate_is_closed(&vm->gate))
		return vm_state(vm);
	if (kvm_clock_set(&vm->kvm, vm->paused_clock))
		log_warn("resume: cannot set the guest's clock back (KVM_SET_CLOCK): it jumps by "
			 "the time paused");
	vcpu_gate_open(&vm->gate);
	api_server_event(&vm->api, "resumed", NULL);
	return vm_state(vm);
}

static json_object *api_power_button(struct vm *vm)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "guest_enabled",
			       json_object_new_boolean(power_button_press(&vm->power)));
	return o;
}

static json_object *json_count(uint64_t n)
{
	return json_object_new_int64((int64_t)n);
}

static json_object *vcpu_counters(const struct vcpu *v)
{
	json_object *o = json_object_new_object(), *by = json_object_new_object();
	uint64_t total = 0, n;

	for (unsigned int k = 0; k < VCPU_EXIT_KINDS; k++) {
		n = __atomic_load_n(&v->exits_by[k], __ATOMIC_RELAXED);
		total += n;
		json_object_object_add(by, vcpu_exit_kind_name(k), json_count(n));
	}
	json_object_object_add(o, "vcpu", json_object_new_int((int)v->id));
	json_object_object_add(o, "exits", json_count(total));
	json_object_object_add(o, "exits_by_reason", by);
	return o;
}

/* A virtio device's queues as its backend served them; nothing when the kernel
 * serves them (vhost-net). */
static void virtio_counters(json_object *o, const struct virtio_dev *v)
{
	struct virtio_queue_stats s;

	json_object_object_add(o, "datapath",
			       json_object_new_string(v->kernel_datapath ? "kernel" : "conduit"));
	if (v->kernel_datapath)
		return;
	virtio_dev_stats(v, &s);
	json_object_object_add(o, "kicks", json_count(s.kicks));
	json_object_object_add(o, "requests", json_count(s.requests));
	json_object_object_add(o, "interrupts", json_count(s.interrupts));
	json_object_object_add(o, "bytes", json_count(s.bytes));
	json_object_object_add(o, "polls", json_count(s.polls));
	json_object_object_add(o, "poll_hits", json_count(s.poll_hits));
}

/* An assigned function's interrupts go from the device to the guest through
 * eventfds in the kernel: the host's count of them is what there is. */
static void vfio_counters(json_object *o, const struct vm_device *dev)
{
	uint64_t n;

	json_object_object_add(o, "datapath", json_object_new_string("device"));
	if (!vfio_host_irq_count("", dev->host_bdf, &n))
		json_object_object_add(o, "host_interrupts", json_count(n));
}

static json_object *device_counters(const struct vm_device *dev)
{
	json_object *o = json_object_new_object();
	const struct virtio_dev *v = virtio_pci_device(dev->pci);

	json_object_object_add(o, "id", json_object_new_string(dev->id));
	json_object_object_add(o, "kind", json_object_new_string(dev->kind));
	if (v)
		virtio_counters(o, v);
	else if (dev->host_bdf[0])
		vfio_counters(o, dev);
	return o;
}

static json_object *api_counters(struct vm *vm)
{
	json_object *o = json_object_new_object(), *vcpus = json_object_new_array(),
		    *devs = json_object_new_array();

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		json_object_array_add(vcpus, vcpu_counters(&vm->vcpus[i]));
	json_object_object_add(o, "vcpus", vcpus);
	for (unsigned int i = 0; i < vm->nr_devices; i++)
		json_object_array_add(devs, device_counters(&vm->devices[i]));
	json_object_object_add(o, "devices", devs);
	return o;
}

/* The device's info, which is also the data of its device-added event. */
static json_object *api_add_device(struct vm *vm, const struct api_request *req, char *err,
				   size_t errlen)
{
	struct vm_device *dev = hotplug_add(vm, req->args, req->nr_args, err, errlen);

	if (!dev)
		return NULL;
	log_info("%s added (%s) on port %s", dev->id, dev->pci->name, dev->port);
	api_server_event(&vm->api, "device-added", device_info(vm, dev));
	return device_info(vm, dev);
}

static json_object *api_remove_device(struct vm *vm, const struct api_request *req, char *err,
				      size_t errlen)
{
	json_object *o;
	bool removed;

	if (hotplug_remove(vm, req->id, &removed, err, errlen))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(req->id));
	json_object_object_add(o, "state",
			       json_object_new_string(removed ? "removed" : "removing"));
	return o;
}

json_object *vm_api_handle(void *ctx, const struct api_request *req, char *err, size_t errlen)
{
	struct vm *vm = ctx;

	switch (req->command) {
	case API_INFO:
		return api_info(vm);
	case API_PAUSE:
		return api_pause(vm);
	case API_RESUME:
		return api_resume(vm);
	case API_POWER_BUTTON:
		return api_power_button(vm);
	case API_COUNTERS:
		return api_counters(vm);
	case API_ADD_DEVICE:
		return api_add_device(vm, req, err, errlen);
	case API_REMOVE_DEVICE:
		return api_remove_device(vm, req, err, errlen);
	default:
		snprintf(err, errlen, "command '%s' is not served here",
			 api_command_name(req->command));
		return NULL;
	}
}

void vm_api_ended(struct vm *vm)
{
	json_object *data = json_object_new_object();
	const char *name = vm->exit.status == EXIT_GUEST_CRASH ? "guest-crashed"
			   : vm->end_event		       ? vm->end_event
							       : "vm-stopped";

	json_object_object_add(data, "status", json_object_new_int(vm->exit.status));
	json_object_object_add(data, "message", json_object_new_string(vm->exit.message));
	api_server_event(&vm->api, name, data);
}
