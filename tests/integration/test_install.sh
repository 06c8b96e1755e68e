#!/bin/bash
# Install and service tests, one part per meson test (argument): install (a DESTDIR install, then
# the installed vigild on the installed configuration), unit (systemd-analyze verify and
# security), runas (the default user and the default configuration file, in a private mount
# namespace), logging (journal and terminal line forms), walkthrough (docs/operations.md, "From a
# clean checkout to a watched service": every step a person takes, on the installed files, in a
# network and mount namespace of its own). Exit 77 = skipped (meson's convention).
# Environment from meson: VIGILD, VIGILCTL, BUILD_ROOT, HAVE_MAN (1 when scdoc built the pages),
# LAB_SH and VIGIL_FAULTD (walkthrough).
set -euo pipefail
part=$1
# The walkthrough takes port 53 and 8053 and bind-mounts /etc/resolv.conf: in namespaces of its
# own, entered before anything else (the machine's network and files stay untouched).
if [ "$part" = walkthrough ] && [ -z "${VG_WALK_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (port 53, namespaces)"; exit 77; }
	unshare -nm true 2> /dev/null || { echo "SKIP: cannot create network and mount namespaces"; exit 77; }
	VG_WALK_NS=1 exec unshare -nm "$0" walkthrough
fi
tmp=$(mktemp -d /tmp/vigil-install-XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$tmp"/*.log; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2; done
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}
port=$((20000 + RANDOM % 10000))
# Tests talk to loopback only: every vigild here gets a root on a loopback address, which it
# refuses to query (query-local-addresses: no), instead of priming the built-in IANA roots.
hints=$tmp/loopback.hints
printf '.\t3600000\tNS\ta.root.test.\na.root.test.\t3600000\tA\t127.0.0.9\n' > "$hints"

# Installs the build into $tmp/dest; sets prefix paths from the installed tree.
install_dest() {
	DESTDIR=$tmp/dest meson install -C "$BUILD_ROOT" --no-rebuild --quiet > "$tmp/meson-install.out"
	sbin=$(find "$tmp/dest" -path '*/sbin/vigild')
	bin=$(find "$tmp/dest" -path '*/bin/vigilctl')
	conf=$(find "$tmp/dest" -path '*/vigil/vigil.conf')
	unit=$(find "$tmp/dest" -path '*/systemd/system/vigild.service')
}

# A copy of the installed configuration pointed at a test port, cache and socket.
test_conf() {
	cp "$conf" "$tmp/v.conf"
	printf 'listen: 127.0.0.1@%s\ncache-dir: %s/cache\ncontrol-socket: %s/ctl.sock\nuser: ""\nroot-hints: %s\n' \
		"$port" "$tmp" "$tmp" "$hints" >> "$tmp/v.conf"
}

# Starts $1 -f -c $2 (stderr to $tmp/vigild.log) and waits until the control socket answers.
start() {
	"$1" -f -c "$2" 2> "$tmp/vigild.log" &
	pid=$!
	for _ in $(seq 400); do
		"${3:-$VIGILCTL}" -s "$tmp/ctl.sock" status > /dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || fail "vigild exited at start"
		sleep 0.05
	done
	fail "vigild did not answer on its control socket within 20 s"
}

stop() {
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	pid=
	[ "$st" = 0 ] || fail "vigild exited with status $st"
}

case $part in
install)
	install_dest
	for f in "$sbin" "$bin" "$conf" "$unit"; do [ -f "$f" ] || fail "not installed: $f"; done
	case $sbin in */sbin/vigild) ;; *) fail "vigild not in sbin: $sbin" ;; esac
	case $bin in */bin/vigilctl) ;; *) fail "vigilctl not in bin: $bin" ;; esac
	for d in sysusers.d tmpfiles.d; do
		f=$(find "$tmp/dest" -path "*/lib/$d/vigil.conf")
		[ -n "$f" ] || fail "no $d/vigil.conf installed"
		grep -q vigil "$f" || fail "$f does not name the vigil user"
	done
	if [ "${HAVE_MAN:-0}" = 1 ]; then
		for m in man8/vigild.8 man8/vigilctl.8 man5/vigil.conf.5; do
			[ -n "$(find "$tmp/dest" -path "*/man/$m")" ] || fail "man page $m not installed"
		done
	else
		echo "note: scdoc absent, man pages not checked"
	fi
	grep -q "^ExecStart=${sbin#"$tmp/dest"} " "$unit" || fail "unit does not start the installed vigild"
	grep -q "^control-socket: /run/vigil/" "$conf" || fail "installed config has no control socket"

	# a reinstall keeps an edited configuration
	echo "# edited" >> "$conf"
	install_dest
	grep -q "^# edited" "$conf" || fail "reinstall overwrote the configuration"
	[ -f "$conf.new" ] || fail "reinstall did not put the new default next to it"

	test_conf
	"$sbin" -t -c "$tmp/v.conf" > "$tmp/check.log" 2>&1 || fail "installed config fails -t"
	start "$sbin" "$tmp/v.conf" "$bin"
	if command -v dig > /dev/null; then
		a=$(dig +short +time=2 +tries=1 @127.0.0.1 -p "$port" localhost A)
		[ "$a" = 127.0.0.1 ] || fail "dig localhost through the installed vigild: '$a'"
	fi
	"$bin" -c "$tmp/v.conf" reload > "$tmp/reload.log" || fail "vigilctl -c reload"
	stop
	grep -q "started" "$tmp/vigild.log" || fail "no start line in the log"
	;;
unit)
	command -v systemd-analyze > /dev/null || skip "systemd-analyze is absent (Debian package systemd)"
	install_dest
	for d in 'Type=notify' 'ExecReload=.*vigilctl .*reload' 'User=vigil' \
		'CapabilityBoundingSet=CAP_NET_BIND_SERVICE$' 'AmbientCapabilities=CAP_NET_BIND_SERVICE$' \
		'RuntimeDirectory=' 'CacheDirectory=' 'After=network-online.target' \
		'ProtectSystem=strict' 'MemoryDenyWriteExecute=yes' 'RestrictNamespaces=yes' \
		'LockPersonality=yes' 'SystemCallFilter=@system-service' 'NoNewPrivileges=yes'; do
		grep -q "^$d" "$unit" || fail "unit lacks $d"
	done
	# verify checks that the commands exist: point them into the DESTDIR tree
	mkdir "$tmp/units"
	sed "s|=\(/[^ ]*/s\?bin/\)|=$tmp/dest\1|; s| -c /| -c $tmp/dest/|" "$unit" > "$tmp/units/vigild.service"
	MANPATH=$(dirname "$(dirname "$(find "$tmp/dest" -name vigild.8 -print -quit 2>/dev/null || echo /x/x)")") \
		systemd-analyze verify --man="${HAVE_MAN:-0}" "$tmp/units/vigild.service" > "$tmp/verify.log" 2>&1 \
		|| fail "systemd-analyze verify: $(cat "$tmp/verify.log")"
	[ ! -s "$tmp/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$tmp/verify.log")"
	exposure=$(systemd-analyze security --offline=yes "$tmp/units/vigild.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for vigild.service: \([0-9.]*\).*/\1/p')
	echo "exposure: $exposure"
	[ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' ||
		fail "exposure level '$exposure' above 2.0"
	;;
runas)
	[ "$(id -u)" = 0 ] || skip "needs root (drops privileges)"
	command -v unshare > /dev/null || skip "needs unshare (util-linux)"
	unshare -m true 2> /dev/null || skip "cannot create a mount namespace here"
	# Private copies of /etc/passwd with and without a vigil user, bind-mounted in a private mount
	# namespace: the machine's users stay untouched whether or not it has vigil.
	grep -v '^vigil:' /etc/passwd > "$tmp/passwd-without"
	cp "$tmp/passwd-without" "$tmp/passwd-with"
	echo 'vigil:x:64999:64999:vigil test:/nonexistent:/usr/sbin/nologin' >> "$tmp/passwd-with"
	mkdir -m 0777 "$tmp/cache"
	chmod 0755 "$tmp"
	printf 'listen: 127.0.0.1@%s\ncache-dir: %s/cache\nroot-hints: %s\n' "$port" "$tmp" "$hints" \
		> "$tmp/auto.conf"
	printf 'user: ""\n' | cat "$tmp/auto.conf" - > "$tmp/keep.conf"
	# runs vigild in the namespace with passwd $1 and config $2 until it serves (10 s at most);
	# prints its uid and log
	run() {
		unshare -m bash -c '
			mount --bind "$1" /etc/passwd
			"$VIGILD" -f -c "$2" > "$3" 2>&1 & p=$!
			for _ in $(seq 200); do
				grep -q "started with" "$3" && break
				kill -0 $p 2> /dev/null || break
				sleep 0.05
			done
			grep "^Uid:" /proc/$p/status
			kill $p; wait $p
			cat "$3"' _ "$1" "$2" "$tmp/run.log"
	}
	out=$(run "$tmp/passwd-with" "$tmp/auto.conf")
	echo "$out" | grep -q "^Uid:[[:space:]]*64999" || fail "root without user: did not become vigil: $out"
	echo "$out" | grep -q "running as user 'vigil'" || fail "no log line about becoming vigil: $out"
	out=$(run "$tmp/passwd-without" "$tmp/auto.conf")
	echo "$out" | grep -q "^Uid:[[:space:]]*0" || fail "without a vigil user vigild should stay root: $out"
	echo "$out" | grep -q "running as root" || fail "no warning about running as root: $out"
	out=$(run "$tmp/passwd-with" "$tmp/keep.conf")
	echo "$out" | grep -q "^Uid:[[:space:]]*0" || fail "user \"\" must keep root: $out"
	! echo "$out" | grep -q "running as" || fail "user \"\" should not log about the user: $out"
	# -t checks the user it would become: vigil cannot write a root-only cache directory
	chmod 0700 "$tmp/cache"
	out=$(unshare -m bash -c 'mount --bind "$1" /etc/passwd; "$VIGILD" -t -c "$2" 2>&1' _ \
		"$tmp/passwd-with" "$tmp/auto.conf") && fail "-t accepted a cache vigil cannot write: $out"
	echo "$out" | grep -q "user 'vigil'" || fail "-t message does not name vigil: $out"

	# without -c: the default configuration file when it exists, else the built-in defaults
	# (an overlay over /etc in the namespace: the machine's /etc stays untouched)
	mkdir "$tmp/upper" "$tmp/work"
	rc=0
	out=$(unshare -m bash -c '
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$2/upper,workdir=$2/work" /etc ||
			exit 3
		rm -rf /etc/vigil
		sed -i "/^vigil:/d" /etc/passwd # judged as root, whatever this machine has
		"$VIGILD" -t 2>&1 || exit 4
		mkdir /etc/vigil && cp "$1" /etc/vigil/vigil.conf && "$VIGILD" -t 2>&1' \
		_ "$tmp/keep.conf" "$tmp") || rc=$?
	if [ "$rc" = 3 ]; then
		echo "note: no overlayfs here: the default file path is not checked"
	else
		[ "$rc" = 0 ] || fail "vigild -t without -c: $out"
		echo "$out" | grep -q "(built-in defaults) OK" || fail "no file: not the defaults: $out"
		echo "$out" | grep -q "/etc/vigil/vigil.conf OK" || fail "-t did not read the default file: $out"
	fi
	;;
logging)
	printf 'listen: 127.0.0.1@%s\ncache-dir: %s/cache\ncontrol-socket: %s/ctl.sock\nuser: ""\nroot-hints: %s\n' \
		"$port" "$tmp" "$tmp" "$hints" > "$tmp/v.conf"
	# under systemd: JOURNAL_STREAM names stderr's device:inode
	: > "$tmp/journal.log"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/journal.log")
	export JOURNAL_STREAM
	"$VIGILD" -f -c "$tmp/v.conf" 2>> "$tmp/journal.log" &
	pid=$!
	for _ in $(seq 400); do
		"$VIGILCTL" -s "$tmp/ctl.sock" status > /dev/null 2>&1 && break
		sleep 0.05
	done
	stop
	grep -q '^<6>.*started' "$tmp/journal.log" || fail "journal: no '<6>' info line"
	bad=$(grep -v '^<[0-7]>' "$tmp/journal.log" || true)
	[ -z "$bad" ] || fail "journal: lines without a priority prefix: $bad"
	# stderr redirected elsewhere since (another file, journal.log still holds its inode): plain
	start "$VIGILD" "$tmp/v.conf"
	stop
	grep -q '^vigild\[info\]: .*started' "$tmp/vigild.log" || fail "plain: not 'vigild[info]: '"
	unset JOURNAL_STREAM
	# a fatal start error in the journal form, too
	: > "$tmp/fatal.log"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/fatal.log") "$VIGILD" -f -c "$tmp/missing.conf" \
		2>> "$tmp/fatal.log" && fail "missing config accepted"
	grep -q '^<3>.*missing.conf' "$tmp/fatal.log" || fail "journal: fatal error not '<3>'"
	# on a terminal: a timestamp
	if command -v script > /dev/null; then
		script -qec "timeout 5 '$VIGILD' -f -c '$tmp/v.conf'" /dev/null > "$tmp/tty.out" || true
		grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} vigild\[info\]: .*started' \
			"$tmp/tty.out" || fail "terminal: no timestamp: $(cat "$tmp/tty.out")"
	else
		echo "note: script (util-linux) absent: terminal form not checked"
	fi
	;;
walkthrough)
	# docs/operations.md, "From a clean checkout to a watched service", step by step.
	ip link set lo up
	mount --make-rprivate /
	command -v nsd > /dev/null || fail "nsd is absent (the README's test command installs it)"
	lab=$tmp/lab
	lab_down() { VIGIL_LAB_DIR=$lab "$LAB_SH" down > /dev/null 2>&1 || true; }
	trap 'lab_down; cleanup' EXIT
	VIGIL_LAB_DIR=$lab "$LAB_SH" up > "$tmp/lab.log" 2>&1 || fail "the lab did not come up"
	# 1. install: the files of `meson install`
	install_dest
	# 2. configure: the installed file, with the metrics address the docs add; the rest only
	# points it at this test's lab, directories and socket (the user is root here: user "")
	cp "$conf" "$tmp/v.conf"
	printf '%s\n' "http-listen: 127.0.0.1@8053" "cache-dir: $tmp/cache" \
		"control-socket: $tmp/ctl.sock" 'user: ""' "root-hints: $lab/root.hints" \
		"trust-anchor-file: $lab/root.ds" "query-local-addresses: yes" "do-ip6: no" \
		>> "$tmp/v.conf"
	"$sbin" -t -c "$tmp/v.conf" > "$tmp/check.log" 2>&1 || fail "vigild -t refused the config"
	# 3. start it (the unit's ExecStart, in the foreground) with the built-in listen set
	start "$sbin" "$tmp/v.conf" "$bin"
	ctl() { "$bin" -c "$tmp/v.conf" "$@"; }
	stat_of() { ctl --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"][sys.argv[1]])' "$1"; }
	# 4. point resolv.conf at it: glibc resolves a lab name through vigild (`getent
	# ahostsv4` finds nothing in a namespace where only loopback is up; `ahosts` does)
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' > "$tmp/resolv.conf"
	mount --bind "$tmp/resolv.conf" /etc/resolv.conf
	out=$(getent ahosts www.example.com) || fail "getent through vigild failed"
	echo "$out" | grep -q "^192.0.2.1 " || fail "getent www.example.com: '$out'"
	# 5. read stats: the name was resolved, not answered locally
	resolved=$(stat_of resolved)
	[ "$resolved" -ge 1 ] || fail "stats: resolved=$resolved after a lookup"
	ctl stats > "$tmp/stats.txt" || fail "vigilctl stats"
	grep -Eq "^resolver_upstream_sent:? [1-9]" "$tmp/stats.txt" || fail "vigilctl stats: $(cat "$tmp/stats.txt")"
	# 6. look a name up in the cache and flush it
	ctl lookup www.example.com A > "$tmp/lookup.txt" || fail "vigilctl lookup"
	grep -q "192.0.2.1" "$tmp/lookup.txt" || fail "lookup: $(cat "$tmp/lookup.txt")"
	ctl flush-name www.example.com > /dev/null || fail "vigilctl flush-name"
	ctl lookup www.example.com A > "$tmp/lookup2.txt" || fail "vigilctl lookup after flush"
	grep -q "not in the cache" "$tmp/lookup2.txt" || fail "still cached: $(cat "$tmp/lookup2.txt")"
	sent=$(stat_of resolver_upstream_sent)
	getent ahosts www.example.com > /dev/null || fail "getent after the flush"
	[ "$(stat_of resolver_upstream_sent)" -gt "$sent" ] || fail "the flushed name was not asked upstream again"
	# 7. scrape the metrics and parse them as Prometheus does
	curl -sf http://127.0.0.1:8053/metrics > "$tmp/metrics.txt" || fail "GET /metrics"
	/usr/bin/python3 "$CHECKER" metrics "$tmp/metrics.txt" > "$tmp/samples.txt" 2>&1 || fail "metrics do not parse: $(cat "$tmp/samples.txt")"
	grep -Eq '^vigil_resolved_total\{\} [1-9]' "$tmp/samples.txt" || fail "no vigil_resolved_total > 0"
	grep -Eq '^vigil_answer_latency_seconds_count\{\} [1-9]' "$tmp/samples.txt" ||
		fail "no answer latency observed"
	# 8. watch the live page: a rebinding answer shows up in it (screenshot kept)
	outdir=$BUILD_ROOT/meson-logs/walkthrough
	/usr/bin/python3 "$CHECKER" page http://127.0.0.1:8053/ 53 rebind.example.com. "$outdir" \
		> "$tmp/page.txt" 2>&1 || fail "live page: $(cat "$tmp/page.txt")"
	grep -q "reason=rebinding" "$tmp/page.txt" || fail "live page event: $(cat "$tmp/page.txt")"
	[ "$(stat_of suspect_rebinding)" -ge 1 ] || fail "stats: no suspect_rebinding"
	umount /etc/resolv.conf
	stop
	echo "resolved=$resolved; live page: $(cat "$tmp/page.txt"); screenshot: $outdir/live-page.png"
	;;
*)
	fail "unknown part '$part'"
	;;
esac
echo "ok: $part"
