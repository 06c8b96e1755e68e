/* DNSSEC validation of forwarded answers (docs/architecture.md "Forwarded answers"), on the lab.
 * W: a vigild iterating the lab with validation on (a validating recursive resolver, as the
 * forwarder). nxfwd: the lab's relay forwarder in front of W, its query log telling which
 * questions (and CD bits) reached the forwarder; with -s it strips every RRSIG, as many home
 * routers' proxies do. V: the vigild under test, forwarding to nxfwd. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "itest.h"
#include "itest_json.h"
#include "itest_relay.h"
#include "lab.h"

static struct itest_vigild V, W;
static struct itest_relay fwd;
static char log_path[400], fwd_log[400];

static void setup(void)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	snprintf(log_path, sizeof(log_path), "/tmp/vigil-fwdval-%d.log", (int)getpid());
	snprintf(fwd_log, sizeof(fwd_log), "/tmp/vigil-fwdval-%d.queries", (int)getpid());
	unlink(log_path);
	unlink(fwd_log);
	char conf[1024];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\ntrust-anchor-file: %s\n"
		 "query-local-addresses: yes\ndo-ip6: no\nrebinding: off\n",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), vg_lab_island_anchor());
	cr_assert_eq(itest_start(&W, conf), 0, "the forwarder did not start");
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	cr_expect_eq(itest_stop(&W), 0);
	itest_relay_stop(&fwd);
	vg_lab_down();
	unlink(log_path);
	unlink(fwd_log);
}

TestSuite(fwdval, .init = setup, .fini = teardown, .timeout = 180);

/* Starts nxfwd in front of W (relaying NXDOMAIN unchanged; -s when strip) and waits until it
 * relays an answer. */
static void start_fwd(bool strip)
{
	const char *opts[] = {"-R", strip ? "-s" : NULL, NULL};
	itest_relay_start(&fwd, W.port, fwd_log, opts);
}

/* V forwarding (`forward:`, or a forward-zone line when `zone_line`) to nxfwd. */
static void start_v(const char *anchors, const char *zone_line)
{
	char conf[2048], fw[256];
	if (zone_line)
		snprintf(fw, sizeof(fw), "forward-zone: %s 127.0.0.1@%u\nroot-hints: %s\n",
			 zone_line, fwd.port, vg_lab_root_hints());
	else
		snprintf(fw, sizeof(fw), "forward: 127.0.0.1@%u\n", fwd.port);
	snprintf(conf, sizeof(conf),
		 "suspicious-log: %s\n%s%snegative-trust-anchor: nta.org.\n"
		 "query-local-addresses: yes\ndo-ip6: no\nrebinding: off\ndiscard-timeout: 0\n"
		 "nxdomain-rewrite: off\n",
		 log_path, fw, anchors);
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static const char *root_anchor(void)
{
	static char a[512];
	snprintf(a, sizeof(a), "trust-anchor-file: %s\n", vg_lab_trust_anchor());
	return a;
}

/* Asks V (name, type) with DO (and CD when cd); NULL on silence. */
static ldns_pkt *ask(const char *name, ldns_rr_type type, bool cd)
{
	return itest_ask_dnssec(&V, name, type, cd);
}

enum { NONE = -1 };

/* Asks (name, type) with DO and checks rcode, AD and EDE (NONE: no EDE option). */
static void expect(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode, bool ad, int ede)
{
	ldns_pkt *p = ask(name, type, false);
	cr_assert_not_null(p, "%s: no answer", name);
	char text[256];
	int got = itest_ede(p, text, sizeof(text));
	cr_expect_eq(ldns_pkt_get_rcode(p), rcode, "%s %s: rcode %d, expected %d", name,
		     ldns_rr_type2str(type), ldns_pkt_get_rcode(p), rcode);
	cr_expect_eq(ldns_pkt_ad(p), ad, "%s %s: AD %d, expected %d", name, ldns_rr_type2str(type),
		     ldns_pkt_ad(p), ad);
	cr_expect_eq(got, ede, "%s %s: EDE %d (%s), expected %d", name, ldns_rr_type2str(type), got,
		     text, ede);
	ldns_pkt_free(p);
}

/* How many of nxfwd's logged queries are `line` (name, type, and " CD" or not). */
static size_t fwd_count(const char *line)
{
	return itest_relay_count(&fwd, line, true);
}

static size_t fwd_lines(void)
{
	return itest_relay_count(&fwd, NULL, false);
}

/* The suspicious-log events of reason `bogus` whose zone is `zone` (NULL: any) and whose EDE is
 * `ede` (the log is read again until one is there, for at most 3 s). */
static size_t bogus_events(const char *zone, int ede)
{
	size_t n = 0;
	for (int tries = 0; tries < 3 && !n; tries++) {
		json_t *l[64];
		size_t k = itest_json_lines(log_path, l, 64, 1, false);
		for (size_t i = 0; i < k; i++) {
			json_t *c = json_object_get(l[i], "ede");
			if (!strcmp(itest_json_str(l[i], "reason"), "bogus") &&
			    (!zone || !strcasecmp(itest_json_str(l[i], "zone"), zone)) &&
			    json_is_integer(c) && json_integer_value(c) == ede) {
				char *t = json_dumps(l[i], JSON_COMPACT | JSON_PRESERVE_ORDER);
				fprintf(stderr, "suspicious-log: %s\n", t ? t : "?");
				free(t);
				n++;
			}
			json_decref(l[i]);
		}
		if (!n)
			usleep(500000);
	}
	return n;
}

/* The questions of the chain of trust of www.secure.org. nxfwd saw (with CD). */
static size_t chain_lines(void)
{
	return fwd_count(". DNSKEY CD") + fwd_count("org. DS CD") + fwd_count("org. DNSKEY CD") +
	       fwd_count("secure.org. DS CD") + fwd_count("secure.org. DNSKEY CD");
}

Test(fwdval, secure_answers_get_ad_with_a_minimal_cached_chain)
{
	start_fwd(false);
	start_v(root_anchor(), NULL);
	expect("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, NONE);
	/* The chain, asked of the forwarder with CD=1: DNSKEY of each zone and DS of each
	 * delegation from the anchor down to the signer, once each. */
	cr_expect_geq(fwd_count("www.secure.org. A CD"), 1);
	cr_expect_geq(fwd_count(". DNSKEY CD"), 1);
	cr_expect_geq(fwd_count("org. DS CD"), 1);
	cr_expect_geq(fwd_count("org. DNSKEY CD"), 1);
	cr_expect_geq(fwd_count("secure.org. DS CD"), 1);
	cr_expect_geq(fwd_count("secure.org. DNSKEY CD"), 1);
	/* once each (a second only when a query timed out under load and was sent again) */
	size_t chain = chain_lines();
	cr_expect_eq(fwd_lines(), chain + fwd_count("www.secure.org. A CD"),
		     "only the answer and its chain were asked");
	/* The same zone again, and its NSEC denials: no chain query more (the validated DS and
	 * DNSKEY sets are read from the cache, once its writer has committed them). */
	usleep(300000);
	expect("www.secure.org.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, true, NONE);
	expect("nx.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true, NONE);
	expect("www.secure.org.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, true, NONE);
	cr_expect_eq(chain_lines(), chain, "the chain was asked again");
	/* NSEC3, a wildcard expansion with its proof, and a secure NODATA */
	expect("www.nsec3.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, NONE);
	expect("nx.denial3.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true, NONE);
	expect("a.wild.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, NONE);
	expect("nodata.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, NONE);
	/* CNAMEs across zones in one forwarded reply, each set judged by its own signer's keys;
	 * a DS question answered by the parent's denial */
	expect("tosigned.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, NONE);
	expect("tounsigned.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, NONE);
	expect("unsigned.denial.org.", LDNS_RR_TYPE_DS, LDNS_RCODE_NOERROR, true, NONE);
	/* From V's cache: still AD */
	expect("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, NONE);
}

Test(fwdval, bogus_answers_are_servfail_with_their_ede_and_logged)
{
	start_fwd(false);
	start_v(root_anchor(), NULL);
	expect("www.bogus.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false, 6);
	expect("www.expired.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false, 7);
	expect("www.badds.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false, 9);
	expect("www.nosig.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false, 10);
	expect("www.nokey.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false, 9);
	cr_expect_geq(bogus_events("bogus.org.", 6), 1, "no suspicious-log line for bogus.org.");
	cr_expect_geq(bogus_events("expired.org.", 7), 1);
	/* an unsigned answer inside a signed zone: the zone, not the name */
	cr_expect_geq(bogus_events("nosig.org.", 10), 1);
	cr_expect_geq(bogus_events("badds.org.", 9), 1);
	/* The rest of bogus.org. is signed right. */
	expect("txt.bogus.org.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, true, NONE);
	/* CD=1: the bogus data, unchecked, never AD; and not cached for everyone else. */
	ldns_pkt *p = ask("www.bogus.org.", LDNS_RR_TYPE_A, true);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "CD=1: the data, unchecked");
	cr_expect_not(ldns_pkt_ad(p), "never AD with CD=1");
	cr_expect_eq(ldns_pkt_ancount(p), 2, "the A and its RRSIG");
	ldns_pkt_free(p);
	expect("www.bogus.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false, 6);
}

Test(fwdval, unsigned_delegations_and_negative_anchors_are_insecure)
{
	start_fwd(false);
	start_v(root_anchor(), NULL);
	/* example.org. has no DS: proved by org.'s NSEC, asked of the forwarder */
	expect("www.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, NONE);
	cr_expect_eq(fwd_count("example.org. DS CD"), 1, "the unsigned delegation's DS");
	/* Another name of the unsigned zone: the proved delegation is remembered, no DS query */
	expect("c2.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, NONE);
	cr_expect_eq(fwd_count("example.org. DS CD"), 1, "the unsigned delegation's DS again");
	expect("www.unsigned.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, NONE);
	expect("www.unsigned.denial3.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, NONE);
	/* nta.org. is bogus, but under V's negative trust anchor: its data, CD=1 upstream (the
	 * validating forwarder would hold it back), no AD, no chain fetched for it */
	expect("www.nta.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, NONE);
	cr_expect_eq(fwd_count("www.nta.org. A CD"), 1);
	cr_expect_eq(fwd_count("nta.org. DS CD"), 0);
	cr_expect_eq(fwd_count("nta.org. DNSKEY CD"), 0);
}

Test(fwdval, a_forwarder_that_strips_rrsigs_gets_servfail_rrsigs_missing)
{
	start_fwd(true);
	start_v(root_anchor(), NULL);
	expect("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false, 10);
	/* the first link without RRSIGs: the root's DNSKEY set */
	cr_expect_geq(bogus_events(".", 10), 1, "no suspicious-log line for the stripped chain");
	/* CD=1 still gets the data */
	ldns_pkt *p = ask("www.secure.org.", LDNS_RR_TYPE_A, true);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect_not(ldns_pkt_ad(p));
	ldns_pkt_free(p);
}

Test(fwdval, names_outside_every_anchor_are_forwarded_as_before)
{
	/* Only island.com.'s anchor: the rest of the lab is outside every anchor. */
	start_fwd(false);
	char anchors[512];
	snprintf(anchors, sizeof(anchors), "trust-anchor-file: %s\n", vg_lab_island_anchor());
	start_v(anchors, NULL);
	expect("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, NONE);
	/* The forwarder validates what is outside V's anchors: no CD, and no chain asked. */
	cr_expect_eq(fwd_count("www.secure.org. A"), 1, "asked without CD");
	cr_expect_eq(fwd_lines(), fwd_count("www.secure.org. A"),
		     "a chain query for a name outside every anchor");
	ldns_pkt *p = ask("www.bogus.org.", LDNS_RR_TYPE_A, false);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL, "the forwarder's own verdict");
	ldns_pkt_free(p);
	/* The island's anchor is validated through the forwarder. */
	expect("www.island.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, NONE);
	cr_expect_eq(fwd_count("island.com. DNSKEY CD"), 1);
}

Test(fwdval, a_forward_zone_is_validated_with_the_iterated_chain_above_it)
{
	start_fwd(false);
	start_v(root_anchor(), "secure.org.");
	expect("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true, NONE);
	/* Inside the forward zone the forwarder is asked, CD=1; org.'s keys are iterated. */
	cr_expect_eq(fwd_count("www.secure.org. A CD"), 1);
	cr_expect_eq(fwd_count("secure.org. DS CD"), 1);
	cr_expect_eq(fwd_count("secure.org. DNSKEY CD"), 1);
	cr_expect_eq(fwd_count("org. DNSKEY CD"), 0);
	/* Iterated names outside the forward zone are validated as before. */
	expect("www.bogus.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false, 6);
	cr_expect_eq(fwd_count("www.bogus.org. A CD"), 0);
}
