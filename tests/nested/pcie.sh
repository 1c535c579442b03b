#!/usr/bin/env bash
# Nested: the PCIe topology, MSI-X and virtio devices, judged by the L2 guest's own Linux
# drivers. Three root ports and a switch: virtio-blk (2 queues) behind root port rp1,
# virtio-rng behind switch port sw.0, a read-only disk behind sw.1, a scratch disk behind
# rp3. Linux names disks in PCI probe order (each bus level before the next), so disks at
# the same depth come out in command-line order: vda, vdb, vdc. Then real storage: L1's
# scratch disk (in-testbed --scratch-disk: an image on L0's disk) gets a raw partition
# and an ext4 one, and a guest's fio verifies on an image file on the ext4 and on the
# raw partition, both direct=on: the file with conduit's defaults (polling, interrupt
# coalescing) and an SQPOLL kernel thread, the partition with registered buffers and
# neither polling nor coalescing.
# Usage: pcie.sh CONDUIT
. "$(dirname "$0")/lib.sh"
CONDUIT=$1
work=$(mktemp -d)
kernel=$(guest_kernel)
echo "virtio_pci virtio_blk virtio-rng ext2 ext4" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$repo/tests/nested/guest-init" --out "$work/initrd.gz" \
	--modules "virtio_pci virtio_blk virtio-rng ext4" --bin fio \
	--add "$repo/tests/nested/pcie-guest.sh:/test.sh" --add "$work/modules.list:/modules.list" \
	--add "$repo/tests/nested/guest-lib.sh:/guest-lib.sh"
truncate -s 64M "$work/disk.img"
truncate -s 32M "$work/fs.img"
head -c 16M /dev/urandom >"$work/ro.img"
ro_sum=$(sha256sum <"$work/ro.img")

run_phase() { # run_phase PHASE LOG
	run_guest "$2" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 2 --memory 768M \
		--pcie root-port,id=rp1 --pcie root-port,id=rp2 --pcie root-port,id=rp3 \
		--pcie switch,id=sw,bus=rp2,ports=2 \
		--disk "path=$work/disk.img,bus=rp1,queues=2" --rng=bus=sw.0 \
		--disk "path=$work/ro.img,readonly=on,bus=sw.1" --disk "path=$work/fs.img,bus=rp3" \
		--cmdline "$GUEST_CMDLINE conduit.phase=$1"
}

plan 21

run_phase 1 "$work/one"
check "guest with the topology powers off cleanly" [ "$status" -eq 0 ]
# virtio-blk (1af4:1042) and virtio-rng (1af4:1044) bound to their drivers
pci_line() { grep "^PCI .* $1 class=" "$work/one" | head -n 1; }
blk=$(grep -m1 "^DISK vda " "$work/one" | sed 's/.*pci=//')
check "vda is a virtio-blk function behind a root port" \
	grep -q "^PCI $blk 0x1af4:0x1042 class=0x010000 parent=0000:00:0[0-9a-f].0 cfgsize=4096 .*driver=virtio-pci" "$work/one"
check "the root ports are PCIe ports (class 0604, 4 KiB config space via ECAM)" \
	[ "$(grep -c "^PCI 0000:00:0.\\.0 0x1b36:0x000c class=0x060400 .*cfgsize=4096" "$work/one")" -eq 3 ]
check "the switch shows up: upstream port and 2 downstream ports" \
	[ "$(grep -c "^PCI .* 0x104c:0x823[23] class=0x060400" "$work/one")" -eq 3 ]
rng_parent=$(pci_line 0x1af4:0x1044 | sed -n 's/.*parent=\([^ ]*\).*/\1/p')
check "virtio-rng sits behind a switch downstream port" \
	grep -q "^PCI ${rng_parent:-none} 0x104c:0x8233" "$work/one"
check "virtio-blk has MSI-X vectors (config + 2 queues)" \
	grep -q "^PCI $blk .* msi=3 " "$work/one"
check "/dev/vda is 64 MiB" grep -q "^DISK vda bytes=67108864 ro=0 " "$work/one"
check "GET_ID gives each disk a serial" grep -q "^DISK vda .*serial=[0-9a-zA-Z]" "$work/one"
check "read-only disk is read-only in the guest" grep -q "^DISK vdb bytes=16777216 ro=1 " "$work/one"
check "read-only disk refuses a write" grep -q "^VDB-WRITE=refused" "$work/one"
check "read-only image unchanged on the host" [ "$(sha256sum <"$work/ro.img")" = "$ro_sum" ]
check "virtio-rng is the guest's hwrng and gives bytes" \
	[ "$(field "$work/one" RNG)" = virtio_rng.0 -a "$(field "$work/one" RNG-BYTES)" = 32 ]
check "fio random-write + crc32c verify on /dev/vda" grep -q "^FIO-VERIFY=ok" "$work/one"
sum1=$(field "$work/one" FS-SHA)

run_phase 2 "$work/two"
check "second boot powers off cleanly" [ "$status" -eq 0 ]
check "file written to ext2 reads back the same after power-off and boot" \
	[ -n "$sum1" -a "$sum1" = "$(field "$work/two" FS-SHA)" ]

# A disk another process holds is refused at start: status 1, nothing else changes.
"$CONDUIT" run --kernel "$kernel" --initrd "$work/initrd.gz" --disk "path=$work/disk.img" \
	--cmdline "$GUEST_CMDLINE conduit.phase=hold" </dev/null >"$work/hold" 2>&1 &
holder=$!
for _ in $(seq 120); do grep -q GUEST-HOLDING "$work/hold" 2>/dev/null && break; sleep 1; done
run_conduit "$work/locked" run --kernel "$kernel" --disk "path=$work/disk.img"
check "a disk locked by another VM gives status 1 and says so" \
	ended_with "$work/locked" 1 "conduit: error: .*locked"
kill -TERM "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
status=$?
# its disk is live (registered with its I/O thread's io_uring) when the signal comes
check "SIGTERM stops a VM whose disk is running: status 0, no seccomp line" \
	eval '[ "$status" -eq 0 ] && ! grep -q seccomp "$work/hold"'

# Real storage: the scratch disk's serial is disk0 (tools/testbed --disk).
scratch_disk() {
	local b
	for b in /sys/block/vd*; do
		[ "$(cat "$b/serial" 2>/dev/null)" = disk0 ] && echo "/dev/${b##*/}" && return 0
	done
	return 1
}
if dev=$(scratch_disk); then
	echo "# real storage: $dev ($(($(cat "/sys/block/${dev#/dev/}/size") / 2048)) MiB)"
	printf 'size=128M\n,\n' | sfdisk -q "$dev" >/dev/null && udevadm settle 2>/dev/null
	sleep 1
	mkdir -p "$work/ext4"
	load_module ext4
	mkfs.ext4 -q -F "${dev}2" && mount -t ext4 "${dev}2" "$work/ext4" &&
		truncate -s 64M "$work/ext4/disk.img" || echo "# cannot make ext4 on ${dev}2"
	run_guest "$work/real" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 1 \
		--memory 512M --disk "path=$work/ext4/disk.img,direct=on,sqpoll=on" \
		--disk "path=${dev}1,direct=on,fixed-buffers=on,poll-us=0,coalesce-us=0" --stats \
		--cmdline "$GUEST_CMDLINE conduit.phase=real"
	grep '^conduit-stats: device=' "$work/real" | sed 's/^/# /'
	check "real storage: the guest powers off cleanly" [ "$status" -eq 0 ]
	check "fio verify on an image file on ext4 in L1, direct=on, sqpoll, polling, coalescing" \
		grep -q "^REAL vda FIO-VERIFY=ok" "$work/real"
	check "the kernel took sqpoll=on (no fallback warning)" \
		eval "! grep -q 'sqpoll=on refused' '$work/real'"
	check "fio verify on a raw partition (${dev}1), direct=on, fixed buffers, no polling" \
		grep -q "^REAL vdb FIO-VERIFY=ok" "$work/real"
	umount "$work/ext4"
else
	for what in "powers off" "ext4 file" "sqpoll" "raw partition"; do
		ok "real storage: $what # SKIP no scratch disk (in-testbed --scratch-disk MIB)"
	done
fi

rm -rf "$work"
finish
