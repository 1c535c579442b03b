# shellcheck shell=bash
# Shared by tools/testbed and tools/mkguest: the testbed cache (Debian kernel, L1
# initramfs) and the pieces every initramfs is built from. Source it; it defines
# functions and TB_* variables only.

TB_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB_REPO=$(cd "$TB_LIB/../.." && pwd)
TB_CACHE=${CONDUIT_CACHE:-$TB_REPO/.cache/testbed}

# Modules L1 loads before running the command (TESTBED.md lists what each is for).
# igbvf is extra: it lets a test use an igb VF from L1 itself; virtio_blk serves
# tools/testbed --disk.
TB_L1_MODULES=(kvm-amd vfio-pci vfio_iommu_type1 9p 9pnet_virtio virtio_pci
	virtio_blk igb igbvf e1000e nvme tun)

tb_die() {
	echo "${0##*/}: $*" >&2
	exit 125
}

# Prints the concrete kernel package that Debian's linux-image-amd64 depends on.
tb_kernel_package() {
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
	[ -n "$pkg" ] || tb_die "apt-cache does not know linux-image-amd64; run 'apt-get update' first"
	echo "$pkg"
}

# Downloads and unpacks the kernel package into $TB_CACHE/kernel. Once there it is
# kept (so runs are reproducible and work offline); delete the cache to update it.
tb_fetch_kernel() {
	local dir=$TB_CACHE/kernel pkg tmp ver apt_opts=()
	[ -e "$dir/.done" ] && return 0
	if [ "$(id -u)" -eq 0 ]; then
		# Fresh machines have no package lists, old ones may name a kernel that is
		# gone from the archive. This runs once per cache, so the cost is small.
		apt-get update -qq || tb_die "apt-get update failed"
		# As root, apt drops to the _apt user, which cannot write into our cache.
		apt_opts=(-o APT::Sandbox::User=root)
	fi
	pkg=$(tb_kernel_package)
	tmp=$(mktemp -d "$TB_CACHE/kernel.XXXXXX")
	echo "${0##*/}: downloading $pkg" >&2
	(cd "$tmp" && apt-get download -q=2 "${apt_opts[@]}" "$pkg") ||
		tb_die "apt-get download $pkg failed"
	dpkg -x "$tmp"/*.deb "$tmp/root"
	rm -f "$tmp"/*.deb
	ver=$(basename "$(find "$tmp/root/lib/modules" -mindepth 1 -maxdepth 1 -type d)")
	# Newer Debian kernels ship .ko.xz; busybox modprobe in L1 and L2 wants plain .ko.
	find "$tmp/root/lib/modules" -name '*.ko.xz' -exec xz -d {} +
	depmod -b "$tmp/root" "$ver"
	tb_extract_vmlinux "$tmp/root/boot/vmlinuz-$ver" "$tmp/vmlinux"
	echo "$ver" >"$tmp/version"
	chmod 0755 "$tmp"
	touch "$tmp/.done"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

# Unpacks the ELF vmlinux from an xz-compressed bzImage. QEMU boots it directly
# (PVH entry), which spares L1 about 2.5 s of decompressing itself under TCG.
# Without it (a kernel not compressed with xz) L1 boots the bzImage.
tb_extract_vmlinux() {
	local bz=$1 out=$2 off
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || return 0
	# xz stops at the end of its stream, so tail gets SIGPIPE: keep it out of pipefail.
	xz -dc --single-stream <(tail -c +$((off + 1)) "$bz") >"$out.tmp" 2>/dev/null || true
	[ "$(head -c4 "$out.tmp")" = $'\x7fELF' ] && mv "$out.tmp" "$out"
	rm -f "$out.tmp"
}

# Sets TB_KROOT (unpacked package), TB_KVER, TB_BZIMAGE and TB_L1_KERNEL from the
# cached kernel.
# shellcheck disable=SC2034 # used by the scripts that source this file
tb_load_kernel() {
	TB_KROOT=$TB_CACHE/kernel/root
	TB_KVER=$(cat "$TB_CACHE/kernel/version")
	TB_BZIMAGE=$TB_KROOT/boot/vmlinuz-$TB_KVER
	TB_L1_KERNEL=$TB_BZIMAGE
	[ ! -e "$TB_CACHE/kernel/vmlinux" ] || TB_L1_KERNEL=$TB_CACHE/kernel/vmlinux
}

# Prints a hash of everything the L1 initramfs is built from.
tb_l1_stamp() {
	cat "$TB_LIB"/testbed-common.sh "$TB_LIB"/l1-init.sh "$TB_CACHE/kernel/version" \
		/bin/busybox | sha256sum | cut -d' ' -f1
}

# Makes sure the cache is complete and loads it. Cheap when it already is, and then
# writes nothing, so it also works inside L1, where the cache is read-only.
tb_ensure_cache() {
	TB_L1_INITRD=$TB_CACHE/l1-initrd.gz
	if [ ! -e "$TB_CACHE/kernel/.done" ] || [ "$(cat "$TB_CACHE/l1.stamp" 2>/dev/null)" != "$(tb_l1_stamp)" ]; then
		mkdir -p "$TB_CACHE"
		# Parallel runs (meson test) must not build the cache twice at once.
		exec {lock}>"$TB_CACHE/.lock"
		flock "$lock"
		# Left behind by a build that was interrupted.
		rm -rf "$TB_CACHE"/kernel.* "$TB_CACHE"/stage.*
		tb_fetch_kernel
		if [ "$(cat "$TB_CACHE/l1.stamp" 2>/dev/null)" != "$(tb_l1_stamp)" ]; then
			tb_load_kernel
			tb_build_busybox_tree "$TB_CACHE/busybox"
			tb_build_l1_initrd "$TB_L1_INITRD"
			tb_l1_stamp >"$TB_CACHE/l1.stamp"
		fi
		exec {lock}>&-
	fi
	tb_load_kernel
}

tb_build_l1_initrd() {
	local out=$1 stage
	stage=$(mktemp -d "$TB_CACHE/stage.XXXXXX")
	tb_stage_busybox "$stage"
	tb_stage_modules "$stage" "${TB_L1_MODULES[@]}"
	install -m 0755 "$TB_LIB/l1-init.sh" "$stage/init"
	mkdir -p "$stage/etc" "$stage/proc" "$stage/sys" "$stage/host" "$stage/job"
	printf '%s\n' "${TB_L1_MODULES[@]}" >"$stage/etc/testbed-modules"
	tb_pack "$stage" "$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$stage"
}

# Builds a tree with busybox-static as /bin/busybox plus a symlink for each applet
# at its usual path, so guest scripts need no `busybox --install` step. Kept in the
# cache: the ~270 `ln` processes take seconds, copying the tree does not.
tb_build_busybox_tree() {
	local dir=$1 applet
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
		tb_die "busybox-static is not installed; run tools/install-deps"
	rm -rf "$dir"
	mkdir -p "$dir/bin" "$dir/sbin" "$dir/usr/bin" "$dir/usr/sbin"
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list-full); do
		[ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
	done
}

tb_stage_busybox() {
	cp -a "$TB_CACHE/busybox/." "$1/"
}

# Copies kernel modules and everything they depend on from the cached kernel into
# $stage/lib/modules, with the index files modprobe needs.
tb_stage_modules() {
	local stage=$1 kmods=$TB_KROOT/lib/modules/$TB_KVER dst=$1/lib/modules/$TB_KVER
	shift
	local m deps op ko
	mkdir -p "$dst"
	for m in "$@"; do
		# -C /dev/null: L0's /etc/modprobe.d must not change what lands in a guest.
		deps=$(modprobe -C /dev/null -d "$TB_KROOT" -S "$TB_KVER" --show-depends "$m" 2>&1) ||
			tb_die "kernel $TB_KVER has no module '$m'"
		# Lines are "insmod /path/x.ko [options]" or "builtin x".
		while read -r op ko _; do
			[ "$op" = insmod ] || continue
			ko=${ko#"$kmods"/}
			[ ! -e "$dst/$ko" ] || continue
			mkdir -p "$dst/$(dirname "$ko")"
			cp "$kmods/$ko" "$dst/$ko"
		done <<<"$deps"
	done
	cp "$kmods/modules.order" "$kmods/modules.builtin" "$kmods/modules.builtin.modinfo" "$dst/"
	depmod -b "$stage" "$TB_KVER"
}

# Writes one newc cpio header (no file data) for a directory or device node.
tb_cpio_entry() {
	local name=$1 ino=$2 mode=$3 major=$4 minor=$5 hdr
	hdr=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$mode" 0 0 1 0 0 0 0 "$major" "$minor" $((${#name} + 1)) 0)
	printf '%s%s\0' "$hdr" "$name"
	# Header plus name is padded to a multiple of 4 bytes.
	head -c $(((4 - (${#hdr} + ${#name} + 1) % 4) % 4)) /dev/zero
}

# Packs $stage into a gzip'd newc initramfs, byte-identical for identical input.
# The kernel opens /dev/console for init before anything can mount devtmpfs, so
# the archive carries that node; it is written by hand so that no root (mknod) is
# needed. The kernel unpacks concatenated cpio archives one after the other.
tb_pack() {
	local stage=$1 out=$2
	find "$stage" -exec touch -h -d @0 {} +
	{
		tb_cpio_entry dev 1 $((0040755)) 0 0
		tb_cpio_entry dev/console 2 $((0020600)) 5 1
		tb_cpio_entry TRAILER!!! 0 0 0 0
		(cd "$stage" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
			cpio --quiet -o -H newc -R 0:0 --reproducible)
	} | gzip -n >"$out"
}
