/* Worker threads: one libuv loop each, the per-query pipeline (checks, ACL, rate limit, local
 * data, answer cache, resolver) and the mailbox through which the main thread reloads or stops. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vigil/cache.h>
#include <vigil/err.h>
#include <vigil/resolver.h>
#include "acl.h"
#include "daemon.h"
#include "suspect.h"
#include "localdata.h"
#include "opts.h"
#include "querylog.h"
#include "upstream.h"

#define STOP_GRACE_MS 2000 /* how long a stop waits for the resolver's answers in flight */

/* A question handed to the resolver; lives until its callback. Reused through a free list. */
struct vg_client_req {
	struct vg_client_req *next;
	struct vg_worker *w;
	struct vg_reply_to to;
	struct vg_query q;
	uint64_t started;    /* loop time the query reached the resolver (discard-timeout) */
	uint64_t arrived_ns; /* uv_hrtime() of its receive batch (answer latency) */
	long pend_slot; /* max-pending-per-client counter taken, or < 0 (SLOT_TRUSTED: exempt) */
};

int vg_policy_new(struct vg_config *cfg, struct vg_policy **out, char *err, size_t errlen)
{
	struct vg_policy *p = calloc(1, sizeof(*p));
	if (!p) {
		vg_config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&p->refs, 1);
	p->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	int rc = vg_acl_new(&p->cfg, &p->acl);
	if (rc < 0) {
		snprintf(err, errlen, "cannot build the access list: %s", vg_strerror(rc));
		goto fail;
	}
	rc = vg_localdata_new(&p->cfg, &p->ld, err, errlen);
	if (rc < 0)
		goto fail;
	if (p->cfg.n_trusted) {
		/* The trusted ranges as an ACL of their own: "allowed" there means trusted. */
		struct vg_config t = {
		    .allow = p->cfg.trusted, .n_allow = p->cfg.n_trusted, .allow_set = true};
		if ((rc = vg_acl_new(&t, &p->trusted)) < 0) {
			snprintf(err, errlen, "cannot build the trusted ranges: %s",
				 vg_strerror(rc));
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	vg_localdata_free(p->ld);
	vg_acl_free(p->acl);
	vg_config_free(&p->cfg);
	free(p);
	return rc;
}

struct vg_policy *vg_policy_ref(struct vg_policy *p)
{
	atomic_fetch_add(&p->refs, 1);
	return p;
}

void vg_policy_unref(struct vg_policy *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	vg_acl_free(p->acl);
	vg_acl_free(p->trusted);
	vg_localdata_free(p->ld);
	vg_config_free(&p->cfg);
	free(p);
}

/* ---- answering ---- */

/* The query log's record of one answer; only called when the log is on. */
static void query_log(struct vg_worker *w, const struct vg_reply_to *to, const struct vg_query *q,
		      const uint8_t *buf, size_t n, int rcode, enum vg_qlog_source src,
		      uint16_t ede, const char *ede_text);

/* Counts an answer of n bytes in buf about to be sent: answers, its rcode, its latency (timed
 * with its batch, or by on_resolved), the query log. The hit path's share of the metrics. */
static inline void answered(struct vg_worker *w, const struct vg_reply_to *to,
			    const struct vg_query *q, const uint8_t *buf, size_t n, int rcode,
			    enum vg_qlog_source src, uint16_t ede, const char *ede_text)
{
	VG_STAT_ADD(w, answers, 1);
	VG_STAT_BUMP(w->rcode_stats[vg_stat_rcode_slot((unsigned)rcode)]);
	w->batch_sync += !w->in_async;
	if (__builtin_expect(w->d->qlog != NULL, 0))
		query_log(w, to, q, buf, n, rcode, src, ede, ede_text);
}

void vg_worker_batch_received(struct vg_worker *w)
{
	w->batch_ns = uv_hrtime();
	w->batch_sync = 0;
}

void vg_worker_batch_sent(struct vg_worker *w)
{
	if (w->batch_sync && w->batch_ns)
		vg_hist_add(&w->hist.answer_latency, uv_hrtime() - w->batch_ns, w->batch_sync);
	w->batch_sync = 0;
	w->batch_ns = 0;
}

/* Hash of a question for the suspect notes: the name lowercased (FNV-1a) and the type. */
static uint64_t note_hash(const uint8_t *qname, uint16_t qtype)
{
	uint64_t h = 1469598103934665603ull ^ qtype;
	for (size_t i = 0; i < 255 && qname[i]; i += (size_t)qname[i] + 1) {
		for (size_t j = i; j <= i + qname[i] && j < 255; j++) {
			uint8_t c = qname[j];
			h = (h ^ (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c)) * 1099511628211ull;
		}
	}
	return h;
}

/* The worker's suspect sink: hands the event to the suspicious-answer log and, for the query
 * log, notes its reason against the question; the request's answer follows on this thread. */
static void worker_suspect_emit(void *ctx, const struct vg_suspect_event *ev)
{
	struct vg_worker *w = ctx;
	const struct vg_suspect_sink *log = vg_suspect_log_sink(w->d->suspect);
	log->emit(log->ctx, ev);
	if (!w->d->qlog || !ev->qname || (unsigned)ev->reason >= 32)
		return;
	uint64_t h = note_hash(ev->qname, ev->qtype), now = uv_now(&w->loop);
	for (size_t i = 0; i < sizeof(w->suspect_notes) / sizeof(w->suspect_notes[0]); i++) {
		struct vg_suspect_note *n = &w->suspect_notes[i];
		if (n->hash == h && now - n->at < 1000) {
			n->reasons |= 1u << ev->reason;
			return;
		}
	}
	struct vg_suspect_note *n = &w->suspect_notes[w->suspect_note_next++ % 8];
	*n = (struct vg_suspect_note){h, now, 1u << ev->reason};
}

/* Reasons noted for this question within the last second (resolver answers only). */
static uint32_t suspect_reasons(struct vg_worker *w, const struct vg_query *q)
{
	uint64_t h = note_hash(q->qname, q->qtype), now = uv_now(&w->loop);
	for (size_t i = 0; i < sizeof(w->suspect_notes) / sizeof(w->suspect_notes[0]); i++)
		if (w->suspect_notes[i].hash == h && now - w->suspect_notes[i].at < 1000)
			return w->suspect_notes[i].reasons;
	return 0;
}

/* RFC 8914 codes that mean DNSSEC validation failed. */
static bool ede_bogus(uint16_t ede)
{
	return ede == VG_EDE_DNSSEC_BOGUS || ede == VG_EDE_SIGNATURE_EXPIRED ||
	       ede == VG_EDE_SIGNATURE_NOT_YET_VALID || ede == VG_EDE_DNSKEY_MISSING ||
	       ede == VG_EDE_RRSIGS_MISSING || ede == VG_EDE_NSEC_MISSING;
}

static void query_log(struct vg_worker *w, const struct vg_reply_to *to, const struct vg_query *q,
		      const uint8_t *buf, size_t n, int rcode, enum vg_qlog_source src,
		      uint16_t ede, const char *ede_text)
{
	if (!q->has_question)
		return;
	struct vg_qlog_entry e;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e.client = to->client;
	memcpy(e.qname, q->qname, q->qname_len);
	e.qname[q->qname_len] = 0; /* qname_len <= 255 < sizeof(e.qname) */
	e.qtype = q->qtype;
	e.rcode = (uint16_t)rcode;
	e.ad = n >= VG_DNS_HEADER && (buf[3] & 0x20);
	e.tc = n >= VG_DNS_HEADER && (buf[2] & 0x02);
	e.tcp = to->udp == NULL;
	e.source = (uint8_t)src;
	e.dnssec = e.ad ? VG_QLOG_SECURE
			: (rcode == VG_RCODE_SERVFAIL && ede_bogus(ede) ? VG_QLOG_BOGUS
									: VG_QLOG_INDETERMINATE);
	e.ede = ede;
	snprintf(e.ede_text, sizeof(e.ede_text), "%s", ede_text ? ede_text : "");
	uint64_t ns = w->in_async ? w->async_ns : (w->batch_ns ? uv_hrtime() - w->batch_ns : 0);
	e.latency_us = ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns / 1000);
	e.reasons = src == VG_QLOG_RESOLVER ? suspect_reasons(w, q) : 0;
	vg_querylog_push(w->d->qlog, &e);
}

/* Finishes an answer held in buf (ID 0, no OPT) for the client and sends it. */
static void deliver(struct vg_worker *w, const struct vg_reply_to *to, const struct vg_query *q,
		    uint8_t *buf, size_t len, size_t cap, uint16_t ede, const char *ede_text,
		    enum vg_qlog_source src)
{
	uint16_t our = w->policy->cfg.edns_buffer_size;
	int n = to->udp ? vg_query_finish(q, buf, len, cap, vg_query_udp_limit(q, our), ede,
					  ede_text, our)
			: vg_query_finish_tcp(q, buf, len, cap, ede, ede_text, our);
	if (n < 0) {
		vg_debug("cannot finish an answer: %s", vg_strerror(n));
		n = vg_query_error(q, VG_RCODE_SERVFAIL, VG_EDE_NONE, NULL, our, buf, cap);
		VG_STAT_ADD(w, servfail, 1);
		if (n < 0)
			return;
	}
	if ((size_t)n >= VG_DNS_HEADER && (buf[2] & 0x02))
		VG_STAT_ADD(w, truncated, 1);
	answered(w, to, q, buf, (size_t)n, buf[3] & 0x0F, src, ede, ede_text);
	if (to->udp) {
		size_t scap;
		uint8_t *slot = vg_udp_reply_buf(to->udp, &scap);
		if ((size_t)n > scap)
			return; /* cannot happen: limit <= slot size */
		memcpy(slot, buf, (size_t)n);
		vg_udp_reply_commit(to->udp, to, (size_t)n);
	} else {
		vg_tcp_send(to->conn, buf, (size_t)n);
	}
}

/* Sends an answer-less response with `rcode` (and TC when `tc`), with an EDE unless
 * ede == VG_EDE_NONE. */
static void respond_ede(struct vg_worker *w, const struct vg_reply_to *to, const struct vg_query *q,
			int rcode, bool tc, uint16_t ede, const char *ede_text)
{
	uint16_t our = w->policy->cfg.edns_buffer_size;
	int n = vg_query_error(q, rcode, ede, ede_text, our, w->scratch, sizeof(w->scratch));
	if (n < 0)
		return;
	if (tc)
		w->scratch[2] |= 0x02;
	answered(w, to, q, w->scratch, (size_t)n, rcode, VG_QLOG_LOCAL, ede, ede_text);
	if (to->udp) {
		size_t scap;
		uint8_t *slot = vg_udp_reply_buf(to->udp, &scap);
		if ((size_t)n > scap)
			return;
		memcpy(slot, w->scratch, (size_t)n);
		vg_udp_reply_commit(to->udp, to, (size_t)n);
	} else {
		vg_tcp_send(to->conn, w->scratch, (size_t)n);
	}
}

static void respond_error(struct vg_worker *w, const struct vg_reply_to *to,
			  const struct vg_query *q, int rcode, bool tc)
{
	respond_ede(w, to, q, rcode, tc, VG_EDE_NONE, NULL);
}

static void cache_begin(struct vg_worker *w)
{
	if (w->cache_open_txn || !w->cache_rd)
		return;
	if (vg_cache_read_begin(w->cache_rd) == 0)
		w->cache_open_txn = true;
	w->now_wall = (uint32_t)time(NULL);
}

void vg_worker_batch_begin(struct vg_worker *w)
{
	cache_begin(w);
}

void vg_worker_batch_end(struct vg_worker *w)
{
	if (w->cache_open_txn) {
		vg_cache_read_end(w->cache_rd);
		w->cache_open_txn = false;
	}
}

#define SLOT_TRUSTED (-3L) /* admit(): a trusted client, exempt from max-pending-per-client */

/* Whether a UDP answer is withheld by discard-timeout: it is late and its client (as counted by
 * max-pending-per-client) still has other queries waiting. Answers parked on a slow zone would
 * otherwise leave together towards whoever the source address names (DNSBomb); the burst is cut to
 * the last one. A lone late answer is still sent: glibc's stub and dig wait 5 s per try, so a
 * single client is usually still listening, and a SERVFAIL it never sees only makes it retry.
 * Either way the resolver has cached the result. Clients in a `trusted` range always get their
 * answer; with max-pending-per-client off, no late answer is sent. Called after this query's own
 * count was released. */
static bool late_burst(struct vg_worker *w, const struct vg_client_req *r)
{
	uint32_t discard_ms = w->policy->cfg.discard_timeout_ms;
	if (!r->to.udp || !discard_ms || uv_now(&w->loop) - r->started <= discard_ms)
		return false;
	if (r->pend_slot == SLOT_TRUSTED)
		return false;
	if (r->pend_slot < 0) /* not counted (the cap is off): every late answer is withheld */
		return true;
	return vg_pending_count(w->d->pending, &r->to.client.u.sa) > 0;
}

static void on_resolved(void *ctx, const struct vg_answer *ans)
{
	struct vg_client_req *r = ctx;
	struct vg_worker *w = r->w;
	w->inflight--;
	/* timed on its own: from its batch's receive time to now */
	w->in_async = true;
	w->async_ns = uv_hrtime() - r->arrived_ns;
	vg_pending_release(w->d->pending, r->pend_slot);
	bool late_discarded = late_burst(w, r);
	if (late_discarded) {
		VG_STAT_ADD(w, late_discarded, 1);
	} else if (ans->len <= sizeof(w->scratch) && ans->len >= VG_DNS_HEADER) {
		memcpy(w->scratch, ans->wire, ans->len);
		w->scratch[2] &= (uint8_t)~0x04; /* a resolver's answer is never authoritative */
		if ((w->scratch[3] & 0x0F) == VG_RCODE_SERVFAIL)
			VG_STAT_ADD(w, servfail, 1);
		deliver(w, &r->to, &r->q, w->scratch, ans->len, sizeof(w->scratch), ans->ede,
			ans->ede_text, VG_QLOG_RESOLVER);
	} else {
		VG_STAT_ADD(w, servfail, 1);
		respond_error(w, &r->to, &r->q, VG_RCODE_SERVFAIL, false);
	}
	if (!late_discarded)
		vg_hist_add(&w->hist.answer_latency, w->async_ns, 1);
	w->in_async = false;
	if (r->to.udp)
		vg_udp_unref(r->to.udp);
	else
		vg_tcp_conn_done(r->to.conn);
	r->next = w->free_reqs;
	w->free_reqs = r;
	if (w->stopping)
		vg_worker_maybe_done(w);
}

/* The caps on queries waiting for the resolver (docs/configuration.md, "Work in flight").
 * Returns true when the query may go on, with *slot the per-client counter it holds (< 0:
 * none); otherwise the query was answered or dropped here and counted. */
static bool admit(struct vg_worker *w, const struct vg_reply_to *to, const struct vg_query *q,
		  long *slot)
{
	const struct vg_policy *p = w->policy;
	*slot = -2;
	if (w->inflight >= p->cfg.max_requests) {
		/* The worker is full: an immediate SERVFAIL lets a stub try its next server. */
		VG_STAT_ADD(w, over_max_requests, 1);
		respond_ede(w, to, q, VG_RCODE_SERVFAIL, false, VG_EDE_OTHER,
			    "vigild busy: max-requests");
		return false;
	}
	if (p->trusted && vg_acl_allows(p->trusted, &to->client.u.sa)) {
		*slot = SLOT_TRUSTED;
		return true;
	}
	if (!w->d->pending)
		return true;
	*slot = vg_pending_take(w->d->pending, &to->client.u.sa, p->cfg.max_pending_per_client);
	if (*slot != -1)
		return true;
	/* Over UDP the source may be a victim's spoofed address: drop, so nothing a flood
	 * parks here can come back to it as a burst. A TCP client proved its address and
	 * would wait for an answer on its connection: tell it. */
	VG_STAT_ADD(w, over_max_pending, 1);
	if (!to->udp)
		respond_ede(w, to, q, VG_RCODE_SERVFAIL, false, VG_EDE_OTHER,
			    "too many queries waiting: max-pending-per-client");
	return false;
}

static void ask_resolver(struct vg_worker *w, const struct vg_reply_to *to,
			 const struct vg_query *q)
{
	long slot;
	if (!admit(w, to, q, &slot))
		return;
	struct vg_client_req *r = w->free_reqs;
	if (r) {
		w->free_reqs = r->next;
	} else if (!(r = malloc(sizeof(*r)))) {
		vg_pending_release(w->d->pending, slot);
		respond_error(w, to, q, VG_RCODE_SERVFAIL, false);
		return;
	}
	r->started = uv_now(&w->loop);
	r->arrived_ns = w->batch_ns ? w->batch_ns : uv_hrtime();
	r->pend_slot = slot;
	r->w = w;
	r->to = *to;
	r->q = *q;
	if (to->udp)
		vg_udp_ref(to->udp);
	else
		vg_tcp_conn_ref(to->conn);
	struct vg_question vq = {
	    .qname = r->q.qname,
	    .qname_len = r->q.qname_len,
	    .qtype = q->qtype,
	    .qclass = q->qclass,
	    .do_bit = q->do_bit,
	    .cd_bit = q->cd,
	    .ad_bit = q->ad,
	    .rd_bit = q->rd,
	    .has_edns = q->has_edns,
	    .client = &r->to.client,
	};
	if (++w->inflight > w->inflight_peak)
		w->inflight_peak = w->inflight;
	VG_STAT_ADD(w, resolved, 1);
	int rc = w->resolver ? vg_resolver_resolve(w->resolver, &vq, on_resolved, r) : -EINVAL;
	if (rc < 0) {
		/* the callback will not run: answer and release here */
		struct vg_answer a = {.wire = NULL, .len = 0, .ede = VG_EDE_NONE};
		on_resolved(r, &a);
	}
}

/* The reply buffer for an answer produced right now: a UDP send slot (no copy) or scratch. */
static uint8_t *reply_buf(struct vg_worker *w, const struct vg_reply_to *to, size_t *cap)
{
	if (to->udp)
		return vg_udp_reply_buf(to->udp, cap);
	*cap = sizeof(w->scratch);
	return w->scratch;
}

static void reply_now(struct vg_worker *w, const struct vg_reply_to *to, const struct vg_query *q,
		      uint8_t *buf, size_t len, size_t cap, enum vg_qlog_source src)
{
	uint16_t our = w->policy->cfg.edns_buffer_size;
	if (!to->udp) {
		deliver(w, to, q, buf, len, cap, VG_EDE_NONE, NULL, src);
		return;
	}
	int n =
	    vg_query_finish(q, buf, len, cap, vg_query_udp_limit(q, our), VG_EDE_NONE, NULL, our);
	if (n < 0) {
		respond_error(w, to, q, VG_RCODE_SERVFAIL, false);
		return;
	}
	if (buf[2] & 0x02)
		VG_STAT_ADD(w, truncated, 1);
	answered(w, to, q, buf, (size_t)n, buf[3] & 0x0F, src, VG_EDE_NONE, NULL);
	vg_udp_reply_commit(to->udp, to, (size_t)n);
}

void vg_worker_query(struct vg_worker *w, const uint8_t *pkt, size_t len,
		     const struct vg_reply_to *to)
{
	struct vg_query q;
	const struct vg_policy *p = w->policy;
	bool udp = to->udp != NULL;
	int v = vg_query_parse(pkt, len, &q);
	if (v == VG_QUERY_DROP) {
		VG_STAT_ADD(w, dropped, 1);
		return;
	}
	if (q.has_question)
		VG_STAT_BUMP(w->qtype_stats[vg_stat_qtype_slot(q.qtype)]);
	if (!vg_acl_allows(p->acl, &to->client.u.sa)) {
		VG_STAT_ADD(w, refused_acl, 1);
		respond_error(w, to, &q, VG_RCODE_REFUSED, false);
		return;
	}
	/* Only UDP is limited: a TCP client has proven its address with the handshake. */
	if (udp && p->cfg.rate_limit) {
		enum vg_rl_verdict rv =
		    vg_ratelimit_check(&w->rl, &to->client.u.sa, uv_now(&w->loop));
		if (rv != VG_RL_PASS) {
			VG_STAT_ADD(w, ratelimited, 1);
			if (rv == VG_RL_SLIP)
				respond_error(w, to, &q, VG_RCODE_NOERROR, true);
			return;
		}
	}
	if (v != VG_QUERY_OK) {
		if (v == VG_RCODE_FORMERR)
			VG_STAT_ADD(w, formerr, 1);
		else if (v == VG_RCODE_NOTIMP)
			VG_STAT_ADD(w, notimp, 1);
		else if (v == VG_RCODE_BADVERS)
			VG_STAT_ADD(w, badvers, 1);
		else
			VG_STAT_ADD(w, refused, 1);
		respond_error(w, to, &q, v, false);
		return;
	}
	if (q.qtype == VG_TYPE_AXFR || q.qtype == VG_TYPE_IXFR) {
		/* Zone transfers: not a UDP operation at all (NOTIMP); over TCP a resolver has no
		 * zones to give (REFUSED). */
		VG_STAT_ADD(w, refused, 1);
		respond_error(w, to, &q, udp ? VG_RCODE_NOTIMP : VG_RCODE_REFUSED, false);
		return;
	}
	if (q.qtype == VG_TYPE_MAILA || q.qtype == VG_TYPE_MAILB) {
		VG_STAT_ADD(w, notimp, 1);
		respond_error(w, to, &q, VG_RCODE_NOTIMP, false);
		return;
	}

	size_t cap, outlen = 0;
	uint8_t *buf = reply_buf(w, to, &cap);
	int rc = vg_localdata_answer(p->ld, q.qname, q.qname_len, q.qtype, q.qclass, q.rd, buf, cap,
				     &outlen);
	if (rc == VG_ESPACE && udp) {
		/* a big local RRset: build it in scratch, then truncate into the slot */
		rc = vg_localdata_answer(p->ld, q.qname, q.qname_len, q.qtype, q.qclass, q.rd,
					 w->scratch, sizeof(w->scratch), &outlen);
		if (rc == 1) {
			VG_STAT_ADD(w, local, 1);
			deliver(w, to, &q, w->scratch, outlen, sizeof(w->scratch), VG_EDE_NONE,
				NULL, VG_QLOG_LOCAL);
			return;
		}
	}
	if (rc == 1) {
		VG_STAT_ADD(w, local, 1);
		reply_now(w, to, &q, buf, outlen, cap, VG_QLOG_LOCAL);
		return;
	}
	if (rc < 0) {
		respond_error(w, to, &q, VG_RCODE_SERVFAIL, false);
		return;
	}
	if (q.qtype == VG_TYPE_ANY) {
		VG_STAT_ADD(w, any_minimal, 1);
		int n = vg_query_any_answer(&q, buf, cap);
		if (n > 0)
			reply_now(w, to, &q, buf, (size_t)n, cap, VG_QLOG_LOCAL);
		return;
	}
	if (w->cache_rd) {
		cache_begin(w);
		unsigned flags = 0;
		/* One RRset at the question is built from the rrset DB; other answers (CNAME
		 * chains, negative ones, wildcard proofs) are whole in the answer DB. */
		if (w->cache_open_txn &&
		    (vg_cache_rrset_answer(w->cache_rd, q.qname, q.qname_len, q.qtype, q.qclass,
					   q.do_bit, q.cd, q.id, w->now_wall, buf, cap, &outlen,
					   &flags, 0) == 0 ||
		     vg_cache_answer_get(w->cache_rd, q.qname, q.qname_len, q.qtype, q.do_bit, q.cd,
					 q.id, w->now_wall, buf, cap, &outlen, &flags, 0) == 0)) {
			VG_STAT_ADD(w, cached, 1);
			buf[2] &= (uint8_t)~0x04; /* whoever stored it, a cached answer is not AA */
			if (!q.do_bit && !q.ad) /* AD only for clients that ask for it (DO or AD) */
				buf[3] &= (uint8_t)~0x20;
			reply_now(w, to, &q, buf, outlen, cap,
				  (flags & VG_CACHE_STALE) ? VG_QLOG_STALE : VG_QLOG_CACHE);
			/* last 10% of the TTL: refresh it in the background while it still serves;
			 * an RD=0 question asks what we know and starts no upstream query */
			if ((flags & VG_CACHE_PREFETCH) && q.rd && w->resolver &&
			    vg_resolver_prefetch(w->resolver, q.qname, q.qname_len, q.qtype) == 0)
				VG_STAT_ADD(w, prefetch, 1);
			return;
		}
		VG_STAT_ADD(w, answer_cache_misses, 1);
	}
	ask_resolver(w, to, &q);
}

/* ---- loop plumbing ---- */

/* A burst of misses leaves its requests' memory (arena chunks, tens of KiB per request) freed
 * but resident in malloc's arenas: about 7 MiB after 200 misses in flight, which no later
 * query needs until the next burst. Once the burst is over, give the free pages back
 * (malloc_trim releases free pages inside every arena, not only at the top): only after a peak
 * of TRIM_PEAK requests in flight, and at most once per TRIM_EVERY_MS, because the next burst
 * pays a page fault for each page it takes back: once a second bounds that to a few MiB of
 * faults (about a millisecond of CPU) per second; the trim itself took 38 us for 13 MB in a
 * test program.
 * "Over" is not the drain itself: each upstream query of the burst's last injection-window
 * (200 ms, thousands of them at 16k misses/s) still lingers with its handle and reply copy,
 * small blocks scattered over the burst's pages that pin them through a trim (measured: a trim
 * at the drain left 6 MiB resident of which 0.3 MiB was in use). So the drain arms a one-shot
 * timer for after the window (and after the rest of TRIM_EVERY_MS), which trims if nothing is
 * in flight then; a burst that came back meanwhile arms it again at its own drain. The timer
 * runs only after a burst, never while the resolver idles, and no query needs to follow. */
/* malloc_trim leaves the top chunk of a thread's arena alone (glibc trims only the main arena's
 * top); free() shrinks it, but only when it exceeds M_TRIM_THRESHOLD, which glibc raises to twice
 * the size of the largest mmapped block freed so far: start-up frees blocks of about 2 MiB, so
 * the worker's arena kept up to 4 MiB of top resident after every burst. Fixed thresholds (set
 * once, before the threads start) keep glibc from raising them: blocks of MALLOC_BIG and more are
 * mapped on their own (none is allocated per query), and an arena's free top above it goes back
 * at once. */
#define MALLOC_BIG (256 * 1024)
void vg_worker_malloc_setup(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, MALLOC_BIG);
	mallopt(M_TRIM_THRESHOLD, MALLOC_BIG);
#endif
}

#define TRIM_PEAK 32
#define TRIM_EVERY_MS 1000
#define TRIM_SLACK_MS 20 /* after the last lingering socket's timer */
static bool trim_wanted(const struct vg_worker *w)
{
	return !w->inflight && w->inflight_peak >= TRIM_PEAK && !w->stopping;
}

static void on_trim_timer(uv_timer_t *t)
{
	struct vg_worker *w = t->data;
	if (!trim_wanted(w))
		return;
	w->trimmed_at = uv_now(&w->loop);
	w->inflight_peak = 0;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void trim_after_burst(struct vg_worker *w)
{
	if (!trim_wanted(w) || uv_is_active((uv_handle_t *)&w->trim_timer))
		return;
	uint64_t now = uv_now(&w->loop);
	uint64_t wait = (uint64_t)w->policy->cfg.injection_window_ms + TRIM_SLACK_MS;
	if (w->trimmed_at && w->trimmed_at + TRIM_EVERY_MS > now + wait)
		wait = w->trimmed_at + TRIM_EVERY_MS - now;
	uv_timer_start(&w->trim_timer, on_trim_timer, wait, 0);
}

static void on_flush(uv_check_t *h)
{
	struct vg_worker *w = h->data;
	for (size_t i = 0; i < w->n_udp; i++)
		vg_udp_flush(w->udp[i]);
	vg_worker_batch_end(w);
	vg_worker_publish_stats(w);
	trim_after_burst(w);
}

/* Replaces the listener set: keeps sockets whose address stays, opens the new fds, closes the
 * rest. On a failure to open, the fd is closed and logged; other listeners are unaffected. */
static void apply_listeners(struct vg_worker *w, const struct vg_listen_fds *fds, size_t n)
{
	struct vg_udp **udp = calloc(n ? n : 1, sizeof(*udp));
	struct vg_tcp_listener **tcp = calloc(n ? n : 1, sizeof(*tcp));
	if (!udp || !tcp) {
		free(udp);
		free(tcp);
		vg_err("worker %d: out of memory applying listeners", w->id);
		return;
	}
	size_t nu = 0, nt = 0;
	for (size_t i = 0; i < n; i++) {
		if (fds[i].udp_fd < 0) {
			for (size_t j = 0; j < w->n_udp; j++) {
				if (w->udp[j] &&
				    vg_sockaddr_eq(vg_udp_addr(w->udp[j]), &fds[i].addr)) {
					udp[nu++] = w->udp[j];
					w->udp[j] = NULL;
				}
			}
			for (size_t j = 0; j < w->n_tcp; j++) {
				if (w->tcp[j] &&
				    vg_sockaddr_eq(vg_tcp_listener_addr(w->tcp[j]), &fds[i].addr)) {
					tcp[nt++] = w->tcp[j];
					w->tcp[j] = NULL;
				}
			}
			continue;
		}
		if (vg_udp_open(w, fds[i].udp_fd, &fds[i].addr, &udp[nu]) == 0)
			nu++;
		if (vg_tcp_listen(w, fds[i].tcp_fd, &fds[i].addr, &tcp[nt]) == 0)
			nt++;
	}
	for (size_t j = 0; j < w->n_udp; j++)
		if (w->udp[j])
			vg_udp_close(w->udp[j]);
	for (size_t j = 0; j < w->n_tcp; j++)
		if (w->tcp[j])
			vg_tcp_listener_close(w->tcp[j]);
	free(w->udp);
	free(w->tcp);
	w->udp = udp;
	w->n_udp = nu;
	w->tcp = tcp;
	w->n_tcp = nt;
}

static void finish_stop(struct vg_worker *w)
{
	uv_timer_stop(&w->stop_timer);
	uv_timer_stop(&w->trim_timer);
	if (w->resolver) {
		vg_resolver_close(w->resolver); /* answers what is left with SERVFAIL */
		w->resolver = NULL;
	}
	if (w->upstream) {
		vg_upstream_close(w->upstream);
		w->upstream = NULL;
	}
	for (size_t i = 0; i < w->n_udp; i++) {
		vg_udp_flush(w->udp[i]);
		vg_udp_close(w->udp[i]);
	}
	w->n_udp = 0;
	vg_tcp_close_all(w);
	vg_worker_batch_end(w);
	uv_close((uv_handle_t *)&w->flush, NULL);
	uv_close((uv_handle_t *)&w->stop_timer, NULL);
	uv_close((uv_handle_t *)&w->trim_timer, NULL);
	uv_close((uv_handle_t *)&w->wake, NULL);
}

static void on_stop_timeout(uv_timer_t *t)
{
	struct vg_worker *w = t->data;
	if (w->inflight)
		vg_info("worker %d: %zu answers still in flight at stop: answering SERVFAIL", w->id,
			w->inflight);
	finish_stop(w);
}

void vg_worker_maybe_done(struct vg_worker *w)
{
	/* Finish on the next loop pass, never here: we may be inside a resolver callback, and
	 * finishing closes (frees) the resolver that is still on the stack. */
	if (w->stopping && w->inflight == 0 && !uv_is_closing((uv_handle_t *)&w->wake))
		uv_timer_start(&w->stop_timer, on_stop_timeout, 0, 0);
}

static void begin_stop(struct vg_worker *w)
{
	w->stopping = true;
	for (size_t i = 0; i < w->n_tcp; i++)
		vg_tcp_listener_close(w->tcp[i]);
	w->n_tcp = 0;
	for (size_t i = 0; i < w->n_udp; i++)
		vg_udp_stop(w->udp[i]);
	if (w->inflight)
		uv_timer_start(&w->stop_timer, on_stop_timeout, STOP_GRACE_MS, 0);
	else
		vg_worker_maybe_done(w);
}

/* Closes the sockets of a listen plan that will not be applied, and frees it. */
static void close_plan(struct vg_listen_fds *fds, size_t n)
{
	for (size_t i = 0; fds && i < n; i++) {
		if (fds[i].udp_fd >= 0)
			close(fds[i].udp_fd);
		if (fds[i].tcp_fd >= 0)
			close(fds[i].tcp_fd);
	}
	free(fds);
}

static void on_wake(uv_async_t *a)
{
	struct vg_worker *w = a->data;
	pthread_mutex_lock(&w->mu);
	struct vg_policy *p = w->mail_policy;
	struct vg_listen_fds *fds = w->mail_listen;
	size_t n = w->mail_n_listen;
	bool stop = w->mail_stop;
	w->mail_policy = NULL;
	w->mail_listen = NULL;
	w->mail_n_listen = 0;
	pthread_mutex_unlock(&w->mu);
	if (w->stopping) {
		vg_policy_unref(p);
		close_plan(fds, n);
		return;
	}
	if (p) {
		vg_policy_unref(w->policy);
		w->policy = p;
		vg_ratelimit_free(&w->rl);
		if (vg_ratelimit_init(&w->rl, p->cfg.rate_limit, p->cfg.rate_limit_burst, 0) < 0)
			vg_err("worker %d: rate limiter: out of memory (limit off)", w->id);
		if (fds)
			apply_listeners(w, fds, n);
		free(fds);
	}
	if (stop)
		begin_stop(w);
}

static void *worker_main(void *arg)
{
	struct vg_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	return NULL;
}

int vg_worker_start(struct vg_worker *w, struct vg_policy *p, const struct vg_listen_fds *fds,
		    size_t n)
{
	int rc = uv_loop_init(&w->loop);
	if (rc < 0)
		return rc;
	pthread_mutex_init(&w->mu, NULL);
	w->policy = vg_policy_ref(p);
	w->boot_policy = vg_policy_ref(p);
	uv_async_init(&w->loop, &w->wake, on_wake);
	w->wake.data = w;
	uv_check_init(&w->loop, &w->flush);
	w->flush.data = w;
	uv_check_start(&w->flush, on_flush);
	uv_timer_init(&w->loop, &w->stop_timer);
	w->stop_timer.data = w;
	uv_timer_init(&w->loop, &w->trim_timer);
	w->trim_timer.data = w;
	if ((rc = vg_ratelimit_init(&w->rl, p->cfg.rate_limit, p->cfg.rate_limit_burst, 0)) < 0)
		return rc;
	if (w->d->cache) {
		w->cache_rd = vg_cache_reader_new(w->d->cache);
		if (!w->cache_rd)
			vg_warn("worker %d: no cache reader slot: answering without the cache",
				w->id);
	}
	/* Built once from the boot config: a reload does not reach them (resolver.h). */
	struct vg_resolver_opts opts;
	vg_resolver_opts_from_config(&opts, &w->boot_policy->cfg);
	if ((rc = vg_upstream_new(&w->loop, &opts, w->id, &w->upstream)) < 0) {
		vg_err("worker %d: upstream layer: %s", w->id, vg_strerror(rc));
		return rc;
	}
	w->upstream->rtt_hist = &w->hist.upstream_rtt;
	w->suspect_sink = (struct vg_suspect_sink){.emit = worker_suspect_emit, .ctx = w};
	struct vg_resolver_env env = {
	    .opts = &opts,
	    .suspect = w->d->suspect ? &w->suspect_sink : NULL,
	    .cache = w->d->cache,
	    .upstream = w->upstream,
	    .worker_id = w->id,
	};
	if ((rc = vg_resolver_new(&env, &w->resolver)) < 0) {
		vg_err("worker %d: resolver: %s", w->id, vg_strerror(rc));
		return rc;
	}
	apply_listeners(w, fds, n);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	return rc ? -rc : 0;
}

void vg_worker_post_reload(struct vg_worker *w, struct vg_policy *p, struct vg_listen_fds *fds,
			   size_t n)
{
	pthread_mutex_lock(&w->mu);
	if (w->mail_policy)
		vg_policy_unref(w->mail_policy);
	close_plan(w->mail_listen, w->mail_n_listen); /* an older plan the worker never applied */
	w->mail_policy = vg_policy_ref(p);
	w->mail_listen = fds;
	w->mail_n_listen = n;
	pthread_mutex_unlock(&w->mu);
	uv_async_send(&w->wake);
}

void vg_worker_post_stop(struct vg_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->mail_stop = true;
	pthread_mutex_unlock(&w->mu);
	uv_async_send(&w->wake);
}

void vg_worker_join(struct vg_worker *w)
{
	pthread_join(w->thread, NULL);
	/* close anything left (handles closed in finish_stop need one more pass) */
	uv_run(&w->loop, UV_RUN_NOWAIT);
	if (uv_loop_close(&w->loop) != 0)
		vg_warn("worker %d: loop closed with handles still open", w->id);
	if (w->cache_rd)
		vg_cache_reader_free(w->cache_rd);
	while (w->free_reqs) {
		struct vg_client_req *r = w->free_reqs;
		w->free_reqs = r->next;
		free(r);
	}
	free(w->udp);
	free(w->tcp);
	vg_ratelimit_free(&w->rl);
	vg_policy_unref(w->policy);
	vg_policy_unref(w->boot_policy);
	vg_policy_unref(w->mail_policy); /* a reload posted after the stop */
	close_plan(w->mail_listen, w->mail_n_listen);
	pthread_mutex_destroy(&w->mu);
}
