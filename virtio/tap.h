/*
 * Host tap interfaces for virtio-net: opened multi-queue with the virtio-net header
 * (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE), one non-blocking file per
 * queue pair.
 * A tap that does not exist is created by the first open and, not being persistent,
 * disappears with conduit's last file of it, however conduit exits.
 */
#ifndef CONDUIT_VIRTIO_TAP_H
#define CONDUIT_VIRTIO_TAP_H

#include <stdbool.h>
#include <stdint.h>

#define TAP_HDR_LEN 12 /* struct virtio_net_hdr_v1: the header of virtio 1.x */

/* Opens n queues of tap `name` into fds; *created says whether it did not exist. 0, or
 * -1 with one line naming the fix (no /dev/net/tun, no CAP_NET_ADMIN, not a tap...). */
int tap_open(const char *name, unsigned int n, int *fds, bool *created);
/* Checks and prepares a tap fd opened by the caller: a tap with IFF_VNET_HDR, made
 * non-blocking like conduit's own. */
int tap_adopt(int fd);
/* The TUN_F_* offloads the tap accepts, out of those asked for. */
unsigned int tap_offloads_supported(int fd, unsigned int want);
/* Packets the tap hands conduit may carry these offloads (TUNSETOFFLOAD). */
int tap_set_offloads(int fd, unsigned int offloads);
/* Attaches or detaches one queue of a multi-queue tap (TUNSETQUEUE): the kernel steers
 * packets only to attached queues. */
int tap_set_queue(int fd, bool attach);
/* The name of the interface behind fd (TUNGETIFF) into name[IFNAMSIZ]; 0 or -1. */
int tap_name(int fd, char *name);
/* The interface's MTU as sysfs shows it; 0 when unknown. */
unsigned int tap_mtu(const char *name);

#endif
