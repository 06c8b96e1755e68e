/* Unit tests of the cache under a full map and a full write queue: eviction order and progress. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "cache_test.h"

TestSuite(cache_evict, .init = mkdir_tmp, .fini = rm_tmp);

Test(cache_evict, full_small_map_evicts_keeps_serving_and_never_wipes)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20;
	struct vg_cache *c = open_with(&o);
	vg_cache_start_writer(c);
	char name[64];
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	uint8_t ns[VG_NAME_MAX];
	uint16_t nl = (uint16_t)W("ns.hot.", ns);
	put_rrset(c, "hot.", 2, 86400, 0x14, 0, ns, nl, T0);
	put_a_answer(c, "hot.example.", 86400, 0x15, 0, T0);
	vg_cache_sync(c);
	int ok_puts = 0;
	for (int i = 0; i < 30000; i++) {
		uint32_t now = T0 + (uint32_t)i / 100;
		fake_now = now;
		snprintf(name, sizeof(name), "filler-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, now);
		if (i % 500 == 0) {
			vg_cache_sync(c);
			/* the hot entry is used all along: its recency stamp keeps it */
			cr_assert_eq(get_answer(c, "hot.example.", 1, now, out, &len, &fl, 0), 0,
				     "hot entry evicted at %d", i);
		}
		ok_puts++;
	}
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_gt(st.evicted, 0, "nothing evicted");
	cr_assert_gt(st.answers, 1000, "cache was wiped: %llu left",
		     (unsigned long long)st.answers);
	cr_assert_lt(st.answers, 30000);
	cr_assert_leq(st.used_bytes, o.map_size);
	/* newest entries are there, zone-cut NS kept */
	cr_assert_eq(get_answer(c, "filler-29999.example.", 1, fake_now, out, &len, &fl, 0), 0);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "hot.", 2, fake_now, 0, &v, buf), 0, "delegation NS evicted");
	cr_assert_eq(ok_puts, 30000);
	vg_cache_close(c);
}

Test(cache_evict, full_queue_drops_data_but_not_flushes)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.queue_max = 4;
	struct vg_cache *c = open_with(&o); /* no writer thread: nothing drains until sync */
	char name[32];
	int dropped = 0;
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "q%d.example.", i);
		if (try_put_a_answer(c, name, 300, 0x15, 0, T0) == VG_ELIMIT)
			dropped++;
	}
	cr_assert_eq(dropped, 2);
	cr_assert_eq(vg_cache_flush_negative(c), 0, "control op dropped on a full queue");
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.dropped, 2);
	cr_assert_eq(st.answers, 4);
	vg_cache_close(c);
}

Test(cache_evict, eviction_takes_expired_entries_before_older_live_ones)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20;
	o.stale_max = 0;
	struct vg_cache *c = open_with(&o);
	char name[64];
	/* live but least recently used */
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "live-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0);
	}
	/* used more recently, but expired by the time the map fills */
	for (int i = 0; i < 1500; i++) {
		snprintf(name, sizeof(name), "short-%d.example.", i);
		put_a_answer(c, name, 10, 0x15, 0, T0 + 50);
	}
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.evicted, 0, "the test must fill the map only after the short TTLs end");
	fake_now = T0 + 100;
	for (int i = 0; i < 4000; i++) {
		snprintf(name, sizeof(name), "fresh-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0 + 100);
		if (i % 100 == 99) {
			vg_cache_sync(c);
			vg_cache_stats(c, &st);
			if (st.evicted > 500)
				break;
		}
	}
	vg_cache_sync(c);
	vg_cache_stats(c, &st);
	cr_assert_gt(st.evicted, 500, "map never filled: %llu", (unsigned long long)st.evicted);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "live-%d.example.", i);
		cr_assert_eq(get_answer(c, name, 1, T0 + 100, out, &len, &fl, 0), 0,
			     "live entry %s evicted while expired ones were left", name);
	}
	vg_cache_close(c);
}

Test(cache_evict, eviction_spares_a_recently_used_zone_and_takes_the_cold_one)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20;
	struct vg_cache *c = open_with(&o);
	char name[64];
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "hot-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0);
	}
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "cold-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0 + 10);
	}
	vg_cache_sync(c);
	/* the hot zone's names are used (one reader: the touches are queued once each) */
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	for (int i = 0; i < 300; i++) {
		uint8_t q[VG_NAME_MAX];
		snprintf(name, sizeof(name), "hot-%d.example.", i);
		size_t ql = W(name, q);
		cr_assert_eq(vg_cache_answer_get(rd, q, ql, 1, false, false, 1, T0 + 40, out,
						 sizeof(out), &len, &fl, 0),
			     0);
	}
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.evicted, 0);
	cr_assert_eq(st.touches, 300);
	fake_now = T0 + 50;
	/* enough new names that the eviction hand passes the hot zone several times */
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "new-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0 + 50);
		if (i % 100 == 99) {
			vg_cache_sync(c);
			vg_cache_stats(c, &st);
			if (st.evicted > 5000)
				break;
		}
	}
	cr_assert_gt(st.evicted, 5000, "map never filled");
	int lost = 0;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "hot-%d.example.", i);
		lost += get_answer(c, name, 1, T0 + 50, out, &len, &fl, 0) != 0;
	}
	cr_assert_eq(lost, 0, "%d names of the recently used zone evicted before cold ones", lost);
	vg_cache_close(c);
}

Test(cache_evict, eviction_progresses_when_every_entry_scores_the_same)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20;
	struct vg_cache *c = open_with(&o);
	char name[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "same-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0); /* stored and used alike: equal scores */
		if (i % 100 == 99)
			vg_cache_sync(c);
	}
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_gt(st.evicted, 10000);
	cr_assert_eq(st.dropped, 0, "eviction stalled on ties: %llu writes dropped",
		     (unsigned long long)st.dropped);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "same-19999.example.", 1, T0, out, &len, &fl, 0), 0);
	vg_cache_close(c);
}
