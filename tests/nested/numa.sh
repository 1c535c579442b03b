#!/usr/bin/env bash
# Nested, in an L1 with two NUMA nodes (tools/testbed --numa: CPU 0 and CPU 1 on
# nodes 0 and 1, a second igb and a second NVMe behind a pxb-pcie root bus on node 1).
# A guest given a VF of each (managed: pf=PF,vf=auto) and a virtio-rng (an I/O
# thread) is placed by --numa auto: the start line names node 1 and the functions;
# every conduit thread may run on node 1's CPUs only; the guest RAM mapping's policy
# is bind:1 and its pages are on node 1 (/proc/PID/numa_maps); its vhost-net worker
# (a kernel thread on 6.1) may run on node 1's CPUs only; the guest's igbvf and nvme
# work. With hugepages=on the 2M pages come from node 1's pool. With --numa off: no
# line, threads on both nodes' CPUs, no bind policy. Then a guest with two
# nodes of its own (--numa node=..., host-node 0 and 1) and a root complex per node,
# the NVMe VF under node 0's and the igb VF under node 1's (booted with maxcpus=1: its
# second vCPU stays parked, as two L2 vCPUs running at once on both of L1's CPUs lose
# guests, README "The testbed"; SRAT still places it): the vCPU threads run on
# their nodes' CPUs, each node's half of guest RAM is bound to and lies on its host
# node, and the guest sees both nodes (CPUs, memory, SLIT distance) and each
# function on its root complex's node; fio verify passes on the NVMe VF.
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
	[ -z "$pid" ] || { kill -KILL "$pid" && wait "$pid"; } 2>/dev/null
	sleep 1
	"$CONDUIT" sriov --recover >/dev/null 2>&1
	[ -z "${igb2:-}" ] || "$CONDUIT" sriov "$igb2" --vfs 0 >/dev/null 2>&1
	[ -z "${nvme2:-}" ] || "$CONDUIT" sriov "$nvme2" --vfs 0 >/dev/null 2>&1
	"$CONDUIT" sriov "$L1V_NVME_PF" --vfs 0 >/dev/null 2>&1
	echo 0 >"$huge1/nr_hugepages" 2>/dev/null
	ip link del cndnuma0 2>/dev/null
	rm -rf "$work"
}
huge1=/sys/devices/system/node/node1/hugepages/hugepages-2048kB
trap cleanup EXIT

# node1_fn VENDOR DEVICE: the function with those IDs whose sysfs numa_node is 1
node1_fn() {
	local d
	for d in "$L1V_PCI"/*; do
		[ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] &&
			[ "$(cat "$d/numa_node")" = 1 ] && echo "${d##*/}" && return 0
	done
	return 1
}

plan 26
l1v_check_host || bail "L1 cannot do VFIO"
[ -d /sys/devices/system/node/node1 ] || bail "L1 has one NUMA node: run in tools/testbed --numa"
igb2=$(node1_fn 0x8086 0x10c9) || bail "no igb on NUMA node 1 in L1"
nvme2=$(node1_fn 0x1b36 0x0010) || bail "no NVMe on NUMA node 1 in L1"
cpus1=$(cat /sys/devices/system/node/node1/cpulist)
echo "# L1: node0 CPUs $(cat /sys/devices/system/node/node0/cpulist), node1 CPUs $cpus1; igb $igb2 and NVMe $nvme2 on node 1"
"$CONDUIT" sriov "$igb2" --vfs 1 >/dev/null || bail "a VF on $igb2"
"$CONDUIT" sriov "$L1V_NVME_PF" --vfs 1 >/dev/null || bail "a VF on the NVMe $L1V_NVME_PF"
"$CONDUIT" sriov "$nvme2" --vfs 1 >/dev/null || bail "a VF on the NVMe $nvme2"
ip link set "$(l1v_netdev "$igb2")" up || bail "igb on node 1 up"
kernel=$(guest_kernel)
echo "igbvf nvme virtio_pci virtio_rng" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/initrd.gz" \
	--modules "igbvf nvme virtio_pci virtio_rng" \
	--add "$here/vfio-guest.sh:/test.sh" --add "$here/guest-lib.sh:/guest-lib.sh" \
	--add "$work/modules.list:/modules.list"
echo "igbvf nvme" | tr ' ' '\n' >"$work/topo-modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/topo.gz" \
	--modules "igbvf nvme" --bin fio \
	--add "$here/numa-guest.sh:/test.sh" --add "$here/guest-lib.sh:/guest-lib.sh" \
	--add "$work/topo-modules.list:/modules.list"

# boot NAME NUMA MEMORY [ARGS...]: a holding guest with the VFs and an rng, --numa
# NUMA, --memory MEMORY; its pid in $pid
boot() {
	local name=$1 numa=$2 memory=$3
	shift 3
	"$CONDUIT" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 1 --memory "$memory" \
		--cmdline "$GUEST_CMDLINE conduit.want=igbvf,nvme conduit.hold" \
		--pcie root-port,id=rp1 --vfio "pf=$igb2,vf=auto,bus=rp1" \
		--pcie root-port,id=rp2 --vfio "pf=$nvme2,vf=auto,bus=rp2" --rng --numa "$numa" "$@" \
		</dev/null >"$work/$name.raw" 2>&1 &
	pid=$!
}
log() { tr -d '\r' <"$work/$1.raw"; }
# up NAME START...: START starts guest NAME (console in work/NAME.raw, pid in $pid);
# waits until it holds. One the testbed killed (a triple fault, README "The testbed")
# is started once more, saying so.
up() {
	local name=$1
	shift
	"$@"
	wait_holding "$work/$name.raw" "$pid" 300 && return 0
	testbed_killed "$work/$name.raw" || return 1
	"$@"
	wait_holding "$work/$name.raw" "$pid" 300
}
# why_not NAME: the end of guest NAME's console; if it still runs, what it is doing
why_not() {
	log "$1" | tail -n 5
	[ "$status" != -1 ] || guest_hung "$pid" "$work/$1.raw"
}
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

load_module vhost_net || bail "cannot load vhost_net in L1"
up auto boot auto auto 512M --net tap=cndnuma0,vhost=on ||
	bail "guest auto did not come up: $(why_not auto)"
log auto | grep -E '^conduit: ' | sed 's/^/# auto: /'
echo "# threads: $(thread_list)"
echo "# numa_maps: $(ram_line)"
vf=$(log auto | sed -n "s/^conduit: vfio \([^ ]*\): VF [0-9]* of $igb2.*/\1/p" | head -n 1)
nvf=$(log auto | sed -n "s/^conduit: vfio \([^ ]*\): VF [0-9]* of $nvme2.*/\1/p" | head -n 1)
log auto >"$work/auto.log"
check "--numa auto: the start line names node 1 and the functions" grep -qF \
	"numa: guest RAM, vCPUs and I/O threads on host node 1, where its assigned functions are: $vf (node 1), $nvf (node 1)" \
	"$work/auto.log"
check "--numa auto: the main, vCPU and virtio-rng I/O threads all run" \
	[ "$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)" -ge 3 ]
check "--numa auto: every conduit thread may run on node 1's CPUs ($cpus1) only" threads_on "$cpus1"
check "--numa auto: guest RAM's policy is bind:1" eval 'ram_line | grep -q " bind:1 "'
check "--numa auto: guest RAM's pages are on node 1 only" eval \
	'ram_line | grep -q " N1=" && ! ram_line | grep -q " N0="'
check "--numa auto: the guest's igbvf and nvme came up" eval \
	'log auto | grep -q "GUEST-HOLDING nvme=nvme[0-9]*n1 igbvf=eth"'
# vhost_workers: "PID:CPULIST" of each kernel thread vhost-$pid
vhost_workers() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "vhost-$pid" ] &&
			echo "${p#/proc/}:$(awk '/^Cpus_allowed_list:/ {print $2}' "$p/status")"
	done
}
workers=$(vhost_workers | tr '\n' ' ')
echo "# vhost-net workers: $workers"
check "--numa auto: the vhost-net worker may run on node 1's CPUs only ($workers)" eval \
	'[ -n "$workers" ] && ! vhost_workers | grep -qv ":$cpus1\$"'
check "--numa auto: a line says the vhost-net worker went along" \
	grep -q "numa: 1 vhost-net worker on host node 1 too" "$work/auto.log"
stop

# hugepages=on: 256 2M pages from node 1's pool.
echo 300 >"$huge1/nr_hugepages"
free1=$(cat "$huge1/free_hugepages")
echo "# node 1's pool: $free1 free 2M pages"
up huge boot huge auto 512M,hugepages=on || bail "guest huge did not come up: $(why_not huge)"
echo "# numa_maps: $(ram_line)"
check "--numa auto, hugepages=on: guest RAM is 256 huge pages on node 1 only" eval \
	'ram_line | grep -q " huge " && ram_line | grep -q " N1=256 " && ! ram_line | grep -q " N0="'
check "--numa auto, hugepages=on: node 1's pool gave them ($free1 free before, $(cat "$huge1/free_hugepages") now)" \
	[ "$(cat "$huge1/free_hugepages")" -eq $((free1 - 256)) ]
stop
echo 0 >"$huge1/nr_hugepages"

up off boot off off 512M || bail "guest off did not come up: $(why_not off)"
echo "# threads: $(thread_list)"
echo "# numa_maps: $(ram_line)"
check "--numa off: no placement line" eval '! log off | grep -q "numa:"'
check "--numa off: threads on every CPU" threads_on "$(cat /sys/devices/system/cpu/online)"
check "--numa off: no bind policy on guest RAM" eval '! ram_line | grep -q "bind:"'
stop

# The guest's own two nodes, a root complex on each; holds at the end of its checks.
cpus0=$(cat /sys/devices/system/node/node0/cpulist)
boot_topo() {
	"$CONDUIT" run --kernel "$kernel" --initrd "$work/topo.gz" --cpus 2 --memory 512M \
		--cmdline "$GUEST_CMDLINE maxcpus=1" \
		--numa node=0,cpus=0,memory=256M,host-node=0 \
		--numa node=1,cpus=1,memory=256M,host-node=1 \
		--pcie root-complex,id=rc0,numa=0 --pcie root-complex,id=rc1,numa=1 \
		--pcie root-port,id=p0,bus=rc0 --pcie root-port,id=p1,bus=rc1 \
		--vfio "pf=$L1V_NVME_PF,vf=auto,bus=p0" --vfio "pf=$igb2,vf=auto,bus=p1" \
		</dev/null >"$work/topo.raw" 2>&1 &
	pid=$!
}
up topo boot_topo || bail "the two-node guest did not come up: $(why_not topo)"
echo "# threads: $(thread_list)"
grep 'memfd:conduit-ram' "/proc/$pid/numa_maps" | sed 's/^/# numa_maps: /'
# thread_cpus NAME: Cpus_allowed_list of conduit's thread NAME
thread_cpus() {
	local t
	for t in /proc/"$pid"/task/*; do
		[ "$(cat "$t/comm")" = "$1" ] && awk '/^Cpus_allowed_list:/ {print $2}' "$t/status"
	done
}
# ram_part NODE: guest RAM's numa_maps line bound to host node NODE
ram_part() { grep 'memfd:conduit-ram' "/proc/$pid/numa_maps" | grep " bind:$1 "; }
check "guest nodes: vcpu0 runs on host node 0's CPUs ($cpus0)" [ "$(thread_cpus vcpu0)" = "$cpus0" ]
check "guest nodes: vcpu1 runs on host node 1's CPUs ($cpus1)" [ "$(thread_cpus vcpu1)" = "$cpus1" ]
check "guest nodes: one half of guest RAM is bound to host node 0, its pages there" eval \
	'ram_part 0 | grep -q " N0=" && ! ram_part 0 | grep -q " N1="'
check "guest nodes: the other half is bound to host node 1, its pages there" eval \
	'ram_part 1 | grep -q " N1=" && ! ram_part 1 | grep -q " N0="'
kill -TERM "$pid"
wait "$pid"
status=$?
pid=
log topo | grep -E '^(conduit: |GUEST-NODE|GUEST-PCI|FIO|NVME)' | sed 's/^/# topo: /'
check "guest nodes: conduit says where each node lives" eval \
	'log topo | grep -q "numa: guest node 0: vCPUs 0, 256 MiB, on host node 0" &&
	 log topo | grep -q "numa: guest node 1: vCPUs 1, 256 MiB, on host node 1"'
node_line() { log topo | grep "^GUEST-NODE $1 "; }
memkb() { node_line "$1" | sed -n 's/.* memkb=\([0-9]*\).*/\1/p'; }
check "guest nodes: the guest has nodes 0 and 1 with CPUs 0 and 1 (by SRAT; CPU 1 offline)" eval \
	'node_line 0 | grep -q " cpus=0 " && node_line 1 | grep -q " cpus=1 " && ! node_line 2'
check "guest nodes: each has most of its 256 MiB (node 0 $(memkb 0) KiB, node 1 $(memkb 1) KiB)" \
	eval '[ "$(memkb 0)" -gt 150000 ] && [ "$(memkb 0)" -le 262144 ] &&
	      [ "$(memkb 1)" -gt 200000 ] && [ "$(memkb 1)" -le 262144 ]'
l1dist=$(awk '{print $2}' /sys/devices/system/node/node0/distance)
check "guest nodes: SLIT distances are L1's (10 $l1dist)" eval \
	'node_line 0 | grep -q "distance=10 $l1dist\$" && node_line 1 | grep -q "distance=$l1dist 10\$"'
check "guest nodes: the NVMe VF is on node 0 (its root complex's), bound to nvme" eval \
	'log topo | grep -q "^GUEST-PCI [^ ]* 1b36:0010 node=0 driver=nvme$"'
check "guest nodes: the igb VF is on node 1 (its root complex's), bound to igbvf" eval \
	'log topo | grep -q "^GUEST-PCI [^ ]* 8086:10ca node=1 driver=igbvf$"'
check "guest nodes: the root ports sit on their root complexes' buses and nodes" eval \
	'[ "$(log topo | grep -c "^GUEST-PCI [^ ]* 1b36:000c node=[01] driver=pcieport$")" = 2 ]'
check "guest nodes: fio verify on the NVMe VF" eval 'log topo | grep -q "^FIO-VERIFY=ok"'
check "guest nodes: conduit stopped by SIGTERM with status 0 ($status)" [ "$status" = 0 ]
finish
