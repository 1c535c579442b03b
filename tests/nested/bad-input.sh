#!/usr/bin/env bash
# Nested: bad usage and bad host state end conduit with status 1 and one clear line,
# before the guest runs. Usage: bad-input.sh CONDUIT
. "$(dirname "$0")/lib.sh"
CONDUIT=$1
work=$(mktemp -d)
kernel=$(guest_kernel)
echo "not a kernel" >"$work/text"
truncate -s 300M "$work/big-initrd"

plan 14

# expect_bad NAME TEXT ARGS...: status 1 and an error line containing TEXT
expect_bad() {
	local name=$1 text=$2
	shift 2
	run_conduit "$work/log" "$@"
	check "$name" ended_with "$work/log" 1 "conduit: error: .*$text"
}

expect_bad "missing kernel file" "cannot open kernel" run --kernel "$work/nope"
expect_bad "kernel that is not a bzImage" "too small to be a bzImage" run --kernel "$work/text"
expect_bad "initrd too large for memory" "does not fit in guest RAM" \
	run --kernel "$kernel" --initrd "$work/big-initrd" --memory 256M
expect_bad "memory too small" "out of range" run --kernel "$kernel" --memory 8M
expect_bad "memory too large" "out of range" run --kernel "$kernel" --memory 4T
expect_bad "memory not a size" "is not a size" run --kernel "$kernel" --memory lots
expect_bad "zero cpus" "out of range" run --kernel "$kernel" --cpus 0
expect_bad "too many cpus" "out of range" run --kernel "$kernel" --cpus 300
expect_bad "unknown option" "unknown option" run --kernel "$kernel" --frobnicate
expect_bad "unknown command" "unknown command" frobnicate
expect_bad "a guest node on a host node that does not exist" "this host has no node 7" \
	run --kernel "$kernel" --numa node=0,cpus=0,memory=512M,host-node=7
expect_bad "guest nodes whose memory does not add up" "make them equal" \
	run --kernel "$kernel" --cpus 2 --numa node=0,cpus=0,memory=256M --numa node=1,cpus=1,memory=128M
expect_bad "a root port on a root complex not defined" "no root complex 'rc9'" \
	run --kernel "$kernel" --pcie root-port,id=p,bus=rc9
# No /dev/kvm: hide it in a private mount namespace; the error points at the testbed.
unshare -m sh -c "mount -t tmpfs none /dev && exec $CONDUIT run --kernel $kernel" \
	>"$work/log" 2>&1
status=$?
sed 's/^/# /' "$work/log"
check "no /dev/kvm" ended_with "$work/log" 1 "/dev/kvm does not exist.*tools/testbed"

rm -rf "$work"
finish
