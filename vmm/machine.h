/* The machine: everything one guest has, from KVM and RAM to devices and vCPUs.
 * vmm/vm.c builds it, vmm/topology.c adds the PCIe part. */
#ifndef CONDUIT_MACHINE_H
#define CONDUIT_MACHINE_H

#include "irq/router.h"
#include "pci/alloc.h"
#include "pci/host.h"
#include "vfio/container.h"
#include "vmm/api/server.h"
#include "vmm/base/iobus.h"
#include "vmm/base/kvm.h"
#include "vmm/base/memory.h"
#include "vmm/base/memslot.h"
#include "vmm/hw/power.h"
#include "vmm/hw/rtc.h"
#include "vmm/hw/serial.h"
#include "vmm/options.h"
#include "vmm/steward.h"
#include "vmm/vcpu.h"
#include "vmm/vm_exit.h"

#define VM_MAX_DEVICES	 (OPT_MAX_DISKS + OPT_MAX_NETS + OPT_MAX_VFIO + 1)
#define VM_DEVICE_ID_LEN 32

/* A device on the guest's PCI, as the control socket's `info` shows it. */
struct vm_device {
	char id[VM_DEVICE_ID_LEN]; /* disk0, net0, rng0, vfio0: kind and order */
	const char *kind;	   /* virtio-blk, virtio-net, virtio-rng, vfio */
	struct pci_dev *pci;
	const char *port;	     /* the bus= it went on; NULL: pcie.0 */
	char host_bdf[VFIO_BDF_LEN]; /* vfio: the host's function */
	int host_node;		     /* vfio: that function's host node; -1: none */
	bool removing;		     /* the guest was asked to let it go */
	bool managed;		     /* vfio, hot-added managed: claim goes back at removal */
	struct claim_span claim;
};

struct vm {
	const struct vm_options *opts;
	struct kvm kvm;
	struct guest_ram ram;
	struct memslots slots; /* beyond RAM: assigned devices' BARs */
	struct vfio_container vfio;
	struct iobus pio;
	struct iobus mmio;
	struct serial *serial;
	int serial_fd; /* where the console goes; -1 for none */
	struct rtc rtc;
	struct power power;
	struct irq_router irq;
	struct pci_machine pci;
	struct pci_host pci_host;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct vcpu_machine vcpu_machine; /* what the vCPUs use of all this */
	struct vm_exit exit;
	bool dump_flight; /* stopped by SIGQUIT: dump the vCPUs' state at the end */
	const char *vfio_host[OPT_MAX_VFIO];	       /* each --vfio's function (pf=: the VF) */
	char vfio_claimed[OPT_MAX_VFIO][VFIO_BDF_LEN]; /* managed ones, as taken */
	struct claims claims;			       /* managed assignment, when any */
	struct steward steward;
	bool managed;
	int host_node; /* --numa auto's node; -1: none chosen */
	struct vm_device devices[VM_MAX_DEVICES];
	unsigned int nr_devices;
	struct vcpu_gate gate; /* pause and resume */
	uint64_t paused_clock; /* kvmclock when paused */
	struct api_server api; /* --api-socket */
	int hotplug_fd;	       /* eventfd: a hot-plug slot was powered off */
	const char *end_event; /* guest-powered-off, guest-reset: how the guest ended it */
};

#endif
