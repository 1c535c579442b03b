#!/bin/sh
# /test.sh of the virtio-net guest (run by guest-init in an L2 image built with modules
# virtio_pci virtio_net and the program ethtool). The guest has one virtio-net function
# whose other end is a tap in L1 that has fe80::1. It prints KEY=value lines that the
# L1 side (tests/nested/net.sh) reads, for each state P of the NIC: NET after boot,
# VREBIND after virtio_net let go of its virtio device and took it again, PREBIND after
# virtio-pci did the same with the PCI function:
#   P-IF=eth0 P-DRIVER=virtio_net P-PCI=BDF P-ID=1af4:1041 P-PCI-DRIVER=virtio-pci
#   P-PARENT-CLASS=0x060400 (empty on the root bus) P-MSIX=vectors
#   P-MAC= P-MTU= P-CARRIER=1|0 P-OPERSTATE=up|...
#   P-MAX-PAIRS=N (ethtool -l) P-RX-QUEUES=N P-TX-QUEUES=N (sysfs, after ethtool -L N)
#   P-PING=ok|failed  ping6 to L1 through the NIC
# Transfers, each one TCP connection to one of L1's one-shot servers (ports as in net.sh):
#   UP=ok|failed UP-SHA=  32 MiB of random bytes sent to port 5001, every packet the
#                         guest sends leaving on tx queue 1 (XPS-UP=ok|failed)
#   DOWN=ok|failed DOWN-BYTES=N DOWN-SHA=  what port 5002 sends (32 MiB), on tx queue 0
#   STAT-rx_queue_0_packets=N ...  each queue's packets after those two (ethtool -S)
#   UP2=... DOWN2=...     4 MiB each way after the rebinds (ports 5003, 5004)
#   REBIND-VIRTIO=ok|failed REBIND-PCI=ok|failed  NET-GUEST-DONE=1 at the end
# Kernel command line: conduit.l1=ADDR  L1's link-local address on the tap (fe80::1);
# conduit.net=hold: print NET-HOLDING=IF once virtio_net made its interface, then
# sleep (L1 stops the VM); conduit.net=off: do nothing (the VM must not get this far).
l1=fe80::1
mode=full
# shellcheck disable=SC2013 # the command line is one line of words
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	conduit.l1=*) l1=${arg#conduit.l1=} ;;
	conduit.net=*) mode=${arg#conduit.net=} ;;
	esac
done

# shellcheck source=tests/nested/guest-lib.sh
. /guest-lib.sh

stamp() { echo "# uptime $(cut -d' ' -f1 /proc/uptime): $*"; }

# result KEY COMMAND...: KEY=ok or KEY=failed, from COMMAND's status.
result() {
	r_key=$1
	shift
	if "$@"; then echo "$r_key=ok"; else echo "$r_key=failed"; fi
}

# netdev: the network interface virtio_net made (the guest has one).
netdev() { netdev_of virtio_net; }

driver_of() { basename "$(readlink "$1/driver" 2>/dev/null)" 2>/dev/null; }
count_queues() { find "/sys/class/net/$1/queues" -mindepth 1 -maxdepth 1 -name "$2-*" | wc -l; }
# The most queue pairs the device offers (ethtool's first "Combined:", the maximum).
max_pairs() { ethtool -l "$1" 2>/dev/null | awk '/^Combined:/ {print $2; exit}'; }

ping_l1() {
	# The first echo may go out before the neighbour is resolved: allow a few.
	if ping6 -c 3 -w 10 -I "$dev" "$l1" >/tmp/ping.log 2>&1 &&
		grep -q ' [1-3] packets received' /tmp/ping.log; then
		echo "$1-PING=ok"
	else
		echo "$1-PING=failed"
		sed 's/^/# /' /tmp/ping.log
	fi
}

# bring_up P: waits for virtio_net's interface, enables every queue pair the device
# offers (virtio_net starts with one per vCPU: one here), brings the interface up
# with its link-local address usable at once (no DAD), reports it as P-... and pings
# L1. Sets dev.
bring_up() {
	p=$1
	wait_for 20 netdev >/dev/null
	dev=$(netdev) || {
		echo "$p-IF=none"
		return 1
	}
	vdev=$(readlink -f "/sys/class/net/$dev/device")
	fn=$(dirname "$vdev")
	max=$(max_pairs "$dev")
	# VIRTIO_NET_CTRL_MQ on the control queue; a refusal shows in the queue counts.
	ethtool -L "$dev" combined "${max:-1}" 2>&1 | sed 's/^/# ethtool: /'
	echo 0 >"/proc/sys/net/ipv6/conf/$dev/accept_dad"
	ip link set "$dev" up
	wait_for 15 has_carrier "$dev"
	wait_for 10 is_up "$dev"
	echo "$p-IF=$dev"
	echo "$p-DRIVER=$(driver_of "$vdev")"
	echo "$p-PCI=${fn##*/}"
	echo "$p-ID=$(sed 's/^0x//' "$fn/vendor"):$(sed 's/^0x//' "$fn/device")"
	echo "$p-PCI-DRIVER=$(driver_of "$fn")"
	echo "$p-PARENT-CLASS=$(cat "$(dirname "$fn")/class" 2>/dev/null)"
	echo "$p-MSIX=$(find "$fn/msi_irqs" -mindepth 1 2>/dev/null | wc -l)"
	echo "$p-MAC=$(cat "/sys/class/net/$dev/address")"
	echo "$p-MTU=$(cat "/sys/class/net/$dev/mtu")"
	echo "$p-CARRIER=$(cat "/sys/class/net/$dev/carrier" 2>/dev/null || echo 0)"
	echo "$p-OPERSTATE=$(cat "/sys/class/net/$dev/operstate")"
	echo "$p-MAX-PAIRS=$max"
	echo "$p-RX-QUEUES=$(count_queues "$dev" rx)"
	echo "$p-TX-QUEUES=$(count_queues "$dev" tx)"
	ping_l1 "$p"
}

# pin_tx Q: everything this (only) vCPU sends leaves through tx queue Q: XPS lists CPU 0
# for queue Q alone. Fails if there is no queue Q.
pin_tx() {
	[ -d "/sys/class/net/$dev/queues/tx-$1" ] || return 1
	for q in /sys/class/net/"$dev"/queues/tx-*; do
		mask=0
		[ "${q##*/}" = "tx-$1" ] && mask=1
		echo "$mask" >"$q/xps_cpus" || return 1
	done
}

# xfer_limit MIB: seconds a transfer of MIB MiB may take: the test runs on one of L1's
# CPUs (one_l1_cpu), where the io_uring datapath, the guest and L1's end share it.
xfer_limit() {
	echo $((60 + $1 * 6))
}

# send_file KEY PORT MIB: MIB MiB of random bytes to L1's server on PORT. KEY=ok once L1
# has closed the connection after the last byte; KEY-SHA= what was sent.
send_file() {
	head -c $(($3 * 1048576)) /dev/urandom >/tmp/out
	echo "$1-SHA=$(sha256sum /tmp/out | cut -d' ' -f1)"
	if timeout "$(xfer_limit "$3")" nc "$l1%$dev" "$2" </tmp/out 2>/tmp/nc.log; then
		echo "$1=ok"
	else
		echo "$1=failed"
	fi
	sed 's/^/# nc: /' /tmp/nc.log
	rm -f /tmp/out
}

# recv_file KEY PORT MIB: what L1's server on PORT sends, to its end. KEY=ok when nc saw
# the end; KEY-BYTES= and KEY-SHA= what arrived. (nc's stdin at its end at once only
# half-closes the connection.)
recv_file() {
	if timeout "$(xfer_limit "$3")" nc "$l1%$dev" "$2" </dev/null >/tmp/in 2>/tmp/nc.log; then
		echo "$1=ok"
	else
		echo "$1=failed"
	fi
	sed 's/^/# nc: /' /tmp/nc.log
	echo "$1-BYTES=$(wc -c </tmp/in)"
	echo "$1-SHA=$(sha256sum /tmp/in | cut -d' ' -f1)"
	rm -f /tmp/in
}

# queue_stats: each queue's packets as virtio_net counted them.
queue_stats() {
	ethtool -S "$dev" 2>/dev/null |
		awk '$1 ~ /^[rt]x_queue_[0-9]+_packets:$/ {sub(":", "", $1); print "STAT-" $1 "=" $2}'
}

# rebind_virtio: virtio_net lets go of the virtio device and takes it again: its remove
# resets the device, its probe negotiates features and sets up the queues anew.
rebind_virtio() {
	vname=$(basename "$(readlink -f "/sys/class/net/$dev/device")")
	echo "$vname" >/sys/bus/virtio/drivers/virtio_net/unbind &&
		! netdev >/dev/null &&
		echo "$vname" >/sys/bus/virtio/drivers/virtio_net/bind
}

# rebind_pci: virtio-pci lets go of the PCI function and takes it again: the virtio
# device goes with virtio_net on it, MSI-X and bus mastering are turned off, then the
# function is probed anew (a new virtio device, a new interface).
rebind_pci() {
	fname=$(basename "$(dirname "$(readlink -f "/sys/class/net/$dev/device")")")
	echo "$fname" >/sys/bus/pci/drivers/virtio-pci/unbind &&
		! netdev >/dev/null &&
		echo "$fname" >/sys/bus/pci/drivers/virtio-pci/bind
}

full() {
	bring_up NET || return
	stamp "interface up"
	result XPS-UP pin_tx 1
	send_file UP 5001 32
	stamp "32 MiB sent"
	result XPS-DOWN pin_tx 0
	recv_file DOWN 5002 32
	stamp "32 MiB received"
	queue_stats
	result REBIND-VIRTIO rebind_virtio
	bring_up VREBIND || return
	result REBIND-PCI rebind_pci
	bring_up PREBIND || return
	send_file UP2 5003 4
	recv_file DOWN2 5004 4
	stamp "4 MiB each way after the rebinds"
}

ip link set lo up
case "$mode" in
hold)
	wait_for 30 netdev >/dev/null
	echo "NET-HOLDING=$(netdev)"
	exec sleep 3600
	;;
off) exit 0 ;;
esac
full
dmesg | grep -iE 'virtio|net' | sed 's/^/# dmesg: /' | tail -n 20
echo "NET-GUEST-DONE=1"
