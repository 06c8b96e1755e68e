#!/bin/sh
# Cache micro-benchmarks (issue 3): answer-cache hit/miss lookups and inserts at 100k and 1M
# entries, callgrind instructions per hit, and the Zipf hit rate of the eviction policy vs LRU.
# Usage: contrib/bench/cache.sh [BUILD_DIR]   (default build-cache; needs valgrind for callgrind)
# Bounded: about a minute on 2 cores. Temp caches live under /tmp and are removed by the binary.
set -eu
B=${1:-build-cache}
BIN="$B/cache/cache_bench"
RUNS=${RUNS:-3}
[ -x "$BIN" ] || { echo "build first: ninja -C $B cache/cache_bench" >&2; exit 1; }

echo "== rates (median of $RUNS printed runs; compare by eye or sort) =="
for e in 100000 1000000; do
	i=0
	while [ $i -lt "$RUNS" ]; do
		"$BIN" rates "$e" 2000000
		i=$((i + 1))
	done
done

if command -v valgrind >/dev/null 2>&1; then
	echo "== callgrind: instructions per answer-cache hit (two run lengths, difference) =="
	tmp=$(mktemp -d /tmp/vg-cache-cg-XXXXXX)
	ir() {
		valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$tmp/cg.$1" \
			"$BIN" callgrind "$1" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	a=$(ir 50000)
	b=$(ir 200000)
	echo "50k hits: $a Ir, 200k hits: $b Ir, per hit: $(( (b - a) / 150000 ))"
	rm -rf "$tmp"
fi

echo "== Zipf hit rate, cache much smaller than the working set: vigil eviction vs plain LRU =="
"$BIN" zipf 200000 2000000 0.9 4096
"$BIN" zipf 200000 2000000 0.9 16384
"$BIN" zipf 200000 2000000 1.1 4096
