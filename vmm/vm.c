/*
 * The one place that wires the machine together: KVM VM, guest RAM, firmware tables,
 * kernel, legacy devices and vCPUs are set up in order here, and torn down in reverse.
 * The main thread then waits for the end of the VM (guest power-off/reset/crash, a
 * signal, or Ctrl-A x) while feeding terminal input to the serial port.
 */
#include "vmm/vm.h"
#include "sriov/claim.h"
#include "sriov/journal.h"
#include "virtio/pci.h"
#include "vmm/base/clock.h"
#include "vmm/base/log.h"
#include "vmm/base/sandbox.h"
#include "vmm/console.h"
#include "vmm/guest_numa.h"
#include "vmm/hotplug.h"
#include "vmm/machine.h"
#include "vmm/placement.h"
#include "vmm/stats.h"
#include "vmm/topology.h"
#include "vmm/vcpu.h"
#include "vmm/vm_api.h"
#include "vmm/x86/acpi.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/e820.h"
#include "vmm/x86/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void vm_power_event(void *ctx, enum power_event ev, const char *how)
{
	struct vm *vm = ctx;

	if (!vm_exit_requested(&vm->exit))
		vm->end_event = ev == POWER_OFF ? "guest-powered-off" : "guest-reset";
	vm_exit_request(&vm->exit, EXIT_GUEST_DONE, "guest %s (%s)",
			ev == POWER_OFF ? "powered off" : "rebooted", how);
}

static void vm_sci(void *ctx, bool level)
{
	struct vm *vm = ctx;

	kvm_irq_line(&vm->kvm, SCI_IRQ, level);
}

static void vm_serial_irq(void *ctx, bool level)
{
	struct vm *vm = ctx;

	kvm_irq_line(&vm->kvm, SERIAL0_IRQ, level);
}

static int vm_open_serial(struct vm *vm)
{
	const struct vm_options *o = vm->opts;

	vm->serial_fd = -1;
	if (o->serial == SERIAL_STDIO)
		vm->serial_fd = STDOUT_FILENO;
	if (o->serial == SERIAL_FILE) {
		vm->serial_fd =
			open(o->serial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vm->serial_fd < 0) {
			log_error("cannot open --serial file '%s': %s", o->serial_path,
				  strerror(errno));
			return -1;
		}
	}
	vm->serial = serial_create(vm->serial_fd, vm_serial_irq, vm);
	return vm->serial ? 0 : -1;
}

/* The host bridge, its config mechanisms, and everything the command line puts on PCI.
 * 0xcf9 (reset) shares the 0xcf8 dword with CONFIG_ADDRESS, so the host decodes it. */
static int vm_add_pci(struct vm *vm)
{
	struct io_region reset = power_reset_region(&vm->power, RESET_PORT);

	if (irq_router_init(&vm->irq, vm->kvm.vm_fd) ||
	    pci_machine_init(&vm->pci, &vm->pio, &vm->mmio))
		return -1;
	vm->pci.intx_gsi_base = PCI_INTX_GSI;
	vm->pci.irq = &vm->irq;
	vm->pci.slot_power = hotplug_slot_power;
	vm->pci.slot_ctx = vm;
	if (pci_host_init(&vm->pci_host, &vm->pci, ECAM_ADDR, &reset))
		return -1;
	return topology_build(vm);
}

static int vm_add_devices(struct vm *vm)
{
	struct io_region r[5];
	size_t i;

	if (vm_open_serial(vm))
		return -1;
	rtc_init(&vm->rtc);
	r[0] = serial_region(vm->serial, SERIAL0_PORT);
	r[1] = rtc_region(&vm->rtc, RTC_PORT);
	r[2] = power_pm1_evt_region(&vm->power, PM_EVT_PORT);
	r[3] = power_pm1_cnt_region(&vm->power, PM_CNT_PORT);
	r[4] = power_i8042_region(&vm->power, I8042_PORT);
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (iobus_register(&vm->pio, &r[i])) {
			log_error("I/O port range 0x%llx is claimed twice",
				  (unsigned long long)r[i].base);
			return -1;
		}
	}
	return vm_add_pci(vm);
}

/*
 * ECAM covers the buses the topology uses, rounded up to 8, not all 256: Linux probes
 * every bus up to MCFG's end bus that it has not found behind a bridge (32 config
 * reads through 0xcf8 each, two exits per read), so 256 buses cost it ~16k exits.
 */
static unsigned int vm_ecam_buses(const struct vm *vm)
{
	unsigned int n = (vm->pci.nr_buses + 7) & ~7U;

	return n < ECAM_BUSES ? n : ECAM_BUSES;
}

/* The root complexes as pci_assign_resources() left them; the last one also owns the
 * ECAM's spare bus numbers. */
static void vm_acpi_pci(const struct vm *vm, struct acpi_machine *m)
{
	const struct pci_machine *pci = &vm->pci;

	_Static_assert(PCI_MAX_ROOTS <= ACPI_MAX_PCI_ROOTS, "every root complex in the DSDT");
	for (unsigned int i = 0; i < pci->nr_roots; i++) {
		const struct pci_bus *r = pci->root[i];

		m->pci[i] = (struct acpi_pci_root){
			.bus_first = (uint8_t)r->first,
			.bus_last = (uint8_t)r->last,
			.node = r->numa_node,
			.io_base = (uint32_t)r->win.io_base,
			.io_end = (uint32_t)r->win.io_end,
			.mem32_base = (uint32_t)r->win.mem32_base,
			.mem32_end = (uint32_t)r->win.mem32_end,
			.mem64_base = r->win.mem64_base,
			.mem64_end = r->win.mem64_end,
		};
	}
	m->nr_pci = pci->nr_roots;
	m->pci[m->nr_pci - 1].bus_last = (uint8_t)(m->ecam_buses - 1);
}

/* SRAT and SLIT from the guest nodes. */
static void vm_acpi_numa(const struct vm *vm, struct acpi_machine *m)
{
	const struct guest_numa *g = &vm->opts->numa;
	struct guest_numa_range r[GUEST_NUMA_MAX_RANGES];

	_Static_assert(GUEST_NUMA_MAX_NODES <= ACPI_MAX_NODES, "every node in the SLIT");
	m->nr_nodes = g->nr_nodes;
	for (unsigned int c = 0; g->nr_nodes && c < vm->nr_vcpus; c++)
		m->cpu_node[c] = (uint8_t)guest_numa_cpu_node(g, c);
	m->nr_mem = guest_numa_ranges(g, vm->ram.low_size, r);
	for (unsigned int i = 0; i < m->nr_mem; i++)
		m->mem[i] = (struct acpi_mem_range){r[i].gpa, r[i].size, r[i].node};
	for (unsigned int i = 0; i < g->nr_nodes; i++)
		for (unsigned int j = 0; j < g->nr_nodes; j++)
			m->distance[i][j] =
				(uint8_t)guest_numa_distance(g, i, j, guest_numa_host_distance);
}

static int vm_build_acpi(struct vm *vm)
{
	static struct acpi_machine m;

	m = (struct acpi_machine){
		.nr_cpus = vm->nr_vcpus,
		.ioapic_addr = IOAPIC_ADDR,
		.lapic_addr = LAPIC_ADDR,
		.pm1a_evt_port = PM_EVT_PORT,
		.pm1a_cnt_port = PM_CNT_PORT,
		.sci_irq = SCI_IRQ,
		.reset_port = RESET_PORT,
		.reset_value = POWER_RESET_VALUE,
		.s5_slp_typ = POWER_S5_SLP_TYP,
		.ecam_addr = ECAM_ADDR,
		.ecam_buses = (uint16_t)vm_ecam_buses(vm),
		.pci_intx_gsi_base = PCI_INTX_GSI,
	};
	vm_acpi_pci(vm, &m);
	vm_acpi_numa(vm, &m);

	if (!acpi_build(&m, guest_ram_ptr(&vm->ram, ACPI_ADDR, ACPI_SIZE), ACPI_SIZE, ACPI_ADDR)) {
		log_error("cannot build the ACPI tables: more than %llu KiB, or a machine "
			  "outside their limits",
			  ACPI_SIZE >> 10);
		return -1;
	}
	return 0;
}

static int vm_load_guest(struct vm *vm)
{
	struct e820_map e820;
	struct boot_request req = {
		.kernel = vm->opts->kernel,
		.initrd = vm->opts->initrd,
		.cmdline = vm->opts->cmdline,
		.rsdp_addr = ACPI_ADDR,
		.e820 = &e820,
	};

	e820_build(&e820, vm->ram.low_size, vm->ram.high_size);
	/* Linux checks that the MCFG's ECAM is reserved in e820 before it uses it. */
	e820_add(&e820, ECAM_ADDR, (uint64_t)vm_ecam_buses(vm) << 20, E820_RESERVED);
	if (vm_build_acpi(vm))
		return -1;
	return boot_load_linux(&vm->ram, &req);
}

static int vm_create_vcpus(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid = vcpu_supported_cpuid(&vm->kvm);
	unsigned int i;
	int ret = 0;

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!cpuid || !vm->vcpus) {
		free(cpuid);
		return -1;
	}
	vm->vcpu_machine = (struct vcpu_machine){
		.kvm = &vm->kvm,
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.exit = &vm->exit,
		.gate = &vm->gate,
		.nr_vcpus = vm->nr_vcpus,
	};
	for (i = 0; i < vm->nr_vcpus && !ret; i++)
		ret = vcpu_create(&vm->vcpus[i], &vm->vcpu_machine, i, cpuid);
	free(cpuid);
	return ret;
}

/* Threads the kernel made for the devices, where conduit's own threads went. */
static void vm_place_kernel_threads(const struct vm *vm)
{
	unsigned int n;

	if (vm->host_node < 0)
		return;
	n = placement_vhost_workers("/");
	if (n)
		log_info("numa: %u vhost-net worker%s on host node %d too", n, n == 1 ? "" : "s",
			 vm->host_node);
}

/* Each guest node's part of RAM bound to its host node before it is faulted in. */
static int vm_create_ram(struct vm *vm)
{
	const struct vm_options *o = vm->opts;
	struct guest_ram_bind binds[GUEST_NUMA_MAX_NODES];
	unsigned int n = guest_numa_binds(&o->numa, binds);

	return guest_ram_create_bound(&vm->ram, o->memory,
				      (o->hugepages ? GUEST_RAM_HUGEPAGES : 0) |
					      (o->shared_memory ? GUEST_RAM_SHARED : 0) |
					      (o->prefault ? GUEST_RAM_PREFAULT : 0),
				      binds, n);
}

static int vm_setup(struct vm *vm)
{
	if (kvm_open(&vm->kvm))
		return -1;
	if (vm->nr_vcpus > (unsigned int)vm->kvm.max_vcpus) {
		log_error("--cpus %u is more than this host's KVM allows (%d)", vm->nr_vcpus,
			  vm->kvm.max_vcpus);
		return -1;
	}
	if (vm_create_ram(vm))
		return -1;
	if (kvm_create_vm(&vm->kvm) || guest_ram_register(&vm->ram, vm->kvm.vm_fd))
		return -1;
	memslots_init(&vm->slots, vm->kvm.vm_fd,
		      ioctl(vm->kvm.sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS));
	if (vm_add_devices(vm) || vm_load_guest(vm))
		return -1;
	vm_place_kernel_threads(vm);
	return vm_create_vcpus(vm);
}

static void vm_feed_console(struct vm *vm, struct console *con)
{
	uint8_t in[256], out[256];
	bool quit;
	ssize_t n = read(con->in_fd, in, sizeof(in));
	size_t len, done = 0;

	if (n <= 0) {
		con->in_fd = -1; /* terminal closed: the guest runs on without input */
		return;
	}
	len = console_filter(con, in, (size_t)n, out, &quit);
	/* A full receive FIFO is where a real UART drops bytes too; typing never fills it. */
	done = serial_receive(vm->serial, out, len);
	if (done < len)
		log_warn("console input overran the guest's UART: %zu bytes dropped", len - done);
	if (quit)
		vm_exit_request(&vm->exit, EXIT_GUEST_DONE, "stopped by Ctrl-A x");
}

/* SIGQUIT stops the VM like SIGTERM and then dumps every vCPU's state and last exits:
 * what a guest that hangs was doing (a JVM's or Go's SIGQUIT dump, for a VM). */
static void vm_handle_signal(struct vm *vm, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	vm->dump_flight = si.ssi_signo == SIGQUIT;
	vm_exit_request(&vm->exit, EXIT_GUEST_DONE, "terminating on signal %s",
			strsignal((int)si.ssi_signo));
}

/* The main thread's loop: the end of the VM, signals, the console's input, slots the
 * guest powered off, and the control socket. */
static void vm_wait(struct vm *vm, int sfd)
{
	struct pollfd p[4 + 1 + API_MAX_CONNS];
	struct console con;
	unsigned int n;

	console_open(&con, vm->opts->serial == SERIAL_STDIO);
	while (!vm_exit_requested(&vm->exit)) {
		p[0] = (struct pollfd){.fd = vm->exit.fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		p[2] = (struct pollfd){.fd = con.in_fd, .events = POLLIN};
		p[3] = (struct pollfd){.fd = vm->hotplug_fd, .events = POLLIN};
		n = api_server_pollfds(&vm->api, p + 4, 1 + API_MAX_CONNS);
		if (poll(p, 4 + n, -1) < 0)
			continue;
		if (p[1].revents & POLLIN)
			vm_handle_signal(vm, sfd);
		if (p[2].revents & (POLLIN | POLLHUP))
			vm_feed_console(vm, &con);
		if (p[3].revents & POLLIN)
			hotplug_serve(vm);
		api_server_serve(&vm->api, p + 4, n);
	}
	console_restore(&con);
}

/* A vCPU thread starts on the CPUs of its guest node's host node, inherited from the
 * main thread, which runs anywhere again afterwards. */
static int vm_start_vcpu(struct vm *vm, unsigned int i)
{
	const struct guest_numa *g = &vm->opts->numa;

	if (g->nr_nodes && guest_numa_run_on(g, (int)i))
		return -1;
	return vcpu_start(&vm->vcpus[i]);
}

static int vm_start(struct vm *vm)
{
	const struct guest_numa *g = &vm->opts->numa;
	unsigned int i;

	vcpu_signals_init();
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm_start_vcpu(vm, i))
			return -1;
	if (g->nr_nodes && guest_numa_run_on(g, -1))
		return -1;
	/* setup is done: from here on the main thread only waits, stops and tears down */
	sandbox_enter(SANDBOX_MAIN, "conduit");
	return 0;
}

static void vm_stop(struct vm *vm)
{
	unsigned int i;

	vcpu_gate_open(&vm->gate); /* paused vCPUs wake and see the end */
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}

/* The flight recorder of every vCPU: what led up to a crash (vmm/flight.h). */
static void vm_dump_flight(const struct vm *vm)
{
	uint64_t now = clock_ns();
	unsigned int i;

	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_dump_flight(&vm->vcpus[i], now);
}

/* The guest's exits to conduit (--stats): every return from KVM_RUN but for a signal. */
static uint64_t vm_exits(const struct vm *vm)
{
	uint64_t n = 0;
	unsigned int i, k;

	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		for (k = 0; k < VCPU_EXIT_KINDS; k++)
			n += k == VCPU_EXIT_INTR ? 0 : vm->vcpus[i].exits_by[k];
	return n;
}

/* --stats: the VM's line, then one per virtio device whose queues conduit serves. */
static void vm_stats(const struct vm *vm)
{
	struct virtio_queue_stats s;
	const struct virtio_dev *v;

	stats_report(&vm->ram, vm_exits(vm), vm->vfio.dma_mapped ? vm->vfio.map_seconds : -1);
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		v = virtio_pci_device(vm->devices[i].pci);
		if (!v || v->kernel_datapath)
			continue;
		virtio_dev_stats(v, &s);
		stats_device(vm->devices[i].id, &s);
	}
}

static void vm_teardown(struct vm *vm)
{
	unsigned int i;

	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	if (vm->pci.nr_buses)
		pci_machine_destroy(&vm->pci);
	vfio_container_destroy(&vm->vfio); /* after the devices, which use it */
	if (vm->irq.entry)
		irq_router_destroy(&vm->irq);
	power_destroy(&vm->power);
	serial_destroy(vm->serial);
	if (vm->serial_fd > STDERR_FILENO)
		close(vm->serial_fd);
	iobus_destroy(&vm->pio);
	iobus_destroy(&vm->mmio);
	kvm_close(&vm->kvm);
	guest_ram_destroy(&vm->ram);
	vm_exit_destroy(&vm->exit);
	vcpu_gate_destroy(&vm->gate);
	hotplug_destroy(vm);
}

/* With a control socket but no managed --vfio: the journal and the steward start now,
 * while conduit is one thread and unsandboxed, so that add-device can take functions
 * later. Where that cannot be (not root), add-device takes host= functions only. */
static int vm_claim_later(struct vm *vm)
{
	char err[1024];

	if (claims_begin("/", &vm->claims, err, sizeof(err))) {
		log_info("add-device cannot take functions managed (pf=, managed=on): %s", err);
		return 0;
	}
	if (steward_start(&vm->steward, "/", vm->claims.journal.path)) {
		journal_replay("/", vm->claims.journal.path);
		claims_end(&vm->claims);
		return 0;
	}
	vm->managed = true;
	return 0;
}

/* Managed --vfio: the functions taken on the host before anything is opened, then the
 * steward forked to give them back however conduit ends. A failure undoes at once. */
static int vm_claim(struct vm *vm)
{
	const struct vm_options *o = vm->opts;
	char err[1024];
	unsigned int i;

	for (i = 0; i < o->nr_vfio; i++) {
		vm->vfio_host[i] = o->vfio[i].managed ? vm->vfio_claimed[i] : o->vfio[i].host;
		vm->managed = vm->managed || o->vfio[i].managed;
	}
	if (!vm->managed)
		return o->api_socket ? vm_claim_later(vm) : 0;
	if (claims_begin("/", &vm->claims, err, sizeof(err))) {
		log_error("managed assignment: %s", err);
		vm->managed = false;
		return -1;
	}
	for (i = 0; i < o->nr_vfio; i++)
		if (o->vfio[i].managed && claim_function(&vm->claims, &o->vfio[i].claim,
							 vm->vfio_claimed[i], err, sizeof(err)))
			break;
	if (i < o->nr_vfio)
		log_error("%s", err);
	if (i < o->nr_vfio || steward_start(&vm->steward, "/", vm->claims.journal.path)) {
		journal_replay("/", vm->claims.journal.path);
		claims_end(&vm->claims);
		vm->managed = false;
		return -1;
	}
	return 0;
}

/* Before any RAM or thread exists: where they go — as the guest nodes say, or
 * device-local (vmm/placement.h). */
static int vm_place(struct vm *vm)
{
	const struct guest_numa *g = &vm->opts->numa;

	if (g->nr_nodes) {
		if (guest_numa_host_check(g))
			return -1;
		guest_numa_report(g);
		return 0;
	}
	if (vm->opts->numa_off)
		return 0;
	vm->host_node = placement_apply("/", vm->vfio_host, vm->opts->nr_vfio);
	return vm->host_node == -2 ? -1 : 0;
}

/* After the devices are closed: the steward puts the host back. */
static void vm_release(struct vm *vm)
{
	if (!vm->managed)
		return;
	claims_end(&vm->claims);
	if (steward_finish(&vm->steward))
		log_error("managed assignment: not everything went back as it was (lines above)");
}

/* Termination signals are taken by the main thread through a signalfd; every thread
 * inherits the blocked mask, so none of them is killed mid-ioctl. */
static int vm_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

int vm_run(const struct vm_options *opts)
{
	struct vm vm = {
		.opts = opts,
		.nr_vcpus = opts->cpus,
		.kvm = {.sys_fd = -1, .vm_fd = -1},
		.ram = {.fd = -1},
		.serial_fd = -1,
		.exit = {.fd = -1},
		.host_node = -1,
		.api = {.fd = -1},
		.hotplug_fd = -1,
	};
	int sfd, status = EXIT_BAD_INPUT;

	vfio_container_init(&vm.vfio, &vm.ram);
	vcpu_gate_init(&vm.gate);
	power_init(&vm.power, vm_power_event, vm_sci, &vm);
	iobus_init(&vm.pio);
	iobus_init(&vm.mmio);
	sfd = vm_block_signals();
	if (sfd < 0) {
		log_error("cannot create the signalfd for SIGTERM and the like: %s",
			  strerror(errno));
		goto out;
	}
	if (opts->api_socket && api_server_open(&vm.api, opts->api_socket, vm_api_handle, &vm))
		goto out;
	if (vm_claim(&vm) || vm_place(&vm) || vm_exit_init(&vm.exit) || hotplug_init(&vm) ||
	    sandbox_init(opts->seccomp))
		goto out;
	if (vm_setup(&vm))
		goto out;
	if (vm_start(&vm)) {
		vm_exit_request(&vm.exit, EXIT_BAD_INPUT, "could not start the vCPUs");
	} else {
		vm_wait(&vm, sfd);
	}
	vm_stop(&vm);
	vm_api_ended(&vm);
	status = vm.exit.status;
	log_info("%s", vm.exit.message);
	if (status == EXIT_GUEST_CRASH || vm.dump_flight)
		vm_dump_flight(&vm);
	if (opts->stats)
		vm_stats(&vm);
out:
	api_server_close(&vm.api);
	if (sfd >= 0)
		close(sfd);
	vm_teardown(&vm);
	vm_release(&vm);
	return status;
}
