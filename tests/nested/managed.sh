#!/usr/bin/env bash
# Nested: managed assignment (--vfio pf=PF,vf=auto|N,...) with the guests' own drivers
# as judges. L1 gives the igb PF 3 VFs with `conduit sriov` and binds VF 2 to igbvf in
# L1 by hand (with a MAC and a driver_override, as a user might); the NVMe PF gets 2.
# Two guests started at once with pf=IGB,vf=auto,mac=... get different VFs (never the
# one L1 uses), each guest's igbvf reports the MAC it was given and pings L1; after
# they power off every VF is back as it was (driver, override, MAC, VLAN, trust).
# A guest whose conduit alone is SIGKILLed is cleaned up by its steward at once; one
# whose whole process group is SIGKILLed is cleaned up by the next conduit's start —
# an NVMe VF guest (pf=NVME,vf=auto) whose fio verify passes. While a VF is held,
# `conduit devices` and `conduit sriov` name the holder. A start that fails after it
# took VF 2 from igbvf (a disk that does not exist) leaves the host exactly as it was.
# Usage: managed.sh CONDUIT
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"
# shellcheck source=tools/lib/l1-vfio.sh
. "$repo/tools/lib/l1-vfio.sh"
CONDUIT=$1
one_l1_cpu
IGB=$L1V_IGB_PF
NVME=$L1V_NVME_PF
PF_ADDR=fe80::1
work=$(mktemp -d)
cleanup() {
	local f
	for f in "$work"/*.pgid; do
		[ -e "$f" ] && kill -KILL -- "-$(cat "$f")" 2>/dev/null
	done
	sleep 1
	"$CONDUIT" sriov --recover >/dev/null 2>&1
	l1v_restore_all >/dev/null 2>&1
	for pf in "$IGB" "$NVME"; do
		echo 1 >"$L1V_PCI/$pf/sriov_drivers_autoprobe" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

plan 28
l1v_check_host || bail "L1 cannot do VFIO"
pf_dev=$(l1v_netdev "$IGB") || bail "igb PF netdev"
l1v_link_local "$pf_dev" "$PF_ADDR" || bail "igb PF up"
"$CONDUIT" sriov "$IGB" --vfs 3 >/dev/null || bail "igb VFs"
"$CONDUIT" sriov "$NVME" --vfs 2 >/dev/null || bail "NVMe VFs"
vf0=$(l1v_vf "$IGB" 0) && vf1=$(l1v_vf "$IGB" 1) && vf2=$(l1v_vf "$IGB" 2) || bail "igb VFs"
"$CONDUIT" sriov "$vf2" --mac 02:00:00:00:00:12 --trust on >/dev/null || bail "VF 2's MAC"
l1v_bind igbvf "$vf2" || bail "VF 2 on igbvf in L1"
kernel=$(guest_kernel)
echo "igbvf nvme" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/initrd.gz" \
	--modules "igbvf nvme" --bin fio --add "$here/vfio-guest.sh:/test.sh" \
	--add "$here/guest-lib.sh:/guest-lib.sh" --add "$work/modules.list:/modules.list"

# host_state: every VF of both PFs with its driver and override, and what the igb PF
# keeps for each VF (MAC, VLAN, spoof checking, trust) — what "as it was" means.
host_state() {
	local l bdf
	for l in "$L1V_PCI/$IGB"/virtfn* "$L1V_PCI/$NVME"/virtfn*; do
		bdf=$(basename "$(readlink "$l")")
		echo "$bdf driver=$(l1v_driver "$bdf") override=$(cat "$L1V_PCI/$bdf/driver_override")"
	done
	ip link show "$pf_dev" | grep -E '^ +vf [0-9]' | sed 's/, link-state.*trust/ trust/'
}
no_journal() { ! compgen -G '/run/conduit/journal.*' >/dev/null; }
same_state() { [ "$(host_state)" = "$before" ]; }
before=$(host_state)
echo "$before" | sed 's/^/# before: /'

# start NAME CMDLINE ARGS...: a guest in the background in a session of its own (so a
# test can kill its whole process group), console to work/NAME.raw; its pid (and
# process group) in $started and work/NAME.pgid.
start() {
	local name=$1 cmdline="$GUEST_CMDLINE conduit.ping=$PF_ADDR $2"
	shift 2
	setsid "$CONDUIT" run --kernel "$kernel" --initrd "$initrd" --cpus 1 --memory 512M \
		--cmdline "$cmdline" --pcie root-port,id=rp1 "$@" </dev/null >"$work/$name.raw" 2>&1 &
	started=$!
	echo "$started" >"$work/$name.pgid"
}
initrd=$work/initrd.gz
log() { tr -d '\r' <"$work/$1.raw"; }
# took NAME: the function the guest's conduit took
took() { log "$1" | sed -n 's/^conduit: vfio \([^ ]*\): VF [0-9]* of .*/\1/p' | head -n 1; }
# finished PID: waits for it (10 min at most); its exit status
finished() {
	local i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1"
}
# boot NAME CMDLINE ARGS...: start, then wait; a guest the testbed killed (a triple
# fault) is booted once more, once, and says so. Its status in work/NAME.status.
boot() {
	local status
	start "$@"
	finished "$started"
	status=$?
	if [ "$status" -eq 2 ] && log "$1" | grep -q 'guest crashed: triple fault'; then
		echo "# $1: the guest died of a triple fault (the testbed's); booting it once more"
		mv "$work/$1.raw" "$work/$1.crashed"
		start "$@"
		finished "$started"
		status=$?
	fi
	echo "$status" >"$work/$1.status"
}
# start_holding NAME CMDLINE ARGS...: start, then wait until it holds; a guest the
# testbed killed (a triple fault) is started once more, once, and says so.
start_holding() {
	start "$@"
	wait_holding "$work/$1.raw" "$started" 300 && return 0
	testbed_killed "$work/$1.raw" || return 1
	start "$@"
	wait_holding "$work/$1.raw" "$started" 300
}
# why_not NAME: the end of guest NAME's console; if it still runs, what it is doing
why_not() {
	log "$1" | tail -n 5
	[ "$status" != -1 ] || guest_hung "$started" "$work/$1.raw"
}
# every_log NAME: the console of each boot of NAME, a crashed first one included (what
# conduit did at start, e.g. replaying a journal, happened in the first)
every_log() {
	[ ! -f "$work/$1.crashed" ] || tr -d '\r' <"$work/$1.crashed"
	log "$1"
}

# ---- two guests at once, vf=auto ----
boot g1 "conduit.want=igbvf" --vfio "pf=$IGB,vf=auto,mac=52:54:00:00:aa:01,bus=rp1" &
b1=$!
boot g2 "conduit.want=igbvf" --vfio "pf=$IGB,vf=auto,mac=52:54:00:00:aa:02,bus=rp1" &
b2=$!
wait "$b1" "$b2"
s1=$(cat "$work/g1.status") s2=$(cat "$work/g2.status")
log g1 | sed 's/^/# g1: /' | grep -E 'conduit|IGBVF|PING'
log g2 | sed 's/^/# g2: /' | grep -E 'conduit|IGBVF|PING'
t1=$(took g1) t2=$(took g2)
check "two guests at once: both exit 0" [ "$s1" -eq 0 -a "$s2" -eq 0 ]
check "they took different VFs, neither the one on igbvf in L1" eval \
	'[ -n "$t1" ] && [ -n "$t2" ] && [ "$t1" != "$t2" ] && [ "$t1" != "$vf2" ] && [ "$t2" != "$vf2" ]'
check "g1's igbvf has the MAC it was given" eval 'log g1 | grep -qx "IGBVF-MAC=52:54:00:00:aa:01"'
check "g2's igbvf has the MAC it was given" eval 'log g2 | grep -qx "IGBVF-MAC=52:54:00:00:aa:02"'
check "both guests ping L1 through their VFs" eval \
	'log g1 | grep -qx "PING-IGBVF-$PF_ADDR=ok" && log g2 | grep -qx "PING-IGBVF-$PF_ADDR=ok"'
check "after both: every VF as it was (driver, override, MAC, trust)" same_state
check "after both: no journal left in /run/conduit" no_journal
host_state | sed 's/^/# after: /'

# ---- SIGKILL of conduit alone: its steward gives the VF back ----
start_holding g3 "conduit.want=igbvf conduit.hold" \
	--vfio "pf=$IGB,vf=auto,mac=52:54:00:00:aa:03,bus=rp1" || bail "g3 did not come up: $(why_not g3)"
p3=$started
t3=$(took g3)
check "g3's VF is on vfio-pci with the MAC it was given" eval \
	'l1v_driver_is "$t3" vfio-pci && ip link show "$pf_dev" | grep -q "52:54:00:00:aa:03"'
"$CONDUIT" devices >"$work/devices.txt"
check "conduit devices: g3's VF in use by its conduit, managed" \
	grep -qE "^$t3 .*in-use-by=$p3\(conduit\)  managed-by-conduit" "$work/devices.txt"
"$CONDUIT" sriov "$IGB" >"$work/sriov.txt"
check "conduit sriov names g3's conduit as the VF's holder" \
	grep -qE "^[0-9] +$t3 .*pid $p3 \(conduit\)" "$work/sriov.txt"
kill -KILL "$p3"
wait "$p3" 2>/dev/null # reaped here: bash reports no "Killed" line on stdout
check "SIGKILL of conduit: its steward puts the host back" \
	l1v_wait 30 "the host as it was after SIGKILL" same_state
check "... and leaves no journal" no_journal

# ---- SIGKILL of the whole group: the next conduit's start cleans up ----
start_holding g4 "conduit.want=igbvf conduit.hold" \
	--vfio "pf=$IGB,vf=auto,mac=52:54:00:00:aa:04,bus=rp1" || bail "g4 did not come up: $(why_not g4)"
p4=$started
t4=$(took g4)
kill -KILL -- "-$p4"
wait "$p4" 2>/dev/null
sleep 2
check "SIGKILL of conduit and its steward: the VF stays on vfio-pci, journaled" eval \
	'l1v_driver_is "$t4" vfio-pci && compgen -G "/run/conduit/journal.*" >/dev/null'
boot g5 "conduit.want=nvme" --vfio "pf=$NVME,vf=auto,bus=rp1"
s5=$(cat "$work/g5.status")
log g5 | sed 's/^/# g5: /' | grep -E 'conduit|NVME|FIO'
check "the next start (an NVMe VF guest) replayed g4's journal" \
	eval 'every_log g5 | grep -q "journal.$p4: its conduit is gone; undoing what it changed"'
check "the NVMe VF guest exits 0" [ "$s5" -eq 0 ]
check "fio verify passes on the NVMe VF conduit took (pf=,vf=auto)" eval \
	'log g5 | grep -qx "FIO-VERIFY=ok"'
check "g5 took an NVMe VF" eval 'took g5 | grep -qE "^0000:00:04\.[1-7]$"'
check "after g5: every VF as it was, no journal" eval 'same_state && no_journal'

# ---- a start that fails after taking VF 2 from igbvf ----
run_conduit "$work/fail.log" run --kernel "$kernel" --initrd "$initrd" --cpus 1 --memory 512M \
	--pcie root-port,id=rp1 --vfio "pf=$IGB,vf=2,mac=52:54:00:00:aa:05,trust=off,bus=rp1" \
	--disk path=/nonexistent/disk.img
check "a start with a missing disk: status 1 naming the disk" \
	ended_with "$work/fail.log" 1 "/nonexistent/disk.img"
check "... after it had taken VF 2 from igbvf" grep -q "vfio $vf2: managed: from igbvf to vfio-pci" "$work/fail.log"
check "... and the host is exactly as it was (VF 2 on igbvf, its MAC, trust, override)" same_state
check "... no journal left" no_journal

# ---- bad requests change nothing ----
run_conduit "$work/bad1.log" run --kernel "$kernel" --vfio "pf=$L1V_E1000E"
check "pf= of a function without SR-IOV: status 1, one line" eval \
	'ended_with "$work/bad1.log" 1 "not an SR-IOV PF" && [ "$(wc -l <"$work/bad1.log")" -eq 1 ]'
run_conduit "$work/bad2.log" run --kernel "$kernel" --vfio "pf=$IGB,vf=7"
check "vf=7 of 3: status 1, one line" eval \
	'ended_with "$work/bad2.log" 1 "it has 3 VFs" && [ "$(wc -l <"$work/bad2.log")" -eq 1 ]'
run_conduit "$work/bad3.log" run --kernel "$kernel" --vfio "pf=$IGB,vf=1,mac=52:54:00:00:aa:06" \
	--vfio "pf=$IGB,vf=1"
check "the same VF twice: status 1 (the second finds it taken)" \
	ended_with "$work/bad3.log" 1 "is taken by another conduit"
check "bad requests: the host as it was, no journal" eval 'same_state && no_journal'
run_conduit "$work/recover.log" sriov --recover
check "conduit sriov --recover with nothing to do" ended_with "$work/recover.log" 0 "^0 journals"

l1v_restore "$vf2" >/dev/null 2>&1
"$CONDUIT" sriov "$IGB" --vfs 0 >/dev/null
"$CONDUIT" sriov "$NVME" --vfs 0 >/dev/null
check "both PFs end with no VFs" eval '[ "$(cat "$L1V_PCI/$IGB/sriov_numvfs")" = 0 ] && [ "$(cat "$L1V_PCI/$NVME/sriov_numvfs")" = 0 ]'
finish
