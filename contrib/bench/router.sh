#!/bin/bash
# A home router's load on vigild: how many bytes its cache writes per second, and how much memory
# it holds, with cache-dir on disk (flash stands in for it) and on a tmpfs.
# Usage: contrib/bench/router.sh [BUILD_DIR]   (root: a private network and mount namespace)
#
# faultd serves NAMES names in load.zz. on loopback; vigild forwards the zone to it (as a router
# forwards lan. to its DHCP server, and like any cache miss: one answer and its RRsets written).
# dnsperf asks RATE queries/s for SECS s from a list where each name comes twice, so half the
# queries are misses (a write) and half hits. Reported per cache-dir:
#   wchar/s        bytes vigild handed to write()/pwrite() per second (LMDB pages: what the
#                  page cache then writes back, at most, to the device)
#   write_bytes/s  bytes the kernel sent to the block device on vigild's behalf (0 on tmpfs)
#   data.mdb       the cache file's size on disk at the end
#   RSS            VmRSS at the end, split into anonymous memory and file pages (the LMDB map)
set -euo pipefail

if [ -z "${RB_NS:-}" ]; then
	exec unshare -n -m env RB_NS=1 "$0" "$@"
fi
ip link set lo up

BUILD=${1:-build}
VIGILD=$(realpath "$BUILD/daemon/vigild")
FAULTD=$(realpath "$BUILD/tests/lab/faultd")
NAMES=${NAMES:-3000}
RATE=${RATE:-200}
SECS=${SECS:-30}
PV=${PV:-25373}
PF=${PF:-25374}

W=$(mktemp -d /tmp/vigil-bench-router.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	umount "$W/tmpfs" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

{
	echo '$ORIGIN load.zz.'
	echo '@ 3600 IN SOA ns h 1 3600 600 86400 3600'
	echo '@ 3600 IN NS ns'
	echo 'ns 3600 IN A 127.0.0.1'
	for i in $(seq 1 "$NAMES"); do echo "h$i 3600 IN A 10.$((i / 65536)).$((i / 256 % 256)).$((i % 256))"; done
} > "$W/load.zone"
for i in $(seq 1 "$NAMES"); do echo "h$i.load.zz A"; echo "h$i.load.zz A"; done > "$W/queries"
printf '.\t3600000\tNS\ta.root.test.\na.root.test.\t3600000\tA\t127.0.0.9\n' > "$W/loopback.hints"
mkdir -p "$W/tmpfs"
mount -t tmpfs -o size=256M tmpfs "$W/tmpfs"

"$FAULTD" -a "127.0.0.1@$PF" -z "$W/load.zone" -o load.zz. -m ok -f 2>"$W/faultd.log" &
PIDS+=($!)

io() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/io"; }
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

run() { # $1 label, $2 cache-dir
	cat > "$W/v.conf" <<CONF
listen: 127.0.0.1@$PV
workers: 2
user: ""
cache-dir: $2
cache-size: 64M
log-level: warn
root-hints: $W/loopback.hints
forward-zone: "load.zz. 127.0.0.1@$PF"
negative-trust-anchor: load.zz.
CONF
	"$VIGILD" -f -c "$W/v.conf" 2>>"$W/vigild.log" &
	local pid=$!
	PIDS+=("$pid")
	for _ in $(seq 1 100); do
		dig +short +tries=1 +time=1 @127.0.0.1 -p "$PV" localhost A >/dev/null 2>&1 && break
		sleep 0.1
	done
	local rss0 wc0 wb0 wc1 wb1
	rss0=$(kib "$pid" VmRSS)
	wc0=$(io "$pid" wchar)
	wb0=$(io "$pid" write_bytes)
	dnsperf -s 127.0.0.1 -p "$PV" -d "$W/queries" -l "$SECS" -Q "$RATE" -c 1 > "$W/dnsperf.out" 2>&1
	sleep 6 # the writer's commit and the periodic sync
	sync
	wc1=$(io "$pid" wchar)
	wb1=$(io "$pid" write_bytes)
	local done_q
	done_q=$(awk '/Queries completed:/ { print $3 }' "$W/dnsperf.out")
	printf "%-22s %6d queries  wchar %7d B/s  write_bytes %7d B/s  data.mdb %6d KiB  RSS %6d KiB at start, %6d KiB after (anon %d, file %d)\n" \
		"$1" "$done_q" $(((wc1 - wc0) / (SECS + 6))) $(((wb1 - wb0) / (SECS + 6))) \
		$(($(du -k "$2/data.mdb" | cut -f1))) "$rss0" "$(kib "$pid" VmRSS)" \
		"$(kib "$pid" RssAnon)" "$(kib "$pid" RssFile)"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

echo "== $RATE queries/s for $SECS s, $NAMES names each asked twice (half misses), 2 workers, cache-size 64M =="
run "cache-dir on disk" "$W/disk-cache"
run "cache-dir on tmpfs" "$W/tmpfs/cache"
