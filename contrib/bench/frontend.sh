#!/bin/bash
# Front-end benchmark (issue 2): vigild, Unbound and Knot Resolver (kresd) answering the same
# local-data names, one worker/thread/process each, pinned to one CPU, dnsperf pinned to another.
# Loopback only; every run is bounded in time; every server is started and stopped (by PID) by this
# script. Env SERVERS picks a subset of "vigild unbound kresd" (vigild is needed for the ratios).
#
#   contrib/bench/frontend.sh [BUILD_DIR]      (default: build)
#
# Reports, as medians of RUNS runs: server CPU time per query at a fixed rate (RATE qps, CPU from
# /proc/PID/stat utime+stime), max QPS, and callgrind instructions per query for vigild.
set -euo pipefail

BUILD=${1:-build}
VIGILD=$(realpath "$BUILD/daemon/vigild")
RUNS=${RUNS:-3}
RATE=${RATE:-30000}
SECS=${SECS:-10}
NAMES=${NAMES:-100}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
CG_QUERIES=${CG_QUERIES:-20000}
PV=${PV:-25353}
PU=${PU:-25354}
PK=${PK:-25355}
SERVERS=${SERVERS:-vigild unbound kresd}

for t in dnsperf unbound kresd taskset valgrind; do
	command -v $t >/dev/null || { echo "frontend.sh: $t is missing (apt-get install dnsperf unbound knot-resolver util-linux valgrind)" >&2; exit 1; }
done
[ -x "$VIGILD" ] || { echo "frontend.sh: no vigild at $VIGILD (build first)" >&2; exit 1; }

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

start_server() { # $1 = vigild|unbound|kresd; sets SPID
	if [ "$1" = vigild ]; then
		taskset -c "$SERVER_CPU" "$VIGILD" -f -c "$W/vigild.conf" 2>>"$W/vigild.log" &
		SPID=$!
		PIDS+=("$SPID")
		wait_port "$PV"
	elif [ "$1" = kresd ]; then
		taskset -c "$SERVER_CPU" kresd -n -c "$W/kresd.conf" "$W/kresd" 2>>"$W/kresd.log" </dev/null &
		SPID=$!
		PIDS+=("$SPID")
		wait_port "$PK"
	else
		taskset -c "$SERVER_CPU" unbound -d -c "$W/unbound.conf" 2>>"$W/unbound.log" &
		SPID=$!
		PIDS+=("$SPID")
		wait_port "$PU"
	fi
}

stop_server() {
	kill "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
}

cpu_ticks() { # utime + stime of a process
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

HZ=$(getconf CLK_TCK)
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# $1 server, $2 port, $3 extra dnsperf args -> prints "completed qps cpu_us_per_query"
one_run() {
	start_server "$1"
	local before after out completed qps
	before=$(cpu_ticks "$SPID")
	out=$(taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$2" -d "$W/queries" -l "$SECS" -c 4 $3 2>&1)
	after=$(cpu_ticks "$SPID")
	stop_server
	completed=$(echo "$out" | awk '/Queries completed:/ { print $3 }')
	qps=$(echo "$out" | awk '/Queries per second:/ { print $4 }')
	echo "$completed $qps $(awk -v t=$((after - before)) -v hz="$HZ" -v n="$completed" \
		'BEGIN { printf "%.3f", t / hz / n * 1e6 }')"
}

declare -A CPU QPS
for srv in $SERVERS; do
	case $srv in
	vigild) port=$PV ;;
	unbound) port=$PU ;;
	kresd) port=$PK ;;
	*) echo "frontend.sh: unknown server '$srv' (vigild, unbound, kresd)" >&2; exit 2 ;;
	esac
	cpus=()
	qpss=()
	for r in $(seq 1 "$RUNS"); do
		read -r n q c < <(one_run "$srv" "$port" "-Q $RATE")
		echo "$srv fixed rate run $r: $n queries, $q qps, $c us CPU/query"
		cpus+=("$c")
		read -r n q c < <(one_run "$srv" "$port" "")
		echo "$srv max-qps run $r: $n queries, $q qps, $c us CPU/query"
		qpss+=("$q")
	done
	CPU[$srv]=$(printf '%s\n' "${cpus[@]}" | median)
	QPS[$srv]=$(printf '%s\n' "${qpss[@]}" | median)
done

# callgrind: instructions per query = (run with N queries - run with 1 query) / N
callgrind_run() { # $1 = number of dnsperf passes over the name file (0 = none)
	local out="$W/cg.$1"
	valgrind --tool=callgrind --callgrind-out-file="$out" "$VIGILD" -f -c "$W/vigild.conf" \
		2>>"$W/callgrind.log" &
	SPID=$!
	PIDS+=("$SPID")
	for _ in $(seq 1 200); do
		dig +short +tries=1 +time=1 @127.0.0.1 -p "$PV" host1.bench.lan A >/dev/null 2>&1 && break
		sleep 0.1
	done
	if [ "$1" -gt 0 ]; then
		dnsperf -s 127.0.0.1 -p "$PV" -d "$W/queries" -n "$1" -Q 3000 -c 1 -t 5 > "$W/cg.dnsperf.$1" 2>&1
	fi
	stop_server
	awk '/^(summary|totals):/ { print $2; exit }' "$out"
}
have() { [[ " $SERVERS " == *" $1 "* ]]; }
IPQ=
if have vigild; then
	PASSES=$((CG_QUERIES / NAMES))
	base=$(callgrind_run 0)
	loaded=$(callgrind_run "$PASSES")
	done_q=$(awk '/Queries completed:/ { print $3 }' "$W/cg.dnsperf.$PASSES")
	IPQ=$(( (loaded - base) / done_q ))
fi

echo
echo "== front end, $NAMES local-data names, 1 worker each, server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU, median of $RUNS =="
printf "%-8s %22s %12s\n" server "CPU us/query @${RATE}qps" "max qps"
for srv in $SERVERS; do
	printf "%-8s %22s %12s\n" "$srv" "${CPU[$srv]}" "${QPS[$srv]}"
done
for peer in unbound kresd; do
	have vigild && have "$peer" || continue
	ratio=$(awk -v a="${CPU[vigild]}" -v b="${CPU[$peer]}" 'BEGIN { printf "%.2f", a / b }')
	echo "vigild/$peer CPU per query: $ratio (target <= 0.75)"
done
[ -z "$IPQ" ] || echo "vigild callgrind: $IPQ instructions/query ($loaded - $base Ir over $done_q queries)"
