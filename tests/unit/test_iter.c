/* Unit tests of the iterator state machine and request driver, against a scripted Internet
 * (fake_upstream.h) with a fake clock and a real cache in a temporary directory. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <vigil/cache.h>
#include <vigil/config.h>
#include <vigil/err.h>
#include <vigil/resolver.h>
#include "fake_upstream.h"
#include "iter.h"

#define ROOT "198.41.0.4"
#define COM "192.5.6.30"
#define NET "192.5.6.31"
#define EXCOM "93.184.216.10"
#define EXCOM2 "93.184.216.11"
#define EXNET "93.184.217.10"
#define SOA(z) z " 3600 IN SOA ns." z " h." z " 1 7200 3600 1209600 300"

static struct fake_up F;
static struct vg_config C;
static struct vg_cache *cache;
static struct vg_resolver *R;
static char dir[64] = "/tmp/vg-iter-XXXXXX";
static char hints_path[128];

struct result {
	bool done;
	ldns_pkt *pkt;
	uint16_t ede;
	char ede_text[128];
	unsigned calls;
};

static void on_answer(void *ctx, const struct vg_answer *a)
{
	struct result *res = ctx;
	res->calls++;
	res->done = true;
	if (res->pkt)
		ldns_pkt_free(res->pkt);
	res->pkt = NULL;
	cr_assert_eq(ldns_wire2pkt(&res->pkt, a->wire, a->len), LDNS_STATUS_OK);
	res->ede = a->ede;
	snprintf(res->ede_text, sizeof(res->ede_text), "%s", a->ede_text ? a->ede_text : "");
}

static void world(void)
{
	struct fake_server *s = fake_server(&F, ROOT, ".", FAKE_AUTH);
	fake_rr(s, ". 3600 IN SOA a.root-servers.net. h. 1 7200 3600 1209600 300");
	fake_rr(s, ". 518400 IN NS a.root-servers.net.");
	fake_rr(s, "a.root-servers.net. 518400 IN A " ROOT);
	fake_rr(s, "com. 172800 IN NS a.gtld-servers.net.");
	fake_rr(s, "net. 172800 IN NS b.gtld-servers.net.");
	fake_rr(s, "a.gtld-servers.net. 172800 IN A " COM);
	fake_rr(s, "b.gtld-servers.net. 172800 IN A " NET);

	s = fake_server(&F, COM, "com.", FAKE_AUTH);
	fake_rr(s, SOA("com."));
	fake_rr(s, "com. 172800 IN NS a.gtld-servers.net.");
	fake_rr(s, "example.com. 172800 IN NS ns1.example.com.");
	fake_rr(s, "ns1.example.com. 172800 IN A " EXCOM);
	fake_rr(s, "example.com. 86400 IN DS 12345 13 2 "
		   "8E6A3D2F2B0C1A9E7F5D4C3B2A1908F7E6D5C4B3A29180706050403020100FFEE");
	fake_rr(s, "glueless.com. 172800 IN NS ns.example.net.");
	fake_rr(s, "twons.com. 172800 IN NS ns1.twons.com.");
	fake_rr(s, "twons.com. 172800 IN NS ns2.twons.com.");
	fake_rr(s, "ns1.twons.com. 172800 IN A " EXCOM2);
	fake_rr(s, "ns2.twons.com. 172800 IN A " EXCOM);
	fake_rr(s, "local.com. 172800 IN NS ns.local.com.");
	fake_rr(s, "ns.local.com. 172800 IN A 127.0.0.1");
	/* out-of-bailiwick "glue" a careful resolver must not believe */
	fake_rr(s, "evil.com. 172800 IN NS ns.evil.net.");

	s = fake_server(&F, NET, "net.", FAKE_AUTH);
	fake_rr(s, SOA("net."));
	fake_rr(s, "example.net. 172800 IN NS ns.example.net.");
	fake_rr(s, "ns.example.net. 172800 IN A " EXNET);

	s = fake_server(&F, EXCOM, "example.com.", FAKE_AUTH);
	fake_rr(s, SOA("example.com."));
	fake_rr(s, "example.com. 3600 IN NS ns1.example.com.");
	fake_rr(s, "ns1.example.com. 3600 IN A " EXCOM);
	fake_rr(s, "www.example.com. 3600 IN A 192.0.2.1");
	fake_rr(s, "alias.example.com. 3600 IN CNAME www.example.com.");
	fake_rr(s, "chain.example.com. 3600 IN CNAME www.example.net.");
	fake_rr(s, "c1.example.com. 3600 IN CNAME c2.example.com.");
	fake_rr(s, "c2.example.com. 3600 IN CNAME c3.example.com.");
	fake_rr(s, "c3.example.com. 3600 IN CNAME www.example.com.");
	fake_rr(s, "loop.example.com. 3600 IN CNAME loop.example.net.");
	fake_rr(s, "a.b.c.d.example.com. 3600 IN A 192.0.2.9");

	s = fake_server(&F, EXCOM2, "twons.com.", FAKE_SILENT);
	s = fake_server(&F, EXCOM, "twons.com.", FAKE_AUTH);
	fake_rr(s, SOA("twons.com."));
	fake_rr(s, "www.twons.com. 3600 IN A 192.0.2.77");

	s = fake_server(&F, EXNET, "example.net.", FAKE_AUTH);
	fake_rr(s, SOA("example.net."));
	fake_rr(s, "www.example.net. 3600 IN A 192.0.2.2");
	fake_rr(s, "ns.example.net. 3600 IN A " EXNET);
	fake_rr(s, "loop.example.net. 3600 IN CNAME loop.example.com.");

	s = fake_server(&F, EXNET, "glueless.com.", FAKE_AUTH);
	fake_rr(s, SOA("glueless.com."));
	fake_rr(s, "www.glueless.com. 3600 IN A 192.0.2.5");
}

static void cfg_init(void)
{
	memset(&C, 0, sizeof(C));
	C.root_hints = hints_path;
	C.qname_minimisation = true;
	C.case_randomisation = true;
	C.do_ip4 = true;
	C.do_ip6 = false;
	C.query_local_addresses = false;
	C.prefetch = true;
	C.max_upstream_queries = 100;
	C.max_glueless_per_referral = 4;
	C.max_cname_chain = 12;
	C.max_referral_depth = 30;
	C.request_timeout_ms = 10000;
	C.serve_stale_max = 86400;
	C.cache_max_ttl = 86400;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void start_resolver(void)
{
	struct vg_resolver_env env = {.cfg = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000); /* priming */
	if (cache)
		vg_cache_sync(cache);
	F.n_log = 0;
}

static void setup(void)
{
	fake_init(&F);
	world();
	strcpy(dir, "/tmp/vg-iter-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(hints_path, sizeof(hints_path), "%s/root.hints", dir);
	FILE *h = fopen(hints_path, "w");
	fprintf(h, ".  3600000  NS  A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET. 3600000 A " ROOT "\n");
	fclose(h);
	cfg_init();
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.dir = dir;
	o.map_size = 64 << 20;
	char err[256];
	cr_assert_eq(vg_cache_open(&o, &cache, err, sizeof(err)), 0, "%s", err);
	R = NULL;
}

static void teardown(void)
{
	if (R)
		vg_resolver_close(R);
	vg_cache_close(cache);
	cache = NULL;
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(iter, .init = setup, .fini = teardown);

static void resolve_rd(const char *name, uint16_t type, bool rd, struct result *res)
{
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text(name, wire);
	cr_assert_gt(n, 0);
	struct vg_question q = {.qname = wire,
				.qname_len = (size_t)n,
				.qtype = type,
				.qclass = 1,
				.rd_bit = rd,
				.has_edns = true};
	memset(res, 0, sizeof(*res));
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, res), 0);
	fake_run(&F, 120000);
	vg_cache_sync(cache);
	cr_assert(res->done, "no answer for %s", name);
}

static void resolve(const char *name, uint16_t type, struct result *res)
{
	resolve_rd(name, type, true, res);
}

static void free_result(struct result *res)
{
	if (res->pkt)
		ldns_pkt_free(res->pkt);
	res->pkt = NULL;
}

static bool has_rr(const ldns_pkt *p, ldns_pkt_section sec, const char *owner, ldns_rr_type t,
		   const char *rdata)
{
	ldns_rr_list *l = ldns_pkt_get_section_clone(p, sec);
	bool found = false;
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && !found; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) != t || ldns_dname_compare(ldns_rr_owner(rr), o))
			continue;
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, ldns_rr_rd_count(rr) - 1));
		found = !rdata || !strcasecmp(s, rdata);
		free(s);
	}
	ldns_rdf_deep_free(o);
	ldns_rr_list_deep_free(l);
	return found;
}

Test(iter, resolves_from_root_through_referrals)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert(ldns_pkt_ra(res.pkt), "answers carry RA");
	cr_assert(ldns_pkt_qr(res.pkt));
	cr_assert(ldns_pkt_rd(res.pkt), "RD copied from the query");
	cr_assert(!ldns_pkt_ad(res.pkt), "AD is never set before validation exists");
	cr_assert(!ldns_pkt_aa(res.pkt));
	cr_assert_eq(ldns_pkt_nscount(res.pkt), 0, "minimal responses: no authority on answers");
	cr_assert_eq(ldns_pkt_arcount(res.pkt), 0);
	cr_assert_eq(res.ede, VG_EDE_NONE);
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_T_A), 1);
	free_result(&res);
}

Test(iter, answers_second_question_from_cache_without_upstream_queries)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	size_t before = F.n_log;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(F.n_log, before, "a cached answer needs no upstream query");
	free_result(&res);
	/* Another name in the same zone starts at the cached cut: straight to example.com. */
	F.n_log = 0;
	resolve("alias.example.com.", VG_T_A, &res);
	cr_assert_eq(fake_count(&F, ROOT, NULL, 0), 0);
	cr_assert_eq(fake_count(&F, COM, NULL, 0), 0);
	free_result(&res);
}

Test(iter, qname_minimisation_hides_the_full_name_from_parents)
{
	start_resolver();
	struct result res;
	resolve("a.b.c.d.example.com.", VG_T_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "a.b.c.d.example.com.", LDNS_RR_TYPE_A,
			 "192.0.2.9"));
	cr_assert_eq(fake_count(&F, ROOT, "a.b.c.d.example.com.", 0), 0);
	cr_assert_eq(fake_count(&F, COM, "a.b.c.d.example.com.", 0), 0);
	cr_assert_eq(fake_count(&F, ROOT, "com.", VG_T_A), 1);
	cr_assert_eq(fake_count(&F, COM, "example.com.", VG_T_A), 1);
	free_result(&res);
}

Test(iter, without_minimisation_parents_see_the_full_name)
{
	C.qname_minimisation = false;
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(fake_count(&F, ROOT, "www.example.com.", VG_T_A), 1);
	free_result(&res);
}

Test(iter, follows_cname_across_zones)
{
	start_resolver();
	struct result res;
	resolve("chain.example.com.", VG_T_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "chain.example.com.", LDNS_RR_TYPE_CNAME,
			 "www.example.net."));
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.net.", LDNS_RR_TYPE_A, "192.0.2.2"));
	free_result(&res);
}

Test(iter, resolves_glueless_ns_names_in_a_subrequest)
{
	start_resolver();
	struct result res;
	resolve("www.glueless.com.", VG_T_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.glueless.com.", LDNS_RR_TYPE_A, "192.0.2.5"));
	cr_assert_geq(fake_count(&F, EXNET, "ns.example.net.", VG_T_A), 1);
	free_result(&res);
}

Test(iter, nxdomain_and_nodata_carry_the_soa)
{
	start_resolver();
	struct result res;
	resolve("nx.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_SOA, NULL));
	free_result(&res);
	resolve("www.example.com.", VG_T_TXT, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 0);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_SOA, NULL));
	free_result(&res);
	/* both negative answers are cached */
	size_t before = F.n_log;
	resolve("nx.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	free_result(&res);
	resolve("www.example.com.", VG_T_TXT, &res);
	cr_assert_eq(F.n_log, before);
	free_result(&res);
}

Test(iter, cname_loop_fails_with_ede)
{
	start_resolver();
	struct result res;
	resolve("loop.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_neq(res.ede, VG_EDE_NONE);
	cr_assert(strstr(res.ede_text, "loop"), "%s", res.ede_text);
	free_result(&res);
}

Test(iter, cname_chain_at_the_limit_is_followed)
{
	C.max_cname_chain = 3; /* c1 -> c2 -> c3 -> www: three links */
	start_resolver();
	struct result res;
	resolve("c1.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	free_result(&res);
}

Test(iter, cname_chain_over_the_limit_fails)
{
	C.max_cname_chain = 2;
	start_resolver();
	struct result res;
	resolve("c1.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert(strstr(res.ede_text, "max-cname-chain"), "%s", res.ede_text);
	free_result(&res);
}

Test(iter, upstream_query_limit_edges)
{
	C.qname_minimisation = false;
	C.max_upstream_queries = 3; /* root, com., example.com. */
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.max_upstream_queries = 2;
	start_resolver();
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert(strstr(res.ede_text, "max-upstream-queries"), "%s", res.ede_text);
	free_result(&res);
}

Test(iter, referral_depth_limit_edges)
{
	C.qname_minimisation = false;
	C.max_referral_depth = 2; /* root -> com. -> example.com. */
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.max_referral_depth = 1;
	start_resolver();
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert(strstr(res.ede_text, "max-referral-depth"), "%s", res.ede_text);
	free_result(&res);
}

Test(iter, glueless_limit_edges)
{
	C.max_glueless_per_referral = 1;
	start_resolver();
	struct result res;
	resolve("www.glueless.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.max_glueless_per_referral = 0;
	start_resolver();
	resolve("www.glueless.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert(strstr(res.ede_text, "max-glueless-per-referral"), "%s", res.ede_text);
	free_result(&res);
}

Test(iter, request_lifetime_bounds_a_dead_zone)
{
	C.request_timeout_ms = 1500;
	start_resolver();
	F.servers[3].mode = FAKE_SILENT; /* example.com. */
	struct result res;
	uint64_t t0 = F.now;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 22);
	cr_assert_leq(F.now - t0, 1500 + 1, "answered within the request lifetime");
	free_result(&res);
}

Test(iter, all_servers_dead_gives_servfail_with_ede_after_bounded_retries)
{
	start_resolver();
	F.servers[3].mode = FAKE_SILENT;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 22);
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), 3, "three rounds, then hold-down");
	free_result(&res);
	/* held down: the next question fails at once without another query */
	size_t before = fake_count(&F, EXCOM, NULL, 0);
	resolve("alias.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), before);
	free_result(&res);
}

Test(iter, silent_server_is_skipped_for_the_next_one)
{
	start_resolver();
	struct result res;
	resolve("www.twons.com.", VG_T_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.twons.com.", LDNS_RR_TYPE_A, "192.0.2.77"));
	free_result(&res);
}

Test(iter, serves_stale_when_authorities_are_unreachable)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	F.wall += 3600 + 100; /* the answer expired */
	F.servers[3].mode = FAKE_SILENT;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0);
	cr_assert_eq(ldns_rr_ttl(rr), 30, "stale answers carry TTL 30 (RFC 8767)");
	cr_assert_eq(res.ede, 3, "EDE 3 Stale Answer");
	free_result(&res);
}

Test(iter, stale_is_off_with_serve_stale_max_zero)
{
	C.serve_stale_max = 0;
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	F.wall += 3600 + 100;
	F.servers[3].mode = FAKE_SILENT;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&res);
}

Test(iter, case_changed_reply_is_rejected_and_tcp_asked)
{
	start_resolver();
	F.servers[3].mode = FAKE_CASE_FLIP;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_geq(F.unsolicited, 1, "the UDP reply failed the 0x20 check");
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"),
	    "the answer came over TCP");
	bool tcp = false;
	for (size_t i = 0; i < F.n_log; i++)
		tcp |= !strcmp(F.log[i].server, EXCOM) && F.log[i].tcp;
	cr_assert(tcp);
	free_result(&res);
}

Test(iter, case_changed_over_tcp_is_accepted)
{
	start_resolver();
	F.servers[3].mode = FAKE_CASE_FLIP_ALL;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"),
	    "TCP proves the origin; the 0x20 check is for UDP");
	free_result(&res);
}

Test(iter, case_randomisation_off_sends_lowercase_names)
{
	C.case_randomisation = false;
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	for (size_t i = 0; i < F.n_log; i++)
		for (const char *p = F.log[i].name; *p; p++)
			cr_assert(!(*p >= 'A' && *p <= 'Z'), "no 0x20 with case-randomisation: no");
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	free_result(&res);
}

Test(iter, reply_with_wrong_id_is_ignored)
{
	start_resolver();
	F.servers[3].mode = FAKE_WRONG_ID;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_geq(F.unsolicited, 1);
	free_result(&res);
}

Test(iter, sends_mixed_case_names_with_case_randomisation)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	bool mixed = false;
	for (size_t i = 0; i < F.n_log; i++)
		for (const char *p = F.log[i].name; *p; p++)
			mixed |= (*p >= 'A' && *p <= 'Z');
	cr_assert(mixed, "0x20: some letters are upper case");
	free_result(&res);
}

Test(iter, formerr_to_edns_retries_without_opt)
{
	start_resolver();
	F.servers[3].mode = FAKE_FORMERR_EDNS;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	bool plain = false;
	for (size_t i = 0; i < F.n_log; i++)
		plain |= !strcmp(F.log[i].server, EXCOM) && !F.log[i].edns;
	cr_assert(plain);
	free_result(&res);
}

Test(iter, truncated_reply_is_retried_over_tcp)
{
	start_resolver();
	F.servers[3].mode = FAKE_TC;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	bool tcp = false;
	for (size_t i = 0; i < F.n_log; i++)
		tcp |= !strcmp(F.log[i].server, EXCOM) && F.log[i].tcp;
	cr_assert(tcp);
	free_result(&res);
}

Test(iter, lame_server_is_remembered)
{
	start_resolver();
	F.servers[3].mode = FAKE_REFUSED;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 22, "RFC 8914: 22 covers servers that refused to reply");
	cr_assert(strstr(res.ede_text, "lame"), "%s", res.ede_text);
	free_result(&res);
	unsigned before = fake_count(&F, EXCOM, NULL, 0);
	resolve("alias.example.com.", VG_T_A, &res);
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), before, "lame for the zone: not asked again");
	free_result(&res);
}

Test(iter, identical_questions_share_one_resolution)
{
	start_resolver();
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text("www.example.com.", wire);
	struct vg_question q = {
	    .qname = wire, .qname_len = (size_t)n, .qtype = VG_T_A, .qclass = 1, .rd_bit = true};
	struct result a = {0}, b = {0};
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &a), 0);
	wire[1] = 'W'; /* another client's spelling */
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &b), 0);
	fake_run(&F, 60000);
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(b.calls, 1);
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_T_A), 1);
	ldns_rr *qa = ldns_rr_list_rr(ldns_pkt_question(b.pkt), 0);
	char *t = ldns_rdf2str(ldns_rr_owner(qa));
	cr_assert_str_eq(t, "Www.example.com.", "each client gets its own spelling back");
	free(t);
	free_result(&a);
	free_result(&b);
}

Test(iter, identical_minimised_queries_are_joined)
{
	start_resolver();
	const char *names[] = {"www.example.com.", "alias.example.com."};
	struct result res[2] = {0};
	for (int i = 0; i < 2; i++) {
		uint8_t wire[VG_NAME_MAX];
		int n = vg_name_from_text(names[i], wire);
		struct vg_question q = {.qname = wire,
					.qname_len = (size_t)n,
					.qtype = VG_T_A,
					.qclass = 1,
					.rd_bit = true};
		cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &res[i]), 0);
	}
	fake_run(&F, 60000);
	cr_assert(res[0].done && res[1].done);
	cr_assert_eq(fake_count(&F, ROOT, "com.", VG_T_A), 1, "one query for both requests");
	cr_assert_eq(fake_count(&F, COM, "example.com.", VG_T_A), 1);
	free_result(&res[0]);
	free_result(&res[1]);
}

Test(iter, loopback_servers_are_not_queried_by_default)
{
	start_resolver();
	struct result res;
	resolve("www.local.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(fake_count(&F, "127.0.0.1", NULL, 0), 0);
	cr_assert_eq(res.ede, 22);
	cr_assert(strstr(res.ede_text, "query-local-addresses"), "the EDE names the setting: %s",
		  res.ede_text);
	free_result(&res);
}

Test(iter, forward_mode_asks_the_forwarder_with_rd)
{
	struct vg_sockaddr fwd;
	cr_assert_eq(vg_sockaddr_parse("8.8.8.8", 53, &fwd), 0);
	C.forward = &fwd;
	C.n_forward = 1;
	struct fake_server *s = fake_server(&F, "8.8.8.8", ".", FAKE_RECURSIVE);
	fake_rr(s, "www.example.com. 300 IN A 192.0.2.200");
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A,
			 "192.0.2.200"));
	cr_assert_eq(fake_count(&F, ROOT, NULL, 0), 0);
	cr_assert_eq(fake_count(&F, "8.8.8.8", "www.example.com.", VG_T_A), 1);
	cr_assert(F.log[0].rd, "forwarded queries ask for recursion");
	free_result(&res);
}

Test(iter, forward_zone_applies_only_below_its_zone)
{
	struct vg_forward_zone fz = {0};
	struct vg_sockaddr fwd;
	cr_assert_eq(vg_sockaddr_parse("8.8.4.4", 53, &fwd), 0);
	vg_name_from_text("lan.", fz.zone);
	fz.addrs = &fwd;
	fz.n_addrs = 1;
	C.forward_zones = &fz;
	C.n_forward_zones = 1;
	struct fake_server *s = fake_server(&F, "8.8.4.4", "lan.", FAKE_RECURSIVE);
	fake_rr(s, "router.lan. 300 IN A 192.0.2.254");
	start_resolver();
	struct result res;
	resolve("router.lan.", VG_T_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "router.lan.", LDNS_RR_TYPE_A, "192.0.2.254"));
	free_result(&res);
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(fake_count(&F, "8.8.4.4", "www.example.com.", 0), 0);
	free_result(&res);
}

Test(iter, close_answers_pending_requests_with_servfail)
{
	start_resolver();
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text("www.example.com.", wire);
	struct vg_question q = {
	    .qname = wire, .qname_len = (size_t)n, .qtype = VG_T_A, .qclass = 1, .rd_bit = true};
	struct result res = {0};
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &res), 0);
	vg_resolver_close(R);
	R = NULL;
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&res);
}

Test(iter, state_names_cover_every_state)
{
	for (int s = 0; s < 12; s++)
		cr_assert_str_neq(vg_iq_state_name((enum vg_iq_state)s), "?");
}

Test(iter, prefetch_refreshes_an_entry_in_its_last_tenth)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	unsigned before = fake_count(&F, EXCOM, "www.example.com.", VG_T_A);
	F.wall += 3300; /* 300 s of 3600 left: inside the last 10% */
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_T_A), before + 1,
		     "the hit started one background refresh");
	free_result(&res);
}

Test(iter, prefetch_no_sends_no_refresh)
{
	C.prefetch = false;
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	unsigned before = fake_count(&F, EXCOM, "www.example.com.", VG_T_A);
	F.wall += 3300;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_T_A), before);
	free_result(&res);
	cr_assert_eq(vg_resolver_prefetch(R, (const uint8_t *)"\3www\7example\3com", 17, VG_T_A),
		     VG_EREFUSED);
}

Test(iter, primes_the_root_at_start_and_again_after_expiry)
{
	struct vg_resolver_env env = {.cfg = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_T_NS), 1, "priming at start (RFC 8109)");
	cr_assert_eq(R->n_hints, 1, "the primed address replaced the hints");
	cr_assert_gt(R->primed_until, F.wall + 3600, "valid for the NS set's TTL, not 10 s");
	vg_cache_sync(cache);
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_T_NS), 1, "not again while the NS set lives");
	F.wall += 518400 + 1;
	resolve("www.example.net.", VG_T_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_T_NS), 2, "primed again after expiry");
}

Test(iter, out_of_bailiwick_referral_glue_is_not_used)
{
	start_resolver();
	struct result res;
	/* com. delegates evil.com. to ns.evil.net. without glue: the address must come from
	 * net., never from anything com. might add. The resolution fails (no such zone). */
	resolve("www.evil.com.", VG_T_A, &res);
	cr_assert_eq(fake_count(&F, NET, "ns.evil.net.", 0) + fake_count(&F, NET, "evil.net.", 0) >=
			 1,
		     true, "the NS name was resolved through net.");
	free_result(&res);
}

Test(iter, ipv6_servers_are_used_only_with_do_ip6)
{
	/* a zone whose only server has an IPv6 address */
	struct fake_server *s = &F.servers[1]; /* com. */
	fake_rr(s, "six.com. 172800 IN NS ns.six.com.");
	fake_rr(s, "ns.six.com. 172800 IN AAAA 2001:500:1::53");
	s = fake_server(&F, "2001:500:1::53", "six.com.", FAKE_AUTH);
	fake_rr(s, SOA("six.com."));
	fake_rr(s, "www.six.com. 3600 IN A 192.0.2.6");
	C.do_ip6 = true;
	start_resolver();
	struct result res;
	resolve("www.six.com.", VG_T_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.six.com.", LDNS_RR_TYPE_A, "192.0.2.6"));
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.do_ip6 = false;
	start_resolver();
	resolve("www.six.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 22);
	cr_assert(strstr(res.ede_text, "do-ip6"), "%s", res.ede_text);
	cr_assert_eq(fake_count(&F, "2001:500:1::53", NULL, 0), 0);
	free_result(&res);
}

Test(iter, ds_is_asked_from_the_parent_zone)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res); /* caches the example.com. cut */
	free_result(&res);
	F.n_log = 0;
	resolve("example.com.", VG_T_DS, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "example.com.", LDNS_RR_TYPE_DS, NULL));
	cr_assert_eq(fake_count(&F, COM, "example.com.", VG_T_DS), 1);
	cr_assert_eq(fake_count(&F, EXCOM, "example.com.", VG_T_DS), 0, "not the child");
	free_result(&res);
}

Test(iter, front_end_prefetch_asks_the_authorities_once)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	unsigned before = fake_count(&F, EXCOM, "www.example.com.", VG_T_A);
	const uint8_t *name = (const uint8_t *)"\3www\7example\3com";
	cr_assert_eq(vg_resolver_prefetch(R, name, 17, VG_T_A), 0);
	cr_assert_eq(vg_resolver_prefetch(R, name, 17, VG_T_A), VG_ELIMIT, "already running");
	fake_run(&F, 60000);
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_T_A), before + 1);
	cr_assert_eq(vg_resolver_prefetch(R, name, 3, VG_T_A), VG_EFORMAT);
}

Test(iter, request_timeout_edges)
{
	/* example.com.'s server answers after 300 ms; everything else at once */
	F.servers[3].delay_ms = 300;
	C.request_timeout_ms = 350;
	start_resolver();
	struct result res;
	uint64_t t0 = F.now;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR, "done within 350 ms");
	cr_assert_geq(F.now - t0, 300);
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.request_timeout_ms = 250;
	start_resolver();
	t0 = F.now;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL, "not within 250 ms");
	cr_assert_eq(res.ede, 22);
	cr_assert_str_eq(res.ede_text, "request-timeout reached");
	free_result(&res);
}

Test(iter, rd0_is_answered_from_the_cache_only)
{
	start_resolver();
	struct result res;
	/* A miss: REFUSED with EDE 20 (RFC 8914 §4.21), and no query leaves. */
	resolve_rd("www.example.com.", VG_T_A, false, &res);
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_REFUSED);
	cr_assert_eq(res.ede, 20);
	cr_assert(!ldns_pkt_rd(res.pkt), "RD copied from the query");
	cr_assert_eq(F.n_log, 0, "RD=0 sends no upstream query");
	free_result(&res);
	/* Once cached (by an RD=1 question), RD=0 gets the answer, the CNAME chain included. */
	resolve("alias.example.com.", VG_T_A, &res);
	free_result(&res);
	resolve("nx.example.com.", VG_T_A, &res);
	free_result(&res);
	size_t before = F.n_log;
	resolve_rd("alias.example.com.", VG_T_A, false, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "alias.example.com.", LDNS_RR_TYPE_CNAME,
			 "www.example.com."));
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(res.ede, VG_EDE_NONE);
	free_result(&res);
	resolve_rd("nx.example.com.", VG_T_A, false, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_SOA, NULL));
	free_result(&res);
	/* In the cached zone but a name never asked: still no query. */
	resolve_rd("mail.example.com.", VG_T_A, false, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_REFUSED);
	cr_assert_eq(F.n_log, before, "RD=0 never asks upstream");
	free_result(&res);
}

Test(iter, rd0_does_not_prime_an_expired_root)
{
	start_resolver();
	F.wall += 518400 + 1; /* the primed root NS set expired */
	struct result res;
	resolve_rd("www.example.com.", VG_T_A, false, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_REFUSED);
	cr_assert_eq(F.n_log, 0, "no priming query either");
	free_result(&res);
}

Test(iter, formerr_to_edns_is_remembered_for_a_while_then_edns_is_tried_again)
{
	start_resolver();
	F.servers[3].mode = FAKE_FORMERR_EDNS;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	/* Within the hold time the server is asked without OPT straight away. */
	F.n_log = 0;
	F.now += 60000;
	resolve("mail.example.com.", VG_T_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, EXCOM, "mail.example.com.", 0), 1, "no FORMERR round trip");
	cr_assert(!F.log[F.n_log - 1].edns);
	/* The server got upgraded; after VG_NO_EDNS_MS it is asked with EDNS again. */
	F.servers[3].mode = FAKE_AUTH;
	F.now += VG_NO_EDNS_MS;
	F.n_log = 0;
	resolve("alias.example.com.", VG_T_A, &res);
	free_result(&res);
	cr_assert_geq(F.n_log, 1);
	for (size_t i = 0; i < F.n_log; i++)
		cr_assert(F.log[i].edns, "query %zu to %s without EDNS", i, F.log[i].server);
}

Test(iter, servers_answering_only_servfail_give_ede_network_error)
{
	start_resolver();
	F.servers[3].mode = FAKE_SERVFAIL;
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 23, "every server answered, only with errors: 23 Network Error");
	free_result(&res);
}

Test(iter, stale_nxdomain_carries_ede_19)
{
	start_resolver();
	struct result res;
	resolve("nx.example.com.", VG_T_A, &res);
	free_result(&res);
	F.wall += 300 + 100; /* the negative entry (SOA MINIMUM 300) expired */
	F.servers[3].mode = FAKE_SILENT;
	resolve("nx.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(res.ede, 19, "RFC 8914: Stale NXDOMAIN Answer");
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0);
	cr_assert_not_null(soa);
	cr_assert_eq(ldns_rr_ttl(soa), 30, "stale TTL 30 (RFC 8767)");
	free_result(&res);
}

Test(iter, stale_glue_is_never_served_as_an_answer)
{
	start_resolver();
	struct result res;
	/* Caches ns1.example.com. A only as glue (from com.'s referral). */
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	F.wall += 86400 + 100; /* everything expired (cache-max-ttl 86400) */
	for (size_t i = 0; i < F.n_servers; i++)
		F.servers[i].mode = FAKE_SILENT;
	resolve("ns1.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL,
		     "glue finds servers; it is no answer, fresh or stale");
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 0);
	free_result(&res);
}

Test(iter, duplicate_records_in_a_reply_are_answered_once)
{
	struct fake_server *s = &F.servers[3]; /* example.com. */
	fake_rr(s, "dup.example.com. 3600 IN CNAME dup2.example.com.");
	fake_rr(s, "dup.example.com. 3600 IN CNAME dup2.example.com.");
	fake_rr(s, "dup2.example.com. 3600 IN A 192.0.2.50");
	fake_rr(s, "dup2.example.com. 3600 IN A 192.0.2.51");
	fake_rr(s, "dup2.example.com. 3600 IN A 192.0.2.50");
	start_resolver();
	struct result res;
	resolve("dup.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 3, "one CNAME and two A, not %u records",
		     ldns_pkt_ancount(res.pkt));
	free_result(&res);
	/* and from the cache, which holds the RRset once */
	resolve("dup2.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 2);
	free_result(&res);
	struct vg_cache_reader *rd = vg_cache_reader_new(cache);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	static uint8_t buf[65536];
	struct vg_cache_rrset_view v;
	cr_assert_eq(vg_cache_rrset_get(rd, (const uint8_t *)"\4dup2\7example\3com", VG_T_A,
					(uint32_t)F.wall, 0, buf, sizeof(buf), &v),
		     0);
	cr_assert_eq(v.rr_count, 2, "stored without the duplicate");
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
}

Test(iter, negative_answers_show_min_of_soa_ttl_minimum_and_max_negative_ttl)
{
	C.cache_max_negative_ttl = 60;
	start_resolver();
	struct result res;
	resolve("nx.example.com.", VG_T_A, &res);
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0);
	cr_assert_not_null(soa);
	cr_assert_eq(ldns_rr_ttl(soa), 60, "SOA TTL 3600, MINIMUM 300, max negative 60: %u",
		     ldns_rr_ttl(soa));
	free_result(&res);
	C.cache_max_negative_ttl = 0; /* 0: no clamp of our own */
	resolve("nx2.example.com.", VG_T_TXT, &res);
	soa = ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0);
	cr_assert_eq(ldns_rr_ttl(soa), 300, "min(SOA TTL, MINIMUM): %u", ldns_rr_ttl(soa));
	free_result(&res);
	/* counting down when answered from the cache */
	F.wall += 100;
	resolve("nx2.example.com.", VG_T_TXT, &res);
	soa = ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0);
	cr_assert_eq(ldns_rr_ttl(soa), 200);
	free_result(&res);
}

Test(iter, serves_a_stale_cname_chain_whole)
{
	start_resolver();
	struct result res;
	resolve("chain.example.com.", VG_T_A, &res);
	free_result(&res);
	F.wall += 3600 + 100;		 /* the chain expired; the zone cuts (86400) did not */
	F.servers[3].mode = FAKE_SILENT; /* example.com. */
	F.servers[6].mode = FAKE_SILENT; /* example.net. */
	resolve("chain.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "chain.example.com.", LDNS_RR_TYPE_CNAME,
			 "www.example.net."));
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.net.", LDNS_RR_TYPE_A, "192.0.2.2"));
	for (size_t i = 0; i < ldns_pkt_ancount(res.pkt); i++)
		cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), i)), 30);
	cr_assert_eq(res.ede, 3);
	free_result(&res);
}

Test(iter, cname_chain_to_nxdomain_gives_the_chain_nxdomain_and_the_final_soa)
{
	fake_rr(&F.servers[3], "tonx.example.com. 3600 IN CNAME nx.example.net.");
	start_resolver();
	struct result res;
	for (int pass = 0; pass < 2; pass++) { /* from the wire, then from the cache */
		resolve("tonx.example.com.", VG_T_A, &res);
		cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN, "pass %d", pass);
		cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "tonx.example.com.",
				 LDNS_RR_TYPE_CNAME, "nx.example.net."));
		cr_assert_eq(ldns_pkt_ancount(res.pkt), 1);
		cr_assert_eq(ldns_pkt_nscount(res.pkt), 1);
		cr_assert(
		    has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.net.", LDNS_RR_TYPE_SOA, NULL),
		    "the SOA of the zone that said NXDOMAIN");
		free_result(&res);
	}
}

Test(iter, ttls_count_down_with_the_wall_clock_and_a_jump_expires_entries)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	F.wall += 1000;
	size_t before = F.n_log;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(F.n_log, before);
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0)), 2600);
	free_result(&res);
	F.wall += 2601; /* a faked clock jumping forward: the entry is gone */
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_gt(fake_count(&F, EXCOM, "www.example.com.", VG_T_A), 1, "asked again");
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0)), 3600);
	free_result(&res);
}

Test(iter, glueless_ns_name_with_only_an_ipv6_address_is_found_with_do_ip6)
{
	fake_rr(&F.servers[1], "v6only.com. 172800 IN NS ns.v6.net."); /* com. */
	fake_rr(&F.servers[2],
		"v6.net. 172800 IN NS ns.example.net."); /* net. -> example.net's server */
	struct fake_server *s = fake_server(&F, EXNET, "v6.net.", FAKE_AUTH);
	fake_rr(s, SOA("v6.net."));
	fake_rr(s, "ns.v6.net. 3600 IN AAAA 2001:500:2::53");
	s = fake_server(&F, "2001:500:2::53", "v6only.com.", FAKE_AUTH);
	fake_rr(s, SOA("v6only.com."));
	fake_rr(s, "www.v6only.com. 3600 IN A 192.0.2.60");
	C.do_ip6 = true;
	start_resolver();
	struct result res;
	resolve("www.v6only.com.", VG_T_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.v6only.com.", LDNS_RR_TYPE_A, "192.0.2.60"),
	    "rcode %d, %s", ldns_pkt_get_rcode(res.pkt), res.ede_text);
	cr_assert_eq(fake_count(&F, EXNET, "ns.v6.net.", VG_T_AAAA), 1);
	free_result(&res);
}

Test(iter, upstream_limit_hit_in_a_glueless_subresolution_is_named_in_the_ede)
{
	C.max_upstream_queries = 4; /* the sub-resolution of ns.example.net. needs the 5th */
	start_resolver();
	struct result res;
	resolve("www.glueless.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 0);
	cr_assert(strstr(res.ede_text, "max-upstream-queries"), "%s", res.ede_text);
	cr_assert_leq(F.n_log, 4);
	free_result(&res);
}

Test(iter, priming_expires_with_the_root_ns_set_ttl)
{
	/* The root's NS set lives 600 s, its addresses much longer: the NS set decides. */
	F.servers[0].rrs[1] = ". 600 IN NS a.root-servers.net.";
	start_resolver();
	cr_assert_leq(R->primed_until, F.wall + 600);
	struct result res;
	F.wall += 601;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_T_NS), 1, "primed again once the NS set expired");
}

Test(iter, root_hints_file_replaces_the_built_in_hints)
{
	struct vg_resolver_env env = {.cfg = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	cr_assert_eq(R->n_hints, 1, "only the file's server, none of the built-in 13");
	cr_assert_eq(F.n_log, 1, "priming at start");
	cr_assert_str_eq(F.log[0].server, ROOT, "asked the file's root server");
	vg_resolver_close(R);
	R = NULL;
	C.root_hints = NULL;
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	cr_assert_geq(R->n_hints, 13, "the built-in hints");
	vg_resolver_close(R);
	R = NULL;
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/none.hints", dir);
	C.root_hints = bad;
	cr_assert_lt(vg_resolver_new(&env, &R), 0, "an unreadable root-hints file is an error");
	R = NULL;
}

Test(iter, do_ip4_no_sends_nothing_to_ipv4_servers)
{
	C.do_ip4 = false;
	C.do_ip6 = true;
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(F.n_log, 0, "every server of the fake Internet is IPv4");
	cr_assert_eq(res.ede, 22);
	cr_assert(strstr(res.ede_text, "do-ip4"), "%s", res.ede_text);
	free_result(&res);
}

Test(iter, a_forwarder_that_recurses_slowly_after_fast_cached_answers_is_waited_for)
{
	struct vg_sockaddr fwd;
	cr_assert_eq(vg_sockaddr_parse("8.8.8.8", 53, &fwd), 0);
	C.forward = &fwd;
	C.n_forward = 1;
	struct fake_server *s = fake_server(&F, "8.8.8.8", ".", FAKE_RECURSIVE);
	fake_rr(s, "www.example.com. 300 IN A 192.0.2.200");
	fake_rr(s, "cold.example.com. 300 IN A 192.0.2.201");
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res); /* answered at once: srtt ~0 */
	free_result(&res);
	/* The next name is not in the forwarder's cache: its recursion takes 300 ms. */
	s->delay_ms = 300;
	resolve("cold.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR, "ede %u %s", res.ede,
		     res.ede_text);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "cold.example.com.", LDNS_RR_TYPE_A,
			 "192.0.2.201"));
	free_result(&res);
	s->delay_ms = 0;
	resolve("www.example.com.", VG_T_AAAA, &res);
	cr_assert_neq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL,
		      "the only forwarder is not held down");
	free_result(&res);
}

Test(iter, a_cached_cut_whose_in_zone_ns_names_lost_their_addresses_is_refreshed_from_the_parent)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	/* The glue went (evicted, expired earlier, or not committed yet) while the NS set stayed:
	 * ns1.example.com. cannot be resolved through example.com. itself. */
	cr_assert_eq(vg_cache_flush_name(cache, (const uint8_t *)"\3ns1\7example\3com", 0), 0);
	vg_cache_sync(cache);
	F.n_log = 0;
	resolve("alias.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR, "ede %u %s", res.ede,
		     res.ede_text);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_geq(fake_count(&F, COM, NULL, 0), 1,
		      "the referral (and glue) asked of com. again");
	free_result(&res);
}

Test(iter, cname_chain_to_nodata_gives_the_chain_noerror_and_the_final_soa)
{
	start_resolver();
	struct result res;
	for (int pass = 0; pass < 2; pass++) { /* from the wire, then from the cache */
		resolve("chain.example.com.", VG_T_TXT, &res);
		cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR, "pass %d", pass);
		cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "chain.example.com.",
				 LDNS_RR_TYPE_CNAME, "www.example.net."));
		cr_assert_eq(ldns_pkt_ancount(res.pkt), 1);
		cr_assert_eq(ldns_pkt_nscount(res.pkt), 1);
		cr_assert(has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.net.", LDNS_RR_TYPE_SOA,
				 NULL));
		free_result(&res);
	}
}

/* Reopens the test cache with the TTL clamps of C, as vigild derives them from the config. */
static void reopen_cache_with_config_clamps(void)
{
	vg_cache_close(cache);
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.dir = dir;
	o.map_size = 64 << 20;
	o.min_ttl = C.cache_min_ttl;
	o.max_ttl = C.cache_max_ttl;
	o.max_neg_ttl = C.cache_max_negative_ttl;
	char err[256];
	cr_assert_eq(vg_cache_open(&o, &cache, err, sizeof(err)), 0, "%s", err);
}

Test(iter, first_answer_shows_the_ttls_the_cache_will_show)
{
	fake_rr(&F.servers[3], "short.example.com. 5 IN A 192.0.2.55");
	fake_rr(&F.servers[3], "short.example.com. 5 IN TXT \"short\"");
	C.cache_min_ttl = 600;
	C.cache_max_negative_ttl = 3600;
	reopen_cache_with_config_clamps();
	start_resolver();
	struct result res;
	resolve("short.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0)), 600,
		     "cache-min-ttl applies to the first answer too");
	free_result(&res);
	resolve("nx.example.com.", VG_T_A, &res); /* min(3600, MINIMUM 300), raised to 600 */
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0)), 600);
	free_result(&res);
	F.wall += 100;
	resolve("short.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0)), 500);
	free_result(&res);
	resolve("nx.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0)), 500,
		     "the cached negative entry's time left, not its SOA MINIMUM");
	free_result(&res);
}

Test(iter, dname_answers_carry_the_cname_even_when_the_server_left_it_out)
{
	fake_rr(&F.servers[3], "dname.example.com. 3600 IN DNAME example.net.");
	start_resolver();
	struct result res;
	for (int old = 0; old < 2; old++) {
		F.servers[3].dname_no_cname = old;
		const char *q = old ? "www.dname.example.com." : "ns.dname.example.com.";
		const char *t = old ? "www.example.net." : "ns.example.net.";
		resolve(q, VG_T_A, &res);
		cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR, "%s", res.ede_text);
		cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "dname.example.com.",
				 LDNS_RR_TYPE_DNAME, "example.net."));
		cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, q, LDNS_RR_TYPE_CNAME, t),
			  "the CNAME for stubs that do not know DNAME (server %s)",
			  old ? "without it" : "with it");
		cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, t, LDNS_RR_TYPE_A, NULL));
		cr_assert_eq(ldns_pkt_ancount(res.pkt), 3);
		free_result(&res);
	}
}
