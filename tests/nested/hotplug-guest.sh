#!/bin/sh
# /test.sh of the hot-plug guest (tests/nested/hotplug.sh; modules virtio_pci virtio_blk
# igbvf, and fio). It watches PCI functions come and go and says so, as lines the L1
# side greps:
#   GUEST-SLOTS=K                      hot-plug slots pciehp registered
#   GUEST-WATCHING                     ready
#   GUEST-ADDED BDF VEN:DEV driver=D   a function appeared (its driver once bound)
#   GUEST-PING BDF ok|failed mac=MAC   it is an igbvf NIC: up, ping6 to L1's igb PF
#   GUEST-NET BDF ok|failed            it is a virtio NIC: up, ping6 to L1's tap
#   GUEST-FIO BDF ok|failed            it is a virtio disk: fio verify on it
#   GUEST-REMOVED BDF                  a function went away
#   GUEST-TIMING added BDF bound=MS ready=MS   from pciehp's "Card present" to the
#                                      driver bound, and to the ping or fio done
#   GUEST-TIMING removed BDF gone=MS   from pciehp's "Attention button pressed" to
#                                      the function gone
# The times are the guest's own, all on its kernel log's clock (this script stamps
# its moments into /dev/kmsg: /proc/uptime disagreed with that clock by up to 20% in
# the testbed); the function list is read every 0.3 s, so "bound" and "gone" are late
# by up to that.
# shellcheck source=tests/nested/guest-lib.sh
. /guest-lib.sh
L1_PF_ADDR=fe80::1
L1_TAP_ADDR=fe80::2

# kernel_ms TEXT: the kernel's stamp (ms since boot) of its last line with TEXT
kernel_ms() {
	dmesg | grep -- "$1" | tail -n 1 | sed 's/^\[ *//; s/\].*//' | awk '{ print int($1 * 1000) }'
}
# now_ms: the kernel log's clock now, through a line of our own (info level: not on
# the console)
now_ms() {
	echo "<6>hotplug-guest: now" >/dev/kmsg
	kernel_ms "hotplug-guest: now"
}

# The functions behind ports: neither bridges nor the host bridge; one that is going
# away while it is read is left out.
endpoints() {
	for d in /sys/bus/pci/devices/*; do
		class=$(cat "$d/class" 2>/dev/null) && ven=$(cat "$d/vendor" 2>/dev/null) &&
			dev=$(cat "$d/device" 2>/dev/null) || continue
		case "$class" in 0x0604* | 0x0600*) continue ;; esac
		echo "${d##*/} $ven:$dev"
	done
}

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
has_driver() { [ -e "/sys/bus/pci/devices/$1/driver" ]; }

# ping_from DEV ADDR: DEV up, then three pings to ADDR, at least one answered
ping_from() {
	echo 0 >"/proc/sys/net/ipv6/conf/$1/accept_dad"
	ip link set "$1" up
	wait_for 15 has_carrier "$1" && wait_for 10 is_up "$1" &&
		ping6 -c 3 -w 10 -I "$1" "$2" >/tmp/ping.log 2>&1 &&
		grep -q ' [1-3] packets received' /tmp/ping.log
}

ping_l1() {
	wait_for 20 netdev_of igbvf >/dev/null
	dev=$(netdev_of igbvf) || return 1
	ping_from "$dev" "$L1_PF_ADDR"
}

# what_of BDF KIND: the block device or interface (KIND block, net) of a virtio function
what_of() {
	for b in /sys/bus/pci/devices/"$1"/virtio*/"$2"/*; do
		[ -e "$b" ] && echo "${b##*/}" && return 0
	done
	return 1
}

virtio_exercise() {
	wait_for 10 what_of "$1" block >/dev/null || wait_for 5 what_of "$1" net >/dev/null
	if disk=$(what_of "$1" block); then
		case "$(fio_verify "/dev/$disk")" in
		FIO-VERIFY=ok) echo "GUEST-FIO $1 ok" ;;
		*) echo "GUEST-FIO $1 failed" ;;
		esac
	elif dev=$(what_of "$1" net); then
		if ping_from "$dev" "$L1_TAP_ADDR"; then echo "GUEST-NET $1 ok"; else echo "GUEST-NET $1 failed"; fi
	fi
}

# What a new function (BDF) is for: traffic through a NIC, a verified write on a disk.
exercise() {
	case "$(driver_of "$1")" in
	igbvf)
		if ping_l1; then r=ok; else r=failed; fi
		echo "GUEST-PING $1 $r mac=$(cat "/sys/class/net/$(netdev_of igbvf)/address" 2>/dev/null)"
		;;
	virtio-pci) virtio_exercise "$1" ;;
	esac
}

echo "GUEST-SLOTS=$(ls /sys/bus/pci/slots | wc -l)"
before=$(endpoints)
echo "GUEST-WATCHING"
IFS='
'
while :; do
	now=$(endpoints)
	if [ "$now" != "$before" ]; then
		for line in $before; do
			echo "$now" | grep -qx "$line" && continue
			t=$(now_ms)
			echo "GUEST-REMOVED ${line%% *}"
			t0=$(kernel_ms 'Attention button pressed')
			[ -z "$t0" ] || echo "GUEST-TIMING removed ${line%% *} gone=$((t - t0))"
		done
		for line in $now; do
			echo "$before" | grep -qx "$line" && continue
			bdf=${line%% *}
			wait_for 10 has_driver "$bdf"
			t=$(now_ms)
			echo "GUEST-ADDED $line driver=$(driver_of "$bdf")"
			exercise "$bdf"
			t0=$(kernel_ms 'Card present')
			[ -z "$t0" ] || echo "GUEST-TIMING added $bdf bound=$((t - t0)) ready=$(($(now_ms) - t0))"
		done
		before=$now
	fi
	sleep 0.3
done
