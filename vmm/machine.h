/* The machine: everything one guest has, from KVM and RAM to devices and vCPUs.
 * vmm/vm.c builds it, vmm/topology.c adds the PCIe part. */
#ifndef CONDUIT_MACHINE_H
#define CONDUIT_MACHINE_H

#include "irq/router.h"
#include "pci/alloc.h"
#include "pci/host.h"
#include "vfio/container.h"
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
	const char *vfio_host[OPT_MAX_VFIO];	       /* each --vfio's function (pf=: the VF) */
	char vfio_claimed[OPT_MAX_VFIO][VFIO_BDF_LEN]; /* managed ones, as taken */
	struct claims claims;			       /* managed assignment, when any */
	struct steward steward;
	bool managed;
	int host_node; /* --numa auto's node; -1: none chosen */
};

#endif
