/* Unit tests of what the resolver answers: RD=0 from the cache only, negative answers and their
 * SOA TTL, CNAME/DNAME chains, duplicates, TTL countdown and clamps, serve-stale (iter_test.h). */
#include "iter_test.h"

TestSuite(iter, .init = setup, .fini = teardown);

Test(iter, nxdomain_and_nodata_carry_the_soa)
{
	start_resolver();
	struct result res;
	resolve("nx.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_SOA, NULL));
	free_result(&res);
	resolve("www.example.com.", VG_TYPE_TXT, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 0);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_SOA, NULL));
	free_result(&res);
	/* both negative answers are cached */
	size_t before = F.n_log;
	resolve("nx.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	free_result(&res);
	resolve("www.example.com.", VG_TYPE_TXT, &res);
	cr_assert_eq(F.n_log, before);
	free_result(&res);
}

Test(iter, serves_stale_when_authorities_are_unreachable)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	F.wall += 3600 + 100; /* the answer expired */
	F.servers[3].mode = FAKE_SILENT;
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	F.wall += 3600 + 100;
	F.servers[3].mode = FAKE_SILENT;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&res);
}

Test(iter, rd0_is_answered_from_the_cache_only)
{
	start_resolver();
	struct result res;
	/* A miss: REFUSED with EDE 20 (RFC 8914 §4.21), and no query leaves. */
	resolve_rd("www.example.com.", VG_TYPE_A, false, &res);
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_REFUSED);
	cr_assert_eq(res.ede, 20);
	cr_assert(!ldns_pkt_rd(res.pkt), "RD copied from the query");
	cr_assert_eq(F.n_log, 0, "RD=0 sends no upstream query");
	free_result(&res);
	/* Once cached (by an RD=1 question), RD=0 gets the answer, the CNAME chain included. */
	resolve("alias.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	resolve("nx.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	size_t before = F.n_log;
	resolve_rd("alias.example.com.", VG_TYPE_A, false, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "alias.example.com.", LDNS_RR_TYPE_CNAME,
			 "www.example.com."));
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(res.ede, VG_EDE_NONE);
	free_result(&res);
	resolve_rd("nx.example.com.", VG_TYPE_A, false, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_SOA, NULL));
	free_result(&res);
	/* In the cached zone but a name never asked: still no query. */
	resolve_rd("mail.example.com.", VG_TYPE_A, false, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_REFUSED);
	cr_assert_eq(F.n_log, before, "RD=0 never asks upstream");
	free_result(&res);
}

Test(iter, rd0_does_not_prime_an_expired_root)
{
	start_resolver();
	F.wall += 518400 + 1; /* the primed root NS set expired */
	struct result res;
	resolve_rd("www.example.com.", VG_TYPE_A, false, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_REFUSED);
	cr_assert_eq(F.n_log, 0, "no priming query either");
	free_result(&res);
}

Test(iter, stale_nxdomain_carries_ede_19)
{
	start_resolver();
	struct result res;
	resolve("nx.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	F.wall += 300 + 100; /* the negative entry (SOA MINIMUM 300) expired */
	F.servers[3].mode = FAKE_SILENT;
	resolve("nx.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	F.wall += 86400 + 100; /* everything expired (cache-max-ttl 86400) */
	for (size_t i = 0; i < F.n_servers; i++)
		F.servers[i].mode = FAKE_SILENT;
	resolve("ns1.example.com.", VG_TYPE_A, &res);
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
	resolve("dup.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 3, "one CNAME and two A, not %u records",
		     ldns_pkt_ancount(res.pkt));
	free_result(&res);
	/* and from the cache, which holds the RRset once */
	resolve("dup2.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 2);
	free_result(&res);
	struct vg_cache_reader *rd = vg_cache_reader_new(cache);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	static uint8_t buf[65536];
	struct vg_cache_rrset_view v;
	cr_assert_eq(vg_cache_rrset_get(rd, (const uint8_t *)"\4dup2\7example\3com", VG_TYPE_A,
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
	resolve("nx.example.com.", VG_TYPE_A, &res);
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0);
	cr_assert_not_null(soa);
	cr_assert_eq(ldns_rr_ttl(soa), 60, "SOA TTL 3600, MINIMUM 300, max negative 60: %u",
		     ldns_rr_ttl(soa));
	free_result(&res);
	/* 0: no clamp of our own; the running resolver holds its own copy of C */
	R->opts.cache_max_negative_ttl = 0;
	resolve("nx2.example.com.", VG_TYPE_TXT, &res);
	soa = ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0);
	cr_assert_eq(ldns_rr_ttl(soa), 300, "min(SOA TTL, MINIMUM): %u", ldns_rr_ttl(soa));
	free_result(&res);
	/* counting down when answered from the cache */
	F.wall += 100;
	resolve("nx2.example.com.", VG_TYPE_TXT, &res);
	soa = ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0);
	cr_assert_eq(ldns_rr_ttl(soa), 200);
	free_result(&res);
}

Test(iter, serves_a_stale_cname_chain_whole)
{
	start_resolver();
	struct result res;
	resolve("chain.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	F.wall += 3600 + 100;		 /* the chain expired; the zone cuts (86400) did not */
	F.servers[3].mode = FAKE_SILENT; /* example.com. */
	F.servers[6].mode = FAKE_SILENT; /* example.net. */
	resolve("chain.example.com.", VG_TYPE_A, &res);
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
		resolve("tonx.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	F.wall += 1000;
	size_t before = F.n_log;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(F.n_log, before);
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0)), 2600);
	free_result(&res);
	F.wall += 2601; /* a faked clock jumping forward: the entry is gone */
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_gt(fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A), 1, "asked again");
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0)), 3600);
	free_result(&res);
}

Test(iter, cname_chain_to_nodata_gives_the_chain_noerror_and_the_final_soa)
{
	start_resolver();
	struct result res;
	for (int pass = 0; pass < 2; pass++) { /* from the wire, then from the cache */
		resolve("chain.example.com.", VG_TYPE_TXT, &res);
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
	resolve("short.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0)), 600,
		     "cache-min-ttl applies to the first answer too");
	free_result(&res);
	resolve("nx.example.com.", VG_TYPE_A, &res); /* min(3600, MINIMUM 300), raised to 600 */
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(res.pkt), 0)), 600);
	free_result(&res);
	F.wall += 100;
	resolve("short.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(res.pkt), 0)), 500);
	free_result(&res);
	resolve("nx.example.com.", VG_TYPE_A, &res);
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
		resolve(q, VG_TYPE_A, &res);
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
