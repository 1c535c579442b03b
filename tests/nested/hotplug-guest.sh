#!/bin/sh
# /test.sh of the hot-plug guest (tests/nested/hotplug.sh; modules virtio_pci virtio_blk
# igbvf, and fio). It watches PCI functions come and go and says so, as lines the L1
# side greps:
#   GUEST-SLOTS=K                      hot-plug slots pciehp registered
#   GUEST-WATCHING                     ready
#   GUEST-ADDED BDF VEN:DEV driver=D   a function appeared (its driver once bound)
#   GUEST-PING BDF ok|failed           it is an igbvf NIC: up, ping6 to L1's igb PF
#   GUEST-FIO BDF ok|failed            it is a virtio disk: fio verify on it
#   GUEST-REMOVED BDF                  a function went away
# shellcheck source=tests/nested/guest-lib.sh
. /guest-lib.sh
L1_PF_ADDR=fe80::1

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

ping_l1() {
	wait_for 20 netdev_of igbvf >/dev/null
	dev=$(netdev_of igbvf) || return 1
	echo 0 >"/proc/sys/net/ipv6/conf/$dev/accept_dad"
	ip link set "$dev" up
	wait_for 15 has_carrier "$dev" && wait_for 10 is_up "$dev" &&
		ping6 -c 3 -w 10 -I "$dev" "$L1_PF_ADDR" >/tmp/ping.log 2>&1 &&
		grep -q ' [1-3] packets received' /tmp/ping.log
}

disk_of() {
	for b in /sys/bus/pci/devices/"$1"/virtio*/block/*; do
		[ -e "$b" ] && echo "${b##*/}" && return 0
	done
	return 1
}

# What a new function (BDF) is for: traffic through a NIC, a verified write on a disk.
exercise() {
	case "$(driver_of "$1")" in
	igbvf) if ping_l1; then echo "GUEST-PING $1 ok"; else echo "GUEST-PING $1 failed"; fi ;;
	virtio-pci)
		wait_for 10 disk_of "$1" >/dev/null
		disk=$(disk_of "$1") || return
		case "$(fio_verify "/dev/$disk")" in
		FIO-VERIFY=ok) echo "GUEST-FIO $1 ok" ;;
		*) echo "GUEST-FIO $1 failed" ;;
		esac
		;;
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
			echo "$now" | grep -qx "$line" || echo "GUEST-REMOVED ${line%% *}"
		done
		for line in $now; do
			echo "$before" | grep -qx "$line" && continue
			bdf=${line%% *}
			wait_for 10 has_driver "$bdf"
			echo "GUEST-ADDED $line driver=$(driver_of "$bdf")"
			exercise "$bdf"
		done
		before=$now
	fi
	sleep 0.3
done
