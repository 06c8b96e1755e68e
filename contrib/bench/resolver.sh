#!/bin/sh
# Resolver benchmark (issue 5): vigild and Unbound side by side on the lab (tests/lab), one worker
# each, pinned to the same CPU, run one after the other:
#   1. cache misses: unique wildcard names (<n>.wild.example.com A) at a bounded outstanding
#      count: resolutions/s and server CPU per miss (utime+stime from /proc/PID/stat);
#   2. cache hits: one name at a fixed rate (dnsperf -Q): server CPU per query;
#   3. cold resolution root -> TLD -> zone with an empty cache (dig's query time, median of 5);
#   4. RSS (VmRSS) after the runs.
# Usage: contrib/bench/resolver.sh [BUILD_DIR]   (default build-resolver; needs root for the lab,
# dnsperf, unbound). Bounded: about two minutes. Everything lives under a temp dir, removed at exit.
# The script does not register as a lab user (tests/lab/lab.h): do not run it while test binaries
# that bring the lab up and down are running, or the lab may go away mid-run (the miss line then
# shows SERVFAIL instead of NOERROR).
set -eu
B=${1:-build-resolver}
VIGILD="$B/daemon/vigild"
MISSES=${MISSES:-20000}
HIT_RATE=${HIT_RATE:-20000}
HIT_SECS=${HIT_SECS:-10}
CPU=${CPU:-1}
[ -x "$VIGILD" ] || { echo "build first: ninja -C $B" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# LAB_RUN=DIR uses a lab that is already up from another checkout (same lab.sh; its run directory
# DIR holds root.hints) instead of starting this tree's, whose addresses it would collide with.
LAB_RUN=${LAB_RUN:-}
if [ -n "$LAB_RUN" ]; then
	HINTS="$LAB_RUN/root.hints"
else
	"$ROOT/tests/lab/lab.sh" up >/dev/null
	HINTS="$ROOT/tests/lab/run/root.hints"
fi
T=$(mktemp -d /tmp/vg-rbench-XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

start_vigild() {
	mkdir -p "$T/vcache"
	rm -rf "$T/vcache"/*
	cat >"$T/vigil.conf" <<EOF
listen: 127.0.0.1@15353
workers: 1
user: ""
cache-dir: $T/vcache
root-hints: $HINTS
query-local-addresses: yes
do-ip6: no
log-level: error
EOF
	taskset -c "$CPU" "$VIGILD" -f -c "$T/vigil.conf" 2>"$T/vigild.log" &
	PID=$!
	PORT=15353
}

start_unbound() {
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
  module-config: "iterator"
  minimal-responses: yes
  use-syslog: no
  logfile: "$T/unbound.log"
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  verbosity: 0
remote-control:
  control-enable: no
EOF
	taskset -c "$CPU" unbound -d -c "$T/unbound.conf" &
	PID=$!
	PORT=15354
}

wait_up() {
	i=0
	while ! dig +time=1 +tries=1 -p "$PORT" @127.0.0.1 localhost A >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 50 ] && { echo "server did not start" >&2; exit 1; }
		sleep 0.1
	done
	sleep 0.5 # priming
}

stop_server() {
	kill "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
}

run_one() { # $1 = name
	name=$1
	# 3. cold resolutions first (fresh cache)
	cold=""
	for z in www.example.com www.example.org 1.0.18.198.in-addr.arpa www.example.net www.glueless.com; do
		t=$(python3 - "$PORT" "$z" <<'PY'
import socket, struct, sys, time, os
port, name = int(sys.argv[1]), sys.argv[2]
q = struct.pack(">HHHHHH", int.from_bytes(os.urandom(2), "big"), 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
t0 = time.monotonic()
s.sendto(q, ("127.0.0.1", port))
s.recv(65535)
print("%.2f" % ((time.monotonic() - t0) * 1000))
PY
)
		cold="$cold $t"
	done
	cold_med=$(echo $cold | tr ' ' '\n' | sort -n | sed -n 3p)
	# 1. misses over unique wildcard names
	awk -v n="$MISSES" -v tag="$name$$" 'BEGIN { for (i = 0; i < n; i++) printf "m%d-%s.wild.example.com A\n", i, tag }' >"$T/miss.txt"
	c0=$(cpu_ticks "$PID")
	dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/miss.txt" -n 1 -c 10 -q 200 -t 5 -l 120 >"$T/miss.out" 2>&1
	c1=$(cpu_ticks "$PID")
	miss_done=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$T/miss.out")
	miss_qps=$(sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p' "$T/miss.out")
	miss_rcodes=$(sed -n 's/.*Response codes: *//p' "$T/miss.out")
	miss_cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
	miss_us=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$miss_done" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
	miss_per_cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$miss_done" 'BEGIN { if (t) printf "%.0f", n / (t / hz); else print "inf" }')
	# 2. hits at a fixed rate
	echo "www.example.com A" >"$T/hit.txt"
	dig +time=2 +tries=1 -p "$PORT" @127.0.0.1 www.example.com A >/dev/null
	c0=$(cpu_ticks "$PID")
	dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/hit.txt" -Q "$HIT_RATE" -l "$HIT_SECS" -c 4 >"$T/hit.out" 2>&1
	c1=$(cpu_ticks "$PID")
	hit_done=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$T/hit.out")
	hit_us=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$hit_done" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
	printf '%-8s miss: %s done (%s), %s q/s, %s CPU-s, %s us CPU/miss, %s misses per CPU-s | hit: %s done, %s us CPU/query | cold median %s ms (%s) | RSS %s kB\n' \
		"$name" "$miss_done" "$miss_rcodes" "$miss_qps" "$miss_cpu" "$miss_us" "$miss_per_cpu" "$hit_done" "$hit_us" "$cold_med" "$cold" "$rss"
}

start_vigild
wait_up
run_one vigild
stop_server
start_unbound
wait_up
run_one unbound
stop_server
