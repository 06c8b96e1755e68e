/* Cache writer thread: group commits, and what still wakes it at once (sync, a full batch, close,
 * the first put after it went idle). */
#include <stdatomic.h>
#include <time.h>

#include "cache_test.h"
#include "impl.h"

/* A timer period far beyond every bound below: with it, only a signal makes the writer act. */
#define NEVER_MS 600000u
#define BOUND_S 10.0 /* generous: the machine is shared; a missed signal waits NEVER_MS */

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_briefly(void)
{
	struct timespec ts = {0, 100000};
	nanosleep(&ts, NULL);
}

static bool visible(struct vg_cache *c, const char *qname)
{
	uint8_t out[4096];
	size_t len;
	unsigned flags;
	return get_answer(c, qname, 1, fake_now, out, &len, &flags, 0) == 0;
}

/* Polls (no sync: that would wake the writer itself) until qname is readable or BOUND_S pass. */
static bool becomes_visible(struct vg_cache *c, const char *qname)
{
	double t0 = mono_s();
	while (!visible(c, qname)) {
		if (mono_s() - t0 > BOUND_S)
			return false;
		pause_briefly();
	}
	return true;
}

/* Puts a 1-RR answer for qname and waits (no sync) until the writer committed it. */
static void put_committed(struct vg_cache *c, const char *qname)
{
	put_a_answer(c, qname, 300, 0x15, 0, T0);
	cr_assert(becomes_visible(c, qname), "%s never committed without a sync", qname);
}

static bool goes_idle(struct vg_cache *c)
{
	double t0 = mono_s();
	while (atomic_load(&c->wake_pending) != VG_WAKE_IDLE) {
		if (mono_s() - t0 > BOUND_S)
			return false;
		pause_briefly();
	}
	return true;
}

/* sync_ms: the flush interval, which is also the longest an idle writer sleeps while a commit
 * is not on disk yet; NEVER_MS leaves only signals to wake an idle writer. */
static struct vg_cache *open_writer(unsigned group_ms, unsigned sync_ms, size_t queue_max)
{
	struct vg_cache_opts o;
	opts_init(&o);
	if (queue_max)
		o.queue_max = queue_max;
	o.sync_interval_ms = sync_ms;
	struct vg_cache *c = open_with(&o);
	c->group_ms = group_ms;
	cr_assert_eq(vg_cache_start_writer(c), 0);
	return c;
}

TestSuite(cache_writer, .init = mkdir_tmp, .fini = rm_tmp, .timeout = 60);

Test(cache_writer, sync_wakes_a_writer_waiting_on_its_group_timer)
{
	struct vg_cache *c = open_writer(NEVER_MS, NEVER_MS, 0);
	char name[32];
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "s%d.example.", i);
		put_a_answer(c, name, 300, 0x15, 0, T0);
		double t0 = mono_s();
		cr_assert_eq(vg_cache_sync(c), 0);
		cr_assert_lt(mono_s() - t0, BOUND_S, "sync waited for the timer");
		cr_assert(visible(c, name), "%s not committed when sync returned", name);
	}
	vg_cache_close(c);
}

Test(cache_writer, a_full_batch_wakes_the_writer_without_sync)
{
	/* 64 slots: the wake comes at half the limit or a txn's worth, whichever is less */
	struct vg_cache *c = open_writer(NEVER_MS, NEVER_MS, 64);
	char name[32];
	for (int r = 0; r < 30; r++) {
		/* after a sync the writer goes back to its timer (unless it pops the puts first) */
		cr_assert_eq(vg_cache_sync(c), 0);
		for (int i = 0; i < 40; i++) {
			snprintf(name, sizeof(name), "b%d-%d.example.", r, i);
			put_a_answer(c, name, 300, 0x15, 0, T0);
		}
		snprintf(name, sizeof(name), "b%d-0.example.", r);
		cr_assert(becomes_visible(c, name),
			  "round %d: a full batch did not wake the writer", r);
	}
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.dropped, 0);
	vg_cache_close(c);
}

Test(cache_writer, puts_below_a_batch_are_committed_by_the_group_timer)
{
	/* Mostly, each put lands while the writer waits on its 2 ms timer after the previous
	 * commit (when the test is slower than two empty periods, the writer has gone idle and
	 * the put signals it instead; either way no sync is needed). */
	struct vg_cache *c = open_writer(VG_CACHE_GROUP_MS, NEVER_MS, 0);
	char name[32];
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "g%d.example.", i);
		put_committed(c, name);
	}
	vg_cache_close(c);
}

struct producer {
	struct vg_cache *c;
	pthread_barrier_t *go;
	int id, round;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	char name[32];
	snprintf(name, sizeof(name), "p%d-%d.example.", p->id, p->round);
	pthread_barrier_wait(p->go);
	put_a_answer(p->c, name, 300, 0x15, 0, T0);
	return NULL;
}

Test(cache_writer, an_idle_writer_is_woken_by_the_next_puts)
{
	/* No flush timer: a put that enqueues while the writer goes to sleep and does not
	 * wake it stays invisible. Four producers race the writer's sleep each round. */
	struct vg_cache *c = open_writer(1, NEVER_MS, 0);
	enum { PRODUCERS = 4, ROUNDS = 20 };
	for (int r = 0; r < ROUNDS; r++) {
		cr_assert(goes_idle(c), "writer never went idle");
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, PRODUCERS);
		pthread_t th[PRODUCERS];
		struct producer p[PRODUCERS];
		for (int i = 0; i < PRODUCERS; i++) {
			p[i] = (struct producer){.c = c, .go = &go, .id = i, .round = r};
			cr_assert_eq(pthread_create(&th[i], NULL, produce, &p[i]), 0);
		}
		for (int i = 0; i < PRODUCERS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&go);
		char name[32];
		for (int i = 0; i < PRODUCERS; i++) {
			snprintf(name, sizeof(name), "p%d-%d.example.", i, r);
			cr_assert(becomes_visible(c, name), "round %d: %s stranded", r, name);
		}
	}
	vg_cache_close(c);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Writer wake-ups over IDLE_CHECK_MS of real time once it went idle. Behaviour, not speed: the
 * old idle timer woke it 10 times a second; an idle writer should not wake at all (1 allows
 * one spurious condition-variable return). */
#define IDLE_CHECK_MS 1000
static uint64_t wakeups_while_idle(struct vg_cache *c)
{
	cr_assert(goes_idle(c), "writer never went idle");
	uint64_t w0 = atomic_load(&c->st_wakeups);
	sleep_ms(IDLE_CHECK_MS);
	return atomic_load(&c->st_wakeups) - w0;
}

Test(cache_writer, an_idle_writer_sleeps_until_the_next_put)
{
	struct vg_cache *c = open_writer(VG_CACHE_GROUP_MS, NEVER_MS, 0);
	char name[32];
	for (int r = 0; r < 2; r++) {
		snprintf(name, sizeof(name), "i%d.example.", r);
		put_committed(c, name);
		uint64_t n = wakeups_while_idle(c);
		cr_assert_leq(n, 1, "round %d: an idle writer woke %llu times in %u ms", r,
			      (unsigned long long)n, IDLE_CHECK_MS);
	}
	vg_cache_close(c);
}

Test(cache_writer, an_idle_writer_wakes_for_a_pending_flush_then_sleeps)
{
	/* A commit not yet on disk: the idle writer wakes once, at the flush deadline, and not
	 * again after the flush. */
	struct vg_cache *c = open_writer(VG_CACHE_GROUP_MS, 200, 0);
	put_committed(c, "f.example.");
	MDB_envinfo ei;
	cr_assert_eq(mdb_env_info(c->env, &ei), 0);
	double t0 = mono_s();
	while (atomic_load(&c->synced_txnid) < ei.me_last_txnid) {
		cr_assert_lt(mono_s() - t0, BOUND_S, "the committed put was never flushed");
		pause_briefly();
	}
	uint64_t n = wakeups_while_idle(c);
	cr_assert_leq(n, 1, "a flushed idle writer woke %llu times in %u ms", (unsigned long long)n,
		      IDLE_CHECK_MS);
	vg_cache_close(c);
}

Test(cache_writer, close_commits_puts_still_waiting_for_the_timer)
{
	struct vg_cache *c = open_writer(NEVER_MS, NEVER_MS, 0);
	char name[32];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c%d.example.", i);
		put_a_answer(c, name, 300, 0x15, 0, T0);
	}
	vg_cache_close(c);
	c = open_default();
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c%d.example.", i);
		cr_assert(visible(c, name), "%s lost at close", name);
	}
	vg_cache_close(c);
}

/* Bytes one queued put of a 1-RR A answer for a name of this length holds. */
static size_t put_bytes(const char *qname)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, qname, 300, 0x15, 0, T0);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	vg_cache_close(c);
	rm_tmp();
	mkdir_tmp();
	return st.queued_bytes;
}

Test(cache_writer, queue_byte_bound_takes_puts_up_to_its_edge_and_drops_the_next)
{
	size_t one = put_bytes("e0.example.");
	cr_assert_gt(one, 20, "a queued put holds no bytes");
	/* exactly three puts' worth takes three; one byte less takes two */
	for (size_t room = 3; room >= 2; room--) {
		struct vg_cache_opts o;
		opts_init(&o);
		o.queue_max_bytes = room == 3 ? 3 * one : 3 * one - 1;
		/* no writer thread: nothing drains until sync */
		struct vg_cache *c = open_with(&o);
		char name[32];
		for (int i = 1; i <= 4; i++) {
			snprintf(name, sizeof(name), "e%d.example.", i);
			int rc = try_put_a_answer(c, name, 300, 0x15, 0, T0);
			cr_assert_eq(rc, (size_t)i <= room ? 0 : VG_ELIMIT,
				     "bound %zu: put %d returned %d", o.queue_max_bytes, i, rc);
		}
		struct vg_cache_stats st;
		vg_cache_stats(c, &st);
		cr_assert_eq(st.queued_bytes, room * one);
		cr_assert_eq(st.dropped, 4 - room);
		cr_assert_eq(vg_cache_flush_negative(c), 0, "control op dropped at the byte bound");
		cr_assert_eq(vg_cache_sync(c), 0);
		for (int i = 1; i <= 4; i++) {
			snprintf(name, sizeof(name), "e%d.example.", i);
			cr_assert_eq(visible(c, name), (size_t)i <= room, "%s", name);
		}
		/* committed writes give their bytes back */
		vg_cache_stats(c, &st);
		cr_assert_eq(st.queued_bytes, 0);
		put_a_answer(c, "e5.example.", 300, 0x15, 0, T0);
		vg_cache_close(c);
		rm_tmp();
		mkdir_tmp();
	}
}

/* Queues an answer op of `vlen` bytes for qname (a valid header, then filler). */
static void queue_big_answer(struct vg_cache *c, const char *qname, size_t vlen)
{
	uint8_t q[VG_NAME_MAX], key[VG_CKEY_MAX];
	W(qname, q);
	int klen = vg_ckey_answer(key, q, 1, false, false);
	cr_assert_gt(klen, 0);
	struct vg_cop *op = vg_cop_new(VG_COP_PUT_ANSWER, (size_t)klen, vlen);
	cr_assert_not_null(op);
	memcpy(op->data, key, (size_t)klen);
	memset(op->data + klen, 0, vlen);
	struct vg_cval_hdr h = {.format = VG_CACHE_FORMAT, .stored_at = T0, .ttl = 300};
	vg_cval_hdr_encode(op->data + klen, &h);
	op->now = T0;
	cr_assert_eq(vg_cache_enqueue(c, op), 0);
}

Test(cache_writer, a_batch_hitting_map_full_midway_keeps_the_entries_that_fit)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 1u << 20;
	struct vg_cache *c = open_with(&o);
	/* Eviction off: this is about what the writer keeps, not what eviction takes later. */
	c->high_pct = 100;
	unsigned n = c->batch_max;
	cr_assert_geq(n, 8);
	/* Each entry fits the empty map alone; four fit together, the whole batch does not. */
	size_t vlen = o.map_size * 2 / 9;
	char name[32];
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "big%u.example.", i);
		queue_big_answer(c, name, vlen);
	}
	cr_assert_eq(vg_cache_sync(c), 0); /* one batch, applied on this thread */
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_gt(st.map_full, 0, "the batch never hit MDB_MAP_FULL");
	cr_assert_geq(st.answers, 3, "only %llu of %u entries kept", (unsigned long long)st.answers,
		      n);
	cr_assert_lt(st.answers, n);
	cr_assert_eq(st.dropped, n - st.answers, "dropped %llu, kept %llu of %u",
		     (unsigned long long)st.dropped, (unsigned long long)st.answers, n);
	cr_assert_eq(st.committed, st.answers);
	cr_assert_eq(st.queued_bytes, 0);
	vg_cache_close(c);
}
