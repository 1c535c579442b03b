#!/usr/bin/env bash
# Nested, in an L1 with two NUMA nodes (tools/testbed --numa: CPU 0 and CPU 1 on
# nodes 0 and 1, a second igb behind a pxb-pcie root bus on node 1). A guest given a
# VF of that igb (managed: pf=IGB2,vf=auto) and a virtio-rng (an I/O thread) is placed
# by --numa auto: the start line names node 1 and the function; every conduit thread
# may run on node 1's CPUs only; the guest RAM mapping's policy is bind:1 and its
# pages are on node 1 (/proc/PID/numa_maps); the guest's igbvf works. With --numa
# off: no line, threads on both nodes' CPUs, no bind policy.
# Usage: numa.sh CONDUIT         (run by the suite in tools/testbed --numa)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"
# shellcheck source=tools/lib/l1-vfio.sh
. "$repo/tools/lib/l1-vfio.sh"
CONDUIT=$1
work=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null
	sleep 1
	"$CONDUIT" sriov --recover >/dev/null 2>&1
	[ -z "${igb2:-}" ] || "$CONDUIT" sriov "$igb2" --vfs 0 >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# the igb (8086:10c9) whose sysfs numa_node is 1
node1_igb() {
	local d
	for d in "$L1V_PCI"/*; do
		[ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10c9 ] &&
			[ "$(cat "$d/numa_node")" = 1 ] && echo "${d##*/}" && return 0
	done
	return 1
}

plan 9
l1v_check_host || bail "L1 cannot do VFIO"
[ -d /sys/devices/system/node/node1 ] || bail "L1 has one NUMA node: run in tools/testbed --numa"
igb2=$(node1_igb) || bail "no igb on NUMA node 1 in L1"
cpus1=$(cat /sys/devices/system/node/node1/cpulist)
echo "# L1: node0 CPUs $(cat /sys/devices/system/node/node0/cpulist), node1 CPUs $cpus1; igb $igb2 on node 1"
"$CONDUIT" sriov "$igb2" --vfs 1 >/dev/null || bail "a VF on $igb2"
ip link set "$(l1v_netdev "$igb2")" up || bail "igb on node 1 up"
kernel=$(guest_kernel)
echo "igbvf virtio_pci virtio_rng" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/initrd.gz" \
	--modules "igbvf virtio_pci virtio_rng" \
	--add "$here/vfio-guest.sh:/test.sh" --add "$here/guest-lib.sh:/guest-lib.sh" \
	--add "$work/modules.list:/modules.list"

# boot NAME NUMA: a holding guest with the VF and an rng, --numa NUMA; its pid in $pid
boot() {
	"$CONDUIT" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 1 --memory 512M \
		--cmdline "console=ttyS0 quiet panic=-1 conduit.want=igbvf conduit.hold" \
		--pcie root-port,id=rp1 --vfio "pf=$igb2,vf=auto,bus=rp1" --rng --numa "$2" \
		</dev/null >"$work/$1.raw" 2>&1 &
	pid=$!
}
log() { tr -d '\r' <"$work/$1.raw"; }
holding() { log "$1" | grep -q '^GUEST-HOLDING'; }
# threads_on CPULIST: every thread of $pid may run on exactly CPULIST
threads_on() {
	local t
	for t in /proc/"$pid"/task/*; do
		[ "$(awk '/^Cpus_allowed_list:/ {print $2}' "$t/status")" = "$1" ] || return 1
	done
}
thread_list() {
	local t
	for t in /proc/"$pid"/task/*; do
		echo "$(cat "$t/comm"):$(awk '/^Cpus_allowed_list:/ {print $2}' "$t/status")"
	done | tr '\n' ' '
}
# ram_line: guest RAM's line in numa_maps
ram_line() { grep 'memfd:conduit-ram' "/proc/$pid/numa_maps" | head -n 1; }
stop() {
	kill -TERM "$pid"
	wait "$pid"
	pid=
}

boot auto auto
l1v_wait 300 "the guest holding" holding auto || bail "guest did not come up: $(log auto | tail -n 5)"
log auto | grep -E '^conduit: ' | sed 's/^/# auto: /'
echo "# threads: $(thread_list)"
echo "# numa_maps: $(ram_line)"
vf=$(log auto | sed -n 's/^conduit: vfio \([^ ]*\): VF [0-9]* of .*/\1/p' | head -n 1)
check "--numa auto: the start line names node 1 and the function" eval \
	'log auto | grep -qF "numa: guest RAM, vCPUs and I/O threads on host node 1, where its assigned function is: $vf (node 1)"'
check "--numa auto: the main, vCPU and virtio-rng I/O threads all run" \
	[ "$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)" -ge 3 ]
check "--numa auto: every conduit thread may run on node 1's CPUs ($cpus1) only" threads_on "$cpus1"
check "--numa auto: guest RAM's policy is bind:1" eval 'ram_line | grep -q " bind:1 "'
check "--numa auto: guest RAM's pages are on node 1 only" eval \
	'ram_line | grep -q " N1=" && ! ram_line | grep -q " N0="'
check "--numa auto: the guest's igbvf came up" eval 'log auto | grep -q "GUEST-HOLDING .*igbvf=eth"'
stop

boot off off
l1v_wait 300 "the guest holding" holding off || bail "guest did not come up: $(log off | tail -n 5)"
echo "# threads: $(thread_list)"
echo "# numa_maps: $(ram_line)"
check "--numa off: no placement line" eval '! log off | grep -q "numa:"'
check "--numa off: threads on every CPU" threads_on "$(cat /sys/devices/system/cpu/online)"
check "--numa off: no bind policy on guest RAM" eval '! ram_line | grep -q "bind:"'
stop
finish
