#!/bin/bash
# Front-end benchmark (issues 2 and 13): vigild, Unbound, Knot Resolver (kresd) and a trivial
# fixed-answer server (contrib/bench/fixed_answer.c) answering the same local-data names, one
# worker/thread/process each, pinned to one CPU, the clients pinned to another. Loopback only, in a
# private network namespace (the script re-runs itself under `unshare -n`); every run is bounded
# in count and time; every server is started and stopped (by PID) by this script. Env SERVERS picks
# a subset of "vigild unbound kresd fixed" (vigild is needed for the ratios); with BASELINE=PATH
# (another vigild binary, e.g. main's) the server "base" runs it with vigild's config.
#
#   contrib/bench/frontend.sh [BUILD_DIR]      (default: build)
#
# Per round, servers interleaved (one server started, measured, stopped, then the next):
#   1. one query in flight: contrib/bench/qlat sends the next query when the answer arrives
#      (QLAT_N queries, at most SECS_LOW s): mean, p50, p99;
#   2. dnsperf -Q 1000 for SECS_LOW s and -Q RATE for SECS s: average and p99 latency (from -v's
#      per-query lines), CPU per query (utime+stime from /proc/PID/stat) at RATE;
#   3. dnsperf unthrottled (its default 100 outstanding) for SECS s: QPS, average and p99.
# Reports medians over RUNS rounds and vigild's ratios to the others (taken per round, then the
# median), then callgrind instructions per query for vigild.
set -euo pipefail

if [ -z "${FE_NETNS:-}" ]; then # colleagues' labs use the same loopback addresses
	exec unshare -n env FE_NETNS=1 "$0" "$@"
fi
ip link set lo up

BUILD=${1:-build}
VIGILD=$(realpath "$BUILD/daemon/vigild")
FIXED=$(realpath "$BUILD/contrib/bench/fixed_answer")
QLAT=$(realpath "$BUILD/contrib/bench/qlat")
RUNS=${RUNS:-3}
RATE=${RATE:-30000}
SECS=${SECS:-10}
SECS_LOW=${SECS_LOW:-5}
QLAT_N=${QLAT_N:-20000}
NAMES=${NAMES:-100}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
CG_QUERIES=${CG_QUERIES:-20000}
PV=${PV:-25353}
PU=${PU:-25354}
PK=${PK:-25355}
PF=${PF:-25356}
PB=${PB:-25357}
BASELINE=${BASELINE:-}
SERVERS=${SERVERS:-vigild unbound kresd fixed}
PRIO=${PRIO:-} # e.g. "nice -n -5": a prefix for every server and client command

for t in dnsperf unbound kresd taskset valgrind; do
	command -v $t >/dev/null || { echo "frontend.sh: $t is missing (apt-get install dnsperf unbound knot-resolver util-linux valgrind)" >&2; exit 1; }
done
for b in "$VIGILD" "$FIXED" "$QLAT"; do
	[ -x "$b" ] || { echo "frontend.sh: no $b (build first)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/vigil-bench-fe.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

# The same names for both servers.
: > "$W/queries"
: > "$W/vigil-ld"
: > "$W/unbound-ld"
: > "$W/kresd-ld"
for i in $(seq 1 "$NAMES"); do
	ip="10.77.$((i / 256)).$((i % 256))"
	echo "host$i.bench.lan A" >> "$W/queries"
	echo "local-data: \"host$i.bench.lan. 300 A $ip\"" >> "$W/vigil-ld"
	echo "    local-data: \"host$i.bench.lan. 300 A $ip\"" >> "$W/unbound-ld"
	echo "hints.set('host$i.bench.lan $ip')" >> "$W/kresd-ld"
done

# A root on loopback, which vigild refuses to query (query-local-addresses: no): the benchmark
# answers local data only and must not prime the real root servers.
printf '.\t3600000\tNS\ta.root.test.\na.root.test.\t3600000\tA\t127.0.0.9\n' > "$W/loopback.hints"

cat > "$W/vigild.conf" <<CONF
listen: 127.0.0.1@$PV
workers: 1
user: ""
cache-dir: $W/cache
cache-size: 64M
log-level: warn
root-hints: $W/loopback.hints
$(cat "$W/vigil-ld")
CONF

sed "s/^listen: .*/listen: 127.0.0.1@$PB/; s|^cache-dir: .*|cache-dir: $W/base-cache|" "$W/vigild.conf" \
	> "$W/base.conf"

cat > "$W/unbound.conf" <<CONF
server:
    interface: 127.0.0.1@$PU
    port: $PU
    num-threads: 1
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$W"
    pidfile: "$W/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    so-reuseport: no
$(cat "$W/unbound-ld")
remote-control:
    control-enable: no
CONF
unbound-checkconf "$W/unbound.conf" >/dev/null

# kresd's local data is its hints module (a name -> address table consulted before the iterator,
# like Unbound's local-data), with the same TTL; the same loopback root as vigild, the default
# (real) root trust anchor removed so no validation or RFC 5011 queries; a 64 MiB cache like vigild.
mkdir -p "$W/kresd"
cat > "$W/kresd.conf" <<CONF
log_target('stderr')
log_level('warning')
net.ipv6 = false
net.listen('127.0.0.1', $PK, { kind = 'dns' })
modules = { 'hints > iterate' }
hints.root_file('$W/loopback.hints')
hints.ttl(300)
trust_anchors.remove('.')
cache.open(64 * MB, 'lmdb://$W/kcache')
$(cat "$W/kresd-ld")
CONF

wait_port() { # $1 port: waits until a server answers (5 s max)
	for _ in $(seq 1 100); do
		dig +short +tries=1 +time=1 @127.0.0.1 -p "$1" host1.bench.lan A >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "frontend.sh: server on port $1 did not start" >&2
	return 1
}

port_of() {
	case $1 in
	vigild) echo "$PV" ;;
	unbound) echo "$PU" ;;
	kresd) echo "$PK" ;;
	fixed) echo "$PF" ;;
	base) echo "$PB" ;;
	*) echo "frontend.sh: unknown server '$1' (vigild, unbound, kresd, fixed, base)" >&2; exit 2 ;;
	esac
}

start_server() { # $1 = vigild|unbound|kresd|fixed; sets SPID
	local on=(taskset -c "$SERVER_CPU" $PRIO)
	case $1 in
	vigild) "${on[@]}" "$VIGILD" -f -c "$W/vigild.conf" 2>>"$W/vigild.log" & ;;
	kresd) "${on[@]}" kresd -n -c "$W/kresd.conf" "$W/kresd" 2>>"$W/kresd.log" </dev/null & ;;
	unbound) "${on[@]}" unbound -d -c "$W/unbound.conf" 2>>"$W/unbound.log" & ;;
	fixed) "${on[@]}" "$FIXED" 127.0.0.1 "$PF" 3600 2>>"$W/fixed.log" & ;;
	base) "${on[@]}" "$BASELINE" -f -c "$W/base.conf" 2>>"$W/base.log" & ;;
	esac
	SPID=$!
	PIDS+=("$SPID")
	wait_port "$(port_of "$1")"
}

stop_server() {
	kill "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
}

cpu_ticks() { # utime + stime of a process
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

have() { [[ " $SERVERS " == *" $1 "* ]]; }
HZ=$(getconf CLK_TCK)
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

RES="$W/results" # lines: server round metric value
: > "$RES"
put() { echo "$1 $2 $3 $4" >> "$RES"; }

# $1 server, $2 round, $3 label, $4 port, $5 seconds, $6 extra dnsperf args: records qps, avg and
# p99 latency (us) and CPU per query (us) under "<label>_qps" etc.
dnsperf_run() {
	local before after out="$W/dnsperf.out"
	before=$(cpu_ticks "$SPID")
	taskset -c "$CLIENT_CPU" $PRIO dnsperf -s 127.0.0.1 -p "$4" -d "$W/queries" -l "$5" -c 4 -v $6 \
		> "$out" 2>&1
	after=$(cpu_ticks "$SPID")
	local completed qps avg p99
	completed=$(awk '/Queries completed:/ { print $3 }' "$out")
	qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$out")
	avg=$(awk '/Average Latency/ { printf "%.0f", $4 * 1e6 }' "$out")
	p99=$(awk '/^> / { print $NF }' "$out" | sort -g |
		awk '{ a[NR] = $1 } END { printf "%.0f", a[int(NR * 0.99)] * 1e6 }')
	put "$1" "$2" "$3_qps" "$qps"
	put "$1" "$2" "$3_avg" "$avg"
	put "$1" "$2" "$3_p99" "$p99"
	put "$1" "$2" "$3_cpu" "$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$completed" \
		'BEGIN { printf "%.2f", t / hz / n * 1e6 }')"
	echo "  $3: $qps qps, avg $avg us, p99 $p99 us, $completed answers"
}

for r in $(seq 1 "$RUNS"); do
	for srv in $SERVERS; do
		port=$(port_of "$srv")
		echo "round $r, $srv (load: $(cut -d' ' -f1-3 /proc/loadavg))"
		start_server "$srv"
		taskset -c "$CLIENT_CPU" "$QLAT" 127.0.0.1 "$port" 1000 2 "$NAMES" >/dev/null # warm
		read -r _ _ _ _ _ mean _ p50 _ p99 < <(taskset -c "$CLIENT_CPU" $PRIO "$QLAT" 127.0.0.1 \
			"$port" "$QLAT_N" "$SECS_LOW" "$NAMES")
		put "$srv" "$r" one_mean "$mean"
		put "$srv" "$r" one_p50 "$p50"
		put "$srv" "$r" one_p99 "$p99"
		echo "  one in flight: mean $mean us, p50 $p50 us, p99 $p99 us"
		dnsperf_run "$srv" "$r" r1k "$port" "$SECS_LOW" "-Q 1000"
		dnsperf_run "$srv" "$r" rfix "$port" "$SECS" "-Q $RATE"
		dnsperf_run "$srv" "$r" rmax "$port" "$SECS" ""
		stop_server
	done
done

# callgrind: instructions per query = (run with N queries - run with none) / N
callgrind_run() { # $1 vigild binary, $2 = number of dnsperf passes over the name file (0 = none)
	local out="$W/cg.$2"
	valgrind --tool=callgrind --callgrind-out-file="$out" "$1" -f -c "$W/vigild.conf" \
		2>>"$W/callgrind.log" &
	SPID=$!
	PIDS+=("$SPID")
	for _ in $(seq 1 200); do
		dig +short +tries=1 +time=1 @127.0.0.1 -p "$PV" host1.bench.lan A >/dev/null 2>&1 && break
		sleep 0.1
	done
	if [ "$2" -gt 0 ]; then
		dnsperf -s 127.0.0.1 -p "$PV" -d "$W/queries" -n "$2" -Q 3000 -c 1 -t 5 > "$W/cg.dnsperf.$2" 2>&1
	fi
	stop_server
	# total, then the inclusive cost of the per-query entry (parse, ACL, lookup, answer)
	echo "$(awk '/^(summary|totals):/ { print $2; exit }' "$out") $(callgrind_annotate \
		--inclusive=yes "$out" 2>/dev/null | awk '/vg_worker_query/ { gsub(",", "", $1); print $1; exit }')"
}
ipq() { # $1 vigild binary: prints instructions per query, all and in vg_worker_query
	local passes=$((CG_QUERIES / NAMES)) idle idle_q loaded loaded_q done_q
	read -r idle idle_q < <(callgrind_run "$1" 0)
	read -r loaded loaded_q < <(callgrind_run "$1" "$passes")
	done_q=$(awk '/Queries completed:/ { print $3 }' "$W/cg.dnsperf.$passes")
	echo "$(((loaded - idle) / done_q)) instructions/query ($loaded - $idle Ir over $done_q queries)," \
		"of which vg_worker_query $(((loaded_q - idle_q) / done_q))"
}
IPQ= IPQ_BASE=
if have vigild && [ "${CALLGRIND:-1}" = 1 ]; then
	IPQ=$(ipq "$VIGILD")
	[ -z "$BASELINE" ] || IPQ_BASE=$(ipq "$BASELINE")
fi

med() { # $1 server, $2 metric: median over rounds
	awk -v s="$1" -v m="$2" '$1 == s && $3 == m { print $4 }' "$RES" | median
}
ratio() { # $1 peer, $2 metric: median over rounds of vigild's value / the peer's
	awk -v p="$1" -v m="$2" '$3 == m && $1 == "vigild" { v[$2] = $4 } $3 == m && $1 == p { q[$2] = $4 }
		END { for (r in v) if (r in q && q[r] > 0) printf "%.2f\n", v[r] / q[r] }' "$RES" | median
}
METRICS="one_mean one_p50 one_p99 r1k_avg r1k_p99 rfix_avg rfix_p99 rfix_cpu rmax_qps rmax_avg rmax_p99"
echo
echo "== front end, $NAMES local-data names, 1 worker each, server on CPU $SERVER_CPU, clients on CPU $CLIENT_CPU, median of $RUNS rounds =="
echo "(one = one query in flight; r1k/rfix = dnsperf -Q 1000/$RATE; rmax = unthrottled, 100 outstanding; latencies in us, cpu in us per query)"
printf "%-8s" metric
for srv in $SERVERS; do printf " %9s" "$srv"; done
for peer in $SERVERS; do [ "$peer" = vigild ] || printf " %14s" "vigild/$peer"; done
echo
for m in $METRICS; do
	printf "%-8s" "$m"
	for srv in $SERVERS; do printf " %9s" "$(med "$srv" "$m")"; done
	if have vigild; then
		for peer in $SERVERS; do [ "$peer" = vigild ] || printf " %14s" "$(ratio "$peer" "$m")"; done
	fi
	echo
done
echo "targets: one_mean vigild/fixed <= 1.1; *_avg and *_p99 vigild/unbound <= 1; rfix_cpu vigild/unbound <= 0.6; rmax_qps vigild/unbound >= 1"
[ -z "${KEEP:-}" ] || cp "$RES" "$KEEP"
[ -z "$IPQ" ] || echo "vigild callgrind: $IPQ"
[ -z "$IPQ_BASE" ] || echo "base callgrind: $IPQ_BASE"
