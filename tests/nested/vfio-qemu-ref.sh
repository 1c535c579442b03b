#!/usr/bin/env bash
# Proves the VFIO harness (tools/lib/l1-vfio.sh + tests/nested/vfio-guest.sh) with QEMU
# as the VMM in L1, the reference conduit's --vfio is compared with. Not part of the
# test suite; run it in the testbed:
#   tools/testbed --timeout 900 -- tests/nested/vfio-qemu-ref.sh
# It enables 2 igb VFs and 2 NVMe VFs, hands igb VF 0000:00:12.0, NVMe VF 0000:00:04.1
# and the e1000e PF 0000:00:03.0 to vfio-pci, and boots the L2 guest twice in a row
# under QEMU, each function behind its own pcie-root-port: drivers bind, the igbvf gets
# carrier and the MAC L1 gave it, both NICs ping L1 over IPv6 link-local, fio verifies
# on the NVMe VF, and the second VM sees what the first wrote. Then everything goes
# back to its L1 driver. Prints TAP; exit status 0 when every check passed.
# VFIO_REF_SHOW=1 prints the guests' consoles (they are printed on any failure anyway);
# tools/testbed clears the environment: tools/testbed -- env VFIO_REF_SHOW=1 tests/...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"
# shellcheck source=tools/lib/l1-vfio.sh
. "$repo/tools/lib/l1-vfio.sh"

# L1's answering side: the igb PF itself and the second igb VF, bound to igbvf in L1.
# Both sit behind the igb that the QEMU hub joins to the e1000e.
L1_PF_ADDR=fe80::1
L1_VF_ADDR=fe80::2
IGB_VF=0000:00:12.0
NVME_VF=0000:00:04.1
E1000E=$L1V_E1000E

t0=$EPOCHREALTIME
elapsed() { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f s", b - a}'; }
note() { echo "# [$(elapsed)] $*"; }
bail() {
	echo "Bail out! $*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || bail "run me in the testbed: tools/testbed -- $0"
work=$(mktemp -d)
cleanup() {
	local rc=$?
	l1v_restore_all || rc=1
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

l1v_check_host || bail "L1 cannot do VFIO"
l1v_igb_enable_vfs 2 || bail "igb VFs"
l1v_nvme_enable_vfs 2 || bail "NVMe VFs"
note "VFs ready: igb $(l1v_vf "$L1V_IGB_PF" 0) $(l1v_vf "$L1V_IGB_PF" 1)," \
	"nvme $(l1v_vf "$L1V_NVME_PF" 0) $(l1v_vf "$L1V_NVME_PF" 1)"
pf_dev=$(l1v_netdev "$L1V_IGB_PF") || bail "igb PF netdev"
l1v_link_local "$pf_dev" "$L1_PF_ADDR" || bail "link-local on the igb PF"
l1_vf=$(l1v_vf "$L1V_IGB_PF" 1) || bail "second igb VF"
l1v_bind igbvf "$l1_vf" || bail "second igb VF to igbvf"
vf_dev=$(l1v_netdev "$l1_vf") || bail "netdev of $l1_vf"
l1v_link_local "$vf_dev" "$L1_VF_ADDR" || bail "link-local on the igb VF in L1"
note "L1 answers on $pf_dev (igb PF, $L1_PF_ADDR) and $vf_dev (igbvf $l1_vf, $L1_VF_ADDR)"

kernel=$(guest_kernel)
echo "igbvf nvme e1000e" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/initrd.gz" \
	--modules "igbvf nvme e1000e" --bin fio \
	--add "$here/vfio-guest.sh:/test.sh" --add "$work/modules.list:/modules.list"
note "guest image built"

for bdf in "$IGB_VF" "$NVME_VF" "$E1000E"; do
	group=$(l1v_bind_vfio "$bdf") || bail "binding $bdf to vfio-pci"
	note "$bdf ($(l1v_ids "$bdf")) on vfio-pci, IOMMU group $group"
done

# run_qemu LOG: one L2 boot with the three functions, console to LOG without CRs.
run_qemu() {
	local log=$1 qemu t
	# shellcheck disable=SC2054 # the commas are QEMU's option syntax
	qemu=(qemu-system-x86_64 -accel kvm -M q35 -cpu host -smp 2 -m 768M -nodefaults
		-no-user-config -display none -serial stdio -no-reboot
		-kernel "$kernel" -initrd "$work/initrd.gz"
		-append "console=ttyS0 quiet conduit.ping=$L1_PF_ADDR,$L1_VF_ADDR")
	l1v_qemu_vfio_args qemu "$IGB_VF" "$NVME_VF" "$E1000E"
	t=$EPOCHREALTIME
	status=0
	timeout 300 "${qemu[@]}" </dev/null >"$log.raw" 2>&1 || status=$?
	tr -d '\r' <"$log.raw" >"$log"
	note "$(basename "$log"): QEMU exited $status after" \
		"$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f s", b - a}')," \
		"guest uptime at init $(field "$log" GUEST-UPTIME) s, at the end $(field "$log" VFIO-GUEST-UPTIME) s"
}

# checks LOG: what one boot must show.
checks() {
	local log=$1 run=$2 id parents=()
	check "$run: guest powered off, QEMU exit status 0" [ "$status" -eq 0 ]
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
	check "$run: igbvf has carrier" [ "$(field "$log" IGBVF-CARRIER)" = 1 ]
	check "$run: igbvf has the MAC L1 set on the PF" \
		[ "$(field "$log" IGBVF-MAC)" = "${L1V_IGB_VF_MAC_PREFIX}0" ]
	check "$run: e1000e has carrier" [ "$(field "$log" E1000E-CARRIER)" = 1 ]
	for nic in IGBVF E1000E; do
		for addr in "$L1_PF_ADDR" "$L1_VF_ADDR"; do
			check "$run: ping from the guest's ${nic,,} to L1 $addr" \
				[ "$(field "$log" "PING-$nic-$addr")" = ok ]
		done
	done
	check "$run: NVMe VF namespace is a block device of 256 MiB" \
		[ "$(field "$log" NVME-BYTES)" = 268435456 ]
	check "$run: fio random write + crc32c verify on the NVMe VF" \
		[ "$(field "$log" FIO-VERIFY)" = ok ]
}

plan 39
run_qemu "$work/vm1"
checks "$work/vm1" "VM 1"
run_qemu "$work/vm2"
checks "$work/vm2" "VM 2"
mark1=$(field "$work/vm1" NVME-MARK)
check "VM 2 reads what VM 1 wrote to the NVMe VF" \
	[ "${mark1:-none}" = "$(field "$work/vm2" NVME-MARK-OLD)" ]
if [ "$tap_failed" -ne 0 ] || [ "${VFIO_REF_SHOW:-}" = 1 ]; then
	for vm in vm1 vm2; do
		echo "# ---- $vm console ----"
		sed 's/^/# /' "$work/$vm"
	done
fi

l1v_restore_all
check "e1000e is back on its L1 driver" l1v_driver_is "$E1000E" e1000e
check "igb and NVMe VFs are disabled again" \
	[ "$(cat "$L1V_PCI/$L1V_IGB_PF/sriov_numvfs")$(cat "$L1V_PCI/$L1V_NVME_PF/sriov_numvfs")" = 00 ]
note "done, $tap_failed failed"
finish
