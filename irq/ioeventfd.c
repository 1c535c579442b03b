#include "irq/ioeventfd.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

int ioeventfd_set(int vm_fd, uint64_t addr, unsigned int len, int fd, bool assign)
{
	struct kvm_ioeventfd ev = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return ioctl(vm_fd, KVM_IOEVENTFD, &ev);
}
