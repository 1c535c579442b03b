#!/bin/sh
# /init of the testbed's L1 (busybox sh, built into the initramfs by tools/testbed).
# tools/testbed shares a job directory with 9p tag "job" holding:
#   nonce  a random word that makes the console markers unforgeable by the command
#   cmd    the bash script to run in the chroot (cd to the caller's cwd + COMMAND)
#   rw     one "TAG PATH" line per --rw share
# Everything, including the markers tools/testbed looks for, goes to the console.

fail() {
	echo "testbed-init: $*"
	poweroff -f
}

# 9p with a large msize: reading L0's binaries over the default 8 KiB is slow.
mount_9p() {
	mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$1" "$2" "$3" ||
		fail "cannot mount 9p share '$2' at $3"
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# shellcheck disable=SC2046 # one module name per word
modprobe -a $(cat /etc/testbed-modules) || fail "cannot load $(cat /etc/testbed-modules)"

mount_9p ro job /job
mount_9p ro,cache=loose host /host
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /host/dev/pts
for dir in /host/dev/shm /host/tmp /host/run; do
	mount -t tmpfs tmpfs "$dir"
done
# cache=mmap: writes reach L0 at once, and shared writable mmap still works.
while read -r tag path; do
	mkdir -p "/host$path"
	mount_9p cache=mmap "$tag" "/host$path"
done </job/rw

# A heartbeat on the second serial port, which tools/testbed watches: an L1 that
# stops beating froze (the testbed's flaw), while a command that hangs in a live
# L1 leaves it beating until --timeout.
while :; do
	echo beat >/dev/ttyS1
	sleep 5
done &

nonce=$(cat /job/nonce)
echo "<<testbed-start:$nonce>>"
chroot /host /usr/bin/env -i HOME=/tmp LANG=C.UTF-8 \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	/bin/bash -c "$(cat /job/cmd)" </dev/null
status=$?
sync
echo "<<testbed-exit:$status:$nonce>>"
# tools/testbed stops QEMU once it has read the marker; powering off here instead
# could cut the console output short. This is only a fallback.
sleep 30
poweroff -f
