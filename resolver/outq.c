/* Outgoing queries: one upstream query shared by every iq asking the same server the same thing
 * at once (vg_outq_send, vg_outq_leave), its reply and ICMP notices fanned out to the waiting iqs,
 * and the unwanted messages the transport reports recorded on them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/hash.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "iter.h"

struct vg_outq {
	struct vg_resolver *r;
	uint64_t hash;
	struct vg_outq *hnext;
	struct vg_sockaddr server;
	uint8_t qname[VG_NAME_MAX]; /* lowercase */
	uint16_t qtype;
	bool tcp, rd, edns;
	bool unreachable;  /* an ICMP error was reported: its timeout says nothing of the server */
	bool notifying;	   /* on_outq_reply is walking the waiters: leaving must not free it */
	uint32_t wrong_id; /* wrong-ID messages heard (spoof-tcp-after) */
	uint64_t sent_ms;  /* when it was sent (monotonic): which silence its timeout belongs to */
	struct vg_upstream_query *uq;
	struct vg_oq_wait *waiters;
};

/* Keyed like the request table (request.c): the names come from clients and from replies. */
static uint64_t outq_hash(const struct vg_resolver *r, const struct vg_sockaddr *s,
			  const uint8_t *qname, uint16_t qtype, bool tcp, bool rd, bool edns)
{
	uint8_t k[1 + 16 + 2 + VG_NAME_MAX + 5];
	size_t n = 0;
	k[n++] = s->u.sa.sa_family == AF_INET;
	if (s->u.sa.sa_family == AF_INET) {
		memcpy(k + n, &s->u.sin.sin_addr, 4);
		memcpy(k + n + 4, &s->u.sin.sin_port, 2);
		n += 6;
	} else {
		memcpy(k + n, &s->u.sin6.sin6_addr, 16);
		memcpy(k + n + 16, &s->u.sin6.sin6_port, 2);
		n += 18;
	}
	size_t qn = (size_t)vg_name_len(qname, VG_NAME_MAX);
	memcpy(k + n, qname, qn);
	n += qn;
	k[n++] = (uint8_t)(qtype >> 8);
	k[n++] = (uint8_t)qtype;
	k[n++] = tcp;
	k[n++] = rd;
	k[n++] = edns;
	return vg_siphash13(r->hash_key, k, n);
}

static void outq_unlink(struct vg_outq *oq)
{
	struct vg_outq **pp = &oq->r->outq_hash[oq->hash % VG_OUTQ_BUCKETS];
	while (*pp && *pp != oq)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = oq->hnext;
}

/* The fields of struct vg_iq that say what was asked of whom, saved per upstream query in its
 * struct vg_oq_wait and restored when that query's reply is the one used (asked: memcpy). */
#define SENT_FIELDS(X) X(server) X(server_ns) X(server_idx) X(tcp) X(no_edns) X(asked_type)

/* Removes w from its iq's list of queries listened on. */
static void wait_unlink_iq(struct vg_oq_wait *w)
{
	struct vg_oq_wait **pp = &w->iq->waits;
	while (*pp && *pp != w)
		pp = &(*pp)->iq_next;
	if (*pp)
		*pp = w->iq_next;
	w->iq_next = NULL;
}

/* Takes one waiter off its outq; the last one cancels the upstream query. */
static void wait_leave(struct vg_oq_wait *w)
{
	struct vg_outq *oq = w->oq;
	if (!oq)
		return;
	struct vg_oq_wait **pp = &oq->waiters;
	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	w->oq = NULL;
	if (!oq->waiters && !oq->notifying) {
		oq->r->up->ops->cancel(oq->r->up, oq->uq);
		outq_unlink(oq);
		free(oq);
	}
}

/* The ICMP notice (VG_UP_UNREACHABLE): the query keeps listening; each waiting iq may ask
 * another server meanwhile. Waiters are visited one at a time from the head, because running
 * an iq may make other waiters leave (their request completed). */
static void outq_unreachable(struct vg_outq *oq)
{
	struct vg_resolver *r = oq->r;
	oq->unreachable = true;
	r->stats.upstream_unreachable++;
	oq->notifying = true;
	for (unsigned guard = 0; guard < 100000; guard++) {
		struct vg_oq_wait *w = oq->waiters;
		while (w && w->notified)
			w = w->next;
		if (!w)
			break;
		w->notified = true;
		struct vg_iq *iq = w->iq;
		if (!iq->req->done && iq->state == IQ_WAIT_REPLY) {
			iq->state = IQ_PICK;
			vg_iq_run(iq);
		}
	}
	oq->notifying = false;
	if (!oq->waiters) {
		r->up->ops->cancel(r->up, oq->uq);
		outq_unlink(oq);
		free(oq);
	}
}

/* Adds one unwanted message to an iq's bounded record. */
static void unwanted_note(struct vg_unwanted_log *l, const struct vg_upstream_unwanted *u)
{
	if (l->count[u->kind] < UINT16_MAX)
		l->count[u->kind]++;
	for (size_t i = 0; i < l->n_src; i++) {
		if (l->src[i].tcp == u->tcp && vg_sockaddr_eq(&l->src[i].from, &u->from)) {
			l->src[i].kinds |= (uint8_t)(1u << u->kind);
			return;
		}
	}
	if (l->n_src == VG_UNWANTED_SOURCES) {
		l->src_overflow = true;
		return;
	}
	l->src[l->n_src++] = (struct vg_unwanted_src){u->from, u->tcp, (uint8_t)(1u << u->kind)};
}

static void on_outq_reply(void *ctx, enum vg_upstream_status st, const uint8_t *reply, size_t len,
			  uint32_t rtt_ms);

/* The transport heard a message for this query that did not answer it: every iq waiting on the
 * query records it (the spoof-attempt event reads it); the query waits on as before, unless
 * spoof-tcp-after wrong IDs move it to TCP. */
static void on_outq_unwanted(void *ctx, const struct vg_upstream_unwanted *u)
{
	struct vg_outq *oq = ctx;
	if (vg_fails(u->kind < VG_UNWANTED_N_KINDS))
		return;
	struct vg_resolver_stats *st = &oq->r->stats;
	uint64_t *const count[VG_UNWANTED_N_KINDS] = {
	    [VG_UNWANTED_ID] = &st->unwanted_id,
	    [VG_UNWANTED_QUESTION] = &st->unwanted_question,
	    [VG_UNWANTED_CASE] = &st->unwanted_case,
	    [VG_UNWANTED_MALFORMED] = &st->unwanted_malformed,
	    [VG_UNWANTED_SOURCE] = &st->unwanted_source,
	    [VG_UNWANTED_LATE] = &st->unwanted_late,
	};
	(*count[u->kind])++;
	const struct vg_hijack_opts *o = oq->r->hijack;
	bool spoof_tcp = o && o->enabled && o->spoof_attempt == VG_DETECT_BLOCK;
	/* spoof-attempt: a 0x20 mismatch ends the query for TCP (the transport's VG_UP_CASE);
	 * so do spoof-tcp-after wrong-ID messages. Neither says anything against the server. */
	bool to_tcp = spoof_tcp && !oq->tcp && u->kind == VG_UNWANTED_ID &&
		      ++oq->wrong_id >= o->spoof_tcp_after;
	for (struct vg_oq_wait *w = oq->waiters; w; w = w->next) {
		unwanted_note(&w->iq->unwanted, u);
		if (u->kind == VG_UNWANTED_CASE && !oq->tcp)
			w->iq->unwanted.moved_tcp = true;
		w->iq->unwanted.moved_tcp |= to_tcp;
	}
	if (to_tcp) {
		oq->r->up->ops->cancel(oq->r->up, oq->uq);
		on_outq_reply(oq, VG_UP_CASE, NULL, 0, 0);
	}
}

struct reply_args {
	struct vg_outq *oq;
	enum vg_upstream_status st;
	const uint8_t *reply;
	size_t len;
	uint32_t rtt_ms;
};

static int reply_entry(void *arg)
{
	const struct reply_args *a = arg;
	struct vg_outq *oq = a->oq;
	struct vg_resolver *r = oq->r;
	enum vg_upstream_status st = a->st;
	const uint8_t *reply = a->reply;
	size_t len = a->len;
	uint32_t rtt_ms = a->rtt_ms;
	if (st == VG_UP_UNREACHABLE) {
		outq_unreachable(oq);
		return 0;
	}
	/* Once per query, however many iqs wait on it: a lost datagram is one timeout for the
	 * server's backoff and hold-down, not one per waiter. Only silence counts against a
	 * server: not an ICMP error (forgeable off-path, and what a server not up yet sends), not
	 * the timeout after one, not a TCP reset, not a 0x20 mismatch. */
	if (st == VG_UP_REPLY)
		vg_select_rtt(r->sel, &oq->server, rtt_ms);
	else if (st == VG_UP_TIMEOUT && !oq->unreachable)
		vg_select_timeout(r->sel, &oq->server, r->up->ops->now_ms(r->up), oq->sent_ms);
	outq_unlink(oq);
	struct vg_oq_wait *w = oq->waiters;
	for (struct vg_oq_wait *x = w; x; x = x->next) {
		x->oq = NULL;
		wait_unlink_iq(x);
	}
	free(oq);
	/* Each waiter keeps its own copy: requests end independently. A finished request's
	 * memory lives until the reaper runs, so `next` stays readable. */
	while (w) {
		struct vg_oq_wait *next = w->next;
		struct vg_iq *iq = w->iq;
		if (!iq->req->done && iq->state == IQ_WAIT_REPLY) {
			/* A reply ends the wait on every other server this iq was asking. */
			if (st == VG_UP_REPLY || st == VG_UP_CASE)
				vg_outq_leave(iq);
				/* The iq is back to what it asked of this server. */
#define RESTORE(f) iq->f = w->f;
			SENT_FIELDS(RESTORE)
#undef RESTORE
			memcpy(iq->asked, w->asked, sizeof(iq->asked));
			iq->st = st;
			iq->rtt_ms = rtt_ms;
			iq->reply = NULL;
			iq->reply_len = 0;
			if (st == VG_UP_REPLY) {
				iq->reply = vg_arena_memdup(&iq->req->arena, reply, len);
				iq->reply_len = len;
				if (!iq->reply)
					iq->st = VG_UP_ERROR;
			}
			iq->state = IQ_REPLY;
			vg_iq_run(iq);
		}
		w = next;
	}
	return 0;
}

static void on_outq_reply(void *ctx, enum vg_upstream_status st, const uint8_t *reply, size_t len,
			  uint32_t rtt_ms)
{
	struct reply_args a = {ctx, st, reply, len, rtt_ms};
	vg_resolver_entry(((struct vg_outq *)ctx)->r, reply_entry, &a);
}

int vg_outq_send(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	struct vg_oq_wait *w = vg_arena_zalloc(&iq->req->arena, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->iq = iq;
#define SAVE(f) w->f = iq->f;
	SENT_FIELDS(SAVE)
#undef SAVE
	memcpy(w->asked, iq->asked, sizeof(w->asked));
	uint8_t low[VG_NAME_MAX];
	memcpy(low, iq->asked, (size_t)vg_name_len(iq->asked, VG_NAME_MAX));
	vg_name_lower(low);
	bool rd = iq->forward, edns = !iq->no_edns;
	uint64_t h = outq_hash(r, &iq->server, low, iq->asked_type, iq->tcp, rd, edns);
	for (struct vg_outq *oq = r->outq_hash[h % VG_OUTQ_BUCKETS]; oq; oq = oq->hnext) {
		/* Not one that reported an ICMP error: its waiters were told to move on, a new
		 * waiter would not be. */
		if (oq->hash == h && !oq->unreachable && oq->qtype == iq->asked_type &&
		    oq->tcp == iq->tcp && oq->rd == rd && oq->edns == edns &&
		    vg_sockaddr_eq(&oq->server, &iq->server) && vg_name_eq(oq->qname, low)) {
			w->oq = oq;
			w->next = oq->waiters;
			oq->waiters = w;
			w->iq_next = iq->waits;
			iq->waits = w;
			r->stats.upstream_joined++;
			return 0;
		}
	}
	struct vg_outq *oq = calloc(1, sizeof(*oq));
	if (!oq)
		return -ENOMEM;
	oq->r = r;
	oq->hash = h;
	oq->server = iq->server;
	memcpy(oq->qname, low, sizeof(low));
	oq->qtype = iq->asked_type;
	oq->tcp = iq->tcp;
	oq->rd = rd;
	oq->edns = edns;
	oq->sent_ms = r->up->ops->now_ms(r->up);
	uint8_t name[VG_NAME_MAX];
	memcpy(name, low, sizeof(low));
	struct {
		uint16_t id;
		uint8_t bits[32];
	} rnd;
	r->up->ops->random(r->up, &rnd, sizeof(rnd));
	/* Over TCP the handshake already proves the reply's origin: no 0x20, so servers that
	 * change the case still answer. */
	if (r->opts.case_randomisation && !iq->tcp)
		vg_name_randomise_case(name, rnd.bits, sizeof(rnd.bits));
	uint8_t wire[VG_NAME_MAX + 32];
	/* DO=1 upstream: signatures are cached with the data for the validator to come. */
	int len = vg_query_build(wire, sizeof(wire), rnd.id, name, iq->asked_type, iq->qclass, rd,
				 edns, true);
	if (len < 0) {
		free(oq);
		return len;
	}
	/* CD=1 to a forwarder whose answers vigil validates: bogus data comes back to be judged
	 * here (and logged), not as the forwarder's bare SERVFAIL. */
	if (rd && vg_validate_fwd_cd(iq))
		wire[3] |= 0x10;
	uint32_t rto = vg_select_rto(r->sel, &iq->server);
	if (rd && rto < VG_RTO_FORWARD_MIN_MS)
		rto = VG_RTO_FORWARD_MIN_MS;
	struct vg_upstream_req ureq = {
	    .server = &iq->server,
	    .wire = wire,
	    .len = (size_t)len,
	    .tcp = iq->tcp,
	    /* TCP needs a handshake first; give it room. */
	    .timeout_ms = iq->tcp ? rto * 2 + 500 : rto,
	    .unwanted = on_outq_unwanted,
	    /* injection-window: a second reply on the socket is the on-path injection sign */
	    .linger_ms = iq->tcp || !r->hijack || !r->hijack->enabled ||
				 r->hijack->second_answer == VG_DETECT_OFF
			     ? 0
			     : r->opts.injection_window_ms,
	    .late = vg_hijack_late,
	    .late_ctx = r,
	};
	int rc = r->up->ops->send(r->up, &ureq, on_outq_reply, oq, &oq->uq);
	if (rc < 0) {
		free(oq);
		return rc;
	}
	r->stats.upstream_sent++;
	oq->hnext = r->outq_hash[h % VG_OUTQ_BUCKETS];
	r->outq_hash[h % VG_OUTQ_BUCKETS] = oq;
	w->oq = oq;
	oq->waiters = w;
	w->iq_next = iq->waits;
	iq->waits = w;
	return 0;
}

void vg_outq_leave(struct vg_iq *iq)
{
	while (iq->waits) {
		struct vg_oq_wait *w = iq->waits;
		iq->waits = w->iq_next;
		w->iq_next = NULL;
		wait_leave(w);
	}
}
