/* DNSSEC validation in vigild end to end: the lab's DNSSEC matrix (docs/lab.md "DNSSEC cases")
 * asked through a validating vigild with the lab's root anchor, the island's anchor and a
 * negative trust anchor; each verdict checked as rcode, AD and EDE against what docs/lab.md
 * expects of vigil. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "itest.h"
#include "lab.h"

static struct itest_vigild V;

static void start_with(const char *extra)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	char conf[2048];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\ntrust-anchor-file: %s\n"
		 "negative-trust-anchor: nta.org.\nquery-local-addresses: yes\ndo-ip6: no\n"
		 "discard-timeout: 0\nrebinding: off\n%s",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), vg_lab_island_anchor(),
		 extra ? extra : "");
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static void setup(void)
{
	start_with(NULL);
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	vg_lab_down();
}

TestSuite(validation, .init = setup, .fini = teardown, .timeout = 240);

enum { NONE = -1 };

/* Asks (name, type) with DO, AD and CD as given and returns the reply, NULL on silence. */
static ldns_pkt *ask_flags(const char *name, ldns_rr_type type, bool do_bit, bool ad, bool cd)
{
	uint8_t q[512], r[65536];
	size_t ql =
	    itest_query(name, type, (uint16_t)(rand() & 0xffff), 1232, do_bit, q, sizeof(q));
	if (cd)
		q[3] |= 0x10;
	if (ad)
		q[3] |= 0x20;
	int n = itest_udp("127.0.0.1", V.port, NULL, q, ql, r, sizeof(r), 12000);
	if (n > 0 && (r[2] & 0x02)) {
		ldns_pkt *p = NULL;
		/* Truncated: the verdict flags are in the header either way. */
		p = itest_parse(r, (size_t)n);
		return p;
	}
	return n > 0 ? itest_parse(r, (size_t)n) : NULL;
}

/* Asks (name, type) with DO (and CD when cd), without AD. */
static ldns_pkt *ask(const char *name, ldns_rr_type type, bool do_bit, bool cd)
{
	return ask_flags(name, type, do_bit, false, cd);
}

struct verdict {
	const char *name;
	ldns_rr_type type;
	ldns_pkt_rcode rcode;
	bool ad;
	int ede; /* NONE: no EDE option */
};

#define SECURE(n, t)                                                                               \
	{                                                                                          \
		n, t, LDNS_RCODE_NOERROR, true, NONE                                               \
	}
#define SECURE_NX(n, t)                                                                            \
	{                                                                                          \
		n, t, LDNS_RCODE_NXDOMAIN, true, NONE                                              \
	}
#define INSECURE(n, t)                                                                             \
	{                                                                                          \
		n, t, LDNS_RCODE_NOERROR, false, NONE                                              \
	}
#define INSECURE_NX(n, t)                                                                          \
	{                                                                                          \
		n, t, LDNS_RCODE_NXDOMAIN, false, NONE                                             \
	}
#define INSECURE_EDE(n, t, e)                                                                      \
	{                                                                                          \
		n, t, LDNS_RCODE_NOERROR, false, e                                                 \
	}
#define INSECURE_NX_EDE(n, t, e)                                                                   \
	{                                                                                          \
		n, t, LDNS_RCODE_NXDOMAIN, false, e                                                \
	}
#define BOGUS(n, t, e)                                                                             \
	{                                                                                          \
		n, t, LDNS_RCODE_SERVFAIL, false, e                                                \
	}

/* The EXTRA-TEXT of an insecure verdict with an RFC 8914 code: the same on a fresh answer and on a
 * repeat from the cache (which keeps only the code). */
static const char *insecure_text(int ede)
{
	switch (ede) {
	case 1:
		return "DS use only unsupported DNSKEY algorithms";
	case 2:
		return "DS use only unsupported digest types";
	case 27:
		return "NSEC3 iterations above nsec3-max-iterations";
	default:
		return NULL;
	}
}

static void check(const struct verdict *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ldns_pkt *p = ask(v[i].name, v[i].type, true, false);
		cr_expect_not_null(p, "%s %s: no answer", v[i].name, ldns_rr_type2str(v[i].type));
		if (!p)
			continue;
		char text[256];
		int ede = itest_ede(p, text, sizeof(text));
		cr_expect_eq(ldns_pkt_get_rcode(p), v[i].rcode, "%s %s: rcode %d, expected %d",
			     v[i].name, ldns_rr_type2str(v[i].type), ldns_pkt_get_rcode(p),
			     v[i].rcode);
		cr_expect_eq(ldns_pkt_ad(p), v[i].ad, "%s %s: AD %d, expected %d", v[i].name,
			     ldns_rr_type2str(v[i].type), ldns_pkt_ad(p), v[i].ad);
		if (v[i].ede != NONE)
			cr_expect_eq(ede, v[i].ede, "%s %s: EDE %d (%s), expected %d", v[i].name,
				     ldns_rr_type2str(v[i].type), ede, text, v[i].ede);
		if (v[i].ede != NONE && v[i].rcode != LDNS_RCODE_SERVFAIL && ede == v[i].ede &&
		    insecure_text(ede))
			cr_expect_str_eq(text, insecure_text(ede), "%s %s: EDE %d text", v[i].name,
					 ldns_rr_type2str(v[i].type), ede);
		else if (v[i].rcode != LDNS_RCODE_SERVFAIL)
			cr_expect_eq(ede, -1, "%s %s: EDE %d (%s) on a good answer", v[i].name,
				     ldns_rr_type2str(v[i].type), ede, text);
		ldns_pkt_free(p);
	}
}

#define CHECK(table) check(table, sizeof(table) / sizeof(table[0]))

Test(validation, secure_zones_of_every_supported_algorithm_and_digest_get_ad)
{
	static const struct verdict t[] = {
	    SECURE("www.secure.org.", LDNS_RR_TYPE_A),
	    SECURE("www.secure.org.", LDNS_RR_TYPE_AAAA),
	    SECURE("www.nsec3.org.", LDNS_RR_TYPE_A),
	    SECURE("www.rsa.org.", LDNS_RR_TYPE_A),
	    SECURE("www.rsasha1.org.", LDNS_RR_TYPE_A),
	    SECURE("www.rsasha1nsec3.org.", LDNS_RR_TYPE_A),
	    SECURE("www.rsasha512.org.", LDNS_RR_TYPE_A),
	    SECURE("www.ecdsa384.org.", LDNS_RR_TYPE_A),
	    SECURE("www.ed25519.org.", LDNS_RR_TYPE_A),
	    SECURE("www.ed448.org.", LDNS_RR_TYPE_A),
	    SECURE("www.dssha1.org.", LDNS_RR_TYPE_A),
	    SECURE("www.dssha384.org.", LDNS_RR_TYPE_A),
	    SECURE("secure.org.", LDNS_RR_TYPE_DNSKEY),
	    SECURE("secure.org.", LDNS_RR_TYPE_DS),
	    SECURE_NX("nx.secure.org.", LDNS_RR_TYPE_A),
	    SECURE_NX("nx.rsasha1nsec3.org.", LDNS_RR_TYPE_A),
	};
	CHECK(t);
}

Test(validation, unsupported_algorithms_and_digests_are_insecure_not_bogus)
{
	static const struct verdict t[] = {
	    /* RFC 8914: EDE 1 Unsupported DNSKEY Algorithm, 2 Unsupported DS Digest Type */
	    INSECURE_EDE("www.rsamd5.org.", LDNS_RR_TYPE_A, 1),
	    INSECURE_EDE("www.unknownalg.org.", LDNS_RR_TYPE_A, 1),
	    INSECURE_EDE("www.gostds.org.", LDNS_RR_TYPE_A, 2),
	    INSECURE_EDE("www.unknownds.org.", LDNS_RR_TYPE_A, 2),
	    INSECURE("www.example.org.", LDNS_RR_TYPE_A), /* unsigned child of signed org. */
	    INSECURE("www.example.com.", LDNS_RR_TYPE_A), /* unsigned com. under the root */
	};
	CHECK(t);
	/* Again, from the cache: the sets keep the reason, so the EDE comes back with them. */
	CHECK(t);
}

Test(validation, bogus_zones_are_servfail_with_the_ede_of_their_fault)
{
	static const struct verdict t[] = {
	    BOGUS("www.bogus.org.", LDNS_RR_TYPE_A, 6),
	    BOGUS("www.badds.org.", LDNS_RR_TYPE_A, 9),
	    BOGUS("www.expired.org.", LDNS_RR_TYPE_A, 7),
	    BOGUS("www.future.org.", LDNS_RR_TYPE_A, 8),
	    BOGUS("www.nosig.org.", LDNS_RR_TYPE_A, 10),
	    BOGUS("www.nokey.org.", LDNS_RR_TYPE_A, 9),
	};
	CHECK(t);
	/* The rest of bogus.org. is signed right: only the one RRset is bogus. */
	static const struct verdict ok[] = {SECURE("txt.bogus.org.", LDNS_RR_TYPE_TXT)};
	CHECK(ok);
}

Test(validation, nsec_and_nsec3_denials_wildcards_and_insecure_delegations)
{
	static const struct verdict t[] = {
	    /* NSEC */
	    SECURE("www.denial.org.", LDNS_RR_TYPE_TXT),
	    SECURE("a.wild.denial.org.", LDNS_RR_TYPE_A),
	    SECURE("b.c.wild.denial.org.", LDNS_RR_TYPE_TXT),
	    SECURE("a.wild.denial.org.", LDNS_RR_TYPE_AAAA),
	    SECURE("ent.denial.org.", LDNS_RR_TYPE_A),
	    SECURE("nodata.denial.org.", LDNS_RR_TYPE_A),
	    SECURE_NX("nx.denial.org.", LDNS_RR_TYPE_A),
	    SECURE("tosigned.denial.org.", LDNS_RR_TYPE_A),
	    INSECURE("tounsigned.denial.org.", LDNS_RR_TYPE_A),
	    SECURE("unsigned.denial.org.", LDNS_RR_TYPE_DS),
	    INSECURE("www.unsigned.denial.org.", LDNS_RR_TYPE_A),
	    /* NSEC3 */
	    SECURE("www.denial3.org.", LDNS_RR_TYPE_TXT),
	    SECURE("a.wild.denial3.org.", LDNS_RR_TYPE_A),
	    SECURE("a.wild.denial3.org.", LDNS_RR_TYPE_AAAA),
	    SECURE("ent.denial3.org.", LDNS_RR_TYPE_A),
	    SECURE_NX("nx.denial3.org.", LDNS_RR_TYPE_A),
	    SECURE("unsigned.denial3.org.", LDNS_RR_TYPE_DS),
	    INSECURE("www.unsigned.denial3.org.", LDNS_RR_TYPE_A),
	    /* NSEC3 opt-out: denials that lean on an opt-out span are insecure */
	    SECURE("www.optout.org.", LDNS_RR_TYPE_A),
	    SECURE("www.optout.org.", LDNS_RR_TYPE_TXT),
	    INSECURE("a.wild.optout.org.", LDNS_RR_TYPE_A),
	    INSECURE_NX("nx.optout.org.", LDNS_RR_TYPE_A),
	    INSECURE("www.unsigned.optout.org.", LDNS_RR_TYPE_A),
	    /* NSEC3 iterations (RFC 9276): over the limit is insecure */
	    SECURE_NX("nx.nsec3salt.org.", LDNS_RR_TYPE_A),
	    INSECURE_NX_EDE("nx.nsec3iter51.org.", LDNS_RR_TYPE_A, 27),
	    INSECURE_NX_EDE("nx.nsec3iter500.org.", LDNS_RR_TYPE_A, 27),
	};
	CHECK(t);
	/* Again, from the cache: the negative entries keep the reason and its EDE. */
	static const struct verdict again[] = {
	    INSECURE_NX_EDE("nx.nsec3iter51.org.", LDNS_RR_TYPE_A, 27),
	    INSECURE_NX_EDE("nx.nsec3iter500.org.", LDNS_RR_TYPE_A, 27),
	};
	CHECK(again);
}

Test(validation, an_island_anchor_and_a_negative_trust_anchor)
{
	static const struct verdict t[] = {
	    SECURE("www.island.com.", LDNS_RR_TYPE_A),
	    INSECURE("www.nta.org.", LDNS_RR_TYPE_A),
	};
	CHECK(t);
}

Test(validation, ad_only_for_do_clients_and_cd_gets_bogus_data_unchecked)
{
	ldns_pkt *p = ask("www.secure.org.", LDNS_RR_TYPE_A, false, false);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect_not(ldns_pkt_ad(p), "no AD for a client without DO");
	ldns_pkt_free(p);
	p = ask("www.bogus.org.", LDNS_RR_TYPE_A, true, true);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "CD=1: the data, unchecked");
	cr_expect_not(ldns_pkt_ad(p), "never AD with CD=1");
	cr_expect_eq(ldns_pkt_ancount(p), 2, "the A and its RRSIG");
	ldns_pkt_free(p);
	/* And the bogus data did not make it into the cache for everyone else. */
	p = ask("www.bogus.org.", LDNS_RR_TYPE_A, true, false);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	ldns_pkt_free(p);
}

Test(validation, secure_answers_keep_ad_from_the_cache)
{
	for (int round = 0; round < 2; round++) {
		static const struct verdict t[] = {
		    SECURE("www.ed25519.org.", LDNS_RR_TYPE_A),
		    SECURE_NX("nx.denial.org.", LDNS_RR_TYPE_A),
		    BOGUS("www.expired.org.", LDNS_RR_TYPE_A, 7),
		};
		CHECK(t);
	}
}

Test(validation, keytrap_zone_is_servfail_within_the_work_caps)
{
	/* 32 keys with one tag and up to 32 signatures per RRset (docs/lab.md keytrap.org.): the
	 * caps on keys per tag, RRSIGs per RRset and verifications per request stop the work; the
	 * answer is SERVFAIL with an EDE, and the resolver still answers others. */
	const char *names[] = {"www.keytrap.org.", "bad.keytrap.org.", "one.keytrap.org."};
	for (size_t i = 0; i < 3; i++) {
		ldns_pkt *p = ask(names[i], LDNS_RR_TYPE_A, true, false);
		cr_assert_not_null(p, "%s: no answer", names[i]);
		char text[256];
		cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL, "%s", names[i]);
		cr_expect_geq(itest_ede(p, text, sizeof(text)), 0, "%s: SERVFAIL with an EDE",
			      names[i]);
		ldns_pkt_free(p);
	}
	static const struct verdict t[] = {SECURE("www.secure.org.", LDNS_RR_TYPE_A)};
	CHECK(t);
}

Test(validation, dnssec_no_turns_validation_off, .init = NULL)
{
	start_with("dnssec: no\n");
	static const struct verdict t[] = {
	    INSECURE("www.secure.org.", LDNS_RR_TYPE_A),
	    INSECURE("www.bogus.org.", LDNS_RR_TYPE_A),
	};
	CHECK(t);
}

/* Authority records of p of `type` (RRSIGs: those covering `covered`, 0 for any). */
static size_t auth_count(const ldns_pkt *p, ldns_rr_type type, ldns_rr_type covered)
{
	size_t n = 0;
	const ldns_rr_list *l = ldns_pkt_authority(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) != type)
			continue;
		if (covered && ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) != covered)
			continue;
		n++;
	}
	return n;
}

Test(validation, negative_answers_carry_their_proof_for_do_clients)
{
	/* RFC 4035 3.1.3: the SOA's RRSIG and the NSEC/NSEC3 records with their RRSIGs, fresh,
	 * from the answer cache, and from the negative entry of the rrset cache (the DO=0 answer
	 * is asked first, so the DO=1 one is built from the entry, not the stored wire). */
	const struct {
		const char *name;
		ldns_rr_type type, denial;
		ldns_pkt_rcode rcode;
		bool do_first;
	} t[] = {
	    {"nx.denial.org.", LDNS_RR_TYPE_A, LDNS_RR_TYPE_NSEC, LDNS_RCODE_NXDOMAIN, true},
	    {"nodata.denial.org.", LDNS_RR_TYPE_A, LDNS_RR_TYPE_NSEC, LDNS_RCODE_NOERROR, true},
	    {"nx.denial3.org.", LDNS_RR_TYPE_A, LDNS_RR_TYPE_NSEC3, LDNS_RCODE_NXDOMAIN, false},
	    {"nodata.denial3.org.", LDNS_RR_TYPE_A, LDNS_RR_TYPE_NSEC3, LDNS_RCODE_NOERROR, false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (int round = 0; round < 3; round++) {
			bool do_bit = t[i].do_first ? round != 1 : round != 0;
			ldns_pkt *p = ask(t[i].name, t[i].type, do_bit, false);
			cr_assert_not_null(p, "%s: no answer", t[i].name);
			cr_expect_eq(ldns_pkt_get_rcode(p), t[i].rcode, "%s round %d", t[i].name,
				     round);
			cr_expect_eq(ldns_pkt_ad(p), do_bit, "%s round %d: AD", t[i].name, round);
			cr_expect_eq(auth_count(p, LDNS_RR_TYPE_SOA, 0), 1, "%s: SOA", t[i].name);
			size_t sig_soa = auth_count(p, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_SOA);
			size_t denial = auth_count(p, t[i].denial, 0);
			size_t sig_denial = auth_count(p, LDNS_RR_TYPE_RRSIG, t[i].denial);
			if (do_bit) {
				cr_expect_geq(sig_soa, 1, "%s round %d: SOA RRSIG", t[i].name,
					      round);
				cr_expect_geq(denial, 1, "%s round %d: %s", t[i].name, round,
					      ldns_rr_type2str(t[i].denial));
				cr_expect_eq(sig_denial, denial, "%s round %d: proof RRSIGs",
					     t[i].name, round);
			} else {
				cr_expect_eq(sig_soa + denial + sig_denial, 0,
					     "%s round %d: no proof without DO", t[i].name, round);
			}
			ldns_pkt_free(p);
		}
	}
}

Test(validation, ad_without_do_gets_ad_on_secure_answers_and_no_rrsigs)
{
	/* RFC 6840 5.7: AD in the query asks for AD in the reply, DO or not. Asked plain first
	 * (resolved), then with AD (answer cache), then plain again (the cached AD taken off). */
	const struct {
		const char *name;
		ldns_pkt_rcode rcode;
		bool secure;
	} t[] = {
	    {"www.secure.org.", LDNS_RCODE_NOERROR, true},
	    {"nx.denial3.org.", LDNS_RCODE_NXDOMAIN, true},
	    {"www.example.org.", LDNS_RCODE_NOERROR, false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (int round = 0; round < 4; round++) {
			bool ad = round == 1 || round == 3;
			ldns_pkt *p = ask_flags(t[i].name, LDNS_RR_TYPE_A, false, ad, round == 3);
			cr_assert_not_null(p, "%s: no answer", t[i].name);
			cr_expect_eq(ldns_pkt_get_rcode(p), t[i].rcode, "%s round %d", t[i].name,
				     round);
			bool want = ad && t[i].secure && round != 3; /* never AD with CD=1 */
			cr_expect_eq(ldns_pkt_ad(p), want, "%s round %d: AD %d", t[i].name, round,
				     ldns_pkt_ad(p));
			cr_expect_eq(ldns_rr_list_rr_count(ldns_pkt_rr_list_by_type(
					 p, LDNS_RR_TYPE_RRSIG, LDNS_SECTION_ANY_NOQUESTION)),
				     0, "%s round %d: RRSIGs without DO", t[i].name, round);
			ldns_pkt_free(p);
		}
	}
}

Test(validation, a_restart_keeps_security_statuses, .init = NULL)
{
	/* Resolved with the lab up, vigild stopped with SIGTERM and started again on the same
	 * cache-dir with the lab down: whatever is answered now comes from the cache file, so
	 * AD can only come from the statuses stored there (no DNSKEY could be fetched). */
	char dir[128], extra[256];
	snprintf(dir, sizeof(dir), "/tmp/vigil-val-restart-%d", (int)getpid());
	snprintf(extra, sizeof(extra), "cache-dir: %s\n", dir);
	start_with(extra);
	ldns_pkt *p = ask("www.secure.org.", LDNS_RR_TYPE_A, true, false);
	cr_assert_not_null(p);
	cr_expect(ldns_pkt_ad(p));
	ldns_pkt_free(p);
	/* DO=0 first: after the restart the DO=1 answer is built from the rrset cache. */
	p = ask("www.ed25519.org.", LDNS_RR_TYPE_A, false, false);
	cr_assert_not_null(p);
	ldns_pkt_free(p);
	p = ask("nx.denial.org.", LDNS_RR_TYPE_A, true, false);
	cr_assert_not_null(p);
	cr_expect(ldns_pkt_ad(p));
	ldns_pkt_free(p);
	p = ask("www.bogus.org.", LDNS_RR_TYPE_A, true, true); /* CD=1: the bogus data */
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	cr_expect_eq(itest_stop(&V), 0, "vigild did not stop cleanly on SIGTERM");
	vg_lab_down();
	/* Same configuration, lab down. */
	char conf[2048];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\ntrust-anchor-file: %s\n"
		 "negative-trust-anchor: nta.org.\nquery-local-addresses: yes\ndo-ip6: no\n"
		 "discard-timeout: 0\nrebinding: off\n%s",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), vg_lab_island_anchor(), extra);
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start again");
	const char *secure[] = {"www.secure.org.", "www.ed25519.org."};
	for (size_t i = 0; i < 2; i++) {
		p = ask(secure[i], LDNS_RR_TYPE_A, true, false);
		cr_assert_not_null(p, "%s: no answer after the restart", secure[i]);
		cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "%s", secure[i]);
		cr_expect(ldns_pkt_ad(p), "%s: AD from the cache after the restart", secure[i]);
		ldns_pkt_free(p);
	}
	p = ask("nx.denial.org.", LDNS_RR_TYPE_A, true, false);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_expect(ldns_pkt_ad(p), "the NXDOMAIN keeps AD after the restart");
	ldns_pkt_free(p);
	p = ask("www.bogus.org.", LDNS_RR_TYPE_A, true, false);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL, "bogus data is never served");
	cr_expect_eq(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(validation, data_the_walk_fetched_unchecked_is_validated_before_a_client_gets_it)
{
	/* gluesec.com.'s only server is ns1.secure.org., for which com. has no glue: the walk
	 * fetches that address (signed in secure.org.) without validating it. */
	ldns_pkt *p = ask("www.gluesec.com.", LDNS_RR_TYPE_A, true, false);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect_not(ldns_pkt_ad(p), "gluesec.com. is unsigned");
	ldns_pkt_free(p);
	usleep(300 * 1000); /* the cache writer commits in groups of a few ms */
	p = ask("ns1.secure.org.", LDNS_RR_TYPE_A, true, false);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect(ldns_pkt_ad(p), "the NS address is validated when a client asks for it: AD");
	ldns_pkt_free(p);

	/* bogusns.com.'s server name www.bogus.org. has an address whose signature does not
	 * verify (192.0.2.66, where nothing answers): the walk fetched and cached it unchecked. */
	p = ask("www.bogusns.com.", LDNS_RR_TYPE_A, true, false);
	if (p)
		ldns_pkt_free(p);
	usleep(300 * 1000);
	char text[256];
	for (int d = 1; d >= 0; d--) {
		p = ask("www.bogus.org.", LDNS_RR_TYPE_A, d, false);
		cr_assert_not_null(p);
		cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL,
			     "DO=%d: the forged address is never served without CD", d);
		cr_expect_eq(ldns_pkt_ancount(p), 0);
		if (d)
			cr_expect_eq(itest_ede(p, text, sizeof(text)), 6, "EDE 6 (%s)", text);
		ldns_pkt_free(p);
	}
	p = ask("www.bogus.org.", LDNS_RR_TYPE_A, true, true);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "CD=1: the data unchecked");
	cr_expect_not(ldns_pkt_ad(p));
	ldns_pkt_free(p);
}
