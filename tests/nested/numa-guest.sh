#!/bin/sh
# /test.sh of the guest-NUMA guest (tests/nested/numa.sh; modules nvme igbvf, and fio):
# what the guest learnt from SRAT, SLIT and the root complexes' _PXM, as lines the L1
# side greps, then fio verify on the NVMe namespace:
#   GUEST-NODE N cpus=LIST online=LIST memkb=KB distance=D0 D1..  one line per node
#   GUEST-PCI BDF VEN:DEV node=N driver=D               one line per PCI function
#   NVME-DEV=nvme0n1 FIO-VERIFY=ok|failed|no-disk
#   GUEST-HOLDING   at the end, then it waits to be stopped from outside
# shellcheck source=tests/nested/guest-lib.sh
. /guest-lib.sh

# node_cpus NODE-DIR: the node's CPUs as SRAT placed them, online or not (a guest booted
# with maxcpus=1 has its others present but offline: each still has its link here)
node_cpus() {
	for c in "$1"/cpu[0-9]*; do
		[ -e "$c" ] && echo "${c##*/cpu}"
	done | sort -n | tr '\n' ',' | sed 's/,$//'
}
for n in /sys/devices/system/node/node[0-9]*; do
	echo "GUEST-NODE ${n##*node} cpus=$(node_cpus "$n") online=$(cat "$n/cpulist")" \
		"memkb=$(awk '/MemTotal:/ {print $4}' "$n/meminfo")" \
		"distance=$(cat "$n/distance")"
done
wait_for 30 nvme_ns >/dev/null
wait_for 30 netdev_of igbvf >/dev/null
for d in /sys/bus/pci/devices/*; do
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
	echo "GUEST-PCI ${d##*/} $(sed 's/^0x//' "$d/vendor"):$(sed 's/^0x//' "$d/device")" \
		"node=$(cat "$d/numa_node") driver=$drv"
done
if ns=$(nvme_ns) && [ -b "/dev/$ns" ]; then
	echo "NVME-DEV=$ns"
	fio_verify "/dev/$ns"
else
	echo "FIO-VERIFY=no-disk"
fi
echo "GUEST-HOLDING"
while :; do sleep 60; done
