#include "vmm/hotplug.h"
#include "pci/port.h"
#include "vmm/base/log.h"
#include "vmm/topology.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A vCPU thread, under the PCI lock: the guest switched a slot's power. The main
 * thread looks at every slot with a removal pending. */
void hotplug_slot_power(void *ctx, struct pci_dev *port, bool on)
{
	struct vm *vm = ctx;
	uint64_t one = 1;

	(void)port;
	if (!on && write(vm->hotplug_fd, &one, sizeof(one)) < 0)
		log_warn("hotplug: cannot wake the main thread: %s", strerror(errno));
}

int hotplug_init(struct vm *vm)
{
	vm->hotplug_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->hotplug_fd < 0) {
		log_error("cannot create the hot-plug eventfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void hotplug_destroy(struct vm *vm)
{
	if (vm->hotplug_fd >= 0)
		close(vm->hotplug_fd);
	vm->hotplug_fd = -1;
}

/* A managed --vfio (pf=, managed=on): the function taken on the host first and its
 * lock handed to the steward, so however conduit ends it goes back; it is added as
 * host= then. */
static int hot_claim(struct vm *vm, struct vfio_opt *v, char bdf[VFIO_BDF_LEN],
		     struct claim_span *span)
{
	char err[1024];

	if (!vm->managed) {
		log_error("add-device: managed assignment is off in this conduit (its start "
			  "said why): bind the function to vfio-pci and add it with host=");
		return -1;
	}
	if (claim_hot(&vm->claims, &v->claim, bdf, span, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	if (steward_hold(&vm->steward, span->lock)) {
		claim_release(&vm->claims, span);
		return -1;
	}
	v->host = bdf;
	v->managed = false;
	return 0;
}

/* What hot_claim took goes back to the host (the device is closed by now). */
static void hot_unclaim(struct vm *vm, const char *bdf, const struct claim_span *span)
{
	if (claim_release(&vm->claims, span))
		log_error("vfio %s: managed: not everything went back as it was (lines above)",
			  bdf);
	else
		log_info("vfio %s: managed: given back to the host", bdf);
	steward_drop(&vm->steward, span->lock);
}

static struct vm_device *hot_add(struct vm *vm, struct vm_options *o)
{
	struct vfio_opt *v = o->nr_vfio ? &o->vfio[0] : NULL;
	char bdf[VFIO_BDF_LEN];
	struct claim_span span;
	struct vm_device *dev;
	bool managed = v && v->managed;

	if (managed && hot_claim(vm, v, bdf, &span))
		return NULL;
	dev = topology_hot_add(vm, o);
	if (managed && !dev)
		hot_unclaim(vm, bdf, &span);
	if (managed && dev) {
		dev->managed = true;
		dev->claim = span;
	}
	return dev;
}

struct vm_device *hotplug_add(struct vm *vm, char *const *args, unsigned int nr_args, char *err,
			      size_t errlen)
{
	char *argv[API_MAX_ARGS + 1] = {"add-device"};
	struct vm_options o;
	struct vm_device *dev = NULL;

	memcpy(argv + 1, args, nr_args * sizeof(*args));
	log_capture(err, errlen);
	if (!options_parse_device((int)nr_args + 1, argv, &o)) {
		dev = hot_add(vm, &o);
		options_free(&o);
	}
	log_capture(NULL, 0);
	if (!dev && !err[0])
		snprintf(err, errlen, "cannot add the device (conduit's log says why)");
	return dev;
}

/* The port a device can leave by: one with a hot-plug slot. */
static struct pci_dev *device_port(const struct vm_device *dev)
{
	struct pci_dev *port = dev->pci->bus->self;

	return port && port_has_slot(port) ? port : NULL;
}

/* vCPUs parked while the device goes, so none is inside one of its handlers. */
static void remove_now(struct vm *vm, unsigned int i)
{
	bool paused = vcpu_gate_is_closed(&vm->gate);
	json_object *data = json_object_new_object();
	struct vm_device gone = vm->devices[i];

	json_object_object_add(data, "id", json_object_new_string(vm->devices[i].id));
	if (vm->devices[i].host_bdf[0])
		json_object_object_add(data, "host_bdf",
				       json_object_new_string(vm->devices[i].host_bdf));
	log_info("%s removed (%s)", vm->devices[i].id, vm->devices[i].pci->name);
	if (!paused)
		vcpus_park(vm->vcpus, vm->nr_vcpus, &vm->gate);
	topology_hot_remove(vm, i);
	if (!paused)
		vcpu_gate_open(&vm->gate);
	if (gone.managed)
		hot_unclaim(vm, gone.host_bdf, &gone.claim);
	api_server_event(&vm->api, "device-removed", data);
}

int hotplug_remove(struct vm *vm, const char *id, bool *removed, char *err, size_t errlen)
{
	int i = topology_device_index(vm, id);
	struct pci_dev *port;
	bool powered;

	if (i < 0)
		return log_to_buf(err, errlen, "no device '%s' (info lists them)", id);
	if (vm->devices[i].removing)
		return log_to_buf(err, errlen,
				  "%s is being removed already: the guest has not powered its "
				  "slot off yet",
				  id);
	port = device_port(&vm->devices[i]);
	if (!port)
		return log_to_buf(err, errlen,
				  "%s is not behind a hot-plug slot (only devices on a root port "
				  "or a switch's downstream port can leave a running guest)",
				  id);
	pthread_mutex_lock(&vm->pci.lock);
	powered = port_slot_powered(port);
	if (powered)
		port_press_button(port);
	pthread_mutex_unlock(&vm->pci.lock);
	vm->devices[i].removing = powered;
	*removed = !powered;
	if (!powered)
		remove_now(vm, (unsigned int)i);
	return 0;
}

void hotplug_serve(struct vm *vm)
{
	uint64_t n;
	unsigned int i = 0;
	bool off;

	if (read(vm->hotplug_fd, &n, sizeof(n)) != sizeof(n))
		return;
	while (i < vm->nr_devices) {
		struct pci_dev *port =
			vm->devices[i].removing ? device_port(&vm->devices[i]) : NULL;

		pthread_mutex_lock(&vm->pci.lock);
		off = port && !port_slot_powered(port);
		pthread_mutex_unlock(&vm->pci.lock);
		if (off)
			remove_now(vm, i); /* the next device moved to i */
		else
			i++;
	}
}
