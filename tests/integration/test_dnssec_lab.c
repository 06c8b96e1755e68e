/* The validator core (resolver/dnssec.c, anchor.c) against the lab's real signed zones
 * (docs/lab.md, signed by ldns-signzone): the chain from the lab's root.ds down to each signed
 * zone, the designed failures (bogus, badds, expired) with their EDE, and NSEC/NSEC3 proofs taken
 * from the authorities' own replies. Queries go straight to the lab servers; no vigild. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/arena.h>
#include <vigil/file.h>
#include <vigil/name.h>
#include <vigil/resolver.h>
#include "anchor.h"
#include "dnssec.h"
#include "lab.h"

#define ROOT "127.53.0.1"
#define ORG "127.53.1.4"
#define CHILD "127.53.2.8"

static struct vg_arena A;
static struct vg_validator *V;
static struct vg_dnssec_work W;
static struct vg_dnssec_result R;

/* One lab for the whole binary (lab.h): started by the runner, checked by each test. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	vg_lab_up_for_tests();
}

ReportHook(POST_ALL)(struct criterion_global_stats *st)
{
	(void)st;
	vg_lab_down();
}

static void setup(void)
{
	cr_assert(vg_lab_ready(), "the lab is not up (needs root and nsd)");
	vg_arena_init(&A, 0, 0);
	cr_assert_eq(vg_validator_new(NULL, &V), 0);
}

static void teardown(void)
{
	vg_validator_free(V);
	vg_arena_free(&A);
}

TestSuite(dnssec_lab, .init = setup, .fini = teardown, .timeout = 60);

static ldns_pkt *ask(const char *server, const char *name, ldns_rr_type type)
{
	ldns_pkt *p = NULL;
	int rc = vg_lab_query_udp(server, name, type, VG_LAB_DO, 2000, &p);
	if (rc == 0 && ldns_pkt_tc(p)) {
		ldns_pkt_free(p);
		p = NULL;
		rc = vg_lab_query_tcp(server, name, type, VG_LAB_DO, 2000, &p);
	}
	cr_assert_eq(rc, 0, "%s %s @%s: %d", name, ldns_rr_type2str(type), server, rc);
	return p;
}

static struct vg_rdata_ref rdata_of(const ldns_rr *r)
{
	ldns_buffer *b = ldns_buffer_new(1024);
	cr_assert_eq(ldns_rr_rdata2buffer_wire(b, r), LDNS_STATUS_OK);
	struct vg_rdata_ref ref = {
	    vg_arena_memdup(&A, ldns_buffer_begin(b), ldns_buffer_position(b)),
	    (uint16_t)ldns_buffer_position(b)};
	ldns_buffer_free(b);
	return ref;
}

/* The RRset (owner, type) of one section with the RRSIGs covering it, as the validator reads
 * it. */
static struct vg_rrset_view *set_of(const ldns_pkt *p, ldns_pkt_section sec, const ldns_rdf *owner,
				    ldns_rr_type type)
{
	ldns_rr_list *l = ldns_pkt_get_section_clone(p, sec);
	struct vg_rrset_view *v = vg_arena_zalloc(&A, sizeof(*v));
	struct vg_rdata_ref *rd = vg_arena_zalloc(&A, 64 * sizeof(*rd));
	struct vg_rdata_ref *sg = vg_arena_zalloc(&A, 16 * sizeof(*sg));
	v->owner = vg_arena_memdup(&A, ldns_rdf_data(owner), ldns_rdf_size(owner));
	v->type = (uint16_t)type;
	v->rclass = 1;
	v->rd = rd;
	v->sig = sg;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *r = ldns_rr_list_rr(l, i);
		if (ldns_dname_compare(ldns_rr_owner(r), owner) != 0)
			continue;
		if (ldns_rr_get_type(r) == type && v->n_rd < 64) {
			v->ttl = ldns_rr_ttl(r);
			rd[v->n_rd++] = rdata_of(r);
		} else if (ldns_rr_get_type(r) == LDNS_RR_TYPE_RRSIG &&
			   ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(r)) == type &&
			   v->n_sig < 16) {
			sg[v->n_sig++] = rdata_of(r);
		}
	}
	ldns_rr_list_deep_free(l);
	return v;
}

static struct vg_rrset_view *set_named(const ldns_pkt *p, ldns_pkt_section sec, const char *owner,
				       ldns_rr_type type)
{
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	struct vg_rrset_view *v = set_of(p, sec, o, type);
	ldns_rdf_deep_free(o);
	return v;
}

/* Every NSEC/NSEC3 RRset of the authority section, each verified with `keys` first. */
static struct vg_rrset_view *proof_of(const ldns_pkt *p, const struct vg_rrset_view *keys,
				      size_t *n)
{
	struct vg_rrset_view *out = vg_arena_zalloc(&A, 16 * sizeof(*out));
	ldns_rr_list *l = ldns_pkt_authority(p);
	*n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && *n < 16; i++) {
		const ldns_rr *r = ldns_rr_list_rr(l, i);
		ldns_rr_type t = ldns_rr_get_type(r);
		if (t != LDNS_RR_TYPE_NSEC && t != LDNS_RR_TYPE_NSEC3)
			continue;
		struct vg_rrset_view *v = set_of(p, LDNS_SECTION_AUTHORITY, ldns_rr_owner(r), t);
		vg_dnssec_verify_rrset(V, &W, v, keys, &R);
		cr_assert_eq(R.status, VG_DNSSEC_SECURE, "proof record does not verify: %s", R.why);
		out[(*n)++] = *v;
	}
	cr_assert_gt(*n, 0, "no NSEC/NSEC3 in the reply");
	return out;
}

static const uint8_t *w(const char *text)
{
	uint8_t buf[VG_NAME_MAX];
	int n = vg_name_from_text(text, buf);
	cr_assert_gt(n, 0);
	return vg_arena_memdup(&A, buf, (size_t)n);
}

/* The DNSKEY RRset of `zone` from `server`, validated with the DS RRset `ds`. */
static struct vg_rrset_view *keys_of(const char *server, const char *zone,
				     const struct vg_rrset_view *ds, enum vg_dnssec_status want,
				     uint16_t want_ede)
{
	ldns_pkt *p = ask(server, zone, LDNS_RR_TYPE_DNSKEY);
	struct vg_rrset_view *k = set_named(p, LDNS_SECTION_ANSWER, zone, LDNS_RR_TYPE_DNSKEY);
	ldns_pkt_free(p);
	vg_dnssec_verify_dnskey_ds(V, &W, k, ds, &R);
	cr_assert_eq(R.status, want, "%s DNSKEY: %s (%s)", zone, vg_dnssec_status_name(R.status),
		     R.why);
	cr_assert_eq(R.ede, want_ede, "%s DNSKEY: EDE %u", zone, R.ede);
	return k;
}

/* The DS RRset of `child` from the parent's server, verified with the parent's keys. */
static struct vg_rrset_view *ds_of(const char *server, const char *child,
				   const struct vg_rrset_view *parent_keys)
{
	ldns_pkt *p = ask(server, child, LDNS_RR_TYPE_DS);
	struct vg_rrset_view *ds = set_named(p, LDNS_SECTION_ANSWER, child, LDNS_RR_TYPE_DS);
	ldns_pkt_free(p);
	cr_assert_gt(ds->n_rd, 0, "%s has no DS", child);
	vg_dnssec_verify_rrset(V, &W, ds, parent_keys, &R);
	cr_assert_eq(R.status, VG_DNSSEC_SECURE, "%s DS: %s", child, R.why);
	return ds;
}

static struct vg_rrset_view *org_keys(void)
{
	struct vg_anchors *an;
	char *text, err[256];
	size_t len;
	cr_assert_eq(vg_file_read(vg_lab_trust_anchor(), 1 << 20, &text, &len), 0);
	cr_assert_eq(vg_anchors_new(&an), 0);
	cr_assert_eq(vg_anchors_add_text(an, vg_lab_trust_anchor(), text, err, sizeof(err)), 0,
		     "%s", err);
	free(text);
	const struct vg_anchor_point *pt = vg_anchors_lookup(an, w("www.secure.org."));
	cr_assert_not_null(pt);
	struct vg_rrset_view *root = keys_of(ROOT, ".", &pt->ds, VG_DNSSEC_SECURE, VG_EDE_NONE);
	vg_anchors_free(an);
	struct vg_rrset_view *ds = ds_of(ROOT, "org.", root);
	return keys_of(ORG, "org.", ds, VG_DNSSEC_SECURE, VG_EDE_NONE);
}

static struct vg_rrset_view *zone_keys(const struct vg_rrset_view *org, const char *zone)
{
	return keys_of(CHILD, zone, ds_of(ORG, zone, org), VG_DNSSEC_SECURE, VG_EDE_NONE);
}

static void answer_is(const struct vg_rrset_view *keys, const char *name, ldns_rr_type type,
		      enum vg_dnssec_status want, uint16_t ede)
{
	ldns_pkt *p = ask(CHILD, name, type);
	struct vg_rrset_view *s = set_named(p, LDNS_SECTION_ANSWER, name, type);
	ldns_pkt_free(p);
	cr_assert_gt(s->n_rd, 0, "%s: empty answer", name);
	vg_dnssec_verify_rrset(V, &W, s, keys, &R);
	cr_assert_eq(R.status, want, "%s: %s (%s)", name, vg_dnssec_status_name(R.status), R.why);
	cr_assert_eq(R.ede, ede, "%s: EDE %u", name, R.ede);
}

Test(dnssec_lab, chain_from_the_lab_anchor_to_each_signed_zone)
{
	struct vg_rrset_view *org = org_keys();
	static const char *zones[] = {"secure.org.", "nsec3.org.", "rsa.org."};
	for (int i = 0; i < 3; i++) {
		char www[64];
		snprintf(www, sizeof(www), "www.%s", zones[i]);
		memset(&W, 0, sizeof(W)); /* one request per name */
		struct vg_rrset_view *k = zone_keys(org, zones[i]);
		answer_is(k, www, LDNS_RR_TYPE_A, VG_DNSSEC_SECURE, VG_EDE_NONE);
		answer_is(k, www, LDNS_RR_TYPE_AAAA, VG_DNSSEC_SECURE, VG_EDE_NONE);
		cr_assert_gt(R.ttl, 0);
	}
}

Test(dnssec_lab, designed_failures_have_their_ede)
{
	struct vg_rrset_view *org = org_keys();
	struct vg_rrset_view *k = zone_keys(org, "bogus.org.");
	answer_is(k, "www.bogus.org.", LDNS_RR_TYPE_A, VG_DNSSEC_BOGUS, VG_EDE_DNSSEC_BOGUS);
	answer_is(k, "txt.bogus.org.", LDNS_RR_TYPE_TXT, VG_DNSSEC_SECURE, VG_EDE_NONE);
	keys_of(CHILD, "badds.org.", ds_of(ORG, "badds.org.", org), VG_DNSSEC_BOGUS,
		VG_EDE_DNSKEY_MISSING);
	keys_of(CHILD, "expired.org.", ds_of(ORG, "expired.org.", org), VG_DNSSEC_BOGUS,
		VG_EDE_SIGNATURE_EXPIRED);
}

static void denial(const struct vg_rrset_view *keys, const char *zone, const char *name,
		   ldns_rr_type type, int kind)
{
	ldns_pkt *p = ask(CHILD, name, type);
	size_t n;
	struct vg_rrset_view *proof = proof_of(p, keys, &n);
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
	if (kind == 0) {
		cr_assert_eq(rc, LDNS_RCODE_NXDOMAIN, "%s", name);
		vg_dnssec_prove_nxdomain(V, &W, w(zone), w(name), proof, n, &R);
	} else if (kind == 1) {
		cr_assert_eq(rc, LDNS_RCODE_NOERROR, "%s", name);
		vg_dnssec_prove_nodata(V, &W, w(zone), w(name), (uint16_t)type, proof, n, &R);
	} else {
		/* a wildcard answer: its RRSIG labels field says which wildcard */
		struct vg_rrset_view *s = set_named(p, LDNS_SECTION_ANSWER, name, type);
		vg_dnssec_verify_rrset(V, &W, s, keys, &R);
		cr_assert_eq(R.status, VG_DNSSEC_SECURE, "%s: %s", name, R.why);
		uint8_t labels = s->sig[0].data[3];
		cr_assert_lt(labels, vg_name_labels(w(name)));
		vg_dnssec_prove_wildcard(V, &W, w(zone), w(name), labels, proof, n, &R);
	}
	cr_assert_eq(R.status, VG_DNSSEC_SECURE, "%s %s: %s", name, ldns_rr_type2str(type), R.why);
	/* the same records do not prove the opposite */
	if (kind == 0)
		vg_dnssec_prove_nodata(V, &W, w(zone), w(name), (uint16_t)type, proof, n, &R);
	else
		vg_dnssec_prove_nxdomain(V, &W, w(zone), w(name), proof, n, &R);
	cr_assert_neq(R.status, VG_DNSSEC_SECURE, "%s: proves both", name);
	ldns_pkt_free(p);
}

Test(dnssec_lab, nsec_and_nsec3_proofs_from_real_replies)
{
	struct vg_rrset_view *org = org_keys();
	static const char *zones[] = {"secure.org.", "nsec3.org."};
	for (int i = 0; i < 2; i++) {
		char name[96];
		const char *z = zones[i];
		memset(&W, 0, sizeof(W));
		struct vg_rrset_view *k = zone_keys(org, z);
		snprintf(name, sizeof(name), "nx.%s", z);
		denial(k, z, name, LDNS_RR_TYPE_A, 0);
		snprintf(name, sizeof(name), "www.%s", z);
		denial(k, z, name, LDNS_RR_TYPE_TXT, 1);
		snprintf(name, sizeof(name), "wild.%s", z); /* empty non-terminal */
		denial(k, z, name, LDNS_RR_TYPE_A, 1);
		snprintf(name, sizeof(name), "host.wild.%s", z);
		denial(k, z, name, LDNS_RR_TYPE_A, 2);
		denial(k, z, name, LDNS_RR_TYPE_TXT, 1); /* wildcard NODATA */
	}
}

Test(dnssec_lab, insecure_delegation_from_a_signed_parent)
{
	struct vg_rrset_view *org = org_keys();
	ldns_pkt *p = ask(ORG, "www.example.org.", LDNS_RR_TYPE_A);
	size_t n;
	struct vg_rrset_view *proof = proof_of(p, org, &n);
	vg_dnssec_prove_insecure_delegation(V, &W, w("org."), w("example.org."), proof, n, &R);
	cr_assert_eq(R.status, VG_DNSSEC_SECURE, "%s", R.why);
	vg_dnssec_prove_insecure_delegation(V, &W, w("org."), w("secure.org."), proof, n, &R);
	cr_assert_neq(R.status, VG_DNSSEC_SECURE);
	ldns_pkt_free(p);
}
