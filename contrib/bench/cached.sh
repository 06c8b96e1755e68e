#!/bin/bash
# Callgrind instructions per answer-cache hit through the whole front end (issue 12): vigild
# forwards 100 names to contrib/bench/fixed_answer, the answers are cached (one priming pass),
# then vigild is restarted under valgrind on that cache and answers 20,000 queries (dnsperf -Q 3000
# -c 1) from it. Instructions per query = (Ir of that run - Ir of a run answering none) / 20,000,
# the whole process and the inclusive cost of vg_worker_query (parse, ACL, local data, cache
# lookup, answer, counters).
#
# Usage: contrib/bench/cached.sh [BUILD_DIR]   (default build)
#   BASELINE=PATH   also measure another vigild binary (e.g. main's) the same way
#   VIGILD=PATH     the vigild to measure (default BUILD_DIR/daemon/vigild)
#   QLOG=1          also measure BUILD_DIR's vigild with query-log on (query-log-rate: 0)
# Runs itself in a private network namespace (unshare -n); about 3 minutes per measurement on 2
# cores. Needs dnsperf, valgrind, dig.
set -euo pipefail
B=${1:-build}
if [ -z "${VG_IN_NETNS:-}" ]; then
	exec env VG_IN_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
VIGILD=${VIGILD:-$B/daemon/vigild}
FIXED="$B/contrib/bench/fixed_answer"
for t in dnsperf valgrind callgrind_annotate dig; do
	command -v $t >/dev/null || { echo "cached.sh: $t is missing (apt-get install dnsperf valgrind bind9-dnsutils)" >&2; exit 1; }
done
[ -x "$VIGILD" ] && [ -x "$FIXED" ] || { echo "build first: ninja -C $B" >&2; exit 1; }
N=${CG_QUERIES:-20000}
NAMES=100
PV=5391
PF=5392
W=$(mktemp -d /tmp/vg-cached-XXXXXX)
[ -z "${KEEP_TMP:-}" ] || echo "work dir: $W" >&2
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

: > "$W/queries"
for i in $(seq 1 "$NAMES"); do echo "host$i.bench.net A" >> "$W/queries"; done
"$FIXED" 127.0.0.1 "$PF" 3600 &
PIDS+=($!)

conf() { # $1 file, $2 cache dir, $3 extra line
	cat > "$1" <<CONF
listen: 127.0.0.1@$PV
workers: 1
user: ""
cache-dir: $2
cache-size: 64M
log-level: info
forward: 127.0.0.1@$PF
query-local-addresses: yes
prefetch: no
# fixed_answer's data is unsigned and its names under the root's anchor: not validated
dnssec: no
$3
CONF
}

wait_up() {
	for _ in $(seq 1 300); do
		dig +short +tries=1 +time=1 @127.0.0.1 -p "$PV" host1.bench.net A >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "cached.sh: vigild did not answer" >&2
	exit 1
}

stop_pid() {
	kill "$1" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
}

run() { # $1 binary, $2 config, $3 queries (0 = none): prints "total vg_worker_query"
	local out="$W/cg.$RANDOM"
	valgrind --tool=callgrind --callgrind-out-file="$out" "$1" -f -c "$2" 2>>"$W/valgrind.log" &
	local pid=$!
	wait_up
	if [ "$3" -gt 0 ]; then
		dnsperf -s 127.0.0.1 -p "$PV" -d "$W/queries" -n $(($3 / NAMES)) -Q 3000 -c 1 -t 5 \
			> "$W/dnsperf.log" 2>&1
		grep -q "Queries completed: *$3 " "$W/dnsperf.log" ||
			{ echo "cached.sh: dnsperf did not complete $3 queries:" >&2; cat "$W/dnsperf.log" >&2; exit 1; }
	fi
	stop_pid "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$(awk '/^(summary|totals):/ { print $2; exit }' "$out") $(callgrind_annotate --threshold=100 \
		--inclusive=yes "$out" 2>/dev/null | awk '/vg_worker_query/ { gsub(",", "", $1); print $1; exit }')"
}

measure() { # $1 label, $2 binary, $3 extra config line
	local cache="$W/cache-$1"
	conf "$W/$1.conf" "$cache" "$3"
	"$2" -f -c "$W/$1.conf" 2>>"$W/vigild.log" &
	local pid=$!
	wait_up
	dnsperf -s 127.0.0.1 -p "$PV" -d "$W/queries" -n 1 -c 1 > /dev/null 2>&1 # prime the cache
	sleep 1 # the cache writer commits
	stop_pid "$pid"
	wait "$pid" 2>/dev/null || true
	local idle idle_q loaded loaded_q
	read -r idle idle_q < <(run "$2" "$W/$1.conf" 0)
	run "$2" "$W/$1.conf" "$N" > "$W/loaded"
	read -r loaded loaded_q < "$W/loaded"
	local cached
	cached=$(grep -o ' cached=[0-9]*' "$W/valgrind.log" | tail -n 1)
	echo "$1: $(((loaded - idle) / N)) instructions/query ($loaded - $idle Ir over $N)," \
		"of which vg_worker_query $(((loaded_q - idle_q) / N));${cached} in the measured run"
}

measure vigild "$VIGILD" ""
[ -z "${QLOG:-}" ] || measure vigild-query-log "$VIGILD" "query-log: $W/q.log
query-log-rate: 0"
[ -z "${BASELINE:-}" ] || measure base "$BASELINE" ""
