/* Unit tests of server selection: smoothed RTT, backoff, hold-down, lameness, exploration and
 * the address policy for upstream queries. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <vigil/name.h>
#include <vigil/resolver.h>
#include "internal.h"

static struct vg_sockaddr addr(const char *s)
{
	struct vg_sockaddr a;
	cr_assert_eq(vg_sockaddr_parse(s, 53, &a), 0, "%s", s);
	return a;
}

Test(select, prefers_the_server_with_the_lowest_smoothed_rtt)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr c[2] = {addr("192.0.2.1"), addr("192.0.2.2")};
	for (int i = 0; i < 5; i++) {
		vg_select_rtt(s, &c[0], 120);
		vg_select_rtt(s, &c[1], 20);
	}
	bool tried[2] = {false, false};
	cr_assert_eq(vg_select_pick(s, c, 2, tried, NULL, 0, 1023), 1);
	tried[1] = true;
	cr_assert_eq(vg_select_pick(s, c, 2, tried, NULL, 0, 1023), 0, "tried servers skipped");
	vg_select_free(s);
}

Test(select, smoothing_follows_rfc6298)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr a = addr("192.0.2.1");
	vg_select_rtt(s, &a, 100);
	struct vg_srv_info *in = vg_select_get(s, &a);
	cr_assert_eq(in->srtt_ms, 100);
	cr_assert_eq(in->rttvar_ms, 50);
	vg_select_rtt(s, &a, 20);
	in = vg_select_get(s, &a);
	cr_assert_eq(in->srtt_ms, (7 * 100 + 20) / 8);
	cr_assert_eq(in->rttvar_ms, (3 * 50 + 80) / 4);
	vg_select_free(s);
}

Test(select, timeouts_back_off_and_then_hold_the_server_down)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr a = addr("192.0.2.1");
	uint32_t r0 = vg_select_rto(s, &a);
	cr_assert_eq(r0, VG_RTO_INITIAL_MS);
	vg_select_timeout(s, &a, 1000, 1000);
	cr_assert_eq(vg_select_rto(s, &a), 2 * r0);
	cr_assert(!vg_select_held(s, &a, 1000));
	for (int i = 1; i < VG_HOLDDOWN_AFTER; i++)
		vg_select_timeout(s, &a, 1000, 1000);
	cr_assert(vg_select_held(s, &a, 1000));
	cr_assert(vg_select_held(s, &a, 1000 + VG_HOLDDOWN_MS - 1));
	cr_assert(!vg_select_held(s, &a, 1000 + VG_HOLDDOWN_MS), "hold-down ends");
	bool tried[1] = {true};
	cr_assert_eq(vg_select_pick(s, &a, 1, tried, NULL, 2000, 0), -1, "held and tried");
	/* an answer clears the record */
	vg_select_rtt(s, &a, 10);
	cr_assert(!vg_select_held(s, &a, 2000));
	vg_select_free(s);
}

/* A server that goes quiet for a moment under a burst: every query in flight then times out, but
 * that is one silence. Before, 3 of 200 parallel timeouts held it down for 30 s, and with both
 * of a zone's servers held every question for the zone failed at once (14% SERVFAIL in a
 * 3,000-miss dnsperf run at load 30). */
Test(select, parallel_timeouts_of_one_silence_count_once)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr a = addr("192.0.2.1");
	uint32_t r0 = vg_select_rto(s, &a);
	/* 200 queries sent between t=1000 and t=1199, all timing out from t=1400 */
	for (int i = 0; i < 200; i++)
		vg_select_timeout(s, &a, 1400 + (uint64_t)i, 1000 + (uint64_t)i);
	cr_assert_eq(vg_select_rto(s, &a), 2 * r0, "backed off once");
	cr_assert(!vg_select_held(s, &a, 1600), "not held down for one silence");
	/* queries sent after each counted silence are new silences: a dead server is held down
	 * after VG_HOLDDOWN_AFTER rounds, as with one query at a time */
	uint64_t t = 1600;
	for (int i = 1; i < VG_HOLDDOWN_AFTER; i++, t += 1000)
		vg_select_timeout(s, &a, t + 800, t);
	cr_assert(vg_select_held(s, &a, t));
	/* what was in flight when it was held down does not start the next count */
	vg_select_rtt(s, &a, 10);
	vg_select_timeout(s, &a, t + 100, t - 900);
	cr_assert_eq(vg_select_rto(s, &a), VG_RTO_MIN_MS, "not backed off: srtt 10 + 4 x 5, clamped");
	vg_select_free(s);
}

Test(select, an_all_held_down_zone_still_gets_one_probe)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr c[3] = {addr("192.0.2.1"), addr("192.0.2.2"), addr("192.0.2.3")};
	/* .2 is held down first (at t=1000), .1 and .3 later (t=5000): .2's hold ends first. */
	for (int i = 0; i < VG_HOLDDOWN_AFTER; i++)
		vg_select_timeout(s, &c[1], 1000, 1000);
	for (int i = 0; i < VG_HOLDDOWN_AFTER; i++) {
		vg_select_timeout(s, &c[0], 5000, 5000);
		vg_select_timeout(s, &c[2], 5000, 5000);
	}
	bool tried[3] = {false, false, false};
	for (int i = 0; i < 3; i++)
		cr_assert(vg_select_held(s, &c[i], 6000));
	cr_assert_eq(vg_select_pick(s, c, 3, tried, NULL, 6000, 0), 1,
		     "every address held down: the one whose hold-down ends first is probed");
	tried[1] = true;
	cr_assert_eq(vg_select_pick(s, c, 3, tried, NULL, 6000, 0), -1, "one probe per pass");
	/* The probe answers: the zone is back at once. */
	vg_select_rtt(s, &c[1], 20);
	cr_assert(!vg_select_held(s, &c[1], 6000));
	tried[1] = false;
	cr_assert_eq(vg_select_pick(s, c, 3, tried, NULL, 6000, 0), 1);
	vg_select_free(s);
}

Test(select, held_down_servers_are_not_probed_while_another_is_up)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr c[2] = {addr("192.0.2.1"), addr("192.0.2.2")};
	for (int i = 0; i < VG_HOLDDOWN_AFTER; i++)
		vg_select_timeout(s, &c[0], 1000, 1000);
	bool tried[2] = {false, true}; /* .2 is up but already tried in this pass */
	cr_assert_eq(vg_select_pick(s, c, 2, tried, NULL, 2000, 0), -1,
		     "the zone is not all held down: no probe, the next pass retries .2");
	vg_select_free(s);
}

Test(select, rto_is_capped)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr a = addr("192.0.2.1");
	vg_select_rtt(s, &a, 2900);
	vg_select_timeout(s, &a, 0, 0);
	cr_assert_eq(vg_select_rto(s, &a), VG_RTO_MAX_MS);
	vg_select_free(s);
}

Test(select, lame_servers_are_skipped_for_that_zone_only)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr c[2] = {addr("192.0.2.1"), addr("192.0.2.2")};
	uint8_t z1[VG_NAME_MAX], z2[VG_NAME_MAX];
	vg_name_from_text("example.com.", z1);
	vg_name_from_text("example.net.", z2);
	vg_select_rtt(s, &c[0], 1);
	vg_select_rtt(s, &c[1], 100);
	vg_select_lame_set(s, &c[0], z1, 0);
	bool tried[2] = {false, false};
	cr_assert_eq(vg_select_pick(s, c, 2, tried, z1, 10, 1023), 1);
	cr_assert_eq(vg_select_pick(s, c, 2, tried, z2, 10, 1023), 0);
	cr_assert(!vg_select_is_lame(s, &c[0], z1, VG_LAME_MS + 1), "lameness is forgotten");
	vg_select_free(s);
}

Test(select, a_small_share_of_picks_explores)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr c[3] = {addr("192.0.2.1"), addr("192.0.2.2"), addr("192.0.2.3")};
	vg_select_rtt(s, &c[0], 1);
	vg_select_rtt(s, &c[1], 200);
	vg_select_rtt(s, &c[2], 300);
	bool tried[3] = {false};
	unsigned other = 0;
	uint32_t x = 1;
	for (int i = 0; i < 10000; i++) {
		x = x * 1664525u + 1013904223u;
		other += vg_select_pick(s, c, 3, tried, NULL, 0, x >> 2) != 0;
	}
	cr_assert(other > 100 && other < 1000, "about 5%% explore, got %u of 10000", other);
	vg_select_free(s);
}

Test(select, table_stays_bounded)
{
	struct vg_select *s = vg_select_new(16);
	char buf[64];
	for (int i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "198.51.%d.%d", i / 250, i % 250);
		struct vg_sockaddr a = addr(buf);
		cr_assert_not_null(vg_select_get(s, &a));
	}
	vg_select_free(s);
}

/* The i-th address of a flood: distinct IPv4 and IPv6 addresses and ports. */
static struct vg_sockaddr flood_addr(int i)
{
	char buf[64];
	struct vg_sockaddr a;
	if (i % 3 == 2)
		snprintf(buf, sizeof(buf), "2001:db8::%x:%x", i >> 16, i & 0xffff);
	else
		snprintf(buf, sizeof(buf), "198.%d.%d.%d", 18 + (i >> 16), (i >> 8) & 255, i & 255);
	cr_assert_eq(vg_sockaddr_parse(buf, (uint16_t)(53 + (i % 3 == 1)), &a), 0, "%s", buf);
	return a;
}

/* An RTT that tells entries apart through their RTO (3 x rtt for an even first measurement). */
static uint32_t tag_rtt(int i)
{
	return 20 + 2 * (uint32_t)(i % 400);
}

Test(select, filling_the_table_past_its_bound_evicts_the_least_recently_used_only)
{
	struct vg_select *s = vg_select_new(16);
	for (int i = 0; i < 16; i++) {
		struct vg_sockaddr a = flood_addr(i);
		vg_select_rtt(s, &a, tag_rtt(i));
	}
	/* Use entries 0..3 again: now 4..15 are the least recently used. */
	for (int i = 0; i < 4; i++) {
		struct vg_sockaddr a = flood_addr(i);
		cr_assert_eq(vg_select_rto(s, &a), 3 * tag_rtt(i));
	}
	for (int i = 16; i < 20; i++) {
		struct vg_sockaddr a = flood_addr(i);
		vg_select_rtt(s, &a, tag_rtt(i));
	}
	for (int i = 0; i < 20; i++) {
		struct vg_sockaddr a = flood_addr(i);
		bool evicted = i >= 4 && i < 8;
		cr_assert_eq(vg_select_rto(s, &a), evicted ? VG_RTO_INITIAL_MS : 3 * tag_rtt(i),
			     "entry %d", i);
	}
	vg_select_free(s);
}

Test(select, a_recently_used_server_keeps_its_holddown_rtt_and_edns_state_under_a_flood)
{
	struct vg_select *s = vg_select_new(64);
	struct vg_sockaddr v = addr("192.0.2.53"), w = addr("192.0.2.54");
	vg_select_rtt(s, &v, 40);
	vg_select_rtt(s, &w, 40);
	vg_select_get(s, &v)->no_edns_until = 1000 + VG_NO_EDNS_MS;
	vg_select_get(s, &w)->no_edns_until = 1000 + VG_NO_EDNS_MS;
	for (int i = 0; i < VG_HOLDDOWN_AFTER; i++) {
		vg_select_timeout(s, &v, 1000, 1000);
		vg_select_timeout(s, &w, 1000, 1000);
	}
	cr_assert(vg_select_held(s, &v, 1000));
	uint32_t rto = vg_select_rto(s, &v);
	/* A hostile zone's glue: 10,000 new addresses, while v is asked about now and then. */
	for (int i = 0; i < 10000; i++) {
		struct vg_sockaddr a = flood_addr(i);
		vg_select_timeout(s, &a, 1000, 1000);
		if (i % 32 == 0)
			cr_assert(vg_select_held(s, &v, 1000), "v lost its hold-down at %d", i);
	}
	cr_assert(vg_select_held(s, &v, 1000), "hold-down kept");
	cr_assert_eq(vg_select_rto(s, &v), rto, "RTT state kept");
	cr_assert_eq(vg_select_get(s, &v)->no_edns_until, 1000 + VG_NO_EDNS_MS, "EDNS state kept");
	cr_assert(!vg_select_held(s, &w, 1000),
		  "an idle server is forgotten: the table is bounded");
	vg_select_free(s);
}

Test(select, a_recently_used_lameness_survives_a_flood_of_lame_pairs)
{
	struct vg_select *s = vg_select_new(64); /* 32 lame pairs */
	struct vg_sockaddr v = addr("192.0.2.53");
	uint8_t z[VG_NAME_MAX], other[VG_NAME_MAX];
	vg_name_from_text("example.com.", z);
	vg_select_lame_set(s, &v, z, 0);
	char buf[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "z%d.evil.example.", i);
		vg_name_from_text(buf, other);
		struct vg_sockaddr a = flood_addr(i);
		vg_select_lame_set(s, &a, other, 0);
		if (i % 8 == 0)
			cr_assert(vg_select_is_lame(s, &v, z, 10), "lameness lost at %d", i);
	}
	cr_assert(vg_select_is_lame(s, &v, z, 10));
	vg_select_free(s);
}

Test(select, lookups_stay_correct_under_many_colliding_inserts)
{
	/* 16 entries in 16 buckets, 20,000 inserts: chains form and are cut on every eviction. */
	struct vg_select *s = vg_select_new(16);
	for (int i = 0; i < 20000; i++) {
		struct vg_sockaddr a = flood_addr(i);
		vg_select_rtt(s, &a, tag_rtt(i));
		if (i % 97 != 0)
			continue;
		/* The 16 newest are there with their own state (oldest first keeps the order). */
		for (int j = i - 15 < 0 ? 0 : i - 15; j <= i; j++) {
			struct vg_sockaddr b = flood_addr(j);
			cr_assert_eq(vg_select_rto(s, &b), 3 * tag_rtt(j), "entry %d after %d", j,
				     i);
		}
		if (i >= 16) {
			struct vg_sockaddr old = flood_addr(i - 16);
			cr_assert_eq(vg_select_rto(s, &old), VG_RTO_INITIAL_MS, "%d evicted",
				     i - 16);
		}
	}
	vg_select_free(s);
}

Test(select, local_addresses_need_query_local_addresses)
{
	struct vg_addr_policy cfg = {.do_ip4 = true, .do_ip6 = true};
	const char *local[] = {
	    "127.0.0.1", "0.0.0.0", "10.1.2.3", "192.168.1.1", "172.16.0.1",	  "169.254.1.1",
	    "::1",	 "::",	    "fe80::1",	"fd00::1",     "::ffff:127.0.0.1"};
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		struct vg_sockaddr a = addr(local[i]);
		cr_assert(!vg_addr_allowed(&cfg, &a), "%s refused by default", local[i]);
		cfg.query_local_addresses = true;
		cr_assert(vg_addr_allowed(&cfg, &a), "%s allowed with query-local-addresses",
			  local[i]);
		cfg.query_local_addresses = false;
	}
	struct vg_sockaddr pub = addr("192.0.2.1"), pub6 = addr("2001:db8::1");
	cr_assert(vg_addr_allowed(&cfg, &pub));
	cr_assert(vg_addr_allowed(&cfg, &pub6));
}

Test(select, do_ip4_and_do_ip6_choose_the_families)
{
	struct vg_addr_policy cfg = {.do_ip4 = true, .do_ip6 = false};
	struct vg_sockaddr v4 = addr("192.0.2.1"), v6 = addr("2001:db8::1");
	cr_assert(vg_addr_allowed(&cfg, &v4));
	cr_assert(!vg_addr_allowed(&cfg, &v6));
	cfg.do_ip4 = false;
	cfg.do_ip6 = true;
	cr_assert(!vg_addr_allowed(&cfg, &v4));
	cr_assert(vg_addr_allowed(&cfg, &v6));
}
