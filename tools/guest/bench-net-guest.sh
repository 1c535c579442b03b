#!/bin/sh
# /test.sh of the network benchmark guests (tools/bench-net), run by
# tests/nested/guest-init in an image with the modules virtio_pci virtio_net igbvf and
# the programs iperf3 and qperf. The guest has one NIC whose other end in L1 has the
# IPv6 link-local address conduit.l1 (a tap for virtio-net, the igb PF for an igb VF),
# where iperf3 -s and qperf run. It prints KEY=value lines for L1 to read:
#   NET-IF=eth0 NET-DRIVER=virtio_net|igbvf NET-CARRIER=1|0 NET-PING=ok|failed
#   NET-TXQ=N     tx queues the interface uses
#   MBITS-up1= MBITS-down1= MBITS-up4= MBITS-down4=   iperf3 TCP, receiver's Mbit/s:
#                 up = guest -> L1, down = L1 -> guest (-R); 1 or 4 streams (-P)
#   RETR-up1= ... the sender's TCP retransmits in that test
#   RR-US=        qperf tcp_lat: half the round trip of a 1-byte TCP request/response
#                 (qperf's one-way latency), in microseconds
#   PING-US=      ping6's average round trip (secs*5 pings, 0.2 s apart), in microseconds
#   NET-PKTS=N    the NIC's rx+tx packets (/proc/net/dev) over the measurements
#   BENCH-ERROR=what  something the numbers cannot be trusted without
#   NET-BENCH-DONE=1  at the end
# The numbers come at the end, space-padded to fixed widths; the boot-only run prints
# the same lines with zeros (and the same progress lines), so that both write as many
# bytes to the console (each byte costs exits to the VMM; L1 subtracts that run's).
# Kernel command line: conduit.l1=ADDR (default fe80::1); conduit.nic=virtio_net|igbvf
# (default virtio_net); conduit.secs=N per test (default 10); conduit.bench=none: the
# NIC is brought up and pings once, nothing is measured (the run whose exits L1
# subtracts).
l1=fe80::1 nic=virtio_net secs=10 bench=all
# shellcheck disable=SC2013 # the command line is one line of words
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	conduit.l1=*) l1=${arg#conduit.l1=} ;;
	conduit.nic=*) nic=${arg#conduit.nic=} ;;
	conduit.secs=*) secs=${arg#conduit.secs=} ;;
	conduit.bench=*) bench=${arg#conduit.bench=} ;;
	esac
done

# shellcheck source=tests/nested/guest-lib.sh
. /guest-lib.sh

# stamp WHAT: a progress line, fixed-width (the boot-only run prints the same ones).
stamp() { printf '# at %9.2f s: %s\n' "${at:-$(cut -d' ' -f1 /proc/uptime)}" "$*"; }

# netdev: the interface of the device bound to $nic (virtio_net or igbvf).
netdev() { netdev_of "$nic"; }

# packets: the interface's received plus transmitted packets.
packets() {
	awk -v d="$dev:" '{sub(/^ */, "")} index($0, d) == 1 {
		sub(/^[^:]*:/, ""); split($0, f, " "); print f[2] + f[10]; exit }' /proc/net/dev
}

# iperf TEST ARGS...: one iperf3 client run; sets mbits_TEST (the receiver's rate)
# and retr_TEST (the sender's retransmits). A run that fails or does not end in time
# leaves them empty and says so.
iperf() {
	t=$1
	shift
	if timeout $((secs + 40)) iperf3 -c "$l1%$dev" -t "$secs" -f m "$@" >/tmp/iperf.log 2>&1; then
		# The last "receiver"/"sender" lines: the only stream's, or [SUM] with -P. A
		# sender line ends in its retransmits, after the rate.
		eval "$(awk -v t="$t" '/receiver|sender/ {for (i = 2; i < NF; i++) if ($i == "Mbits/sec") {
			if ($NF == "receiver") m = $(i - 1); else r = $(i + 1) } }
			END {if (m ~ /^[0-9.]+$/) print "mbits_" t "=" m; if (r ~ /^[0-9]+$/) print "retr_" t "=" r}' /tmp/iperf.log)"
	else
		echo "BENCH-ERROR=iperf3 $t failed"
		sed 's/^/# iperf3: /' /tmp/iperf.log | tail -n 5
	fi
	stamp "iperf3 $t done"
}

# rr: qperf's TCP request/response latency in microseconds, to rr_us.
rr() {
	if timeout $((secs + 40)) qperf "$l1%$dev" -t "$secs" tcp_lat >/tmp/qperf.log 2>&1; then
		rr_us=$(awk '$1 == "latency" {v = $3; u = $4} END {
			m = (u == "ns") ? 0.001 : (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "sec") ? 1000000 : -1
			if (v != "" && m > 0) printf "%.1f", v * m }' /tmp/qperf.log)
	else
		echo "BENCH-ERROR=qperf tcp_lat failed"
		sed 's/^/# qperf: /' /tmp/qperf.log | tail -n 5
	fi
	stamp "qperf tcp_lat done"
}

# pingrtt: ping6's average round trip over secs seconds in microseconds, to ping_us.
pingrtt() {
	ping6 -c $((secs * 5)) -i 0.2 -I "$dev" "$l1" >/tmp/ping.log 2>&1
	# busybox: "round-trip min/avg/max = 0.215/0.301/0.550 ms"
	ping_us=$(awk -F'[/ ]+' '/round-trip/ {printf "%.1f", $(NF - 2) * 1000}' /tmp/ping.log)
	[ -n "$ping_us" ] || {
		echo "BENCH-ERROR=ping6 failed"
		sed 's/^/# ping6: /' /tmp/ping.log | tail -n 5
	}
	stamp "ping6 done"
}

# num VALUE WIDTH CONV: VALUE right-aligned in WIDTH columns (printf's %WIDTHCONV), or a
# dash as wide when it is missing.
num() {
	# shellcheck disable=SC2059 # the format is built from the arguments
	if [ -n "$1" ]; then printf "%$2$3" "$1"; else printf "%$2s" -; fi
}

report() {
	for t in up1 down1 up4 down4; do
		m='' r=''
		eval "m=\${mbits_$t:-} r=\${retr_$t:-}"
		echo "MBITS-$t=$(num "$m" 10 .1f)"
		echo "RETR-$t=$(num "$r" 8 d)"
	done
	echo "RR-US=$(num "$rr_us" 10 .1f)"
	echo "PING-US=$(num "$ping_us" 10 .1f)"
	echo "NET-PKTS=$(num "$pkts" 12 d)"
}

ip link set lo up
wait_for 20 netdev >/dev/null
dev=$(netdev) || {
	echo "BENCH-ERROR=no interface of $nic"
	exit 0
}
echo 0 >"/proc/sys/net/ipv6/conf/$dev/accept_dad"
ip link set "$dev" up
wait_for 15 has_carrier "$dev"
wait_for 10 is_up "$dev"
echo "NET-IF=$dev"
echo "NET-DRIVER=$nic"
echo "NET-CARRIER=$(cat "/sys/class/net/$dev/carrier" 2>/dev/null || echo 0)"
echo "NET-TXQ=$(find "/sys/class/net/$dev/queues" -mindepth 1 -maxdepth 1 -name 'tx-*' | wc -l)"
# The first echo may go out before the neighbour is resolved: allow a few.
if ping6 -c 3 -w 10 -I "$dev" "$l1" >/tmp/ping.log 2>&1 &&
	grep -q ' [1-3] packets received' /tmp/ping.log; then
	echo "NET-PING=ok"
else
	echo "NET-PING=failed"
	echo "BENCH-ERROR=no ping6 to $l1 on $dev"
	sed 's/^/# /' /tmp/ping.log
	exit 0
fi
stamp "interface up"
if [ "$bench" = none ]; then
	at=0
	for t in up1 down1 up4 down4; do
		eval "mbits_$t=0 retr_$t=0"
		stamp "iperf3 $t done"
	done
	stamp "qperf tcp_lat done"
	stamp "ping6 done"
	rr_us=0 ping_us=0 pkts=0
else
	rr_us='' ping_us=''
	before=$(packets)
	iperf up1
	iperf down1 -R
	iperf up4 -P 4
	iperf down4 -P 4 -R
	rr
	pingrtt
	pkts=$(($(packets) - before))
fi
report
echo "NET-BENCH-DONE=1"
