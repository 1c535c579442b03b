# Shared by the nested tests, which run inside L1 (tools/testbed) and print TAP.
# Usage in a test: . lib.sh; plan N; ...; finish
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tap_n=0
tap_failed=0

plan() { echo "1..$1"; }

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
}

# check NAME COMMAND...: one TAP line from a command's status
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# finish: the test's status; says how long it ran in L1 (L1's boot not counted)
finish() {
	echo "# ${0##*/}: $tap_n checks, $tap_failed failed, took $SECONDS s"
	[ "$tap_failed" -eq 0 ]
}

# GUEST_CMDLINE: every nested guest's kernel command line starts with it.
# shellcheck source=tools/lib/l2-guest.sh
. "$repo/tools/lib/l2-guest.sh"

# The testbed's kernel serves as the L2 guest kernel too.
guest_kernel() {
	"$repo/tools/testbed" --kernel
}

# load_module M: loads M into L1 from the testbed's kernel tree, the kernel L1 runs
# (the chroot's own /lib/modules belongs to this machine's kernel). tun is loaded by
# L1's init already (TB_L1_MODULES).
load_module() {
	local kernel
	kernel=$(guest_kernel)
	[ -d "/sys/module/$1" ] || modprobe -C /dev/null -d "${kernel%/boot/*}" "$1"
}

# run_conduit LOG ARGS...: runs conduit with a time limit, stdout+stderr to LOG without
# CRs; sets $status. The console is not a terminal here, so no raw mode, no input.
run_conduit() {
	local log=$1
	shift
	timeout 600 "$CONDUIT" "$@" </dev/null 2>&1 | tr -d '\r' >"$log"
	status=${PIPESTATUS[0]}
	sed 's/^/# /' "$log"
}

# testbed_killed LOG: the last run's guest died as the testbed now and then kills an L2
# guest (README, "The testbed"): a triple fault, or (a guest booted with panic=-1, so
# that it ends at once) its kernel's double fault, an exception it could not even
# push: both are the guest seeing page tables that are not what it wrote. Says so and
# keeps LOG as LOG.crashed. The caller boots that guest once more, once; failed checks
# never rerun.
testbed_killed() {
	local how
	if [ "$status" -eq 2 ] && grep -q 'guest crashed: triple fault' "$1"; then
		how="a triple fault"
	elif [ "$status" -eq 0 ] && grep -q 'PANIC: double fault' "$1" &&
		grep -q 'guest rebooted' "$1"; then
		how="a double fault in its kernel"
	else
		return 1
	fi
	echo "# ${1##*/}: the guest died of $how (the testbed's); booting it once more"
	mv "$1" "$1.crashed"
}

# wait_holding LOG PID SECS: until the console in LOG says GUEST-HOLDING; fails at once
# when the guest's conduit PID ends instead ($status: its exit status), or after SECS
# seconds ($status: -1, still running). LOG may not exist yet: the background
# conduit's shell opens it after the fork.
wait_holding() {
	local end=$((SECONDS + $3))
	while [ "$SECONDS" -lt "$end" ]; do
		tr -d '\r' 2>/dev/null <"$1" | grep -q '^GUEST-HOLDING' && return 0
		if ! kill -0 "$2" 2>/dev/null; then
			wait "$2"
			status=$?
			return 1
		fi
		sleep 0.2
	done
	status=-1
	return 1
}

# run_guest LOG ARGS...: run_conduit for a guest that must live, booted once more if
# the testbed killed it.
run_guest() {
	run_conduit "$@"
	if testbed_killed "$1"; then run_conduit "$@"; fi
}

# field LOG NAME: the value of NAME=... the guest init printed
field() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# ended_with LOG STATUS TEXT: the last run exited STATUS and LOG contains TEXT
ended_with() {
	[ "$status" -eq "$2" ] && grep -q -- "$3" "$1"
}

# jget FILE EXPR: a value from a JSON file (a reply of conduit ctl --json), EXPR in
# Python over `j`; nothing when the file holds no JSON
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
# jtrue FILE EXPR: whether EXPR holds
jtrue() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if $2 else 1)" "$1" 2>/dev/null; }

# make_tap NAME ADDR: a persistent multi-queue vnet_hdr tap in L1 for VMs to attach
# to, up, with L1's end of the guest's link, the IPv6 link-local ADDR, usable at once
# (no DAD). It has carrier only while a VM is attached.
make_tap() {
	ip tuntap add dev "$1" mode tap multi_queue vnet_hdr &&
		echo 0 >"/proc/sys/net/ipv6/conf/$1/accept_dad" &&
		ip link set "$1" up &&
		ip -6 addr add "$2/64" dev "$1" nodad
}

# one_l1_cpu: this test and every guest it starts from now on run on L1's CPU 0. Two
# L2 vCPUs running at once on both of L1's CPUs is what loses guests and L1 itself,
# and so is one L2 vCPU beside a VMM (or L1 process) busy with its traffic on L1's
# other CPU (README, "The testbed"): a test that runs guests side by side, or moves
# much data through one, calls this.
one_l1_cpu() {
	taskset -pc 0 $$ >/dev/null
}

# guest_hung PID LOG: what a conduit whose guest stopped making progress was doing, as
# TAP comments: each thread's state and kernel stack, L1's last kernel lines, then
# SIGQUIT's flight recorder (every vCPU's registers and last exits) from LOG.
guest_hung() {
	local t i
	for t in /proc/"$1"/task/*; do
		echo "# hung: thread ${t##*/} $(cat "$t/comm") $(awk '/^State:/ {print $2}' "$t/status")" \
			"cpu time $(awk '{print $14 + $15}' "$t/stat") ticks"
		head -n 6 "$t/stack" 2>/dev/null | sed 's/^/#   /'
	done
	dmesg | tail -n 10 | sed 's/^/# hung: L1: /'
	kill -QUIT "$1" 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	tr -d '\r' <"$2" | grep -E '^conduit: (vCPU|terminating)' | sed 's/^/# hung: /'
}

# bail WHY: TAP's way to stop a test whose setup failed.
bail() {
	local first rest
	first=$(printf '%s\n' "$*" | head -n 1)
	rest=$(printf '%s\n' "$*" | tail -n +2)
	echo "Bail out! $first"
	[ -z "$rest" ] || printf '%s\n' "$rest" | sed '/^#/!s/^/# /'
	exit 1
}
