#!/bin/sh
# /test.sh of tools/guest-loss's L2 guest: while memcheck verifies a pattern in guest
# RAM, fio writes and verifies (crc32c) then reads at random at QD32 and QD1, all
# direct I/O through io_uring on /dev/vda. Prints LOSS-FIO-<step>=ok|fail per fio run
# and memcheck's result; LOSS-DONE at the end.
# Kernel command line: conduit.secs=N per read test, conduit.io=none (boot only),
# conduit.mem=MiB for memcheck (0: none).
secs=10 io=fio mem=64
# shellcheck disable=SC2013 # the command line is one line of words
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	conduit.secs=*) secs=${arg#conduit.secs=} ;;
	conduit.io=*) io=${arg#conduit.io=} ;;
	conduit.mem=*) mem=${arg#conduit.mem=} ;;
	esac
done

# What the guest was given, to compare VMMs: CPU flags, paravirtual features in use.
echo "LOSS-CPUFLAGS=$(sed -n 's/^flags[^:]*: //p' /proc/cpuinfo | head -n1)"
dmesg | grep -i 'kvm\|clocksource\|paravirt\|x2apic\|tsc' | sed 's/^/LOSS-DMESG: /'

[ "$mem" -gt 0 ] && /memcheck "$mem" &
checker=$!

fio_step() { # fio_step NAME FIO-ARGS...
	name=$1
	shift
	if fio --name="$name" --filename=/dev/vda --ioengine=io_uring --direct=1 --bs=4k \
		--output=/tmp/fio.out "$@"; then
		echo "LOSS-FIO-$name=ok"
		# fio's summary: "read: IOPS=1234, BW=..." (and "write: ..." for verify)
		sed -n 's/^ *\([a-z]*\): IOPS=\([^,]*\),.*/LOSS-IOPS-'"$name"'-\1=\2/p' /tmp/fio.out
	else
		echo "LOSS-FIO-$name=fail"
		sed 's/^/# /' /tmp/fio.out
	fi
}

if [ "$io" = fio ]; then
	[ -b /dev/vda ] || echo "LOSS-FIO-disk=fail (no /dev/vda)"
	fio_step verify --rw=randwrite --iodepth=32 --size=8M --verify=crc32c \
		--verify_fatal=1 --do_verify=1
	fio_step qd32 --rw=randread --iodepth=32 --runtime="$secs" --time_based
	fio_step qd1 --rw=randread --iodepth=1 --runtime="$secs" --time_based
fi

if [ "$mem" -gt 0 ]; then
	kill -TERM "$checker"
	wait "$checker"
fi
# Interrupts the guest took, all CPUs and kinds (the load each run put on the testbed).
echo "LOSS-IRQS=$(awk 'NR > 1 {for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break} END {print s + 0}' /proc/interrupts)"
echo "LOSS-DONE"
