/* Unit tests of the iterator state machine and request driver: iteration, transport, limits,
 * EDE codes, priming, forwarding (helpers and the scripted Internet in iter_test.h). */
#include <inttypes.h>
#include "iter_test.h"

TestSuite(iter, .init = setup, .fini = teardown);

Test(iter, resolves_from_root_through_referrals)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A), 1);
	free_result(&res);
}

Test(iter, answers_second_question_from_cache_without_upstream_queries)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	size_t before = F.n_log;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(F.n_log, before, "a cached answer needs no upstream query");
	free_result(&res);
	/* Another name in the same zone starts at the cached cut: straight to example.com. */
	F.n_log = 0;
	resolve("alias.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(fake_count(&F, ROOT, NULL, 0), 0);
	cr_assert_eq(fake_count(&F, COM, NULL, 0), 0);
	free_result(&res);
}

Test(iter, qname_minimisation_hides_the_full_name_from_parents)
{
	start_resolver();
	struct result res;
	resolve("a.b.c.d.example.com.", VG_TYPE_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "a.b.c.d.example.com.", LDNS_RR_TYPE_A,
			 "192.0.2.9"));
	cr_assert_eq(fake_count(&F, ROOT, "a.b.c.d.example.com.", 0), 0);
	cr_assert_eq(fake_count(&F, COM, "a.b.c.d.example.com.", 0), 0);
	cr_assert_eq(fake_count(&F, ROOT, "com.", VG_TYPE_A), 1);
	cr_assert_eq(fake_count(&F, COM, "example.com.", VG_TYPE_A), 1);
	free_result(&res);
}

Test(iter, without_minimisation_parents_see_the_full_name)
{
	C.qname_minimisation = false;
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(fake_count(&F, ROOT, "www.example.com.", VG_TYPE_A), 1);
	free_result(&res);
}

Test(iter, follows_cname_across_zones)
{
	start_resolver();
	struct result res;
	resolve("chain.example.com.", VG_TYPE_A, &res);
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
	resolve("www.glueless.com.", VG_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.glueless.com.", LDNS_RR_TYPE_A, "192.0.2.5"));
	cr_assert_geq(fake_count(&F, EXNET, "ns.example.net.", VG_TYPE_A), 1);
	free_result(&res);
}

Test(iter, cname_loop_fails_with_ede)
{
	start_resolver();
	struct result res;
	resolve("loop.example.com.", VG_TYPE_A, &res);
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
	resolve("c1.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	free_result(&res);
}

Test(iter, cname_chain_over_the_limit_fails)
{
	C.max_cname_chain = 2;
	start_resolver();
	struct result res;
	resolve("c1.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.max_upstream_queries = 2;
	start_resolver();
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.max_referral_depth = 1;
	start_resolver();
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert(strstr(res.ede_text, "max-referral-depth"), "%s", res.ede_text);
	free_result(&res);
}

Test(iter, glueless_limit_edges)
{
	C.max_glueless_per_referral = 1;
	start_resolver();
	struct result res;
	resolve("www.glueless.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.max_glueless_per_referral = 0;
	start_resolver();
	resolve("www.glueless.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 22);
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), 3, "three rounds, then hold-down");
	free_result(&res);
	/* held down: the next question costs one probe, not three rounds */
	size_t before = fake_count(&F, EXCOM, NULL, 0);
	resolve("alias.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), before + 1, "one probe of the held server");
	free_result(&res);
}

static struct vg_sockaddr sa(const char *s)
{
	struct vg_sockaddr a;
	cr_assert_eq(vg_sockaddr_parse(s, 53, &a), 0);
	return a;
}

Test(iter, an_all_held_down_zone_comes_back_as_soon_as_its_server_answers)
{
	start_resolver();
	F.servers[3].mode = FAKE_SILENT; /* example.com.'s only server */
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	struct vg_sockaddr ex = sa(EXCOM);
	cr_assert(vg_select_held(R->sel, &ex, F.now), "three timeouts: held down");
	F.servers[3].mode = FAKE_AUTH; /* back, long before the hold-down ends */
	F.now += 1000;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR,
		     "the probe of the held-down server got the answer");
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert(!vg_select_held(R->sel, &ex, F.now), "an answer lifts the hold-down");
	free_result(&res);
}

Test(iter, three_icmp_errors_in_a_row_leave_the_server_selectable)
{
	start_resolver();
	F.servers[3].mode = FAKE_UNREACHABLE; /* example.com.: port unreachable, like a server
					       * that is not up yet */
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 22);
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), 3, "three rounds, three ICMP errors");
	free_result(&res);
	struct vg_sockaddr ex = sa(EXCOM);
	cr_assert(!vg_select_held(R->sel, &ex, F.now), "ICMP errors never hold a server down");
	cr_assert_eq(vg_select_rto(R->sel, &ex), VG_RTO_INITIAL_MS, "nor back off its RTO");
	F.servers[3].mode = FAKE_AUTH; /* the server comes up */
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	free_result(&res);
}

Test(iter, a_forged_icmp_error_does_not_end_the_wait_for_the_reply)
{
	start_resolver();
	F.servers[3].mode = FAKE_ICMP_THEN_AUTH; /* ICMP error at once, the answer 100 ms later */
	F.servers[3].delay_ms = 100;
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), 1, "the first query's reply was taken");
	free_result(&res);
}

Test(iter, an_icmp_error_lets_the_next_server_be_asked_without_waiting)
{
	start_resolver();
	/* twons.com.: ns1 (EXCOM2) reports unreachable and is the preferred one; ns2 answers. */
	F.servers[4].mode = FAKE_UNREACHABLE;
	struct vg_sockaddr ns1 = sa(EXCOM2);
	for (int i = 0; i < 5; i++)
		vg_select_rtt(R->sel, &ns1, 1);
	struct result res;
	uint64_t t0 = F.now;
	resolve("www.twons.com.", VG_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.twons.com.", LDNS_RR_TYPE_A, "192.0.2.77"));
	cr_assert_geq(fake_count(&F, EXCOM2, NULL, 0), 1, "the preferred server was asked first");
	cr_assert_lt(F.now - t0, VG_RTO_MIN_MS, "the answer did not wait for a timeout");
	free_result(&res);
}

Test(iter, local_send_errors_are_counted_and_not_held_against_the_server)
{
	start_resolver();
	F.servers[3].mode = FAKE_LOCAL_ERROR; /* e.g. EMFILE, ENETUNREACH on our side */
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&res);
	cr_assert_geq(R->stats.upstream_local_errors, 3);
	cr_assert_eq(R->stats.upstream_local_errors, F.send_errors);
	struct vg_sockaddr ex = sa(EXCOM);
	cr_assert(!vg_select_held(R->sel, &ex, F.now));
	F.servers[3].mode = FAKE_AUTH;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
}

Test(iter, a_failed_priming_neither_blocks_queries_nor_waits_ten_seconds)
{
	F.servers[0].mode = FAKE_UNREACHABLE; /* the root is not up yet at start */
	struct vg_resolver_env env = {.opts = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000);
	size_t primings = fake_count(&F, ROOT, ".", VG_TYPE_NS);
	cr_assert_geq(primings, 1);
	cr_assert(!R->priming && R->primed_until == 0, "priming failed");
	F.servers[0].mode = FAKE_AUTH; /* the root comes up */
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR,
		     "iterates from the hints' addresses while not primed");
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_TYPE_NS), primings, "no retry within 1 s");
	F.now += VG_PRIME_RETRY_MIN_MS;
	resolve("www.example.net.", VG_TYPE_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_TYPE_NS), primings + 1, "retried after 1 s");
	cr_assert_gt(R->primed_until, 0, "and primed");
}

Test(iter, priming_backoff_doubles_up_to_a_minute)
{
	F.servers[0].mode = FAKE_UNREACHABLE;
	struct vg_resolver_env env = {.opts = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000);
	for (int i = 0; i < 8; i++) {
		uint32_t next = (uint32_t)VG_PRIME_RETRY_MIN_MS << (i + 1);
		if (next > VG_PRIME_RETRY_MAX_MS)
			next = VG_PRIME_RETRY_MAX_MS;
		cr_assert_eq(R->prime_backoff_ms, next, "after failure %d the next wait is %u ms",
			     i, next);
		size_t before = fake_count(&F, ROOT, ".", VG_TYPE_NS);
		F.now = R->prime_retry_at - 1;
		struct result res;
		resolve("www.example.com.", VG_TYPE_A, &res);
		free_result(&res);
		cr_assert_eq(fake_count(&F, ROOT, ".", VG_TYPE_NS), before, "not before its time");
		F.now = R->prime_retry_at;
		resolve("www.example.net.", VG_TYPE_A,
			&res); /* starts the next priming, which fails */
		free_result(&res);
		cr_assert_gt(fake_count(&F, ROOT, ".", VG_TYPE_NS), before);
	}
}

Test(iter, silent_server_is_skipped_for_the_next_one)
{
	start_resolver();
	struct result res;
	resolve("www.twons.com.", VG_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.twons.com.", LDNS_RR_TYPE_A, "192.0.2.77"));
	free_result(&res);
}

Test(iter, case_changed_reply_is_rejected_and_tcp_asked)
{
	start_resolver();
	F.servers[3].mode = FAKE_CASE_FLIP;
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_geq(F.unsolicited, 1);
	free_result(&res);
}

/* Each unwanted reply reaches the query it arrived for: recorded on the iq with its source and
 * counted, while the query waits on (here until its timeout) as before. */
Test(iter, unwanted_replies_are_recorded_on_the_waiting_query_with_their_source)
{
	start_resolver();
	F.servers[3].mode = FAKE_WRONG_ID;
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text("www.example.com.", wire);
	struct vg_question q = {
	    .qname = wire, .qname_len = (size_t)n, .qtype = VG_TYPE_A, .qclass = 1, .rd_bit = true};
	struct result res = {0};
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &res), 0);
	fake_run(&F, 10); /* the wrong-ID reply came at once; the query waits for its timeout */
	cr_assert(!res.done);
	cr_assert_not_null(R->reqs);
	const struct vg_unwanted_log *l = &R->reqs->root->unwanted;
	cr_assert_eq(l->count[VG_UNWANTED_ID], 1);
	cr_assert_eq(l->count[VG_UNWANTED_CASE] + l->count[VG_UNWANTED_QUESTION] +
			 l->count[VG_UNWANTED_MALFORMED],
		     0);
	cr_assert_eq(l->n_src, 1);
	char a[64];
	cr_assert_str_eq(vg_sockaddr_str(&l->src[0].from, a, sizeof(a)), EXCOM "@53");
	cr_assert(!l->src[0].tcp);
	cr_assert_eq(l->src[0].kinds, 1u << VG_UNWANTED_ID);
	cr_assert_eq(R->stats.unwanted_id, 1);
	fake_run(&F, 120000);
	cr_assert(res.done, "the query still ends");
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(R->stats.unwanted_id, F.unsolicited, "every unsolicited reply was reported");
	free_result(&res);
}

Test(iter, a_case_changed_reply_is_counted_as_unwanted)
{
	start_resolver();
	F.servers[3].mode = FAKE_CASE_FLIP;
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_geq(R->stats.unwanted_case, 1);
	cr_assert_eq(R->stats.unwanted_case, F.unsolicited);
	cr_assert_eq(R->stats.unwanted_id, 0);
	free_result(&res);
}

Test(iter, sends_mixed_case_names_with_case_randomisation)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 22, "RFC 8914: 22 covers servers that refused to reply");
	cr_assert(strstr(res.ede_text, "lame"), "%s", res.ede_text);
	free_result(&res);
	unsigned before = fake_count(&F, EXCOM, NULL, 0);
	resolve("alias.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), before, "lame for the zone: not asked again");
	free_result(&res);
}

Test(iter, identical_questions_share_one_resolution)
{
	start_resolver();
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text("www.example.com.", wire);
	struct vg_question q = {
	    .qname = wire, .qname_len = (size_t)n, .qtype = VG_TYPE_A, .qclass = 1, .rd_bit = true};
	static struct result a, b; /* static: requests left pending by a failed assertion are
				    * answered at teardown */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &a), 0);
	wire[1] = 'W'; /* another client's spelling */
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &b), 0);
	fake_run(&F, 60000);
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(b.calls, 1);
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A), 1);
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
					.qtype = VG_TYPE_A,
					.qclass = 1,
					.rd_bit = true};
		cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &res[i]), 0);
	}
	fake_run(&F, 60000);
	cr_assert(res[0].done && res[1].done);
	cr_assert_eq(fake_count(&F, ROOT, "com.", VG_TYPE_A), 1, "one query for both requests");
	cr_assert_eq(fake_count(&F, COM, "example.com.", VG_TYPE_A), 1);
	free_result(&res[0]);
	free_result(&res[1]);
}

Test(iter, loopback_servers_are_not_queried_by_default)
{
	start_resolver();
	struct result res;
	resolve("www.local.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A,
			 "192.0.2.200"));
	cr_assert_eq(fake_count(&F, ROOT, NULL, 0), 0);
	cr_assert_eq(fake_count(&F, "8.8.8.8", "www.example.com.", VG_TYPE_A), 1);
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
	resolve("router.lan.", VG_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "router.lan.", LDNS_RR_TYPE_A, "192.0.2.254"));
	free_result(&res);
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	    .qname = wire, .qname_len = (size_t)n, .qtype = VG_TYPE_A, .qclass = 1, .rd_bit = true};
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	unsigned before = fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A);
	F.wall += 3300; /* 300 s of 3600 left: inside the last 10% */
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A), before + 1,
		     "the hit started one background refresh");
	free_result(&res);
}

Test(iter, prefetch_no_sends_no_refresh)
{
	C.prefetch = false;
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	unsigned before = fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A);
	F.wall += 3300;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A), before);
	free_result(&res);
	cr_assert_eq(vg_resolver_prefetch(R, (const uint8_t *)"\3www\7example\3com", 17, VG_TYPE_A),
		     VG_EREFUSED);
}

Test(iter, primes_the_root_at_start_and_again_after_expiry)
{
	struct vg_resolver_env env = {.opts = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_TYPE_NS), 1, "priming at start (RFC 8109)");
	cr_assert_eq(R->n_hints, 1, "the primed address replaced the hints");
	cr_assert_gt(R->primed_until, F.wall + 3600, "valid for the NS set's TTL, not 10 s");
	vg_cache_sync(cache);
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_TYPE_NS), 1, "not again while the NS set lives");
	F.wall += 518400 + 1;
	resolve("www.example.net.", VG_TYPE_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_TYPE_NS), 2, "primed again after expiry");
}

Test(iter, out_of_bailiwick_referral_glue_is_not_used)
{
	start_resolver();
	struct result res;
	/* com. delegates evil.com. to ns.evil.net. without glue: the address must come from
	 * net., never from anything com. might add. The resolution fails (no such zone). */
	resolve("www.evil.com.", VG_TYPE_A, &res);
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
	C.addr.do_ip6 = true;
	start_resolver();
	struct result res;
	resolve("www.six.com.", VG_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.six.com.", LDNS_RR_TYPE_A, "192.0.2.6"));
	free_result(&res);
	vg_resolver_close(R);
	R = NULL;
	vg_cache_flush_all(cache);
	vg_cache_sync(cache);
	C.addr.do_ip6 = false;
	start_resolver();
	resolve("www.six.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res); /* caches the example.com. cut */
	free_result(&res);
	F.n_log = 0;
	resolve("example.com.", VG_TYPE_DS, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "example.com.", LDNS_RR_TYPE_DS, NULL));
	cr_assert_eq(fake_count(&F, COM, "example.com.", VG_TYPE_DS), 1);
	cr_assert_eq(fake_count(&F, EXCOM, "example.com.", VG_TYPE_DS), 0, "not the child");
	free_result(&res);
}

Test(iter, front_end_prefetch_asks_the_authorities_once)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	unsigned before = fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A);
	const uint8_t *name = (const uint8_t *)"\3www\7example\3com";
	cr_assert_eq(vg_resolver_prefetch(R, name, 17, VG_TYPE_A), 0);
	cr_assert_eq(vg_resolver_prefetch(R, name, 17, VG_TYPE_A), VG_ELIMIT, "already running");
	fake_run(&F, 60000);
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A), before + 1);
	cr_assert_eq(vg_resolver_prefetch(R, name, 3, VG_TYPE_A), VG_EFORMAT);
}

Test(iter, request_timeout_edges)
{
	/* example.com.'s server answers after 300 ms; everything else at once */
	F.servers[3].delay_ms = 300;
	C.request_timeout_ms = 350;
	start_resolver();
	struct result res;
	uint64_t t0 = F.now;
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL, "not within 250 ms");
	cr_assert_eq(res.ede, 22);
	cr_assert_str_eq(res.ede_text, "request-timeout reached");
	free_result(&res);
}

Test(iter, formerr_to_edns_is_remembered_for_a_while_then_edns_is_tried_again)
{
	start_resolver();
	F.servers[3].mode = FAKE_FORMERR_EDNS;
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	/* Within the hold time the server is asked without OPT straight away. */
	F.n_log = 0;
	F.now += 60000;
	resolve("mail.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, EXCOM, "mail.example.com.", 0), 1, "no FORMERR round trip");
	cr_assert(!F.log[F.n_log - 1].edns);
	/* The server got upgraded; after VG_NO_EDNS_MS it is asked with EDNS again. */
	F.servers[3].mode = FAKE_AUTH;
	F.now += VG_NO_EDNS_MS;
	F.n_log = 0;
	resolve("alias.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	cr_assert_geq(F.n_log, 1);
	for (size_t i = 0; i < F.n_log; i++)
		cr_assert(F.log[i].edns, "query %zu to %s without EDNS", i, F.log[i].server);
}

/* Starts resolving (name, A) into res without running the fake Internet. */
static void resolve_start(const char *name, struct result *res)
{
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text(name, wire);
	struct vg_question q = {
	    .qname = wire, .qname_len = (size_t)n, .qtype = VG_TYPE_A, .qclass = 1, .rd_bit = true};
	memset(res, 0, sizeof(*res));
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, res), 0);
}

static struct vg_srv_info *srv_info(const char *a)
{
	struct vg_sockaddr sa;
	cr_assert_eq(vg_sockaddr_parse(a, 53, &sa), 0);
	return vg_select_get(R->sel, &sa);
}

static bool first_query_had_edns(const char *server, const char *name)
{
	for (size_t i = 0; i < F.n_log; i++)
		if (!strcmp(F.log[i].server, server) && !strcasecmp(F.log[i].name, name))
			return F.log[i].edns;
	cr_assert_fail("%s was not asked for %s", server, name);
	return false;
}

Test(iter, formerr_turns_edns_off_for_that_address_only_once_the_plain_query_succeeded)
{
	start_resolver();
	F.servers[3].mode = FAKE_FORMERR_EDNS; /* example.com. */
	F.servers[3].delay_ms = 100;
	static struct result a, b; /* static: requests left pending by a failed assertion are
				    * answered at teardown */
	resolve_start("www.example.com.", &a);
	/* Until the FORMERR: the plain query is on its way, its answer is not. */
	fake_run(&F, 150);
	vg_cache_sync(cache);
	cr_assert(!a.done);
	cr_assert_eq(srv_info(EXCOM)->no_edns_until, 0, "a FORMERR alone changes nothing");
	/* Another question to the same server meanwhile still gets EDNS. */
	resolve_start("alias.example.com.", &b);
	fake_run(&F, 120000);
	cr_assert(a.done && b.done);
	cr_assert(has_rr(a.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	free_result(&a);
	free_result(&b);
	cr_assert(first_query_had_edns(EXCOM, "alias.example.com."),
		  "EDNS went off before the plain query succeeded");
	/* The plain query succeeded: that address is on plain DNS for VG_NO_EDNS_MS. */
	uint64_t until = srv_info(EXCOM)->no_edns_until;
	cr_assert(until > F.now && until <= F.now + VG_NO_EDNS_MS, "until %" PRIu64, until);
	/* Other addresses are not affected. */
	cr_assert_eq(srv_info(COM)->no_edns_until, 0);
	cr_assert_eq(srv_info(EXNET)->no_edns_until, 0);
	F.n_log = 0;
	struct result c;
	resolve("www.example.net.", VG_TYPE_A, &c);
	cr_assert(first_query_had_edns(EXNET, "www.example.net."));
	free_result(&c);
}

Test(iter, a_formerr_from_a_server_whose_edns_just_worked_keeps_edns_on)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res); /* EDNS works with example.com.'s server */
	free_result(&res);
	/* A forged FORMERR (or a passing hiccup); the plain query then works, as it would. */
	F.servers[3].mode = FAKE_FORMERR_EDNS;
	F.now += 1000;
	resolve("alias.example.com.", VG_TYPE_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	free_result(&res);
	cr_assert_eq(srv_info(EXCOM)->no_edns_until, 0, "EDNS worked lately: it stays on");
	/* Once EDNS has not worked for VG_NO_EDNS_MS, the same sequence turns it off. */
	F.now += VG_NO_EDNS_MS;
	resolve("c1.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	cr_assert_gt(srv_info(EXCOM)->no_edns_until, F.now);
}

Test(iter, formerr_followed_by_a_failing_plain_query_keeps_edns_on)
{
	start_resolver();
	F.servers[3].mode = FAKE_FORMERR; /* the plain query fails too */
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&res);
	cr_assert_eq(srv_info(EXCOM)->no_edns_until, 0, "EDNS stays on for the address");
	/* The server works again (the FORMERR was forged, say): asked with EDNS straight away. */
	F.servers[3].mode = FAKE_AUTH;
	F.n_log = 0;
	F.now += 1000;
	resolve("alias.example.com.", VG_TYPE_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, NULL));
	free_result(&res);
	cr_assert(first_query_had_edns(EXCOM, "alias.example.com."));
}

Test(iter, servers_answering_only_servfail_give_ede_network_error)
{
	start_resolver();
	F.servers[3].mode = FAKE_SERVFAIL;
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 23, "every server answered, only with errors: 23 Network Error");
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
	C.addr.do_ip6 = true;
	start_resolver();
	struct result res;
	resolve("www.v6only.com.", VG_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.v6only.com.", LDNS_RR_TYPE_A, "192.0.2.60"),
	    "rcode %d, %s", ldns_pkt_get_rcode(res.pkt), res.ede_text);
	cr_assert_eq(fake_count(&F, EXNET, "ns.v6.net.", VG_TYPE_AAAA), 1);
	free_result(&res);
}

Test(iter, upstream_limit_hit_in_a_glueless_subresolution_is_named_in_the_ede)
{
	C.max_upstream_queries = 4; /* the sub-resolution of ns.example.net. needs the 5th */
	start_resolver();
	struct result res;
	resolve("www.glueless.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_TYPE_NS), 1,
		     "primed again once the NS set expired");
}

Test(iter, root_hints_file_replaces_the_built_in_hints)
{
	struct vg_resolver_env env = {.opts = &C, .cache = cache, .upstream = &F.head};
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
	C.addr.do_ip4 = false;
	C.addr.do_ip6 = true;
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
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
	resolve("www.example.com.", VG_TYPE_A, &res); /* answered at once: srtt ~0 */
	free_result(&res);
	/* The next name is not in the forwarder's cache: its recursion takes 300 ms. */
	s->delay_ms = 300;
	resolve("cold.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR, "ede %u %s", res.ede,
		     res.ede_text);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "cold.example.com.", LDNS_RR_TYPE_A,
			 "192.0.2.201"));
	free_result(&res);
	s->delay_ms = 0;
	resolve("www.example.com.", VG_TYPE_AAAA, &res);
	cr_assert_neq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL,
		      "the only forwarder is not held down");
	free_result(&res);
}

Test(iter, a_cached_cut_whose_in_zone_ns_names_lost_their_addresses_is_refreshed_from_the_parent)
{
	start_resolver();
	struct result res;
	resolve("www.example.com.", VG_TYPE_A, &res);
	free_result(&res);
	/* The glue went (evicted, expired earlier, or not committed yet) while the NS set stayed:
	 * ns1.example.com. cannot be resolved through example.com. itself. */
	cr_assert_eq(vg_cache_flush_name(cache, (const uint8_t *)"\3ns1\7example\3com", 0), 0);
	vg_cache_sync(cache);
	F.n_log = 0;
	resolve("alias.example.com.", VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR, "ede %u %s", res.ede,
		     res.ede_text);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_geq(fake_count(&F, COM, NULL, 0), 1,
		      "the referral (and glue) asked of com. again");
	free_result(&res);
}

Test(iter, a_timeout_shared_by_joined_questions_counts_once)
{
	start_resolver();
	F.servers[3].mode = FAKE_SILENT; /* example.com. */
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text("www.example.com.", wire);
	struct result res[3] = {0};
	/* Three requests (DO/CD differ) that ask the same upstream query: it is sent once. */
	for (int i = 0; i < 3; i++) {
		struct vg_question q = {.qname = wire,
					.qname_len = (size_t)n,
					.qtype = VG_TYPE_A,
					.qclass = 1,
					.rd_bit = true,
					.do_bit = i & 1,
					.cd_bit = i & 2};
		cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, &res[i]), 0);
	}
	fake_run(&F, 120000);
	for (int i = 0; i < 3; i++) {
		cr_assert(res[i].done);
		free_result(&res[i]);
	}
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), 3,
		     "three rounds as for one question; one lost query is one timeout, not three");
}

/* ---- ghost domains (CVE-2012-1191, CVE-2022-30698, CVE-2022-30699) ---- */

#define GHOST "93.184.218.10"
#define GHOST2 "93.184.218.11"

/* com. delegates `zone` to ns1.<zone> for 600 s; the zone's own server holds `child_ns` (its NS
 * set as it answers it, a day long) and names that exist only there. Returns how many records
 * com. had before, so the test can remove the delegation at the parent. */
static size_t ghost_zone(const char *zone, const char *child_ns, const char *child_glue)
{
	static char rrs[8][160];
	struct fake_server *com = &F.servers[1];
	size_t before = com->n_rrs;
	snprintf(rrs[0], sizeof(rrs[0]), "%s 600 IN NS ns1.%s", zone, zone);
	snprintf(rrs[1], sizeof(rrs[1]), "ns1.%s 600 IN A " GHOST, zone);
	fake_rr(com, rrs[0]);
	fake_rr(com, rrs[1]);
	/* The zone's servers: both addresses serve it, so whichever the cut names answers. */
	const char *addrs[2] = {GHOST, GHOST2};
	for (int i = 0; i < 2; i++) {
		struct fake_server *g = fake_server(&F, addrs[i], zone, FAKE_AUTH);
		snprintf(rrs[2], sizeof(rrs[2]),
			 "%s 3600 IN SOA ns1.%s h.%s 1 7200 3600 1209600 300", zone, zone, zone);
		snprintf(rrs[3], sizeof(rrs[3]), "%s 86400 IN NS %s", zone, child_ns);
		snprintf(rrs[4], sizeof(rrs[4]), "%s 86400 IN A %s", child_ns, child_glue);
		snprintf(rrs[5], sizeof(rrs[5]), "ns1.%s 86400 IN A " GHOST, zone);
		snprintf(rrs[6], sizeof(rrs[6]), "www.%s 86400 IN A 192.0.2.66", zone);
		snprintf(rrs[7], sizeof(rrs[7]), "after.%s 86400 IN A 192.0.2.67", zone);
		for (int k = 2; k < 8; k++)
			fake_rr(g, rrs[k]);
	}
	return before;
}

/* The cached cut for `name` now: its zone's first NS name (text) and time left, or false. */
static bool cached_cut(const char *name, char *ns_text, size_t cap, uint32_t *ttl)
{
	struct vg_cache_reader *rd = vg_cache_reader_new(cache);
	cr_assert_not_null(rd);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	uint8_t q[VG_NAME_MAX], zone[VG_NAME_MAX], buf[4096];
	struct vg_cache_rrset_view v;
	cr_assert_gt(vg_name_from_text(name, q), 0);
	bool found =
	    vg_cache_zonecut_find(rd, q, (uint32_t)F.wall, zone, buf, sizeof(buf), &v, NULL) == 0 &&
	    vg_name_labels(zone) == vg_name_labels(q) - 1;
	if (found) {
		vg_name_to_text(v.rdata + 2, ns_text, cap);
		*ttl = v.ttl;
	}
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	return found;
}

/* ghost_zone(zone, child_ns, child_glue), then: resolves www.<zone>; com. removes the delegation,
 * and the zone's own NS set and the address of its first server are asked for again and again
 * until just before the parent's 600 s end (an attacker's clients can do that). Returns the start
 * time; *ns and *ttl: the cached cut's first server name and time left then. */
static int64_t ask_child_until_near_expiry(const char *zone, const char *child_ns,
					   const char *child_glue, char *ns, size_t cap,
					   uint32_t *ttl)
{
	size_t before = ghost_zone(zone, child_ns, child_glue);
	start_resolver();
	int64_t t0 = F.wall;
	struct result res;
	char name[300];
	snprintf(name, sizeof(name), "www.%s", zone);
	resolve(name, VG_TYPE_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, name, LDNS_RR_TYPE_A, NULL));
	free_result(&res);
	F.servers[1].n_rrs = before; /* com. removes the delegation */
	snprintf(name, sizeof(name), "ns1.%s", zone);
	for (int64_t at = 100; at <= 590; at += 70) {
		F.wall = t0 + at;
		resolve(zone, VG_TYPE_NS, &res);
		cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
		free_result(&res);
		resolve(name, VG_TYPE_A, &res);
		cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
		free_result(&res);
	}
	snprintf(name, sizeof(name), "after.%s", zone);
	cr_assert(cached_cut(name, ns, cap, ttl));
	return t0;
}

/* Once the parent's TTL is over, `name` (held only by the removed zone's servers) is NXDOMAIN
 * from com., and `addr` was never asked. */
static void expect_gone_after_parent_ttl(int64_t t0, const char *name, const char *addr,
					 const char *why)
{
	F.wall = t0 + 601;
	F.n_log = 0;
	struct result res;
	resolve(name, VG_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN, "%s", why);
	cr_assert_geq(fake_count(&F, COM, NULL, 0), 1, "the parent is asked again");
	cr_assert_eq(fake_count(&F, addr, NULL, 0), 0, "%s asked", addr);
	free_result(&res);
}

Test(iter, a_delegation_removed_at_the_parent_stops_resolving_after_the_parent_ttl)
{
	char ns[VG_NAME_TEXT_MAX];
	uint32_t ttl = 0;
	int64_t t0 = ask_child_until_near_expiry("ghost.com.", "ns1.ghost.com.", GHOST, ns,
						 sizeof(ns), &ttl);
	cr_assert_leq(ttl, 10, "the child's NS answers did not extend the cut (%u s left)", ttl);
	expect_gone_after_parent_ttl(t0, "after.ghost.com.", GHOST,
				     "resolved through the ghost's servers after the parent's TTL");
}

Test(iter, a_phoenix_domain_that_renamed_its_servers_stops_resolving_after_the_parent_ttl)
{
	/* The child switches to new NS names (ns2, at another address), then the parent removes
	 * the delegation: the new names must neither become the cut nor restart its TTL. */
	char ns[VG_NAME_TEXT_MAX];
	uint32_t ttl = 0;
	int64_t t0 = ask_child_until_near_expiry("phoenix.com.", "ns2.phoenix.com.", GHOST2, ns,
						 sizeof(ns), &ttl);
	struct result res;
	resolve("phoenix.com.", VG_TYPE_NS, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "phoenix.com.", LDNS_RR_TYPE_NS,
			 "ns2.phoenix.com."),
		  "the child's NS set still answers NS questions");
	free_result(&res);
	cr_assert_str_eq(ns, "ns1.phoenix.com.", "the cut keeps the parent's server names");
	cr_assert_leq(ttl, 10, "%u s left", ttl);
	expect_gone_after_parent_ttl(t0, "after.phoenix.com.", GHOST2,
				     "resolved through the renamed servers after the parent's TTL");
}

Test(iter, a_subzone_delegated_by_a_removed_zone_stops_resolving_with_it)
{
	/* ghost.com. (600 s at com.) delegates sub.ghost.com. for a day: once com. removes
	 * ghost.com. and its 600 s are over, the subzone must not live on through its own cut. */
	size_t before = ghost_zone("ghost.com.", "ns1.ghost.com.", GHOST);
	for (size_t i = 0; i < F.n_servers; i++) {
		if (strcmp(F.servers[i].apex, "ghost.com."))
			continue;
		fake_rr(&F.servers[i], "sub.ghost.com. 86400 IN NS ns.sub.ghost.com.");
		fake_rr(&F.servers[i], "ns.sub.ghost.com. 86400 IN A " GHOST2);
	}
	struct fake_server *sub = fake_server(&F, GHOST2, "sub.ghost.com.", FAKE_AUTH);
	fake_rr(sub, SOA("sub.ghost.com."));
	fake_rr(sub, "www.sub.ghost.com. 86400 IN A 192.0.2.68");
	fake_rr(sub, "after.sub.ghost.com. 86400 IN A 192.0.2.69");
	start_resolver();
	int64_t t0 = F.wall;
	struct result res;
	resolve("www.sub.ghost.com.", VG_TYPE_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.sub.ghost.com.", LDNS_RR_TYPE_A, NULL));
	free_result(&res);
	F.servers[1].n_rrs = before;
	expect_gone_after_parent_ttl(t0, "after.sub.ghost.com.", GHOST2,
				     "the subzone outlived the zone that delegated it");
}

/* ---- sub-requests report back through a continuation (vg_iq_sub_start) ---- */

struct keys_seen {
	unsigned calls;
	bool answered, parent_waited;
	uint16_t rcode, qtype, type;
	size_t n_sets;
	unsigned n_rrs, n_sigs;
	uint8_t sec, rank;
};

/* What the validator will do with a DNSKEY sub-request: take the RRset, then resume. */
static void on_keys(struct vg_iq *p, const struct vg_sub_result *res, void *ctx)
{
	struct keys_seen *k = ctx;
	k->calls++;
	k->parent_waited = p->state == IQ_WAIT_SUB;
	k->answered = res->answered;
	k->rcode = res->rcode;
	k->qtype = res->qtype;
	k->n_sets = res->n_sets;
	if (res->n_sets) {
		k->type = res->sets[0]->type;
		k->n_rrs = res->sets[0]->n_rrs;
		k->n_sigs = res->sets[0]->n_sigs;
		k->sec = res->sets[0]->sec;
		k->rank = res->sets[0]->rank;
	}
	p->state = IQ_START; /* resume: the parent goes on with its own question */
}

struct sub_start {
	const char *parent, *name;
	uint16_t parent_type, type;
	int depth; /* the parent's nesting */
	struct keys_seen *seen;
	int rc;
	bool complete; /* end the parent's request after the attempt */
};

/* A background request whose root iq is stopped where it waits for its first reply, then the
 * sub-request started from it (inside one resolver entry, as the iterator would). */
static int sub_start_entry(void *arg)
{
	struct sub_start *s = arg;
	uint8_t pn[VG_NAME_MAX], sn[VG_NAME_MAX];
	vg_name_from_text(s->parent, pn);
	vg_name_from_text(s->name, sn);
	struct vg_req *req = vg_req_start_background(R, pn, s->parent_type, false);
	cr_assert_not_null(req);
	cr_assert_eq(req->root->state, IQ_WAIT_REPLY);
	vg_iq_cancel(req->root);
	req->root->depth = s->depth;
	s->rc = vg_iq_sub_start(req->root, sn, s->type, on_keys, s->seen);
	if (s->complete) {
		req->root->state = IQ_FAIL;
		vg_req_complete(req);
	}
	return 0;
}

Test(iter, a_parent_starts_a_dnskey_sub_request_receives_its_rrset_and_resumes)
{
	struct fake_server *s = server_of(EXCOM, "example.com.");
	fake_rr(s, "example.com. 3600 IN DNSKEY 257 3 13 "
		   "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+"
		   "KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==");
	fake_rr(s, "example.com. 3600 IN DNSKEY 256 3 13 "
		   "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+"
		   "KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==");
	fake_rr(s, "example.com. 3600 IN RRSIG DNSKEY 13 2 3600 20301231000000 20200101000000 "
		   "31589 example.com. AAAA"); /* expiry within 2^31 s of the fake clock (RFC 4034
						  §3.1.5) */
	C.qname_minimisation = false;
	start_resolver();
	struct keys_seen k = {0};
	struct sub_start st = {.parent = "www.example.com.",
			       .parent_type = VG_TYPE_A,
			       .name = "example.com.",
			       .type = VG_TYPE_DNSKEY,
			       .seen = &k};
	vg_resolver_entry(R, sub_start_entry, &st);
	cr_assert_eq(st.rc, 0);
	fake_run(&F, 120000);
	vg_cache_sync(cache);

	cr_assert_eq(k.calls, 1, "the continuation runs once");
	cr_assert(k.parent_waited, "the parent waited for it in IQ_WAIT_SUB");
	cr_assert(k.answered);
	cr_assert_eq(k.rcode, VG_RCODE_NOERROR);
	cr_assert_eq(k.qtype, VG_TYPE_DNSKEY);
	cr_assert_eq(k.n_sets, 1);
	cr_assert_eq(k.type, VG_TYPE_DNSKEY);
	cr_assert_eq(k.n_rrs, 2);
	cr_assert_eq(k.n_sigs, 1, "the RRSIG comes attached to the DNSKEY set");
	cr_assert_eq(k.sec, VG_SEC_INDETERMINATE, "no validator ran");
	cr_assert_eq(k.rank, VG_RANK_AUTH_ANSWER | VG_RANK_ITERATED);
	cr_assert_eq(fake_count(&F, EXCOM, "example.com.", VG_TYPE_DNSKEY), 1);
	/* The parent resumed and finished its own question. */
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A), 1);
	cr_assert_eq(R->reqs, NULL, "no request left in flight");

	/* A second parent finds the keys in the cache: same result, no query. */
	struct keys_seen k2 = {0};
	st.seen = &k2;
	st.parent = "alias.example.com.";
	vg_resolver_entry(R, sub_start_entry, &st);
	fake_run(&F, 120000);
	cr_assert_eq(k2.calls, 1);
	cr_assert_eq(k2.n_sets, 1);
	cr_assert_eq(k2.n_rrs, 2);
	cr_assert_eq(k2.n_sigs, 1);
	cr_assert_eq(k2.sec, VG_SEC_INDETERMINATE, "the status as stored");
	cr_assert_eq(fake_count(&F, EXCOM, "example.com.", VG_TYPE_DNSKEY), 1);
}

Test(iter, a_sub_request_that_fails_reports_servfail_and_its_ede)
{
	start_resolver();
	struct keys_seen k = {0};
	struct sub_start st = {.parent = "www.example.com.",
			       .parent_type = VG_TYPE_A,
			       .name = "www.glueless.com.", /* its server refuses below */
			       .type = VG_TYPE_DNSKEY,
			       .seen = &k};
	server_of(EXNET, "glueless.com.")->mode = FAKE_REFUSED;
	vg_resolver_entry(R, sub_start_entry, &st);
	cr_assert_eq(st.rc, 0);
	fake_run(&F, 120000);
	cr_assert_eq(k.calls, 1);
	cr_assert_not(k.answered);
	cr_assert_eq(k.rcode, VG_RCODE_SERVFAIL);
	cr_assert_eq(k.n_sets, 0);
	cr_assert_eq(fake_count(&F, EXCOM, "www.example.com.", VG_TYPE_A), 1, "resumed anyway");
}

Test(iter, sub_requests_are_bounded_by_depth_and_loops)
{
	start_resolver();
	struct keys_seen k = {0};
	/* The question an ancestor asks: a loop. */
	struct sub_start st = {.parent = "www.example.com.",
			       .parent_type = VG_TYPE_A,
			       .name = "www.example.com.",
			       .type = VG_TYPE_A,
			       .seen = &k,
			       .complete = true};
	vg_resolver_entry(R, sub_start_entry, &st);
	cr_assert_eq(st.rc, VG_ELIMIT);
	/* Nested too deep. */
	st.name = "example.com.";
	st.type = VG_TYPE_DNSKEY;
	st.depth = VG_MAX_SUB_DEPTH;
	vg_resolver_entry(R, sub_start_entry, &st);
	cr_assert_eq(st.rc, VG_ELIMIT);
	fake_run(&F, 120000);
	cr_assert_eq(k.calls, 0, "nothing started");
	cr_assert_eq(fake_count(&F, NULL, "example.com.", VG_TYPE_DNSKEY), 0);
}
