/*
 * virtio-net's vhost-net datapath: for each queue pair a /dev/vhost-net instance (a
 * kernel worker) moves frames between the pair's rings in guest RAM and its tap queue.
 * Kicks reach it through the queues' ioeventfds and its interrupts leave through the
 * vectors' irqfd eventfds, so the datapath never exits to conduit. conduit keeps the
 * control queue, and restarts the rings after a driver reset.
 */
#ifndef CONDUIT_VIRTIO_NET_VHOST_H
#define CONDUIT_VIRTIO_NET_VHOST_H

#include "virtio/net_io.h"

/* Opens one instance per pair (VHOST_SET_OWNER) into n->vhost[], learning the
 * features the kernel offers. 1 when vhost-net serves the device; when it cannot, -1
 * with one line if it was required (vhost=on), else 0 with one line (auto: the
 * io_uring datapath then serves the device). */
int net_vhost_open(struct net *n, bool required);
/* Hands pair i's rings, guest RAM and tap queue to its instance. 0, or -1 with one
 * line (the pair's instance is left stopped). */
int net_vhost_start(struct net *n, unsigned int pair);
/* Takes the tap queue back (the worker stops touching guest RAM before this
 * returns). */
void net_vhost_stop(struct net *n, unsigned int pair);
/* Queue q moved to another MSI-X vector: the worker interrupts through the new one. */
void net_vhost_set_call(struct net *n, unsigned int queue);

#endif
