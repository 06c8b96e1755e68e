/* Aggressive use of the DNSSEC-validated cache (RFC 8198, RFC 8020) end to end over the lab:
 * after one validated denial, names the cached NSEC/NSEC3 proof (or a cached NXDOMAIN above
 * them) covers are answered without a query upstream, which `vigilctl stats` shows
 * (resolver_upstream_sent unchanged, resolver_aggressive_answers up); and what must not be used
 * (aggressive-nsec: no, opt-out spans, bogus data, expired records) is not. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "itest.h"
#include "lab.h"

static struct itest_vigild V;
static char ctl_path[128];

static void start_with(const char *extra)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-ctl-aggr-%d.sock", (int)getpid());
	char conf[2048];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\ncontrol-socket: %s\n"
		 "query-local-addresses: yes\ndo-ip6: no\ndiscard-timeout: 0\nrebinding: off\n"
		 "prefetch: no\n%s",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), ctl_path, extra ? extra : "");
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	vg_lab_down();
}

TestSuite(aggressive, .fini = teardown, .timeout = 240);

/* Waits until the counters settle (workers publish them once per loop pass) and the cache
 * writer has committed everything queued (the proof of the last answer). */
static void settle(void)
{
	long long prev = -1;
	for (uint64_t t0 = itest_now_ms(); itest_now_ms() - t0 < 5000; usleep(100000)) {
		long long sent = itest_stat(ctl_path, "resolver_upstream_sent");
		if (sent == prev && itest_stat(ctl_path, "cache_queued") == 0)
			return;
		prev = sent;
	}
}

/* Asks with DO (CD when cd); the parsed reply. */
static ldns_pkt *ask(const char *name, ldns_rr_type type, bool cd)
{
	ldns_pkt *p = itest_ask_dnssec(&V, name, type, cd);
	cr_assert_not_null(p, "%s: no answer, or an unparsable one", name);
	return p;
}

/* Asks (name, type) with DO and asserts rcode and AD; frees the reply. */
static void expect(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode, bool ad)
{
	ldns_pkt *p = ask(name, type, false);
	cr_expect_eq(ldns_pkt_get_rcode(p), rcode, "%s: rcode %d, expected %d", name,
		     ldns_pkt_get_rcode(p), rcode);
	cr_expect_eq(ldns_pkt_ad(p), ad, "%s: AD %d, expected %d", name, ldns_pkt_ad(p), ad);
	ldns_pkt_free(p);
}

/* Asks `name` and asserts it was answered (rcode, AD, `proof` NSEC or NSEC3 records in the
 * authority section with their RRSIGs, a SOA for a negative answer) without any upstream query,
 * from the aggressive path. */
static void expect_no_query(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode,
			    ldns_rr_type proof)
{
	settle();
	long long sent = itest_stat(ctl_path, "resolver_upstream_sent");
	long long aggr = itest_stat(ctl_path, "resolver_aggressive_answers");
	ldns_pkt *p = ask(name, type, false);
	cr_expect_eq(ldns_pkt_get_rcode(p), rcode, "%s: rcode %d, expected %d", name,
		     ldns_pkt_get_rcode(p), rcode);
	cr_expect(ldns_pkt_ad(p), "%s: no AD", name);
	cr_expect_gt(vg_lab_count(p, LDNS_SECTION_AUTHORITY, proof), 0, "%s: no proof", name);
	cr_expect_gt(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_RRSIG), 0,
		     "%s: proof without RRSIGs", name);
	if (rcode == LDNS_RCODE_NXDOMAIN)
		cr_expect_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA), 1,
			     "%s: no SOA", name);
	ldns_pkt_free(p);
	settle();
	cr_expect_eq(itest_stat(ctl_path, "resolver_upstream_sent"), sent,
		     "%s: a query went upstream", name);
	cr_expect_eq(itest_stat(ctl_path, "resolver_aggressive_answers"), aggr + 1,
		     "%s: not answered by the aggressive path", name);
}

/* Asks `name` and asserts that a query went upstream for it (rcode as given). */
static void expect_query(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode)
{
	settle();
	long long sent = itest_stat(ctl_path, "resolver_upstream_sent");
	long long aggr = itest_stat(ctl_path, "resolver_aggressive_answers");
	ldns_pkt *p = ask(name, type, false);
	cr_expect_eq(ldns_pkt_get_rcode(p), rcode, "%s: rcode %d, expected %d", name,
		     ldns_pkt_get_rcode(p), rcode);
	ldns_pkt_free(p);
	settle();
	cr_expect_gt(itest_stat(ctl_path, "resolver_upstream_sent"), sent,
		     "%s: no query went upstream", name);
	cr_expect_eq(itest_stat(ctl_path, "resolver_aggressive_answers"), aggr,
		     "%s: answered aggressively", name);
}

/* The NSEC3 hash of `name` (zone's parameters: SHA-1, no salt, 0 iterations in the lab). */
static ldns_rdf *hash_of(const char *name)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	ldns_rdf *h = ldns_nsec3_hash_name(n, 1, 0, 0, NULL);
	ldns_rdf_deep_free(n);
	return h;
}

/* True when the NSEC3 record rr (of `zone`) covers the hash of `name`. */
static bool nsec3_covers(const ldns_rr *rr, const char *name, const char *zone)
{
	ldns_rdf *z = ldns_dname_new_frm_str(zone);
	ldns_rdf *hn = hash_of(name);
	ldns_rdf *full = ldns_dname_cat_clone(hn, z);
	bool c = ldns_nsec_covers_name(rr, full);
	ldns_rdf_deep_free(z);
	ldns_rdf_deep_free(hn);
	ldns_rdf_deep_free(full);
	return c;
}

/* A name "<prefix><k>.<suffix>" whose NSEC3 hash the NSEC3 covering `like`'s hash in the
 * authority section of p also covers (the same span); written to out. */
static void same_span(const ldns_pkt *p, const char *like, const char *prefix, const char *suffix,
		      const char *zone, char *out, size_t cap)
{
	ldns_rr_list *auth = ldns_pkt_authority(p);
	const ldns_rr *span = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3 && nsec3_covers(rr, like, zone))
			span = rr;
	}
	cr_assert_not_null(span, "no NSEC3 in the answer covers %s", like);
	for (int k = 0; k < 5000; k++) {
		snprintf(out, cap, "%s%d.%s", prefix, k, suffix);
		if (strcmp(out, like) != 0 && nsec3_covers(span, out, zone))
			return;
	}
	cr_assert_fail("no name in the span of %s", like);
}

Test(aggressive, nsec_nxdomain_proof_answers_another_name_without_a_query)
{
	start_with(NULL);
	expect("nx.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true);
	/* ns1 < nx < oops < tosigned: the same NSEC span; the wildcard's span is the apex's */
	expect_no_query("oops.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, LDNS_RR_TYPE_NSEC);
	expect_no_query("nz.denial.org.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN, LDNS_RR_TYPE_NSEC);
	/* a name outside the cached spans (tounsigned < tz < unsigned) still goes upstream */
	expect_query("tz.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
}

Test(aggressive, nsec_nodata_proof_answers_another_type_without_a_query)
{
	start_with(NULL);
	/* the NSEC of www.denial.org. (A, RRSIG, NSEC) proves every other type absent */
	expect("www.denial.org.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, true);
	expect_no_query("www.denial.org.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, LDNS_RR_TYPE_NSEC);
}

Test(aggressive, nsec3_nxdomain_proof_answers_another_name_without_a_query)
{
	start_with(NULL);
	ldns_pkt *p = ask("nx.denial3.org.", LDNS_RR_TYPE_A, false);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_assert(ldns_pkt_ad(p));
	char other[256];
	same_span(p, "nx.denial3.org.", "n", "denial3.org.", "denial3.org.", other, sizeof(other));
	ldns_pkt_free(p);
	expect_no_query(other, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, LDNS_RR_TYPE_NSEC3);
}

Test(aggressive, nxdomain_above_answers_names_below_it_rfc8020)
{
	start_with(NULL);
	expect("nx.denial3.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true);
	/* the NSEC3 spans of these names' hashes are not cached: RFC 8020 answers */
	expect_no_query("deep.below.nx.denial3.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN,
			LDNS_RR_TYPE_NSEC3);
	expect_no_query("x.nx.denial3.org.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NXDOMAIN,
			LDNS_RR_TYPE_NSEC3);
}

Test(aggressive, nsec_wildcard_answer_is_synthesised_for_another_name)
{
	start_with(NULL);
	expect("a.wild.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true);
	settle();
	long long sent = itest_stat(ctl_path, "resolver_upstream_sent");
	ldns_pkt *p = ask("b.wild.denial.org.", LDNS_RR_TYPE_A, false);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect(ldns_pkt_ad(p), "no AD on the synthesised answer");
	cr_expect(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "b.wild.denial.org.", LDNS_RR_TYPE_A, "192.0.2.152"),
	    "no expanded A record");
	cr_expect_gt(vg_lab_count(p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_RRSIG), 0, "no RRSIG");
	cr_expect_gt(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC), 0,
		     "no NSEC proof that the name does not exist");
	ldns_pkt_free(p);
	settle();
	cr_expect_eq(itest_stat(ctl_path, "resolver_upstream_sent"), sent, "a query went upstream");
}

Test(aggressive, nsec3_wildcard_answer_is_synthesised_for_a_name_in_the_same_span)
{
	start_with(NULL);
	ldns_pkt *p = ask("a.wild.denial3.org.", LDNS_RR_TYPE_A, false);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_assert(ldns_pkt_ad(p));
	char other[256];
	same_span(p, "a.wild.denial3.org.", "b", "wild.denial3.org.", "denial3.org.", other,
		  sizeof(other));
	ldns_pkt_free(p);
	settle();
	long long sent = itest_stat(ctl_path, "resolver_upstream_sent");
	p = ask(other, LDNS_RR_TYPE_A, false);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect(ldns_pkt_ad(p), "%s: no AD on the synthesised answer", other);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, other, LDNS_RR_TYPE_A, "192.0.2.162"),
		  "%s: no expanded A record", other);
	cr_expect_gt(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC3), 0,
		     "%s: no NSEC3 proof", other);
	ldns_pkt_free(p);
	settle();
	cr_expect_eq(itest_stat(ctl_path, "resolver_upstream_sent"), sent,
		     "%s: a query went upstream", other);
}

Test(aggressive, aggressive_nsec_no_sends_the_query)
{
	start_with("aggressive-nsec: no\n");
	expect("nx.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true);
	expect_query("oops.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
	expect_query("below.nx.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
	ldns_pkt *p = ask("nx.denial3.org.", LDNS_RR_TYPE_A, false);
	char other[256];
	same_span(p, "nx.denial3.org.", "n", "denial3.org.", "denial3.org.", other, sizeof(other));
	ldns_pkt_free(p);
	expect_query(other, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
}

Test(aggressive, opt_out_spans_are_not_used)
{
	start_with(NULL);
	/* opt-out: the NXDOMAIN is insecure (no AD), its NSEC3 records prove nothing */
	ldns_pkt *p = ask("nx.optout.org.", LDNS_RR_TYPE_A, false);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_assert(!ldns_pkt_ad(p));
	char other[256];
	same_span(p, "nx.optout.org.", "n", "optout.org.", "optout.org.", other, sizeof(other));
	ldns_pkt_free(p);
	expect_query(other, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
	expect_query("below.nx.optout.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
}

Test(aggressive, bogus_and_insecure_denials_are_not_used)
{
	start_with(NULL);
	/* badds.org.'s keys match no DS: bogus; CD=1 gets the denial unchecked, it proves nothing
	 */
	ldns_pkt *p = ask("nx.badds.org.", LDNS_RR_TYPE_A, true);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	expect_query("oops.badds.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL);
	expect_query("below.nx.badds.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL);
	/* example.org. is unsigned (an insecure delegation): its NXDOMAIN is no proof */
	expect("nx.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, false);
	expect_query("below.nx.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
}

Test(aggressive, expired_proofs_are_not_used)
{
	/* every record lives 3 s at most: the proof is gone before the second question */
	start_with("cache-max-ttl: 3\ncache-max-negative-ttl: 3\nserve-stale-max: 0\n");
	expect("nx.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, true);
	sleep(5);
	/* (each answer brings the span's NSEC again: one name per expiry) */
	expect_query("oops.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
	sleep(5);
	expect_query("below.oops.denial.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
}
