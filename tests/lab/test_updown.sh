#!/bin/bash
# Lab life cycle test: up starts every server and is idempotent, status reports them, down stops
# exactly the processes up started and leaves nothing behind. Runs in its own network namespace
# when it can (else on the shared lab, holding the C helper's lock, and only if nobody uses it).
set -u
LAB=$(dirname "$0")/lab.sh
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (the lab binds port 53) and nsd; see docs/lab.md"

# Best: a private network namespace (own loopback, own run directory), so the full cycle runs even
# while other tests use the shared lab, and cannot disturb it.
if [ -z "${VG_UPDOWN_NETNS:-}" ] && unshare -n true 2>/dev/null; then
	dir=$(mktemp -d /tmp/vg-updown-XXXXXX)
	VG_UPDOWN_NETNS=1 VIGIL_LAB_DIR=$dir unshare -n bash -c \
		'ip link set lo up && exec bash "$0"' "$0"
	rc=$?
	rm -rf "$dir"
	exit $rc
fi
if [ -n "${VG_UPDOWN_NETNS:-}" ]; then
	# Never leave servers behind in the namespace, whatever fails.
	trap '"$LAB" down >/dev/null 2>&1' EXIT
fi

# Hold the C helper's lock (lab.h) for the whole test, so no test binary of another build
# directory joins the lab while this test stops it; they wait for us instead.
RUN=${VIGIL_LAB_DIR:-$(cd "$(dirname "$0")" && pwd)/run}
mkdir -p "$RUN"
exec 8>>"$RUN/lab.lock"
flock 8
lab() { "$LAB" "$@" 8>&-; }

users=0
if [ -f "$RUN/lab.users" ]; then
	for p in $(tail -n +2 "$RUN/lab.users"); do
		kill -0 "$p" 2>/dev/null && users=$((users + 1))
	done
fi
if [ "$users" -gt 0 ] || lab status | grep -q 'up (pid'; then
	# Someone's lab is running (a developer's, by hand): check only what does not disturb it.
	lab up >/dev/null || fail "up on a running lab failed"
	echo "lab already running: checked idempotent up only"
	exit 0
fi

out=$(lab up) || fail "up failed"
for k in root-hints trust-anchor; do
	f=$(sed -n "s/^$k: //p" <<<"$out")
	[ -s "$f" ] || fail "up did not print an existing $k file ($out)"
done
st=$(lab status)
n=$(grep -c 'up (pid' <<<"$st")
[ "$n" = 37 ] || fail "expected 37 servers up, status says $n:
$st"
pids=$(sed -n 's/.*up (pid \([0-9]*\)).*/\1/p' <<<"$st")
[ "$(lab status | sed -n 's/.*up (pid \([0-9]*\)).*/\1/p')" = "$pids" ] || fail "pids changed"
lab up >/dev/null || fail "second up failed"
[ "$(lab status | sed -n 's/.*up (pid \([0-9]*\)).*/\1/p')" = "$pids" ] ||
	fail "a second up restarted servers"

lab down >/dev/null || fail "down failed"
for p in $pids; do
	kill -0 "$p" 2>/dev/null && fail "pid $p still running after down"
done
left=$(ss -Hlnu | awk '{print $4}' | grep -c '^127\.53\.')
[ "$left" = 0 ] || fail "$left UDP sockets on 127.53.x.y still bound after down"
[ "$(lab down)" = "lab.sh: stopped 0 servers" ] || fail "second down was not a no-op"
echo "ok: 37 servers up, idempotent up, down left nothing behind"
