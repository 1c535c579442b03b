#!/bin/sh
# /test.sh of the block benchmark guests (tools/bench-blk, tools/bench-vfio): 4k random
# reads at QD1 and QD32, direct I/O through io_uring, printing IOPS-QD<n>=, the number
# of 4 KiB reads IOS-QD<n>= and the disk's interrupts meanwhile IRQS-QD<n>=; with
# conduit.write=1 random writes too, the same lines with W- (IOPS-W-QD<n>=, ...).
# Kernel command line: conduit.dev=vda (default) or conduit.dev=nvme (the first NVMe
# namespace, waited for); conduit.secs=N per test; conduit.bench=none skips fio (the
# run that measures boot-only exits).
secs=15 dev=vda write=
# shellcheck disable=SC2013 # the command line is one line of words
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	conduit.bench=none) exit 0 ;;
	conduit.secs=*) secs=${arg#conduit.secs=} ;;
	conduit.dev=*) dev=${arg#conduit.dev=} ;;
	conduit.write=1) write=1 ;;
	esac
done
if [ "$dev" = nvme ]; then
	# The nvme driver scans namespaces after probe returns; paths (nvme0c0n1) are not disks.
	n=150
	while [ "$n" -gt 0 ]; do
		for b in /sys/block/nvme*n*; do
			[ -e "$b" ] || continue
			case "${b##*/}" in *c*) ;; *) dev=${b##*/} && break 2 ;; esac
		done
		sleep 0.2
		n=$((n - 1))
	done
fi
echo "BENCH-DEV=$dev"
[ -b "/dev/$dev" ] || {
	echo "BENCH-ERROR=no block device /dev/$dev"
	exit 0
}
# The disk's interrupts so far: the sum over its /proc/interrupts lines.
irqs() {
	awk -v d="$1" '$NF ~ d {for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break} END {print s + 0}' /proc/interrupts
}
case "$dev" in nvme*) irq_name='^nvme[0-9]+q' ;; *) irq_name='^virtio[0-9]+-req' ;; esac
# run RW PREFIX QD: one fio run; its lines with PREFIX (terse v3: fields 6 and 8 are
# KiB and IOPS read, 47 and 49 written)
run() {
	before=$(irqs "$irq_name")
	fio --name=r --filename="/dev/$dev" --ioengine=io_uring --direct=1 --rw="$1" \
		--bs=4k --iodepth="$3" --runtime="$secs" --time_based --output-format=terse \
		>/tmp/fio.$3 2>&1 || {
		echo "BENCH-ERROR=fio failed"
		sed 's/^/# /' /tmp/fio.$3
	}
	case "$1" in randread) kib=6 iops=8 ;; *) kib=47 iops=49 ;; esac
	echo "IOPS-${2}QD$3=$(cut -d';' -f$iops /tmp/fio.$3)"
	echo "IOS-${2}QD$3=$(($(cut -d';' -f$kib /tmp/fio.$3) / 4))"
	echo "IRQS-${2}QD$3=$(($(irqs "$irq_name") - before))"
}
for qd in 1 32; do
	run randread "" "$qd"
	[ -z "$write" ] || run randwrite W- "$qd"
done
