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
