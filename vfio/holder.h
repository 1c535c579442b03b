/*
 * Who holds a PCI function through VFIO: a process with its IOMMU group's node
 * (/dev/vfio/N) or its cdev (/dev/vfio/devices/vfioN) open. That is what "in use"
 * means for SR-IOV management: a VF someone holds is never reset, rebound or removed.
 * Found by reading /proc/PID/fd under a root ("/" on a host, a fake tree in tests).
 */
#ifndef CONDUIT_VFIO_HOLDER_H
#define CONDUIT_VFIO_HOLDER_H

#include <sys/types.h>

struct vfio_holder {
	pid_t pid; /* 0: nobody */
	char comm[32];
};

/* The first process found holding group (-1: none) or the cdev named (NULL: none). */
void vfio_holder_find(const char *root, int group, const char *cdev, struct vfio_holder *out);

#endif
