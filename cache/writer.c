/* The write side: a lock-free MPSC queue from workers and the one writer thread's group commits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "impl.h"
#include "vigil/err.h"
#include "vigil/log.h"

#define BATCH_MAX 256 /* ops per write txn at most: bounds txn size and reader-visible latency */

struct vg_cop *vg_cop_new(enum vg_cop_kind kind, size_t klen, size_t vlen)
{
	if (klen > VG_CKEY_MAX || vlen > UINT32_MAX)
		return NULL;
	struct vg_cop *op = malloc(sizeof(*op) + klen + vlen);
	if (!op)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->klen = (uint16_t)klen;
	op->vlen = (uint32_t)vlen;
	return op;
}

int vg_cache_queue_init(struct vg_cache *c)
{
	c->stub = vg_cop_new(VG_COP_BARRIER, 0, 0);
	if (!c->stub)
		return -ENOMEM;
	atomic_store(&c->stub->next, NULL);
	atomic_store(&c->head, c->stub);
	c->tail = c->stub;
	atomic_store(&c->wake_pending, VG_WAKE_NONE);
	c->group_ms = VG_CACHE_GROUP_MS;
	return 0;
}

static void push(struct vg_cache *c, struct vg_cop *op)
{
	atomic_store_explicit(&op->next, NULL, memory_order_relaxed);
	struct vg_cop *prev = atomic_exchange_explicit(&c->head, op, memory_order_acq_rel);
	atomic_store_explicit(&prev->next, op, memory_order_release);
}

/* Single consumer. NULL when empty or while a producer is between its two steps. */
static struct vg_cop *pop(struct vg_cache *c)
{
	struct vg_cop *tail = c->tail;
	struct vg_cop *next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (tail == c->stub) {
		if (!next)
			return NULL;
		c->tail = next;
		tail = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next) {
		c->tail = next;
		return tail;
	}
	if (tail != atomic_load_explicit(&c->head, memory_order_acquire))
		return NULL;
	push(c, c->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next) {
		c->tail = next;
		return tail;
	}
	return NULL;
}

/* Group commit. A signal per put (futex wake-up and two context switches, then a commit of one
 * op) cost more than the resolution it belonged to (docs/benchmarks.md, Resolver), so while
 * writes keep coming the writer wakes on its own every group_ms and producers stay quiet. They
 * signal only for what must not wait: a control op, a full batch (the queue would otherwise grow
 * towards queue_max), or the first op after the writer went idle. */

/* Queued ops that make a producer wake the writer: a write txn's worth, and never more than half
 * the queue limit, so a small queue does not drop puts while the writer sleeps. */
static size_t wake_at(const struct vg_cache *c)
{
	size_t n = c->batch_max;
	if (n > c->o.queue_max / 2)
		n = c->o.queue_max / 2;
	return n ? n : 1;
}

static void signal_writer(struct vg_cache *c)
{
	/* Under mu: the writer checks its wake conditions under mu before it waits. */
	pthread_mutex_lock(&c->mu);
	pthread_cond_signal(&c->wake_cv);
	pthread_mutex_unlock(&c->mu);
}

/* Called after the op is pushed and counted in `queued` (both seq_cst, see writer_sleep). */
static void wake(struct vg_cache *c, bool urgent)
{
	int w = atomic_load(&c->wake_pending);
	if (w == VG_WAKE_SET)
		return;
	if (urgent) {
		if (atomic_exchange(&c->wake_pending, VG_WAKE_SET) != VG_WAKE_SET)
			signal_writer(c);
		return;
	}
	if (w == VG_WAKE_IDLE && atomic_compare_exchange_strong(&c->wake_pending, &w, VG_WAKE_SET))
		signal_writer(c);
}

/* Memory a data op holds from its enqueue until it is freed after its commit. */
static size_t cop_bytes(const struct vg_cop *op)
{
	return sizeof(*op) + op->klen + op->vlen;
}

/* Reserves the op's bytes under queue_max_bytes; false when they do not fit. A reservation, not
 * a check then an add: producers racing for the last bytes cannot overshoot the bound together. */
static bool reserve_bytes(struct vg_cache *c, size_t n)
{
	size_t cur = atomic_load(&c->queued_bytes);
	do {
		if (n > c->o.queue_max_bytes || cur > c->o.queue_max_bytes - n)
			return false;
	} while (!atomic_compare_exchange_weak(&c->queued_bytes, &cur, cur + n));
	return true;
}

int vg_cache_enqueue(struct vg_cache *c, struct vg_cop *op)
{
	bool ctl = op->kind >= VG_COP_FLUSH_ALL;
	/* Control ops (flush, barrier, stop) are never dropped; data is, when the writer lags. */
	if (!ctl &&
	    (atomic_load(&c->queued) >= c->o.queue_max || !reserve_bytes(c, cop_bytes(op)))) {
		atomic_fetch_add(&c->st_dropped, 1);
		free(op);
		return VG_ELIMIT;
	}
	size_t n = atomic_fetch_add(&c->queued, 1) + 1;
	push(c, op);
	wake(c, ctl || n >= wake_at(c));
	return 0;
}

/* ---- applying ---- */

int vg_cache_apply_put(struct vg_cache *c, MDB_txn *txn, MDB_dbi dbi, const struct vg_cop *op)
{
	MDB_val k = {.mv_size = op->klen, .mv_data = (void *)op->data}, old;
	MDB_val v = {.mv_size = op->vlen, .mv_data = (void *)(op->data + op->klen)};
	struct vg_cval_hdr nh, oh;
	if (vg_cval_hdr_decode(v.mv_data, v.mv_size, &nh) < 0)
		return 0;
	/* The hit path reads the rrset DB first: an answer it would never reach is not stored. */
	if (dbi == c->dbi_answer && vg_answer_shadowed(c, txn, op))
		return 0;
	int rc = mdb_get(txn, dbi, &k, &old);
	struct vg_cache_rrset_view view;
	/* A damaged stored value counts as absent: it must not hold its slot by rank. */
	bool valid = rc == 0 && (dbi == c->dbi_answer ? vg_answer_valid(old.mv_data, old.mv_size)
						      : vg_rrset_decode(old.mv_data, old.mv_size,
									&oh, NULL, 0, &view) == 0);
	if (valid && vg_cval_hdr_decode(old.mv_data, old.mv_size, &oh) == 0 &&
	    vg_cval_live(&oh, op->now)) {
		uint32_t left = vg_cval_left(&oh, op->now);
		bool refresh = nh.rank == oh.rank && (uint64_t)left * 10 <= oh.ttl;
		/* Validation ranks within a rank: a validated (secure or insecure) entry replaces
		 * an unchecked one of equal rank at any time, else a name whose data was stored
		 * unchecked (an NS address fetched for the walk) would be asked again on every
		 * question until it expired; unchecked data never replaces validated data of
		 * equal rank, not even inside the prefetch window. */
		bool checked_new = nh.sec == VG_SEC_SECURE || nh.sec == VG_SEC_INSECURE;
		bool checked_old = oh.sec == VG_SEC_SECURE || oh.sec == VG_SEC_INSECURE;
		if (nh.rank == oh.rank && checked_new != checked_old)
			refresh = checked_new;
		/* Trust is ranked (RFC 2181 §5.4.1): one spoofed packet must not replace a live NS
		 * set. Equal rank may refresh an entry only inside its prefetch window. */
		if (nh.rank < oh.rank || (nh.rank == oh.rank && !refresh)) {
			atomic_fetch_add(&c->st_refused, 1);
			return 0;
		}
	}
	rc = mdb_put(txn, dbi, &k, &v, 0);
	if (rc == 0)
		c->txn_puts++;
	return rc;
}

int vg_cache_apply_touch(struct vg_cache *c, MDB_txn *txn, MDB_dbi dbi, const struct vg_cop *op)
{
	MDB_val k = {.mv_size = op->klen, .mv_data = (void *)op->data}, v;
	int rc = mdb_get(txn, dbi, &k, &v);
	if (rc)
		return 0;
	struct vg_cval_hdr h;
	if (vg_cval_hdr_decode(v.mv_data, v.mv_size, &h) < 0 || op->now <= h.used_at)
		return 0;
	/* LMDB values are read-only without WRITEMAP: reserve and copy with the new stamp. */
	size_t n = v.mv_size;
	uint8_t *tmp = malloc(n);
	if (!tmp)
		return 0;
	memcpy(tmp, v.mv_data, n);
	h.used_at = op->now;
	if (h.uses < 255)
		h.uses++;
	vg_cval_hdr_encode(tmp, &h);
	MDB_val nv = {.mv_size = n, .mv_data = tmp};
	rc = mdb_put(txn, dbi, &k, &nv, 0);
	free(tmp);
	if (rc == 0)
		c->txn_touches++;
	return rc;
}

static int apply(struct vg_cache *c, MDB_txn *txn, const struct vg_cop *op)
{
	switch (op->kind) {
	case VG_COP_PUT_RRSET:
		return vg_cache_apply_put(c, txn, c->dbi_rrset, op);
	case VG_COP_PUT_ANSWER:
		return vg_cache_apply_put(c, txn, c->dbi_answer, op);
	case VG_COP_PUT_NSEC:
		return vg_cache_apply_put(c, txn, c->dbi_nsec, op);
	case VG_COP_TOUCH_RRSET:
		return vg_cache_apply_touch(c, txn, c->dbi_rrset, op);
	case VG_COP_TOUCH_ANSWER:
		return vg_cache_apply_touch(c, txn, c->dbi_answer, op);
	default:
		return 0;
	}
}

/* Applies ops[0..n) in one txn and commits it. Returns 0 or the LMDB error; *failed receives the
 * index of the op whose apply failed, or n when the commit did. */
static int commit_ops(struct vg_cache *c, struct vg_cop **ops, size_t n, size_t *failed)
{
	MDB_txn *txn;
	*failed = 0;
	int rc = mdb_txn_begin(c->env, NULL, 0, &txn);
	if (rc)
		return rc;
	c->txn_puts = c->txn_touches = 0;
	size_t i = 0;
	while (i < n && (rc = apply(c, txn, ops[i])) == 0)
		i++;
	*failed = i;
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_txn_commit(txn);
	if (rc == 0) {
		atomic_fetch_add(&c->st_committed, c->txn_puts);
		atomic_fetch_add(&c->st_touches, c->txn_touches);
	}
	return rc;
}

/* The map stayed full after eviction: keeps what fits. The ops before the one that did not fit
 * go in one txn (they fitted a moment ago), each later op in a txn of its own; an op that does
 * not fit alone is dropped (counted), and only it. */
static void salvage(struct vg_cache *c, struct vg_cop **ops, size_t n, size_t fitted)
{
	size_t i = 0, dropped = 0, at;
	if (fitted && commit_ops(c, ops, fitted, &at) == 0)
		i = fitted;
	for (; i < n; i++) {
		int rc = commit_ops(c, ops + i, 1, &at);
		if (rc == MDB_MAP_FULL)
			dropped++;
		else if (rc)
			vg_err("cache writer: %s", mdb_strerror(rc));
	}
	atomic_fetch_add(&c->st_dropped, dropped);
}

/* Runs ops[0..n) in one txn, then frees them. On a full map: evict hard and retry; pages freed
 * while a reader still holds an older snapshot become reusable only when it moves on, so wait a
 * little between attempts. Still full: keep what fits, drop (and count) only the rest, rather
 * than stop serving or wipe. */
static void commit_batch(struct vg_cache *c, struct vg_cop **ops, size_t n)
{
	if (!n)
		return;
	for (int attempt = 0;; attempt++) {
		size_t fitted;
		int rc = commit_ops(c, ops, n, &fitted);
		if (rc == 0)
			break;
		if (rc != MDB_MAP_FULL) {
			vg_err("cache writer: %s", mdb_strerror(rc));
			break;
		}
		atomic_fetch_add(&c->st_map_full, 1);
		vg_cache_evict(c, vg_cache_now(c), true);
		if (attempt == 3) {
			salvage(c, ops, n, fitted);
			break;
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		bytes += cop_bytes(ops[i]);
		free(ops[i]);
	}
	atomic_fetch_sub(&c->queued_bytes, bytes);
}

static void finish_barriers(struct vg_cache *c, uint64_t ticket)
{
	pthread_mutex_lock(&c->mu);
	if (ticket > c->ticket_done)
		c->ticket_done = ticket;
	pthread_cond_broadcast(&c->done_cv);
	pthread_mutex_unlock(&c->mu);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* MDB_NOSYNC: the writer flushes to disk every sync_interval_ms, also under a steady stream, but
 * only when a txn was committed since the last flush: an idle resolver (a router at night) does
 * not touch its disk or flash every few seconds. c->synced_txnid: the last txn id flushed. */
static void maybe_sync(struct vg_cache *c)
{
	uint64_t t = mono_ms();
	if (t - c->last_sync_ms >= c->o.sync_interval_ms) {
		MDB_envinfo ei;
		bool known = mdb_env_info(c->env, &ei) == 0;
		if (!known || ei.me_last_txnid != atomic_load(&c->synced_txnid)) {
			mdb_env_sync(c->env, 1);
			if (known)
				atomic_store(&c->synced_txnid, ei.me_last_txnid);
		}
		c->last_sync_ms = t;
	}
}

/* Milliseconds until the next flush is due when a committed txn is not on disk yet; 0 when
 * everything is flushed and the writer may sleep until signalled. At least 1 when due. */
static unsigned sync_wait_ms(struct vg_cache *c)
{
	MDB_envinfo ei;
	if (mdb_env_info(c->env, &ei) == 0 && ei.me_last_txnid == atomic_load(&c->synced_txnid))
		return 0;
	uint64_t t = mono_ms(), due = c->last_sync_ms + c->o.sync_interval_ms;
	return due > t ? (unsigned)(due - t) : 1;
}

/* Pops and applies until the queue looks empty. Returns true when a STOP was seen; *popped
 * receives the number of ops taken. */
static bool run_queue(struct vg_cache *c, size_t *popped)
{
	struct vg_cop *ops[BATCH_MAX];
	size_t n = 0;
	bool stop = false;
	struct vg_cop *op;
	while ((op = pop(c))) {
		atomic_fetch_sub(&c->queued, 1);
		++*popped;
		if (op->kind >= VG_COP_FLUSH_ALL && op->kind <= VG_COP_FLUSH_SUSPECT) {
			/* keep order: what was queued before the flush is committed before it */
			commit_batch(c, ops, n);
			n = 0;
			vg_cache_run_flush(c, op);
			free(op);
			continue;
		}
		if (op->kind == VG_COP_BARRIER || op->kind == VG_COP_STOP) {
			commit_batch(c, ops, n);
			n = 0;
			if (op->kind == VG_COP_STOP)
				stop = true;
			else
				finish_barriers(c, op->ticket);
			free(op);
			continue;
		}
		ops[n++] = op;
		if (n >= c->batch_max) {
			commit_batch(c, ops, n);
			n = 0;
			/* A steady stream never empties the queue: check the watermark per batch.
			 */
			vg_cache_evict(c, vg_cache_now(c), false);
		}
	}
	commit_batch(c, ops, n);
	return stop;
}

/* Empty group periods in a row before the writer goes idle (sleeps until signalled). Small: at
 * a trickle of puts (a home router) each put then costs one signal and two timer wake-ups, not a
 * timer wake-up every group_ms; under load no period is empty. */
#define IDLE_AFTER 2

static void timed_wait(struct vg_cache *c, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* wake_cv's clock, see vg_cache_start_writer */
	uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000;
	ts.tv_sec += (time_t)(ns / 1000000000ull);
	ts.tv_nsec = (long)(ns % 1000000000ull);
	pthread_cond_timedwait(&c->wake_cv, &c->mu, &ts);
}

/* Called with mu held, which every signal_writer also takes: a wake condition checked here cannot
 * change unseen between the check and the wait. */
static void writer_sleep(struct vg_cache *c, bool idle)
{
	/* A sync is waiting (its barrier may sit behind a producer still linking its op), or a
	 * batch is full: go round again at once. */
	if (c->ticket_next != c->ticket_done || atomic_load(&c->queued) >= wake_at(c))
		return;
	int w = VG_WAKE_NONE;
	if (!idle) {
		if (atomic_load(&c->wake_pending) == VG_WAKE_NONE)
			timed_wait(c, c->group_ms);
		return;
	}
	/* Announce IDLE first, then look at the queue. A producer counts its op in `queued`
	 * before it reads wake_pending, all seq_cst: either the load below sees the op, or the
	 * producer sees IDLE and signals (after this wait has released mu). */
	if (!atomic_compare_exchange_strong(&c->wake_pending, &w, VG_WAKE_IDLE))
		return; /* SET: a wake came in meanwhile */
	if (atomic_load(&c->queued) != 0)
		return;
	/* Idle: no timer at all unless a commit still waits for its flush (then only until that
	 * deadline). Eviction needs none: the map grows only by puts, and each pass that applies
	 * them checks the watermark. */
	unsigned ms = sync_wait_ms(c);
	if (ms)
		timed_wait(c, ms);
	else
		pthread_cond_wait(&c->wake_cv, &c->mu);
}

static void *writer_main(void *arg)
{
	struct vg_cache *c = arg;
	c->last_sync_ms = mono_ms();
	atomic_store(&c->synced_txnid, 0); /* flush once after start, whatever the file holds */
	unsigned empty = 0;
	for (;;) {
		atomic_fetch_add(&c->st_wakeups, 1);
		atomic_store(&c->wake_pending, VG_WAKE_NONE);
		size_t popped = 0;
		bool stop = run_queue(c, &popped);
		vg_cache_evict(c, vg_cache_now(c), false);
		maybe_sync(c);
		if (stop)
			break;
		empty = popped ? 0 : empty + 1;
		pthread_mutex_lock(&c->mu);
		writer_sleep(c, empty >= IDLE_AFTER);
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

int vg_cache_start_writer(struct vg_cache *c)
{
	if (c->writer_running)
		return 0;
	/* The group timer must not follow wall-clock steps: a clock set back by an hour would hold
	 * every put below a full batch for that hour. env.c creates wake_cv with the default
	 * (realtime) clock; nothing else uses the cache before the writer starts (cache.h
	 * lifecycle: open -> start_writer on the main thread), so it is replaced here. */
	pthread_condattr_t ca;
	vg_require(pthread_condattr_init(&ca) == 0);
	/* timed_wait relies on it */
	vg_require(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
	pthread_cond_destroy(&c->wake_cv);
	vg_require(pthread_cond_init(&c->wake_cv, &ca) == 0);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&c->writer, NULL, writer_main, c);
	if (rc)
		return -rc;
	c->writer_running = true;
	return 0;
}

void vg_cache_writer_stop(struct vg_cache *c)
{
	if (!c->writer_running)
		return;
	struct vg_cop *op = vg_cop_new(VG_COP_STOP, 0, 0);
	vg_require(op != NULL);
	vg_cache_enqueue(c, op);
	pthread_join(c->writer, NULL);
	c->writer_running = false;
}

int vg_cache_drain(struct vg_cache *c)
{
	pthread_mutex_lock(&c->apply_mu);
	size_t popped = 0;
	run_queue(c, &popped);
	vg_cache_evict(c, vg_cache_now(c), false);
	pthread_mutex_unlock(&c->apply_mu);
	return 0;
}

int vg_cache_sync(struct vg_cache *c)
{
	if (!c->writer_running)
		return vg_cache_drain(c);
	struct vg_cop *op = vg_cop_new(VG_COP_BARRIER, 0, 0);
	if (!op)
		return -ENOMEM;
	/* Ticket and push under one lock so barriers reach the writer in ticket order. */
	pthread_mutex_lock(&c->mu);
	uint64_t t = ++c->ticket_next;
	op->ticket = t;
	atomic_fetch_add(&c->queued, 1);
	push(c, op);
	atomic_store(&c->wake_pending, VG_WAKE_SET);
	pthread_cond_signal(&c->wake_cv);
	while (c->ticket_done < t)
		pthread_cond_wait(&c->done_cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	return 0;
}
