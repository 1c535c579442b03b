/* The machine: KVM VM, guest RAM, legacy devices and vCPUs, wired in one place. */
#ifndef CONDUIT_VM_H
#define CONDUIT_VM_H

#include "irq/router.h"
#include "pci/alloc.h"
#include "pci/host.h"
#include "vfio/container.h"
#include "vmm/flight.h"
#include "vmm/iobus.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"
#include "vmm/memslot.h"
#include "vmm/options.h"
#include "vmm/power.h"
#include "vmm/rtc.h"
#include "vmm/serial.h"

#include <pthread.h>
#include <stdbool.h>

/* Exit statuses of `conduit run` (DESIGN.md). */
#define EXIT_GUEST_DONE	 0 /* guest powered off or rebooted */
#define EXIT_BAD_INPUT	 1 /* bad usage or host state */
#define EXIT_GUEST_CRASH 2 /* triple fault, KVM internal error */

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits; /* returns from KVM_RUN that userspace handled (--stats) */
	struct flight flight;
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

	int exit_fd; /* eventfd: written once when the VM must stop */
	pthread_mutex_t exit_lock;
	bool exiting;
	int exit_status;
};

int vm_run(const struct vm_options *opts);
void vm_request_exit(struct vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_is_exiting(struct vm *vm);

#endif
