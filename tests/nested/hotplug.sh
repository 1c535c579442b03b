#!/usr/bin/env bash
# Nested: PCIe native hot-plug through the control socket. The guest starts with two
# empty root ports (hp1, hp2) and a disk on a third (full); its pciehp takes the three
# slots (the DSDT's _OSC grants native hot-plug). add-device puts L1's igb VF behind hp1
# (igbvf binds, pings L1) and a disk behind the first free port (fio verify); info's
# guest BDFs are the guest's own; a full port, no free port and a function not on
# vfio-pci are refused with the VM unharmed. remove-device presses the slot's attention
# button: device-removed comes only after the guest's pciehp powered the slot off; a
# second remove is refused; the VF stays on vfio-pci and a second VM takes it. Then ten
# add/remove cycles of the VF, timed, and the boot disk removed too.
# Usage: hotplug.sh CONDUIT
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"
# shellcheck source=tools/lib/l1-vfio.sh
. "$repo/tools/lib/l1-vfio.sh"
CONDUIT=$1
VF=0000:00:12.0
L1_PF_ADDR=fe80::1
work=$(mktemp -d)
sock=$work/api.sock
vm=
events=
cleanup() {
	[ -z "$vm" ] || kill -9 "$vm" 2>/dev/null
	[ -z "$events" ] || kill "$events" 2>/dev/null
	l1v_restore_all >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

l1v_check_host || bail "L1 cannot do VFIO"
l1v_igb_enable_vfs 2 || bail "igb VFs"
pf_dev=$(l1v_netdev "$L1V_IGB_PF") || bail "igb PF netdev"
l1v_link_local "$pf_dev" "$L1_PF_ADDR" || bail "link-local on the igb PF"
l1v_bind_vfio "$VF" >/dev/null || bail "$VF to vfio-pci"
echo "virtio_pci virtio_blk igbvf" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/initrd.gz" \
	--modules "virtio_pci virtio_blk igbvf" --bin fio \
	--add "$here/hotplug-guest.sh:/test.sh" --add "$here/guest-lib.sh:/guest-lib.sh" \
	--add "$work/modules.list:/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/plain.gz"
truncate -s 32M "$work/boot.img" "$work/hot.img" "$work/spare.img"
kernel=$(guest_kernel)

ctl() { "$CONDUIT" ctl "$@"; }
jtrue() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if $2 else 1)" "$1"; }
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
console() { tr -d '\r' <"$work/vm"; }
count() { console | grep -c -- "$1"; }
# wait_count PATTERN N SECS: until the console has N lines matching PATTERN
wait_count() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		[ "$(count "$1")" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
# wait_event NAME ID SECS: until the event stream has NAME for device ID
wait_event() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		grep -q "\"event\":\"$1\".*\"id\":\"$2\"" "$work/events" && return 0
		sleep 0.2
	done
	return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

boot_vm() {
	"$CONDUIT" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 2 --memory 512M \
		--pcie root-port,id=hp1 --pcie root-port,id=hp2 --pcie root-port,id=full \
		--disk "path=$work/boot.img,bus=full" --api-socket "$sock" \
		--cmdline "console=ttyS0 quiet" </dev/null >"$work/vm" 2>&1 &
	vm=$!
	wait_count '^GUEST-WATCHING' 1 180 && return 0
	kill -0 "$vm" 2>/dev/null && kill -9 "$vm"
	wait "$vm"
	status=$?
	vm=
	return 1
}

plan 26

if ! boot_vm && ! { testbed_killed "$work/vm" && boot_vm; }; then
	console | sed 's/^/# /'
	bail "the guest did not come up"
fi
ctl --json "$sock" events >"$work/events" 2>&1 &
events=$!
check "the guest's pciehp took the three slots (_OSC granted native hot-plug)" \
	[ "$(console | sed -n 's/^GUEST-SLOTS=//p')" = 3 ]

# The VF behind hp1
t0=$(now_ms)
ctl --json "$sock" add-device --vfio "host=$VF,bus=hp1" >"$work/add-vf.json" 2>&1
sed 's/^/# /' "$work/add-vf.json"
check "add-device --vfio: vfio0 on hp1 for $VF" \
	jtrue "$work/add-vf.json" 'j["id"] == "vfio0" and j["port"] == "hp1" and j["host_bdf"] == "'$VF'"'
vf_bdf=$(jget "$work/add-vf.json" 'j["guest_bdf"]' 2>/dev/null)
wait_count "^GUEST-ADDED $vf_bdf 0x8086:0x10ca driver=igbvf" 1 60
check "the guest finds the VF at $vf_bdf, where info says, and igbvf binds it" \
	[ "$(count "^GUEST-ADDED $vf_bdf 0x8086:0x10ca driver=igbvf")" -eq 1 ]
echo "# the VF was in the guest with its driver $(($(now_ms) - t0)) ms after add-device"
wait_count "^GUEST-PING $vf_bdf " 1 60
check "igbvf pings L1 through the hot-added VF" [ "$(count "^GUEST-PING $vf_bdf ok")" -eq 1 ]
check "device-added arrived for vfio0" wait_event device-added vfio0 5

# Refusals, with the VM unharmed
refused() { # refused LOG PATTERN CTL-ARGS...: status 1 and the line
	local log=$1 pattern=$2
	shift 2
	ctl "$sock" "$@" >"$log" 2>&1
	status=$?
	sed 's/^/# /' "$log"
	ended_with "$log" 1 "$pattern"
}
check "a function not on vfio-pci is refused, naming the fix" \
	refused "$work/r3" "vfio-pci" add-device --vfio "host=$L1V_E1000E"

# A disk behind the first free port: hp2
ctl --json "$sock" add-device --disk "path=$work/hot.img" >"$work/add-disk.json" 2>&1
sed 's/^/# /' "$work/add-disk.json"
check "add-device --disk without bus=: disk1 on the first free port, hp2" \
	jtrue "$work/add-disk.json" 'j["id"] == "disk1" and j["port"] == "hp2"'
disk_bdf=$(jget "$work/add-disk.json" 'j["guest_bdf"]' 2>/dev/null)
wait_count "^GUEST-FIO $disk_bdf " 1 90
check "the guest's virtio_blk takes the disk at $disk_bdf and fio verifies on it" \
	[ "$(count "^GUEST-FIO $disk_bdf ok")" -eq 1 ]

check "a third device finds no free port" \
	refused "$work/r1" "no free hot-plug port" add-device --disk "path=$work/spare.img"
check "a port that holds a device is refused" \
	refused "$work/r2" "port 'full' holds a device already" add-device --disk "path=$work/spare.img,bus=full"
check "a removal of an unknown device is refused" \
	refused "$work/r4" "no device 'disk9'" remove-device disk9
ctl --json "$sock" info >"$work/info.json"
check "info: disk0, vfio0 and disk1, all present" \
	jtrue "$work/info.json" '[d["id"] for d in j["devices"]] == ["disk0", "vfio0", "disk1"] and j["state"] == "running"'

# Removal: the guest is asked, and the device goes once it has powered the slot off.
t0=$(now_ms)
check "remove-device vfio0: removing" [ "$(ctl "$sock" remove-device vfio0)" = "vfio0 removing" ]
check "a second remove while the guest decides is refused" \
	refused "$work/r5" "vfio0 is being removed already" remove-device vfio0
wait_event device-removed vfio0 60
took=$(($(now_ms) - t0))
echo "# device-removed for vfio0 $took ms after remove-device"
check "device-removed for vfio0 came after the guest's pciehp powered the slot off (${took} ms: its 5 s button delay included)" \
	[ "$took" -ge 4500 -a "$took" -lt 60000 ]
wait_count "^GUEST-REMOVED $vf_bdf" 1 10
check "the guest no longer has the VF" [ "$(count "^GUEST-REMOVED $vf_bdf")" -eq 1 ]
check "remove-device vfio0 again: no such device" \
	refused "$work/r6" "no device 'vfio0'" remove-device vfio0
check "the VF is still on vfio-pci in L1" \
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$VF/driver")")" = vfio-pci ]
run_guest "$work/second" run --kernel "$kernel" --initrd "$work/plain.gz" \
	--vfio "host=$VF" --cmdline "console=ttyS0 quiet conduit.end=poweroff" --serial none
check "a second VM takes the VF meanwhile and powers off (status 0)" [ "$status" -eq 0 ]

# Ten cycles of the VF in the same guest
ok_cycles=0 add_ms=0 remove_ms=0
for i in $(seq 10); do
	t0=$(now_ms)
	ctl --json "$sock" add-device --vfio "host=$VF,bus=hp1" >"$work/cycle.json" 2>&1 || break
	bdf=$(jget "$work/cycle.json" 'j["guest_bdf"]')
	wait_count "^GUEST-PING $bdf ok" $((i + 1)) 60 || break
	t1=$(now_ms)
	id=$(jget "$work/cycle.json" 'j["id"]')
	ctl "$sock" remove-device "$id" >/dev/null || break
	n_removed=$(grep -c "\"event\":\"device-removed\"" "$work/events")
	for _ in $(seq 300); do
		[ "$(grep -c "\"event\":\"device-removed\"" "$work/events")" -gt "$n_removed" ] && break
		sleep 0.2
	done
	[ "$(grep -c "\"event\":\"device-removed\"" "$work/events")" -gt "$n_removed" ] || break
	t2=$(now_ms)
	add_ms=$((add_ms + t1 - t0)) remove_ms=$((remove_ms + t2 - t1))
	ok_cycles=$i
done
[ "$ok_cycles" -eq 10 ] || console | grep '^GUEST-' | tail -n 12 | sed 's/^/# after the last cycle: /'
echo "# $ok_cycles cycles: add to a working NIC (igbvf up, ping answered) $((add_ms / (ok_cycles > 0 ? ok_cycles : 1))) ms on average, remove to device-removed $((remove_ms / (ok_cycles > 0 ? ok_cycles : 1))) ms"
check "ten add/remove cycles of the VF, each pinging L1" [ "$ok_cycles" -eq 10 ]

# The boot disk leaves too, and the hot-added disk
ctl "$sock" remove-device disk0 >/dev/null
ctl "$sock" remove-device disk1 >/dev/null
check "the disk present from boot is removed" wait_event device-removed disk0 60
check "the hot-added disk is removed" wait_event device-removed disk1 60
ctl --json "$sock" info >"$work/info2.json"
check "info lists no device" jtrue "$work/info2.json" 'j["devices"] == []'
check "the guest kept running through it all" kill -0 "$vm"
kill -TERM "$vm"
wait "$vm"
status=$?
vm=
check "SIGTERM ends it with status 0" [ "$status" -eq 0 ]
check "no seccomp violation on the way" [ "$(count 'seccomp')" -eq 0 ]
console | grep -v '^GUEST-\(PING\|ADDED\|REMOVED\|FIO\)' | sed 's/^/# /'
finish
