#!/bin/bash
# Proof of the lab's DNSSEC cases (docs/lab.md "DNSSEC cases"): a validating Unbound (Debian's,
# default hardening, EDE on) with the lab's root hints, root anchor and island anchor must give
# every case zone its documented verdict: AD on secure answers, SERVFAIL + the EDE on bogus
# ones, no AD on insecure ones. Runs its own lab in a private network namespace (own loopback,
# own run directory), so the shared lab is never touched and the lab is always this lab.sh's.
set -u
LAB=$(cd "$(dirname "$0")" && pwd)/lab.sh
UNBOUND=${VIGIL_UNBOUND:-/usr/sbin/unbound}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (the lab binds port 53) and nsd; see docs/lab.md"
[ -x "$UNBOUND" ] || fail "unbound not found at $UNBOUND (apt-get install unbound)"
command -v dig >/dev/null || fail "dig not found (apt-get install bind9-dnsutils)"

if [ -z "${VG_DNSSEC_NETNS:-}" ]; then
	unshare -n true 2>/dev/null || fail "cannot create a network namespace (unshare -n)"
	dir=$(mktemp -d /tmp/vg-dnssec-XXXXXX)
	VG_DNSSEC_NETNS=$dir VIGIL_LAB_DIR=$dir/lab unshare -n bash -c \
		'ip link set lo up && exec bash "$0"' "$0"
	rc=$?
	# Keep the logs of a failed run.
	if [ $rc = 0 ]; then rm -rf "$dir"; else echo "logs kept in $dir" >&2; fi
	exit $rc
fi

dir=$VG_DNSSEC_NETNS
upid=
cleanup() {
	[ -n "$upid" ] && kill "$upid" 2>/dev/null && wait "$upid" 2>/dev/null
	"$LAB" down >/dev/null 2>&1
}
trap cleanup EXIT

out=$("$LAB" up) || fail "lab up failed"
run=$VIGIL_LAB_DIR
for f in root.hints root.ds island.ds; do
	[ -s "$run/$f" ] || fail "lab up did not write $run/$f ($out)"
done

PORT=5399
cat >"$dir/unbound.conf" <<EOF
server:
	interface: 127.0.0.1@$PORT
	do-not-query-localhost: no
	do-ip6: no
	username: ""
	chroot: ""
	directory: "$dir"
	pidfile: "$dir/unbound.pid"
	use-syslog: no
	logfile: "$dir/unbound.log"
	num-threads: 1
	verbosity: 1
	access-control: 127.0.0.0/8 allow
	module-config: "validator iterator"
	root-hints: "$run/root.hints"
	trust-anchor-file: "$run/root.ds"
	trust-anchor-file: "$run/island.ds"
	val-log-level: 2
	ede: yes
	# A negative trust anchor, Unbound's way.
	domain-insecure: "nta.org."
remote-control:
	control-enable: no
EOF
"$UNBOUND" -d -c "$dir/unbound.conf" >"$dir/unbound.out" 2>&1 &
upid=$!
up=0
for _ in $(seq 1 50); do
	if dig +time=1 +tries=1 -p $PORT @127.0.0.1 localhost A >/dev/null 2>&1; then
		up=1
		break
	fi
	kill -0 "$upid" 2>/dev/null || break
	sleep 0.1
done
[ $up = 1 ] || fail "unbound did not start: $(tail -n 5 "$dir/unbound.out" "$dir/unbound.log" 2>/dev/null)"

failures=0
checks=0
# expect NAME TYPE RCODE AD EDE [ANSWER]
#   AD: ad (must be set) or - (must not be set); EDE: its number, or - (none); ANSWER: a string
#   the answer section must contain (e.g. an address).
expect() {
	local name=$1 type=$2 rcode=$3 ad=$4 ede=$5 want=${6:-} r got_rcode got_ad got_ede problems=
	checks=$((checks + 1))
	r=$(dig +dnssec +time=10 +tries=2 -p $PORT @127.0.0.1 "$name" "$type" 2>&1)
	got_rcode=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$r")
	if grep -qE '^;; flags:[^;]* ad[ ;]' <<<"$r"; then got_ad=ad; else got_ad=-; fi
	got_ede=$(sed -n 's/^; EDE: \([0-9]*\).*/\1/p' <<<"$r" | tr '\n' ' ' | sed 's/ $//')
	[ -n "$got_ede" ] || got_ede=-
	[ "$got_rcode" = "$rcode" ] || problems+=" rcode $got_rcode (want $rcode)"
	[ "$got_ad" = "$ad" ] || problems+=" AD $got_ad (want $ad)"
	[ "$got_ede" = "$ede" ] || problems+=" EDE $got_ede (want $ede)"
	if [ -n "$want" ] && ! sed -n '/ANSWER SECTION/,/^$/p' <<<"$r" | grep -qF -- "$want"; then
		problems+=" answer lacks '$want'"
	fi
	if [ -n "$problems" ]; then
		failures=$((failures + 1))
		echo "FAIL $name $type:$problems"
		sed -n '/^;; ->>HEADER/,/^;; Query time/p' <<<"$r" | sed 's/^/    /'
	else
		echo "ok   $name $type: $rcode $ad EDE $ede"
	fi
}

# Existing signed zones (a regression check of the chain this all hangs from).
expect www.secure.org A NOERROR ad - 192.0.2.10
expect www.nsec3.org A NOERROR ad - 192.0.2.12
expect www.rsa.org A NOERROR ad - 192.0.2.16
expect www.bogus.org A SERVFAIL - 6
expect www.badds.org A SERVFAIL - 9
expect www.expired.org A SERVFAIL - 7
expect www.example.org A NOERROR - - 192.0.2.7

# Algorithms (RFC 8624): supported ones validate, the others make the zone insecure.
expect www.rsasha1.org A NOERROR ad - 192.0.2.105
expect www.rsasha1nsec3.org A NOERROR ad - 192.0.2.107
expect nx.rsasha1nsec3.org A NXDOMAIN ad -
expect www.rsasha512.org A NOERROR ad - 192.0.2.110
expect www.ecdsa384.org A NOERROR ad - 192.0.2.114
expect www.ed25519.org A NOERROR ad - 192.0.2.115
expect www.ed448.org A NOERROR ad - 192.0.2.116
# Insecure: no AD. Unbound 1.17 attaches no EDE to insecure answers (vigil adds EDE 1).
expect www.rsamd5.org A NOERROR - - 192.0.2.101
expect www.dsa.org A NOERROR - - 192.0.2.103
expect www.unknownalg.org A NOERROR - - 192.0.2.130

# DS digest types.
expect www.dssha1.org A NOERROR ad - 192.0.2.121
expect www.dssha384.org A NOERROR ad - 192.0.2.124
# Insecure: no AD; no EDE from Unbound 1.17 (vigil adds EDE 2).
expect www.gostds.org A NOERROR - - 192.0.2.131
expect www.unknownds.org A NOERROR - - 192.0.2.132

# Bogus for a reason of its own.
expect www.future.org A SERVFAIL - 8
expect www.nosig.org A SERVFAIL - 10
expect www.nokey.org A SERVFAIL - 9
# Bogus like bogus.org., but under a negative trust anchor: insecure, the data as served.
expect www.nta.org A NOERROR - - 192.0.2.144

# Denial of existence, wildcards, CNAME/DNAME, insecure delegations: NSEC, NSEC3, opt-out.
# In optout.org. every NSEC3 has the opt-out flag, so the proof that the next closer name does
# not exist (NXDOMAIN, wildcard answers) leaves room for an unsigned delegation: insecure, no AD
# (RFC 5155 section 9.2; Unbound agrees).
for z in denial.org denial3.org optout.org; do
	case $z in denial.org) n=150 ;; denial3.org) n=160 ;; optout.org) n=170 ;; esac
	wad=ad
	[ $z = optout.org ] && wad=-
	expect "www.$z" A NOERROR ad - "192.0.2.$n"
	expect "a.wild.$z" A NOERROR $wad - "192.0.2.$((n + 2))"
	expect "b.c.wild.$z" TXT NOERROR $wad - '"wildcard"'
	expect "a.wild.$z" AAAA NOERROR $wad -
	expect "ent.$z" A NOERROR ad -
	expect "nodata.$z" A NOERROR ad -
	expect "www.$z" TXT NOERROR ad -
	expect "tosigned.$z" A NOERROR ad - 192.0.2.10
	expect "www.dname.$z" A NOERROR ad - 192.0.2.10
	expect "tounsigned.$z" A NOERROR - - 192.0.2.7
	expect "www.unsigned.$z" A NOERROR - - "192.0.2.$((n + 5))"
	expect "unsigned.$z" DS NOERROR ad -
done
expect nx.denial.org A NXDOMAIN ad -
expect nx.denial3.org A NXDOMAIN ad -
expect nx.optout.org A NXDOMAIN - -

# NSEC3 parameters (RFC 9276).
expect nx.nsec3salt.org A NXDOMAIN ad -
expect www.nsec3iter51.org A NOERROR ad - 192.0.2.181
# Unbound 1.17's limit is 150 iterations (vigil's default 50: insecure, EDE 27).
expect nx.nsec3iter51.org A NXDOMAIN ad -
expect www.nsec3iter151.org A NOERROR ad - 192.0.2.182
# Over the limit: insecure; Unbound 1.17 adds no EDE 27 (vigil does).
expect nx.nsec3iter151.org A NXDOMAIN - -
expect www.nsec3iter500.org A NOERROR ad - 192.0.2.183
expect nx.nsec3iter500.org A NXDOMAIN - -

# KeyTrap: 32 keys with one tag; www has the genuine signature among 31 random ones, bad only
# random ones, one only the genuine one.
# Secure by the RFCs (www, one), but Unbound (with its CVE-2023-50387 limits) gives up before
# it reaches the genuine key, served last: SERVFAIL, EDE 6 "too many RRSIG validations".
expect www.keytrap.org A SERVFAIL - 6
expect bad.keytrap.org A SERVFAIL - 6
expect one.keytrap.org A SERVFAIL - 6

# Island of trust: secure only through its own anchor (com. is unsigned).
expect www.island.com A NOERROR ad - 192.0.2.190

# split.org.: whichever server Unbound asks, the answer validates (DNSSEC cannot see the
# disagreement); each server's copy verifies on its own, and the two disagree where designed.
expect www.split.org A NOERROR ad - 192.0.2.200
expect forged.split.org A NOERROR ad -
expect cdn.split.org A NOERROR ad -
for v in a b; do
	checks=$((checks + 1))
	if ! ldns-verify-zone "$run/zones/split.org.zone.$v.signed" >/dev/null 2>&1; then
		failures=$((failures + 1))
		echo "FAIL split.org. copy $v does not verify"
	fi
done
auth() { dig +norec +short +time=5 @"$1" "$2" "${3:-A}"; }
for n in www:192.0.2.200:192.0.2.200 cdn:192.0.2.201:192.0.2.202 forged:192.0.2.203:203.0.113.203 \
	ttl:192.0.2.204:192.0.2.204 x.many:192.0.2.205:192.0.2.205 \
	cdn6/AAAA:2001:db8:cd::201:2001:db8:cd:ff::202 forged6/AAAA:2001:db8:a::203:2001:db8:b::203; do
	name=${n%%:*} t=A
	case $name in */*) t=${name#*/} name=${name%/*} ;; esac
	rest=${n#*:}
	if [ "$t" = A ]; then a=${rest%%:*} b=${rest#*:}; else a=${rest%:2001*} b=2001${rest##*:2001}; fi
	checks=$((checks + 1))
	got="$(auth 127.53.3.3 "$name.split.org" "$t") $(auth 127.53.3.4 "$name.split.org" "$t")"
	if [ "$got" != "$a $b" ]; then
		failures=$((failures + 1))
		echo "FAIL $name.split.org: servers answer '$got', want '$a $b'"
	else
		echo "ok   $name.split.org: ns1 $a, ns2 $b"
	fi
done

# ldns (vigil's verification primitives) on the zone files as served: the correct ones verify
# (every algorithm included), the broken ones do not.
for z in rsamd5 dsa rsasha1 rsasha1nsec3 rsasha512 ecdsa384 ed25519 ed448 dssha1 dssha384 gostds \
	unknownds denial denial3 optout nsec3iter51 nsec3iter151 nsec3iter500 nsec3salt; do
	checks=$((checks + 1))
	if ldns-verify-zone "$run/zones/$z.org.zone.signed" >/dev/null 2>&1; then
		echo "ok   ldns-verify-zone $z.org."
	else
		failures=$((failures + 1))
		echo "FAIL ldns-verify-zone $z.org.: $(ldns-verify-zone "$run/zones/$z.org.zone.signed" 2>&1 | head -n 3)"
	fi
done
for z in unknownalg.org future.org nosig.org nokey.org nta.org keytrap.org; do
	checks=$((checks + 1))
	if ldns-verify-zone "$run/zones/$z.zone.signed" >/dev/null 2>&1; then
		failures=$((failures + 1))
		echo "FAIL ldns-verify-zone accepts the broken $z."
	else
		echo "ok   ldns-verify-zone rejects $z."
	fi
done
checks=$((checks + 1))
if ldns-verify-zone "$run/zones/island.com.zone.signed" >/dev/null 2>&1; then
	echo "ok   ldns-verify-zone island.com."
else
	failures=$((failures + 1))
	echo "FAIL ldns-verify-zone island.com."
fi

echo "$checks checks, $failures failed (Unbound log: $dir/unbound.log)"
[ "$failures" = 0 ]
