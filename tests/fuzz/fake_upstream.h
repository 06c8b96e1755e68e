/* The scripted upstream shared by the resolver fuzz targets: queries and timers as heap objects
 * (a handle used after it is done is a use-after-free ASan reports), a fake monotonic clock and a
 * fixed random sequence, so a run is reproducible. One instance (`fu`) per process. */
#ifndef VIGIL_TESTS_FAKE_UPSTREAM_H
#define VIGIL_TESTS_FAKE_UPSTREAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/upstream.h>
#include "fuzz.h"

#define T0 1700000000
#define MAX_STEPS 400 /* deliveries per input: bounds the run time of one input */
#define MAX_LIVE 512

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake_query {
	vg_upstream_reply_cb cb;
	vg_upstream_unwanted_cb unwanted; /* req->unwanted: NULL when the sender does not ask */
	struct vg_sockaddr server;	  /* req->server */
	void *ctx;
	uint64_t seq;
	bool in_callback, cancelled_in_callback;
	bool tcp;
	uint32_t timeout_ms;
	size_t len;
	uint8_t wire[512];
};

struct fake_timer {
	vg_upstream_timer_cb cb;
	void *ctx;
	uint64_t at, seq;
};

/* Queries and timers are heap objects, freed when done: a handle the resolver uses after that is
 * a use-after-free ASan reports. */
struct fake_up {
	struct vg_upstream up;
	struct fake_query *q[MAX_LIVE];
	size_t nq;
	struct fake_timer *t[MAX_LIVE];
	size_t nt;
	uint64_t now, seq, rnd;
};

static struct fake_up fu;

static int f_send(struct vg_upstream *up, const struct vg_upstream_req *req,
		  vg_upstream_reply_cb cb, void *ctx, struct vg_upstream_query **out)
{
	(void)up;
	VG_FUZZ_CHECK(req->len >= 17 && req->len <= sizeof(((struct fake_query *)0)->wire));
	VG_FUZZ_CHECK(req->timeout_ms > 0);
	if (fu.nq == MAX_LIVE)
		return VG_ELIMIT;
	struct fake_query *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cb = cb;
	q->unwanted = req->unwanted;
	q->server = *req->server;
	q->ctx = ctx;
	q->seq = fu.seq++;
	q->len = req->len;
	q->tcp = req->tcp;
	q->timeout_ms = req->timeout_ms;
	memcpy(q->wire, req->wire, req->len);
	fu.q[fu.nq++] = q;
	*out = (struct vg_upstream_query *)q;
	return 0;
}

static void drop_query(struct fake_query *q)
{
	for (size_t i = 0; i < fu.nq; i++) {
		if (fu.q[i] == q) {
			fu.q[i] = fu.q[--fu.nq];
			return;
		}
	}
	VG_FUZZ_CHECK(!"cancel of a query that is not in flight");
}

/* Ends q with its final status: the callback gets `msg` (a heap copy or NULL, freed here), then
 * q is dropped and freed. The resolver may send new queries from the callback; q is done either
 * way, and a cancel of q from inside the callback only marks it (in_callback). */
static void fake_complete(struct fake_query *q, enum vg_upstream_status st, uint8_t *msg,
			  size_t len)
{
	q->in_callback = true;
	q->cb(q->ctx, st, msg, len, 15);
	free(msg);
	drop_query(q);
	free(q);
}

static void f_cancel(struct vg_upstream *up, struct vg_upstream_query *h)
{
	(void)up;
	struct fake_query *q = (struct fake_query *)h;
	if (q->in_callback) { /* freed by the caller of the callback */
		q->cancelled_in_callback = true;
		return;
	}
	drop_query(q);
	free(q);
}

static int f_timer_start(struct vg_upstream *up, uint64_t ms, vg_upstream_timer_cb cb, void *ctx,
			 struct vg_upstream_timer **out)
{
	(void)up;
	if (fu.nt == MAX_LIVE)
		return VG_ELIMIT;
	struct fake_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cb = cb;
	t->ctx = ctx;
	t->at = fu.now + ms;
	t->seq = fu.seq++;
	fu.t[fu.nt++] = t;
	*out = (struct vg_upstream_timer *)t;
	return 0;
}

static void drop_timer(struct fake_timer *t)
{
	for (size_t i = 0; i < fu.nt; i++) {
		if (fu.t[i] == t) {
			fu.t[i] = fu.t[--fu.nt];
			return;
		}
	}
	VG_FUZZ_CHECK(!"stop of a timer that is not armed");
}

static void f_timer_stop(struct vg_upstream *up, struct vg_upstream_timer *h)
{
	(void)up;
	struct fake_timer *t = (struct fake_timer *)h;
	drop_timer(t);
	free(t);
}

static uint64_t f_now_ms(struct vg_upstream *up)
{
	(void)up;
	return fu.now;
}

static int64_t f_wall_now(struct vg_upstream *up)
{
	(void)up;
	return T0 + (int64_t)(fu.now / 1000);
}

static void f_random(struct vg_upstream *up, void *buf, size_t len)
{
	(void)up;
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) { /* fixed sequence: runs are reproducible */
		fu.rnd = fu.rnd * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (uint8_t)(fu.rnd >> 56);
	}
}

static const struct vg_upstream_ops fake_ops = {
    .send = f_send,
    .cancel = f_cancel,
    .timer_start = f_timer_start,
    .timer_stop = f_timer_stop,
    .now_ms = f_now_ms,
    .wall_now = f_wall_now,
    .random = f_random,
};

static struct fake_query *oldest_query(void)
{
	struct fake_query *best = NULL;
	for (size_t i = 0; i < fu.nq; i++)
		if (!best || fu.q[i]->seq < best->seq)
			best = fu.q[i];
	return best;
}

static struct fake_timer *next_timer(void)
{
	struct fake_timer *best = NULL;
	for (size_t i = 0; i < fu.nt; i++)
		if (!best || fu.t[i]->at < best->at ||
		    (fu.t[i]->at == best->at && fu.t[i]->seq < best->seq))
			best = fu.t[i];
	return best;
}

/* Fires the earliest timer, moving the fake clock to it. Returns false when none is armed. */
static bool fake_fire_next_timer(void)
{
	struct fake_timer *t = next_timer();
	if (!t)
		return false;
	if (t->at > fu.now)
		fu.now = t->at;
	drop_timer(t);
	vg_upstream_timer_cb cb = t->cb;
	void *ctx = t->ctx;
	free(t);
	cb(ctx);
	return true;
}

#endif
