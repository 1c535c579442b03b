# shellcheck shell=bash
# VFIO and SR-IOV helpers for scripts that run inside the testbed's L1 (tools/testbed):
# the nested passthrough tests and tools/bench-vfio. Source it; it defines l1v_*
# functions and L1V_* variables only. Every function prints one clear line to stderr
# and returns non-zero when a step fails, so callers write `l1v_x ... || exit 1`.
# The facts behind each step (VF BARs below 4 GiB, NVMe VF resources, igb VF MACs)
# are in shared/TESTBED.md.
#
# Typical use (as root in L1):
#   l1v_check_host                                  modules, IOMMU, interrupt remapping
#   l1v_igb_enable_vfs; l1v_nvme_enable_vfs         2 VFs each, ready to be assigned
#   l1v_bind_vfio 0000:00:12.0                      driver_override + unbind + probe
#   ...run the VMM...
#   l1v_restore_all                                 every function back to its driver,
#                                                   then the VFs disabled
# Also: l1v_netdev BDF, l1v_wait_carrier DEV, l1v_link_local DEV ADDR (L1's side of a
# ping), l1v_nvme_vf_disk VF (the namespace through the VF alone, in L1 itself),
# l1v_qemu_vfio_args (QEMU's options for the reference VMM).
# Code run in L1 must not use bash process substitution (<(...)): the chroot's /dev is
# a bare devtmpfs without /dev/fd. Use here-strings or temporary files.

# The testbed's fixed PCI addresses (tools/testbed places the devices there).
# shellcheck disable=SC2034 # for the scripts that source this file
L1V_IGB_PF=0000:00:02.0
L1V_E1000E=0000:00:03.0
L1V_NVME_PF=0000:00:04.0
L1V_EDU=0000:00:05.0
# The MAC igb VF n gets before any driver binds it: 02:00:00:00:00:1n.
L1V_IGB_VF_MAC_PREFIX=02:00:00:00:00:1
# Where l1v_bind_vfio records each function's previous driver for l1v_restore.
L1V_STATE=${L1V_STATE:-/run/l1-vfio}
L1V_PCI=/sys/bus/pci/devices

l1v_err() {
	echo "l1-vfio: error: $*" >&2
	return 1
}

# l1v_write VALUE FILE: writes VALUE to a sysfs file, saying which one failed.
l1v_write() {
	local err
	err=$({ printf '%s\n' "$1" >"$2"; } 2>&1) ||
		l1v_err "writing '$1' to $2 failed: ${err##*: }"
}

# l1v_wait SECS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds; after SECS
# seconds of wall time (not polls: in a busy L1 one poll may take longer than the
# sleep) fails with "timed out after SECS s waiting for WHAT".
l1v_wait() {
	local secs=$1 what=$2 end=$((SECONDS + $1))
	shift 2
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@" || l1v_err "timed out after $secs s waiting for $what"
}

# l1v_exists BDF: the PCI function is there (fails loudly if not).
l1v_exists() {
	[[ "$1" =~ ^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]] ||
		l1v_err "'$1' is not a PCI address of the form DDDD:BB:DD.F" || return 1
	[ -e "$L1V_PCI/$1" ] || l1v_err "no PCI function $1 in L1 (see 'lspci -D')"
}

# l1v_driver BDF: prints the driver bound to BDF, nothing when none is.
l1v_driver() {
	local link
	link=$(readlink "$L1V_PCI/$1/driver" 2>/dev/null) || return 0
	echo "${link##*/}"
}

# l1v_ids BDF: prints "vendor:device" in lspci's form (8086:10ca).
l1v_ids() {
	local v d
	v=$(cat "$L1V_PCI/$1/vendor") && d=$(cat "$L1V_PCI/$1/device") || return 1
	echo "${v#0x}:${d#0x}"
}

l1v_driver_is() {
	[ "$(l1v_driver "$1")" = "$2" ]
}

# l1v_check_host: what VFIO passthrough needs in L1. The modules come from the L1
# initramfs (TB_L1_MODULES in tools/lib/testbed-common.sh): the chroot's modprobe
# would look for L0's modules, so nothing can be loaded from here.
l1v_check_host() {
	local m groups
	for m in vfio_pci vfio_iommu_type1 igb igbvf e1000e nvme; do
		[ -d "/sys/module/$m" ] ||
			l1v_err "kernel module $m is not loaded in L1; add it to TB_L1_MODULES in tools/lib/testbed-common.sh" ||
			return 1
	done
	groups=$(find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	[ "$groups" -gt 0 ] ||
		l1v_err "L1 has no IOMMU groups: the IOMMU is off (tools/testbed needs -device intel-iommu and intel_iommu=on)" ||
		return 1
	[ -c /dev/vfio/vfio ] || l1v_err "/dev/vfio/vfio is missing although vfio is loaded" || return 1
	# vfio_iommu_type1 refuses a group without interrupt remapping unless told
	# otherwise; QEMU's intel-iommu in L1 offers remapping, so this must not trigger.
	if ! grep -q 'IR-PCI-MSI' /proc/interrupts 2>/dev/null &&
		[ "$(cat /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)" != Y ]; then
		l1v_err "L1 has no interrupt remapping (no IR-PCI-MSI in /proc/interrupts); VFIO would refuse the groups"
		return 1
	fi
}

# l1v_netdev BDF: prints the network interface of a PCI function (e.g. the e1000e or
# igb PF, or an igb VF bound to igbvf in L1); waits up to 10 s for the driver to make it.
l1v_netdev() {
	local bdf=$1 dev
	l1v_exists "$bdf" || return 1
	l1v_wait 10 "a netdev of $bdf (driver '$(l1v_driver "$bdf")')" \
		compgen -G "$L1V_PCI/$bdf/net/*" >/dev/null || return 1
	for dev in "$L1V_PCI/$bdf"/net/*; do
		echo "${dev##*/}"
		return 0
	done
}

l1v_has_carrier() {
	[ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" = 1 ]
}

# l1v_wait_carrier NETDEV [SECS]: waits until NETDEV (which must be up) has carrier.
l1v_wait_carrier() {
	local dev=$1 secs=${2:-10}
	[ -e "/sys/class/net/$dev" ] || l1v_err "no network interface $dev" || return 1
	l1v_wait "$secs" "carrier on $dev (operstate $(cat "/sys/class/net/$dev/operstate"))" \
		l1v_has_carrier "$dev"
}

# l1v_link_local NETDEV ADDR: brings NETDEV up with the IPv6 link-local ADDR (e.g.
# fe80::1) usable at once (no duplicate address detection), waits for carrier.
l1v_link_local() {
	local dev=$1 addr=$2
	[ -e "/sys/class/net/$dev" ] || l1v_err "no network interface $dev" || return 1
	l1v_write 0 "/proc/sys/net/ipv6/conf/$dev/accept_dad" || return 1
	ip link set "$dev" up || l1v_err "ip link set $dev up failed" || return 1
	if ! ip -6 addr show dev "$dev" | grep -q "inet6 $addr/"; then
		ip -6 addr add "$addr/64" dev "$dev" nodad ||
			l1v_err "cannot add $addr/64 to $dev" || return 1
	fi
	l1v_wait_carrier "$dev"
}

# l1v_sriov_enable PF N: enables N VFs on PF without letting any host driver probe
# them (they are for guests or bound explicitly). Already N: nothing changes.
l1v_sriov_enable() {
	local pf=$1 n=$2 total i
	l1v_exists "$pf" || return 1
	[ -e "$L1V_PCI/$pf/sriov_numvfs" ] ||
		l1v_err "$pf ($(l1v_ids "$pf")) has no SR-IOV capability" || return 1
	[ -n "$(l1v_driver "$pf")" ] ||
		l1v_err "$pf has no driver; its PF driver must be bound to enable VFs" || return 1
	total=$(cat "$L1V_PCI/$pf/sriov_totalvfs")
	[ "$n" -le "$total" ] || l1v_err "$pf offers $total VFs, not $n" || return 1
	[ "$(cat "$L1V_PCI/$pf/sriov_numvfs")" = "$n" ] && return 0
	if [ "$(cat "$L1V_PCI/$pf/sriov_numvfs")" != 0 ]; then
		l1v_write 0 "$L1V_PCI/$pf/sriov_numvfs" || return 1
	fi
	l1v_write 0 "$L1V_PCI/$pf/sriov_drivers_autoprobe" || return 1
	l1v_write "$n" "$L1V_PCI/$pf/sriov_numvfs" || return 1
	for ((i = 0; i < n; i++)); do
		l1v_wait 5 "VF $i of $pf" [ -e "$L1V_PCI/$pf/virtfn$i" ] || return 1
	done
}

# l1v_sriov_disable PF: removes the VFs (they must not be in use).
l1v_sriov_disable() {
	[ -e "$L1V_PCI/$1/sriov_numvfs" ] || return 0
	[ "$(cat "$L1V_PCI/$1/sriov_numvfs")" = 0 ] || l1v_write 0 "$L1V_PCI/$1/sriov_numvfs"
}

# l1v_vf PF INDEX: prints the address of VF INDEX (from 0) of PF.
l1v_vf() {
	local link
	link=$(readlink "$L1V_PCI/$1/virtfn$2" 2>/dev/null) ||
		l1v_err "$1 has no VF $2 (enable VFs first)" || return 1
	echo "${link##*/}"
}

# l1v_igb_enable_vfs [N] [PF]: N (default 2) igb VFs; VF n gets MAC
# ${L1V_IGB_VF_MAC_PREFIX}n before any driver sees it (igbvf reads it from the PF at
# probe time), and the PF is brought up so that the VFs get link.
l1v_igb_enable_vfs() {
	local n=${1:-2} pf=${2:-$L1V_IGB_PF} dev i
	l1v_exists "$pf" || return 1
	l1v_driver_is "$pf" igb || l1v_err "$pf is bound to '$(l1v_driver "$pf")', not igb" || return 1
	dev=$(l1v_netdev "$pf") || return 1
	ip link set "$dev" up || l1v_err "ip link set $dev up failed" || return 1
	l1v_sriov_enable "$pf" "$n" || return 1
	for ((i = 0; i < n; i++)); do
		ip link set "$dev" vf "$i" mac "$L1V_IGB_VF_MAC_PREFIX$i" ||
			l1v_err "cannot set the MAC of VF $i on $dev" || return 1
	done
	l1v_wait_carrier "$dev"
}

# l1v_nvme_ctrl BDF: prints the nvme controller (nvme0) the nvme driver made of BDF.
l1v_nvme_ctrl() {
	local c
	l1v_driver_is "$1" nvme || l1v_err "$1 is bound to '$(l1v_driver "$1")', not nvme" || return 1
	l1v_wait 10 "the nvme controller of $1" compgen -G "$L1V_PCI/$1/nvme/nvme*" >/dev/null ||
		return 1
	for c in "$L1V_PCI/$1"/nvme/nvme*; do
		echo "${c##*/}"
		return 0
	done
}

# l1v_nvme_secondary CTRL: prints one "SCID VFN STATE" line per secondary controller
# of the primary controller CTRL (decimal numbers, STATE Online or Offline), parsed
# from nvme-cli's list-secondary ("SCID : ... : 0x0001", "SCS : ... : 0x0001 (Online)").
l1v_nvme_secondary() {
	local out line key val scid='' scs=''
	out=$(nvme list-secondary "/dev/$1" 2>&1) ||
		l1v_err "'nvme list-secondary /dev/$1' failed: $out" || return 1
	while read -r line; do
		key=${line%%:*}
		key=${key// /}
		val=${line##*: }
		case "$key" in
		SCID) scid=$((val)) ;;
		SCS) scs=${val#*(} && scs=${scs%)} ;;
		VFN) echo "$scid $((${val%% *})) $scs" ;;
		esac
	done <<<"$out"
}

# l1v_nvme_lookup CTRL KEY VALUE WANT: among l1v_nvme_secondary's lines, prints column
# WANT of the one whose column KEY is VALUE (columns: 1 SCID, 2 VFN, 3 STATE).
l1v_nvme_lookup() {
	local list cols names=(SCID VFN STATE)
	list=$(l1v_nvme_secondary "$1") || return 1
	while read -ra cols; do
		[ "${cols[$2 - 1]}" = "$3" ] && echo "${cols[$4 - 1]}" && return 0
	done <<<"$list"
	l1v_err "'nvme list-secondary /dev/$1' lists no secondary controller with ${names[$2 - 1]} $3"
}

# l1v_nvme_scid CTRL VFN: the secondary controller ID of VF number VFN (from 1).
l1v_nvme_scid() { l1v_nvme_lookup "$1" 2 "$2" 1; }

# l1v_nvme_state CTRL SCID: the secondary controller's state (Online/Offline).
l1v_nvme_state() { l1v_nvme_lookup "$1" 1 "$2" 3; }

# l1v_nvme_virt CTRL ARGS...: one nvme virt-mgmt command, failing loudly.
l1v_nvme_virt() {
	local ctrl=$1 out
	shift
	out=$(nvme virt-mgmt "/dev/$ctrl" "$@" 2>&1) ||
		l1v_err "'nvme virt-mgmt /dev/$ctrl $*' failed: $out"
}

# l1v_nvme_enable_vfs [N] [PF]: N (default 2) NVMe VFs, each given 2 queues and 1
# interrupt through the PF, reset, and brought online: only then does a VF do I/O.
# The PF must be bound to nvme (it sends the virt-mgmt commands).
l1v_nvme_enable_vfs() {
	local n=${1:-2} pf=${2:-$L1V_NVME_PF} ctrl i vf scid
	l1v_exists "$pf" || return 1
	command -v nvme >/dev/null || l1v_err "nvme-cli is not installed (tools/install-deps)" || return 1
	ctrl=$(l1v_nvme_ctrl "$pf") || return 1
	l1v_sriov_enable "$pf" "$n" || return 1
	for ((i = 0; i < n; i++)); do
		vf=$(l1v_vf "$pf" "$i") || return 1
		scid=$(l1v_nvme_scid "$ctrl" $((i + 1))) || return 1
		[ "$(l1v_nvme_state "$ctrl" "$scid")" = Online ] && continue
		[ -z "$(l1v_driver "$vf")" ] ||
			l1v_err "NVMe VF $vf is offline but bound to $(l1v_driver "$vf")" || return 1
		l1v_nvme_virt "$ctrl" -c "$scid" -r 1 -a 8 -n 1 || return 1
		l1v_nvme_virt "$ctrl" -c "$scid" -r 0 -a 8 -n 2 || return 1
		l1v_write 1 "$L1V_PCI/$vf/reset" || return 1
		l1v_nvme_virt "$ctrl" -c "$scid" -a 9 || return 1
		[ "$(l1v_nvme_state "$ctrl" "$scid")" = Online ] ||
			l1v_err "NVMe VF $vf (controller $scid) is not online after virt-mgmt" || return 1
	done
}

# l1v_nvme_vf_disk VF: makes the namespace reachable in L1 through NVMe VF only, and
# prints its block device (/dev/nvme0n1). Native NVMe multipath merges the VF's path
# into the PF's disk, and the default iopolicy (numa) then sends all I/O down the first
# path, the PF's. So the namespace is detached
# from the PF controller (NVMe namespace attachment) until l1v_nvme_vf_disk_end.
l1v_nvme_vf_disk() {
	local vf=$1 pf ctrl vf_ctrl cntlid path disk
	l1v_exists "$vf" || return 1
	[ -e "$L1V_PCI/$vf/physfn" ] || l1v_err "$vf is not a VF" || return 1
	pf=$(basename "$(readlink -f "$L1V_PCI/$vf/physfn")")
	ctrl=$(l1v_nvme_ctrl "$pf") || return 1
	l1v_bind nvme "$vf" || return 1
	vf_ctrl=$(l1v_nvme_ctrl "$vf") || return 1
	l1v_wait 20 "a namespace on $vf_ctrl ($vf)" \
		compgen -G "/sys/class/nvme/$vf_ctrl/nvme*c${vf_ctrl#nvme}n1" >/dev/null || return 1
	path=$(compgen -G "/sys/class/nvme/$vf_ctrl/nvme*c${vf_ctrl#nvme}n1")
	path=${path##*/}
	disk=${path%c*}n1
	cntlid=$(cat "/sys/class/nvme/$ctrl/cntlid") || return 1
	l1v_nvme_virt_ns detach-ns "$ctrl" "$cntlid" || return 1
	mkdir -p "$L1V_STATE" && echo "$ctrl $cntlid" >"$L1V_STATE/nvme-detached" || return 1
	l1v_wait 10 "the PF path of $disk to go" l1v_only_path "$disk" "$path" || return 1
	[ -b "/dev/$disk" ] || l1v_err "/dev/$disk is not a block device" || return 1
	echo "/dev/$disk"
}

# l1v_only_path DISK PATH: PATH (nvme0c1n1) is the only path of the multipath DISK.
l1v_only_path() {
	[ "$(cd /sys/block && compgen -G "${1%n*}c*n${1##*n}")" = "$2" ]
}

# l1v_nvme_virt_ns detach-ns|attach-ns CTRL CNTLID: namespace 1 on controller CNTLID.
l1v_nvme_virt_ns() {
	local out
	out=$(nvme "$1" "/dev/$2" --namespace-id=1 --controllers="$3" 2>&1) ||
		l1v_err "'nvme $1 /dev/$2 --namespace-id=1 --controllers=$3' failed: $out"
}

# l1v_nvme_vf_disk_end: gives the namespace back to the PF controller (undoes what
# l1v_nvme_vf_disk did; the VF stays bound to nvme).
l1v_nvme_vf_disk_end() {
	local ctrl cntlid
	[ -e "$L1V_STATE/nvme-detached" ] || return 0
	read -r ctrl cntlid <"$L1V_STATE/nvme-detached"
	l1v_nvme_virt_ns attach-ns "$ctrl" "$cntlid" || return 1
	nvme ns-rescan "/dev/$ctrl" >/dev/null 2>&1 || true
	l1v_wait 10 "namespace 1 back on $ctrl" \
		compgen -G "/sys/class/nvme/$ctrl/nvme*c${ctrl#nvme}n1" >/dev/null || return 1
	rm -f "$L1V_STATE/nvme-detached"
}

# l1v_bind DRIVER BDF: binds BDF to DRIVER with driver_override (unbinding whatever
# has it first) and checks that DRIVER took it.
l1v_bind() {
	local drv=$1 bdf=$2 old
	l1v_exists "$bdf" || return 1
	old=$(l1v_driver "$bdf")
	[ "$old" != "$drv" ] || return 0
	[ -d "/sys/bus/pci/drivers/$drv" ] ||
		l1v_err "driver $drv is not loaded in L1 (TB_L1_MODULES in tools/lib/testbed-common.sh)" ||
		return 1
	l1v_write "$drv" "$L1V_PCI/$bdf/driver_override" || return 1
	if [ -n "$old" ]; then
		l1v_write "$bdf" "$L1V_PCI/$bdf/driver/unbind" || return 1
	fi
	l1v_write "$bdf" /sys/bus/pci/drivers_probe || return 1
	l1v_driver_is "$bdf" "$drv" ||
		l1v_err "$bdf ($(l1v_ids "$bdf")) did not bind to $drv; see dmesg: $(dmesg | tail -n 3 | tr '\n' ' ')"
}

# l1v_bind_vfio BDF: hands BDF to vfio-pci, remembering its driver for l1v_restore,
# and prints its IOMMU group number.
l1v_bind_vfio() {
	local bdf=$1 group
	l1v_exists "$bdf" || return 1
	group=$(readlink "$L1V_PCI/$bdf/iommu_group" 2>/dev/null) ||
		l1v_err "$bdf is in no IOMMU group (is the IOMMU on in L1?)" || return 1
	group=${group##*/}
	mkdir -p "$L1V_STATE" || return 1
	[ -e "$L1V_STATE/$bdf" ] || l1v_driver "$bdf" >"$L1V_STATE/$bdf" || return 1
	l1v_bind vfio-pci "$bdf" || return 1
	l1v_wait 5 "/dev/vfio/$group for $bdf" [ -c "/dev/vfio/$group" ] || return 1
	echo "$group"
}

# l1v_restore BDF: takes BDF from vfio-pci back to the driver it had before
# l1v_bind_vfio (or leaves it without a driver if it had none, like a fresh VF).
l1v_restore() {
	local bdf=$1 old
	[ -e "$L1V_STATE/$bdf" ] || l1v_err "$bdf was not bound by l1v_bind_vfio" || return 1
	old=$(cat "$L1V_STATE/$bdf")
	if [ -e "$L1V_PCI/$bdf" ]; then
		if [ -n "$(l1v_driver "$bdf")" ] && [ "$(l1v_driver "$bdf")" != "$old" ]; then
			l1v_write "$bdf" "$L1V_PCI/$bdf/driver/unbind" || return 1
		fi
		# An empty write clears the override.
		l1v_write "" "$L1V_PCI/$bdf/driver_override" || return 1
		if [ -n "$old" ] && ! l1v_driver_is "$bdf" "$old"; then
			l1v_write "$bdf" /sys/bus/pci/drivers_probe || return 1
			l1v_driver_is "$bdf" "$old" ||
				l1v_err "$bdf did not go back to $old; see dmesg" || return 1
		fi
	fi
	rm -f "$L1V_STATE/$bdf"
}

# l1v_restore_all: the namespace goes back to the NVMe PF (l1v_nvme_vf_disk), every
# function l1v_bind_vfio took goes back, then the igb and NVMe VFs are disabled.
# Tries every step and fails if any did.
l1v_restore_all() {
	local f rc=0
	l1v_nvme_vf_disk_end || rc=1
	for f in "$L1V_STATE"/[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:*; do
		[ -e "$f" ] || continue
		l1v_restore "${f##*/}" || rc=1
	done
	l1v_sriov_disable "$L1V_IGB_PF" || rc=1
	l1v_sriov_disable "$L1V_NVME_PF" || rc=1
	return "$rc"
}

# l1v_qemu_vfio_args ARRAY BDF...: appends to the bash array named ARRAY the QEMU
# options that put each BDF behind its own PCIe root port (rp1, rp2, ...), the way
# the reference VMM runs in the tests and benchmarks.
l1v_qemu_vfio_args() {
	local -n l1v_args=$1
	local i=0 bdf
	shift
	for bdf in "$@"; do
		i=$((i + 1))
		l1v_args+=(-device "pcie-root-port,id=rp$i,chassis=$i,slot=$i"
			-device "vfio-pci,host=$bdf,bus=rp$i")
	done
}
