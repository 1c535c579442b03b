# shellcheck shell=bash
# What every L2 guest booted in the testbed's L1 starts from, for the nested tests
# (tests/nested/lib.sh) and the benchmarks that boot guests under both VMMs
# (tools/bench-blk, tools/bench-net). Source it; it defines GUEST_* variables only.

# Every such guest's kernel command line starts with this. panic=-1: a guest kernel
# that panics (the testbed's double fault among them, README "The testbed") reboots at
# once, which ends its VM (conduit, and QEMU under -no-reboot), instead of the test or
# benchmark waiting out its time limit.
# shellcheck disable=SC2034 # used by the scripts that source this file
GUEST_CMDLINE="console=ttyS0 quiet panic=-1"
