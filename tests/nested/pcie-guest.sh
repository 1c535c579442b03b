#!/bin/sh
# /test.sh of the PCIe/virtio nested test, run inside the L2 guest by guest-init.
# conduit.phase=1: topology, MSI-X, sizes, rng, read-only disk, fio verify, and a file
# written to a fresh ext2 filesystem; phase=2: read that file back; phase=hold: wait.
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
	if fio --name=verify --filename=/dev/vda --ioengine=io_uring --direct=1 --rw=randwrite \
		--bs=4k --iodepth=16 --size=16M --verify=crc32c --do_verify=1 \
		--verify_fatal=1 >/tmp/fio.log 2>&1; then
		echo "FIO-VERIFY=ok"
	else
		echo "FIO-VERIFY=failed"
		cat /tmp/fio.log
	fi
	mke2fs -q /dev/vdc && mkdir -p /mnt && mount -t ext2 /dev/vdc /mnt &&
		dd if=/dev/urandom of=/mnt/data bs=65536 count=16 2>/dev/null &&
		echo "FS-SHA=$(sha256sum /mnt/data | cut -d' ' -f1)" && umount /mnt
	;;
2)
	mkdir -p /mnt && mount -t ext2 /dev/vdc /mnt &&
		echo "FS-SHA=$(sha256sum /mnt/data | cut -d' ' -f1)" && umount /mnt
	;;
hold)
	echo "GUEST-HOLDING"
	sleep 600
	;;
esac
