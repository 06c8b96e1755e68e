#!/bin/bash
# Instructions per cache miss (issues 9 and 13), repeatable where wall-clock CPU is not: vigild
# runs under `valgrind --tool=callgrind` against a private lab (its own network namespace: the
# script re-runs itself under `unshare -n`) and is sent MISSES unique wildcard names
# (m<i>-<tag>.wild.example.com A, one lookup each: root, com. and example.com. are cached by a
# warm-up name first). Per miss = (Ir of a run with MISSES misses - Ir of a run with only the
# warm-up) / MISSES, for the whole process and for the worker thread alone (writer apart).
#
#   contrib/bench/missgrind.sh [BUILD_DIR] [BASELINE_VIGILD]   (default build; env MISSES, 2000;
#                                           VALIDATE=0 turns validation off, default on with the
#                                           lab's anchor; a baseline without a validator ignores it;
#                                           EXTRA_CONF: more config lines, e.g. "aggressive-nsec: no")
#                                           KEEP_CG=DIR: the callgrind files of each run are
#                                           copied there (cg.<misses>.<pid>-<thread>) for
#                                           callgrind_annotate --inclusive=yes)
#
# With a second vigild binary (another tree's, e.g. main's) the same runs are made with it,
# one after the other, for a before/after figure. With RESULTS=FILE, "server metric value" lines
# are appended to FILE (contrib/bench/run-all.sh). Bounded: dnsperf sends each name once with a
# 60 s limit; everything is stopped by PID.
set -euo pipefail

if [ -z "${MG_NETNS:-}" ]; then
	exec unshare -n env MG_NETNS=1 "$0" "$@"
fi
ip link set lo up

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/contrib/bench/privlab.sh"
BUILD=$(realpath "${1:-build}")
BASELINE=${2:-}
MISSES=${MISSES:-2000}
T=$(mktemp -d /tmp/vg-missgrind-XXXXXX)
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null || true
	privlab_down "$T/lab"
	rm -rf "$T"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

privlab_up "$T/lab" "${VIGIL_FAULTD:-$BUILD/tests/lab/faultd}" || exit 1

run() { # $1 vigild binary, $2 number of misses: prints "total_Ir worker_Ir"
	rm -rf "$T/c" && mkdir -p "$T/c"
	cat >"$T/vigil.conf" <<EOF
listen: 127.0.0.1@15353
workers: 1
user: ""
cache-dir: $T/c
root-hints: $T/lab/root.hints
query-local-addresses: yes
do-ip6: no
log-level: error
$([ "${VALIDATE:-1}" = 1 ] && echo "trust-anchor-file: $T/lab/root.ds" || echo "dnssec: no")
${EXTRA_CONF:-}
EOF
	valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$T/cg.$2.%p" \
		"$1" -f -c "$T/vigil.conf" 2>>"$T/valgrind.log" &
	SPID=$!
	for _ in $(seq 300); do
		dig +time=1 +tries=1 -p 15353 @127.0.0.1 www.example.com A >/dev/null 2>&1 && break
		sleep 0.1
	done
	dig +time=5 +tries=1 -p 15353 @127.0.0.1 warm.wild.example.com A >/dev/null 2>&1 || true
	if [ "$2" -gt 0 ]; then
		awk -v n="$2" -v tag="$$x$2" 'BEGIN { for (i = 0; i < n; i++) printf "m%d-%s.wild.example.com A\n", i, tag }' >"$T/names"
		dnsperf -s 127.0.0.1 -p 15353 -d "$T/names" -n 1 -c 1 -q 20 -t 5 -l 60 >"$T/dnsperf.$2" 2>&1
	fi
	kill "$SPID"
	wait "$SPID" 2>/dev/null || true
	SPID=
	local total=0 worker=0 f n
	for f in "$T"/cg."$2".*; do
		n=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
		total=$((total + n))
		# the worker thread is the one that ran vg_worker_query
		if grep -q 'vg_resolver_resolve$' "$f"; then
			worker=$((worker + n))
		fi
	done
	if [ -n "${KEEP_CG:-}" ]; then
		mkdir -p "$KEEP_CG" && cp "$T"/cg."$2".* "$KEEP_CG"/
	fi
	rm -f "$T"/cg."$2".*
	echo "$total $worker"
}

per_miss() { # $1 vigild binary, $2 its name in RESULTS
	local t0 w0 t1 w1 done
	read -r t0 w0 < <(run "$1" 0)
	read -r t1 w1 < <(run "$1" "$MISSES")
	done=$(awk '/Queries completed:/ { print $3 }' "$T/dnsperf.$MISSES")
	[ -z "${RESULTS:-}" ] || printf '%s miss_ir %s\n%s miss_ir_worker %s\n' "$2" $(((t1 - t0) / done)) "$2" $(((w1 - w0) / done)) >>"$RESULTS"
	echo "$(((t1 - t0) / done)) instructions per miss, worker thread $(((w1 - w0) / done)) ($done misses answered; $t1 - $t0 Ir)"
}

echo "vigild ($BUILD): $(per_miss "$BUILD/daemon/vigild" vigild)"
[ -z "$BASELINE" ] || echo "baseline ($BASELINE): $(per_miss "$BASELINE" base)"
