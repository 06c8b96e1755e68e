#!/bin/bash
# Cold resolution over a slow path (issue 13): how long vigild, Unbound and Knot Resolver take to
# resolve a name that needs root -> TLD -> zone with an empty cache, when every authoritative
# reply arrives DELAY ms late, against the minimum: 3 round trips (a referral from the root, one
# from the TLD, the answer; every name below has glue at each step).
#
# This kernel has no netem qdisc, so the delay is built from namespaces: the script runs in its
# own network namespace (it re-runs itself under `unshare -n`) holding a private lab (tests/lab,
# its own run directory); each resolver runs in a second namespace whose only way to 127.0.0.0/8
# (but 127.0.0.1, where it listens) is a TUN device; contrib/bench/delayrelay copies packets
# between that device and one in the lab's namespace and holds every packet coming back from
# the lab for DELAY ms. Loopback and namespaces this script creates only; bounded in time.
#
#   contrib/bench/coldlat.sh [BUILD_DIR]     (default build; env DELAY (ms, 20), SERVERS,
#                                             VALIDATE=0 for iterators only;
#                                             by default all validate with the lab's anchor)
# With RESULTS=FILE, "server metric value" lines are appended to FILE (contrib/bench/run-all.sh).
# Output: one line per server (each name's time, their median, median / (3 x DELAY)), and
# vigild's ratios to the others.
set -euo pipefail

if [ -z "${CL_NETNS:-}" ]; then
	exec unshare -n env CL_NETNS=1 bash ${CL_TRACE:+-x} "$0" "$@"
fi
ip link set lo up

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/contrib/bench/privlab.sh"
BUILD=$(realpath "${1:-build}")
VIGILD="$BUILD/daemon/vigild"
RELAY="$BUILD/contrib/bench/delayrelay"
DELAY=${DELAY:-20}
SERVERS=${SERVERS:-vigild unbound kresd}
VALIDATE=${VALIDATE:-1}
NAMES=${NAMES:-www.example.com www.example.net www.example.org www.secure.org}
[ -x "$VIGILD" ] && [ -x "$RELAY" ] || { echo "coldlat.sh: build first: ninja -C $BUILD" >&2; exit 1; }

T=$(mktemp -d /tmp/vg-coldlat-XXXXXX)
RPID= REL= SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null || true
	[ -n "$REL" ] && kill "$REL" 2>/dev/null && wait "$REL" 2>/dev/null || true
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null || true
	privlab_down "$T/lab"
	rm -rf "$T"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The lab in this namespace.
privlab_up "$T/lab" "${VIGIL_FAULTD:-$BUILD/tests/lab/faultd}" || exit 1
HINTS="$T/lab/root.hints"
ANCHOR="$T/lab/root.ds"

# The resolvers' namespace, the relay, the two devices and their routes.
unshare -n sleep 3600 &
RPID=$!
sleep 0.2
"$RELAY" -a "/proc/$RPID/ns/net:vgnear" -b /proc/self/ns/net:vgfar -d "$DELAY" -t 1800 \
	>"$T/relay.out" 2>"$T/relay.err" &
REL=$!
for _ in $(seq 100); do grep -q ready "$T/relay.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$T/relay.out" || { cat "$T/relay.err" >&2; exit 1; }
ip link set vgfar up
sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.vgfar.route_localnet=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.vgfar.rp_filter=0
ip route add 10.255.0.0/16 dev vgfar
in_r() { nsenter -t "$RPID" -n "$@"; }
in_r sh -ec '
ip link set lo up
ip addr del 127.0.0.1/8 dev lo
ip addr add 127.0.0.1/32 dev lo
ip link set vgnear up
ip addr add 10.255.0.1/32 dev vgnear
sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.vgnear.route_localnet=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.vgnear.rp_filter=0
ip route add 127.0.0.0/8 dev vgnear src 10.255.0.1'

# One UDP question, its time in ms (10 s at most).
ask() { # $1 port, $2 name
	in_r /usr/bin/python3 - "$1" "$2" <<'PY'
import os, socket, struct, sys, time
port, name = int(sys.argv[1]), sys.argv[2]
q = struct.pack(">HHHHHH", int.from_bytes(os.urandom(2), "big"), 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
t0 = time.monotonic()
s.sendto(q, ("127.0.0.1", port))
r = s.recv(65535)
rcode = r[3] & 15
print("%.1f" % ((time.monotonic() - t0) * 1000) if rcode == 0 else "fail")
PY
}

start_vigild() {
	rm -rf "$T/v" && mkdir -p "$T/v"
	{
		echo "listen: 127.0.0.1@15353"
		echo "workers: 1"
		echo 'user: ""'
		echo "cache-dir: $T/v"
		echo "root-hints: $HINTS"
		echo "query-local-addresses: yes"
		echo "do-ip6: no"
		echo "log-level: error"
		# vigild validates by default (with the real root's anchor): the lab's, or off
		if [ "$VALIDATE" = 1 ]; then echo "trust-anchor-file: $ANCHOR"; else echo "dnssec: no"; fi
		echo "allow: 127.0.0.0/8 trusted"
	} >"$T/vigil.conf"
	nsenter -t "$RPID" -n "$VIGILD" -f -c "$T/vigil.conf" 2>"$T/vigild.log" &
	SPID=$!
	PORT=15353
}
start_unbound() {
	local mod=iterator anchor=
	[ "$VALIDATE" = 1 ] && mod="validator iterator" anchor="  trust-anchor-file: \"$ANCHOR\""
	cat >"$T/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@15354
  do-not-query-localhost: no
  do-ip6: no
  root-hints: "$HINTS"
  username: ""
  chroot: ""
  directory: "$T"
  pidfile: "$T/unbound.pid"
  module-config: "$mod"
$anchor
  minimal-responses: yes
  use-syslog: no
  logfile: "$T/unbound.log"
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  verbosity: 0
remote-control:
  control-enable: no
EOF
	nsenter -t "$RPID" -n unbound -d -c "$T/unbound.conf" &
	SPID=$!
	PORT=15354
}
start_kresd() {
	rm -rf "$T/k" "$T/kcache" && mkdir -p "$T/k"
	local ta="trust_anchors.remove('.')"
	[ "$VALIDATE" = 1 ] && ta="trust_anchors.remove('.') trust_anchors.add_file('$ANCHOR', true)"
	cat >"$T/kresd.conf" <<EOF
log_target('stderr')
log_level('err')
net.ipv6 = false
net.listen('127.0.0.1', 15355, { kind = 'dns' })
modules = { 'hints > iterate' }
hints.root_file('$HINTS')
$ta
policy.add(policy.all(policy.FLAGS('ALLOW_LOCAL')))
cache.open(64 * MB, 'lmdb://$T/kcache')
EOF
	nsenter -t "$RPID" -n kresd -n -c "$T/kresd.conf" "$T/k" 2>"$T/kresd.log" </dev/null &
	SPID=$!
	PORT=15355
}
stop_server() {
	kill "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
	SPID=
}
wait_up() { # the server answers (localhost is local data in all three); then priming settles
	for _ in $(seq 100); do
		in_r dig +time=1 +tries=1 -p "$PORT" @127.0.0.1 localhost A >/dev/null 2>&1 && break
		sleep 0.1
	done
	sleep $(awk -v d="$DELAY" 'BEGIN { printf "%.2f", 0.5 + 8 * d / 1000 }')
}

min_ms=$((3 * DELAY))
echo "cold resolution, every authoritative reply delayed ${DELAY} ms; minimum 3 round trips = ${min_ms} ms; validation: $VALIDATE"
for srv in $SERVERS; do
	command -v "$srv" >/dev/null || [ "$srv" = vigild ] || { echo "coldlat.sh: $srv missing" >&2; exit 1; }
	times=
	for n in $NAMES; do # a fresh server (empty cache) per name
		"start_$srv"
		wait_up
		times="$times $(ask "$PORT" "$n")"
		stop_server
	done
	med=$(echo $times | tr ' ' '\n' | grep -v fail | sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "fail" }')
	ratio=$(awk -v m="$med" -v r="$min_ms" 'BEGIN { if (m + 0 > 0) printf "%.2f", m / r; else print "-" }')
	printf '%-8s cold ms:%s | median %s ms | %s x the minimum\n' "$srv" "$times" "$med" "$ratio"
	eval "COLD_$srv=$med"
	[ -z "${RESULTS:-}" ] || printf '%s cold_ms %s\n%s cold_x %s\n' "$srv" "$med" "$srv" "$ratio" >>"$RESULTS"
done
for peer in unbound kresd; do
	case " $SERVERS " in *" vigild "*) ;; *) break ;; esac
	case " $SERVERS " in *" $peer "*) ;; *) continue ;; esac
	eval "v=\$COLD_vigild p=\$COLD_$peer"
	awk -v p="$peer" -v v="$v" -v q="$p" 'BEGIN { if (q + 0 > 0) printf "vigild/%-7s cold median %.2fx\n", p, v / q }'
done
