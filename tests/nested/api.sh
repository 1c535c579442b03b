#!/usr/bin/env bash
# Nested: the control socket (--api-socket and `conduit ctl`) on a running guest with a
# virtio disk on root port rp1, virtio-rng on pcie.0 and L1's edu device assigned
# through VFIO on root port rp2. `info` gives each device's guest BDF as the guest's
# own sysfs shows it (and the assigned one's host BDF); `counters` counts exits;
# `pause` stops the vCPUs (no exits, no guest output) with the guest's clock held, and
# `resume` goes on; a bad request gets an error reply and the VM runs on; another uid
# is refused; `events` streams paused, resumed and guest-powered-off; `power-button`
# makes the guest's acpid power it off: status 0, the socket gone.
# Usage: api.sh CONDUIT
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"
# shellcheck source=tools/lib/l1-vfio.sh
. "$repo/tools/lib/l1-vfio.sh"
CONDUIT=$1
work=$(mktemp -d)
sock=$work/api.sock
vm=
cleanup() {
	[ -z "$vm" ] || kill -9 "$vm" 2>/dev/null
	l1v_restore_all >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

l1v_check_host || bail "L1 cannot do VFIO"
l1v_bind_vfio "$L1V_EDU" >/dev/null || bail "edu to vfio-pci"
echo "virtio_pci virtio_blk virtio-rng button evdev" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/initrd.gz" \
	--modules "virtio_pci virtio_blk virtio-rng button evdev" \
	--add "$here/api-guest.sh:/test.sh" --add "$here/guest-lib.sh:/guest-lib.sh" \
	--add "$work/modules.list:/modules.list"
truncate -s 16M "$work/disk.img"
kernel=$(guest_kernel)

ctl() { "$CONDUIT" ctl "$@"; }
ticks() { grep -c '^GUEST-TICK ' "$work/vm"; }
# the guest's uptime at its tick number N
tick_uptime() { sed -n "s/^GUEST-TICK $1 \([0-9.]*\).*/\1/p" "$work/vm"; }
last_tick() { grep '^GUEST-TICK ' "$work/vm" | tail -n 1 | cut -d' ' -f2; }

# Boots the VM in the background; true once the guest ticks.
boot_vm() {
	"$CONDUIT" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 2 --memory 256M \
		--pcie root-port,id=rp1 --pcie root-port,id=rp2 \
		--disk "path=$work/disk.img,bus=rp1" --rng --vfio "host=$L1V_EDU,bus=rp2" \
		--api-socket "$sock" --cmdline "$GUEST_CMDLINE" </dev/null >"$work/vm" 2>&1 &
	vm=$!
	for _ in $(seq 360); do
		grep -q '^GUEST-TICK 1 ' "$work/vm" && return 0
		kill -0 "$vm" 2>/dev/null || break
		sleep 0.5
	done
	wait "$vm"
	status=$?
	vm=
	return 1
}

plan 27

if ! boot_vm && ! { testbed_killed "$work/vm" && boot_vm; }; then
	tr -d '\r' <"$work/vm" | sed 's/^/# /'
	bail "the guest did not come up"
fi
check "the control socket is a socket, mode 0600" \
	[ "$(stat -c %F:%a "$sock")" = "socket:600" ]

ctl --json "$sock" info >"$work/info.json"
sed 's/^/# /' "$work/info.json"
check "info: running, 2 vCPUs, 256 MiB" \
	[ "$(jget "$work/info.json" '(j["state"], j["vcpus"], j["memory_bytes"])')" = "('running', 2, 268435456)" ]
check "info lists disk0, rng0 and vfio0" \
	[ "$(jget "$work/info.json" '" ".join(d["id"] + ":" + d["kind"] for d in j["devices"])')" = \
		"disk0:virtio-blk rng0:virtio-rng vfio0:vfio" ]
grep '^GUEST-PCI ' "$work/vm" | sed 's/^/# /'
# guest_bdf ID: where info says the device is; guest_has BDF VEN:DEV: the guest agrees
guest_bdf() { jget "$work/info.json" "[d['guest_bdf'] for d in j['devices'] if d['id'] == '$1'][0]"; }
guest_has() { grep -q "^GUEST-PCI $1 $2 driver=$3" "$work/vm"; }
check "disk0 is where the guest sees its virtio-blk, bound to virtio-pci" \
	guest_has "$(guest_bdf disk0)" 0x1af4:0x1042 virtio-pci
check "rng0 is where the guest sees its virtio-rng" \
	guest_has "$(guest_bdf rng0)" 0x1af4:0x1044 virtio-pci
check "vfio0 is where the guest sees the edu device" \
	guest_has "$(guest_bdf vfio0)" 0x1234:0x11e8 none
check "ports and host BDF: disk0 on rp1, rng0 on pcie.0, vfio0 = L1's $L1V_EDU on rp2" \
	[ "$(jget "$work/info.json" '" ".join("%s@%s=%s" % (d["id"], d["port"], d["host_bdf"]) for d in j["devices"])')" = \
		"disk0@rp1=None rng0@pcie.0=None vfio0@rp2=$L1V_EDU" ]
ctl "$sock" info >"$work/info.txt"
sed 's/^/# /' "$work/info.txt"
check "the table has the same row for vfio0" \
	grep -Eq "^vfio0 +vfio +$(guest_bdf vfio0) +$L1V_EDU +rp2 " "$work/info.txt"

ctl "$sock" counters | sed 's/^/# /'
ctl --json "$sock" counters >"$work/c1.json"
check "counters: both vCPUs have exits" \
	jtrue "$work/c1.json" 'len(j["vcpus"]) == 2 and all(v["exits"] > 0 for v in j["vcpus"])'

ctl --json "$sock" events >"$work/events" 2>&1 &
events=$!
sleep 1

t0=$SECONDS
check "pause answers with state paused" [ "$(ctl "$sock" pause)" = "state   paused" ]
before=$(last_tick)
ctl --json "$sock" counters >"$work/c2.json"
n_paused=$(ticks)
sleep 8
ctl --json "$sock" counters >"$work/c3.json"
check "paused: no vCPU exits in 8 s" cmp -s "$work/c2.json" "$work/c3.json"
check "paused: the guest printed nothing in 8 s" [ "$(ticks)" -eq "$n_paused" ]
check "info says paused" [ "$(ctl --json "$sock" info | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = paused ]
check "resume answers with state running" [ "$(ctl "$sock" resume)" = "state   running" ]
paused_s=$((SECONDS - t0))
for _ in $(seq 20); do [ "$(last_tick)" -gt $((before + 1)) ] && break; sleep 0.5; done
check "resumed: the guest ticks again" [ "$(last_tick)" -gt $((before + 1)) ]
gap=$(python3 -c "print(round(float('$(tick_uptime $((before + 1)))') - float('$(tick_uptime "$before")'), 2))")
echo "# paused for $paused_s s; the guest's clock advanced $gap s between ticks $before and $((before + 1))"
check "the guest's clock stood still while paused ($gap s between two ticks, paused $paused_s s)" \
	python3 -c "import sys; sys.exit(0 if $gap < 4 else 1)"

printf 'not json\n' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.makefile().readline().strip())' "$sock" >"$work/bad"
sed 's/^/# /' "$work/bad"
check "a request that is not JSON gets an error reply" grep -q '^{"error":"the request is not one JSON object' "$work/bad"
ctl "$sock" frobnicate >"$work/unknown" 2>&1
status=$?
check "an unknown command: status 1 and a line naming it" \
	ended_with "$work/unknown" 1 "conduit: error: unknown command 'frobnicate'"
check "the VM runs on" [ "$(ctl "$sock" info | head -n 1)" = "state   running" ]

chmod 755 "$work"
setpriv --reuid 65534 --regid 65534 --clear-groups "$CONDUIT" ctl "$sock" info >"$work/nobody" 2>&1
status=$?
check "another uid cannot open the 0600 socket: status 1, permission denied" \
	ended_with "$work/nobody" 1 "permission denied"
chmod 666 "$sock"
setpriv --reuid 65534 --regid 65534 --clear-groups "$CONDUIT" ctl "$sock" info >"$work/nobody2" 2>&1
status=$?
check "with the file opened up, conduit itself refuses uid 65534 (SO_PEERCRED)" \
	ended_with "$work/nobody2" 1 "uid 65534 is neither conduit's user"
chmod 600 "$sock"

check "power-button is accepted, with the guest's button driver listening" \
	[ "$(ctl --json "$sock" power-button | python3 -c 'import json,sys; print(json.load(sys.stdin)["guest_enabled"])')" = True ]
wait "$vm"
status=$?
vm=
tr -d '\r' <"$work/vm" | grep -v '^GUEST-TICK' | sed 's/^/# /'
check "the press reaches the guest's acpid" grep -q '^GUEST-POWER-BUTTON' "$work/vm"
check "the guest powers off: status 0" ended_with "$work/vm" 0 "guest powered off (ACPI S5)"
wait "$events"
sed 's/^/# /' "$work/events"
check "events: paused, resumed, guest-powered-off, then the stream ends" \
	[ "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["event"] for l in open(sys.argv[1]) if l.startswith("{\"event")))' "$work/events")" = \
		"paused resumed guest-powered-off" ]
check "the socket is removed at exit" [ ! -e "$sock" ]
ctl "$sock" info >"$work/gone" 2>&1
status=$?
check "ctl on it: status 1, no such socket" ended_with "$work/gone" 1 "no such socket: is conduit running"
finish
