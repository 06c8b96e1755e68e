#!/bin/bash
# Instructions per answered query under callgrind, for cached answers (the hit path) and local-data
# answers, on a listener bound to one address and on a wildcard one (0.0.0.0: IP_PKTINFO on every
# datagram). Usage: contrib/bench/hitpath.sh [BUILD_DIR] [BASELINE_VIGILD]
#
# The cached case: faultd serves NAMES names in bench.zz. on loopback, vigild forwards the zone to
# it; a first vigild run (no valgrind) fills the LMDB cache, so the measured runs answer every
# query from the cache. Per query = (Ir of a run answering N queries - Ir of a run answering none)
# / N, the method of frontend.sh (docs/benchmarks.md). Runs in a private network namespace.
set -euo pipefail

if [ -z "${HP_NETNS:-}" ]; then
	exec unshare -n env HP_NETNS=1 "$0" "$@"
fi
ip link set lo up

BUILD=${1:-build}
VIGILD=$(realpath "$BUILD/daemon/vigild")
FAULTD=$(realpath "$BUILD/tests/lab/faultd")
BASELINE=${2:-}
NAMES=${NAMES:-100}
CG_QUERIES=${CG_QUERIES:-20000}
PV=${PV:-25363}
PF=${PF:-25364}

for t in dnsperf valgrind callgrind_annotate dig; do
	command -v $t >/dev/null || { echo "hitpath.sh: $t is missing (apt-get install dnsperf valgrind bind9-dnsutils)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/vigil-bench-hp.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP_W:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

{
	echo '$ORIGIN bench.zz.'
	echo '@ 3600 IN SOA ns h 1 3600 600 86400 3600'
	echo '@ 3600 IN NS ns'
	echo 'ns 3600 IN A 127.0.0.1'
	for i in $(seq 1 "$NAMES"); do echo "host$i 3600 IN A 10.77.$((i / 256)).$((i % 256))"; done
} > "$W/bench.zone"
: > "$W/cached.q"
: > "$W/local.q"
: > "$W/local-ld"
for i in $(seq 1 "$NAMES"); do
	echo "host$i.bench.zz A" >> "$W/cached.q"
	echo "host$i.bench.lan A" >> "$W/local.q"
	echo "local-data: \"host$i.bench.lan. 300 A 10.78.$((i / 256)).$((i % 256))\"" >> "$W/local-ld"
done
printf '.\t3600000\tNS\ta.root.test.\na.root.test.\t3600000\tA\t127.0.0.9\n' > "$W/loopback.hints"

"$FAULTD" -a "127.0.0.1@$PF" -z "$W/bench.zone" -o bench.zz. -m ok -f 2>"$W/faultd.log" &
PIDS+=($!)

conf() { # $1 listen address, $2 cache dir
	cat <<CONF
listen: $1@$PV
workers: 1
user: ""
cache-dir: $2
cache-size: 64M
log-level: warn
root-hints: $W/loopback.hints
forward-zone: "bench.zz. 127.0.0.1@$PF"
negative-trust-anchor: bench.zz.
$(cat "$W/local-ld")
CONF
}

wait_up() {
	for _ in $(seq 1 200); do
		dig +short +tries=1 +time=1 @127.0.0.1 -p "$PV" host1.bench.lan A >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "hitpath.sh: vigild did not answer" >&2
	exit 1
}

stop() { # $1 pid
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

FUNCS="vg_worker_query vg_udp_reply_commit vg_worker_batch_end mdb_txn_renew"
cg_run() { # $1 binary, $2 config, $3 query file, $4 queries (0 = none): prints "Ir Ir(f) for f in FUNCS"
	local out="$W/cg.$RANDOM"
	valgrind --tool=callgrind --callgrind-out-file="$out" "$1" -f -c "$2" 2>>"$W/callgrind.log" &
	local pid=$!
	PIDS+=("$pid")
	wait_up
	if [ "$4" -gt 0 ]; then
		dnsperf -s 127.0.0.1 -p "$PV" -d "$3" -n $(($4 / NAMES)) -Q 3000 -c 1 -t 5 > "$out.dnsperf" 2>&1
	fi
	stop "$pid"
	local done_q=0
	[ "$4" -gt 0 ] && done_q=$(awk '/Queries completed:/ { print $3 }' "$out.dnsperf")
	callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null > "$out.txt"
	printf "%s %s" "$done_q" "$(awk '/^(summary|totals):/ { print $2; exit }' "$out")"
	for f in $FUNCS; do
		printf " %s" "$(awk -v f="$f" '$1 ~ /^[0-9,]+$/ && index($0, ":" f " ") { gsub(",", "", $1); print $1; exit } END { print 0 }' "$out.txt" | head -1)"
	done
	echo
}

measure() { # $1 label, $2 binary, $3 listen address, $4 query file
	local cdir="$W/cache.$RANDOM"
	conf "$3" "$cdir" > "$W/m.conf"
	# fill the cache without valgrind
	"$2" -f -c "$W/m.conf" 2>>"$W/warm.log" &
	local pid=$!
	PIDS+=("$pid")
	wait_up
	dnsperf -s 127.0.0.1 -p "$PV" -d "$4" -n 2 -c 1 -t 5 > /dev/null 2>&1
	stop "$pid"
	local -a a b
	read -r -a a < <(cg_run "$2" "$W/m.conf" "$4" 0)
	read -r -a b < <(cg_run "$2" "$W/m.conf" "$4" "$CG_QUERIES")
	local n=${b[0]} i=2 line
	line=$(printf "%-34s %5d Ir/query;" "$1" $(((b[1] - a[1]) / n)))
	for f in $FUNCS; do
		line+=$(printf " %s %d" "$f" $(((b[i] - a[i]) / n)))
		i=$((i + 1))
	done
	echo "$line ($n queries)"
}

for bin in "$VIGILD" ${BASELINE:+"$BASELINE"}; do
	tag=this
	[ "$bin" = "$VIGILD" ] || tag=baseline
	measure "$tag cached, listen 127.0.0.1" "$bin" 127.0.0.1 "$W/cached.q"
	measure "$tag cached, listen 0.0.0.0" "$bin" 0.0.0.0 "$W/cached.q"
	measure "$tag local-data, listen 127.0.0.1" "$bin" 127.0.0.1 "$W/local.q"
done
