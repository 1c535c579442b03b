#!/usr/bin/env bash
# Nested: conduit boots the Debian kernel to an L2 init with 2 vCPUs, and each way a
# guest can end (power-off, reboot through ACPI, the 8042 and a triple fault, a crash)
# gives the exit status README promises; SIGQUIT dumps a hung guest's state.
# Usage: boot.sh CONDUIT MKBZIMAGE
. "$(dirname "$0")/lib.sh"
CONDUIT=$1
MKBZIMAGE=$2
work=$(mktemp -d)
kernel=$(guest_kernel)
"$repo/tools/mkguest" --init "$repo/tests/nested/guest-init" --out "$work/initrd.gz"

plan 15

# A 2-vCPU, 256 MiB guest: it must see both CPUs, about 256 MiB and our command line.
run_guest "$work/poweroff" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 2 \
	--memory 256M --cmdline "$GUEST_CMDLINE conduit.end=poweroff" --stats
check "power-off exits 0" [ "$status" -eq 0 ]
check "guest sees 2 vCPUs" [ "$(field "$work/poweroff" GUEST-CPUS)" = 2 ]
check "both vCPUs online" [ "$(field "$work/poweroff" GUEST-ONLINE)" = 0-1 ]
mem=$(field "$work/poweroff" GUEST-MEMTOTAL-KB)
check "guest memory is 200..256 MiB (MemTotal ${mem:-none} kB)" \
	[ "${mem:-0}" -gt 204800 -a "${mem:-0}" -le 262144 ]
check "guest gets our command line" \
	grep -qx "GUEST-CMDLINE=$GUEST_CMDLINE conduit.end=poweroff" "$work/poweroff"
check "ACPI tables reach the guest" grep -q "^GUEST-ACPI=.*DSDT.*FACP.*" "$work/poweroff"
check "power-off is reported" grep -q "guest powered off (ACPI S5)" "$work/poweroff"

# Reboot through the kernel's default path (ACPI reset register) and the 8042: both end
# conduit with 0. (A reboot=t triple fault cannot be told from a crash on this AMD L1:
# KVM resets the vCPU state first; tests/unit/test_shutdown.c covers the decision.)
for how in acpi kbd; do
	case $how in
	acpi) args="" want="reset control register" ;;
	kbd) args="reboot=k" want="8042 keyboard controller reset" ;;
	esac
	run_guest "$work/reboot-$how" run --kernel "$kernel" --initrd "$work/initrd.gz" \
		--cmdline "$GUEST_CMDLINE conduit.end=reboot $args"
	check "reboot via $how exits 0 ($want)" ended_with "$work/reboot-$how" 0 "$want"
done

# A guest that triple-faults on its own is a crash: status 2 and one line with RIP.
"$MKBZIMAGE" "$work/crash.bzImage"
run_conduit "$work/crash" run --kernel "$work/crash.bzImage"
check "triple-faulting guest exits 2" [ "$status" -eq 2 ]
check "crash line names the reason" \
	grep -q "conduit: guest crashed: triple fault (KVM_EXIT_SHUTDOWN) on vCPU 0" "$work/crash"
# The flight recorder follows: the guest's one port write, then the shutdown exit.
check "flight recorder shows the last port write" \
	grep -q "conduit: vCPU 0:   [-+][0-9.]* s  pio out port 0x0080 size 1 data 0x42" "$work/crash"
check "flight recorder ends with the shutdown" \
	grep -q "conduit: vCPU 0:   [-+][0-9.]* s  shutdown (triple fault)" "$work/crash"

# A guest that spins with interrupts off says nothing; SIGQUIT stops it with status 0
# and dumps where it is and what it did last.
"$MKBZIMAGE" --hang "$work/hang.bzImage"
"$CONDUIT" run --kernel "$work/hang.bzImage" </dev/null >"$work/hang" 2>&1 &
hung=$!
sleep 3
kill -QUIT "$hung"
wait "$hung"
status=$?
sed 's/^/# /' "$work/hang"
check "SIGQUIT stops a hung guest with status 0 ($status)" eval \
	'[ "$status" -eq 0 ] && grep -q "conduit: terminating on signal Quit" "$work/hang"'
check "SIGQUIT dumps its registers and last exits (its port write)" eval \
	'grep -q "conduit: vCPU 0: rip 0000000000" "$work/hang" &&
	 grep -q "conduit: vCPU 0:   [-+][0-9.]* s  pio out port 0x0080 size 1 data 0x43" "$work/hang"'

rm -rf "$work"
finish
