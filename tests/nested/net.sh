#!/usr/bin/env bash
# Nested: the virtio-net device on a tap in L1, judged by the L2 guest's own virtio_net
# driver, once per datapath: vhost=off (conduit's io_uring loop) and vhost=on (L1's
# vhost-net). L1 makes a persistent multi-queue vnet_hdr tap, ctap0, with fe80::1 on
# it. Each VM has one vCPU and 2 queue pairs on ctap0 (virtio_net enables one per
# vCPU; the guest asks for the second with ethtool, over the control queue). The guest
# sees 1af4:1041 on virtio-pci and virtio_net, the MAC and MTU given, carrier, 2 rx and
# 2 tx queues, one MSI-X vector per queue; it pings L1 and sends 32 MiB each way over
# TCP (sha256 compared), each transfer pinned to its own tx queue (XPS), so both queue
# pairs carry packets each way (the tap sends a flow's replies to the queue it came
# from). vhost=on runs L1's vhost workers, vhost=off none. After the guest unbinds and
# binds virtio_net, then virtio-pci, the NIC is back (link, 2 queue pairs, ping) and
# 4 MiB go each way again. ctap0 outlives every VM. conduit only: given a tap that does
# not exist, conduit creates it (multi-queue, vnet_hdr, not persistent) and it goes
# when conduit does; bad --net values end with status 1 and one error line.
# Usage: net.sh CONDUIT          (the test suite)
#        net.sh --qemu           (the same guest checks with QEMU as the VMM, the
#                                 reference; run in tools/testbed)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$here/lib.sh"
vmm=conduit
if [ "${1:-}" = --qemu ]; then vmm=qemu; else CONDUIT=$1; fi

TAP=ctap0
NEW_TAP=ctapnew
L1_ADDR=fe80::1
# The guest connects to these (tests/nested/net-guest.sh): 32 MiB up, 32 MiB down,
# then 4 MiB up and 4 MiB down after the rebinds.
PORT_UP=5001 PORT_DOWN=5002 PORT_UP2=5003 PORT_DOWN2=5004
work=$(mktemp -d)
servers=()
pid=
cleanup() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null
	stop_servers
	ip link del "$TAP" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

sha() { sha256sum <"$1" | cut -d' ' -f1; }
link_exists() { ip link show "$1" >/dev/null 2>&1; }

# The L1 end of the guest's transfers: a one-shot TCP server on [::]:PORT (only the
# tap leads there from the guest). recv writes what arrives to FILE; send sends FILE,
# then waits for the guest to close. It creates MARK once it listens.
XFER='
import socket, sys
mode, port, path, mark = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("::", port))
srv.listen(1)
open(mark, "w").close()
conn, _ = srv.accept()
conn.settimeout(300)
if mode == "recv":
    with open(path, "wb") as f:
        while data := conn.recv(1 << 20):
            f.write(data)
else:
    with open(path, "rb") as f:
        conn.sendfile(f)
    conn.shutdown(socket.SHUT_WR)
    while conn.recv(1 << 16):
        pass
conn.close()
'

# serve recv|send PORT FILE MARK: one server in the background.
serve() {
	python3 -c "$XFER" "$@" &
	servers+=($!)
}

# start_servers LOG: the four servers one boot's guest connects to, listening before
# the VM starts.
start_servers() {
	rm -f "$1".listening-*
	serve recv "$PORT_UP" "$1.up" "$1.listening-up"
	serve send "$PORT_DOWN" "$work/down.bin" "$1.listening-down"
	serve recv "$PORT_UP2" "$1.up2" "$1.listening-up2"
	serve send "$PORT_DOWN2" "$work/down2.bin" "$1.listening-down2"
	for _ in $(seq 300); do
		[ "$(find "$work" -name "${1##*/}.listening-*" | wc -l)" -eq 4 ] && return 0
		sleep 0.2
	done
	bail "L1's transfer servers did not start"
}

# stop_servers: ends the servers no guest came to (by their pids; the others have
# ended) and forgets them all.
stop_servers() {
	[ ${#servers[@]} -gt 0 ] || return 0
	kill "${servers[@]}" 2>/dev/null
	wait "${servers[@]}" 2>/dev/null
	servers=()
}

# watch_l1 FILE: until killed, keeps in FILE the most vhost-net workers (threads named
# vhost-PID: kernel threads in 6.1, the VMM's own threads in later kernels) and the
# most queues attached to the tap seen at once, sampled every second.
watch_l1() {
	local v q vmax=0 qmax=0
	while :; do
		v=$(pgrep -cw '^vhost-[0-9]+$')
		q=$(ip -d link show "$TAP" 2>/dev/null | grep -o 'numqueues [0-9]*' | cut -d' ' -f2)
		[ "$v" -gt "$vmax" ] && vmax=$v
		[ "${q:-0}" -gt "$qmax" ] && qmax=$q
		printf 'VHOST-WORKERS=%s\nTAP-QUEUES=%s\n' "$vmax" "$qmax" >"$1.tmp" && mv "$1.tmp" "$1"
		sleep 1
	done
}

# vmm_command VHOST MAC MTU PLACE: sets cmd to the VMM's command line for one boot on
# the tap with 2 queue pairs; MTU empty: the device offers none (1500 in the guest);
# PLACE rp1: behind a PCIe root port, root: on the root bus.
vmm_command() {
	local vhost=$1 mac=$2 mtu=$3 place=$4 dev net
	if [ "$vmm" = qemu ]; then
		# shellcheck disable=SC2054 # the commas are QEMU's option syntax
		cmd=(qemu-system-x86_64 -accel kvm -M q35 -cpu host -smp 1 -m 512M -nodefaults
			-no-user-config -display none -serial stdio -no-reboot
			-kernel "$kernel" -initrd "$work/initrd.gz" -append "$append"
			-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,queues=2,vhost=$vhost")
		# vectors: config, control queue and 2 per pair
		dev="virtio-net-pci,netdev=n0,mq=on,vectors=6,mac=$mac${mtu:+,host_mtu=$mtu}"
		if [ "$place" = rp1 ]; then
			# shellcheck disable=SC2054 # QEMU's option syntax
			cmd+=(-device pcie-root-port,id=rp1,chassis=1,slot=1)
			dev+=",bus=rp1"
		else
			dev+=",disable-legacy=on" # modern only (1af4:1041), as behind a port
		fi
		cmd+=(-device "$dev")
	else
		net="tap=$TAP,mac=$mac,queues=2,vhost=$vhost${mtu:+,mtu=$mtu}"
		cmd=("$CONDUIT" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 1
			--memory 512M --cmdline "$append")
		if [ "$place" = rp1 ]; then
			# shellcheck disable=SC2054 # commas separate --pcie keys
			cmd+=(--pcie root-port,id=rp1)
			net+=",bus=rp1"
		fi
		cmd+=(--net "$net")
	fi
}

# boot LOG VHOST MAC MTU PLACE: one L2 boot (vmm_command) with L1's transfer servers
# and watch_l1 (LOG.l1) alongside; sets $status. One vCPU: the testbed loses 2-vCPU
# L2 guests far more often (README), and 2 queue pairs need no second vCPU.
boot() {
	local log=$1 watcher start=$SECONDS
	vmm_command "$2" "$3" "$4" "$5"
	start_servers "$log"
	rm -f "$log.up" "$log.up2"
	printf 'VHOST-WORKERS=\nTAP-QUEUES=\n' >"$log.l1" # nothing seen yet
	watch_l1 "$log.l1" &
	watcher=$!
	timeout 600 "${cmd[@]}" </dev/null 2>&1 | stdbuf -oL tr -d '\r' >"$log"
	status=${PIPESTATUS[0]}
	kill "$watcher"
	wait "$watcher" 2>/dev/null
	stop_servers
	echo "# ${log##*/}: the VM ran $((SECONDS - start)) s, status $status"
	if [ -z "${retried:-}" ] && testbed_killed "$log"; then
		retried=1 boot "$@"
		return
	fi
}

# sent_ok LOG KEY FILE: the guest sent KEY to its end, and FILE (what L1's server
# received) has the sha256 the guest computed before sending.
sent_ok() {
	[ "$(field "$1" "$2")" = ok ] && [ -s "$3" ] && [ "$(field "$1" "$2-SHA")" = "$(sha "$3")" ]
}

# got_ok LOG KEY FILE: the guest received KEY to its end: FILE's size and sha256.
got_ok() {
	[ "$(field "$1" "$2")" = ok ] && [ "$(field "$1" "$2-BYTES")" = "$(stat -c %s "$3")" ] &&
		[ "$(field "$1" "$2-SHA")" = "$(sha "$3")" ]
}

# busy_queues LOG rx|tx: the guest counted at least 100 packets on queue 0 and on 1.
busy_queues() {
	local q n
	for q in 0 1; do
		n=$(field "$1" "STAT-$2_queue_${q}_packets")
		[ "${n:-0}" -ge 100 ] || return 1
	done
}

# two_pairs LOG P: the device offers 2 queue pairs and, enabled, the interface has
# 2 rx and 2 tx queues.
two_pairs() {
	[ "$(field "$1" "$2-MAX-PAIRS")" = 2 ] && [ "$(field "$1" "$2-RX-QUEUES")" = 2 ] &&
		[ "$(field "$1" "$2-TX-QUEUES")" = 2 ]
}

# nic_back LOG P: state P shows virtio_net bound, link up and L1 answering pings.
nic_back() {
	[ "$(field "$1" "$2-DRIVER")" = virtio_net ] && [ "$(field "$1" "$2-CARRIER")" = 1 ] &&
		[ "$(field "$1" "$2-OPERSTATE")" = up ] && [ "$(field "$1" "$2-PING")" = ok ]
}

# rebound LOG KEY P: the guest's rebind KEY went through and state P after it is
# nic_back; after virtio-pci's (PREBIND) with 2 queue pairs again.
rebound() {
	[ "$(field "$1" "$2")" = ok ] && nic_back "$1" "$3" && { [ "$3" != PREBIND ] || two_pairs "$1" "$3"; }
}

# vhost_workers LOG N: watch_l1 saw at least N vhost-net workers during the boot.
vhost_workers() {
	local n
	n=$(field "$1.l1" VHOST-WORKERS)
	[ "${n:-0}" -ge "$2" ]
}

on_root_bus() { [[ "$1" == 0000:00:* ]]; }

# guest_checks LOG RUN VHOST MAC MTU PLACE: what one boot must show.
guest_checks() {
	local log=$1 run=$2 vhost=$3 mac=$4 mtu=$5 place=$6
	check "$run: guest powered off, status 0" [ "$status" -eq 0 ]
	check "$run: guest finished its test" [ "$(field "$log" NET-GUEST-DONE)" = 1 ]
	check "$run: 1af4:1041 bound to virtio-pci, its virtio device to virtio_net" \
		[ "$(field "$log" NET-ID)" = 1af4:1041 -a "$(field "$log" NET-PCI-DRIVER)" = virtio-pci \
		-a "$(field "$log" NET-DRIVER)" = virtio_net ]
	if [ "$place" = rp1 ]; then
		check "$run: the function sits behind a PCIe root port" \
			[ "$(field "$log" NET-PARENT-CLASS)" = 0x060400 ]
	else
		check "$run: the function sits on the root bus" on_root_bus "$(field "$log" NET-PCI)"
	fi
	check "$run: the MAC given, $mac" [ "$(field "$log" NET-MAC)" = "$mac" ]
	if [ -n "$mtu" ]; then
		check "$run: MTU $mtu, as given (VIRTIO_NET_F_MTU)" [ "$(field "$log" NET-MTU)" = "$mtu" ]
	else
		check "$run: MTU 1500 when none is given" [ "$(field "$log" NET-MTU)" = 1500 ]
	fi
	check "$run: link up: carrier 1, operstate up" \
		[ "$(field "$log" NET-CARRIER)" = 1 -a "$(field "$log" NET-OPERSTATE)" = up ]
	check "$run: 2 queue pairs offered; enabled, 2 rx and 2 tx queues" two_pairs "$log" NET
	check "$run: MSI-X, one vector for config and one per queue (5)" \
		[ "$(field "$log" NET-MSIX)" = 5 ]
	check "$run: ping6 $L1_ADDR from the guest" [ "$(field "$log" NET-PING)" = ok ]
	check "$run: 32 MiB guest -> L1 (on tx queue 1), sha256 matches" \
		sent_ok "$log" UP "$log.up"
	check "$run: 32 MiB L1 -> guest (its ACKs on tx queue 0), sha256 matches" \
		got_ok "$log" DOWN "$work/down.bin"
	check "$run: both tx queues sent >= 100 packets (XPS pinned each transfer)" \
		busy_queues "$log" tx
	check "$run: both rx queues received >= 100 packets (replies follow their flow's queue)" \
		busy_queues "$log" rx
	if [ "$vhost" = on ]; then
		check "$run: L1 ran a vhost-net worker per queue pair (2)" vhost_workers "$log" 2
	else
		check "$run: no vhost-net worker in L1" [ "$(field "$log.l1" VHOST-WORKERS)" = 0 ]
	fi
	check "$run: 2 queues attached to $TAP while it ran" [ "$(field "$log.l1" TAP-QUEUES)" = 2 ]
	check "$run: virtio_net unbound and bound again: link up, ping" \
		rebound "$log" REBIND-VIRTIO VREBIND
	check "$run: virtio-pci unbound and bound again: link up, 2 queue pairs, ping" \
		rebound "$log" REBIND-PCI PREBIND
	check "$run: then 4 MiB guest -> L1, sha256 matches" sent_ok "$log" UP2 "$log.up2"
	check "$run: then 4 MiB L1 -> guest, sha256 matches" got_ok "$log" DOWN2 "$work/down2.bin"
	check "$run: the persistent $TAP is still there after the VM" link_exists "$TAP"
	rm -f "$log.up" "$log.up2"
}

# conduit only: a tap it creates, bad --net values.
# hold_boot LOG: conduit on $NEW_TAP, which does not exist, in the background until its
# guest has virtio_net's interface (and then waits to be stopped) or conduit ends; sets
# $pid while conduit runs, $status once it ended. A guest the testbed kills first is
# booted once more, once.
hold_boot() {
	local log=$1
	"$CONDUIT" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 1 --memory 512M \
		--cmdline "$append conduit.net=hold" --net "tap=$NEW_TAP,queues=2" </dev/null >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 240); do
		grep -q '^NET-HOLDING=[[:alnum:]]' "$log" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	kill -0 "$pid" 2>/dev/null && return 1
	wait "$pid"
	status=$?
	pid=
	if [ -z "${retried:-}" ] && testbed_killed "$log"; then
		retried=1 hold_boot "$log"
		return
	fi
	return 1
}

# stop_conduit: SIGTERM to the conduit hold_boot started (SIGKILL after 30 s); sets status.
stop_conduit() {
	[ -n "$pid" ] || return 0
	kill -TERM "$pid"
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	pid=
}

# gone IFNAME: the interface is not there, or leaves within 5 s.
gone() {
	for _ in $(seq 50); do
		link_exists "$1" || return 0
		sleep 0.1
	done
	! link_exists "$1"
}

# created_tap FILE: `ip -d link show` in FILE shows a tap without packet information,
# with vnet_hdr and multi_queue, not persistent, with 2 queues: attached, or detached
# while the guest uses fewer pairs (QEMU does that; the hold guest enables none).
created_tap() {
	local n d
	grep -Eq 'tun type tap pi off vnet_hdr on multi_queue numqueues [0-9]+ numdisabled [0-9]+ persist off' "$1" || return 1
	n=$(grep -o 'numqueues [0-9]*' "$1" | cut -d' ' -f2)
	d=$(grep -o 'numdisabled [0-9]*' "$1" | cut -d' ' -f2)
	[ $((n + d)) -eq 2 ]
}

# A tap name that does not exist: conduit creates the tap, one queue per queue pair,
# not persistent, so that it goes with conduit's last file descriptor.
created_tap_checks() {
	local log=$work/new
	hold_boot "$log"
	check "tap=$NEW_TAP (no such tap): the VM runs, the guest has virtio_net's interface" \
		grep -q '^NET-HOLDING=[[:alnum:]]' "$log"
	ip -d link show "$NEW_TAP" >"$work/new-link" 2>&1
	sed 's/^/# /' "$work/new-link"
	check "... meanwhile $NEW_TAP is in L1: tap, vnet_hdr, multi_queue, 2 queues, not persistent" \
		created_tap "$work/new-link"
	stop_conduit
	tr -d '\r' <"$log" | sed 's/^/# new: /'
	check "... stopped by SIGTERM, conduit exits 0" ended_with "$log" 0 '^NET-HOLDING=[[:alnum:]]'
	check "... and $NEW_TAP is gone with it" gone "$NEW_TAP"
	check "... while the persistent $TAP stays" link_exists "$TAP"
}

# one_error LOG WHAT: the last run exited 1 and all it printed is one error line
# naming WHAT (an extended regex).
one_error() {
	[ "$status" -eq 1 ] && [ "$(grep -c . "$1")" -eq 1 ] && grep -Eq "^conduit: error: .*($2)" "$1"
}

# bad_net NAME WHAT NET: conduit refuses --net NET before the guest runs (a guest that
# does run does nothing: conduit.net=off).
bad_net() {
	run_conduit "$work/bad" run --kernel "$kernel" --initrd "$work/initrd.gz" --cpus 1 \
		--memory 512M --cmdline "$append conduit.net=off" --net "$3"
	check "$1: status 1, one error line" one_error "$work/bad" "$2"
}

conduit_checks() {
	created_tap_checks
	bad_net "a malformed MAC (mac=zz)" 'mac|zz' "tap=$TAP,mac=zz"
	bad_net "queues=0" 'queues' "tap=$TAP,queues=0"
	bad_net "queues=999" 'queues|999' "tap=$TAP,queues=999"
	bad_net "vhost=bogus" 'vhost|bogus' "tap=$TAP,vhost=bogus"
}

# The transfers keep L1's other CPU busy beside the guest's vCPU: unpinned, the
# testbed lost about half of these guests (README, "The testbed").
one_l1_cpu
kernel=$(guest_kernel)
load_module tun || bail "cannot load tun in L1"
load_module vhost_net || bail "cannot load vhost_net in L1"
[ -c /dev/vhost-net ] || bail "no /dev/vhost-net in L1 after loading vhost_net"
make_tap "$TAP" "$L1_ADDR" || bail "cannot make the tap $TAP with $L1_ADDR in L1"
! link_exists "$NEW_TAP" || bail "$NEW_TAP exists in L1 before the test"
echo "virtio_pci virtio_net" | tr ' ' '\n' >"$work/modules.list"
"$repo/tools/mkguest" --init "$here/guest-init" --out "$work/initrd.gz" \
	--modules "virtio_pci virtio_net" --bin ethtool \
	--add "$here/net-guest.sh:/test.sh" --add "$here/guest-lib.sh:/guest-lib.sh" \
	--add "$work/modules.list:/modules.list" ||
	bail "cannot build the guest image (ethtool is in tools/install-deps)"
head -c 32M /dev/urandom >"$work/down.bin"
head -c 4M /dev/urandom >"$work/down2.bin"
append="$GUEST_CMDLINE conduit.l1=$L1_ADDR"

if [ "$vmm" = qemu ]; then plan 42; else plan 51; fi
# vhost=off with an MTU behind a root port; vhost=on without one on the root bus.
boot "$work/vm-off" off 52:54:00:12:34:56 1400 rp1
guest_checks "$work/vm-off" "vhost=off" off 52:54:00:12:34:56 1400 rp1
boot "$work/vm-on" on 52:54:00:12:34:57 "" root
guest_checks "$work/vm-on" "vhost=on" on 52:54:00:12:34:57 "" root
[ "$vmm" = conduit ] && conduit_checks
if [ "$tap_failed" -ne 0 ]; then
	for vm in vm-off vm-on; do
		[ -e "$work/$vm" ] && sed "s/^/# $vm: /" "$work/$vm" "$work/$vm.l1"
	done
fi
finish
