/*
 * Interrupt controller choice: the full in-kernel irqchip (KVM_CREATE_IRQCHIP: PIC,
 * IOAPIC and LAPICs all in KVM) plus the in-kernel PIT, not the split irqchip. With
 * the IOAPIC in the kernel, level-triggered INTx EOIs never exit to userspace and VFIO
 * INTx can run eventfd -> irqfd with a resamplefd; MSI and MSI-X vectors become KVM GSI
 * routes fed by irqfds either way, so the kernel can post them. A split irqchip is
 * only needed for a userspace IOAPIC or interrupt remapping beyond 255 vCPUs, which
 * conduit does not offer (it caps vCPUs at 254).
 */
#include "vmm/base/kvm.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_TSS_ADDR	  0xfffbd000UL
#define KVM_IDENTITY_ADDR 0xfffbc000ULL

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	{KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
	{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	{KVM_CAP_PIT2, "KVM_CAP_PIT2"},
	{KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
	{KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
	{KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

static int kvm_check_caps(const struct kvm *kvm)
{
	size_t i;

	for (i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			log_error("this host's KVM lacks %s: use Linux 4.11 or newer",
				  required_caps[i].name);
			return -1;
		}
	}
	return 0;
}

static void kvm_explain_open_error(int err)
{
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		log_error("/dev/kvm does not exist: this host has no usable KVM (no VT-x/AMD-V, "
			  "or kvm_intel/kvm_amd not loaded); on machines without it, run conduit "
			  "inside the testbed: tools/testbed -- conduit run ...");
	else if (err == EACCES || err == EPERM)
		log_error("no permission to open /dev/kvm: add your user to the 'kvm' group "
			  "or run as root");
	else
		log_error("cannot open /dev/kvm: %s", strerror(err));
}

int kvm_open(struct kvm *kvm)
{
	int v;

	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		kvm_explain_open_error(errno);
		return -1;
	}
	v = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		log_error("/dev/kvm speaks API version %d, conduit needs %d", v, KVM_API_VERSION);
		goto fail;
	}
	if (kvm_check_caps(kvm))
		goto fail;
	kvm->run_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	kvm->max_vcpus = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (kvm->run_size <= 0 || kvm->max_vcpus <= 0) {
		log_error("/dev/kvm did not report its vCPU limits");
		goto fail;
	}
	return 0;
fail:
	close(kvm->sys_fd);
	kvm->sys_fd = -1;
	return -1;
}

int kvm_create_vm(struct kvm *kvm)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t identity = KVM_IDENTITY_ADDR;

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		log_error("KVM_CREATE_VM failed: %s", strerror(errno));
		return -1;
	}
	/* Intel VMX needs these two pages for real-mode emulation; AMD ignores them. Both
	 * sit in the MMIO hole, below the IOAPIC, where no RAM or device lives. */
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) ||
	    ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity)) {
		log_error("KVM_SET_TSS_ADDR failed: %s", strerror(errno));
		return -1;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0)) {
		log_error("KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
		return -1;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit)) {
		log_error("KVM_CREATE_PIT2 failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_irq_line(const struct kvm *kvm, unsigned int irq, int level)
{
	struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};

	return ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l);
}

int kvm_clock_get(const struct kvm *kvm, uint64_t *ns)
{
	struct kvm_clock_data c = {0};

	if (ioctl(kvm->vm_fd, KVM_GET_CLOCK, &c))
		return -1;
	*ns = c.clock;
	return 0;
}

int kvm_clock_set(const struct kvm *kvm, uint64_t ns)
{
	struct kvm_clock_data c = {.clock = ns};

	return ioctl(kvm->vm_fd, KVM_SET_CLOCK, &c);
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->vm_fd = kvm->sys_fd = -1;
}
