#!/bin/sh
# /test.sh of the VFIO passthrough guest (run by guest-init in an L2 image built with
# modules igbvf nvme e1000e and fio). The guest is given an igb VF, an NVMe VF and the
# e1000e PF; it prints KEY=value lines that the L1 side (tests/nested/vfio.sh,
# the conduit test) greps:
#   PCI BDF VEN:DEV class=C parent=BDF driver=D  one line per PCI function
#   BAR0-VEN:DEV=0x... IRQ-VEN:DEV=N irq=I  BAR 0's address, MSI/MSI-X vectors, INTx line
#   IRQMODE-VEN:DEV=msi|msix|  BARS-VEN:DEV=0 3  the BARs that decode (index list)
#   ROM-VEN:DEV=sha256 ROM-BYTES-VEN:DEV=N   the expansion ROM as sysfs reads it
#   DRIVER-VEN:DEV=D  PARENT-VEN:DEV=BDF  PARENT-ID-VEN:DEV=VEN:DEV  PARENT-CLASS-VEN:DEV=C
#   IGBVF-NETDEV= IGBVF-MAC= IGBVF-CARRIER=1|0 IGBVF-OPERSTATE=   (E1000E-... likewise)
#   PING-IGBVF-ADDR=ok|failed  PING-E1000E-ADDR=ok|failed   for each L1 address ADDR
#   VIRTIO-CARRIER=1|0 PING-VIRTIO-ADDR=ok|failed   a virtio-net NIC, with conduit.tap
#   NVME-DEV=nvme0n1 NVME-BYTES=N  NVME-FLR=ok|failed  FIO-VERIFY=ok|failed|no-disk
#   NVME-MARK-OLD=sha NVME-MARK=sha   1 MiB at 64 MiB before and after this boot wrote it
#   VFIO-GUEST-DONE=1 VFIO-GUEST-UPTIME=seconds   at the end
# Kernel command line: conduit.ping=ADDR[,ADDR...] IPv6 link-local addresses of L1 NICs
# on the same QEMU hub (pinged from each guest NIC, scoped to that NIC); conduit.hold:
# print GUEST-HOLDING once the NVMe namespace is up and sleep (for a kill from outside);
# conduit.tap=ADDR: the guest also has a virtio-net NIC, on a tap whose L1 end is ADDR;
# conduit.want=igbvf,nvme: only those of igbvf, e1000e and nvme are looked for (a guest
# given some of them does not wait for the others).
ping_addrs=
tap_addr=
want="igbvf e1000e nvme"
# shellcheck disable=SC2013 # the command line is one line of words
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	conduit.ping=*) ping_addrs=$(echo "${arg#conduit.ping=}" | tr ',' ' ') ;;
	conduit.tap=*) tap_addr=${arg#conduit.tap=} ;;
	conduit.want=*) want=$(echo "${arg#conduit.want=}" | tr ',' ' ') ;;
	esac
done

# shellcheck source=tests/nested/guest-lib.sh
. /guest-lib.sh

wants() {
	case " $want " in *" $1 "*) return 0 ;; esac
	return 1
}

ids() { echo "$(sed 's/^0x//' "$1/vendor"):$(sed 's/^0x//' "$1/device")"; }

# report_rom DEV ID: the expansion ROM's hash and size, read the way L1 reads it.
report_rom() {
	[ -e "$1/rom" ] || return 0
	echo 1 >"$1/rom"
	echo "ROM-$2=$(sha256sum <"$1/rom" | cut -d' ' -f1)"
	echo "ROM-BYTES-$2=$(wc -c <"$1/rom")"
	echo 0 >"$1/rom"
}

report_pci() {
	for dev in /sys/bus/pci/devices/*; do
		bdf=${dev##*/}
		id=$(ids "$dev")
		drv=$(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null)
		pdev=$(dirname "$(readlink -f "$dev")")
		parent=${pdev##*/}
		echo "PCI $bdf $id class=$(cat "$dev/class") parent=$parent driver=$drv"
		echo "BAR0-$id=$(cut -d' ' -f1 "$dev/resource" | head -n 1)"
		echo "IRQ-$id=$(find "$dev/msi_irqs" -mindepth 1 2>/dev/null | wc -l) irq=$(cat "$dev/irq")"
		echo "IRQMODE-$id=$(cat "$dev"/msi_irqs/* 2>/dev/null | head -n 1)"
		echo "BARS-$id=$(head -n 6 "$dev/resource" | grep -n -v '^0x0* ' | cut -d: -f1 |
			while read -r n; do echo $((n - 1)); done | tr '\n' ' ' | sed 's/ $//')"
		report_rom "$dev" "$id"
		echo "DRIVER-$id=$drv"
		echo "PARENT-$id=$parent"
		if [ -e "$pdev/vendor" ]; then
			echo "PARENT-ID-$id=$(ids "$pdev")"
			echo "PARENT-CLASS-$id=$(cat "$pdev/class")"
		fi
	done
}

# nic KEY DRIVER [ADDRS]: brings the NIC up (IPv6 link-local at once, no DAD), waits
# for carrier, reports it and pings every L1 address (or ADDRS) through it.
nic() {
	key=$1
	addrs=${3:-$ping_addrs}
	wait_for 20 netdev_of "$2" >/dev/null
	dev=$(netdev_of "$2") || {
		echo "$key-NETDEV=none"
		return
	}
	echo 0 >"/proc/sys/net/ipv6/conf/$dev/accept_dad"
	ip link set "$dev" up
	wait_for 15 has_carrier "$dev"
	wait_for 10 is_up "$dev"
	echo "$key-NETDEV=$dev"
	echo "$key-MAC=$(cat "/sys/class/net/$dev/address")"
	echo "$key-CARRIER=$(cat "/sys/class/net/$dev/carrier" 2>/dev/null || echo 0)"
	echo "$key-OPERSTATE=$(cat "/sys/class/net/$dev/operstate")"
	for addr in $addrs; do
		# The first echo may go out before the neighbour is resolved: allow a few.
		if ping6 -c 3 -w 10 -I "$dev" "$addr" >/tmp/ping.log 2>&1 &&
			grep -q ' [1-3] packets received' /tmp/ping.log; then
			echo "PING-$key-$addr=ok"
		else
			echo "PING-$key-$addr=failed"
			sed 's/^/# /' /tmp/ping.log
		fi
	done
}

ctrl_live() { [ "$(cat "$1/state" 2>/dev/null)" = live ]; }

# nvme_flr: a Function Level Reset of the NVMe controller's PCI function, as sysfs
# "reset" does it with reset_method flr (Linux pcie_flr()); the driver brings the
# controller back, and the fio after it shows the function works. (The block
# device's parent is the NVMe subsystem, not the controller.)
nvme_flr() {
	ctrl=$(find /sys/class/nvme/ -mindepth 1 -maxdepth 1 | head -n 1)
	pdev=$(readlink -f "$ctrl/device")
	if echo flr >"$pdev/reset_method" && echo 1 >"$pdev/reset" && wait_for 30 ctrl_live "$ctrl"; then
		echo "NVME-FLR=ok"
	else
		echo "NVME-FLR=failed reset_method=$(cat "$pdev/reset_method" 2>/dev/null)"
	fi
}

check_nvme() {
	wait_for 30 nvme_ns >/dev/null
	ns=$(nvme_ns) || {
		echo "NVME-DEV=none"
		echo "FIO-VERIFY=no-disk"
		return
	}
	echo "NVME-DEV=$ns"
	echo "NVME-BYTES=$(($(cat "/sys/block/$ns/size") * 512))"
	nvme_flr
	# A missing node would make fio and dd write a regular file and "pass".
	if [ ! -b "/dev/$ns" ]; then
		echo "FIO-VERIFY=no-disk"
		return
	fi
	fio_verify "/dev/$ns"
	# What an earlier boot left at 64 MiB, then a new mark: the L1 side compares them.
	echo "NVME-MARK-OLD=$(dd if="/dev/$ns" bs=1M skip=64 count=1 iflag=direct 2>/dev/null |
		sha256sum | cut -d' ' -f1)"
	dd if=/dev/urandom of=/tmp/mark bs=1M count=1 2>/dev/null
	dd if=/tmp/mark of="/dev/$ns" bs=1M seek=64 count=1 oflag=direct conv=fsync 2>/dev/null
	echo "NVME-MARK=$(dd if="/dev/$ns" bs=1M skip=64 count=1 iflag=direct 2>/dev/null |
		sha256sum | cut -d' ' -f1)"
}

ip link set lo up
# conduit.hold: drivers bound and interrupts on, then wait to be stopped from outside
if grep -q conduit.hold /proc/cmdline; then
	! wants nvme || wait_for 30 nvme_ns >/dev/null
	! wants igbvf || wait_for 30 netdev_of igbvf >/dev/null
	echo "GUEST-HOLDING nvme=$(nvme_ns) igbvf=$(netdev_of igbvf)"
	exec sleep 3600
fi
! wants igbvf || nic IGBVF igbvf
echo "# uptime $(cut -d' ' -f1 /proc/uptime): igbvf done"
! wants e1000e || nic E1000E e1000e
[ -z "$tap_addr" ] || nic VIRTIO virtio_net "$tap_addr"
echo "# uptime $(cut -d' ' -f1 /proc/uptime): e1000e done"
! wants nvme || check_nvme
echo "# uptime $(cut -d' ' -f1 /proc/uptime): nvme done"
report_pci
dmesg | grep -iE 'igbvf|e1000e|nvme|vfio|dmar' | sed 's/^/# dmesg: /' | tail -n 30
echo "VFIO-GUEST-DONE=1"
echo "VFIO-GUEST-UPTIME=$(cut -d' ' -f1 /proc/uptime)"
