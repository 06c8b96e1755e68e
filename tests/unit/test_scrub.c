/* Unit tests of the scrubber: bailiwick rules, referral acceptance and reply classification. */
#include <criterion/criterion.h>
#include <ldns/ldns.h>
#include <vigil/cache.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "internal.h"

static struct vg_arena A;
static struct vg_msg M;
static struct vg_verdict V;

static void setup(void)
{
	vg_arena_init(&A, 0, 0);
}

static void teardown(void)
{
	vg_arena_free(&A);
}

TestSuite(scrub, .init = setup, .fini = teardown);

/* Builds a reply to (qname, qtype) with "S|rr text" entries: S = A(nswer), U(thority),
 * D(additional). */
static void reply(const char *qname, ldns_rr_type qt, bool aa, ldns_pkt_rcode rc, const char **rrs)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, aa);
	ldns_pkt_set_rcode(p, rc);
	ldns_rr *q = ldns_rr_new();
	ldns_rr_set_owner(q, ldns_dname_new_frm_str(qname));
	ldns_rr_set_type(q, qt);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	for (; rrs && *rrs; rrs++) {
		ldns_rr *rr = NULL;
		cr_assert_eq(ldns_rr_new_frm_str(&rr, *rrs + 2, 3600, NULL, NULL), LDNS_STATUS_OK,
			     "%s", *rrs);
		ldns_pkt_section s = (*rrs)[0] == 'A'	? LDNS_SECTION_ANSWER
				     : (*rrs)[0] == 'U' ? LDNS_SECTION_AUTHORITY
							: LDNS_SECTION_ADDITIONAL;
		ldns_pkt_push_rr(p, s, rr);
	}
	uint8_t *w = NULL;
	size_t len = 0;
	cr_assert_eq(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
	cr_assert_eq(vg_msg_parse(&A, w, len, &M), 0);
	free(w);
	ldns_pkt_free(p);
}

static void scrub(const char *zone, const char *qname, uint16_t qtype, bool fwd)
{
	uint8_t z[VG_NAME_MAX], q[VG_NAME_MAX];
	vg_name_from_text(zone, z);
	vg_name_from_text(qname, q);
	cr_assert_eq(vg_scrub(&M, z, q, qtype, fwd, &V), 0);
}

/* Is an rr of `type` at `owner` in `section` kept? */
static bool kept(int section, const char *owner, uint16_t type)
{
	uint8_t o[VG_NAME_MAX];
	vg_name_from_text(owner, o);
	for (size_t i = 0; i < M.n_rr; i++)
		if (M.rr[i].section == section && M.rr[i].type == type &&
		    vg_name_eq(M.rr[i].owner, o))
			return !M.rr[i].drop;
	cr_assert_fail("no such record %s/%u", owner, type);
	return false;
}

Test(scrub, accepts_referral_closer_to_qname_with_in_bailiwick_glue)
{
	const char *rrs[] = {"U|example.com. NS ns1.example.com.",
			     "U|example.com. NS ns.other.net.", "D|ns1.example.com. A 192.0.2.1",
			     "D|ns.other.net. A 192.0.2.66", NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, rrs);
	scrub("com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_REFERRAL);
	uint8_t cut[VG_NAME_MAX];
	vg_name_from_text("example.com.", cut);
	cr_assert(vg_name_eq(V.cut, cut));
	cr_assert(kept(VG_SEC_ADDITIONAL, "ns1.example.com.", VG_TYPE_A));
	cr_assert(!kept(VG_SEC_ADDITIONAL, "ns.other.net.", VG_TYPE_A),
		  "glue outside com. dropped");
}

Test(scrub, rejects_referral_outside_the_servers_zone)
{
	const char *rrs[] = {"U|example.net. NS ns1.example.net.", NULL};
	reply("www.example.net.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, rrs);
	scrub("com.", "www.example.net.", VG_TYPE_A, false);
	cr_assert_neq(V.kind, VG_REPLY_REFERRAL);
	cr_assert(!kept(VG_SEC_AUTHORITY, "example.net.", VG_TYPE_NS));
}

Test(scrub, upward_referral_is_lame)
{
	const char *rrs[] = {"U|. NS a.root-servers.net.", "D|a.root-servers.net. A 192.0.2.9",
			     NULL};
	reply("www.upward.net.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, rrs);
	scrub("upward.net.", "www.upward.net.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_LAME);
}

Test(scrub, sideways_referral_to_the_same_zone_is_lame)
{
	const char *rrs[] = {"U|loop.net. NS ns2.loop.net.", "D|ns2.loop.net. A 192.0.2.9", NULL};
	reply("www.loop.net.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, rrs);
	scrub("loop.net.", "www.loop.net.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_LAME);
}

Test(scrub, referral_not_above_the_qname_is_rejected)
{
	const char *rrs[] = {"U|other.com. NS ns1.other.com.", NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, rrs);
	scrub("com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_neq(V.kind, VG_REPLY_REFERRAL);
}

Test(scrub, answer_drops_out_of_bailiwick_records)
{
	const char *rrs[] = {"A|www.oob.net. A 192.0.2.53", "A|www.example.com. A 192.0.2.66",
			     "U|example.com. NS ns.oob.net.", "D|www.example.com. A 192.0.2.66",
			     NULL};
	reply("www.oob.net.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("oob.net.", "www.oob.net.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_ANSWER);
	cr_assert(kept(VG_SEC_ANSWER, "www.oob.net.", VG_TYPE_A));
	cr_assert(!kept(VG_SEC_ANSWER, "www.example.com.", VG_TYPE_A));
	cr_assert(!kept(VG_SEC_AUTHORITY, "example.com.", VG_TYPE_NS));
	cr_assert(!kept(VG_SEC_ADDITIONAL, "www.example.com.", VG_TYPE_A));
	cr_assert_eq(V.dropped, 3);
}

Test(scrub, cname_chain_inside_zone_is_followed_and_outside_is_cut)
{
	const char *rrs[] = {"A|a.example.com. CNAME b.example.com.",
			     "A|b.example.com. CNAME www.other.net.",
			     "A|www.other.net. A 192.0.2.66", NULL};
	reply("a.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("example.com.", "a.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_CNAME);
	cr_assert_eq(V.hops, 2);
	uint8_t t[VG_NAME_MAX];
	vg_name_from_text("www.other.net.", t);
	cr_assert(vg_name_eq(V.target, t));
	cr_assert(!kept(VG_SEC_ANSWER, "www.other.net.", VG_TYPE_A), "not this server's to tell");
}

Test(scrub, cname_loop_inside_one_reply_is_detected)
{
	const char *rrs[] = {"A|a.example.com. CNAME b.example.com.",
			     "A|b.example.com. CNAME a.example.com.", NULL};
	reply("a.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("example.com.", "a.example.com.", VG_TYPE_A, false);
	cr_assert(V.loop);
}

Test(scrub, dname_is_applied_with_our_own_substitution)
{
	const char *rrs[] = {"A|d.example.com. DNAME example.net.",
			     "A|www.d.example.com. CNAME www.evil.org.", NULL};
	reply("www.d.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("example.com.", "www.d.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_CNAME);
	uint8_t t[VG_NAME_MAX];
	vg_name_from_text("www.example.net.", t);
	cr_assert(vg_name_eq(V.target, t));
	cr_assert(!kept(VG_SEC_ANSWER, "www.d.example.com.", VG_TYPE_CNAME),
		  "a synthesized CNAME that disagrees with the DNAME is dropped");
	cr_assert_eq(V.n_synth, 1, "and ours takes its place");
	uint8_t o[VG_NAME_MAX];
	vg_name_from_text("www.d.example.com.", o);
	cr_assert(vg_name_eq(V.synth[0].owner, o));
	cr_assert(vg_name_eq(V.synth[0].target, t));
}

Test(scrub, dname_without_its_cname_gets_one_synthesized)
{
	const char *rrs[] = {"A|d.example.com. DNAME d.example.com.sub.example.com.", NULL};
	reply("www.d.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("example.com.", "www.d.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.n_synth, 1);
	uint8_t t[VG_NAME_MAX];
	vg_name_from_text("www.d.example.com.sub.example.com.", t);
	cr_assert(vg_name_eq(V.synth[0].target, t));
	const char *ok[] = {"A|d.example.com. DNAME example.net.",
			    "A|www.d.example.com. CNAME www.example.net.", NULL};
	reply("www.d.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, ok);
	scrub("example.com.", "www.d.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.n_synth, 0, "the server's own, correct CNAME is used");
	cr_assert(kept(VG_SEC_ANSWER, "www.d.example.com.", VG_TYPE_CNAME));
}

Test(scrub, nxdomain_keeps_the_zone_soa_only)
{
	const char *rrs[] = {"U|example.com. SOA ns. h. 1 2 3 4 300",
			     "U|com. SOA ns. h. 1 2 3 4 300", NULL};
	reply("nx.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NXDOMAIN, rrs);
	scrub("example.com.", "nx.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_NXDOMAIN);
	cr_assert_not_null(V.soa);
	cr_assert(kept(VG_SEC_AUTHORITY, "example.com.", VG_TYPE_SOA));
	cr_assert(!kept(VG_SEC_AUTHORITY, "com.", VG_TYPE_SOA), "SOA above the server's zone");
}

Test(scrub, nodata_is_recognised)
{
	const char *rrs[] = {"U|example.com. SOA ns. h. 1 2 3 4 300", NULL};
	reply("www.example.com.", LDNS_RR_TYPE_TXT, true, LDNS_RCODE_NOERROR, rrs);
	scrub("example.com.", "www.example.com.", VG_TYPE_TXT, false);
	cr_assert_eq(V.kind, VG_REPLY_NODATA);
}

Test(scrub, non_authoritative_empty_reply_is_lame)
{
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, NULL);
	scrub("example.com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_LAME);
}

Test(scrub, error_rcodes_are_classified)
{
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_REFUSED, NULL);
	scrub("example.com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_LAME);
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_SERVFAIL, NULL);
	scrub("example.com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_SERVFAIL);
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_FORMERR, NULL);
	scrub("example.com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_FORMERR);
}

Test(scrub, forwarders_never_supply_delegations)
{
	const char *rrs[] = {"U|example.com. NS ns1.example.com.", "D|ns1.example.com. A 192.0.2.1",
			     NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, rrs);
	scrub(".", "www.example.com.", VG_TYPE_A, true);
	cr_assert_neq(V.kind, VG_REPLY_REFERRAL);
	cr_assert(!kept(VG_SEC_AUTHORITY, "example.com.", VG_TYPE_NS));
}

Test(scrub, forwarded_answer_needs_no_aa)
{
	const char *rrs[] = {"A|www.example.com. A 192.0.2.1", NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, rrs);
	scrub(".", "www.example.com.", VG_TYPE_A, true);
	cr_assert_eq(V.kind, VG_REPLY_ANSWER);
}

Test(scrub, dname_substitution_too_long_fails)
{
	uint8_t name[VG_NAME_MAX], owner[VG_NAME_MAX], target[VG_NAME_MAX], out[256];
	char longname[300] = "";
	for (int i = 0; i < 3; i++)
		strcat(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(longname, "d.example.com.");
	cr_assert_gt(vg_name_from_text(longname, name), 0);
	vg_name_from_text("d.example.com.", owner);
	cr_assert_gt(
	    vg_name_from_text(
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example.net.",
		target),
	    0);
	cr_assert_eq(vg_dname_subst(name, owner, target, out), VG_ELIMIT);
	vg_name_from_text("www.d.example.com.", name);
	vg_name_from_text("example.net.", target);
	cr_assert_eq(vg_dname_subst(name, owner, target, out), 0);
	uint8_t want[VG_NAME_MAX];
	vg_name_from_text("www.example.net.", want);
	cr_assert(vg_name_eq(out, want));
}

Test(scrub, ns_answer_keeps_in_bailiwick_addresses_of_its_names)
{
	const char *rrs[] = {"A|. NS a.root-servers.net.", "D|a.root-servers.net. A 198.41.0.4",
			     "D|unrelated.example. A 192.0.2.66", NULL};
	reply(".", LDNS_RR_TYPE_NS, true, LDNS_RCODE_NOERROR, rrs);
	scrub(".", ".", VG_TYPE_NS, false);
	cr_assert_eq(V.kind, VG_REPLY_ANSWER);
	cr_assert(kept(VG_SEC_ADDITIONAL, "a.root-servers.net.", VG_TYPE_A));
	cr_assert(!kept(VG_SEC_ADDITIONAL, "unrelated.example.", VG_TYPE_A));
}

Test(scrub, finds_the_answer_whatever_the_case_of_the_question)
{
	const char *rrs[] = {"A|www.example.com. A 192.0.2.1", NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("example.com.", "WwW.ExAmPlE.CoM.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_ANSWER);
	cr_assert(kept(VG_SEC_ANSWER, "www.example.com.", VG_TYPE_A));
}

/* ---- the RRsets after the scrubber (resolver/rrset.c) ---- */

static const struct vg_rrset *find_set(const char *owner, uint16_t type)
{
	uint8_t o[VG_NAME_MAX];
	vg_name_from_text(owner, o);
	for (size_t k = 0; k < M.n_rrsets; k++)
		if (M.rrsets[k].type == type && vg_name_eq(M.rrsets[k].owner, o))
			return &M.rrsets[k];
	return NULL;
}

Test(scrub, groups_kept_records_into_rrsets_with_their_rrsigs_and_ranks)
{
	const char *rrs[] = {
	    "A|www.example.com. 300 IN A 192.0.2.1",
	    "A|www.example.com. 300 IN RRSIG A 13 3 300 20991231000000 20200101000000 1 "
	    "example.com. AAAA",
	    "A|www.example.com. 120 IN A 192.0.2.2",
	    "A|www.example.com. 300 IN RRSIG A 13 3 300 20991231000000 20200101000000 2 "
	    "example.com. AAAA",
	    "U|example.com. 3600 IN NS ns1.example.com.",
	    "D|ns1.example.com. 3600 IN A 192.0.2.53",
	    "D|evil.net. 3600 IN A 203.0.113.66",
	    NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("example.com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_eq(vg_rrsets_group(&A, &M, false), 0);

	const struct vg_rrset *a = find_set("www.example.com.", VG_TYPE_A);
	cr_assert_not_null(a);
	cr_assert_eq(a->n_rrs, 2);
	cr_assert_eq(a->n_sigs, 2, "both RRSIGs over the A set are attached to it");
	cr_assert_eq(a->ttl, 120, "the set's TTL is its lowest");
	cr_assert_eq(a->section, VG_SEC_ANSWER);
	cr_assert_eq(a->rank, VG_RANK_AUTH_ANSWER | VG_RANK_ITERATED);
	cr_assert_eq(a->suspect, 0);
	for (unsigned i = 0; i < a->n_sigs; i++)
		cr_assert_eq(a->sigs[i]->rrset, a, "an RRSIG points at the set it covers");
	for (unsigned i = 0; i < a->n_rrs; i++)
		cr_assert_eq(a->rrs[i]->rrset, a);

	cr_assert_null(find_set("example.com.", VG_TYPE_NS), "an answer's authority NS is dropped");
	cr_assert_null(find_set("evil.net.", VG_TYPE_A), "a dropped record makes no set");
	cr_assert_eq(M.n_rrsets, 1);
	for (size_t i = 0; i < M.n_rr; i++)
		if (M.rr[i].drop)
			cr_assert_null(M.rr[i].rrset);
}

Test(scrub, a_referral_groups_ns_ds_and_glue_with_their_ranks)
{
	const char *rrs[] = {
	    "U|example.com. 3600 IN NS ns1.example.com.",
	    "U|example.com. 3600 IN NS ns2.example.com.",
	    "U|example.com. 3600 IN DS 1 13 2 "
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "U|example.com. 3600 IN RRSIG DS 13 2 3600 20991231000000 20200101000000 "
	    "7 com. AAAA",
	    "D|ns1.example.com. 3600 IN A 192.0.2.53",
	    "D|ns2.example.com. 3600 IN A 192.0.2.54",
	    "D|evil.net. 3600 IN A 203.0.113.66",
	    NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, false, LDNS_RCODE_NOERROR, rrs);
	scrub("com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_eq(V.kind, VG_REPLY_REFERRAL);
	cr_assert_eq(vg_rrsets_group(&A, &M, false), 0);
	const struct vg_rrset *ns = find_set("example.com.", VG_TYPE_NS);
	cr_assert_not_null(ns);
	cr_assert_eq(ns->n_rrs, 2);
	cr_assert_eq(ns->n_sigs, 0);
	cr_assert_eq(ns->section, VG_SEC_AUTHORITY);
	cr_assert_eq(ns->rank, VG_RANK_ADDITIONAL | VG_RANK_ITERATED, "a referral is not AA");
	const struct vg_rrset *ds = find_set("example.com.", VG_TYPE_DS);
	cr_assert_not_null(ds);
	cr_assert_eq(ds->n_sigs, 1, "the DS set carries its RRSIG");
	const struct vg_rrset *glue = find_set("ns1.example.com.", VG_TYPE_A);
	cr_assert_not_null(glue);
	cr_assert_eq(glue->rank, VG_RANK_GLUE | VG_RANK_ITERATED);
	cr_assert_eq(glue->section, VG_SEC_ADDITIONAL);
	cr_assert_null(find_set("evil.net.", VG_TYPE_A), "out-of-bailiwick glue makes no set");
	cr_assert_eq(M.n_rrsets, 4);
}

Test(scrub, forwarded_rrsets_rank_below_iterated_data)
{
	const char *rrs[] = {"A|www.example.com. 300 IN A 192.0.2.1", NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("", "www.example.com.", VG_TYPE_A, true);
	cr_assert_eq(vg_rrsets_group(&A, &M, true), 0);
	const struct vg_rrset *a = find_set("www.example.com.", VG_TYPE_A);
	cr_assert_not_null(a);
	cr_assert_eq(a->rank, VG_RANK_NONAUTH_ANSWER, "capped, and not iterated");
}

Test(scrub, removing_a_record_drops_the_sets_signatures)
{
	const char *rrs[] = {
	    "A|www.example.com. 300 IN A 192.0.2.1", "A|www.example.com. 60 IN A 10.0.0.1",
	    "A|www.example.com. 300 IN RRSIG A 13 3 300 20991231000000 20200101000000 1 "
	    "example.com. AAAA",
	    NULL};
	reply("www.example.com.", LDNS_RR_TYPE_A, true, LDNS_RCODE_NOERROR, rrs);
	scrub("example.com.", "www.example.com.", VG_TYPE_A, false);
	cr_assert_eq(vg_rrsets_group(&A, &M, false), 0);
	struct vg_rrset *a = &M.rrsets[0];
	cr_assert_eq(a->n_rrs, 2);
	cr_assert_eq(a->ttl, 60);
	struct vg_rr *sig = a->sigs[0];
	struct vg_rr *gone = a->rrs[1];
	vg_rrset_remove(a, 1);
	cr_assert_eq(a->n_rrs, 1);
	cr_assert_eq(a->n_sigs, 0);
	cr_assert(gone->drop && sig->drop);
	cr_assert_eq(a->ttl, 300, "the TTL follows what is left");
}

Test(scrub, status_of_combined_parts)
{
	cr_assert_eq(vg_sec_combine(VG_SEC_SECURE, VG_SEC_SECURE), VG_SEC_SECURE);
	cr_assert_eq(vg_sec_combine(VG_SEC_SECURE, VG_SEC_INSECURE), VG_SEC_INSECURE);
	cr_assert_eq(vg_sec_combine(VG_SEC_INSECURE, VG_SEC_INDETERMINATE), VG_SEC_INDETERMINATE);
	cr_assert_eq(vg_sec_combine(VG_SEC_BOGUS, VG_SEC_SECURE), VG_SEC_BOGUS);
	cr_assert_eq(vg_sec_combine(VG_SEC_INDETERMINATE, VG_SEC_BOGUS), VG_SEC_BOGUS);
	cr_assert_eq(vg_sec_combine(7, VG_SEC_SECURE), VG_SEC_BOGUS, "unknown: not trusted");
}
