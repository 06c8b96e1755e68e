#!/bin/bash
# Attack tests (issue 14): vigild under sustained load while the lab's authorities fail, forge and
# stall; kill -9 under load; hostile TCP clients; SIGHUP storms; wall-clock steps.
# Usage: test_attack.sh PART...     PART: load | kill9 | tcp | hup | clock (in the order given)
# Environment (meson sets the first three): VIGILD, VIGILCTL, VIGIL_FAULTD; ATTACK_SCALE: 1 (CI,
# default), or a larger integer for the long runs (contrib/attack/run-long.sh); ATTACK_SANITIZED=1
# in sanitizer builds (shorter runs, no RSS bound: ASan's quarantine grows by design).
# One run is a network namespace of its own (loopback only, its own lab on 127.53.x.y), so it
# can run in parallel with other tests; the parts share the lab (bringing it up costs 1 s on an
# idle machine, 20 s on a busy one) and each starts its own vigild on 127.0.0.1@5300 with a fresh
# cache. Without root (or where namespaces are not allowed) it skips with exit 77. Every loop is
# bounded in count and time. Figures go to stdout (the test log) as lines starting "attack:".
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

skip() {
	echo "SKIP: $*"
	exit 77
}
# Also from a subshell ($(...)): the mark file carries the verdict out of it.
fail() {
	echo "FAIL: $*"
	FAILED=1
	[ -n "${T:-}" ] && touch "$T/failed"
}

if [ -z "${ATTACK_IN_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip "needs root: a private network namespace and the lab on port 53"
	unshare -n true 2>/dev/null || skip "network namespaces are not permitted here (unshare -n)"
	for t in dnsperf dig nsd ip; do
		command -v $t >/dev/null || skip "$t is not installed (see the README's test command)"
	done
	ATTACK_IN_NS=1 exec unshare -n -- "$0" "$@"
fi
ip link set lo up

: "${VIGILD:?run through meson test}" "${VIGILCTL:?run through meson test}"
SCALE=${ATTACK_SCALE:-1}
SAN=${ATTACK_SANITIZED:-0}
FAILED=0
T=$(mktemp -d /tmp/vigil-attack-XXXXXX)
export VIGIL_LAB_DIR=$T/lab
export VIGIL_LAB_REQUIRE_FAULTD=1
PORT=5300
CTL=$T/ctl
VPID=
SAMPLER=

# SIGTERM (so a sanitizer build runs its leak check), SIGKILL after 10 s.
stop_vigild() {
	[ -n "$VPID" ] || return 0
	# CPU time vigild used (user + system, clock ticks of 1/100 s): the cost of the part.
	awk '{ printf "attack: vigild CPU %.2f s (user %.2f, system %.2f)\n", ($14 + $15) / 100,
		$14 / 100, $15 / 100 }' "/proc/$VPID/stat" 2>/dev/null
	kill "$VPID" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$VPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$VPID" 2>/dev/null
	wait "$VPID" 2>/dev/null
	local rc=$?
	VPID=
	# 0, or 143 for TERM seen by a shell; a sanitizer report exits 1 (or 23 for LSan)
	[ "$rc" = 0 ] || [ "$rc" = 143 ] || fail "vigild exited with status $rc"
}

cleanup() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	stop_vigild
	"$src/tests/lab/lab.sh" down >/dev/null 2>&1
	if [ "$FAILED" = 0 ]; then
		rm -rf "$T"
	else
		echo "attack: files kept in $T"
		tail -n 40 "$T/vigild.log" 2>/dev/null | sed 's/^/  vigild: /'
	fi
}
trap cleanup EXIT

"$src/tests/lab/lab.sh" up >"$T/lab.out" 2>&1 || {
	cat "$T/lab.out"
	echo "FAIL: the lab did not come up"
	exit 1
}

write_config() { # extra lines on stdin are appended
	{
		echo "listen: 127.0.0.1@$PORT"
		echo 'user: ""'
		echo "workers: 2"
		echo "cache-dir: $T/cache-$PART"
		echo "cache-size: 64M"
		echo "root-hints: $VIGIL_LAB_DIR/root.hints"
		echo "trust-anchor-file: $VIGIL_LAB_DIR/root.ds"
		echo "query-local-addresses: yes"
		echo "control-socket: $CTL"
		echo "suspicious-log: $T/suspicious.log"
		echo "log-level: info"
		cat
	} >"$T/vigild.conf"
}

# Starts vigild (config already written) and waits until it answers; $1: extra environment.
start_vigild() {
	echo "== $PART" >>"$T/vigild.log"
	env ${1:-} "$VIGILD" -f -c "$T/vigild.conf" >>"$T/vigild.log" 2>&1 &
	VPID=$!
	for _ in $(seq 1 100); do
		dig +tries=1 +time=1 -p $PORT @127.0.0.1 localhost A >/dev/null 2>&1 && return 0
		kill -0 "$VPID" 2>/dev/null || break
		sleep 0.1
	done
	fail "vigild did not start"
	exit 1
}

ctl() { timeout 10 "$VIGILCTL" -s "$CTL" "$@"; }
# One counter of `vigilctl stats`; a counter that is not there fails the part (and prints -1), so
# a renamed counter cannot make a comparison pass by comparing two empty strings.
stat_of() {
	local v
	v=$(ctl stats | awk -v k="$1" '$1 == k || $1 == k":" { print $2; exit }')
	if [ -z "$v" ]; then
		fail "vigilctl stats has no counter $1" >&2
		v=-1
	fi
	echo "$v"
}

# One UDP question from source $3 (default 127.0.0.2, not the load generator's address);
# prints the answer section's data, "TIMEOUT", or "RCODE x".
ask() {
	local out
	out=$(dig +tries=1 +time=${4:-4} -b "${3:-127.0.0.2}" -p $PORT @127.0.0.1 "$1" "$2" 2>&1)
	if ! echo "$out" | grep -q 'status:'; then
		echo TIMEOUT
		return
	fi
	echo "$out" | sed -n 's/.*status: \([A-Z]*\),.*/RCODE \1/p'
	echo "$out" | awk '/^;; ANSWER SECTION/ { a = 1; next } /^$/ { a = 0 } a && !/^;/ { print $NF }'
}

# RSS of vigild every 2 s into $T/rss.csv: seconds, VmRSS kB, RssAnon kB. Bounded: $1 samples.
sample_rss() {
	local n=$1 t0
	t0=$(date +%s)
	(
		for _ in $(seq 1 "$n"); do
			[ -r /proc/$VPID/status ] || exit 0
			awk -v t=$(($(date +%s) - t0)) '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 }
				END { print t "," r "," a }' /proc/$VPID/status
			sleep 2
		done
	) >"$T/rss.csv" &
	SAMPLER=$!
}

# The RSS curve and the bound on anonymous memory after warm-up (the cache map is file-backed
# and grows with the misses by design; a leak shows in RssAnon). $1: warm-up seconds.
check_rss() {
	local warm=$1
	wait "$SAMPLER" 2>/dev/null
	SAMPLER=
	echo "attack: rss curve (seconds, VmRSS kB, RssAnon kB): $(tr '\n' ' ' <"$T/rss.csv")"
	local base last growth
	base=$(awk -F, -v w="$warm" '$1 >= w { print $3; exit }' "$T/rss.csv")
	last=$(awk -F, 'END { print $3 }' "$T/rss.csv")
	[ -n "$base" ] && [ -n "$last" ] || {
		fail "no RSS samples after warm-up"
		return
	}
	growth=$((last - base))
	echo "attack: RssAnon after warm-up ${base} kB, at the end ${last} kB, growth ${growth} kB"
	if [ "$SAN" = 1 ]; then
		echo "attack: sanitized build: RSS bound not checked (ASan quarantine)"
	elif [ "$growth" -gt $((base / 4 + 8192)) ]; then
		fail "anonymous memory grew by ${growth} kB after warm-up (bound: 25% + 8 MiB)"
	fi
}

# Queries for dnsperf: hits (names resolved before the run) and misses (unique wildcard names,
# one upstream query each). $1: how many misses.
make_queries() {
	local misses=$1 i
	{
		for i in $(seq 1 "$misses"); do
			echo "www.example.com A"
			echo "m$i-$$.wild.example.com A"
			echo "mail.example.com A"
			echo "www.example.net A"
			echo "www.example.org AAAA"
			echo "alias.example.com A"
		done
	} >"$T/queries"
}

warm_cache() {
	for n in www.example.com mail.example.com www.example.net alias.example.com; do
		ask $n A >/dev/null
	done
	ask www.example.org AAAA >/dev/null
}

# dnsperf at a fixed rate; $1 seconds, $2 queries/s, $3 output file.
load() {
	dnsperf -s 127.0.0.1 -p $PORT -d "$T/queries" -l "$1" -Q "$2" -c 4 -q 500 -t 5 -v \
		>"$3" 2>&1
}

# Checks a dnsperf report (-v: one line per answer): nothing lost (or at most $2 per mille, when
# a fault of the part explains it); no SERVFAIL for a cached name (the healthy mix stays
# answered). A miss (a unique *.wild.example.com name, one upstream query) may end in SERVFAIL
# only when its upstream queries timed out: on a saturated machine the lab's NSD can stall past
# the resolver's retries. That is asserted as behaviour, not as a rate: there are at least as
# many upstream timeouts as such SERVFAILs, the SERVFAIL was not cached (each name, asked again
# after the load, gets its wildcard address), and the resolver recovered.
check_load() {
	local f=$1 permille=${2:-0} sent lost sf_hit sf_miss
	sent=$(awk '/Queries sent:/ { print $3 }' "$f")
	lost=$(awk '/Queries lost:/ { print $3 }' "$f")
	sf_miss=$(grep -c '^> SERVFAIL m[0-9]*-[0-9]*\.wild\.example\.com' "$f")
	sf_hit=$(($(grep -c '^> SERVFAIL' "$f") - sf_miss))
	echo "attack: dnsperf $(basename "$f"): sent ${sent:-?} lost ${lost:-?}" \
		"servfail: cached names $sf_hit, misses $sf_miss;" \
		"$(grep -E 'Queries per second|Average Latency' "$f" | tr -s ' ' | tr '\n' ';')"
	if [ -z "$sent" ] || [ "$sent" -eq 0 ]; then
		fail "dnsperf sent nothing: $(head -n 5 "$f")"
		return
	fi
	if [ "$lost" -gt $((sent * permille / 1000)) ]; then
		# dnsperf is one client with many queries pending: an answer older than
		# discard-timeout (1.9 s) is withheld by design (DNSBomb), and counted. On an
		# overloaded machine a few misses take that long; such a loss is explained when the
		# counter covers it (and the names are asked again below like the SERVFAILs).
		local withheld
		withheld=$(stat_of late_discarded)
		if [ "$lost" -le "$withheld" ]; then
			echo "attack: $lost lost answers were withheld by discard-timeout" \
				"(late_discarded $withheld): the machine was slow, vigild as designed"
		else
			fail "dnsperf lost $lost of $sent queries (allowed: $permille per mille;" \
				"late_discarded $withheld)"
		fi
	fi
	if [ "$sf_hit" -gt 0 ]; then
		grep '^> SERVFAIL' "$f" | grep -v '\.wild\.example\.com' | head -n 5 | sed 's/^/attack: /'
		fail "$sf_hit SERVFAIL answers for cached names"
	fi
	[ "$sf_miss" -gt 0 ] || return 0
	local timeouts name a bad=0 n=0
	timeouts=$(stat_of upstream_timeouts)
	echo "attack: $sf_miss misses ended in SERVFAIL; upstream timeouts: $timeouts"
	[ "$timeouts" -ge "$sf_miss" ] ||
		fail "$sf_miss SERVFAIL answers for misses but only $timeouts upstream timeouts"
	# Asked again (at most 20 of them, each bounded by dig's 4 s), each must resolve now.
	for name in $(awk '$1 == ">" && $2 == "SERVFAIL" && $3 ~ /\.wild\.example\.com/ { print $3 }' \
		"$f" | sort -u | head -n 20); do
		n=$((n + 1))
		a=$(ask "$name" A)
		echo "$a" | grep -qx 192.0.2.80 || {
			bad=$((bad + 1))
			echo "attack: $name after the load: $(echo $a)"
		}
	done
	echo "attack: SERVFAILed misses asked again: $n, still failing: $bad"
	[ "$bad" -eq 0 ] || fail "$bad misses still fail after the load (SERVFAIL cached or resolver stuck)"
}

# Waits for the background probes of this shell (not vigild, dnsperf or the RSS sampler).
wait_bg() {
	local j
	for j in $(jobs -p); do
		[ "$j" = "${perf:-}" ] || [ "$j" = "$SAMPLER" ] || [ "$j" = "$VPID" ] || wait "$j"
	done
}

alive() {
	kill -0 "$VPID" 2>/dev/null || {
		fail "vigild died"
		return 1
	}
}

# ---- parts ----

part_load() {
	local dur=$((60 * SCALE)) rate=300
	[ "$SAN" = 1 ] && dur=$((15 * SCALE)) rate=150
	write_config </dev/null
	start_vigild
	warm_cache
	make_queries $((dur * rate / 6 + 1))
	sample_rss $((dur / 2 + 5))
	load "$dur" "$rate" "$T/perf.txt" &
	local perf=$!
	sleep 3
	# Faults for other zones while the load runs, each bounded; probes from 127.0.0.2.
	local probes=0 bad=0 a
	local lab=$VIGIL_LAB_DIR
	local steps=$((dur / 10))
	[ "$steps" -lt 2 ] && steps=2
	for s in $(seq 1 "$steps"); do
		# example.net's only server dies, then comes back (www.example.net stays cached).
		kill "$(cat "$lab/srv-127.53.2.3/pid")" 2>/dev/null
		# forged replies of every kind (per-zone servers and the label-mode one), a slow zone,
		# a silent one, garbage; all at once, each dig bounded (4 s)
		for m in wrongid wrongq wrongport case garbage flood; do
			ask "$m$s.ok.faults.net" A >"$T/probe-$m-$s-label" &
			[ "$m" = flood ] || ask "www.$m.faults.net" A >"$T/probe-$m-$s-zone" &
		done
		ask "s$s.slow.faults.net" A >/dev/null &
		ask "s$s.silent.faults.net" A 127.0.0.2 2 >/dev/null &
		ask "www.glueless.com" A >/dev/null & # needs example.net: dead or coming back
		# a public name with private addresses: blocked, one suspicious-log event each time
		ask rebind.example.com A >"$T/rebind-$s" &
		# an on-path injector (forged answer with our ID and spelling, the real one 20 ms
		# later): the first client may get the forged address (it came first), but the second
		# answer quarantines it and the TCP re-fetch leaves only the real one in the cache
		ask www.twice.faults.net A >/dev/null &
		wait_bg
		nsd -c "$lab/srv-127.53.2.3/nsd.conf" >/dev/null 2>&1
		alive || break
		sleep 3
	done
	for f in "$T"/probe-*; do
		probes=$((probes + 1))
		if grep -qx 192.0.2.66 "$f"; then
			bad=$((bad + 1))
			echo "attack: FORGED answer: ${f##*/probe-}: $(tr '\n' ' ' <"$f")"
		fi
	done
	wait "$perf"
	alive
	echo "attack: fault probes $probes, forged answers $bad"
	[ "$bad" -eq 0 ] || fail "vigild answered forged data"
	check_load "$T/perf.txt" 0
	check_rss 10
	# Nothing forged in the cache (192.0.2.66 is the lab's forged address).
	ctl dump >"$T/dump.txt"
	echo "attack: cache dump $(wc -l <"$T/dump.txt") lines"
	if grep -n '192\.0\.2\.66' "$T/dump.txt"; then
		fail "forged records in the cache"
	fi
	grep -c '192.0.2.80' "$T/dump.txt" | sed 's/^/attack: cached wildcard answers: /'
	echo "attack: stats: $(ctl stats | grep -E '^(answers|cached|resolved|servfail|upstream_unsolicited|upstream_timeouts|upstream_icmp_errors|suspect_[a-z_]*)[: ]' | tr -s ' ' | tr '\n' ' ')"
	# The events: forged datagrams are dropped and counted (they fail the match before any check
	# sees them), each rebinding answer is blocked and logged.
	local unsol rebind_ev rebind_served
	unsol=$(stat_of upstream_unsolicited)
	echo "attack: forged datagrams dropped (upstream_unsolicited): $unsol"
	[ "$unsol" -gt 0 ] || fail "no forged datagram was counted as unsolicited"
	rebind_served=$(cat "$T"/rebind-* | grep -cE '^(192\.168\.|10\.)')
	[ "$rebind_served" -eq 0 ] || fail "private addresses of rebind.example.com served $rebind_served times"
	rebind_ev=$(grep -c '"reason":"rebinding","action":"blocked","qname":"rebind.example.com."' \
		"$T/suspicious.log" 2>/dev/null)
	echo "attack: suspicious-log events: $(wc -l <"$T/suspicious.log" 2>/dev/null || echo 0)," \
		"rebinding blocked: ${rebind_ev:-0} for $steps probes; suspect_rebinding $(stat_of suspect_rebinding)"
	[ "${rebind_ev:-0}" -ge "$steps" ] || fail "rebinding events logged: ${rebind_ev:-0} of $steps probes"
	local second
	second=$(grep -c '"reason":"second-answer","action":"quarantined","qname":"www.twice.faults.net."' \
		"$T/suspicious.log" 2>/dev/null)
	echo "attack: second answers quarantined: ${second:-0}; suspect_second_answer $(stat_of suspect_second_answer)"
	[ "${second:-0}" -ge 1 ] || fail "no second-answer event for the on-path injector"
}

part_kill9() {
	local dur=$((8 * SCALE)) rate=300
	[ "$SAN" = 1 ] && rate=150
	write_config </dev/null
	start_vigild
	warm_cache
	make_queries $((dur * rate / 6 + 1))
	load "$dur" "$rate" "$T/perf1.txt" &
	local perf=$!
	sleep $((dur / 2))
	ask www.example.com A >/dev/null
	sleep 1 # the writer commits in groups of a few ms: www.example.com is on disk by now
	kill -9 "$VPID"
	wait "$VPID" 2>/dev/null
	VPID=
	wait "$perf"
	# Restart on the same cache: the first answers must come from disk, no upstream query.
	start_vigild
	local sent0 a
	sent0=$(stat_of resolver_upstream_sent)
	a=$(ask www.example.com A)
	echo "attack: after kill -9 and restart: www.example.com A -> $(echo $a)"
	echo "$a" | grep -qx 192.0.2.1 || fail "the committed answer was not served after kill -9"
	a=$(ask www.example.net A)
	echo "$a" | grep -qx 192.0.2.2 || fail "www.example.net not served from the cache after kill -9"
	local sent1
	sent1=$(stat_of resolver_upstream_sent)
	echo "attack: upstream queries for those answers: $((${sent1:-0} - ${sent0:-0})); cached: $(stat_of cached)"
	[ "${sent1:-1}" = "${sent0:-0}" ] || fail "answers after the restart needed upstream queries"
	# cache-rebuild-on-error is off: a failed damage check would have stopped the start above.
	grep -E '(warn|error).*cache' "$T/vigild.log" | sed 's/^/attack: log: /'
	alive
}

part_tcp() {
	local dur=$((12 * SCALE)) rate=200
	[ "$SAN" = 1 ] && rate=100
	write_config <<EOF
tcp-idle-timeout: 2s
tcp-max-clients: 64
EOF
	start_vigild
	warm_cache
	make_queries $((dur * rate / 6 + 1))
	sample_rss $((dur / 2 + 3))
	load "$dur" "$rate" "$T/perf.txt" &
	local perf=$!
	# 100 idle TCP clients, 30 slow ones (half a query, then nothing), one writing a byte at a
	# time; all bounded by timeout(1).
	python3 - "$PORT" "$dur" >"$T/tcp.txt" 2>&1 <<'PY' &
import socket, struct, sys, time
port, dur = int(sys.argv[1]), int(sys.argv[2])
def query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        q += bytes([len(l)]) + l.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(q)) + q
socks = []
for i in range(130):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        if i >= 100:
            s.send(query("www.example.com", i)[:7])
        socks.append(s)
    except OSError:
        pass
msg = query("www.example.com", 4242)
end = time.monotonic() + dur - 2
ok = 0
for attempt in range(5):  # the byte-by-byte writer: each try ends within tcp-idle-timeout
    b = socket.socket()
    b.settimeout(3)
    try:
        b.connect(("127.0.0.1", port))
        for ch in msg:
            b.send(bytes([ch]))
            time.sleep(0.02)
        hdr = b.recv(2)
        if len(hdr) == 2:
            ok += 1
    except OSError:
        pass
    b.close()
    if time.monotonic() > end:
        break
print("idle+slow connected", len(socks), "byte-writer answered", ok, "of", attempt + 1)
closed = 0
for s in socks:
    try:
        s.settimeout(0.05)
        if s.recv(1) == b"":
            closed += 1
    except OSError:
        pass
print("closed by vigild", closed)
PY
	local tcpc=$!
	# A DNSBomb-style burst: 300 queries for a zone that answers after 9 s, at once, from a
	# client of its own (max-pending-per-client parks at most 100 of them).
	for i in $(seq 1 300); do echo "b$i.slow9.faults.net A"; done >"$T/bomb"
	dnsperf -a 127.0.0.6 -s 127.0.0.1 -p $PORT -d "$T/bomb" -n 1 -c 1 -q 300 -t 12 \
		>"$T/bomb.txt" 2>&1 &
	local bomb=$!
	# NXNS-style referral, a 100-link CNAME chain and a referral loop, each from its own source.
	local t0 a
	t0=$(date +%s)
	a=$(ask www.nxns.faults.net A 127.0.0.3 12)
	echo "attack: nxns -> $(echo $a) in $(($(date +%s) - t0)) s"
	a=$(ask chain100.example.com A 127.0.0.4 12)
	echo "attack: chain100 -> $(echo $a | cut -c1-80)"
	a=$(ask www.refloop.faults.net A 127.0.0.5 12)
	echo "attack: refloop -> $(echo $a)"
	echo "$a" | grep -q TIMEOUT && fail "no answer for the referral loop"
	wait "$perf"
	wait "$tcpc"
	wait "$bomb"
	cat "$T/tcp.txt" | sed 's/^/attack: tcp: /'
	grep -q "byte-writer answered [1-9]" "$T/tcp.txt" || fail "the one-byte-at-a-time client was never answered"
	echo "attack: dnsbomb burst: $(grep -E 'Queries (sent|completed|lost)' "$T/bomb.txt" | tr -s ' ' | tr '\n' ' ')"
	alive
	check_load "$T/perf.txt" 0
	check_rss 5
	echo "attack: stats: $(ctl stats | grep -E '^(tcp_[a-z_]*|over_max_[a-z]*|late_discarded|resolver_limit_hits|resolver_upstream_sent)[: ]' | tr -s ' ' | tr '\n' ' ')"
}

part_hup() {
	local dur=$((8 * SCALE)) rate=300
	[ "$SAN" = 1 ] && rate=150
	write_config </dev/null
	start_vigild
	warm_cache
	make_queries $((dur * rate / 6 + 1))
	load "$dur" "$rate" "$T/perf.txt" &
	local perf=$!
	local n=0
	for _ in $(seq 1 "$dur"); do
		sleep 1
		kill -HUP "$VPID" && n=$((n + 1))
	done
	wait "$perf"
	alive
	# Signals sent while one is being handled may merge into one reload: at least one is asserted.
	local reloads
	reloads=$(sed -n '/^== hup$/,$p' "$T/vigild.log" | grep -c 'reloaded')
	echo "attack: SIGHUP sent $n times; reloads logged: $reloads"
	[ "$reloads" -ge 1 ] || fail "no reload logged after $n SIGHUPs"
	check_load "$T/perf.txt" 0
	# The cache was kept: the warm names are still hits, no upstream query for them.
	local sent0 sent1
	sent0=$(stat_of resolver_upstream_sent)
	ask www.example.net A | grep -qx 192.0.2.2 || fail "www.example.net lost"
	ask mail.example.com A | grep -qx 192.0.2.25 || fail "mail.example.com lost"
	sent1=$(stat_of resolver_upstream_sent)
	[ "$sent0" = "$sent1" ] || fail "the cache was not kept over reloads ($sent0 -> $sent1 upstream)"
}

part_clock() {
	command -v faketime >/dev/null || skip "faketime is not installed (apt-get install faketime)"
	local lib
	lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
	[ -n "$lib" ] || skip "libfaketime.so.1 not found"
	local dur=$((12 * SCALE)) rate=200
	[ "$SAN" = 1 ] && rate=100
	# The wall clock is read from a file the test rewrites ("@YYYY-MM-DD hh:mm:ss" is absolute
	# and frozen; "+N" an offset from the real time). The monotonic clock stays real
	# (DONT_FAKE_MONOTONIC), so libuv's timers keep working.
	echo "+0" >"$T/faketime"
	write_config </dev/null
	# Under ASan libfaketime is preloaded ahead of the ASan runtime, which ASan refuses unless
	# told not to check the link order.
	local asan=
	[ "$SAN" = 1 ] && asan="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	start_vigild "LD_PRELOAD=$lib FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 $asan"
	warm_cache
	# Today the signatures of future.org. are not valid yet: bogus, SERVFAIL (its AAAA, so the
	# answer remembered as bogus is not the A asked in 2036 below).
	local a
	a=$(ask www.future.org AAAA 127.0.0.2 8)
	echo "attack: today: www.future.org AAAA -> $(echo $a)"
	echo "$a" | grep -q 'RCODE SERVFAIL' || fail "www.future.org (signed from 2036) not bogus today"
	make_queries $((dur * rate / 6 + 1))
	load "$dur" "$rate" "$T/perf.txt" &
	local perf=$!
	sleep $((dur / 3))
	echo "+1d" >"$T/faketime" # forward a day: every cached TTL (at most 1 day) has run out
	sleep 1
	local sent0 sent1
	sent0=$(stat_of resolver_upstream_sent)
	a=$(ask www.example.net A)
	sent1=$(stat_of resolver_upstream_sent)
	echo "attack: a day later: www.example.net A -> $(echo $a), upstream queries $((sent1 - sent0))"
	[ "$sent1" -gt "$sent0" ] || fail "an answer cached a day ago was served without asking again"
	sleep $((dur / 3))
	echo "+82800" >"$T/faketime" # then back an hour (a day minus an hour after the start)
	sleep 1
	a=$(ask www.example.org A)
	echo "attack: an hour back: www.example.org A -> $(echo $a)"
	echo "$a" | grep -qx 192.0.2.7 || fail "no answer after the clock went back"
	# Stored "in the future" now: the TTL served must still be within the record's own (3600).
	local ttl
	ttl=$(dig +tries=1 +time=4 -b 127.0.0.2 -p $PORT @127.0.0.1 www.example.net A +noall +answer |
		awk '{ print $2; exit }')
	echo "attack: an hour back: www.example.net A TTL ${ttl:-none}"
	[ -n "$ttl" ] && [ "$ttl" -le 3600 ] || fail "TTL ${ttl:-none} after the clock went back (max 3600)"
	wait "$perf"
	alive
	check_load "$T/perf.txt" 0
	# Signatures judged by the new time: future.org. is signed with inception 2036-01-01 (and
	# expiration 2037-01-01, like the lab's other zones). At the start it was bogus; with the
	# wall clock in April 2036 it validates (AD), and secure.org. still does.
	echo "+3450d" >"$T/faketime"
	sleep 1
	local flags
	flags=$(dig +tries=1 +time=8 +dnssec -b 127.0.0.2 -p $PORT @127.0.0.1 www.future.org A |
		awk '/^;; flags:/ { print }')
	a=$(ask www.future.org A 127.0.0.2 8)
	echo "attack: in 2036: www.future.org A -> $(echo $a) ($flags)"
	echo "$a" | grep -qx 192.0.2.140 && echo "$flags" | grep -q ' ad' ||
		fail "www.future.org not validated once the clock reached its signatures' inception"
	flags=$(dig +tries=1 +time=8 +dnssec -b 127.0.0.2 -p $PORT @127.0.0.1 www.secure.org A |
		awk '/^;; flags:/ { print }')
	echo "attack: in 2036: www.secure.org A ($flags)"
	echo "$flags" | grep -q ' ad' || fail "www.secure.org not validated in 2036"
	alive
}

for PART in "$@"; do
	case "$PART" in
	load | kill9 | tcp | hup | clock) ;;
	*)
		echo "usage: $0 load|kill9|tcp|hup|clock..." >&2
		exit 2
		;;
	esac
	before=$FAILED
	FAILED=0
	t0=$(date +%s)
	echo "attack: == $PART"
	"part_$PART"
	stop_vigild
	[ -e "$T/failed" ] && FAILED=1
	rm -f "$T/failed"
	verdict=passed
	[ "$FAILED" = 0 ] || verdict=FAILED
	echo "attack: $PART $verdict in $(($(date +%s) - t0)) s"
	[ "$before" = 1 ] && FAILED=1
done
exit "$FAILED"
