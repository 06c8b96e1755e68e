#!/bin/sh
# Resolver benchmark (issue 5): vigild, Unbound and Knot Resolver (kresd) side by side on the lab
# (tests/lab), one worker each, pinned to the same CPU, run one after the other:
#   1. cache misses: unique wildcard names (<n>.wild.example.com A) at a bounded outstanding
#      count: resolutions/s and server CPU per miss (utime+stime from /proc/PID/stat);
#   2. cache hits: one name at a fixed rate (dnsperf -Q): server CPU per query;
#   3. cold resolution root -> TLD -> zone with an empty cache (one UDP query, median of 5 names);
#   4. RSS (VmRSS) after the runs, and bytes per cached name: the growth of RSS over the misses
#      divided by their number, read MEM_SETTLE (2) seconds after the last answer, and right after
#      it (shown in brackets);
#   5. a restart on the warm persistent cache (vigild, kresd): ms from start to the first answer
#      served from the cache (a name the hits asked, whose TTL shows it was not resolved again).
# With RESULTS=FILE, "server metric value" lines are appended to FILE (contrib/bench/run-all.sh).
# Usage: contrib/bench/resolver.sh [BUILD_DIR]   (default build-resolver; needs root for the lab,
# dnsperf, unbound, kresd; env SERVERS picks a subset of "vigild unbound kresd", VIGILD_EXTRA adds
# config lines to vigild's). Bounded: about
# three minutes. Everything lives under a temp dir, removed at exit; every server is stopped by PID.
# Without LAB_RUN the script joins this tree's shared lab like a test binary does (tests/lab/lab.h:
# a PID in RUN/lab.users under flock(RUN/lab.lock)), so test binaries that finish meanwhile do not
# stop the lab under it, and it stops the lab at exit only when it started it and is its last user.
# PERF_STAT=1: `perf stat` on the server over the miss step; prints inter-processor interrupts
# sent, context switches and upstream sockets per miss (docs/benchmarks.md "Upstream queries in
# bursts": waking a thread asleep on another CPU is paid by the sender).
# PRIVATE_NETNS=1 (run-all.sh sets it): the script re-runs itself in its own network namespace
# with a private copy of the lab's run directory, so no other lab on the machine is touched.
set -eu
if [ "${PRIVATE_NETNS:-}" = 1 ] && [ -z "${RB_NETNS:-}" ]; then
	exec unshare -n env RB_NETNS=1 "$0" "$@"
fi
if [ -n "${RB_NETNS:-}" ]; then
	ip link set lo up
	ROOT=$(cd "$(dirname "$0")/../.." && pwd)
	. "$ROOT/contrib/bench/privlab.sh"
	VIGIL_LAB_DIR=$(mktemp -d /tmp/vg-rbench-lab-XXXXXX)
	privlab_copy "$VIGIL_LAB_DIR"
	export VIGIL_LAB_DIR
fi
B=${1:-build-resolver}
VIGILD="$B/daemon/vigild"
MISSES=${MISSES:-20000}
HIT_RATE=${HIT_RATE:-20000}
HIT_SECS=${HIT_SECS:-10}
CPU=${CPU:-1}
SERVERS=${SERVERS:-vigild unbound kresd}
VALIDATE=${VALIDATE:-1} # all three validate with the lab's trust anchor; 0: iterators only
# Extra lines for vigild's config, e.g. VIGILD_EXTRA="hijack-checks: no" (issue 11's comparison).
VIGILD_EXTRA=${VIGILD_EXTRA:-}
[ -x "$VIGILD" ] || { echo "build first: ninja -C $B" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# LAB_RUN=DIR uses a lab that is already up from another checkout (same lab.sh; its run directory
# DIR holds root.hints) instead of starting this tree's, whose addresses it would collide with.
LAB_RUN=${LAB_RUN:-}
LABDIR=${VIGIL_LAB_DIR:-$ROOT/tests/lab/run}
LAB_JOINED=0
T=
PID=

# The shared lab's user list (same protocol as tests/lab/lab.c): line 1 "owned 0|1", then one PID
# per line; read under flock on fd 8. Sets OWNED and USERS (live PIDs only).
lab_users_read() {
	OWNED=0
	USERS=
	[ -s "$LABDIR/lab.users" ] || return 0
	OWNED=$(sed -n '1s/^owned \([01]\).*/\1/p' "$LABDIR/lab.users")
	[ -n "$OWNED" ] || { OWNED=0; return 0; }
	for u in $(sed -n '2,$p' "$LABDIR/lab.users"); do
		case $u in *[!0-9]* | '') continue ;; esac
		kill -0 "$u" 2>/dev/null && USERS="$USERS $u"
	done
	return 0
}
lab_users_write() {
	{ echo "owned $OWNED"; for u in $USERS; do echo "$u"; done; } >"$LABDIR/lab.users"
}
lab_join() {
	mkdir -p "$LABDIR"
	exec 8>>"$LABDIR/lab.lock"
	flock 8
	lab_users_read
	stale=0
	[ -z "$USERS" ] && stale=1
	if ! VIGIL_LAB_HELPER=1 VIGIL_LAB_RESTART_STALE=$stale "$ROOT/tests/lab/lab.sh" up >/dev/null; then
		flock -u 8
		echo "resolver.sh: tests/lab/lab.sh up failed (needs root, nsd; see docs/lab.md)" >&2
		exit 1
	fi
	if [ -z "$USERS" ]; then
		OWNED=1
		[ "$(cat "$LABDIR/started-by" 2>/dev/null)" = manual ] && OWNED=0
	fi
	USERS="$USERS $$"
	lab_users_write
	LAB_JOINED=1
	flock -u 8
}
lab_leave() { # the last user of a lab a user started stops it, as vg_lab_down() does
	flock 8
	lab_users_read
	left=
	for u in $USERS; do [ "$u" = $$ ] || left="$left $u"; done
	USERS=$left
	if [ -z "$USERS" ] && [ "$OWNED" = 1 ]; then
		"$ROOT/tests/lab/lab.sh" down >/dev/null
		OWNED=0
	fi
	lab_users_write
	LAB_JOINED=0
	flock -u 8
}

cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ "$LAB_JOINED" = 1 ] && lab_leave
	[ -n "$T" ] && rm -rf "$T"
	[ -n "${RB_NETNS:-}" ] && rm -rf "$VIGIL_LAB_DIR"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$LAB_RUN" ]; then
	HINTS="$LAB_RUN/root.hints"
	ANCHOR="$LAB_RUN/root.ds"
else
	lab_join
	HINTS="$LABDIR/root.hints"
	ANCHOR="$LABDIR/root.ds"
fi
T=$(mktemp -d /tmp/vg-rbench-XXXXXX)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

start_vigild() {
	mkdir -p "$T/vcache"
	[ -n "${KEEP_CACHE:-}" ] || rm -rf "$T/vcache"/*
	cat >"$T/vigil.conf" <<EOF
listen: 127.0.0.1@15353
workers: 1
user: ""
cache-dir: $T/vcache
root-hints: $HINTS
query-local-addresses: yes
do-ip6: no
log-level: error
allow: 127.0.0.0/8 trusted
$(if [ "$VALIDATE" = 1 ]; then echo "trust-anchor-file: $ANCHOR"; else echo "dnssec: no"; fi)
$VIGILD_EXTRA
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
  module-config: "$([ "$VALIDATE" = 1 ] && echo "validator iterator" || echo iterator)"
$([ "$VALIDATE" = 1 ] && echo "  trust-anchor-file: \"$ANCHOR\"")
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

# Knot Resolver 5 configured like the Unbound above: validating with the lab's root DS in place of
# the real root's (VALIDATE=0: nothing validated, like Unbound's "iterator"), lab root hints,
# loopback authorities allowed, IPv6 off, its LMDB cache as large as vigild's default map
# (512 MiB) in the temp dir. One kresd process is one worker. vigild's client address is
# "trusted" so the single dnsperf source is not held to max-pending-per-client.
start_kresd() {
	mkdir -p "$T/kresd"
	[ -n "${KEEP_CACHE:-}" ] || rm -rf "$T/kresd"/* "$T/kcache"
	cat >"$T/kresd.conf" <<EOF
log_target('stderr')
log_level('err')
net.ipv6 = false
net.listen('127.0.0.1', 15355, { kind = 'dns' })
modules = { 'hints > iterate' }
hints.root_file('$HINTS')
trust_anchors.remove('.')
$([ "$VALIDATE" = 1 ] && echo "trust_anchors.add_file('$ANCHOR', true)")
policy.add(policy.all(policy.FLAGS('ALLOW_LOCAL')))
cache.open(512 * MB, 'lmdb://$T/kcache')
EOF
	taskset -c "$CPU" kresd -n -c "$T/kresd.conf" "$T/kresd" 2>"$T/kresd.log" </dev/null &
	PID=$!
	PORT=15355
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

# MEM_REPORT=FILE: where the RSS went after the misses, appended to FILE: anonymous and file-backed
# RSS (status, smaps_rollup), the RSS of the cache file's mapping, the file size and mdb_stat of
# every DB with the freelist (vigild and kresd: both keep an LMDB file).
mem_report() { # $1 name, $2 misses done, $3 RSS before (kB), $4 RSS after (kB)
	{
		echo "== $1: $2 misses, VmRSS $3 -> $rss1now kB right after, $4 kB ${MEM_SETTLE:-2} s later, RssAnon $anon0 -> $(awk '/RssAnon/ {print $2}' "/proc/$PID/status") kB"
		grep -E '^(VmRSS|RssAnon|RssFile|RssShmem)' "/proc/$PID/status"
		grep -E '^(Rss|Anonymous|Private_Dirty|Shared_Clean|Private_Clean):' "/proc/$PID/smaps_rollup"
		awk '/^[0-9a-f]+-[0-9a-f]+ / { f = ($NF ~ /data\.mdb$/) } f && /^Rss:/ { s += $2 } END { print "data.mdb mapping Rss:", s + 0, "kB" }' "/proc/$PID/smaps"
		# the larger anonymous mappings (heap, thread arenas, stacks)
		awk '/^[0-9a-f]+-[0-9a-f]+ / { m = $1; n = (NF >= 6) ? $6 : "anon" } /^Anonymous:/ && $2 >= 256 { print "  anon", n, m, $2, "kB" }' "/proc/$PID/smaps"
		db=
		[ "$1" = vigild ] && db="$T/vcache"
		[ "$1" = kresd ] && db="$T/kcache"
		if [ -n "$db" ] && command -v mdb_stat >/dev/null; then
			ls -l "$db/data.mdb"
			mdb_stat -ef "$db" | grep -E 'Number of pages used|Last page|Free pages|Page size|Entries'
			mdb_stat -a "$db" | grep -E 'Status of|Tree depth|Branch pages|Leaf pages|Overflow pages|Entries'
		fi
	} >>"$MEM_REPORT" 2>&1
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
	# 1. misses over unique wildcard names (RSS before and after: bytes per cached name)
	rss0=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
	anon0=$(awk '/RssAnon/ {print $2}' "/proc/$PID/status")
	awk -v n="$MISSES" -v tag="$name$$" 'BEGIN { for (i = 0; i < n; i++) printf "m%d-%s.wild.example.com A\n", i, tag }' >"$T/miss.txt"
	pstat=
	if [ "${PERF_STAT:-}" = 1 ]; then
		perf stat -x, -e ipi:ipi_send_cpu,context-switches,syscalls:sys_enter_socket \
			-p "$PID" -o "$T/perf.out" &
		pstat=$!
		sleep 0.2
	fi
	c0=$(cpu_ticks "$PID")
	dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/miss.txt" -n 1 -c 10 -q 200 -t 5 -l 120 >"$T/miss.out" 2>&1
	c1=$(cpu_ticks "$PID")
	if [ -n "$pstat" ]; then
		kill -INT "$pstat" 2>/dev/null || true
		wait "$pstat" 2>/dev/null || true
		n=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$T/miss.out")
		awk -F, -v n="${n:-0}" -v s="$name" '$3 ~ /ipi|context|socket/ && n > 0 {
			printf "%s per miss: %.3f %s\n", s, $1 / n, $3 }' "$T/perf.out"
	fi
	miss_done=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$T/miss.out")
	miss_qps=$(sed -n 's/.*Queries per second: *\([0-9]*\).*/\1/p' "$T/miss.out")
	miss_rcodes=$(sed -n 's/.*Response codes: *//p' "$T/miss.out")
	miss_cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
	miss_us=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$miss_done" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
	miss_per_cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$miss_done" 'BEGIN { if (t) printf "%.0f", n / (t / hz); else print "inf" }')
	# RSS right after the last answer, and MEM_SETTLE seconds later (every server alike): what a
	# server keeps per cached name, without the memory of the burst still on its way back
	# (vigild: upstream sockets lingering for injection-window, then the post-burst trim).
	rss1now=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
	sleep "${MEM_SETTLE:-2}"
	rss1=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
	bpn=$(awk -v a="$rss0" -v b="$rss1" -v n="$miss_done" 'BEGIN { printf "%.0f", n ? (b - a) * 1024 / n : 0 }')
	bpn_now=$(awk -v a="$rss0" -v b="$rss1now" -v n="$miss_done" 'BEGIN { printf "%.0f", n ? (b - a) * 1024 / n : 0 }')
	[ -n "${MEM_REPORT:-}" ] && mem_report "$name" "$miss_done" "$rss0" "$rss1"
	# 2. hits at a fixed rate
	echo "www.example.com A" >"$T/hit.txt"
	dig +time=2 +tries=1 -p "$PORT" @127.0.0.1 www.example.com A >/dev/null
	c0=$(cpu_ticks "$PID")
	dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/hit.txt" -Q "$HIT_RATE" -l "$HIT_SECS" -c 4 >"$T/hit.out" 2>&1
	c1=$(cpu_ticks "$PID")
	hit_done=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$T/hit.out")
	hit_us=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$hit_done" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
	# 5. a restart on the warm persistent cache: time from start to the first answer served from
	# it (RD=0: from the cache only); Unbound keeps no cache across restarts
	warm=-
	if [ "$name" != unbound ]; then
		# the zone's own TTL; an answer with less than it comes from the cache (kresd refuses
		# RD=0 questions, so the cache shows itself by the TTL that ran down, not by RD=0)
		auth_ttl=$(dig +norec +noall +answer @127.53.2.1 www.example.com A | awk '{ print $2; exit }')
		sleep 1.2
		stop_server
		KEEP_CACHE=1 "start_$name"
		warm=$(/usr/bin/python3 - "$PORT" "${auth_ttl:-0}" <<'PY'
import socket, struct, sys, time
port, auth_ttl = int(sys.argv[1]), int(sys.argv[2])
t0 = time.monotonic()
q = struct.pack(">HHHHHH", 4242, 0x0100, 1, 0, 0, 0)
q += b"\3www\7example\3com\0" + struct.pack(">HH", 1, 1)
def skip_name(r, o):
    while r[o]:
        if r[o] & 0xC0 == 0xC0:
            return o + 2
        o += r[o] + 1
    return o + 1
while time.monotonic() - t0 < 30:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.05)
    try:
        s.sendto(q, ("127.0.0.1", port))
        r = s.recv(65535)
    except OSError:
        s.close()
        time.sleep(0.005)
        continue
    s.close()
    if r[3] & 15 != 0 or struct.unpack(">H", r[6:8])[0] == 0:
        time.sleep(0.005)
        continue
    o = skip_name(r, 12) + 4
    o = skip_name(r, o)
    ttl = struct.unpack(">I", r[o + 4:o + 8])[0]
    ms = (time.monotonic() - t0) * 1000
    print("%.0f" % ms if ttl < auth_ttl else "fail")  # fail: resolved again, not from the cache
    sys.exit(0)
print("fail")
PY
)
	fi
	printf '%-8s miss: %s done (%s), %s q/s, %s CPU-s, %s us CPU/miss, %s misses per CPU-s | hit: %s done, %s us CPU/query | cold median %s ms (%s) | RSS %s kB, %s bytes per cached name (%s right after the last answer) | warm restart: first cached answer after %s ms\n' \
		"$name" "$miss_done" "$miss_rcodes" "$miss_qps" "$miss_cpu" "$miss_us" "$miss_per_cpu" "$hit_done" "$hit_us" "$cold_med" "$cold" "$rss" "$bpn" "$bpn_now" "$warm"
	if [ -n "${RESULTS:-}" ]; then # "server metric value" lines for contrib/bench/run-all.sh
		for kv in miss_qps="$miss_qps" miss_per_cpu="$miss_per_cpu" miss_us="$miss_us" \
			hit_us="$hit_us" rss_kb="$rss" bytes_per_name="$bpn" \
			bytes_per_name_now="$bpn_now" warm_ms="$warm"; do
			echo "$name ${kv%%=*} ${kv#*=}" >>"$RESULTS"
		done
	fi
	# kept for the ratios below (names are fixed words, so eval is safe)
	eval "MPC_$name=$miss_per_cpu HIT_$name=$hit_us RSS_$name=$rss COLD_$name=$cold_med"
}

for srv in $SERVERS; do
	case $srv in
	vigild | unbound | kresd) ;;
	*) echo "resolver.sh: unknown server '$srv' (vigild, unbound, kresd)" >&2; exit 2 ;;
	esac
	command -v "$srv" >/dev/null || [ "$srv" = vigild ] || { echo "resolver.sh: $srv missing" >&2; exit 1; }
	"start_$srv"
	wait_up
	run_one "$srv"
	stop_server
done

# vigild / peer, per run: misses per CPU-second (higher is better for vigild), CPU per hit and
# RSS (lower is better), cold median.
for peer in unbound kresd; do
	case " $SERVERS " in *" vigild "*) ;; *) break ;; esac
	case " $SERVERS " in *" $peer "*) ;; *) continue ;; esac
	eval "vm=\$MPC_vigild pm=\$MPC_$peer vh=\$HIT_vigild ph=\$HIT_$peer vr=\$RSS_vigild pr=\$RSS_$peer vc=\$COLD_vigild pc=\$COLD_$peer"
	awk -v p="$peer" -v vm="$vm" -v pm="$pm" -v vh="$vh" -v ph="$ph" -v vr="$vr" -v pr="$pr" -v vc="$vc" -v pc="$pc" 'BEGIN {
		printf "vigild/%-7s misses per CPU-s %.2fx (target >= 1.3) | CPU per hit %.2fx (target <= 0.75) | RSS %.2fx (target <= 1) | cold median %.2fx\n",
			p, (pm > 0 ? vm / pm : 0), (ph > 0 ? vh / ph : 0), (pr > 0 ? vr / pr : 0), (pc > 0 ? vc / pc : 0) }'
done
