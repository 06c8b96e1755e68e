/* The request driver: vg_resolver_* (resolver.h), client questions in flight joined into one
 * request, identical upstream queries sent once (outq), the request lifetime, serve-stale, root
 * priming, prefetch, and the minimal answer handed back to the front end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/file.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil/roothints.h>
#include "iter.h"

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* ---- outq: one upstream query, shared by every iq asking the same thing at once ---- */

struct vg_outq {
	struct vg_resolver *r;
	uint64_t hash;
	struct vg_outq *hnext;
	struct vg_sockaddr server;
	uint8_t qname[VG_NAME_MAX]; /* lowercase */
	uint16_t qtype;
	bool tcp, rd, edns;
	bool unreachable; /* an ICMP error was reported: its timeout says nothing of the server */
	bool notifying;	  /* on_outq_reply is walking the waiters: leaving must not free it */
	struct vg_upstream_query *uq;
	struct vg_oq_wait *waiters;
};

static uint64_t outq_hash(const struct vg_sockaddr *s, const uint8_t *qname, uint16_t qtype,
			  bool tcp, bool rd, bool edns)
{
	uint64_t h =
	    hash_bytes(&s->u.sa.sa_family, sizeof(s->u.sa.sa_family), 0xcbf29ce484222325ull);
	if (s->u.sa.sa_family == AF_INET)
		h = hash_bytes(&s->u.sin.sin_addr, 4, hash_bytes(&s->u.sin.sin_port, 2, h));
	else
		h = hash_bytes(&s->u.sin6.sin6_addr, 16, hash_bytes(&s->u.sin6.sin6_port, 2, h));
	h = hash_bytes(qname, (size_t)vg_name_len(qname, VG_NAME_MAX), h);
	uint8_t f[5] = {(uint8_t)(qtype >> 8), (uint8_t)qtype, tcp, rd, edns};
	return hash_bytes(f, sizeof(f), h);
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

static void on_outq_reply(void *ctx, enum vg_upstream_status st, const uint8_t *reply, size_t len,
			  uint32_t rtt_ms)
{
	struct vg_outq *oq = ctx;
	struct vg_resolver *r = oq->r;
	if (st == VG_UP_UNREACHABLE) {
		outq_unreachable(oq);
		vg_store_read_done(r);
		return;
	}
	/* Once per query, however many iqs wait on it: a lost datagram is one timeout for the
	 * server's backoff and hold-down, not one per waiter. Only silence counts against a
	 * server: not an ICMP error (forgeable off-path, and what a server not up yet sends), not
	 * the timeout after one, not a TCP reset, not a 0x20 mismatch. */
	if (st == VG_UP_REPLY)
		vg_select_rtt(r->sel, &oq->server, rtt_ms);
	else if (st == VG_UP_TIMEOUT && !oq->unreachable)
		vg_select_timeout(r->sel, &oq->server, r->up->ops->now_ms(r->up));
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
	vg_store_read_done(r);
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
	uint64_t h = outq_hash(&iq->server, low, iq->asked_type, iq->tcp, rd, edns);
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
	uint8_t name[VG_NAME_MAX];
	memcpy(name, low, sizeof(low));
	struct {
		uint16_t id;
		uint8_t bits[32];
	} rnd;
	r->up->ops->random(r->up, &rnd, sizeof(rnd));
	/* Over TCP the handshake already proves the reply's origin: no 0x20, so servers that
	 * change the case still answer. */
	if (r->cfg->case_randomisation && !iq->tcp)
		vg_name_randomise_case(name, rnd.bits, sizeof(rnd.bits));
	uint8_t wire[VG_NAME_MAX + 32];
	/* DO=1 upstream: signatures are cached with the data for the validator to come. */
	int len = vg_query_build(wire, sizeof(wire), rnd.id, name, iq->asked_type, iq->qclass, rd,
				 edns, true);
	if (len < 0) {
		free(oq);
		return len;
	}
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

/* ---- requests ---- */

static uint64_t req_hash(const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool d, bool c)
{
	uint8_t f[6] = {
	    (uint8_t)(qtype >> 8), (uint8_t)qtype, (uint8_t)(qclass >> 8), (uint8_t)qclass, d, c};
	return hash_bytes(
	    f, sizeof(f),
	    hash_bytes(qname, (size_t)vg_name_len(qname, VG_NAME_MAX), 0xcbf29ce484222325ull));
}

static void reaper_fire(void *ctx)
{
	struct vg_resolver *r = ctx;
	r->reaper = NULL;
	while (r->zombies) {
		struct vg_req *z = r->zombies;
		r->zombies = z->next;
		vg_arena_free(&z->arena);
		free(z);
	}
}

static void req_unlink(struct vg_req *req)
{
	struct vg_resolver *r = req->r;
	struct vg_req **pp = &r->req_hash[req->key_hash % VG_REQ_BUCKETS];
	while (*pp && *pp != req)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = req->hnext;
	if (req->prev)
		req->prev->next = req->next;
	else if (r->reqs == req)
		r->reqs = req->next;
	if (req->next)
		req->next->prev = req->prev;
	req->next = req->prev = NULL;
}

static void on_deadline(void *ctx)
{
	struct vg_req *req = ctx;
	req->deadline = NULL;
	if (req->done)
		return;
	vg_debug("resolver: request lifetime (request-timeout) exceeded");
	req->root->state = IQ_FAIL;
	req->root->ede = VG_EDE_NO_REACHABLE_AUTHORITY;
	req->root->ede_text = "request-timeout reached";
	req->r->stats.limit_hits++;
	vg_req_complete(req);
	vg_store_read_done(req->r);
}

/* The TTL a record learned just now is shown with: the clamps the cache applies when it stores
 * it (cache-min-ttl, cache-max-ttl or cache-max-negative-ttl), so the first answer and every
 * cached repeat agree. */
static uint32_t clamp_ttl(const struct vg_config *cfg, uint32_t ttl, bool negative)
{
	uint32_t hi = negative ? cfg->cache_max_negative_ttl : cfg->cache_max_ttl;
	return vg_cache_ttl_clamp(ttl, cfg->cache_min_ttl, hi ? hi : UINT32_MAX);
}

/* Whether b belongs to the RRset of a (an RRSIG to the set it covers): where an answer may be cut.
 */
static bool same_set(const struct vg_rr *a, const struct vg_rr *b)
{
	uint16_t ta = a->type == VG_TYPE_RRSIG && a->rdlen >= 2 ? vg_get_u16(a->rdata) : a->type;
	uint16_t tb = b->type == VG_TYPE_RRSIG && b->rdlen >= 2 ? vg_get_u16(b->rdata) : b->type;
	return ta == tb && a->rclass == b->rclass && vg_name_eq(a->owner, b->owner);
}

/* Minimal response (answer section + SOA for negative answers) into buf; returns its length. An
 * answer over VG_ANSWER_MAX is cut before the RRset that does not fit, with TC=1: never a part of
 * an RRset. */
static size_t build_answer(struct vg_req *req, const struct vg_iq *iq, uint16_t rcode, bool stale,
			   uint8_t *buf, size_t cap)
{
	if (cap > VG_ANSWER_MAX)
		cap = VG_ANSWER_MAX;
	const struct vg_config *cfg = req->r->cfg;
	size_t qn = (size_t)vg_name_len(req->qname, VG_NAME_MAX);
	memset(buf, 0, 12);
	buf[2] = 0x80;
	buf[3] = (uint8_t)(0x80 | (rcode & 0x0f)); /* RA; AD stays clear until validation exists */
	vg_put_u16(buf + 4, 1);
	memcpy(buf + 12, req->qname, qn);
	vg_put_u16(buf + 12 + qn, req->qtype);
	vg_put_u16(buf + 14 + qn, req->qclass);
	size_t off = 16 + qn, set_off = off;
	uint16_t an = 0, ns = 0, set_an = 0;
	const struct vg_rr *prev = NULL;
	bool tc = false;
	for (size_t i = 0; iq && i < iq->n_ans; i++) {
		const struct vg_rr *rr = iq->ans[i];
		if (rr->type == VG_TYPE_RRSIG && !req->do_bit)
			continue;
		if (!prev || !same_set(prev, rr)) {
			set_off = off;
			set_an = an;
		}
		prev = rr;
		uint32_t ttl = rr->from_cache ? rr->ttl : clamp_ttl(cfg, rr->ttl, false);
		size_t w = vg_rr_write(buf + off, cap - off, rr, stale ? VG_CACHE_STALE_TTL : ttl);
		if (!w) {
			off = set_off;
			an = set_an;
			tc = true;
			break;
		}
		off += w;
		an++;
	}
	if (iq && iq->soa && !tc) {
		/* Negative answers carry the SOA with the negative TTL: min(SOA TTL, MINIMUM)
		 * (RFC 2308 §5) in the cache's clamps; from the cache, what is left of it. */
		const struct vg_rr *soa = iq->soa;
		uint32_t ttl = soa->ttl;
		if (!soa->from_cache) {
			if (soa->rdlen >= 4 && vg_get_u32(soa->rdata + soa->rdlen - 4) < ttl)
				ttl = vg_get_u32(soa->rdata + soa->rdlen - 4);
			ttl = clamp_ttl(cfg, ttl, true);
		}
		size_t w = vg_rr_write(buf + off, cap - off, soa, stale ? VG_CACHE_STALE_TTL : ttl);
		if (w) {
			off += w;
			ns++;
		} else {
			tc = true;
		}
	}
	if (tc)
		buf[2] |= 0x02;
	vg_put_u16(buf + 6, an);
	vg_put_u16(buf + 8, ns);
	return off;
}

static void deliver(struct vg_req *req, const uint8_t *wire, size_t len, uint16_t ede,
		    const char *ede_text)
{
	struct vg_resolver *r = req->r;
	struct vg_waiter *w = req->waiters;
	req->waiters = NULL;
	size_t qn = (size_t)vg_name_len(req->qname, VG_NAME_MAX);
	for (; w; w = w->next) {
		/* The shared buffer gets each client's RD bit and 0x20 spelling in turn. */
		uint8_t *b = r->abuf;
		if (b != wire)
			memcpy(b, wire, len);
		b[2] = (uint8_t)((b[2] & ~0x01) | (w->rd ? 0x01 : 0));
		memcpy(b + 12, w->qname, qn);
		struct vg_answer a = {.wire = b, .len = len, .ede = ede, .ede_text = ede_text};
		w->cb(w->ctx, &a);
	}
}

/* Priming never holds a query back: a question that arrives meanwhile iterates from the hints'
 * addresses. A failed priming is tried again by the first question after a short wait that
 * doubles per failure (1 s .. 60 s), so a resolver started before its network (or its lab) was
 * up primes within a second of the roots answering. */
static void maybe_prime(struct vg_resolver *r)
{
	if (r->priming || r->cfg->n_forward)
		return;
	if (r->primed_until && r->up->ops->wall_now(r->up) < r->primed_until)
		return;
	if (r->prime_retry_at && r->up->ops->now_ms(r->up) < r->prime_retry_at)
		return;
	vg_req_start_background(r, (const uint8_t *)"", VG_TYPE_NS, true);
}

/* The priming request ended: back off after a failure, start over after a success. */
static void prime_done(struct vg_resolver *r, bool ok)
{
	r->priming = false;
	if (ok) {
		r->prime_backoff_ms = 0;
		r->prime_retry_at = 0;
		return;
	}
	uint32_t wait = r->prime_backoff_ms ? r->prime_backoff_ms : VG_PRIME_RETRY_MIN_MS;
	r->prime_retry_at = r->up->ops->now_ms(r->up) + wait;
	r->prime_backoff_ms = wait * 2 > VG_PRIME_RETRY_MAX_MS ? VG_PRIME_RETRY_MAX_MS : wait * 2;
	vg_info("resolver %d: root priming failed, next try in %u ms at the earliest", r->worker_id,
		wait);
}

void vg_req_complete(struct vg_req *req)
{
	struct vg_resolver *r = req->r;
	if (req->done)
		return;
	req->done = true;
	for (struct vg_iq *iq = req->iqs; iq; iq = iq->next_all)
		vg_iq_cancel(iq);
	if (req->deadline) {
		r->up->ops->timer_stop(r->up, req->deadline);
		req->deadline = NULL;
	}
	req_unlink(req);
	struct vg_iq *iq = req->root;
	if (iq->is_prime)
		prime_done(r, iq->state == IQ_DONE && iq->primed);
	uint16_t ede = VG_EDE_NONE;
	const char *ede_text = NULL;
	size_t len;
	if (iq->state == IQ_DONE) {
		len = build_answer(req, iq, iq->rcode, iq->stale, r->abuf, sizeof(r->abuf));
		if (iq->stale) {
			ede = iq->rcode == VG_RCODE_NXDOMAIN ? VG_EDE_STALE_NXDOMAIN_ANSWER
							     : VG_EDE_STALE_ANSWER;
			r->stats.stale_served++;
		} else if (req->suspect_ede) {
			/* Records were removed: never cached as a valid answer. */
			ede = req->suspect_ede;
			ede_text = req->suspect_text;
		} else if (r->cache && !iq->is_prime && !(r->abuf[2] & 0x02)) {
			/* A cut answer (TC) is never cached: the next client would get it as whole.
			 */
			uint8_t rank =
			    VG_RANK_AUTH_ANSWER | (iq->forwarded_data ? 0 : VG_RANK_ITERATED);
			vg_cache_answer_put(r->cache, req->qname, req->qtype, req->do_bit,
					    req->cd_bit, r->abuf, len, rank, VG_SEC_INDETERMINATE,
					    0, vg_wall32(r));
		}
	} else {
		/* RFC 8767: when the authorities cannot give an answer, an expired one (TTL 30)
		 * beats SERVFAIL. Suspect entries are never served stale (the cache's rule). */
		vg_iq_ans_clear(iq);
		iq->soa = NULL;
		unsigned hint = 0;
		int kind = -1, arc = -1;
		bool stale_ok = r->cfg->serve_stale_max > 0 && req->waiters && !iq->is_prime &&
				!req->cache_only;
		/* The answer cache first: it holds the whole answer, CNAME chain included. */
		if (stale_ok)
			arc = vg_store_stale_answer(req, r->abuf, sizeof(r->abuf), &len);
		if (stale_ok && arc < 0)
			kind = vg_store_lookup_answer(iq, req->qname, req->qtype,
						      (int)r->cfg->serve_stale_max, &hint);
		if (arc >= 0) {
			ede = arc == VG_RCODE_NXDOMAIN ? VG_EDE_STALE_NXDOMAIN_ANSWER
						       : VG_EDE_STALE_ANSWER;
			ede_text = iq->ede_text;
			r->stats.stale_served++;
		} else if (kind >= 0 && (hint & VG_CACHE_STALE)) {
			uint16_t rc =
			    kind == VG_CACHE_NXDOMAIN ? VG_RCODE_NXDOMAIN : VG_RCODE_NOERROR;
			len = build_answer(req, iq, rc, true, r->abuf, sizeof(r->abuf));
			/* RFC 8914: 19 for a stale NXDOMAIN, 3 for any other stale answer. */
			ede = kind == VG_CACHE_NXDOMAIN ? VG_EDE_STALE_NXDOMAIN_ANSWER
							: VG_EDE_STALE_ANSWER;
			ede_text = iq->ede_text;
			r->stats.stale_served++;
		} else {
			vg_iq_ans_clear(iq);
			iq->soa = NULL;
			/* RD=0 and not cached: REFUSED, as Unbound (access-control: allow) and
			 * Knot Resolver answer it; SERVFAIL would claim we tried. */
			len = build_answer(req, NULL,
					   req->cache_only ? VG_RCODE_REFUSED : VG_RCODE_SERVFAIL,
					   false, r->abuf, sizeof(r->abuf));
			ede = iq->ede;
			ede_text = iq->ede_text;
			if (req->cache_only)
				r->stats.refused_rd0++;
			else
				r->stats.servfail++;
		}
	}
	deliver(req, r->abuf, len, ede, ede_text);
	if (iq->want_prefetch)
		vg_req_start_background(r, req->qname, req->qtype, false);
	req->next = r->zombies;
	r->zombies = req;
	if (!r->reaper)
		r->up->ops->timer_start(r->up, 0, reaper_fire, r, &r->reaper);
}

static struct vg_req *req_new(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype,
			      uint16_t qclass, bool do_bit, bool cd_bit)
{
	struct vg_req *req = calloc(1, sizeof(*req));
	if (!req)
		return NULL;
	req->r = r;
	vg_arena_init(&req->arena, 0, VG_ARENA_LIMIT);
	req->arena.pool = &r->arena_pool;
	memcpy(req->qname, qname, (size_t)vg_name_len(qname, VG_NAME_MAX));
	vg_name_lower(req->qname);
	req->qtype = qtype;
	req->qclass = qclass;
	req->do_bit = do_bit;
	req->cd_bit = cd_bit;
	req->key_hash = req_hash(req->qname, qtype, qclass, do_bit, cd_bit);
	req->root = vg_iq_new(req, req->qname, qtype, qclass);
	if (!req->root) {
		vg_arena_free(&req->arena);
		free(req);
		return NULL;
	}
	return req;
}

static void req_link(struct vg_req *req)
{
	struct vg_resolver *r = req->r;
	req->hnext = r->req_hash[req->key_hash % VG_REQ_BUCKETS];
	r->req_hash[req->key_hash % VG_REQ_BUCKETS] = req;
	req->next = r->reqs;
	if (r->reqs)
		r->reqs->prev = req;
	r->reqs = req;
	r->up->ops->timer_start(r->up, r->cfg->request_timeout_ms, on_deadline, req,
				&req->deadline);
}

static struct vg_req *req_find(struct vg_resolver *r, const uint8_t *low, uint16_t qtype,
			       uint16_t qclass, bool d, bool c)
{
	uint64_t h = req_hash(low, qtype, qclass, d, c);
	for (struct vg_req *q = r->req_hash[h % VG_REQ_BUCKETS]; q; q = q->hnext)
		if (q->key_hash == h && q->qtype == qtype && q->qclass == qclass &&
		    q->do_bit == d && q->cd_bit == c && vg_name_eq(q->qname, low))
			return q;
	return NULL;
}

struct vg_req *vg_req_start_background(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype,
				       bool prime)
{
	uint8_t low[VG_NAME_MAX];
	memcpy(low, qname, (size_t)vg_name_len(qname, VG_NAME_MAX));
	vg_name_lower(low);
	if (req_find(r, low, qtype, VG_CLASS_IN, false, false))
		return NULL; /* already being refreshed */
	struct vg_req *req = req_new(r, low, qtype, VG_CLASS_IN, false, false);
	if (!req)
		return NULL;
	req->root->is_prime = prime;
	req->root->refresh = !prime;
	if (prime) {
		r->priming = true;
		r->stats.primings++;
	} else {
		r->stats.prefetches++;
	}
	req_link(req);
	vg_iq_run(req->root);
	return req;
}

/* ---- public API (resolver.h) ---- */

static int load_hints(struct vg_resolver *r)
{
	const char *text = vg_builtin_root_hints;
	char *buf = NULL;
	if (r->cfg->root_hints_text) {
		text =
		    r->cfg
			->root_hints_text; /* read by the config loader before the privilege drop */
	} else if (r->cfg->root_hints && r->cfg->root_hints[0]) {
		size_t n;
		int rc = vg_file_read(r->cfg->root_hints, VG_ROOT_HINTS_MAX, &buf, &n);
		if (rc < 0) {
			vg_err("resolver: cannot read root-hints %s", r->cfg->root_hints);
			return rc;
		}
		text = buf;
	}
	int n = vg_roothints_parse(text, r->hints, VG_MAX_HINTS);
	free(buf);
	if (n < 0) {
		vg_err("resolver: no root server address in %s",
		       r->cfg->root_hints ? r->cfg->root_hints : "the built-in root hints");
		return n;
	}
	r->n_hints = (size_t)n;
	return 0;
}

int vg_resolver_new(const struct vg_resolver_env *env, struct vg_resolver **out)
{
	struct vg_resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = env->cfg;
	r->cache = env->cache;
	r->up = env->upstream;
	r->worker_id = env->worker_id;
	r->hijack = env->hijack;
	r->suspect = env->suspect;
	/* Memory of requests in flight, bounded whatever they meet (docs/configuration.md). */
	r->arena_pool.limit = (size_t)r->cfg->max_requests * VG_ARENA_PER_REQUEST;
	if (vg_fails(r->up != NULL)) {
		free(r);
		return -EINVAL;
	}
	r->sel = vg_select_new(4096);
	int rc = r->sel ? load_hints(r) : -ENOMEM;
	if (rc < 0) {
		vg_select_free(r->sel);
		free(r);
		return rc;
	}
	if (r->cache) {
		r->rd = vg_cache_reader_new(r->cache);
		if (!r->rd)
			vg_warn("resolver %d: no cache reader slot: resolving without cache reads",
				r->worker_id);
	}
	*out = r;
	maybe_prime(r);
	vg_store_read_done(r);
	return 0;
}

/* RD=0: the client asks what we know, not for recursion (RFC 1034 §4.3.1). The request runs
 * only the cache lookups of IQ_START and completes before returning: no priming, no upstream
 * query, no prefetch, no joining (a resolution in flight is not "what we know"). */
static int resolve_from_cache(struct vg_resolver *r, const struct vg_question *q,
			      const struct vg_waiter *w)
{
	struct vg_req *req = req_new(r, q->qname, q->qtype, q->qclass, q->do_bit, q->cd_bit);
	if (!req)
		return -ENOMEM;
	req->cache_only = true;
	req->waiters = vg_arena_memdup(&req->arena, w, sizeof(*w));
	if (!req->waiters) {
		vg_arena_free(&req->arena);
		free(req);
		return -ENOMEM;
	}
	vg_iq_run(req->root);
	if (vg_fails(req->done))
		vg_req_complete(req);
	vg_store_read_done(r);
	return 0;
}

int vg_resolver_resolve(struct vg_resolver *r, const struct vg_question *q, vg_resolve_cb cb,
			void *ctx)
{
	if (q->qname_len == 0 || q->qname_len > VG_NAME_MAX ||
	    vg_name_len(q->qname, q->qname_len) != (int)q->qname_len)
		return VG_EFORMAT;
	struct vg_waiter w = {.cb = cb, .ctx = ctx, .rd = q->rd_bit, .has_client = q->client};
	if (q->client)
		w.client = *q->client;
	memcpy(w.qname, q->qname, q->qname_len);
	uint8_t low[VG_NAME_MAX];
	memcpy(low, q->qname, q->qname_len);
	vg_name_lower(low);
	r->stats.requests++;
	if (!q->rd_bit)
		return resolve_from_cache(r, q, &w);
	maybe_prime(r);
	struct vg_req *req = req_find(r, low, q->qtype, q->qclass, q->do_bit, q->cd_bit);
	bool fresh = false;
	if (!req) {
		req = req_new(r, low, q->qtype, q->qclass, q->do_bit, q->cd_bit);
		if (!req)
			return -ENOMEM;
		fresh = true;
	} else {
		r->stats.joined++;
	}
	struct vg_waiter *wp = vg_arena_memdup(&req->arena, &w, sizeof(w));
	if (!wp) {
		if (fresh) {
			vg_arena_free(&req->arena);
			free(req);
		}
		return -ENOMEM;
	}
	wp->next = req->waiters;
	req->waiters = wp;
	if (fresh) {
		req_link(req);
		vg_iq_run(req->root);
	}
	vg_store_read_done(r);
	return 0;
}

int vg_resolver_prefetch(struct vg_resolver *r, const uint8_t *qname, size_t qname_len,
			 uint16_t qtype)
{
	if (!r->cfg->prefetch)
		return VG_EREFUSED;
	if (qname_len == 0 || vg_name_len(qname, qname_len) != (int)qname_len)
		return VG_EFORMAT;
	int rc = vg_req_start_background(r, qname, qtype, false) ? 0 : VG_ELIMIT;
	vg_store_read_done(r);
	return rc;
}

const struct vg_resolver_stats *vg_resolver_stats(const struct vg_resolver *r)
{
	return &r->stats;
}

/* The stop log: one line per resolver, every counter of VG_STATS_RESOLVER and VG_STATS_UPSTREAM
 * as name=value with the names `vigilctl stats` uses. */
static void log_stats(const struct vg_resolver *r)
{
	char line[2048];
	size_t n = 0;
#define LOG_STAT(prefix, st, name)                                                                 \
	if (n < sizeof(line))                                                                      \
		n += (size_t)snprintf(line + n, sizeof(line) - n, " " prefix #name "=%llu",        \
				      (unsigned long long)(st)->name);
#define LOG_RESOLVER(name, kind, help) LOG_STAT(VG_STATS_PREFIX_RESOLVER, &r->stats, name)
#define LOG_UPSTREAM(name, kind, help) LOG_STAT(VG_STATS_PREFIX_UPSTREAM, &r->up->stats, name)
	VG_STATS_RESOLVER(LOG_RESOLVER)
	VG_STATS_UPSTREAM(LOG_UPSTREAM)
#undef LOG_RESOLVER
#undef LOG_UPSTREAM
#undef LOG_STAT
	vg_info("resolver %d stats:%s", r->worker_id, line);
}

void vg_resolver_close(struct vg_resolver *r)
{
	if (!r)
		return;
	log_stats(r);
	while (r->reqs) {
		struct vg_req *req = r->reqs;
		req->root->state = IQ_FAIL;
		req->root->ede = VG_EDE_OTHER;
		req->root->ede_text = "resolver shutting down";
		vg_req_complete(req); /* unlinks it */
	}
	vg_store_read_done(r);
	if (r->reaper)
		r->up->ops->timer_stop(r->up, r->reaper);
	reaper_fire(r);
	if (r->rd)
		vg_cache_reader_free(r->rd);
	vg_select_free(r->sel);
	free(r);
}
