#!/usr/bin/env bash
# Nested: VFIO passthrough of SR-IOV VFs and a PF, judged by the L2 guest's own drivers.
# L1 enables 2 igb VFs and 2 NVMe VFs (given resources and brought online through the PF
# by `conduit sriov --vfs 2`) and hands igb VF 00:12.0, NVMe VF 00:04.1 and the e1000e
# PF 00:03.0 to vfio-pci. The guest gets each behind its own root port: igbvf, nvme and
# e1000e bind, both NICs get carrier and ping L1 over IPv6 link-local on QEMU's hub, fio
# verifies on the NVMe VF. A VM killed with SIGTERM leaves the functions on vfio-pci,
# the next VM reuses them and reads what the first wrote; a nonexistent function and one
# still on its host driver are refused with status 1 and the host driver stays bound.
# The e1000e's expansion ROM reads in the guest as in L1; with msix-relocate=on the VFs'
# MSI-X tables move to a new BAR and their drivers still get interrupts. INTx runs with
# pci=nomsi. `conduit devices` shows the PF with its VFs. Everything goes back to L1's
# drivers.
# Usage: vfio.sh CONDUIT          (the test suite)
#        vfio.sh --qemu           (the same guest checks with QEMU as the VMM, the
#                                  reference; run in tools/testbed)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"
# shellcheck source=tools/lib/l1-vfio.sh
. "$repo/tools/lib/l1-vfio.sh"
vmm=conduit
if [ "${1:-}" = --qemu ]; then vmm=qemu; else CONDUIT=$1; fi

# L1's answering side on the hub: the igb PF and the second igb VF on igbvf in L1.
L1_PF_ADDR=fe80::1
L1_VF_ADDR=fe80::2
# VM 2 also gets a virtio-net NIC on this tap, L1's end fe80::3 (a link of its own).
TAP=ctapv
L1_TAP_ADDR=fe80::3
IGB_VF=0000:00:12.0
NVME_VF=0000:00:04.1
E1000E=$L1V_E1000E
work=$(mktemp -d)
cleanup() {
	l1v_restore_all >/dev/null 2>&1
	ip link del "$TAP" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

l1v_check_host || bail "L1 cannot do VFIO"
l1v_igb_enable_vfs 2 || bail "igb VFs"
# conduit's own SR-IOV setup gives the NVMe VFs their queues and interrupts (sriov.sh
# tests it; the guests' fio verify here shows the VFs work); QEMU's run uses nvme-cli.
if [ "$vmm" = conduit ]; then
	"$CONDUIT" sriov "$L1V_NVME_PF" --vfs 2 | sed 's/^/# /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || bail "NVMe VFs through conduit sriov"
else
	l1v_nvme_enable_vfs 2 || bail "NVMe VFs"
fi
pf_dev=$(l1v_netdev "$L1V_IGB_PF") || bail "igb PF netdev"
l1v_link_local "$pf_dev" "$L1_PF_ADDR" || bail "link-local on the igb PF"
l1_vf=$(l1v_vf "$L1V_IGB_PF" 1) || bail "second igb VF"
l1v_bind igbvf "$l1_vf" || bail "second igb VF to igbvf"
vf_dev=$(l1v_netdev "$l1_vf") || bail "netdev of $l1_vf"
l1v_link_local "$vf_dev" "$L1_VF_ADDR" || bail "link-local on the igb VF in L1"
make_tap "$TAP" "$L1_TAP_ADDR" || bail "cannot make the tap $TAP in L1"
kernel=$(guest_kernel)
echo "igbvf nvme e1000e virtio_pci virtio_net" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/initrd.gz" \
	--modules "igbvf nvme e1000e virtio_pci virtio_net" --bin fio \
	--add "$here/vfio-guest.sh:/test.sh" --add "$here/guest-lib.sh:/guest-lib.sh" \
	--add "$work/modules.list:/modules.list"
# rom_sha BDF: the function's expansion ROM as L1's sysfs reads it (on its L1 driver:
# vfio-pci lets an unused function sleep in D3hot, where the ROM reads as ones).
rom_sha() {
	local f=$L1V_PCI/$1/rom
	[ -e "$f" ] || return 0
	echo 1 >"$f" && sha256sum <"$f" | cut -d' ' -f1
	echo 0 >"$f"
}
e1000e_rom=$(rom_sha "$E1000E")
for bdf in "$IGB_VF" "$NVME_VF" "$E1000E"; do
	l1v_bind_vfio "$bdf" >/dev/null || bail "binding $bdf to vfio-pci"
done
append="$GUEST_CMDLINE conduit.ping=$L1_PF_ADDR,$L1_VF_ADDR"
relocate=


# boot LOG [EXTRA...]: one L2 boot with the three functions; sets $status. One vCPU:
# nothing here needs two, and the testbed loses 2-vCPU L2 guests far more often
# (tools/guest-loss: 5 of 20 two-vCPU runs lost, 0 of 18 one-vCPU runs; README).
boot() {
	local log=$1 cmd
	shift
	if [ "$vmm" = qemu ]; then
		# shellcheck disable=SC2054 # the commas are QEMU's option syntax
		cmd=(qemu-system-x86_64 -accel kvm -M q35 -cpu host -smp 1 -m 768M -nodefaults
			-no-user-config -display none -serial stdio -no-reboot
			-kernel "$kernel" -initrd "$work/initrd.gz" -append "$append")
		l1v_qemu_vfio_args cmd "$IGB_VF" "$NVME_VF" "$E1000E"
		# shellcheck disable=SC2054 # the commas are QEMU's option syntax
		[ -z "${with_net:-}" ] || cmd+=(-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no"
			-device virtio-net-pci,netdev=n0,disable-legacy=on)
	else
		# shellcheck disable=SC2054 # commas separate --pcie/--vfio keys
		cmd=("$CONDUIT" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 1
			--memory 768M --pcie root-port,id=rp1 --pcie root-port,id=rp2
			--pcie root-port,id=rp3 --vfio "host=$IGB_VF,bus=rp1$relocate"
			--vfio "host=$NVME_VF,bus=rp2$relocate" --vfio "host=$E1000E,bus=rp3"
			--cmdline "$append" "$@")
		[ -z "${with_net:-}" ] || cmd+=(--net "tap=$TAP")
	fi
	timeout 600 "${cmd[@]}" </dev/null 2>&1 | stdbuf -oL tr -d '\r' >"$log"
	status=${PIPESTATUS[0]}
	if [ -z "${retried:-}" ] && testbed_killed "$log"; then
		retried=1 boot "$log" "$@"
		return
	fi
	return "$status"
}

# guest_checks LOG RUN: what one boot must show.
guest_checks() {
	local log=$1 run=$2 id parents=() nic addr
	check "$run: guest powered off, status 0" [ "$status" -eq 0 ]
	check "$run: guest finished its test" grep -q '^VFIO-GUEST-DONE=1' "$log"
	for id in 8086:10ca:igbvf 1b36:0010:nvme 8086:10d3:e1000e; do
		check "$run: ${id%:*} bound to ${id##*:} in the guest" \
			[ "$(field "$log" "DRIVER-${id%:*}")" = "${id##*:}" ]
		check "$run: ${id%:*} sits behind a PCIe root port" \
			[ "$(field "$log" "PARENT-CLASS-${id%:*}")" = 0x060400 ]
		parents+=("$(field "$log" "PARENT-${id%:*}")")
	done
	check "$run: each function has its own root port" \
		[ "$(printf '%s\n' "${parents[@]}" | sort -u | grep -c .)" -eq 3 ]
	check "$run: igbvf has carrier and the MAC L1 set on the PF" \
		[ "$(field "$log" IGBVF-CARRIER)" = 1 -a \
		"$(field "$log" IGBVF-MAC)" = "${L1V_IGB_VF_MAC_PREFIX}0" ]
	check "$run: e1000e has carrier" [ "$(field "$log" E1000E-CARRIER)" = 1 ]
	for nic in IGBVF E1000E; do
		for addr in "$L1_PF_ADDR" "$L1_VF_ADDR"; do
			check "$run: ping from the guest's ${nic,,} to L1 $addr" \
				[ "$(field "$log" "PING-$nic-$addr")" = ok ]
		done
	done
	[ "$vmm" = conduit ] && # QEMU's firmware keeps small 64-bit BARs below 4 GiB
		check "$run: the igb VF's 64-bit prefetchable BAR 0 sits above 4 GiB" \
			[ "$(($(field "$log" BAR0-8086:10ca)))" -ge $((1 << 32)) ]
	check "$run: the e1000e's expansion ROM reads in the guest as in L1" \
		[ -n "$e1000e_rom" -a "$(field "$log" ROM-8086:10d3)" = "$e1000e_rom" ]
	check "$run: igbvf and nvme run on MSI-X vectors" \
		[ "$(field "$log" IRQ-8086:10ca | cut -d' ' -f1)" -ge 3 -a \
		"$(field "$log" IRQ-1b36:0010 | cut -d' ' -f1)" -ge 1 ]
	check "$run: NVMe VF namespace is a 256 MiB block device" \
		[ "$(field "$log" NVME-BYTES)" = 268435456 ]
	check "$run: the guest's Function Level Reset of the NVMe VF completes" \
		[ "$(field "$log" NVME-FLR)" = ok ]
	[ "$vmm" = conduit ] &&
		check "$run: ... and reaches the device as VFIO_DEVICE_RESET" \
			grep -q "vfio $NVME_VF: function level reset by the guest" "$log"
	check "$run: fio random write + crc32c verify on the NVMe VF" \
		[ "$(field "$log" FIO-VERIFY)" = ok ]
}

on_vfio() {
	l1v_driver_is "$IGB_VF" vfio-pci && l1v_driver_is "$NVME_VF" vfio-pci &&
		l1v_driver_is "$E1000E" vfio-pci
}

# moved_bar LOG BDF: the BAR conduit showed the function's MSI-X table in.
moved_bar() {
	grep -o "vfio $2: MSI-X table and PBA shown in BAR [0-5]" "$1" | grep -o '[0-5]$'
}

# bar_is_new ID BAR: BAR decodes in the relocation boot's guest and did not in VM 1's.
bar_is_new() {
	local re="^BARS-$1=(.* )?$2( |\$)"
	[ -n "$2" ] && grep -Eq "$re" "$work/moved" && ! grep -Eq "$re" "$work/vm1"
}

# One boot with the VFs' MSI-X tables moved to a BAR of their own: the guest's
# drivers must find them there (a vector programmed anywhere else never fires).
relocate_checks() {
	local id bdf bar
	relocate=,msix-relocate=on
	boot "$work/moved"
	relocate=
	for id in 8086:10ca=$IGB_VF 1b36:0010=$NVME_VF; do
		bdf=${id#*=}
		id=${id%=*}
		bar=$(moved_bar "$work/moved" "$bdf")
		check "msix-relocate=on: $id's MSI-X table in BAR ${bar:-?}, new to the guest" \
			bar_is_new "$id" "$bar"
	done
	check "msix-relocate=on: igbvf pings and nvme verifies on MSI-X vectors" \
		[ "$(field "$work/moved" IRQMODE-8086:10ca)" = msix -a \
		"$(field "$work/moved" IRQMODE-1b36:0010)" = msix -a \
		"$(field "$work/moved" "PING-IGBVF-$L1_PF_ADDR")" = ok -a \
		"$(field "$work/moved" FIO-VERIFY)" = ok ]
}

# conduit only: SIGTERM mid-run, bad host state, the inventory.
# all_filtered PID: every thread of PID in seccomp filter mode (Seccomp: 2), and at
# least the main thread and the vCPU.
all_filtered() {
	local modes
	modes=$(cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^Seccomp:/ {print $2}')
	echo "# threads' seccomp modes: $(echo "$modes" | tr '\n' ' ')"
	[ "$(echo "$modes" | grep -c .)" -ge 2 ] && ! echo "$modes" | grep -qv '^2$'
}

conduit_checks() {
	local pid i
	check "VM 1: one posting line per function, naming why not (no AVIC under TCG)" \
		[ "$(grep -c "^conduit: vfio 0000:00:..\\..: interrupts not posted: .*avic" \
			"$work/vm1")" -eq 3 ]
	grep -o 'dma_map_seconds[^ ]*' "$work/vm1" | sed 's/^/# /'

	append+=" conduit.hold"
	boot "$work/term" &
	pid=$!
	append=${append% conduit.hold}
	for i in $(seq 240); do
		grep -q "^GUEST-HOLDING nvme=nvme" "$work/term" 2>/dev/null && break
		sleep 0.5
	done
	# the default --seccomp on: every thread of a running VM is under a filter
	check "a running VM's threads (main and vCPUs) are all seccomp-filtered" \
		all_filtered "$(pgrep -x conduit)"
	pkill -TERM -x conduit
	wait "$pid"
	status=$?
	check "a VM stopped by SIGTERM, its drivers bound, exits 0" \
		ended_with "$work/term" 0 "^GUEST-HOLDING nvme=nvme"
	check "after SIGTERM the functions are still on vfio-pci" on_vfio

	run_conduit "$work/nodev" run --kernel "$kernel" --vfio host=0000:00:1f.7
	check "a nonexistent function: status 1, named, with the fix" \
		ended_with "$work/nodev" 1 "no PCI function 0000:00:1f.7 .*conduit devices"
	run_conduit "$work/bound" run --kernel "$kernel" --vfio "host=$L1V_NVME_PF"
	check "a function on its host driver: status 1, names the driver and the fix" \
		ended_with "$work/bound" 1 "$L1V_NVME_PF.*nvme.*driver_override"
	check "... and the host driver stays bound" l1v_driver_is "$L1V_NVME_PF" nvme

	# INTx: with MSI off in the guest the e1000e PF falls back to its pin: eventfd ->
	# irqfd with resamplefd. (SR-IOV VFs have no INTx: igbvf and nvme find none.)
	boot "$work/intx" --cmdline "$append pci=nomsi"
	check "INTx (pci=nomsi): e1000e has no MSI vectors but a pin interrupt" \
		[ "$(field "$work/intx" IRQ-8086:10d3)" != "" -a \
		"$(field "$work/intx" IRQ-8086:10d3 | cut -d' ' -f1)" = 0 -a \
		"$(field "$work/intx" IRQ-8086:10d3 | cut -d= -f2)" != 0 ]
	check "INTx (pci=nomsi): e1000e pings L1 on it" \
		[ "$(field "$work/intx" "PING-E1000E-$L1_PF_ADDR")" = ok ]

	relocate_checks

	"$CONDUIT" devices >"$work/devices" 2>&1
	check "conduit devices: the igb PF with 2 of its 7 VFs, their addresses" \
		grep -q "^$L1V_IGB_PF .*\\[8086:10c9\\].*driver=igb.*sriov=2/7 vfs=$IGB_VF,$l1_vf" \
		"$work/devices"
	check "conduit devices: the VF on vfio-pci, its IOMMU group and PF" \
		grep -q "^$IGB_VF .*driver=vfio-pci  iommu_group=[0-9]* (alone).*vf-of=$L1V_IGB_PF" \
		"$work/devices"
	"$CONDUIT" devices --json >"$work/devices.json" 2>&1
	check "conduit devices --json parses and lists the NVMe PF's VFs" \
		python3 -c "import json,sys; d={x['bdf']: x for x in json.load(open(sys.argv[1]))}; \
			assert d['$L1V_NVME_PF']['sriov']['num_vfs'] == 2" "$work/devices.json"
}

if [ "$vmm" = qemu ]; then plan 46; else plan 65; fi
if [ "$vmm" = qemu ]; then boot "$work/vm1"; else boot "$work/vm1" --stats; fi
guest_checks "$work/vm1" "VM 1"
[ "$vmm" = conduit ] && conduit_checks
# VM 2: the passed-through NICs and a virtio-net NIC side by side
append+=" conduit.tap=$L1_TAP_ADDR"
with_net=1 boot "$work/vm2"
append=${append% conduit.tap=*}
guest_checks "$work/vm2" "VM 2"
check "VM 2: virtio-net beside them: virtio_net bound, carrier" \
	[ "$(field "$work/vm2" VIRTIO-CARRIER)" = 1 ]
check "VM 2: ping from the guest's virtio-net NIC to L1 $L1_TAP_ADDR on the tap" \
	[ "$(field "$work/vm2" "PING-VIRTIO-$L1_TAP_ADDR")" = ok ]
# the last boot before VM 2 that wrote a mark: VM 1, or conduit's relocation boot
last=$work/vm1
[ -e "$work/moved" ] && last=$work/moved
mark1=$(field "$last" NVME-MARK)
check "VM 2 reuses the functions and reads what the VM before wrote to the NVMe VF" \
	[ "${mark1:-none}" = "$(field "$work/vm2" NVME-MARK-OLD)" ]
check "the functions are on vfio-pci after the VMs" on_vfio
if [ "$tap_failed" -ne 0 ]; then
	for vm in vm1 vm2 moved; do [ -e "$work/$vm" ] && sed "s/^/# $vm: /" "$work/$vm"; done
fi
l1v_restore_all
check "e1000e is back on its L1 driver" l1v_driver_is "$E1000E" e1000e
check "igb and NVMe VFs are disabled again" \
	[ "$(cat "$L1V_PCI/$L1V_IGB_PF/sriov_numvfs")$(cat "$L1V_PCI/$L1V_NVME_PF/sriov_numvfs")" = 00 ]
finish
