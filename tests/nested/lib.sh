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

finish() {
	[ "$tap_failed" -eq 0 ]
}

# The testbed's kernel serves as the L2 guest kernel too.
guest_kernel() {
	"$repo/tools/testbed" --kernel
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

# field LOG NAME: the value of NAME=... the guest init printed
field() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# ended_with LOG STATUS TEXT: the last run exited STATUS and LOG contains TEXT
ended_with() {
	[ "$status" -eq "$2" ] && grep -q -- "$3" "$1"
}
