/* Tap interfaces through /dev/net/tun (Documentation/networking/tuntap.rst). */
#include "virtio/tap.h"
#include "vmm/base/host.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

/* The header is virtio 1.x's: 12 bytes, little-endian whatever the host. */
static int tap_vnet_hdr(int fd)
{
	int len = TAP_HDR_LEN, le = 1;

	return ioctl(fd, TUNSETVNETHDRSZ, &len) || ioctl(fd, TUNSETVNETLE, &le) ? -1 : 0;
}

static int tap_open_error(const char *name, int err)
{
	if (err == ENOENT || err == ENODEV)
		log_error("--net tap=%s: no /dev/net/tun: modprobe tun", name);
	else if (err == EPERM || err == EACCES)
		log_error("--net tap=%s: not allowed to open or create the tap (%s): run "
			  "conduit as root, with CAP_NET_ADMIN, or create it for your user "
			  "(ip tuntap add dev %s mode tap multi_queue vnet_hdr user $USER)",
			  name, strerror(err), name);
	else if (err == EINVAL || err == EBUSY)
		log_error("--net tap=%s: %s is not a multi-queue tap with virtio-net headers, "
			  "or another program holds it: recreate it with ip tuntap add dev %s "
			  "mode tap multi_queue vnet_hdr, or pick another name",
			  name, name, name);
	else
		log_error("--net tap=%s: cannot open it: %s", name, strerror(err));
	return -1;
}

static int tap_open_one(const char *name)
{
	struct ifreq ifr = {.ifr_flags = TAP_FLAGS};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) || tap_vnet_hdr(fd)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int tap_open(const char *name, unsigned int n, int *fds, bool *created)
{
	unsigned int i;
	int fd;

	if (!*name || strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, '%')) {
		log_error("--net tap=%s: not an interface name: give 1 to %d characters, no / "
			  "or %%",
			  name, IFNAMSIZ - 1);
		return -1;
	}
	*created = !if_nametoindex(name);
	for (i = 0; i < n; i++) {
		fd = tap_open_one(name);
		if (fd < 0) {
			while (i)
				close(fds[--i]);
			return tap_open_error(name, -fd);
		}
		fds[i] = fd;
	}
	return 0;
}

int tap_adopt(int fd)
{
	struct ifreq ifr = {0};
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || ioctl(fd, TUNGETIFF, &ifr)) {
		log_error("--net fd=%d: not an open tap: pass a file of /dev/net/tun after "
			  "TUNSETIFF",
			  fd);
		return -1;
	}
	if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) !=
	    (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) {
		log_error("--net fd=%d: %s is not a tap with IFF_NO_PI and IFF_VNET_HDR: open "
			  "it with those flags",
			  fd, ifr.ifr_name);
		return -1;
	}
	/* the datapath reads until EAGAIN (vhost-net does not mind either way) */
	if (tap_vnet_hdr(fd) || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC)) {
		log_error("--net fd=%d: cannot set up %s: %s", fd, ifr.ifr_name, strerror(errno));
		return -1;
	}
	return 0;
}

unsigned int tap_offloads_supported(int fd, unsigned int want)
{
	unsigned int ok = 0, bit;

	/* tun refuses a set with any flag it does not know, so try them one by one;
	 * the others count only with CSUM, ECN only with a TSO (tun_set_offload) */
	for (bit = 1; bit && bit <= want; bit <<= 1) {
		unsigned long arg = TUN_F_CSUM | bit | (bit == TUN_F_TSO_ECN ? TUN_F_TSO4 : 0);

		if ((want & bit) && !ioctl(fd, TUNSETOFFLOAD, arg))
			ok |= bit;
	}
	ioctl(fd, TUNSETOFFLOAD, 0UL);
	return ok;
}

int tap_set_offloads(int fd, unsigned int offloads)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads);
}

int tap_set_queue(int fd, bool attach)
{
	struct ifreq ifr = {.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE};

	return ioctl(fd, TUNSETQUEUE, &ifr);
}

int tap_name(int fd, char *name)
{
	struct ifreq ifr = {0};

	if (ioctl(fd, TUNGETIFF, &ifr))
		return -1;
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	return 0;
}

unsigned int tap_mtu(const char *name)
{
	char line[16];

	if (host_read_line("/", line, sizeof(line), "/sys/class/net/%s/mtu", name))
		return 0;
	return (unsigned int)strtoul(line, NULL, 10);
}
