#!/bin/sh
# /test.sh of the PCIe/virtio nested test, run inside the L2 guest by guest-init.
# conduit.phase=1: topology, MSI-X, sizes, rng, read-only disk, fio verify, and a file
# written to a fresh ext2 filesystem; phase=2: read that file back; phase=real: fio
# verify on each disk (real storage in L1); phase=hold: wait.
# shellcheck source=tests/nested/guest-lib.sh
. /guest-lib.sh
phase=
for arg in $(cat /proc/cmdline); do
	case "$arg" in conduit.phase=*) phase=${arg#conduit.phase=} ;; esac
done

# One line per PCI function: BDF, IDs, class, the bridge above it, config size, MSI-X.
report_pci() {
	for dev in /sys/bus/pci/devices/*; do
		bdf=${dev##*/}
		parent=$(basename "$(dirname "$(readlink -f "$dev")")")
		irqs=$(ls "$dev/msi_irqs" 2>/dev/null | wc -l)
		echo "PCI $bdf $(cat "$dev/vendor"):$(cat "$dev/device") class=$(cat "$dev/class")" \
			"parent=$parent cfgsize=$(stat -c %s "$dev/config") msi=$irqs" \
			"driver=$(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null)"
	done
}

case "$phase" in
1)
	report_pci
	for b in /sys/block/vd*; do
		echo "DISK ${b##*/} bytes=$(($(cat "$b/size") * 512)) ro=$(cat "$b/ro")" \
			"serial=$(cat "$b/serial")" \
			"pci=$(basename "$(readlink -f "$b/device/..")")"
	done
	echo "RNG=$(cat /sys/class/misc/hw_random/rng_current)"
	echo "RNG-BYTES=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"
	if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct 2>/dev/null; then
		echo "VDB-WRITE=accepted"
	else
		echo "VDB-WRITE=refused"
	fi
	fio_verify /dev/vda
	mke2fs -q /dev/vdc && mkdir -p /mnt && mount -t ext2 /dev/vdc /mnt &&
		dd if=/dev/urandom of=/mnt/data bs=65536 count=16 2>/dev/null &&
		echo "FS-SHA=$(sha256sum /mnt/data | cut -d' ' -f1)" && umount /mnt
	;;
2)
	mkdir -p /mnt && mount -t ext2 /dev/vdc /mnt &&
		echo "FS-SHA=$(sha256sum /mnt/data | cut -d' ' -f1)" && umount /mnt
	;;
real)
	for b in /sys/block/vd*; do
		echo "REAL ${b##*/} $(fio_verify "/dev/${b##*/}" | head -n 1)"
	done
	;;
hold)
	echo "GUEST-HOLDING"
	sleep 600
	;;
esac
