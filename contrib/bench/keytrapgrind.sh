#!/bin/bash
# Instructions for one KeyTrap-style name (issue 10: "Report the instruction count for a
# KeyTrap-style zone in the benchmark"), beside an ordinary signed name resolved the same way.
# vigild (and Unbound, when installed) runs under `valgrind --tool=callgrind` against a private
# lab (its own network namespace: the script re-runs itself under `unshare -n`), validating with
# the lab's anchor. Each run starts an empty cache, warms it with www.secure.org A (the root's
# and org.'s keys and cuts are then cached), then asks one name of a cold signed zone below org.:
#   www.keytrap.org   32 DNSKEYs with one key tag, 31 random RRSIGs before the genuine one
#   one.keytrap.org   the same keys, only the genuine RRSIG
#   bad.keytrap.org   the same keys, 32 random RRSIGs
#   www.rsa.org       the control: an ordinary RSASHA256 zone (one key per tag, one RRSIG)
# Per name = Ir of (warm-up + name) - Ir of (warm-up alone), the whole process (vigild: all
# threads; Unbound: its one thread); for vigild also the signature verifications made
# (calls of ldns_verify_rrsig_buffers_raw) against the per-request cap (64, docs/architecture.md
# "Bounds"), and the answer's rcode.
#
#   contrib/bench/keytrapgrind.sh [BUILD_DIR]   (default build; env NAMES, SERVERS "vigild unbound")
#
# With RESULTS=FILE, "server metric value" lines are appended to FILE. Bounded: every query has
# a 10 s limit; everything is stopped by PID.
set -euo pipefail

if [ -z "${KG_NETNS:-}" ]; then
	exec unshare -n env KG_NETNS=1 "$0" "$@"
fi
ip link set lo up

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/contrib/bench/privlab.sh"
BUILD=$(realpath "${1:-build}")
NAMES=${NAMES:-www.keytrap.org one.keytrap.org bad.keytrap.org www.rsa.org}
SERVERS=${SERVERS:-vigild unbound}
T=$(mktemp -d /tmp/vg-keytrapgrind-XXXXXX)
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
PORT=15353

start_vigild() { # $1 callgrind output prefix
	rm -rf "$T/c" && mkdir -p "$T/c"
	cat >"$T/vigil.conf" <<EOF
listen: 127.0.0.1@$PORT
workers: 1
user: ""
cache-dir: $T/c
root-hints: $T/lab/root.hints
trust-anchor-file: $T/lab/root.ds
query-local-addresses: yes
do-ip6: no
log-level: error
EOF
	valgrind --tool=callgrind --separate-threads=yes --compress-strings=no \
		--callgrind-out-file="$1.%p" "$BUILD/daemon/vigild" -f -c "$T/vigil.conf" \
		2>>"$T/valgrind.log" &
	SPID=$!
}
start_unbound() { # $1 callgrind output prefix
	cat >"$T/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@$PORT
  do-not-query-localhost: no
  do-ip6: no
  root-hints: "$T/lab/root.hints"
  trust-anchor-file: "$T/lab/root.ds"
  module-config: "validator iterator"
  username: ""
  chroot: ""
  directory: "$T"
  pidfile: "$T/unbound.pid"
  use-syslog: no
  logfile: "$T/unbound.log"
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  verbosity: 0
remote-control:
  control-enable: no
EOF
	valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$1.%p" \
		unbound -d -c "$T/unbound.conf" 2>>"$T/valgrind.log" &
	SPID=$!
}

# One run: $1 server, $2 name or "-" (warm-up only). Prints "Ir verifications rcode".
run() {
	local out="$T/cg.$1.$2" f n total=0 calls=0 rcode=-
	"start_$1" "$out"
	for _ in $(seq 300); do
		dig +time=1 +tries=1 -p $PORT @127.0.0.1 localhost A >/dev/null 2>&1 && break
		sleep 0.1
	done
	dig +dnssec +time=10 +tries=1 -p $PORT @127.0.0.1 www.secure.org A >/dev/null 2>&1 || true
	if [ "$2" != - ]; then
		rcode=$(dig +dnssec +time=10 +tries=1 -p $PORT @127.0.0.1 "$2" A 2>&1 |
			sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
	fi
	kill "$SPID"
	wait "$SPID" 2>/dev/null || true
	SPID=
	for f in "$out".*; do
		n=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
		total=$((total + n))
		# signature verifications: the calls to ldns' raw verifier
		n=$(awk '/^cfn=.*ldns_verify_rrsig_buffers_raw$/ { want = 1; next }
			want && /^calls=/ { split($1, a, "="); s += a[2]; want = 0; next }
			{ want = 0 } END { print s + 0 }' "$f")
		calls=$((calls + n))
	done
	rm -f "$out".*
	echo "$total $calls ${rcode:-none}"
}

for srv in $SERVERS; do
	if [ "$srv" = unbound ] && ! command -v unbound >/dev/null; then
		echo "unbound: not installed, skipped"
		continue
	fi
	read -r base_ir base_calls _ < <(run "$srv" -)
	for n in $NAMES; do
		read -r ir calls rcode < <(run "$srv" "$n")
		d=$((ir - base_ir))
		if [ "$srv" = vigild ]; then
			printf '%-7s %-18s %12d instructions  %3d signature verifications (cap 64)  %s\n' \
				"$srv" "$n" "$d" $((calls - base_calls)) "$rcode"
		else
			printf '%-7s %-18s %12d instructions  %s\n' "$srv" "$n" "$d" "$rcode"
		fi
		[ -z "${RESULTS:-}" ] || printf '%s keytrap_ir_%s %s\n' "$srv" "$n" "$d" >>"$RESULTS"
	done
done
