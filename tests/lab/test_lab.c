/* Tests of the lab itself: brings the whole lab up (needs root and nsd) and checks the designed
 * answer of every zone by asking its authoritative servers directly (docs/lab.md). */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	if (geteuid() != 0)
		fprintf(stderr, "test_lab: not root: the lab binds port 53 on 127.53.x.y\n");
	/* A lab of our own: the shared one may run an older lab.sh for its current users. */
	if (vg_lab_isolate() != 0)
		fprintf(stderr, "test_lab: no private network namespace, using the shared lab\n");
	vg_lab_up_for_tests();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	vg_lab_down();
}

static void need_lab(void)
{
	cr_assert(vg_lab_ready(),
		  "the lab did not come up (needs root and nsd: apt-get install nsd ldnsutils; "
		  "see the lab.sh message above and docs/lab.md)");
}

TestSuite(lab, .init = need_lab, .timeout = 60);

/* Queries `server` over UDP (or TCP) and fails the test when no reply arrives. */
static ldns_pkt *ask(const char *server, const char *name, ldns_rr_type type, unsigned flags)
{
	ldns_pkt *p = NULL;
	int r = vg_lab_query_udp(server, name, type, flags, 2000, &p);

	cr_assert_eq(r, 0, "no reply from %s for %s: %s", server, name, strerror(-r));
	return p;
}

static ldns_pkt *ask_tcp(const char *server, const char *name, ldns_rr_type type, unsigned flags)
{
	ldns_pkt *p = NULL;
	int r = vg_lab_query_tcp(server, name, type, flags, 2000, &p);

	cr_assert_eq(r, 0, "no TCP reply from %s for %s: %s", server, name, strerror(-r));
	return p;
}

static void assert_rcode(const ldns_pkt *p, ldns_pkt_rcode rc)
{
	cr_assert_eq(ldns_pkt_get_rcode(p), rc, "rcode %d, expected %d", ldns_pkt_get_rcode(p), rc);
}

static void assert_answer(const char *server, const char *name, ldns_rr_type type,
			  const char *rdata)
{
	ldns_pkt *p = ask(server, name, type, 0);

	assert_rcode(p, LDNS_RCODE_NOERROR);
	cr_assert(ldns_pkt_aa(p), "%s from %s must be authoritative", name, server);
	cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, name, type, rdata), "%s %s: %s missing",
		  server, name, rdata);
	ldns_pkt_free(p);
}

Test(lab, root_servers_answer_and_hints_name_them)
{
	const char *roots[] = {"127.53.0.1", "127.53.0.2"};
	ldns_zone *z = NULL;
	FILE *f;

	for (int i = 0; i < 2; i++) {
		ldns_pkt *p = ask(roots[i], ".", LDNS_RR_TYPE_NS, 0);
		cr_assert(ldns_pkt_aa(p));
		cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, ".", LDNS_RR_TYPE_NS,
				     "a.root-servers.net."));
		cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, ".", LDNS_RR_TYPE_NS,
				     "b.root-servers.net."));
		ldns_pkt_free(p);
	}
	f = fopen(vg_lab_root_hints(), "r");
	cr_assert_not_null(f, "cannot open %s", vg_lab_root_hints());
	cr_assert_eq(ldns_zone_new_frm_fp(&z, f, NULL, 0, LDNS_RR_CLASS_IN), LDNS_STATUS_OK);
	fclose(f);
	cr_assert_eq(ldns_rr_list_rr_count(ldns_zone_rrs(z)), 4, "2 NS + 2 A in the root hints");
	ldns_zone_deep_free(z);
	/* The hint addresses are served by the root (priming). */
	assert_answer("127.53.1.3", "a.root-servers.net.", LDNS_RR_TYPE_A, "127.53.0.1");
}

Test(lab, root_refers_tlds_with_glue)
{
	ldns_pkt *p = ask("127.53.0.1", "www.example.com.", LDNS_RR_TYPE_A, 0);

	cr_assert_not(ldns_pkt_aa(p));
	cr_assert_eq(ldns_pkt_ancount(p), 0);
	cr_assert(vg_lab_has(p, LDNS_SECTION_AUTHORITY, "com.", LDNS_RR_TYPE_NS, "ns1.nic.com."));
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns1.nic.com.", LDNS_RR_TYPE_A, "127.53.1.1"));
	ldns_pkt_free(p);
	p = ask("127.53.0.2", "nosuch.", LDNS_RR_TYPE_A, 0);
	assert_rcode(p, LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(p);
}

Test(lab, in_bailiwick_delegation_has_glue)
{
	ldns_pkt *p = ask("127.53.1.2", "www.example.com.", LDNS_RR_TYPE_A, 0);

	cr_assert(vg_lab_has(p, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_NS,
			     "ns2.example.com."));
	cr_assert(vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns1.example.com.", LDNS_RR_TYPE_A,
			     "127.53.2.1"));
	cr_assert(vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns2.example.com.", LDNS_RR_TYPE_A,
			     "127.53.2.2"));
	ldns_pkt_free(p);
}

Test(lab, glueless_delegation_has_no_glue)
{
	ldns_pkt *p = ask("127.53.1.1", "www.glueless.com.", LDNS_RR_TYPE_A, 0);

	cr_assert(vg_lab_has(p, LDNS_SECTION_AUTHORITY, "glueless.com.", LDNS_RR_TYPE_NS,
			     "ns1.example.net."));
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_ADDITIONAL, LDNS_RR_TYPE_A), 0);
	ldns_pkt_free(p);
	assert_answer("127.53.2.3", "ns1.example.net.", LDNS_RR_TYPE_A, "127.53.2.3");
	assert_answer("127.53.2.3", "www.glueless.com.", LDNS_RR_TYPE_A, "192.0.2.5");
}

Test(lab, example_com_data_and_aaaa)
{
	assert_answer("127.53.2.1", "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1");
	assert_answer("127.53.2.2", "www.example.com.", LDNS_RR_TYPE_AAAA, "2001:db8::1");
	assert_answer("127.53.2.1", "example.com.", LDNS_RR_TYPE_MX, "10 mail.example.com.");
	assert_answer("127.53.2.3", "www.example.net.", LDNS_RR_TYPE_AAAA, "2001:db8::2");
	assert_answer("127.53.2.4", "www.example.org.", LDNS_RR_TYPE_A, "192.0.2.7");
}

Test(lab, cname_chain_crosses_three_zones)
{
	ldns_pkt *p = ask("127.53.2.1", "alias.example.com.", LDNS_RR_TYPE_A, 0);

	cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, "alias.example.com.", LDNS_RR_TYPE_CNAME,
			     "www.example.com."));
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	ldns_pkt_free(p);
	assert_answer("127.53.2.1", "chain.example.com.", LDNS_RR_TYPE_CNAME, "c1.example.net.");
	assert_answer("127.53.2.3", "c1.example.net.", LDNS_RR_TYPE_CNAME, "c2.example.org.");
	assert_answer("127.53.2.4", "c2.example.org.", LDNS_RR_TYPE_A, "192.0.2.3");
}

Test(lab, cname_loop_points_back)
{
	assert_answer("127.53.2.1", "loop.example.com.", LDNS_RR_TYPE_CNAME, "loop.example.net.");
	assert_answer("127.53.2.3", "loop.example.net.", LDNS_RR_TYPE_CNAME, "loop.example.com.");
}

Test(lab, dname_synthesizes_cname)
{
	ldns_pkt *p = ask("127.53.2.1", "www.dname.example.com.", LDNS_RR_TYPE_A, 0);

	assert_rcode(p, LDNS_RCODE_NOERROR);
	cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, "dname.example.com.", LDNS_RR_TYPE_DNAME,
			     "example.net."));
	cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.dname.example.com.", LDNS_RR_TYPE_CNAME,
			     "www.example.net."));
	ldns_pkt_free(p);
}

Test(lab, wildcard_answers_any_unique_name)
{
	char name[64];

	snprintf(name, sizeof(name), "u%ld-%d.wild.example.com.", (long)time(NULL), (int)getpid());
	assert_answer("127.53.2.1", name, LDNS_RR_TYPE_A, "192.0.2.80");
	assert_answer("127.53.2.2", name, LDNS_RR_TYPE_AAAA, "2001:db8::80");
	assert_answer("127.53.2.1", "a.b.wild.example.com.", LDNS_RR_TYPE_TXT, "\"wildcard\"");
}

Test(lab, nxdomain_and_nodata_carry_the_soa)
{
	ldns_pkt *p = ask("127.53.2.1", "nx.example.com.", LDNS_RR_TYPE_A, 0);

	assert_rcode(p, LDNS_RCODE_NXDOMAIN);
	cr_assert(ldns_pkt_aa(p));
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(p);

	const char *nodata[][2] = {
	    {"www.example.com.", "TXT"}, {"nodata.example.com.", "A"}, {"ent.example.com.", "A"}};
	for (size_t i = 0; i < 3; i++) {
		p = ask("127.53.2.2", nodata[i][0], ldns_get_rr_type_by_name(nodata[i][1]), 0);
		assert_rcode(p, LDNS_RCODE_NOERROR);
		cr_assert_eq(ldns_pkt_ancount(p), 0, "%s must be NODATA", nodata[i][0]);
		cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA), 1);
		ldns_pkt_free(p);
	}
}

Test(lab, big_answer_truncates_over_udp_and_is_whole_over_tcp)
{
	ldns_pkt *p = ask("127.53.2.1", "big.example.com.", LDNS_RR_TYPE_TXT, VG_LAB_EDNS);

	cr_assert(ldns_pkt_tc(p), "3 kB TXT over UDP with a 1232 buffer must set TC");
	ldns_pkt_free(p);
	p = ask("127.53.2.1", "big.example.com.", LDNS_RR_TYPE_A, 0);
	cr_assert(ldns_pkt_tc(p), "1.6 kB of A without EDNS must set TC");
	ldns_pkt_free(p);
	p = ask_tcp("127.53.2.1", "big.example.com.", LDNS_RR_TYPE_TXT, VG_LAB_EDNS);
	cr_assert_not(ldns_pkt_tc(p));
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_TXT), 30);
	ldns_pkt_free(p);
	p = ask_tcp("127.53.2.2", "big.example.com.", LDNS_RR_TYPE_A, 0);
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A), 100);
	ldns_pkt_free(p);
}

Test(lab, ptr_zone_is_delegated_from_arpa)
{
	ldns_pkt *p = ask("127.53.1.5", "1.0.18.198.in-addr.arpa.", LDNS_RR_TYPE_PTR, 0);

	cr_assert(vg_lab_has(p, LDNS_SECTION_AUTHORITY, "18.198.in-addr.arpa.", LDNS_RR_TYPE_NS,
			     "ns.rev.arpa."));
	ldns_pkt_free(p);
	assert_answer("127.53.2.5", "1.0.18.198.in-addr.arpa.", LDNS_RR_TYPE_PTR,
		      "www.example.com.");
	assert_answer("127.53.2.5", "2.0.18.198.in-addr.arpa.", LDNS_RR_TYPE_PTR,
		      "www.example.net.");
}

/* No server at `addr`: on loopback the kernel answers ICMP port unreachable, which a connected
 * UDP socket reports as ECONNREFUSED (a timeout would also be dead). */
static void assert_dead(const char *addr)
{
	ldns_pkt *p = NULL;
	int r = vg_lab_query_udp(addr, "www.flaky.com.", LDNS_RR_TYPE_A, 0, 300, &p);

	cr_assert(r == -ECONNREFUSED || r == -ETIMEDOUT, "%s must be dead, got %d", addr, r);
	cr_assert_null(p);
}

Test(lab, flaky_zone_has_one_good_one_lame_and_two_dead_servers)
{
	ldns_pkt *p = NULL;

	p = ask("127.53.1.1", "www.flaky.com.", LDNS_RR_TYPE_A, 0);
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NS), 4);
	ldns_pkt_free(p);
	assert_answer("127.53.2.6", "www.flaky.com.", LDNS_RR_TYPE_A, "192.0.2.20");
	p = ask("127.53.2.7", "www.flaky.com.", LDNS_RR_TYPE_A, 0);
	assert_rcode(p, LDNS_RCODE_REFUSED);
	cr_assert_not(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	assert_dead("127.53.8.1");
	assert_dead("127.53.8.2");
}

Test(lab, dead_zone_servers_are_all_silent)
{
	ldns_pkt *p = ask("127.53.1.1", "www.dead.com.", LDNS_RR_TYPE_A, 0);

	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns1.dead.com.", LDNS_RR_TYPE_A, "127.53.8.3"));
	ldns_pkt_free(p);
	assert_dead("127.53.8.3");
	assert_dead("127.53.8.4");
	p = ask("127.53.1.2", "www.blackhole.com.", LDNS_RR_TYPE_A, 0);
	cr_assert(vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns1.blackhole.com.", LDNS_RR_TYPE_A,
			     "127.53.9.2"));
	ldns_pkt_free(p);
	p = NULL;
	cr_assert_eq(
	    vg_lab_query_udp("127.53.9.2", "www.blackhole.com.", LDNS_RR_TYPE_A, 0, 300, &p),
	    -ETIMEDOUT, "blackhole.com.'s server must swallow queries");
}

Test(lab, rate_limiting_is_off)
{
	/* NSD's default RRL would answer with TC or drop after ~200 answers/s to one source. */
	for (int i = 0; i < 1000; i++) {
		ldns_pkt *p = ask("127.53.2.1", "www.example.com.", LDNS_RR_TYPE_A, 0);
		cr_assert_not(ldns_pkt_tc(p), "query %d was rate limited", i);
		ldns_pkt_free(p);
	}
}

/* ---- DNSSEC: verify the chain from the trust anchor with ldns primitives. */

static ldns_rr_list *section_rrs(const ldns_pkt *p, ldns_pkt_section sec, const char *owner,
				 ldns_rr_type type)
{
	ldns_rr_list *all = ldns_pkt_get_section_clone(p, sec);
	ldns_rr_list *out = ldns_rr_list_new();
	ldns_rdf *o = ldns_dname_new_frm_str(owner);

	for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++) {
		ldns_rr *rr = ldns_rr_list_rr(all, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (ldns_dname_compare(ldns_rr_owner(rr), o) != 0)
			continue;
		if (t == type || (t == LDNS_RR_TYPE_RRSIG &&
				  ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type))
			ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
	ldns_rdf_deep_free(o);
	ldns_rr_list_deep_free(all);
	return out;
}

/* Verifies the `type` RRset of `owner` in `sec` of `p` with `keys`; returns the ldns status. */
static ldns_status verify_rrset(const ldns_pkt *p, ldns_pkt_section sec, const char *owner,
				ldns_rr_type type, ldns_rr_list *keys)
{
	ldns_rr_list *rrs = section_rrs(p, sec, owner, type);
	ldns_rr_list *set = ldns_rr_list_new(), *sigs = ldns_rr_list_new();
	ldns_status st;

	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		ldns_rr_list_push_rr(ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG ? sigs : set, rr);
	}
	cr_assert_gt(ldns_rr_list_rr_count(set), 0, "no %s RRset for %s", "the", owner);
	cr_assert_gt(ldns_rr_list_rr_count(sigs), 0, "no RRSIG over %s", owner);
	st = ldns_verify(set, sigs, keys, NULL);
	ldns_rr_list_free(set);
	ldns_rr_list_free(sigs);
	ldns_rr_list_deep_free(rrs);
	return st;
}

/* Fetches the DNSKEY set of `zone` from `server` and returns it (caller frees) if it is
 * self-signed and one key matches one of `ds`; else NULL, with the reason in *why. */
static ldns_rr_list *trusted_keys(const char *server, const char *zone, const ldns_rr_list *ds,
				  ldns_status *why)
{
	ldns_pkt *p = ask(server, zone, LDNS_RR_TYPE_DNSKEY, VG_LAB_DO);
	ldns_rr_list *keys = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_DNSKEY, LDNS_SECTION_ANSWER);
	bool match = false;

	cr_assert_not_null(keys, "no DNSKEY for %s", zone);
	*why = verify_rrset(p, LDNS_SECTION_ANSWER, zone, LDNS_RR_TYPE_DNSKEY, keys);
	for (size_t i = 0; i < ldns_rr_list_rr_count(keys); i++)
		for (size_t j = 0; j < ldns_rr_list_rr_count(ds); j++)
			if (ldns_rr_compare_ds(ldns_rr_list_rr(keys, i), ldns_rr_list_rr(ds, j)))
				match = true;
	ldns_pkt_free(p);
	if (!match && *why == LDNS_STATUS_OK)
		*why = LDNS_STATUS_CRYPTO_NO_MATCHING_KEYTAG_DNSKEY;
	if (*why != LDNS_STATUS_OK) {
		ldns_rr_list_deep_free(keys);
		return NULL;
	}
	return keys;
}

static ldns_rr_list *anchor_ds(void)
{
	ldns_zone *z = NULL;
	ldns_rr_list *l;
	FILE *f = fopen(vg_lab_trust_anchor(), "r");

	cr_assert_not_null(f, "cannot open %s", vg_lab_trust_anchor());
	cr_assert_eq(ldns_zone_new_frm_fp(&z, f, NULL, 0, LDNS_RR_CLASS_IN), LDNS_STATUS_OK);
	fclose(f);
	l = ldns_rr_list_clone(ldns_zone_rrs(z));
	ldns_zone_deep_free(z);
	cr_assert_eq(ldns_rr_list_rr_count(l), 1);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(l, 0)), LDNS_RR_TYPE_DS);
	return l;
}

/* The DS set (with its RRSIGs verified by `parent_keys`) of `child` from the parent's referral. */
static ldns_rr_list *verified_ds(const char *parent_server, const char *child, const char *qname,
				 ldns_rr_list *parent_keys)
{
	ldns_pkt *p = ask(parent_server, qname, LDNS_RR_TYPE_A, VG_LAB_DO);
	ldns_rdf *name = ldns_dname_new_frm_str(child);
	ldns_rr_list *ds =
	    ldns_pkt_rr_list_by_name_and_type(p, name, LDNS_RR_TYPE_DS, LDNS_SECTION_AUTHORITY);

	ldns_rdf_deep_free(name);
	cr_assert_not_null(ds, "referral to %s has no DS", child);
	cr_assert_eq(verify_rrset(p, LDNS_SECTION_AUTHORITY, child, LDNS_RR_TYPE_DS, parent_keys),
		     LDNS_STATUS_OK, "DS of %s does not verify", child);
	ldns_pkt_free(p);
	return ds;
}

/* Walks anchor -> root -> org. and returns org.'s verified keys. */
static ldns_rr_list *org_keys(void)
{
	ldns_rr_list *ta = anchor_ds();
	ldns_status why;
	ldns_rr_list *root = trusted_keys("127.53.0.1", ".", ta, &why);
	ldns_rr_list *ds, *org;

	cr_assert_not_null(root, "root DNSKEY vs trust anchor: %s", ldns_get_errorstr_by_id(why));
	ds = verified_ds("127.53.0.2", "org.", "www.secure.org.", root);
	org = trusted_keys("127.53.1.4", "org.", ds, &why);
	cr_assert_not_null(org, "org. DNSKEY vs DS: %s", ldns_get_errorstr_by_id(why));
	ldns_rr_list_deep_free(ta);
	ldns_rr_list_deep_free(root);
	ldns_rr_list_deep_free(ds);
	return org;
}

static ldns_rr_list *child_keys(ldns_rr_list *org, const char *zone, const char *www,
				ldns_status *why)
{
	ldns_rr_list *ds = verified_ds("127.53.1.4", zone, www, org);
	ldns_rr_list *keys = trusted_keys("127.53.2.8", zone, ds, why);

	ldns_rr_list_deep_free(ds);
	return keys;
}

Test(lab, signed_branch_validates_from_the_trust_anchor)
{
	ldns_rr_list *org = org_keys();
	const char *zones[] = {"secure.org.", "nsec3.org.", "rsa.org."};

	for (size_t i = 0; i < 3; i++) {
		char www[64];
		ldns_rr_list *keys;
		ldns_status why;
		ldns_pkt *p;
		snprintf(www, sizeof(www), "www.%s", zones[i]);
		keys = child_keys(org, zones[i], www, &why);
		cr_assert_not_null(keys, "%s: %s", zones[i], ldns_get_errorstr_by_id(why));
		p = ask("127.53.2.8", www, LDNS_RR_TYPE_A, VG_LAB_DO);
		cr_assert_eq(verify_rrset(p, LDNS_SECTION_ANSWER, www, LDNS_RR_TYPE_A, keys),
			     LDNS_STATUS_OK, "%s A does not verify", www);
		ldns_pkt_free(p);
		ldns_rr_list_deep_free(keys);
	}
	ldns_rr_list_deep_free(org);
}

Test(lab, signed_zones_prove_nonexistence)
{
	ldns_pkt *p = ask("127.53.2.8", "nx.secure.org.", LDNS_RR_TYPE_A, VG_LAB_DO);

	assert_rcode(p, LDNS_RCODE_NXDOMAIN);
	cr_assert_gt(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC), 0);
	ldns_pkt_free(p);
	p = ask("127.53.2.8", "nx.nsec3.org.", LDNS_RR_TYPE_A, VG_LAB_DO);
	assert_rcode(p, LDNS_RCODE_NXDOMAIN);
	cr_assert_gt(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC3), 0);
	ldns_pkt_free(p);
	/* Insecure delegations from signed parents: no DS, an NSEC proves it. */
	p = ask("127.53.1.4", "www.example.org.", LDNS_RR_TYPE_A, VG_LAB_DO);
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_DS), 0);
	cr_assert_gt(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC), 0);
	ldns_pkt_free(p);
	p = ask("127.53.0.1", "www.example.com.", LDNS_RR_TYPE_A, VG_LAB_DO);
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_DS), 0);
	cr_assert_gt(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC), 0);
	ldns_pkt_free(p);
}

Test(lab, bogus_zones_fail_validation_as_designed)
{
	ldns_rr_list *org = org_keys();
	ldns_status why;
	ldns_rr_list *keys = child_keys(org, "bogus.org.", "www.bogus.org.", &why);
	ldns_pkt *p;

	/* bogus.org.: keys fine, www's A was edited after signing. */
	cr_assert_not_null(keys);
	p = ask("127.53.2.8", "www.bogus.org.", LDNS_RR_TYPE_A, VG_LAB_DO);
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "www.bogus.org.", LDNS_RR_TYPE_A, "192.0.2.66"));
	cr_assert_neq(verify_rrset(p, LDNS_SECTION_ANSWER, "www.bogus.org.", LDNS_RR_TYPE_A, keys),
		      LDNS_STATUS_OK, "www.bogus.org. A must not verify");
	ldns_pkt_free(p);
	p = ask("127.53.2.8", "txt.bogus.org.", LDNS_RR_TYPE_TXT, VG_LAB_DO);
	cr_assert_eq(verify_rrset(p, LDNS_SECTION_ANSWER, "txt.bogus.org.", LDNS_RR_TYPE_TXT, keys),
		     LDNS_STATUS_OK, "the rest of bogus.org. is valid");
	ldns_pkt_free(p);
	ldns_rr_list_deep_free(keys);

	/* badds.org.: no DNSKEY matches the DS in org. */
	cr_assert_null(child_keys(org, "badds.org.", "www.badds.org.", &why));
	cr_assert_eq(why, LDNS_STATUS_CRYPTO_NO_MATCHING_KEYTAG_DNSKEY, "badds.org.: %s",
		     ldns_get_errorstr_by_id(why));

	/* expired.org.: chain fine, signatures expired. */
	keys = child_keys(org, "expired.org.", "www.expired.org.", &why);
	cr_assert_null(keys, "expired.org. DNSKEY self-signature must be expired");
	cr_assert_eq(why, LDNS_STATUS_CRYPTO_SIG_EXPIRED, "expired.org.: %s",
		     ldns_get_errorstr_by_id(why));
	ldns_rr_list_deep_free(org);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(lab, signed_zone_files_verify_with_ldns_verify_zone)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "ldns-verify-zone -V 1 %s/zones/secure.org.zone.signed",
		 vg_lab_run_dir());
	cr_assert_eq(run(cmd), 0, "%s failed", cmd);
	snprintf(cmd, sizeof(cmd), "ldns-verify-zone -V 1 %s/zones/root.zone.signed",
		 vg_lab_run_dir());
	cr_assert_eq(run(cmd), 0, "%s failed", cmd);
	snprintf(cmd, sizeof(cmd),
		 "ldns-verify-zone -V 1 %s/zones/bogus.org.zone.signed 2>/dev/null",
		 vg_lab_run_dir());
	cr_assert_neq(run(cmd), 0, "bogus.org. must fail ldns-verify-zone");
}

static const char *const fault_modes[] = {
    "ok",  "silent",  "slow",	"tc",	   "garbage", "wrongid", "wrongq", "wrongport",
    "oob", "refloop", "upward", "formerr", "nxns",    "case",	 "twice",  "slow9"};

Test(lab, faults_net_delegates_every_mode_to_its_faultd)
{
	for (size_t i = 0; i < sizeof(fault_modes) / sizeof(fault_modes[0]); i++) {
		char q[64], zone[48], ns[64], addr[20];
		ldns_pkt *p;
		snprintf(q, sizeof(q), "www.%s.faults.net.", fault_modes[i]);
		snprintf(zone, sizeof(zone), "%s.faults.net.", fault_modes[i]);
		snprintf(ns, sizeof(ns), "ns.%s.faults.net.", fault_modes[i]);
		snprintf(addr, sizeof(addr), "127.53.9.%zu", i < 10 ? i + 1 : i + 2);
		p = ask("127.53.2.11", q, LDNS_RR_TYPE_A, 0);
		cr_assert(vg_lab_has(p, LDNS_SECTION_AUTHORITY, zone, LDNS_RR_TYPE_NS, ns),
			  "faults.net. does not delegate %s", zone);
		cr_assert(vg_lab_has(p, LDNS_SECTION_ADDITIONAL, ns, LDNS_RR_TYPE_A, addr),
			  "glue of %s is not %s", ns, addr);
		ldns_pkt_free(p);
	}
}

Test(lab, fault_servers_run_in_their_modes)
{
	ldns_pkt *p = NULL;

	assert_answer("127.53.9.1", "www.ok.faults.net.", LDNS_RR_TYPE_A, "192.0.2.53");
	cr_assert_eq(
	    vg_lab_query_udp("127.53.9.2", "www.silent.faults.net.", LDNS_RR_TYPE_A, 0, 300, &p),
	    -ETIMEDOUT);
	p = ask("127.53.9.4", "www.tc.faults.net.", LDNS_RR_TYPE_A, 0);
	cr_assert(ldns_pkt_tc(p));
	ldns_pkt_free(p);
	p = ask("127.53.9.1", "tc.ok.faults.net.", LDNS_RR_TYPE_A, 0);
	cr_assert(ldns_pkt_tc(p), "127.53.9.1 runs label mode: tc.ok.faults.net. is truncated");
	ldns_pkt_free(p);
	p = ask("127.53.9.10", "www.refloop.faults.net.", LDNS_RR_TYPE_A, 0);
	cr_assert(vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns2.refloop.faults.net.", LDNS_RR_TYPE_A,
			     "127.53.9.11"));
	ldns_pkt_free(p);
	p = ask("127.53.9.11", "www.refloop.faults.net.", LDNS_RR_TYPE_A, 0);
	cr_assert(vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns.refloop.faults.net.", LDNS_RR_TYPE_A,
			     "127.53.9.10"));
	ldns_pkt_free(p);
	p = ask("127.53.9.13", "www.formerr.faults.net.", LDNS_RR_TYPE_A, VG_LAB_EDNS);
	assert_rcode(p, LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
	p = ask("127.53.9.14", "www.nxns.faults.net.", LDNS_RR_TYPE_A, 0);
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NS), 40);
	ldns_pkt_free(p);
}

Test(lab, a_second_lab_on_taken_ports_fails_cleanly)
{
	char cmd[2048], dir[] = "/tmp/vg-lab2-XXXXXX", out[4096] = "";
	FILE *f;
	size_t n;
	int st;

	/* No direct `lab.sh up` of the shared lab here: a lab started outside the helper's
	 * reference count would be nobody's to stop (test_updown checks idempotence). */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "VIGIL_LAB_DIR=%s bash %s up 2>&1", dir, VG_LAB_SH_PATH);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	st = pclose(f);
	snprintf(cmd, sizeof(cmd), "VIGIL_LAB_DIR=%s bash %s status | grep -c 'up (pid'", dir,
		 VG_LAB_SH_PATH);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	{
		char cnt[64] = "";
		size_t k = fread(cnt, 1, sizeof(cnt) - 1, f);
		cnt[k] = '\0';
		pclose(f);
		/* Whatever happened, never leave a second lab behind. */
		snprintf(cmd, sizeof(cmd), "VIGIL_LAB_DIR=%s bash %s down >/dev/null; rm -rf %s",
			 dir, VG_LAB_SH_PATH, dir);
		run(cmd);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "up on taken ports must fail: %s",
			  out);
		cr_assert_not_null(strstr(out, "127.53.0.1 port 53 is taken"), "message: %s", out);
		cr_assert_eq(atoi(cnt), 0, "the failed lab must have started nothing");
	}
	/* The real lab is untouched. */
	assert_answer("127.53.0.1", ".", LDNS_RR_TYPE_SOA, NULL);
}
