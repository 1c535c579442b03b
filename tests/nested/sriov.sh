#!/usr/bin/env bash
# Nested: `conduit sriov` on L1's igb and NVMe PFs, judged by L1's own tools and
# drivers. On the igb PF: --vfs 3 (autoprobe off: no igbvf takes them), then 2 (a
# change goes through 0); VF 1's MAC, VLAN/QoS, spoof checking, trust and rate, as
# `ip link show` reports them, VF 0 untouched; --json agrees; a process holding VF 0's
# VFIO group is named in the table and --vfs 0 is refused with one line, VFs intact;
# bad values end with status 1 and change nothing. On the NVMe PF: --vfs 2 gives each
# VF 4 queues and 2 interrupts and brings it online (nvme-cli's list-secondary is the
# independent check), and L1's nvme driver then brings a VF's controller live. Both
# PFs end with no VFs.
# Usage: sriov.sh CONDUIT
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"
# shellcheck source=tools/lib/l1-vfio.sh
. "$repo/tools/lib/l1-vfio.sh"
CONDUIT=$1
IGB=$L1V_IGB_PF
NVME=$L1V_NVME_PF
work=$(mktemp -d)
holder=
cleanup() {
	[ -z "$holder" ] || kill "$holder" 2>/dev/null
	l1v_restore_all >/dev/null 2>&1
	for pf in "$IGB" "$NVME"; do
		echo 1 >"$L1V_PCI/$pf/sriov_drivers_autoprobe" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

numvfs() { cat "$L1V_PCI/$1/sriov_numvfs"; }
autoprobe() { cat "$L1V_PCI/$1/sriov_drivers_autoprobe"; }
# one_line LOG: conduit printed exactly one line (the error), shown as "# ..." by lib.sh
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }
# no_vf_driver PF: none of its VFs has a driver
no_vf_driver() {
	local l
	for l in "$L1V_PCI/$1"/virtfn*; do
		[ -z "$(l1v_driver "$(basename "$(readlink "$l")")")" ] || return 1
	done
}
# vf_line DEV N: `ip link show DEV`'s line for VF N
vf_line() { ip link show "$1" | grep -E "^ +vf $2 " | tr -s ' '; }
has() { [[ "$1" == *"$2"* ]]; }
# json_ok LOG PYTHON-EXPR: the JSON conduit printed satisfies the expression about d
json_ok() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

plan 40
l1v_check_host || bail "L1 cannot do VFIO"
pf_dev=$(l1v_netdev "$IGB") || bail "igb PF netdev"
# up, for VF rates (igb limits a VF only at the PF's 1000 Mbit/s link speed)
l1v_link_local "$pf_dev" fe80::1 || bail "igb PF up"
[ "$(numvfs "$IGB")" = 0 ] && [ "$(numvfs "$NVME")" = 0 ] || bail "L1's PFs start with VFs"

# ---- igb: VF count ----
run_conduit "$work/vfs3.log" sriov "$IGB" --vfs 3
check "igb --vfs 3: status 0" [ "$status" -eq 0 ]
check "igb --vfs 3: sriov_numvfs is 3" [ "$(numvfs "$IGB")" = 3 ]
check "igb --vfs 3: autoprobe off" [ "$(autoprobe "$IGB")" = 0 ]
check "igb --vfs 3: no host driver took a VF" no_vf_driver "$IGB"
check "igb --vfs 3: the table says 3 of 7 and lists 3 VFs" eval \
	"grep -q 'VFs 3 of 7  autoprobe off' '$work/vfs3.log' && [ \$(grep -cE '^[0-2] +0000:' '$work/vfs3.log') -eq 3 ]"
run_conduit "$work/vfs2.log" sriov "$IGB" --vfs 2
check "igb --vfs 2 from 3: status 0, sriov_numvfs 2" eval '[ "$status" -eq 0 ] && [ "$(numvfs "$IGB")" = 2 ]'

# ---- igb: VF 1's settings through the PF ----
vf0=$(l1v_vf "$IGB" 0) && vf1=$(l1v_vf "$IGB" 1) || bail "igb VFs"
before0=$(vf_line "$pf_dev" 0)
# igb refuses a VF's rate while the PF's link is down (EINVAL), and changing the VF
# count resets the PF: its carrier comes back first (a CI rehearsal raced it)
for _ in $(seq 150); do
	[ "$(cat "/sys/class/net/$pf_dev/carrier" 2>/dev/null)" = 1 ] && break
	sleep 0.2
done
run_conduit "$work/set.log" sriov "$vf1" --mac 52:54:00:aa:bb:01 --vlan 100,2 \
	--spoofchk off --trust on --rate 100
check "VF 1 settings: status 0" [ "$status" -eq 0 ]
line=$(vf_line "$pf_dev" 1)
echo "# ip link: $line"
check "ip link: VF 1 MAC 52:54:00:aa:bb:01" has "$line" "link/ether 52:54:00:aa:bb:01"
check "ip link: VF 1 vlan 100, qos 2" has "$line" "vlan 100, qos 2"
check "ip link: VF 1 spoof checking off" has "$line" "spoof checking off"
check "ip link: VF 1 trust on" has "$line" "trust on"
check "ip link: VF 1 max_tx_rate 100Mbps" has "$line" "max_tx_rate 100Mbps"
check "ip link: VF 0 untouched" [ "$(vf_line "$pf_dev" 0)" = "$before0" ]
run_conduit "$work/vlan0.log" sriov "$vf1" --vlan 0 --trust off
line=$(vf_line "$pf_dev" 1)
check "VF 1 --vlan 0 --trust off: no VLAN, trust off, MAC kept" eval \
	'[ "$status" -eq 0 ] && ! has "$line" "vlan 100" && has "$line" "trust off" && has "$line" "52:54:00:aa:bb:01"'

# ---- igb: JSON ----
"$CONDUIT" sriov "$IGB" --json >"$work/igb.json" 2>"$work/igb.err"
check "--json: status 0" [ $? -eq 0 ]
check "--json: the PF, its interface, 2 of 7 VFs, autoprobe off" json_ok "$work/igb.json" \
	"d['bdf'] == '$IGB' and d['interface'] == '$pf_dev' and d['num_vfs'] == 2 and d['total_vfs'] == 7 and d['autoprobe'] is False"
check "--json: VF 1 as ip link shows it" json_ok "$work/igb.json" \
	"d['vfs'][1]['bdf'] == '$vf1' and d['vfs'][1]['mac'] == '52:54:00:aa:bb:01' and d['vfs'][1]['vlan'] == 0 and d['vfs'][1]['trust'] is False and d['vfs'][1]['spoofchk'] is False and d['vfs'][1]['max_rate_mbps'] == 100 and d['vfs'][1]['in_use_by'] is None"

# ---- igb: a VF in use ----
group=$(l1v_bind_vfio "$vf0") || bail "VF 0 to vfio-pci"
python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
open(sys.argv[2], "w").close()
time.sleep(600)' "/dev/vfio/$group" "$work/held" &
holder=$!
l1v_wait 10 "the holder of /dev/vfio/$group" [ -e "$work/held" ] || bail "cannot hold VF 0's group"
run_conduit "$work/held.log" sriov "$IGB"
check "the table names VF 0's holder" grep -qE "^0 +$vf0 +vfio-pci +$group .*pid $holder \(python3\)" "$work/held.log"
"$CONDUIT" sriov "$IGB" --json >"$work/held.json" 2>/dev/null
check "--json names VF 0's holder" json_ok "$work/held.json" \
	"d['vfs'][0]['in_use_by'] == {'pid': $holder, 'comm': 'python3'} and d['vfs'][0]['iommu_group'] == $group"
run_conduit "$work/busy.log" sriov "$IGB" --vfs 0
check "--vfs 0 while VF 0 is held: status 1, one line naming the pid" eval \
	'ended_with "$work/busy.log" 1 "VF 0 ($vf0) is in use by pid $holder (python3)" && one_line "$work/busy.log"'
check "--vfs 0 refused: still 2 VFs, VF 0 still on vfio-pci" eval \
	'[ "$(numvfs "$IGB")" = 2 ] && l1v_driver_is "$vf0" vfio-pci'
kill "$holder" && wait "$holder" 2>/dev/null
holder=

# ---- bad input changes nothing ----
run_conduit "$work/bad1.log" sriov "$IGB" --vfs 99
check "--vfs 99: status 1, one line with the maximum, still 2 VFs" eval \
	'ended_with "$work/bad1.log" 1 "99 VFs asked for, it has at most 7" && one_line "$work/bad1.log" && [ "$(numvfs "$IGB")" = 2 ]'
run_conduit "$work/bad2.log" sriov "$L1V_E1000E"
check "a PF without SR-IOV: status 1, one line" eval \
	'ended_with "$work/bad2.log" 1 "not an SR-IOV PF" && one_line "$work/bad2.log"'
run_conduit "$work/bad3.log" sriov "$vf1" --vlan 4096
check "--vlan 4096: status 1, one line" eval \
	'ended_with "$work/bad3.log" 1 "write a VLAN ID 0-4095" && one_line "$work/bad3.log"'
run_conduit "$work/bad4.log" sriov "$IGB" --mac 52:54:00:00:00:01
check "--mac on a PF: status 1, one line" eval \
	'ended_with "$work/bad4.log" 1 "not a VF" && one_line "$work/bad4.log"'
run_conduit "$work/bad5.log" sriov 0000:00:1f.7
check "a function that does not exist: status 1, one line" eval \
	'ended_with "$work/bad5.log" 1 "no PCI function 0000:00:1f.7" && one_line "$work/bad5.log"'
check "bad input: VF 1's settings unchanged" has "$(vf_line "$pf_dev" 1)" "52:54:00:aa:bb:01"

l1v_restore "$vf0" || bail "VF 0 back"
run_conduit "$work/igb0.log" sriov "$IGB" --vfs 0
check "igb --vfs 0: status 0, no VFs" eval '[ "$status" -eq 0 ] && [ "$(numvfs "$IGB")" = 0 ]'

# ---- NVMe ----
ctrl=$(l1v_nvme_ctrl "$NVME") || bail "the NVMe PF's controller"
run_conduit "$work/nvme2.log" sriov "$NVME" --vfs 2
check "NVMe --vfs 2: status 0, sriov_numvfs 2" eval '[ "$status" -eq 0 ] && [ "$(numvfs "$NVME")" = 2 ]'
check "NVMe --vfs 2: no host driver took a VF" no_vf_driver "$NVME"
for n in 1 2; do
	scid=$(l1v_nvme_scid "$ctrl" "$n") || bail "secondary controller of VF $n"
	check "nvme list-secondary: VF $n's controller $scid is Online" \
		[ "$(l1v_nvme_state "$ctrl" "$scid")" = Online ]
done
"$CONDUIT" sriov "$NVME" --json >"$work/nvme.json" 2>/dev/null
check "--json: both VFs online with 4 queues and 2 interrupts" json_ok "$work/nvme.json" \
	"d['nvme_controller'] == '$ctrl' and all(v['secondary_controller']['online'] and v['secondary_controller']['queues'] == 4 and v['secondary_controller']['interrupts'] == 2 for v in d['vfs'])"
check "the table shows the secondaries online" eval \
	"[ \$(grep -cE '^[01] +0000:.* online +4 +2 ' '$work/nvme2.log') -eq 2 ]"
nvf=$(l1v_vf "$NVME" 1) || bail "NVMe VF 1"
run_conduit "$work/nvmemac.log" sriov "$nvf" --mac 52:54:00:00:00:02
check "--mac on an NVMe VF: status 1, one line" eval \
	'ended_with "$work/nvmemac.log" 1 "has no network interface" && one_line "$work/nvmemac.log"'
l1v_bind nvme "$nvf" || bail "NVMe VF 1 to nvme in L1"
vctrl=$(l1v_nvme_ctrl "$nvf") || bail "the controller of NVMe VF 1"
check "L1's nvme driver brings VF 1's controller live" \
	l1v_wait 20 "$vctrl live" eval "[ \"\$(cat /sys/class/nvme/$vctrl/state)\" = live ]"
run_conduit "$work/nvmebusy.log" sriov "$NVME" --vfs 1
check "NVMe --vfs 1 with VF 1 on nvme: status 0 (a host driver is not a holder)" \
	[ "$status" -eq 0 ]
run_conduit "$work/nvme0.log" sriov "$NVME" --vfs 0
check "NVMe --vfs 0: status 0, no VFs" eval '[ "$status" -eq 0 ] && [ "$(numvfs "$NVME")" = 0 ]'
check "NVMe --vfs 2 again: both online again" eval \
	'run_conduit "$work/nvme2b.log" sriov "$NVME" --vfs 2 >/dev/null && [ $(grep -cE "^[01] +0000:.* online +4 +2 " "$work/nvme2b.log") -eq 2 ]'
run_conduit "$work/nvme0b.log" sriov "$NVME" --vfs 0
check "NVMe --vfs 0 at the end" eval '[ "$status" -eq 0 ] && [ "$(numvfs "$NVME")" = 0 ]'
finish
