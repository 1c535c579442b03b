# shellcheck shell=sh
# Helpers for the L2 guests' /test.sh scripts (busybox sh), added to their images
# as /guest-lib.sh.

# wait_for SECS COMMAND...: polls COMMAND every 0.2 s for up to SECS seconds.
wait_for() {
	wf_tries=$(($1 * 5)) # not n: callers loop with n
	shift
	while [ "$wf_tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		wf_tries=$((wf_tries - 1))
	done
	"$@"
}

# netdev_of DRIVER: the first network interface of a device bound to DRIVER (a PCI
# function, or a virtio device: virtio_net).
netdev_of() {
	for n in /sys/bus/pci/drivers/"$1"/*/net/* /sys/bus/virtio/drivers/"$1"/*/net/*; do
		[ -e "$n" ] && echo "${n##*/}" && return 0
	done
	return 1
}

has_carrier() { [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" = 1 ]; }

# Up, with its link-local address: before that, a ping or connect finds no route.
is_up() {
	[ "$(cat "/sys/class/net/$1/operstate" 2>/dev/null)" = up ] &&
		ip -6 addr show dev "$1" scope link | grep -q inet6
}

# nvme_ns: the first NVMe namespace's block device name (nvme0n1).
nvme_ns() {
	for b in /sys/block/nvme*n*; do
		case "${b##*/}" in *c*) continue ;; esac # a multipath path, not the disk
		[ -e "$b" ] && echo "${b##*/}" && return 0
	done
	return 1
}

# fio_verify DEV: 16 MiB of random 4k writes through io_uring, O_DIRECT, read back
# against their crc32c; prints FIO-VERIFY=ok, or =failed and fio's log as comments.
fio_verify() {
	if fio --name=verify --filename="$1" --ioengine=io_uring --direct=1 --rw=randwrite \
		--bs=4k --iodepth=16 --size=16M --verify=crc32c --do_verify=1 \
		--verify_fatal=1 >/tmp/fio.log 2>&1; then
		echo "FIO-VERIFY=ok"
	else
		echo "FIO-VERIFY=failed"
		sed 's/^/# /' /tmp/fio.log
	fi
}
