/* Unit tests of the iterator state machine and request driver: iteration, transport, limits,
 * EDE codes, priming, forwarding (helpers and the scripted Internet in iter_test.h). */
#include "iter_test.h"

TestSuite(iter, .init = setup, .fini = teardown);

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
	/* held down: the next question costs one probe, not three rounds */
	size_t before = fake_count(&F, EXCOM, NULL, 0);
	resolve("alias.example.com.", VG_T_A, &res);
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
	resolve("www.example.com.", VG_T_A, &res);
	free_result(&res);
	struct vg_sockaddr ex = sa(EXCOM);
	cr_assert(vg_select_held(R->sel, &ex, F.now), "three timeouts: held down");
	F.servers[3].mode = FAKE_AUTH; /* back, long before the hold-down ends */
	F.now += 1000;
	resolve("www.example.com.", VG_T_A, &res);
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
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, 22);
	cr_assert_eq(fake_count(&F, EXCOM, NULL, 0), 3, "three rounds, three ICMP errors");
	free_result(&res);
	struct vg_sockaddr ex = sa(EXCOM);
	cr_assert(!vg_select_held(R->sel, &ex, F.now), "ICMP errors never hold a server down");
	cr_assert_eq(vg_select_rto(R->sel, &ex), VG_RTO_INITIAL_MS, "nor back off its RTO");
	F.servers[3].mode = FAKE_AUTH; /* the server comes up */
	resolve("www.example.com.", VG_T_A, &res);
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
	resolve("www.example.com.", VG_T_A, &res);
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
	resolve("www.twons.com.", VG_T_A, &res);
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
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	free_result(&res);
	cr_assert_geq(R->stats.upstream_local_errors, 3);
	cr_assert_eq(R->stats.upstream_local_errors, F.send_errors);
	struct vg_sockaddr ex = sa(EXCOM);
	cr_assert(!vg_select_held(R->sel, &ex, F.now));
	F.servers[3].mode = FAKE_AUTH;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
}

Test(iter, a_failed_priming_neither_blocks_queries_nor_waits_ten_seconds)
{
	F.servers[0].mode = FAKE_UNREACHABLE; /* the root is not up yet at start */
	struct vg_resolver_env env = {.cfg = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000);
	size_t primings = fake_count(&F, ROOT, ".", VG_T_NS);
	cr_assert_geq(primings, 1);
	cr_assert(!R->priming && R->primed_until == 0, "priming failed");
	F.servers[0].mode = FAKE_AUTH; /* the root comes up */
	struct result res;
	resolve("www.example.com.", VG_T_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR,
		     "iterates from the hints' addresses while not primed");
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_T_NS), primings, "no retry within 1 s");
	F.now += VG_PRIME_RETRY_MIN_MS;
	resolve("www.example.net.", VG_T_A, &res);
	free_result(&res);
	cr_assert_eq(fake_count(&F, ROOT, ".", VG_T_NS), primings + 1, "retried after 1 s");
	cr_assert_gt(R->primed_until, 0, "and primed");
}

Test(iter, priming_backoff_doubles_up_to_a_minute)
{
	F.servers[0].mode = FAKE_UNREACHABLE;
	struct vg_resolver_env env = {.cfg = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000);
	for (int i = 0; i < 8; i++) {
		uint32_t next = (uint32_t)VG_PRIME_RETRY_MIN_MS << (i + 1);
		if (next > VG_PRIME_RETRY_MAX_MS)
			next = VG_PRIME_RETRY_MAX_MS;
		cr_assert_eq(R->prime_backoff_ms, next, "after failure %d the next wait is %u ms",
			     i, next);
		size_t before = fake_count(&F, ROOT, ".", VG_T_NS);
		F.now = R->prime_retry_at - 1;
		struct result res;
		resolve("www.example.com.", VG_T_A, &res);
		free_result(&res);
		cr_assert_eq(fake_count(&F, ROOT, ".", VG_T_NS), before, "not before its time");
		F.now = R->prime_retry_at;
		resolve("www.example.net.", VG_T_A,
			&res); /* starts the next priming, which fails */
		free_result(&res);
		cr_assert_gt(fake_count(&F, ROOT, ".", VG_T_NS), before);
	}
}
