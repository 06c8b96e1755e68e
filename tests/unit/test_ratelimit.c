/* Unit tests of the per-client token bucket (daemon/ratelimit.c), with an injected clock. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <vigil/addr.h>
#include "ratelimit.h"

static struct vg_ratelimit rl;

static void fini(void)
{
	vg_ratelimit_free(&rl);
}

TestSuite(ratelimit, .fini = fini);

static enum vg_rl_verdict check(const char *addr, uint64_t now)
{
	struct vg_sockaddr sa;
	cr_assert_eq(vg_sockaddr_parse(addr, 53, &sa), 0, "bad test address %s", addr);
	return vg_ratelimit_check(&rl, &sa.u.sa, now);
}

/* Sends `n` queries at `now` and counts the verdicts. */
static void burst(const char *addr, uint64_t now, int n, int counts[3])
{
	memset(counts, 0, 3 * sizeof(int));
	for (int i = 0; i < n; i++)
		counts[check(addr, now)]++;
}

Test(ratelimit, rate_zero_always_passes)
{
	cr_assert_eq(vg_ratelimit_init(&rl, 0, 0, 0), 0);
	cr_assert_null(rl.slots, "rate 0 must not take memory");
	for (int i = 0; i < 10000; i++)
		cr_assert_eq(check("192.0.2.1", 0), VG_RL_PASS);
}

Test(ratelimit, burst_then_limited)
{
	int c[3];
	cr_assert_eq(vg_ratelimit_init(&rl, 10, 20, 1024), 0);
	burst("192.0.2.1", 1000, 20, c);
	cr_assert_eq(c[VG_RL_PASS], 20, "the burst must pass whole");
	burst("192.0.2.1", 1000, 10, c);
	cr_assert_eq(c[VG_RL_PASS], 0);
	cr_assert_eq(c[VG_RL_SLIP] + c[VG_RL_DROP], 10);
	/* Another client is not affected. */
	burst("192.0.2.2", 1000, 20, c);
	cr_assert_eq(c[VG_RL_PASS], 20);
}

Test(ratelimit, burst_zero_means_rate)
{
	int c[3];
	cr_assert_eq(vg_ratelimit_init(&rl, 5, 0, 64), 0);
	burst("192.0.2.1", 0, 8, c);
	cr_assert_eq(c[VG_RL_PASS], 5);
}

Test(ratelimit, refills_with_injected_time)
{
	int c[3];
	cr_assert_eq(vg_ratelimit_init(&rl, 10, 10, 64), 0);
	burst("192.0.2.1", 5000, 10, c);
	cr_assert_eq(c[VG_RL_PASS], 10);
	cr_assert_neq(check("192.0.2.1", 5000), VG_RL_PASS);
	/* 10/s: one token per 100 ms. */
	cr_assert_neq(check("192.0.2.1", 5099), VG_RL_PASS, "refilled too early");
	cr_assert_eq(check("192.0.2.1", 5100), VG_RL_PASS);
	cr_assert_neq(check("192.0.2.1", 5100), VG_RL_PASS);
	/* Half a second: five tokens. */
	burst("192.0.2.1", 5600, 10, c);
	cr_assert_eq(c[VG_RL_PASS], 5);
	/* A long pause refills no more than the bucket. */
	burst("192.0.2.1", 1000000, 30, c);
	cr_assert_eq(c[VG_RL_PASS], 10);
	/* A clock that steps back refills nothing and does not break. */
	burst("192.0.2.1", 999000, 5, c);
	cr_assert_eq(c[VG_RL_PASS], 0);
}

Test(ratelimit, every_second_limited_query_slips)
{
	cr_assert_eq(vg_ratelimit_init(&rl, 1, 1, 64), 0);
	cr_assert_eq(check("2001:db8::1", 0), VG_RL_PASS);
	enum vg_rl_verdict want[] = {VG_RL_SLIP, VG_RL_DROP, VG_RL_SLIP, VG_RL_DROP, VG_RL_SLIP};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(check("2001:db8::1", 10), want[i], "limited query %zu", i + 1);
	/* After a pass the pattern starts again with a slip. */
	cr_assert_eq(check("2001:db8::1", 1010), VG_RL_PASS);
	cr_assert_eq(check("2001:db8::1", 1010), VG_RL_SLIP);
	cr_assert_eq(check("2001:db8::1", 1010), VG_RL_DROP);
}

Test(ratelimit, ipv6_clients_share_a_bucket_per_56)
{
	int c[3];
	cr_assert_eq(vg_ratelimit_init(&rl, 4, 4, 64), 0);
	burst("2001:db8:0:1::1", 0, 2, c);
	cr_assert_eq(c[VG_RL_PASS], 2);
	burst("2001:db8:0:ff:abcd::9", 0, 4, c); /* same /56 */
	cr_assert_eq(c[VG_RL_PASS], 2);
	burst("2001:db8:0:100::1", 0, 4, c); /* next /56 */
	cr_assert_eq(c[VG_RL_PASS], 4);
}

Test(ratelimit, v4_mapped_counts_as_the_ipv4_client)
{
	int c[3];
	cr_assert_eq(vg_ratelimit_init(&rl, 3, 3, 64), 0);
	burst("192.0.2.7", 0, 2, c);
	burst("::ffff:192.0.2.7", 0, 3, c);
	cr_assert_eq(c[VG_RL_PASS], 1);
	/* Mapped clients are not lumped together by their /56. */
	burst("::ffff:192.0.2.8", 0, 3, c);
	cr_assert_eq(c[VG_RL_PASS], 3);
}

Test(ratelimit, many_sources_keep_memory_bounded)
{
	int c[3];
	cr_assert_eq(vg_ratelimit_init(&rl, 2, 2, 100), 0);
	cr_assert_eq(rl.mask + 1, 128, "slots rounded to a power of two");
	struct vg_rl_slot *slots = rl.slots;
	char addr[64];
	/* Far more sources than slots: the table never grows, every new source gets a bucket. */
	for (int i = 0; i < 50000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		cr_assert_eq(check(addr, (uint64_t)i), VG_RL_PASS);
	}
	cr_assert_eq(rl.slots, slots);
	cr_assert_eq(rl.mask + 1, 128);
	/* A client that keeps querying stays limited while others churn less recently. */
	burst("192.0.2.1", 60000, 5, c);
	cr_assert_eq(c[VG_RL_PASS], 2);
	burst("192.0.2.1", 60000, 2, c);
	cr_assert_eq(c[VG_RL_PASS], 0);
}

Test(ratelimit, hash_key_is_random_per_table)
{
	struct vg_ratelimit other;
	cr_assert_eq(vg_ratelimit_init(&rl, 1, 1, 64), 0);
	cr_assert_eq(vg_ratelimit_init(&other, 1, 1, 64), 0);
	cr_assert(rl.seed[0] != other.seed[0] || rl.seed[1] != other.seed[1]);
	vg_ratelimit_free(&other);
	cr_assert_null(other.slots);
}

/* ---- max-pending-per-client: the shared counter table ---- */

static long take(struct vg_pending *p, const char *addr, uint32_t limit)
{
	struct vg_sockaddr sa;
	cr_assert_eq(vg_sockaddr_parse(addr, 53, &sa), 0, "bad test address %s", addr);
	return vg_pending_take(p, &sa.u.sa, limit);
}

Test(ratelimit, pending_admits_exactly_the_limit_and_one_more_after_a_release)
{
	struct vg_pending *p;
	cr_assert_eq(vg_pending_new(0, &p), 0);
	long s[3];
	for (int i = 0; i < 3; i++)
		cr_assert_geq(s[i] = take(p, "192.0.2.1", 3), 0, "query %d is within the limit", i);
	cr_assert_eq(take(p, "192.0.2.1", 3), -1, "the 4th waiting query is over the limit");
	cr_assert_eq(take(p, "192.0.2.1", 3), -1, "a refused query counts nothing");
	vg_pending_release(p, s[1]);
	cr_assert_geq(s[1] = take(p, "192.0.2.1", 3), 0, "an answered query frees its place");
	cr_assert_eq(take(p, "192.0.2.1", 3), -1);
	cr_assert_geq(take(p, "192.0.2.2", 3), 0, "another client has its own count");
	cr_assert_geq(take(p, "192.0.2.1", 4), 0, "a raised limit (reload) applies at once");
	vg_pending_free(p);
}

Test(ratelimit, pending_limit_one_and_limit_zero_is_off)
{
	struct vg_pending *p;
	cr_assert_eq(vg_pending_new(64, &p), 0);
	long s = take(p, "2001:db8::1", 1);
	cr_assert_geq(s, 0);
	cr_assert_eq(take(p, "2001:db8::1", 1), -1);
	cr_assert_eq(take(p, "2001:db8:0:ff::2", 1), -1, "one /56 is one client");
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(take(p, "2001:db8::1", 0), -2, "limit 0 counts nothing");
	vg_pending_release(p, -2);
	vg_pending_release(p, -1);
	vg_pending_release(p, s);
	struct vg_sockaddr sa;
	vg_sockaddr_parse("2001:db8::1", 53, &sa);
	cr_assert_eq(vg_pending_count(p, &sa.u.sa), 0, "back to zero, never below");
	vg_pending_free(p);
}
