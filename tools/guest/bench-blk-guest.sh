#!/bin/sh
# /test.sh of the block benchmark guest: 4k random reads on /dev/vda at QD1 and QD32,
# direct I/O through io_uring, printing IOPS. conduit.bench=none skips fio (the run that
# measures boot-only exits).
secs=15
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	conduit.bench=none) exit 0 ;;
	conduit.secs=*) secs=${arg#conduit.secs=} ;;
	esac
done
for qd in 1 32; do
	fio --name=r --filename=/dev/vda --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
		--iodepth=$qd --runtime="$secs" --time_based --output-format=terse \
		>/tmp/fio.$qd 2>&1
	# terse v3: field 6 is read I/Os issued, field 8 read IOPS
	echo "IOPS-QD$qd=$(cut -d';' -f8 /tmp/fio.$qd)"
	echo "IOS-QD$qd=$(cut -d';' -f6 /tmp/fio.$qd)"
done
