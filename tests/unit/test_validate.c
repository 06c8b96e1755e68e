/* The validation step (resolver/validate.c) over a scripted signed Internet: a signed root, org.
 * and two children signed in this process with ldns, the root's DS as the only trust anchor.
 * Checks the verdicts, AD/CD, and which DS and DNSKEY queries the chain of trust costs. */
#include <time.h>
#include "iter_test.h"
#include "keytab.h"

#define ORG "199.19.56.1"
#define SECURE_ORG "192.0.2.201"
#define BOGUS_ORG "192.0.2.202"
#define UNSIGNED_ORG "192.0.2.203"
#define BROKEN_ORG "192.0.2.204"
#define SUB_BROKEN "192.0.2.205"
#define FWD "192.0.2.53"

TestSuite(validate, .init = setup, .fini = teardown, .timeout = 60);

/* Presentation lines handed to the fake servers (which keep the pointers): freed at exit. */
static char *lines[512];
static size_t n_lines;

static const char *keep_line(char *s)
{
	cr_assert_lt(n_lines, sizeof(lines) / sizeof(lines[0]));
	lines[n_lines++] = s;
	return s;
}

static void free_lines(void)
{
	while (n_lines)
		free(lines[--n_lines]);
}

struct zkey {
	ldns_key *k;
	ldns_rr *dnskey;
};

static struct zkey mkkey(const char *zone)
{
	struct zkey z;
	z.k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
	cr_assert_not_null(z.k);
	ldns_key_set_pubkey_owner(z.k, ldns_dname_new_frm_str(zone));
	ldns_key_set_flags(z.k, 257);
	ldns_key_set_inception(z.k, (uint32_t)(time(NULL) - 3600));
	ldns_key_set_expiration(z.k, (uint32_t)(time(NULL) + 86400));
	z.dnskey = ldns_key2rr(z.k);
	ldns_rr_set_ttl(z.dnskey, 3600);
	ldns_key_set_keytag(z.k, ldns_calc_keytag(z.dnskey));
	return z;
}

static void freekey(struct zkey *z)
{
	ldns_key_deep_free(z->k);
	ldns_rr_free(z->dnskey);
}

static void add_rr(struct fake_server *s, const ldns_rr *rr)
{
	char *t = ldns_rr2str(rr);
	t[strcspn(t, "\n")] = 0;
	fake_rr(s, keep_line(t));
}

/* Serves the RRset `text` (one or more lines of one owner and type) on s, signed by z. With
 * `served` the records served are those instead (signed over `text`: a forged answer). */
static void signed_set(struct fake_server *s, struct zkey *z, const char *text, const char *served)
{
	ldns_rr_list *set = ldns_rr_list_new();
	char *copy = strdup(text), *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		ldns_rr *rr = NULL;
		cr_assert_eq(ldns_rr_new_frm_str(&rr, l, 3600, NULL, NULL), LDNS_STATUS_OK, "%s",
			     l);
		ldns_rr_list_push_rr(set, rr);
	}
	free(copy);
	ldns_key_list *kl = ldns_key_list_new();
	ldns_key_list_push_key(kl, z->k);
	ldns_rr_list *sigs = ldns_sign_public(set, kl);
	cr_assert_not_null(sigs);
	ldns_key_list_set_key_count(kl, 0);
	ldns_key_list_free(kl);
	if (served) {
		fake_rr(s, keep_line(strdup(served)));
	} else {
		for (size_t i = 0; i < ldns_rr_list_rr_count(set); i++)
			add_rr(s, ldns_rr_list_rr(set, i));
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++)
		add_rr(s, ldns_rr_list_rr(sigs, i));
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
}

static void dnskey_set(struct fake_server *s, struct zkey *z)
{
	char *t = ldns_rr2str(z->dnskey);
	t[strcspn(t, "\n")] = 0;
	signed_set(s, z, t, NULL);
	free(t);
}

/* The parent's DS for child key z (SHA-256), signed by the parent key p. */
static void ds_set(struct fake_server *s, struct zkey *p, struct zkey *z)
{
	ldns_rr *ds = ldns_key_rr2ds(z->dnskey, LDNS_SHA256);
	ldns_rr_set_ttl(ds, 3600);
	char *t = ldns_rr2str(ds);
	t[strcspn(t, "\n")] = 0;
	signed_set(s, p, t, NULL);
	free(t);
	ldns_rr_free(ds);
}

static struct zkey K_ROOT, K_ORG, K_SECURE, K_BOGUS, K_BROKEN, K_SUB;
static struct fake_server *S_SECURE; /* secure.org.'s server, for tests that add records */
static char anchor[1024];

static void signed_world(void)
{
	/* Replaces iter_test.h's unsigned world with a signed one, on today's wall clock: the
	 * signatures are valid around now, and the cache keeps nothing past their expiry. */
	fake_init(&F);
	F.wall = time(NULL);
	K_ROOT = mkkey(".");
	K_ORG = mkkey("org.");
	K_SECURE = mkkey("secure.org.");
	K_BOGUS = mkkey("bogus.org.");
	K_BROKEN = mkkey("broken.org.");
	K_SUB = mkkey("sub.broken.org.");

	struct fake_server *s = fake_server(&F, ROOT, ".", FAKE_AUTH);
	signed_set(s, &K_ROOT, ". 3600 IN SOA a.root-servers.net. h. 1 7200 3600 1209600 300",
		   NULL);
	signed_set(s, &K_ROOT, ". 518400 IN NS a.root-servers.net.", NULL);
	fake_rr(s, "a.root-servers.net. 518400 IN A " ROOT);
	dnskey_set(s, &K_ROOT);
	fake_rr(s, "org. 172800 IN NS ns.org.");
	fake_rr(s, "ns.org. 172800 IN A " ORG);
	ds_set(s, &K_ROOT, &K_ORG);

	s = fake_server(&F, ORG, "org.", FAKE_AUTH);
	signed_set(s, &K_ORG, SOA("org."), NULL);
	signed_set(s, &K_ORG, "org. 3600 IN NS ns.org.", NULL);
	fake_rr(s, "ns.org. 3600 IN A " ORG);
	dnskey_set(s, &K_ORG);
	fake_rr(s, "secure.org. 3600 IN NS ns.secure.org.");
	fake_rr(s, "ns.secure.org. 3600 IN A " SECURE_ORG);
	ds_set(s, &K_ORG, &K_SECURE);
	fake_rr(s, "bogus.org. 3600 IN NS ns.bogus.org.");
	fake_rr(s, "ns.bogus.org. 3600 IN A " BOGUS_ORG);
	ds_set(s, &K_ORG, &K_BOGUS);
	/* plain.org.: unsigned, the NSEC at the cut proves it (no DS bit) */
	fake_rr(s, "plain.org. 3600 IN NS ns.plain.org.");
	fake_rr(s, "ns.plain.org. 3600 IN A " UNSIGNED_ORG);
	signed_set(s, &K_ORG, "plain.org. 3600 IN NSEC secure.org. NS RRSIG NSEC", NULL);
	/* broken.org's DS is signed with another zone's key: bogus at org, so nothing below
	 * broken.org is worth a DNSKEY query. */
	fake_rr(s, "broken.org. 3600 IN NS ns.broken.org.");
	fake_rr(s, "ns.broken.org. 3600 IN A " BROKEN_ORG);
	ds_set(s, &K_SECURE, &K_BROKEN);

	s = S_SECURE = fake_server(&F, SECURE_ORG, "secure.org.", FAKE_AUTH);
	signed_set(s, &K_SECURE, SOA("secure.org."), NULL);
	signed_set(s, &K_SECURE, "secure.org. 3600 IN NS ns.secure.org.", NULL);
	signed_set(s, &K_SECURE, "ns.secure.org. 3600 IN A " SECURE_ORG, NULL);
	dnskey_set(s, &K_SECURE);
	signed_set(s, &K_SECURE, "www.secure.org. 3600 IN A 192.0.2.10", NULL);
	signed_set(s, &K_SECURE, "alias.secure.org. 3600 IN CNAME www.secure.org.", NULL);
	signed_set(s, &K_SECURE, "dn.secure.org. 3600 IN DNAME secure.org.", NULL);

	s = fake_server(&F, BOGUS_ORG, "bogus.org.", FAKE_AUTH);
	signed_set(s, &K_BOGUS, SOA("bogus.org."), NULL);
	signed_set(s, &K_BOGUS, "bogus.org. 3600 IN NS ns.bogus.org.", NULL);
	signed_set(s, &K_BOGUS, "ns.bogus.org. 3600 IN A " BOGUS_ORG, NULL);
	dnskey_set(s, &K_BOGUS);
	/* signed over .13, served as .66 */
	signed_set(s, &K_BOGUS, "www.bogus.org. 3600 IN A 192.0.2.13",
		   "www.bogus.org. 3600 IN A 192.0.2.66");

	s = fake_server(&F, UNSIGNED_ORG, "plain.org.", FAKE_AUTH);
	fake_rr(s, SOA("plain.org."));
	fake_rr(s, "plain.org. 3600 IN NS ns.plain.org.");
	fake_rr(s, "ns.plain.org. 3600 IN A " UNSIGNED_ORG);
	fake_rr(s, "www.plain.org. 3600 IN A 192.0.2.30");

	s = fake_server(&F, BROKEN_ORG, "broken.org.", FAKE_AUTH);
	signed_set(s, &K_BROKEN, SOA("broken.org."), NULL);
	signed_set(s, &K_BROKEN, "broken.org. 3600 IN NS ns.broken.org.", NULL);
	dnskey_set(s, &K_BROKEN);
	fake_rr(s, "sub.broken.org. 3600 IN NS ns.sub.broken.org.");
	fake_rr(s, "ns.sub.broken.org. 3600 IN A " SUB_BROKEN);
	ds_set(s, &K_BROKEN, &K_SUB);

	s = fake_server(&F, SUB_BROKEN, "sub.broken.org.", FAKE_AUTH);
	signed_set(s, &K_SUB, SOA("sub.broken.org."), NULL);
	signed_set(s, &K_SUB, "sub.broken.org. 3600 IN NS ns.sub.broken.org.", NULL);
	dnskey_set(s, &K_SUB);
	signed_set(s, &K_SUB, "www.sub.broken.org. 3600 IN A 192.0.2.20", NULL);

	ldns_rr *ds = ldns_key_rr2ds(K_ROOT.dnskey, LDNS_SHA256);
	char *t = ldns_rr2str(ds);
	snprintf(anchor, sizeof(anchor), "%s", t);
	free(t);
	ldns_rr_free(ds);
}

static const char *anchor_names[] = {"test-root.ds"};
static const char *anchor_texts[1];

/* Validation on or off, with the signed world's root DS as the one trust anchor. */
static void set_anchor(bool enabled)
{
	anchor_texts[0] = anchor;
	C.dnssec.enabled = enabled;
	C.dnssec.anchor_names = anchor_names;
	C.dnssec.anchor_texts = anchor_texts;
	C.dnssec.n_anchors = 1;
}

static void start_validating(bool enabled)
{
	signed_world();
	set_anchor(enabled);
	start_resolver();
}

static void stop_world(void)
{
	freekey(&K_ROOT);
	freekey(&K_ORG);
	freekey(&K_SECURE);
	freekey(&K_BOGUS);
	freekey(&K_BROKEN);
	freekey(&K_SUB);
	free_lines();
}

static void ask(const char *name, uint16_t type, bool do_bit, bool cd, struct result *res)
{
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text(name, wire);
	cr_assert_gt(n, 0);
	struct vg_question q = {.qname = wire,
				.qname_len = (size_t)n,
				.qtype = type,
				.qclass = 1,
				.rd_bit = true,
				.do_bit = do_bit,
				.cd_bit = cd,
				.has_edns = true};
	memset(res, 0, sizeof(*res));
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, res), 0);
	fake_run(&F, 120000);
	vg_cache_sync(cache);
	cr_assert(res->done, "no answer for %s", name);
}

Test(validate, secure_answer_gets_ad_with_one_dnskey_query_per_zone)
{
	start_validating(true);
	struct result r;
	ask("www.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect(ldns_pkt_ad(r.pkt), "secure: AD");
	cr_expect(
	    has_rr(r.pkt, LDNS_SECTION_ANSWER, "www.secure.org.", LDNS_RR_TYPE_A, "192.0.2.10"));
	cr_expect(has_rr(r.pkt, LDNS_SECTION_ANSWER, "www.secure.org.", LDNS_RR_TYPE_RRSIG, NULL),
		  "DO: the RRSIG comes along");
	free_result(&r);
	/* Each zone's DNSKEY set is asked of its own servers once. */
	cr_expect_eq(fake_count(&F, ROOT, ".", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, ORG, "org.", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, SECURE_ORG, "secure.org.", LDNS_RR_TYPE_DNSKEY), 1);
	/* The DS sets came with the referrals: no DS query. */
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0);
	size_t sent = F.n_log;
	cr_expect_eq(R->stats.dnssec_secure, 1, "one secure answer counted");
	cr_expect_eq(R->stats.dnssec_bogus, 0);

	/* Again, and a CNAME to it: from the cache, still AD, no new query. */
	ask("www.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect(ldns_pkt_ad(r.pkt), "AD from the cache");
	free_result(&r);

	cr_expect_eq(F.n_log, sent, "the chain is not fetched again");
	ask("alias.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect(ldns_pkt_ad(r.pkt), "a secure CNAME to a secure answer: AD");
	free_result(&r);

	/* No DO: no AD (RFC 6840 5.7 would allow it with AD=1; the client did not ask). */
	ask("www.secure.org.", LDNS_RR_TYPE_A, false, false, &r);
	cr_expect_not(ldns_pkt_ad(r.pkt));
	free_result(&r);
	stop_world();
}

Test(validate, forged_answer_is_servfail_with_ede_6_and_not_cached)
{
	start_validating(true);
	struct result r;
	ask("www.bogus.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(r.ede, VG_EDE_DNSSEC_BOGUS, "EDE %u (%s)", r.ede, r.ede_text);
	cr_expect_eq(ldns_pkt_ancount(r.pkt), 0);
	free_result(&r);
	cr_expect_eq(R->stats.dnssec_bogus, 1, "the bogus answer counted");
	cr_expect_eq(R->stats.dnssec_secure, 0);

	/* CD=1: the data unchecked, without AD; and still never cached for a CD=0 client. */
	ask("www.bogus.org.", LDNS_RR_TYPE_A, true, true, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect_not(ldns_pkt_ad(r.pkt));
	cr_expect(
	    has_rr(r.pkt, LDNS_SECTION_ANSWER, "www.bogus.org.", LDNS_RR_TYPE_A, "192.0.2.66"));
	free_result(&r);
	unsigned asked = fake_count(&F, BOGUS_ORG, "www.bogus.org.", LDNS_RR_TYPE_A);
	ask("www.bogus.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(r.ede, VG_EDE_DNSSEC_BOGUS);
	free_result(&r);
	/* Remembered for the bogus TTL: not asked again within 60 s, asked again after. */
	cr_expect_eq(fake_count(&F, BOGUS_ORG, "www.bogus.org.", LDNS_RR_TYPE_A), asked);
	F.wall += 59;
	ask("www.bogus.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(r.ede, VG_EDE_DNSSEC_BOGUS);
	free_result(&r);
	cr_expect_eq(fake_count(&F, BOGUS_ORG, "www.bogus.org.", LDNS_RR_TYPE_A), asked);
	F.wall += 2;
	ask("www.bogus.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&r);
	cr_expect_eq(fake_count(&F, BOGUS_ORG, "www.bogus.org.", LDNS_RR_TYPE_A), asked + 1);
	stop_world();
}

Test(validate, wrong_trust_anchor_makes_everything_bogus)
{
	signed_world();
	/* The anchor of another key for the root: nothing below verifies. */
	struct zkey other = mkkey(".");
	ldns_rr *ds = ldns_key_rr2ds(other.dnskey, LDNS_SHA256);
	char *t = ldns_rr2str(ds);
	snprintf(anchor, sizeof(anchor), "%s", t);
	free(t);
	ldns_rr_free(ds);
	freekey(&other);
	anchor_texts[0] = anchor;
	C.dnssec.enabled = true;
	C.dnssec.anchor_names = anchor_names;
	C.dnssec.anchor_texts = anchor_texts;
	C.dnssec.n_anchors = 1;
	start_resolver();
	struct result r;
	ask("www.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(r.ede, VG_EDE_DNSKEY_MISSING, "EDE %u (%s)", r.ede, r.ede_text);
	free_result(&r);
	stop_world();
}

Test(validate, validation_off_sends_no_dnskey_query_and_sets_no_ad)
{
	start_validating(false);
	struct result r;
	resolve("www.bogus.org.", LDNS_RR_TYPE_A, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect_not(ldns_pkt_ad(r.pkt));
	free_result(&r);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DNSKEY), 0);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0);
	cr_expect_eq(R->stats.dnssec_secure + R->stats.dnssec_insecure +
			 R->stats.dnssec_indeterminate + R->stats.dnssec_bogus,
		     0, "validation off: no outcome counted");
	stop_world();
}

/* Every server answers after `ms`. */
static void delay_all(uint32_t ms)
{
	for (size_t i = 0; i < F.n_servers; i++)
		F.servers[i].delay_ms = ms;
}

/* When the first query for (name, type) was sent; UINT64_MAX if never. */
static uint64_t sent_at(const char *name, uint16_t type)
{
	for (size_t i = 0; i < F.n_log; i++)
		if (!strcasecmp(F.log[i].name, name) && F.log[i].type == type)
			return F.log[i].at;
	return UINT64_MAX;
}

Test(validate, cold_chain_fetches_each_dnskey_beside_the_query_to_its_zone)
{
	start_validating(true);
	delay_all(20);
	uint64_t t0 = F.now;
	struct result r;
	ask("www.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	uint64_t took = F.now - t0;
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect(ldns_pkt_ad(r.pkt), "secure: AD");
	free_result(&r);
	/* Three round trips (root, org, secure.org), where fetching each DNSKEY set after the
	 * answer took six: each set is asked of its zone together with the walk's own query. */
	cr_expect_eq(took, 60, "cold validated answer took %llu ms", (unsigned long long)took);
	cr_expect_eq(sent_at(".", LDNS_RR_TYPE_DNSKEY), t0);
	cr_expect_eq(sent_at("org.", LDNS_RR_TYPE_DNSKEY), t0 + 20);
	cr_expect_eq(sent_at("secure.org.", LDNS_RR_TYPE_DNSKEY), t0 + 40);
	/* The same queries as one after the other: one DNSKEY per zone, no DS, nothing else. */
	cr_expect_eq(fake_count(&F, ROOT, ".", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, ORG, "org.", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, SECURE_ORG, "secure.org.", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DNSKEY), 3);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0);
	cr_expect_eq(fake_count(&F, NULL, NULL, 0), 6, "3 iteration queries and 3 DNSKEY");
	cr_expect_eq(R->stats.dnssec_secure, 1);
	stop_world();
}

Test(validate, no_dnskey_query_below_a_bogus_ds)
{
	start_validating(true);
	delay_all(20);
	struct result r;
	ask("www.sub.broken.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	/* Signed by another zone: no RRSIG of org over it (EDE 10). */
	cr_expect_eq(r.ede, VG_EDE_RRSIGS_MISSING, "EDE %u (%s)", r.ede, r.ede_text);
	free_result(&r);
	/* The chain breaks at broken.org's DS: the walk never asks for the keys below it, and
	 * neither does the fetch ahead (it waits for the DS to be checked). */
	cr_expect_eq(fake_count(&F, NULL, "broken.org.", LDNS_RR_TYPE_DNSKEY), 0);
	cr_expect_eq(fake_count(&F, NULL, "sub.broken.org.", LDNS_RR_TYPE_DNSKEY), 0);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DNSKEY), 2, ". and org.");
	stop_world();
}

Test(validate, dnskey_of_a_zone_reached_from_a_cached_cut_is_asked_of_its_own_servers)
{
	start_validating(true);
	struct result r;
	ask("www.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	free_result(&r);
	delay_all(20);
	/* bogus.org.: the walk starts at org's cut from the cache; bogus.org's DNSKEY set goes
	 * with the query to bogus.org's servers, whose referral the request just followed (the
	 * cache may not show that referral yet: asking org for it would be a wasted query). */
	ask("www.bogus.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&r);
	cr_expect_eq(fake_count(&F, BOGUS_ORG, "bogus.org.", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, NULL, "bogus.org.", LDNS_RR_TYPE_DNSKEY), 1);
	/* org.'s DS came with the first request's root referral: the cache's copy, checked with
	 * the root's keys, serves the walk; no DS query. */
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DNSKEY), 4,
		     "., org., secure.org. "
		     "and bogus.org., each once");
	stop_world();
}

Test(validate, unsigned_cname_synthesized_from_a_signed_dname_is_secure)
{
	start_validating(true);
	struct result r;
	/* The server adds www.dn.secure.org. CNAME www.secure.org. without an RRSIG (RFC 6672
	 * 5.3.3): the signed DNAME vouches for it. */
	ask("www.dn.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR, "EDE %u (%s)", r.ede,
		     r.ede_text);
	cr_expect(ldns_pkt_ad(r.pkt), "DNAME, synthesized CNAME and A all secure: AD");
	cr_expect(has_rr(r.pkt, LDNS_SECTION_ANSWER, "www.dn.secure.org.", LDNS_RR_TYPE_CNAME,
			 "www.secure.org."));
	cr_expect(
	    has_rr(r.pkt, LDNS_SECTION_ANSWER, "www.secure.org.", LDNS_RR_TYPE_A, "192.0.2.10"));
	free_result(&r);
	stop_world();
}

Test(validate, unsigned_delegation_is_proved_from_its_referral_without_a_ds_query)
{
	start_validating(true);
	delay_all(20);
	uint64_t t0 = F.now;
	struct result r;
	ask("www.plain.org.", LDNS_RR_TYPE_A, true, false, &r);
	uint64_t took = F.now - t0;
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR, "EDE %u (%s)", r.ede,
		     r.ede_text);
	cr_expect_not(ldns_pkt_ad(r.pkt), "insecure: no AD");
	cr_expect(
	    has_rr(r.pkt, LDNS_SECTION_ANSWER, "www.plain.org.", LDNS_RR_TYPE_A, "192.0.2.30"));
	free_result(&r);
	/* org.'s referral came before org.'s keys; its NSEC, kept and checked once they came,
	 * proves the delegation unsigned: no DS query after the answer, three round trips. */
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0);
	cr_expect_eq(fake_count(&F, NULL, "plain.org.", LDNS_RR_TYPE_DNSKEY), 0);
	cr_expect_eq(took, 60, "took %llu ms", (unsigned long long)took);
	cr_expect_eq(R->stats.dnssec_insecure, 1);
	stop_world();
}

/* secure.org. with its NSEC chain (TTL 100): secure.org. < alias < ns < www. */
static void start_with_nsec(bool aggressive)
{
	signed_world();
	static const char *chain[] = {
	    "secure.org. 100 IN NSEC alias.secure.org. NS SOA RRSIG NSEC DNSKEY",
	    "alias.secure.org. 100 IN NSEC ns.secure.org. CNAME RRSIG NSEC",
	    "ns.secure.org. 100 IN NSEC www.secure.org. A RRSIG NSEC",
	    "www.secure.org. 100 IN NSEC secure.org. A RRSIG NSEC",
	};
	for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
		signed_set(S_SECURE, &K_SECURE, chain[i], NULL);
	anchor_texts[0] = anchor;
	C.dnssec.enabled = true;
	C.dnssec.anchor_names = anchor_names;
	C.dnssec.anchor_texts = anchor_texts;
	C.dnssec.n_anchors = 1;
	C.dnssec.aggressive_nsec = aggressive;
	start_resolver();
}

/* The TTL of the first record of `type` in the authority section, -1 without one. */
static long auth_ttl(const ldns_pkt *p, ldns_rr_type type)
{
	ldns_rr_list *a = ldns_pkt_authority(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(a, i)) == type)
			return (long)ldns_rr_ttl(ldns_rr_list_rr(a, i));
	return -1;
}

Test(validate, cached_nsec_answers_nxdomain_nodata_and_names_below_without_a_query)
{
	start_with_nsec(true);
	struct result r;
	ask("nx.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert(ldns_pkt_ad(r.pkt), "the denial validated");
	free_result(&r);
	size_t sent = F.n_log;
	cr_assert_eq(R->stats.aggressive_answers, 0);

	/* ns < nz < www: the span of ns's NSEC; the wildcard's, the apex's */
	ask("nz.secure.org.", LDNS_RR_TYPE_TXT, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	cr_expect(ldns_pkt_ad(r.pkt), "a secure proof: AD");
	cr_expect(has_rr(r.pkt, LDNS_SECTION_AUTHORITY, "ns.secure.org.", LDNS_RR_TYPE_NSEC, NULL));
	cr_expect(has_rr(r.pkt, LDNS_SECTION_AUTHORITY, "secure.org.", LDNS_RR_TYPE_NSEC, NULL));
	cr_expect(
	    has_rr(r.pkt, LDNS_SECTION_AUTHORITY, "ns.secure.org.", LDNS_RR_TYPE_RRSIG, NULL));
	/* RFC 8198 5.4 / RFC 9077: no longer than the NSEC records (100 s), not the SOA's 300 */
	cr_expect_eq(auth_ttl(r.pkt, LDNS_RR_TYPE_SOA), 100);
	free_result(&r);
	cr_expect_eq(F.n_log, sent, "no query for a name the cached proof covers");
	cr_expect_eq(R->stats.aggressive_answers, 1);

	/* NODATA: www's NSEC has A only */
	ask("www.secure.org.", LDNS_RR_TYPE_MX, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect_eq(ldns_pkt_ancount(r.pkt), 0);
	cr_expect(ldns_pkt_ad(r.pkt));
	cr_expect(
	    has_rr(r.pkt, LDNS_SECTION_AUTHORITY, "www.secure.org.", LDNS_RR_TYPE_NSEC, NULL));
	free_result(&r);
	/* RFC 8020: below the cached NXDOMAIN */
	ask("a.b.nx.secure.org.", LDNS_RR_TYPE_AAAA, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	cr_expect(ldns_pkt_ad(r.pkt));
	free_result(&r);
	/* no DO: the same rcode, no proof, no AD */
	ask("ny.secure.org.", LDNS_RR_TYPE_A, false, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	cr_expect_not(ldns_pkt_ad(r.pkt));
	cr_expect_not(
	    has_rr(r.pkt, LDNS_SECTION_AUTHORITY, "ns.secure.org.", LDNS_RR_TYPE_NSEC, NULL));
	free_result(&r);
	cr_expect_eq(F.n_log, sent, "none of these went upstream");
	cr_expect_eq(R->stats.aggressive_answers, 4);

	/* A name that exists is not denied: asked (and answered) as usual */
	ask("ns.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	free_result(&r);

	/* The NSEC records live 100 s: past that the proof is gone and the name is asked */
	F.wall += 101;
	sent = F.n_log;
	ask("nw.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	free_result(&r);
	cr_expect_gt(F.n_log, sent, "an expired proof proves nothing");
	cr_expect_eq(R->stats.aggressive_answers, 4);
	stop_world();
}

Test(validate, aggressive_nsec_off_asks_for_every_name)
{
	start_with_nsec(false);
	struct result r;
	ask("nx.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	free_result(&r);
	size_t sent = F.n_log;
	ask("nz.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	cr_expect(ldns_pkt_ad(r.pkt));
	free_result(&r);
	cr_expect_gt(F.n_log, sent);
	sent = F.n_log;
	ask("below.nx.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	free_result(&r);
	cr_expect_gt(F.n_log, sent);
	cr_expect_eq(R->stats.aggressive_answers, 0);
	stop_world();
}

Test(validate, a_warm_chain_is_read_from_the_cache_without_sub_requests)
{
	start_validating(true);
	struct result r;
	ask("www.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	free_result(&r);
	/* Another question of secure.org.: a miss, validated with the keys of ., org. and
	 * secure.org. the cache holds as secure. They are read from the cache directly: no
	 * sub-request per link (each cost about as much as the rest of a miss). */
	uint64_t subs = R->stats.sub_requests;
	size_t sent = F.n_log;
	ask("alias.secure.org.", LDNS_RR_TYPE_CNAME, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR, "EDE %u (%s)", r.ede,
		     r.ede_text);
	cr_expect(ldns_pkt_ad(r.pkt), "secure: AD");
	free_result(&r);
	cr_expect_eq(F.n_log, sent + 1, "one query: the miss itself");
	cr_expect_eq(R->stats.sub_requests, subs, "%llu sub-requests",
		     (unsigned long long)(R->stats.sub_requests - subs));
	stop_world();
}

/* A forwarder (a recursive server) holding what a validating resolver asks it for in the signed
 * world: the answers, and the DS and DNSKEY sets of the chain, with their RRSIGs. */
static void start_forwarding(void)
{
	static struct vg_sockaddr fwd;
	signed_world();
	struct fake_server *s = fake_server(&F, FWD, ".", FAKE_RECURSIVE);
	dnskey_set(s, &K_ROOT);
	ds_set(s, &K_ROOT, &K_ORG);
	dnskey_set(s, &K_ORG);
	ds_set(s, &K_ORG, &K_SECURE);
	dnskey_set(s, &K_SECURE);
	signed_set(s, &K_SECURE, "www.secure.org. 3600 IN A 192.0.2.10", NULL);
	ds_set(s, &K_ORG, &K_BOGUS);
	dnskey_set(s, &K_BOGUS);
	signed_set(s, &K_BOGUS, "www.bogus.org. 3600 IN A 192.0.2.13",
		   "www.bogus.org. 3600 IN A 192.0.2.66");
	cr_assert_eq(vg_sockaddr_parse(FWD, 53, &fwd), 0);
	C.forward = &fwd;
	C.n_forward = 1;
	C.hijack.nxdomain_rewrite = VG_DETECT_OFF;
	set_anchor(true);
	start_resolver();
}

Test(validate, forwarded_answers_are_validated_with_a_chain_asked_of_the_forwarder_with_cd)
{
	start_forwarding();
	struct result r;
	ask("www.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect(ldns_pkt_ad(r.pkt), "secure through the forwarder: AD");
	free_result(&r);
	/* The chain from the anchor to the signer, each set once, all from the forwarder. */
	cr_expect_eq(fake_count(&F, FWD, ".", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, FWD, "org.", LDNS_RR_TYPE_DS), 1);
	cr_expect_eq(fake_count(&F, FWD, "org.", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, FWD, "secure.org.", LDNS_RR_TYPE_DS), 1);
	cr_expect_eq(fake_count(&F, FWD, "secure.org.", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, FWD, NULL, 0), F.n_log, "only the forwarder is asked");
	cr_expect_eq(F.n_log, 6);
	for (size_t i = 0; i < F.n_log; i++)
		cr_expect(F.log[i].cd && F.log[i].rd, "%s/%u without CD or RD", F.log[i].name,
			  F.log[i].type);
	/* bogus.org.: the zone's keys from the cache's org. DS and DNSKEY, the answer bogus */
	ask("www.bogus.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(r.ede, VG_EDE_DNSSEC_BOGUS, "EDE %u (%s)", r.ede, r.ede_text);
	free_result(&r);
	cr_expect_eq(fake_count(&F, FWD, "org.", LDNS_RR_TYPE_DNSKEY), 1, "org.'s keys cached");
	cr_expect_eq(R->stats.dnssec_bogus, 1);
	/* CD=1: the data unchecked, no AD */
	ask("www.bogus.org.", LDNS_RR_TYPE_A, true, true, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect_not(ldns_pkt_ad(r.pkt));
	free_result(&r);
	stop_world();
}

/* ---- data the walk stored unchecked, asked for later ---- */

#define OTHER_ORG "192.0.2.206"

/* other.org.: unsigned (org's NSEC at the cut), served by ns2.secure.org. only, which has no
 * glue: the walk fetches its address from secure.org., unchecked. With `forged`, secure.org.
 * serves that address with a signature made over another one. */
static void add_other(bool forged)
{
	struct fake_server *org = server_of(ORG, "org.");
	signed_set(org, &K_ORG, "other.org. 3600 IN NSEC plain.org. NS RRSIG NSEC", NULL);
	fake_rr(org, "other.org. 3600 IN NS ns2.secure.org.");
	if (forged)
		signed_set(S_SECURE, &K_SECURE, "ns2.secure.org. 3600 IN A 192.0.2.99",
			   "ns2.secure.org. 3600 IN A " OTHER_ORG);
	else
		signed_set(S_SECURE, &K_SECURE, "ns2.secure.org. 3600 IN A " OTHER_ORG, NULL);
	struct fake_server *s = fake_server(&F, OTHER_ORG, "other.org.", FAKE_AUTH);
	fake_rr(s, SOA("other.org."));
	fake_rr(s, "other.org. 3600 IN NS ns2.secure.org.");
	fake_rr(s, "www.other.org. 3600 IN A 192.0.2.40");
}

Test(validate, ns_address_fetched_unchecked_is_validated_when_a_client_asks_for_it)
{
	start_validating(true);
	add_other(false);
	struct result r;
	ask("www.other.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR, "EDE %u (%s)", r.ede,
		     r.ede_text);
	cr_expect_not(ldns_pkt_ad(r.pkt), "other.org. is unsigned");
	free_result(&r);
	cr_assert_eq(fake_count(&F, SECURE_ORG, "ns2.secure.org.", LDNS_RR_TYPE_A), 1,
		     "the walk fetched the NS address");
	cr_expect_eq(fake_count(&F, NULL, "secure.org.", LDNS_RR_TYPE_DNSKEY), 0,
		     "the walk does not validate it");

	/* The client's question: validated from the cache with its stored RRSIG; the chain
	 * lacks only secure.org.'s keys (org.'s DS for it came with the walk's referral). */
	size_t sent = F.n_log;
	ask("ns2.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR, "EDE %u (%s)", r.ede,
		     r.ede_text);
	cr_expect(ldns_pkt_ad(r.pkt), "validated on its way out: AD");
	cr_expect(has_rr(r.pkt, LDNS_SECTION_ANSWER, "ns2.secure.org.", LDNS_RR_TYPE_A, OTHER_ORG));
	free_result(&r);
	cr_expect_eq(fake_count(&F, SECURE_ORG, "ns2.secure.org.", LDNS_RR_TYPE_A), 1,
		     "not asked again");
	cr_expect_eq(fake_count(&F, NULL, "secure.org.", LDNS_RR_TYPE_DNSKEY), 1);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0);
	cr_expect_eq(F.n_log, sent + 1, "one query: the DNSKEY set the chain lacked");

	/* Stored back as secure: no work and no query the next time. */
	sent = F.n_log;
	ask("ns2.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect(ldns_pkt_ad(r.pkt));
	free_result(&r);
	ask("ns2.secure.org.", LDNS_RR_TYPE_A, true, true, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect_not(ldns_pkt_ad(r.pkt), "CD=1: never AD");
	free_result(&r);
	cr_expect_eq(F.n_log, sent);
	stop_world();
}

Test(validate, forged_ns_address_fetched_for_the_walk_is_never_served_without_cd)
{
	start_validating(true);
	add_other(true);
	struct result r;
	/* The walk uses the forged address (it serves other.org., the forger's choice). */
	ask("www.other.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	free_result(&r);
	cr_assert_eq(fake_count(&F, SECURE_ORG, "ns2.secure.org.", LDNS_RR_TYPE_A), 1);

	/* A client without CD: the cached copy fails validation, the authorities are asked
	 * and their answer is bogus: SERVFAIL, not the forged address. */
	ask("ns2.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(r.ede, VG_EDE_DNSSEC_BOGUS, "EDE %u (%s)", r.ede, r.ede_text);
	cr_expect_not(
	    has_rr(r.pkt, LDNS_SECTION_ANSWER, "ns2.secure.org.", LDNS_RR_TYPE_A, OTHER_ORG));
	free_result(&r);
	cr_expect_eq(fake_count(&F, SECURE_ORG, "ns2.secure.org.", LDNS_RR_TYPE_A), 2);
	/* Without DO either. */
	ask("ns2.secure.org.", LDNS_RR_TYPE_A, false, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&r);

	/* CD=1 takes the data unchecked (RFC 4035 3.2.2), never with AD. */
	ask("ns2.secure.org.", LDNS_RR_TYPE_A, true, true, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	cr_expect_not(ldns_pkt_ad(r.pkt));
	cr_expect(has_rr(r.pkt, LDNS_SECTION_ANSWER, "ns2.secure.org.", LDNS_RR_TYPE_A, OTHER_ORG));
	free_result(&r);
	stop_world();
}

Test(validate, unchecked_negative_entry_is_validated_with_its_stored_proof)
{
	start_with_nsec(false); /* no aggressive NSEC: the entry itself must answer */
	/* third.org.: unsigned, named only by nx-ns.secure.org., a name that does not exist:
	 * the walk caches its NXDOMAIN, with the SOA and NSEC proof, unchecked. */
	struct fake_server *org = server_of(ORG, "org.");
	signed_set(org, &K_ORG, "third.org. 3600 IN NSEC org. NS RRSIG NSEC", NULL);
	fake_rr(org, "third.org. 3600 IN NS nx-ns.secure.org.");
	struct result r;
	ask("www.third.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL, "no server address");
	free_result(&r);
	unsigned walk = fake_count(&F, SECURE_ORG, "nx-ns.secure.org.", LDNS_RR_TYPE_A);
	cr_assert_geq(walk, 1);

	ask("nx-ns.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	cr_expect(ldns_pkt_ad(r.pkt), "the stored proof validated: AD");
	cr_expect(has_rr(r.pkt, LDNS_SECTION_AUTHORITY, "ns.secure.org.", LDNS_RR_TYPE_NSEC, NULL));
	free_result(&r);
	cr_expect_eq(fake_count(&F, SECURE_ORG, "nx-ns.secure.org.", LDNS_RR_TYPE_A), walk,
		     "not asked again");
	cr_expect_eq(fake_count(&F, NULL, "secure.org.", LDNS_RR_TYPE_DNSKEY), 1);
	stop_world();
}

Test(validate, validated_answer_replaces_the_unchecked_copy_it_was_asked_for)
{
	start_validating(true);
	size_t clean = S_SECURE->n_rrs;
	add_other(true);
	struct result r;
	ask("www.other.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	free_result(&r);
	/* secure.org. serves the signed address from now on; the cache holds the forged copy,
	 * unchecked. */
	S_SECURE->n_rrs = clean;
	signed_set(S_SECURE, &K_SECURE, "ns2.secure.org. 3600 IN A " OTHER_ORG, NULL);
	ask("ns2.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR, "EDE %u (%s)", r.ede,
		     r.ede_text);
	cr_expect(ldns_pkt_ad(r.pkt), "the cached copy failed, the authorities' answer is secure");
	free_result(&r);
	cr_expect_eq(fake_count(&F, SECURE_ORG, "ns2.secure.org.", LDNS_RR_TYPE_A), 2);
	/* The secure answer replaced the unchecked copy of the same rank: no query now. */
	size_t sent = F.n_log;
	ask("ns2.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect(ldns_pkt_ad(r.pkt));
	free_result(&r);
	cr_expect_eq(F.n_log, sent, "answered from the validated copy");
	stop_world();
}

Test(validate, unsigned_delegation_proved_by_a_referral_costs_a_later_request_no_ds_query)
{
	start_validating(true);
	struct result r;
	ask("www.plain.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	free_result(&r);
	cr_assert_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0);
	/* Another name under the same cut, taken from the cache this time (no referral in
	 * this request): the NSEC the first referral proved with is in the cache, validated. */
	size_t sent = F.n_log;
	ask("ns.plain.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_assert_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR, "EDE %u (%s)", r.ede,
		     r.ede_text);
	cr_expect_not(ldns_pkt_ad(r.pkt), "insecure");
	free_result(&r);
	cr_expect_eq(fake_count(&F, NULL, NULL, LDNS_RR_TYPE_DS), 0, "no DS query for plain.org.");
	cr_expect_eq(F.n_log, sent + 1, "one query: the question itself");
	cr_expect_eq(R->stats.dnssec_insecure, 2);
	stop_world();
}

/* ---- the key table (resolver/keytab.c) ---- */

static const struct vg_keytab_entry *table_entry(const char *zone)
{
	uint8_t wz[VG_NAME_MAX];
	cr_assert_gt(vg_name_from_text(zone, wz), 0);
	return vg_keytab_get(R->keytab, wz, (uint32_t)F.wall, vg_cache_flush_gen(cache));
}

/* Resolves `name` (a miss), expecting rcode and AD as given. */
static void expect_answer(const char *name, uint16_t type, int rcode, bool ad)
{
	struct result r;
	ask(name, type, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), rcode, "%s: rcode %d, EDE %u (%s)", name,
		     ldns_pkt_get_rcode(r.pkt), r.ede, r.ede_text);
	cr_expect_eq(ldns_pkt_ad(r.pkt), ad, "%s: AD %d", name, ldns_pkt_ad(r.pkt));
	free_result(&r);
}

Test(validate, warm_misses_take_the_zone_keys_from_the_key_table)
{
	start_validating(true);
	expect_answer("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true);
	cr_expect_eq(R->stats.keytab_hits, 0);
	/* Keys learned from replies are not kept: the table holds what the cache proved. */
	cr_expect_null(table_entry("secure.org."));
	/* The next miss reads the chain from the cache and keeps each link... */
	expect_answer("alias.secure.org.", LDNS_RR_TYPE_CNAME, LDNS_RCODE_NOERROR, true);
	const struct vg_keytab_entry *e = table_entry("secure.org.");
	cr_assert_not_null(e);
	cr_expect_eq(e->sec, VG_SEC_SECURE);
	cr_expect_eq(e->keys.n_rd, 1, "secure.org.'s one DNSKEY");
	cr_expect_not_null(table_entry("org."));
	cr_expect_not_null(table_entry("."));
	/* ...no longer than the records it rests on (TTL 3600). */
	cr_expect_leq(e->until, (uint32_t)F.wall + 3600);
	/* ...and the one after takes secure.org.'s keys from the table: still AD, one query. */
	size_t sent = F.n_log;
	uint64_t subs = R->stats.sub_requests;
	expect_answer("ns.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true);
	cr_expect_eq(R->stats.keytab_hits, 1);
	cr_expect_eq(F.n_log, sent + 1, "one query: the miss itself");
	cr_expect_eq(R->stats.sub_requests, subs);
	/* An unsigned zone's proved insecurity is kept the same way (org. from the table). */
	expect_answer("www.plain.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false);
	/* (the NSEC of the referral proved it in that request; the next proves it again from the
	 * cache's NSEC index, without a DS query, and keeps it) */
	expect_answer("plain.org.", LDNS_RR_TYPE_NS, LDNS_RCODE_NOERROR, false);
	e = table_entry("plain.org.");
	cr_assert_not_null(e);
	cr_expect_eq(e->sec, VG_SEC_INSECURE);
	sent = F.n_log;
	uint64_t hits = R->stats.keytab_hits;
	expect_answer("ns.plain.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false);
	cr_expect_eq(R->stats.keytab_hits, hits + 1);
	cr_expect_eq(F.n_log, sent + 1);
	stop_world();
}

/* secure.org. changes its keys to one its parent's DS does not vouch for, and keeps signing
 * with the old key: while the old DNSKEY set is cached (TTL 3600) answers stay secure, from
 * the table as from the cache; once it expires on the wall clock the zone is bogus, even though
 * the table knew the old keys a second before. */
Test(validate, a_zone_turns_bogus_when_its_kept_keys_expire)
{
	start_validating(true);
	expect_answer("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true);
	expect_answer("alias.secure.org.", LDNS_RR_TYPE_CNAME, LDNS_RCODE_NOERROR, true);
	cr_assert_not_null(table_entry("secure.org."));
	struct zkey k2 = mkkey("secure.org.");
	size_t n = 0;
	for (size_t i = 0; i < S_SECURE->n_rrs; i++)
		if (!strstr(S_SECURE->rrs[i], "DNSKEY"))
			S_SECURE->rrs[n++] = S_SECURE->rrs[i];
	S_SECURE->n_rrs = n;
	dnskey_set(S_SECURE, &k2);
	signed_set(S_SECURE, &K_SECURE, "one.secure.org. 3600 IN A 192.0.2.41", NULL);
	signed_set(S_SECURE, &K_SECURE, "two.secure.org. 3600 IN A 192.0.2.42", NULL);

	F.wall += 3590;
	uint64_t hits = R->stats.keytab_hits;
	expect_answer("one.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true);
	cr_expect_eq(R->stats.keytab_hits, hits + 1, "ten seconds left: from the table");

	F.wall += 11;
	cr_expect_null(table_entry("secure.org."), "expired with its DNSKEY set");
	unsigned asked = fake_count(&F, SECURE_ORG, "secure.org.", LDNS_RR_TYPE_DNSKEY);
	struct result r;
	ask("two.secure.org.", LDNS_RR_TYPE_A, true, false, &r);
	cr_expect_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL, "EDE %u (%s)", r.ede,
		     r.ede_text);
	free_result(&r);
	cr_expect_gt(fake_count(&F, SECURE_ORG, "secure.org.", LDNS_RR_TYPE_DNSKEY), asked,
		     "the keys are asked again");
	cr_expect_null(table_entry("secure.org."), "a bogus zone is not kept");
	freekey(&k2);
	stop_world();
}

Test(validate, a_negative_trust_anchor_applies_below_zones_the_table_knows)
{
	static uint8_t nta[1][256];
	cr_assert_gt(vg_name_from_text("secure.org.", nta[0]), 0);
	C.dnssec.nta = (const uint8_t(*)[256])nta;
	C.dnssec.n_nta = 1;
	start_validating(true);
	/* org. and . kept from plain.org.'s chain (two misses: the second reads the cache). */
	expect_answer("www.plain.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false);
	expect_answer("plain.org.", LDNS_RR_TYPE_NS, LDNS_RCODE_NOERROR, false);
	cr_assert_not_null(table_entry("org."));
	/* secure.org. is under the negative anchor: not validated, cold or warm. */
	expect_answer("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false);
	expect_answer("alias.secure.org.", LDNS_RR_TYPE_CNAME, LDNS_RCODE_NOERROR, false);
	expect_answer("ns.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false);
	cr_expect_null(table_entry("secure.org."));
	cr_expect_eq(fake_count(&F, NULL, "secure.org.", LDNS_RR_TYPE_DNSKEY), 0);
	/* bogus.org. is not under it: still bogus, with org.'s keys from the table. */
	expect_answer("www.bogus.org.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, false);
	stop_world();
}

Test(validate, a_cache_flush_empties_the_key_table)
{
	start_validating(true);
	expect_answer("www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true);
	expect_answer("alias.secure.org.", LDNS_RR_TYPE_CNAME, LDNS_RCODE_NOERROR, true);
	cr_assert_not_null(table_entry("secure.org."));
	cr_assert_eq(vg_cache_flush_all(cache), 0);
	vg_cache_sync(cache);
	cr_expect_null(table_entry("secure.org."));
	cr_expect_null(table_entry("."));
	/* What vigilctl flush forgot is asked again, as if the table had never held it. */
	unsigned root_keys = fake_count(&F, ROOT, ".", LDNS_RR_TYPE_DNSKEY);
	uint64_t hits = R->stats.keytab_hits;
	expect_answer("ns.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true);
	cr_expect_eq(R->stats.keytab_hits, hits);
	cr_expect_gt(fake_count(&F, ROOT, ".", LDNS_RR_TYPE_DNSKEY), root_keys);
	stop_world();
}
