#!/bin/bash
# The long versions of the attack tests (issue 14, docs/attack.md): each part of
# tests/integration/test_attack.sh with its durations multiplied, then (optionally) a fuzz
# campaign of every target. Every step is bounded in time; nothing runs unbounded.
# Usage (as root, from the repository):
#   contrib/attack/run-long.sh BUILD [SCALE] [FUZZ-SECONDS]
#     BUILD         a meson build dir with vigild, vigilctl and faultd built (e.g. build)
#     SCALE         duration multiplier of the attack parts (default 5: a 5-minute load run,
#                   50 s kill -9 run, ...; the CI runs SCALE 1)
#     FUZZ-SECONDS  seconds per fuzz target (default 0: no fuzzing); needs build-fuzz/ set up
#                   with -Dfuzz=true (docs/fuzzing.md)
# Output: a directory under /tmp with one log per part and the fuzz campaign's summary.
set -u
build=${1:?usage: run-long.sh BUILD [SCALE] [FUZZ-SECONDS]}
scale=${2:-5}
fuzz=${3:-0}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
out=$(mktemp -d /tmp/vigil-long-XXXXXX)
echo "run-long: logs in $out"
export VIGILD=$build/daemon/vigild VIGILCTL=$build/daemon/vigilctl
export VIGIL_FAULTD=$build/tests/lab/faultd ATTACK_SCALE=$scale
status=0
for part in load kill9 tcp hup clock; do
	# each part is bounded: at most 10 minutes per unit of scale
	timeout $((600 * scale)) nice -n 10 "$src/tests/integration/test_attack.sh" "$part" \
		>"$out/attack-$part.log" 2>&1
	rc=$?
	echo "run-long: attack $part: exit $rc ($(grep -c '^attack:' "$out/attack-$part.log") figures)"
	[ "$rc" = 0 ] || [ "$rc" = 77 ] || status=1
done
if [ "$fuzz" -gt 0 ]; then
	"$src/contrib/attack/fuzz-campaign.sh" "$src/build-fuzz" "$out/fuzz" \
		reply:"$fuzz" resolver:"$fuzz" upstream:"$fuzz" query:"$fuzz" cache_value:"$fuzz" \
		cache_db:"$fuzz" config:"$fuzz" name:"$fuzz"
fi
grep -h '^attack:' "$out"/attack-*.log
exit $status
