#!/bin/bash
# Fuzz campaign: run libFuzzer targets one at a time, each for a bounded wall-clock time, on a
# copy of its committed corpus, and write one summary line per run (execs, coverage, crashes).
# Usage: contrib/attack/fuzz-campaign.sh BUILD-FUZZ OUTDIR TARGET:SECONDS...
#   BUILD-FUZZ  a build dir set up with -Dfuzz=true (docs/fuzzing.md)
#   OUTDIR      gets corpus_T/ (new inputs), art_T/ (crashes), T.log, summary.txt
# A TARGET of "@FILE" takes the next TARGET:SECONDS lines from FILE as they are appended
# (one per line), so a queue can grow while the campaign runs; a line "end" stops it.
# Runs under nice -n 19, in fork mode with -ignore_crashes=1 so one crash does not end a run
# early; every crash is kept as an artifact for sorting by stack (docs/fuzzing.md).
set -euo pipefail
build=$1
out=$2
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"

run_one() {
	local t=${1%%:*} secs=${1##*:}
	local exe="$build/tests/fuzz/fuzz_$t"
	if [ ! -x "$exe" ]; then
		echo "$t: no $exe" | tee -a "$out/summary.txt"
		return
	fi
	mkdir -p "$out/corpus_$t" "$out/art_$t"
	cp -n "$src/tests/fuzz/corpus/$t/"* "$out/corpus_$t/" 2>/dev/null || true
	local start
	start=$(date -u +%FT%TZ)
	timeout $((secs + 120)) nice -n 19 "$exe" -fork=1 -ignore_crashes=1 \
		-max_total_time="$secs" -rss_limit_mb=1536 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/art_$t/" "$out/corpus_$t" > "$out/$t.log" 2>&1 || true
	# Fork mode prints "#N DONE cov: C ft: F corp: ... exec/s: E oom/timeout/crash: a/b/c".
	local last
	last=$(grep -E '^#[0-9]+: cov:|DONE' "$out/$t.log" | tail -n 1 || true)
	local crashes
	crashes=$(find "$out/art_$t" -type f | wc -l)
	echo "$t start=$start secs=$secs artifacts=$crashes last: $last" | tee -a "$out/summary.txt"
}

for arg in "$@"; do
	if [ "${arg#@}" != "$arg" ]; then
		q=${arg#@}
		n=0
		idle=0
		while [ "$idle" -lt 360 ]; do # an hour without a new line ends the queue
			line=$(sed -n "$((n + 1))p" "$q" 2>/dev/null || true)
			if [ -z "$line" ]; then
				idle=$((idle + 1))
				sleep 10
				continue
			fi
			idle=0
			n=$((n + 1))
			[ "$line" = end ] && break
			run_one "$line"
		done
	else
		run_one "$arg"
	fi
done
