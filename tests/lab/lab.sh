#!/bin/bash
# The DNS lab: start, stop and inspect a fake Internet on 127.53.0.0/16 port 53 (see docs/lab.md).
#
# Usage: tests/lab/lab.sh up|down|status
# Env:   VIGIL_LAB_DIR   run directory (default tests/lab/run)
#        VIGIL_FAULTD    faultd binary (default: newest build*/tests/lab/faultd of the repository)
#        VIGIL_LAB_REQUIRE_FAULTD=1  fail instead of skipping the fault servers without faultd
set -u
umask 022

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_SRC/../.." && pwd)
RUN=${VIGIL_LAB_DIR:-$LAB_SRC/run}
ZONES=$RUN/zones
KEYS=$RUN/keys

# Signature validity: fixed and long, so a harness with a faked wall clock still validates.
INCEPTION=20250101000000
EXPIRATION=20370101000000
ALG=ECDSAP256SHA256

# The signed zones of the DNSSEC cases served by 127.53.3.1 (all but island.com. are children of
# org. with a DS there; island.com. is an island of trust under the unsigned com.).
CASE_ZONES=(
	rsamd5.org. dsa.org. rsasha1.org. rsasha1nsec3.org. rsasha512.org. ecdsa384.org.
	ed25519.org. ed448.org. dssha1.org. dssha384.org. unknownalg.org. gostds.org.
	unknownds.org. future.org. nosig.org. nokey.org. nta.org. denial.org. denial3.org. optout.org.
	nsec3iter51.org. nsec3iter151.org. nsec3iter500.org. nsec3salt.org. keytrap.org. island.com.
)

# NSD servers: address|server name|zones served (comma separated, may be empty = lame server)
NSD_SERVERS=(
	"127.53.0.1|a.root-servers.net.|."
	"127.53.0.2|b.root-servers.net.|."
	"127.53.1.1|ns1.nic.com.|com."
	"127.53.1.2|ns2.nic.com.|com."
	"127.53.1.3|ns1.nic.net.|net."
	"127.53.1.4|ns1.nic.org.|org."
	"127.53.1.5|ns.nic.arpa.|arpa."
	"127.53.2.1|ns1.example.com.|example.com."
	"127.53.2.2|ns2.example.com.|example.com."
	"127.53.2.3|ns1.example.net.|example.net.,glueless.com."
	"127.53.2.4|ns1.example.org.|example.org."
	"127.53.2.5|ns.rev.arpa.|18.198.in-addr.arpa."
	"127.53.2.6|ns1.flaky.com.|flaky.com."
	"127.53.2.7|ns4.flaky.com.|"
	"127.53.2.8|ns1.secure.org.|secure.org.,nsec3.org.,bogus.org.,badds.org.,expired.org.,rsa.org.,gluesec.com."
	"127.53.2.11|ns.faults.net.|faults.net."
	# The DNSSEC cases (docs/lab.md "DNSSEC cases"): one server for the signed ones, one for
	# the unsigned zones they delegate to, two for split.org. (servers that disagree).
	"127.53.3.1|ns1.<case>.org.|$(IFS=,; echo "${CASE_ZONES[*]}")"
	"127.53.3.2|ns1.unsigned.<case>.org.|unsigned.denial.org.,unsigned.denial3.org.,unsigned.optout.org."
	"127.53.3.3|ns1.split.org.|split.org."
	"127.53.3.4|ns2.split.org.|split.org."
)
# Fault servers: address|mode|zone|extra faultd arguments
FAULT_SERVERS=(
	"127.53.9.1|ok|ok.faults.net.|-l"
	"127.53.9.2|silent|silent.faults.net.|"
	"127.53.9.3|slow|slow.faults.net.|-d 600"
	"127.53.9.4|tc|tc.faults.net.|"
	"127.53.9.5|garbage|garbage.faults.net.|"
	"127.53.9.6|wrongid|wrongid.faults.net.|"
	"127.53.9.7|wrongq|wrongq.faults.net.|"
	"127.53.9.8|wrongport|wrongport.faults.net.|"
	"127.53.9.9|oob|oob.faults.net.|"
	"127.53.9.10|refloop|refloop.faults.net.|-r ns2.refloop.faults.net.@127.53.9.11"
	"127.53.9.11|refloop|refloop.faults.net.|-r ns.refloop.faults.net.@127.53.9.10"
	"127.53.9.12|upward|upward.faults.net.|-r a.root-servers.net.@127.53.0.1"
	"127.53.9.13|formerr|formerr.faults.net.|"
	"127.53.9.14|nxns|nxns.faults.net.|-N 40"
	"127.53.9.15|case|case.faults.net.|"
	"127.53.9.16|twice|twice.faults.net.|"
	"127.53.9.17|slow|slow9.faults.net.|-d 9000"
)
# Addresses named in the zones on purpose with no server behind them.
DEAD_SERVERS=(
	"127.53.8.1|ns2.flaky.com."
	"127.53.8.2|ns3.flaky.com."
	"127.53.8.3|ns1.dead.com."
	"127.53.8.4|ns2.dead.com."
)

die() {
	echo "lab.sh: $*" >&2
	exit 1
}

# The directory of one server's state.
srvdir() { echo "$RUN/srv-$1"; }

# True when PID is alive and its command line mentions MARK (our config or pid file path), so a
# recycled PID of an unrelated process is never taken for ours.
is_ours() {
	local pid=$1 mark=$2
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	grep -qaF -- "$mark" "/proc/$pid/cmdline" 2>/dev/null
}

# Prints the PID of a server we started and that is still running, or fails.
running_pid() {
	local d=$RUN/srv-$1 pid=
	[ -f "$d/pid" ] || return 1
	read -r pid <"$d/pid" 2>/dev/null
	is_ours "$pid" "$d/" || return 1
	echo "$pid"
}

script_version() {
	cksum <"${BASH_SOURCE[0]}" | cut -d' ' -f1
}

# Identifies what a running lab was made from: this script and the faultd binary it used.
lab_version() {
	cat "${BASH_SOURCE[0]}" "$(find_faultd)" 2>/dev/null | cksum | cut -d' ' -f1
}

find_faultd() {
	if [ -n "${VIGIL_FAULTD:-}" ]; then
		[ -x "$VIGIL_FAULTD" ] && echo "$VIGIL_FAULTD"
		return
	fi
	# Newest faultd of any build directory of the repository.
	ls -t "$REPO"/build/tests/lab/faultd "$REPO"/build*/tests/lab/faultd 2>/dev/null | head -n 1
}

# ---------------------------------------------------------------------------------------------
# Zone generation

soa() { # zone primary-ns
	local r=hostmaster.$1
	[ "$1" = . ] && r=hostmaster.root-servers.net.
	echo "\$TTL 3600"
	echo "$1 3600 IN SOA $2 $r 2025010101 3600 900 604800 300"
}

gen_root() {
	{
		soa . a.root-servers.net.
		cat <<'EOF'
. 86400 IN NS a.root-servers.net.
. 86400 IN NS b.root-servers.net.
a.root-servers.net. 86400 IN A 127.53.0.1
b.root-servers.net. 86400 IN A 127.53.0.2
com. 86400 IN NS ns1.nic.com.
com. 86400 IN NS ns2.nic.com.
ns1.nic.com. 86400 IN A 127.53.1.1
ns2.nic.com. 86400 IN A 127.53.1.2
net. 86400 IN NS ns1.nic.net.
ns1.nic.net. 86400 IN A 127.53.1.3
org. 86400 IN NS ns1.nic.org.
ns1.nic.org. 86400 IN A 127.53.1.4
arpa. 86400 IN NS ns.nic.arpa.
ns.nic.arpa. 86400 IN A 127.53.1.5
EOF
		cat "$KEYS/org.ds"
	} >"$ZONES/root.zone"
}

gen_com() {
	{
		soa com. ns1.nic.com.
		cat <<'EOF'
com. 86400 IN NS ns1.nic.com.
com. 86400 IN NS ns2.nic.com.
ns1.nic.com. 86400 IN A 127.53.1.1
ns2.nic.com. 86400 IN A 127.53.1.2
example.com. 86400 IN NS ns1.example.com.
example.com. 86400 IN NS ns2.example.com.
ns1.example.com. 86400 IN A 127.53.2.1
ns2.example.com. 86400 IN A 127.53.2.2
glueless.com. 86400 IN NS ns1.example.net.
flaky.com. 86400 IN NS ns1.flaky.com.
flaky.com. 86400 IN NS ns2.flaky.com.
flaky.com. 86400 IN NS ns3.flaky.com.
flaky.com. 86400 IN NS ns4.flaky.com.
ns1.flaky.com. 86400 IN A 127.53.2.6
ns2.flaky.com. 86400 IN A 127.53.8.1
ns3.flaky.com. 86400 IN A 127.53.8.2
ns4.flaky.com. 86400 IN A 127.53.2.7
dead.com. 86400 IN NS ns1.dead.com.
dead.com. 86400 IN NS ns2.dead.com.
ns1.dead.com. 86400 IN A 127.53.8.3
ns2.dead.com. 86400 IN A 127.53.8.4
blackhole.com. 86400 IN NS ns1.blackhole.com.
ns1.blackhole.com. 86400 IN A 127.53.9.2
gluesec.com. 86400 IN NS ns1.secure.org.
bogusns.com. 86400 IN NS www.bogus.org.
EOF
		# island.com.: signed, but com. is not (no DS): only its own anchor (RUN/island.ds) makes
		# it secure.
		echo "island.com. 86400 IN NS ns1.island.com."
		echo "ns1.island.com. 86400 IN A 127.53.3.1"
	} >"$ZONES/com.zone"
}

gen_net() {
	{
		soa net. ns1.nic.net.
		cat <<'EOF'
net. 86400 IN NS ns1.nic.net.
ns1.nic.net. 86400 IN A 127.53.1.3
a.root-servers.net. 86400 IN A 127.53.0.1
b.root-servers.net. 86400 IN A 127.53.0.2
example.net. 86400 IN NS ns1.example.net.
ns1.example.net. 86400 IN A 127.53.2.3
faults.net. 86400 IN NS ns.faults.net.
ns.faults.net. 86400 IN A 127.53.2.11
EOF
	} >"$ZONES/net.zone"
}

gen_org() {
	local z
	{
		soa org. ns1.nic.org.
		cat <<'EOF'
org. 86400 IN NS ns1.nic.org.
ns1.nic.org. 86400 IN A 127.53.1.4
example.org. 86400 IN NS ns1.example.org.
ns1.example.org. 86400 IN A 127.53.2.4
EOF
		for z in secure nsec3 bogus badds expired rsa; do
			echo "$z.org. 86400 IN NS ns1.$z.org."
			echo "ns1.$z.org. 86400 IN A 127.53.2.8"
			cat "$KEYS/$z.org.ds"
		done
		for z in "${CASE_ZONES[@]}"; do
			[ "${z%.org.}" = "$z" ] && continue
			echo "$z 86400 IN NS ns1.$z"
			echo "ns1.$z 86400 IN A 127.53.3.1"
			cat "$KEYS/${z%.}.ds"
		done
		echo "split.org. 86400 IN NS ns1.split.org."
		echo "split.org. 86400 IN NS ns2.split.org."
		echo "ns1.split.org. 86400 IN A 127.53.3.3"
		echo "ns2.split.org. 86400 IN A 127.53.3.4"
		cat "$KEYS/split.org.ds"
	} >"$ZONES/org.zone"
}

gen_arpa() {
	{
		soa arpa. ns.nic.arpa.
		cat <<'EOF'
arpa. 86400 IN NS ns.nic.arpa.
ns.nic.arpa. 86400 IN A 127.53.1.5
ns.rev.arpa. 86400 IN A 127.53.2.5
18.198.in-addr.arpa. 86400 IN NS ns.rev.arpa.
EOF
	} >"$ZONES/arpa.zone"
	{
		soa 18.198.in-addr.arpa. ns.rev.arpa.
		cat <<'EOF'
18.198.in-addr.arpa. 86400 IN NS ns.rev.arpa.
1.0.18.198.in-addr.arpa. IN PTR www.example.com.
2.0.18.198.in-addr.arpa. IN PTR www.example.net.
EOF
	} >"$ZONES/18.198.in-addr.arpa.zone"
}

gen_example() {
	local i
	{
		soa example.com. ns1.example.com.
		cat <<'EOF'
example.com. 86400 IN NS ns1.example.com.
example.com. 86400 IN NS ns2.example.com.
example.com. IN MX 10 mail.example.com.
ns1.example.com. 86400 IN A 127.53.2.1
ns2.example.com. 86400 IN A 127.53.2.2
www.example.com. IN A 192.0.2.1
www.example.com. IN AAAA 2001:db8::1
mail.example.com. IN A 192.0.2.25
alias.example.com. IN CNAME www.example.com.
chain.example.com. IN CNAME c1.example.net.
loop.example.com. IN CNAME loop.example.net.
dname.example.com. IN DNAME example.net.
*.wild.example.com. IN A 192.0.2.80
*.wild.example.com. IN AAAA 2001:db8::80
*.wild.example.com. IN TXT "wildcard"
a.ent.example.com. IN A 192.0.2.4
nodata.example.com. IN TXT "no address here"
rebind.example.com. IN A 192.168.1.1
rebind.example.com. IN A 10.0.0.1
rebind.example.com. IN AAAA ::1
mixed.example.com. IN A 192.0.2.9
mixed.example.com. IN A 10.0.0.9
EOF
		for i in $(seq 1 30); do
			printf 'big.example.com. IN TXT "%02d-%s"\n' "$i" \
				"$(printf 'x%.0s' $(seq 1 97))"
		done
		for i in $(seq 1 100); do
			echo "big.example.com. IN A 198.51.100.$i"
		done
		# A CNAME chain of 100 links (attack tests, issue 14).
		echo "chain100.example.com. IN CNAME c1.chain100.example.com."
		for i in $(seq 1 99); do
			echo "c$i.chain100.example.com. IN CNAME c$((i + 1)).chain100.example.com."
		done
		echo "c100.chain100.example.com. IN A 192.0.2.100"
	} >"$ZONES/example.com.zone"
	{
		soa example.net. ns1.example.net.
		cat <<'EOF'
example.net. 86400 IN NS ns1.example.net.
ns1.example.net. 86400 IN A 127.53.2.3
www.example.net. IN A 192.0.2.2
www.example.net. IN AAAA 2001:db8::2
c1.example.net. IN CNAME c2.example.org.
loop.example.net. IN CNAME loop.example.com.
lan.example.net. IN A 192.168.1.50
EOF
	} >"$ZONES/example.net.zone"
	{
		soa glueless.com. ns1.example.net.
		cat <<'EOF'
glueless.com. 86400 IN NS ns1.example.net.
www.glueless.com. IN A 192.0.2.5
EOF
	} >"$ZONES/glueless.com.zone"
	# gluesec.com.: unsigned, its only NS name is in the signed secure.org. (no glue in com.).
	{
		soa gluesec.com. ns1.secure.org.
		cat <<'EOF'
gluesec.com. 86400 IN NS ns1.secure.org.
www.gluesec.com. IN A 192.0.2.6
EOF
	} >"$ZONES/gluesec.com.zone"
	{
		soa example.org. ns1.example.org.
		cat <<'EOF'
example.org. 86400 IN NS ns1.example.org.
ns1.example.org. 86400 IN A 127.53.2.4
www.example.org. IN A 192.0.2.7
c2.example.org. IN A 192.0.2.3
intranet.example.org. IN A 10.1.2.3
EOF
	} >"$ZONES/example.org.zone"
	{
		soa flaky.com. ns1.flaky.com.
		cat <<'EOF'
flaky.com. 86400 IN NS ns1.flaky.com.
flaky.com. 86400 IN NS ns2.flaky.com.
flaky.com. 86400 IN NS ns3.flaky.com.
flaky.com. 86400 IN NS ns4.flaky.com.
ns1.flaky.com. 86400 IN A 127.53.2.6
ns2.flaky.com. 86400 IN A 127.53.8.1
ns3.flaky.com. 86400 IN A 127.53.8.2
ns4.flaky.com. 86400 IN A 127.53.2.7
www.flaky.com. IN A 192.0.2.20
EOF
	} >"$ZONES/flaky.com.zone"
}

# The unsigned zone file of a signed second-level zone: NAME ADDRESS-OF-www
gen_signed_child() {
	local z=$1 addr=$2
	{
		soa "$z." "ns1.$z."
		echo "$z. 86400 IN NS ns1.$z."
		echo "ns1.$z. 86400 IN A 127.53.2.8"
		echo "www.$z. IN A $addr"
		echo "www.$z. IN AAAA 2001:db8::${addr##*.}"
		echo "*.wild.$z. IN A 192.0.2.11"
		echo "txt.$z. IN TXT \"signed $z\""
	} >"$ZONES/$z.zone"
}

gen_faults() {
	local line addr mode zone rest
	{
		soa faults.net. ns.faults.net.
		echo "faults.net. 86400 IN NS ns.faults.net."
		echo "ns.faults.net. 86400 IN A 127.53.2.11"
		for line in "${FAULT_SERVERS[@]}"; do
			IFS='|' read -r addr mode zone rest <<<"$line"
			case $addr in
			127.53.9.11) continue ;; # second refloop server, listed below
			esac
			echo "$zone 86400 IN NS ns.$zone"
			echo "ns.$zone 86400 IN A $addr"
		done
		echo "refloop.faults.net. 86400 IN NS ns2.refloop.faults.net."
		echo "ns2.refloop.faults.net. 86400 IN A 127.53.9.11"
	} >"$ZONES/faults.net.zone"
	for line in "${FAULT_SERVERS[@]}"; do
		IFS='|' read -r addr mode zone rest <<<"$line"
		[ "$addr" = 127.53.9.11 ] && continue
		{
			soa "$zone" "ns.$zone"
			echo "$zone 86400 IN NS ns.$zone"
			echo "ns.$zone 86400 IN A $addr"
			if [ "$mode" = refloop ]; then
				echo "$zone 86400 IN NS ns2.$zone"
				echo "ns2.$zone 86400 IN A 127.53.9.11"
			fi
			echo "www.$zone 300 IN A 192.0.2.53"
			echo "www.$zone 300 IN AAAA 2001:db8::53"
			echo "www.$zone 300 IN TXT \"mode=$mode\""
		} >"$ZONES/$zone""zone"
	done
}

# keygen ZONE -> sets KSK and ZSK (base paths of the key files)
keygen() {
	local z=$1
	# shellcheck disable=SC2086 # ALG may carry a -b BITS option
	KSK=$KEYS/$(cd "$KEYS" && ldns-keygen -a $ALG -k "$z") || return 1
	# shellcheck disable=SC2086
	ZSK=$KEYS/$(cd "$KEYS" && ldns-keygen -a $ALG "$z") || return 1
	rm -f "$KSK.ds" "$ZSK.ds"
}

# sign ZONE FILE-STEM [extra ldns-signzone args...]; writes FILE-STEM.signed, $KEYS/NAME.ds and
# $KEYS/NAME.ksk (NAME: the zone without its final dot, "root" for the root)
sign() {
	local z=$1 stem=$2 f=${1%.}
	[ -z "$f" ] && f=root
	shift 2
	keygen "$z" || return 1
	ldns-signzone -i $INCEPTION -e $EXPIRATION "$@" -o "$z" -f "$ZONES/$stem.signed" \
		"$ZONES/$stem" "$ZSK" "$KSK" || return 1
	ldns-key2ds -n -2 "$KSK.key" >"$KEYS/$f.ds" || return 1
	cp "$KSK.key" "$KEYS/$f.ksk"
}

# ---------------------------------------------------------------------------------------------
# The DNSSEC cases (docs/lab.md "DNSSEC cases"): one function per zone, run in parallel by
# gen_cases. Each leaves ZONES/ZONE.zone.signed (served by 127.53.3.1) and KEYS/ZONE.ds (the DS
# that goes into the parent), ZONE without its final dot.

# case_zone ZONE WWW-ADDRESS: the unsigned zone file of a case zone on 127.53.3.1, with the
# lines of stdin added.
case_zone() {
	local z=$1 addr=$2
	{
		soa "$z." "ns1.$z."
		echo "$z. 86400 IN NS ns1.$z."
		echo "ns1.$z. 86400 IN A 127.53.3.1"
		echo "www.$z. IN A $addr"
		echo "www.$z. IN AAAA 2001:db8::${addr##*.}"
		echo "txt.$z. IN TXT \"signed $z\""
		cat
	} >"$ZONES/$z.zone"
}

# case_alg ZONE WWW-ADDRESS ALGORITHM [ldns-signzone args]: a correctly signed zone.
case_alg() {
	local z=$1 addr=$2
	ALG=$3
	shift 3
	case_zone "$z" "$addr" </dev/null
	sign "$z" "$z.zone" "$@"
}

c_rsamd5() { case_alg rsamd5.org 192.0.2.101 "RSAMD5 -b 1024"; }
c_dsa() { case_alg dsa.org 192.0.2.103 "DSA -b 1024"; }
c_rsasha1() { case_alg rsasha1.org 192.0.2.105 "RSASHA1 -b 2048"; }
c_rsasha1nsec3() { case_alg rsasha1nsec3.org 192.0.2.107 "RSASHA1-NSEC3-SHA1 -b 2048" -n -a 1 -t 0; }
c_rsasha512() { case_alg rsasha512.org 192.0.2.110 "RSASHA512 -b 2048"; }
c_ecdsa384() { case_alg ecdsa384.org 192.0.2.114 ECDSAP384SHA384; }
c_ed25519() { case_alg ed25519.org 192.0.2.115 ED25519; }
c_ed448() { case_alg ed448.org 192.0.2.116 ED448; }

# A DS of another digest type only: ZONE WWW-ADDRESS DIGEST-OPTION-OF-ldns-key2ds
case_ds() {
	case_alg "$1" "$2" ECDSAP256SHA256 || return 1
	ldns-key2ds -n "$3" "$KEYS/$1.ksk" >"$KEYS/$1.ds"
}
c_dssha1() { case_ds dssha1.org 192.0.2.121 -1; }
c_dssha384() { case_ds dssha384.org 192.0.2.124 -4; }

# A correctly signed zone whose only DS has digest type TYPE (the SHA-256 digest, relabelled).
case_ds_type() { # ZONE WWW-ADDRESS TYPE
	case_alg "$1" "$2" ECDSAP256SHA256 || return 1
	ldns-key2ds -n -2 "$KEYS/$1.ksk" | awk -v t="$3" 'BEGIN { OFS = "\t" } { $7 = t; print }' \
		>"$KEYS/$1.ds"
}
c_gostds() { case_ds_type gostds.org 192.0.2.131 3; }
c_unknownds() { case_ds_type unknownds.org 192.0.2.132 100; }

# unknownalg.org.: signed with ED25519, then every DNSKEY, RRSIG and the DS relabelled to the
# unassigned algorithm 100 (key tags recomputed, so DS -> DNSKEY -> RRSIG still match by tag).
c_unknownalg() {
	local z=unknownalg.org k old new map=
	case_alg $z 192.0.2.130 ED25519 || return 1
	for k in "$KSK" "$ZSK"; do
		old=${k##*+}
		sed -E 's/(DNSKEY[[:space:]]+[0-9]+[[:space:]]+3[[:space:]]+)15([[:space:]])/\1100\2/' \
			"$k.key" >"$k.alg100"
		new=$(ldns-key2ds -n -f -2 "$k.alg100" | awk '{ print $5 }')
		[ -n "$new" ] || return 1
		map="$map $((10#$old))=$new"
	done
	awk -v map="$map" '
		BEGIN { OFS = "\t"; n = split(map, m, " "); for (i = 1; i <= n; i++) { split(m[i], kv, "="); t[kv[1]] = kv[2] } }
		$4 == "DNSKEY" { sub(/;.*/, ""); $7 = 100 }
		$4 == "RRSIG" { $6 = 100; $11 = t[$11] }
		{ print }' "$ZONES/$z.zone.signed" >"$ZONES/$z.tmp" || return 1
	mv "$ZONES/$z.tmp" "$ZONES/$z.zone.signed"
	grep -q "RRSIG.*DNSKEY[[:space:]]100[[:space:]]" "$ZONES/$z.zone.signed" || return 1
	ldns-key2ds -n -2 "$KSK.alg100" >"$KEYS/$z.ds"
}

# future.org.: inception 2036-01-01, so not yet valid before then.
c_future() { INCEPTION=20360101000000 case_alg future.org 192.0.2.140 ECDSAP256SHA256; }

# nosig.org.: correctly signed, served without the RRSIGs of its data: only those over DNSKEY,
# SOA and NSEC are left (a validator can still prove that www.nosig.org. is no delegation).
c_nosig() {
	case_alg nosig.org 192.0.2.141 ECDSAP256SHA256 || return 1
	awk '!($4 == "RRSIG" && $5 != "DNSKEY" && $5 != "SOA" && $5 != "NSEC")' \
		"$ZONES/nosig.org.zone.signed" >"$ZONES/nosig.tmp" &&
		mv "$ZONES/nosig.tmp" "$ZONES/nosig.org.zone.signed"
}

# nokey.org.: correctly signed, the DS in org. is right, but the zone is served without its
# DNSKEY set (and that set's RRSIG).
c_nokey() {
	case_alg nokey.org 192.0.2.142 ECDSAP256SHA256 || return 1
	awk '!($4 == "DNSKEY" || ($4 == "RRSIG" && $5 == "DNSKEY"))' "$ZONES/nokey.org.zone.signed" \
		>"$ZONES/nokey.tmp" && mv "$ZONES/nokey.tmp" "$ZONES/nokey.org.zone.signed"
}

# nta.org.: bogus like bogus.org. (www.nta.org. A served as 192.0.2.144, signed as 192.0.2.143),
# the target of a negative trust anchor.
c_nta() {
	case_alg nta.org 192.0.2.143 ECDSAP256SHA256 || return 1
	sed -i -E 's/^(www\.nta\.org\.[[:space:]].*[[:space:]]A[[:space:]]+)192\.0\.2\.143$/\1192.0.2.144/' \
		"$ZONES/nta.org.zone.signed"
	grep -qE '^www\.nta\.org\..*A[[:space:]]+192\.0\.2\.144$' "$ZONES/nta.org.zone.signed"
}

# The names of the denial zones (denial.org. NSEC, denial3.org. NSEC3, optout.org.), and the
# unsigned zone each delegates to (served by 127.53.3.2).
denial_names() { # ZONE FIRST-OCTET
	local z=$1 n=$2
	cat <<EOF
*.wild.$z. IN A 192.0.2.$((n + 2))
*.wild.$z. IN TXT "wildcard"
a.ent.$z. IN A 192.0.2.$((n + 3))
nodata.$z. IN TXT "no address here"
tounsigned.$z. IN CNAME www.example.org.
tosigned.$z. IN CNAME www.secure.org.
dname.$z. IN DNAME secure.org.
unsigned.$z. 86400 IN NS ns1.unsigned.$z.
ns1.unsigned.$z. 86400 IN A 127.53.3.2
EOF
	{
		soa "unsigned.$z." "ns1.unsigned.$z."
		echo "unsigned.$z. 86400 IN NS ns1.unsigned.$z."
		echo "ns1.unsigned.$z. 86400 IN A 127.53.3.2"
		echo "www.unsigned.$z. IN A 192.0.2.$((n + 5))"
	} >"$ZONES/unsigned.$z.zone"
}
c_denial() {
	ALG=ECDSAP256SHA256
	denial_names denial.org 150 | case_zone denial.org 192.0.2.150 && sign denial.org denial.org.zone
}
c_denial3() {
	ALG=ECDSAP256SHA256
	denial_names denial3.org 160 | case_zone denial3.org 192.0.2.160 &&
		sign denial3.org denial3.org.zone -n -a 1 -t 0
}
c_optout() {
	ALG=ECDSAP256SHA256
	denial_names optout.org 170 | case_zone optout.org 192.0.2.170 &&
		sign optout.org optout.org.zone -n -a 1 -t 0 -p
}
c_nsec3iter51() { case_alg nsec3iter51.org 192.0.2.181 ECDSAP256SHA256 -n -a 1 -t 51; }
c_nsec3iter151() { case_alg nsec3iter151.org 192.0.2.182 ECDSAP256SHA256 -n -a 1 -t 151; }
c_nsec3iter500() { case_alg nsec3iter500.org 192.0.2.183 ECDSAP256SHA256 -n -a 1 -t 500; }
c_nsec3salt() { case_alg nsec3salt.org 192.0.2.184 ECDSAP256SHA256 -n -a 1 -t 0 -s 5ca1ab1e; }

# island.com.: signed under the unsigned com.; its own anchor is written to RUN/island.ds.
c_island() { case_alg island.com 192.0.2.190 ECDSAP256SHA256; }

# split.org.: two servers with their own copies of the zone, both signed with the same keys:
# www agrees, cdn rotates within 192.0.2.0/24 (TTL 1) and cdn6 within 2001:db8:cd::/48, forged
# and forged6 have no address in common (nor a /24, /48), ttl's TTL differs, *.many agrees.
c_split() {
	local z=split.org v cdn forged cdn6 forged6 ttl
	for v in a b; do
		if [ $v = a ]; then
			cdn=192.0.2.201 forged=192.0.2.203 cdn6=2001:db8:cd::201
			forged6=2001:db8:a::203 ttl=300
		else
			cdn=192.0.2.202 forged=203.0.113.203 cdn6=2001:db8:cd:ff::202
			forged6=2001:db8:b::203 ttl=60
		fi
		{
			soa "$z." "ns1.$z."
			echo "$z. 86400 IN NS ns1.$z."
			echo "$z. 86400 IN NS ns2.$z."
			echo "ns1.$z. 86400 IN A 127.53.3.3"
			echo "ns2.$z. 86400 IN A 127.53.3.4"
			echo "www.$z. IN A 192.0.2.200"
			echo "cdn.$z. 1 IN A $cdn"
			echo "forged.$z. IN A $forged"
			echo "server.$z. IN TXT \"$v\""
			echo "cdn6.$z. 1 IN AAAA $cdn6"
			echo "forged6.$z. IN AAAA $forged6"
			echo "ttl.$z. $ttl IN A 192.0.2.204"
			echo "*.many.$z. IN A 192.0.2.205"
		} >"$ZONES/$z.zone.$v"
	done
	ALG=ECDSAP256SHA256
	keygen $z || return 1
	for v in a b; do
		ldns-signzone -i $INCEPTION -e $EXPIRATION -o $z -f "$ZONES/$z.zone.$v.signed" \
			"$ZONES/$z.zone.$v" "$ZSK" "$KSK" || return 1
	done
	ldns-key2ds -n -2 "$KSK.key" >"$KEYS/$z.ds"
	cp "$KSK.key" "$KEYS/$z.ksk"
}

# keytrap.org. (KeyTrap, CVE-2023-50387): RSASHA256, 2048 bits. Its DNSKEY set holds the KSK,
# the ZSK and 31 more keys with the ZSK's key tag (the ZSK's modulus with two bytes chosen to
# collide and two random ones: valid RSA public keys that match no private key). www.keytrap.org.
# A carries 31 RRSIGs with random signatures and the genuine one; bad.keytrap.org. A carries 32
# random ones; one.keytrap.org. A only the genuine one. The DNSKEY set is genuinely signed by the
# KSK. The genuine ZSK and RRSIG come last in the zone file (NSD serves that order), so a
# validator that tries them in the order received needs the most work; the ZSK also sorts after
# every decoy in rdata order (each decoy has a zero word before the one that collides), so it
# comes last from a cache that keeps sets sorted too.
KEYTRAP_N=32
c_keytrap() {
	local z=keytrap.org
	ALG="RSASHA256 -b 2048"
	keygen $z || return 1
	case_zone $z 192.0.2.195 <<EOF || return 1
bad.$z. IN A 192.0.2.196
one.$z. IN A 192.0.2.197
EOF
	perl -e '
		use strict; use warnings; use MIME::Base64;
		my ($file, $n) = @ARGV;
		open(my $f, "<", $file) or die "$file: $!";
		my ($owner, $flags, $proto, $alg, $b64);
		while (<$f>) {
			s/;.*//;
			next unless /^(\S+)\s+(?:\d+\s+)?IN\s+DNSKEY\s+(\d+)\s+(\d+)\s+(\d+)\s+(.+)$/;
			($owner, $flags, $proto, $alg, $b64) = ($1, $2, $3, $4, $5);
		}
		die "no DNSKEY in $file" unless defined $b64;
		$b64 =~ s/\s//g;
		my $rd = pack("nCC", $flags, $proto, $alg) . decode_base64($b64);
		sub tag { my $ac = 0; my @b = unpack("C*", $_[0]);
			for my $i (0 .. $#b) { $ac += ($i & 1) ? $b[$i] : $b[$i] << 8 }
			return ($ac + (($ac >> 16) & 0xffff)) & 0xffff; }
		my $want = tag($rd);
		# The ZSK itself: ldns-signzone adds no key whose tag a DNSKEY of the zone already has.
		print "$owner 3600 IN DNSKEY $flags $proto $alg $b64\n";
		my $p = 8 + 100; # an even offset inside the modulus: the 16-bit word that collides
		# An earlier word that is zero in every decoy and not in the ZSK: the ZSK sorts after
		# all decoys (a cache that keeps a set in rdata order serves it last as well).
		my $q = 8 + 10;
		$q += 2 while $q < $p - 2 && unpack("n", substr($rd, $q, 2)) == 0;
		for my $i (1 .. $n - 1) {
			my $k = $rd;
			substr($k, $q, 2) = pack("n", 0);
			substr($k, $p + 2, 2) = pack("n", ($i * 7919 + 12345) & 0xffff);
			substr($k, $p, 2) = pack("n", 0);
			my $s = 0; my @b = unpack("C*", $k);
			for my $j (0 .. $#b) { $s += ($j & 1) ? $b[$j] : $b[$j] << 8 }
			my $w;
			for my $c (0 .. 0xffff) {
				my $t = $s + $c;
				if ((($t + (($t >> 16) & 0xffff)) & 0xffff) == $want) { $w = $c; last }
			}
			die "no collision for key $i" unless defined $w;
			substr($k, $p, 2) = pack("n", $w);
			die "key $i is the ZSK" if $k eq $rd;
			die "key $i: tag mismatch" unless tag($k) == $want;
			print "$owner 3600 IN DNSKEY $flags $proto $alg ", encode_base64(substr($k, 4), ""), "\n";
		}' "$ZSK.key" "$KEYTRAP_N" >>"$ZONES/$z.zone" || return 1
	ldns-signzone -i $INCEPTION -e $EXPIRATION -o $z -f "$ZONES/$z.zone.genuine" \
		"$ZONES/$z.zone" "$ZSK" "$KSK" || return 1
	# Random signatures: the genuine one's fields, the signature bytes replaced.
	perl -e '
		use strict; use warnings; use MIME::Base64;
		my ($n, $zsk) = @ARGV;
		srand(20250101);
		my $held;
		sub fake { my ($l) = @_; my @f = split(/\s+/, $l);
			my $len = length(decode_base64($f[-1]));
			$f[-1] = encode_base64(pack("C*", map { int(rand(256)) } 1 .. $len), "");
			return join("\t", @f) . "\n"; }
		while (my $l = <STDIN>) {
			my $dnskey = $l =~ /^\S+\s+\d+\s+IN\s+DNSKEY\s/;
			if ($dnskey && index($l, $zsk) >= 0) { $held = $l; next }
			if (defined $held && !$dnskey) { print $held; undef $held }
			if ($l =~ /^www\.keytrap\.org\.\s+\d+\s+IN\s+RRSIG\s+A\s/) {
				print fake($l) for 1 .. $n - 1;
				print $l;
			} elsif ($l =~ /^bad\.keytrap\.org\.\s+\d+\s+IN\s+RRSIG\s+A\s/) {
				print fake($l) for 1 .. $n;
			} else {
				print $l;
			}
		}
		print $held if defined $held;' "$KEYTRAP_N" "$(awk '{ print $7 }' "$ZSK.key")" \
		<"$ZONES/$z.zone.genuine" >"$ZONES/$z.zone.signed" || return 1
	ldns-key2ds -n -2 "$KSK.key" >"$KEYS/$z.ds"
	cp "$KSK.key" "$KEYS/$z.ksk"
}

CASES=(keytrap rsamd5 dsa rsasha1 rsasha1nsec3 rsasha512 ecdsa384 ed25519 ed448 dssha1 dssha384 gostds
	unknownds unknownalg future nosig nokey nta denial denial3 optout nsec3iter51 nsec3iter151
	nsec3iter500 nsec3salt island split)

# Runs every c_CASE, three at a time (keygen and signing are CPU-bound; the machine may be
# shared), each with its messages in KEYS/CASE.log; fails naming the cases that failed.
gen_cases() {
	local c failed=()
	for c in "${CASES[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge 3 ]; do wait -n; done
		("c_$c" >"$KEYS/$c.log" 2>&1 || touch "$KEYS/$c.failed") &
	done
	wait
	for c in "${CASES[@]}"; do
		[ -e "$KEYS/$c.failed" ] && failed+=("$c: $(tail -n 2 "$KEYS/$c.log" | tr '\n' ' ')")
	done
	[ "${#failed[@]}" = 0 ] && return 0
	echo "lab.sh: generating DNSSEC cases failed: ${failed[*]}" >&2
	return 1
}

generate() {
	rm -rf "$ZONES" "$KEYS"
	mkdir -p "$ZONES" "$KEYS" || return 1
	gen_example
	gen_arpa
	gen_com
	gen_net
	gen_faults
	gen_signed_child secure.org 192.0.2.10
	gen_signed_child nsec3.org 192.0.2.12
	gen_signed_child bogus.org 192.0.2.13
	gen_signed_child badds.org 192.0.2.14
	gen_signed_child expired.org 192.0.2.15
	gen_signed_child rsa.org 192.0.2.16
	sign secure.org secure.org.zone || return 1
	sign nsec3.org nsec3.org.zone -n -a 1 -t 0 || return 1
	sign bogus.org bogus.org.zone || return 1
	# bogus.org: serve data that differs from what was signed.
	sed -i -E 's/^(www\.bogus\.org\.[[:space:]].*[[:space:]]A[[:space:]]+)192\.0\.2\.13$/\1192.0.2.66/' \
		"$ZONES/bogus.org.zone.signed"
	grep -qE 'A[[:space:]]+192\.0\.2\.66$' "$ZONES/bogus.org.zone.signed" ||
		{ echo "lab.sh: could not corrupt bogus.org" >&2; return 1; }
	sign badds.org badds.org.zone || return 1
	# badds.org: the DS in org. is the digest of a key the zone does not have.
	keygen badds.org || return 1
	ldns-key2ds -n -2 "$KSK.key" >"$KEYS/badds.org.ds" || return 1
	local save_i=$INCEPTION save_e=$EXPIRATION
	INCEPTION=20000101000000 EXPIRATION=20010101000000
	sign expired.org expired.org.zone || return 1
	INCEPTION=$save_i EXPIRATION=$save_e
	ALG="RSASHA256 -b 2048"
	sign rsa.org rsa.org.zone || return 1
	ALG=ECDSAP256SHA256
	gen_cases || return 1
	gen_org
	sign org. org.zone || return 1
	gen_root
	sign . root.zone || return 1

	{
		echo "; lab root hints (generated by tests/lab/lab.sh, see docs/lab.md)"
		echo ". 3600000 IN NS a.root-servers.net."
		echo "a.root-servers.net. 3600000 IN A 127.53.0.1"
		echo ". 3600000 IN NS b.root-servers.net."
		echo "b.root-servers.net. 3600000 IN A 127.53.0.2"
	} >"$RUN/root.hints"
	sed -E 's/^\.[[:space:]]+[0-9]+[[:space:]]+IN/. 86400 IN/' "$KEYS/root.ds" >"$RUN/root.ds.tmp" &&
		mv "$RUN/root.ds.tmp" "$RUN/root.ds"
	grep -v '^;' "$KEYS/root.ksk" | sed -E 's/^\.[[:space:]]+([0-9]+[[:space:]]+)?IN/. 86400 IN/' \
		>"$RUN/root.key"
	# The island of trust's own anchor (island.com. under the unsigned com.), same formats.
	sed -E 's/^(island\.com\.)[[:space:]]+[0-9]+[[:space:]]+IN/\1 86400 IN/' "$KEYS/island.com.ds" \
		>"$RUN/island.ds"
	grep -v '^;' "$KEYS/island.com.ksk" |
		sed -E 's/^(island\.com\.)[[:space:]]+([0-9]+[[:space:]]+)?IN/\1 86400 IN/' >"$RUN/island.key"
}

# The generated material of this version of lab.sh is kept in GEN_CACHE/VERSION and copied into
# any run directory that lacks it: private labs (tests in their own network namespace start from
# an empty run directory) then skip the generation (keys, signatures: tens of seconds).
GEN_CACHE=${VIGIL_LAB_CACHE:-$LAB_SRC/run/generated}
GEN_FILES=(zones keys root.hints root.ds root.key island.ds island.key)

load_generated() {
	local c f
	c=$GEN_CACHE/$(script_version)
	[ -s "$c/root.ds" ] && [ -s "$c/island.ds" ] || return 1
	rm -rf "$ZONES" "$KEYS"
	for f in "${GEN_FILES[@]}"; do
		cp -a "$c/$f" "$RUN/" || return 1
	done
}

store_generated() {
	local v c tmp f
	v=$(script_version)
	c=$GEN_CACHE/$v
	[ -e "$c" ] && return 0
	mkdir -p "$GEN_CACHE" 2>/dev/null || return 0
	tmp=$(mktemp -d "$GEN_CACHE/.tmp-XXXXXX") || return 0
	for f in "${GEN_FILES[@]}"; do
		cp -a "$RUN/$f" "$tmp/" || { rm -rf "$tmp"; return 0; }
	done
	# Another lab may have stored the same version meanwhile: keep the first.
	mv -T "$tmp" "$c" 2>/dev/null || rm -rf "$tmp"
	# The material of older versions of lab.sh is of no use any more.
	find "$GEN_CACHE" -mindepth 1 -maxdepth 1 -name '[0-9]*' ! -name "$v" -exec rm -rf {} +
	return 0
}

# ---------------------------------------------------------------------------------------------
# Servers

zonefile_of() { # zone server-address
	case $1 in
	.) echo root.zone.signed ;;
	org.) echo org.zone.signed ;;
	secure.org. | nsec3.org. | bogus.org. | badds.org. | expired.org. | rsa.org.)
		echo "${1}zone.signed"
		;;
	split.org.)
		# Each server of split.org. has its own copy of the zone (docs/lab.md).
		if [ "$2" = 127.53.3.3 ]; then echo split.org.zone.a.signed; else echo split.org.zone.b.signed; fi
		;;
	*)
		if [ -f "$ZONES/${1}zone.signed" ]; then echo "${1}zone.signed"; else echo "${1}zone"; fi
		;;
	esac
}

write_nsd_conf() { # addr zones
	local addr=$1 zones=$2 d z
	d=$(srvdir "$addr")
	mkdir -p "$d"
	{
		cat <<EOF
# generated by tests/lab/lab.sh
server:
	ip-address: $addr@53
	do-ip4: yes
	do-ip6: no
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$ZONES"
	zonelistfile: "$d/zone.list"
	xfrdfile: "$d/xfrd.state"
	xfrdir: "$d"
	pidfile: "$d/pid"
	logfile: "$d/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
	reuseport: no
	zonefiles-check: yes
	zonefiles-write: 0
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
	tcp-count: 200
	tcp-timeout: 10
remote-control:
	control-enable: no
EOF
		IFS=',' read -ra zl <<<"$zones"
		for z in "${zl[@]}"; do
			printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "$z" "$(zonefile_of "$z" "$addr")"
		done
	} >"$d/nsd.conf"
}

# Addresses on which something already listens on port 53 (UDP or TCP), one per line.
busy_addresses() {
	ss -Hlnu 2>/dev/null | awk '{print $4}'
	ss -Hlnt 2>/dev/null | awk '{print $4}'
}

port_conflict() { # addr busy-list -> prints the conflicting listener, or nothing
	local addr=$1
	grep -E "^(\[?::\]?|\*|0\.0\.0\.0|${addr//./\\.})(%[^:]*)?:53$" <<<"$2" | head -n 1
}

STARTED=()

# Stops the servers at the given addresses that we started: TERM to all first, then wait for all
# (NSD takes about a second to exit, so one by one would be slow), KILL what is left after 3 s.
stop_servers() { # addr...
	local a d pid i pids=() left
	for a in "$@"; do
		d=$(srvdir "$a")
		if pid=$(running_pid "$a"); then
			kill -TERM "$pid" 2>/dev/null
			pids+=("$pid")
		fi
		rm -f "$d/pid"
	done
	for i in $(seq 1 60); do
		left=()
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && left+=("$pid")
		done
		[ "${#left[@]}" = 0 ] && return 0
		sleep 0.05
	done
	kill -KILL "${left[@]}" 2>/dev/null
	return 0
}

abort_up() {
	local a
	echo "lab.sh: $*" >&2
	stop_servers "${STARTED[@]}"
	echo "lab.sh: stopped the ${#STARTED[@]} servers this 'up' had started" >&2
	exit 1
}

# The start_* functions run in the background (all servers start at once); each leaves its exit
# status in srv-ADDR/start.rc and its messages in srv-ADDR/start.out for collect_started.
start_nsd() { # addr zones
	local addr=$1 d rc
	d=$(srvdir "$addr")
	write_nsd_conf "$addr" "$2"
	rm -f "$d/pid" "$d/nsd.log"
	nsd -c "$d/nsd.conf" >"$d/start.out" 2>&1 9>&-
	rc=$?
	[ $rc = 0 ] || tail -n 3 "$d/nsd.log" >>"$d/start.out" 2>/dev/null
	echo $rc >"$d/start.rc"
}

start_faultd() { # faultd addr mode zone extra
	local bin=$1 addr=$2 mode=$3 zone=$4 extra=$5 d zf
	d=$(srvdir "$addr")
	mkdir -p "$d"
	zf=$ZONES/${zone}zone
	rm -f "$d/pid"
	# shellcheck disable=SC2086 # extra holds several words on purpose
	"$bin" -a "$addr@53" -z "$zf" -o "$zone" -m "$mode" $extra -P "$d/pid" \
		-L "$d/faultd.log" >"$d/start.out" 2>&1 9>&-
	echo $? >"$d/start.rc"
}

# Records which launched servers started (STARTED) and aborts the whole up if any did not.
collect_started() { # addr...
	local a d fails=()
	for a in "$@"; do
		d=$(srvdir "$a")
		if [ "$(cat "$d/start.rc" 2>/dev/null)" = 0 ]; then
			STARTED+=("$a")
		else
			fails+=("$a:53 failed to start: $(tr '\n' ' ' <"$d/start.out" 2>/dev/null)")
		fi
	done
	[ "${#fails[@]}" = 0 ] && return 0
	abort_up "$(printf '%s\n' "${fails[@]}")"
}

answers() { # addr zone
	local out
	out=$(dig +norec +time=1 +tries=1 @"$1" "${2:-.}" SOA 2>/dev/null) || return 1
	grep -q 'status:' <<<"$out"
}

wait_ready() { # addr zone; up to ~3 s
	local i
	for i in $(seq 1 30); do
		answers "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}

all_addresses() {
	local line
	for line in "${NSD_SERVERS[@]}" "${FAULT_SERVERS[@]}"; do
		echo "${line%%|*}"
	done
}

print_paths() {
	echo "root-hints: $RUN/root.hints"
	echo "trust-anchor: $RUN/root.ds"
	echo "trust-anchor-dnskey: $RUN/root.key"
	echo "island-anchor: $RUN/island.ds"
}

cmd_up() {
	local line addr name zones mode zone extra faultd c missing=0 nrunning=0 skipped=()
	[ "$(id -u)" = 0 ] || die "needs root to bind 127.53.x.y port 53 (run as root, e.g. sudo $0 up)"
	command -v nsd >/dev/null || die "nsd not found: install it with 'apt-get install nsd'"
	command -v ldns-signzone >/dev/null || die "ldns-signzone not found: apt-get install ldnsutils"
	command -v dig >/dev/null || die "dig not found: apt-get install bind9-dnsutils"
	faultd=$(find_faultd)
	if [ -z "$faultd" ] && [ "${VIGIL_LAB_REQUIRE_FAULTD:-0}" = 1 ]; then
		die "faultd not found: build it (meson setup build && ninja -C build) or set VIGIL_FAULTD"
	fi

	for addr in $(all_addresses); do
		if running_pid "$addr" >/dev/null; then
			nrunning=$((nrunning + 1))
		else
			missing=$((missing + 1))
		fi
	done
	if [ "$nrunning" -gt 0 ] && { [ "$missing" = 0 ] ||
		{ [ -z "$faultd" ] && [ "$missing" = "${#FAULT_SERVERS[@]}" ]; }; }; then
		if [ "$(cat "$RUN/lab.version" 2>/dev/null)" = "$(lab_version)" ]; then
			print_paths
			return 0
		fi
		# Running, but made by another version of this script: restart it only when the
		# caller knows nobody is using it (the C helper's first user sets this).
		if [ "${VIGIL_LAB_RESTART_STALE:-0}" != 1 ]; then
			echo "lab.sh: the running lab was started by another version of lab.sh;" \
				"'$0 down' then '$0 up' to get the current one" >&2
			print_paths
			return 0
		fi
		echo "lab.sh: restarting a lab started by another version of lab.sh" >&2
	fi
	# A partly running lab (a crash, a killed server): start over from a clean state.
	[ "$nrunning" -gt 0 ] && cmd_down >/dev/null

	local busy
	busy=$(busy_addresses)
	for addr in $(all_addresses); do
		c=$(port_conflict "$addr" "$busy")
		case $c in
		"") ;;
		0.0.0.0:* | "*:"* | "[::]:"* | "::"*)
			die "$addr port 53 is taken: a server listens on all addresses ($c)." \
				"Stop it (Debian starts nsd.service when nsd is installed:" \
				"systemctl disable --now nsd); find it with 'ss -lnup sport = :53'"
			;;
		*)
			die "$addr port 53 is taken (listener $c): stop that server" \
				"(if it is a leftover lab: $0 down; else find it with 'ss -lnup sport = :53')"
			;;
		esac
	done

	mkdir -p "$RUN" || die "cannot create run directory $RUN"
	# Zones and keys are kept across restarts while this script is unchanged: the trust anchor
	# stays the same, so a resolver's persistent cache of lab DNSSEC data stays valid, and up
	# is faster. Delete RUN/zones (or edit lab.sh) to get new keys.
	if [ "$(cat "$RUN/zones.version" 2>/dev/null)" != "$(script_version)" ] ||
		[ ! -s "$ZONES/root.zone.signed" ] || [ ! -s "$RUN/root.ds" ] ||
		[ ! -s "$RUN/island.ds" ]; then
		rm -f "$RUN/zones.version"
		# One generation at a time per cache: private labs started together (a test suite)
		# wait for the first and copy its material.
		mkdir -p "$GEN_CACHE" 2>/dev/null && exec 7>"$GEN_CACHE/.lock" && flock 7
		if ! load_generated; then
			generate || die "zone generation failed (see messages above)"
			store_generated
		fi
		exec 7>&-
		script_version >"$RUN/zones.version"
	fi

	local launched=()
	for line in "${NSD_SERVERS[@]}"; do
		IFS='|' read -r addr name zones <<<"$line"
		start_nsd "$addr" "$zones" &
		launched+=("$addr")
	done
	for line in "${FAULT_SERVERS[@]}"; do
		IFS='|' read -r addr mode zone extra <<<"$line"
		if [ -z "$faultd" ]; then
			skipped+=("$addr($mode)")
			continue
		fi
		start_faultd "$faultd" "$addr" "$mode" "$zone" "$extra" &
		launched+=("$addr")
	done
	wait
	collect_started "${launched[@]}"
	# Every NSD must answer before we return; faultd only daemonizes after binding, so its pid
	# file is proof enough (and the silent one never answers).
	local pids=() fails=()
	for line in "${NSD_SERVERS[@]}"; do
		IFS='|' read -r addr name zones <<<"$line"
		wait_ready "$addr" "${zones%%,*}" &
		pids+=("$!:$addr")
	done
	for c in "${pids[@]}"; do
		wait "${c%%:*}" || fails+=("${c#*:}")
	done
	[ "${#fails[@]}" = 0 ] || abort_up "servers did not answer within 3 s: ${fails[*]}" \
		"(logs in $RUN/srv-ADDR/)"
	if [ "${#skipped[@]}" -gt 0 ]; then
		echo "lab.sh: faultd not built (set VIGIL_FAULTD or build tests/lab/faultd);" \
			"skipped fault servers: ${skipped[*]}" >&2
	fi
	lab_version >"$RUN/lab.version"
	# Who started this lab: the C test helper stops what it started, and leaves a lab started by
	# hand running (see lab.h).
	if [ "${VIGIL_LAB_HELPER:-0}" = 1 ]; then echo helper; else echo manual; fi >"$RUN/started-by"
	print_paths
}

cmd_down() {
	local addr ours=()
	for addr in $(all_addresses); do
		running_pid "$addr" >/dev/null && ours+=("$addr")
	done
	stop_servers "${ours[@]}"
	rm -f "$RUN/started-by"
	echo "lab.sh: stopped ${#ours[@]} servers"
}

cmd_status() {
	local line addr name zones mode zone extra state pid up=0 total=0
	for line in "${NSD_SERVERS[@]}"; do
		IFS='|' read -r addr name zones <<<"$line"
		total=$((total + 1))
		if pid=$(running_pid "$addr"); then
			if answers "$addr" "${zones%%,*}"; then
				state="up (pid $pid)"
				up=$((up + 1))
			else
				state="running, not answering (pid $pid)"
			fi
		else
			state=down
		fi
		printf '%-12s nsd     %-22s %-32s %s\n' "$addr" "$name" "${zones:-(none: lame)}" "$state"
	done
	for line in "${FAULT_SERVERS[@]}"; do
		IFS='|' read -r addr mode zone extra <<<"$line"
		total=$((total + 1))
		if pid=$(running_pid "$addr"); then
			state="up (pid $pid)"
			up=$((up + 1))
		else
			state=down
		fi
		printf '%-12s faultd  %-22s %-32s %s\n' "$addr" "mode=$mode" "$zone" "$state"
	done
	for line in "${DEAD_SERVERS[@]}"; do
		IFS='|' read -r addr name <<<"$line"
		printf '%-12s -       %-22s %-32s %s\n' "$addr" "$name" "" "dead by design"
	done
	echo "$up of $total servers up; run directory $RUN"
}

# One lab.sh at a time per run directory (up and down change shared state).
lock() {
	mkdir -p "$RUN" 2>/dev/null || die "cannot create run directory $RUN"
	exec 9>"$RUN/.lab.sh.lock" || die "cannot open $RUN/.lab.sh.lock"
	flock 9
}

case "${1:-}" in
up)
	lock
	cmd_up
	;;
down)
	lock
	cmd_down
	;;
status) cmd_status ;;
*)
	echo "usage: $0 up|down|status   (see docs/lab.md)" >&2
	exit 2
	;;
esac
