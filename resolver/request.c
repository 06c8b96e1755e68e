/* The request driver: vg_resolver_* (resolver.h), client questions in flight joined into one
 * request, the request's lifetime (deadline, completion, reaping) and prefetch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/hash.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "dnssec.h"
#include "iter.h"

/* ---- requests ---- */

/* Keyed (SipHash, a random key per resolver): clients choose the names, so they must not be able
 * to choose colliding buckets. */
static uint64_t req_hash(const struct vg_resolver *r, const uint8_t *qname, uint16_t qtype,
			 uint16_t qclass, bool d, bool c)
{
	uint8_t k[VG_NAME_MAX + 6];
	size_t n = (size_t)vg_name_len(qname, VG_NAME_MAX);
	memcpy(k, qname, n);
	k[n] = (uint8_t)(qtype >> 8);
	k[n + 1] = (uint8_t)qtype;
	k[n + 2] = (uint8_t)(qclass >> 8);
	k[n + 3] = (uint8_t)qclass;
	k[n + 4] = d;
	k[n + 5] = c;
	return vg_siphash13(r->hash_key, k, n + 6);
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

static int deadline_entry(void *ctx)
{
	struct vg_req *req = ctx;
	req->deadline = NULL;
	if (req->done)
		return 0;
	vg_debug("resolver: request lifetime (request-timeout) exceeded");
	req->root->state = IQ_FAIL;
	req->root->ede = VG_EDE_NO_REACHABLE_AUTHORITY;
	req->root->ede_text = "request-timeout reached";
	req->r->stats.limit_hits++;
	vg_req_complete(req);
	return 0;
}

static void on_deadline(void *ctx)
{
	struct vg_req *req = ctx;
	vg_resolver_entry(req->r, deadline_entry, req);
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
	vg_hijack_spoof_report(req);
	struct vg_iq *iq = req->root;
	if (iq->is_prime)
		vg_prime_done(r, iq->state == IQ_DONE && iq->primed);
	if (iq->probe)
		vg_nxr_probe_done(req); /* a probe has no client and leaves nothing cached */
	else if (req->xc_bg)
		vg_disagree_bg_done(req); /* a cross-check builds no answer */
	else
		vg_answer_finish(req);
	if (req->refetch_tcp) {
		/* A second answer came while this request ran: what it stored is not trusted. */
		if (r->cache)
			vg_cache_flush_name(r->cache, req->qname, req->qtype);
		vg_req_refetch_tcp(r, req->qname, req->qtype);
	} else if (iq->want_prefetch) {
		vg_req_start_background(r, req->qname, req->qtype, false);
	}
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
	req->key_hash = req_hash(r, req->qname, qtype, qclass, do_bit, cd_bit);
	req->root = vg_iq_new(req, req->qname, qtype, qclass);
	if (!req->root) {
		vg_arena_free(&req->arena);
		free(req);
		return NULL;
	}
	return req;
}

/* Into the list of live requests with its deadline; `joinable`: also into the table clients
 * join (a cross-check request is not: its answer is no client's). */
static void req_link_as(struct vg_req *req, bool joinable)
{
	struct vg_resolver *r = req->r;
	if (joinable) {
		req->hnext = r->req_hash[req->key_hash % VG_REQ_BUCKETS];
		r->req_hash[req->key_hash % VG_REQ_BUCKETS] = req;
	}
	req->next = r->reqs;
	if (r->reqs)
		r->reqs->prev = req;
	r->reqs = req;
	r->up->ops->timer_start(r->up, r->opts.request_timeout_ms, on_deadline, req,
				&req->deadline);
}

static void req_link(struct vg_req *req)
{
	req_link_as(req, true);
}

struct vg_req *vg_req_new_xcheck(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype)
{
	return req_new(r, qname, qtype, VG_CLASS_IN, false, false);
}

void vg_req_launch(struct vg_req *req)
{
	req_link_as(req, false);
	vg_iq_run(req->root);
}

static struct vg_req *req_find(struct vg_resolver *r, const uint8_t *low, uint16_t qtype,
			       uint16_t qclass, bool d, bool c)
{
	uint64_t h = req_hash(r, low, qtype, qclass, d, c);
	for (struct vg_req *q = r->req_hash[h % VG_REQ_BUCKETS]; q; q = q->hnext)
		if (q->key_hash == h && q->qtype == qtype && q->qclass == qclass &&
		    q->do_bit == d && q->cd_bit == c && vg_name_eq(q->qname, low))
			return q;
	return NULL;
}

static struct vg_req *start_background(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype,
				       bool prime, bool tcp_only, unsigned probe)
{
	uint8_t low[VG_NAME_MAX];
	memcpy(low, qname, (size_t)vg_name_len(qname, VG_NAME_MAX));
	vg_name_lower(low);
	struct vg_req *busy = req_find(r, low, qtype, VG_CLASS_IN, false, false);
	if (busy) {
		busy->refetch_tcp |= tcp_only; /* asked again over TCP once it ends */
		return NULL;			/* already being refreshed */
	}
	struct vg_req *req = req_new(r, low, qtype, VG_CLASS_IN, false, false);
	if (!req)
		return NULL;
	req->root->is_prime = prime;
	req->root->refresh = !prime;
	req->root->probe = probe;
	req->tcp_only = tcp_only;
	if (prime) {
		r->priming = true;
		r->stats.primings++;
	} else if (!probe) {
		r->stats.prefetches++;
	}
	req_link(req);
	vg_iq_run(req->root);
	return req;
}

struct vg_req *vg_req_start_background(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype,
				       bool prime)
{
	return start_background(r, qname, qtype, prime, false, 0);
}

struct vg_req *vg_req_refetch_tcp(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype)
{
	return start_background(r, qname, qtype, false, true, 0);
}

struct vg_req *vg_req_start_probe(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype,
				  unsigned fwd)
{
	return start_background(r, qname, qtype, false, false, fwd);
}

/* ---- public API (resolver.h) ---- */

void vg_resolver_opts_default(struct vg_resolver_opts *o)
{
	*o = (struct vg_resolver_opts){
	    .addr = {.do_ip4 = true, .do_ip6 = true},
	    .qname_minimisation = true,
	    .case_randomisation = true,
	    .prefetch = true,
	    .serve_stale_max = 86400,
	    .cache_max_ttl = 86400,
	    .cache_max_negative_ttl = 3600,
	    .max_upstream_queries = 100,
	    .max_glueless_per_referral = 4,
	    .max_cname_chain = 12,
	    .max_referral_depth = 30,
	    .request_timeout_ms = 10000,
	    .max_requests = 1000,
	    .max_upstream_sockets = 1024,
	    .injection_window_ms = 200,
	    .hijack = {.enabled = true,
		       .rebinding = VG_REBIND_BLOCK,
		       .second_answer = VG_DETECT_BLOCK,
		       .spoof_attempt = VG_DETECT_BLOCK,
		       .spoof_tcp_after = 3,
		       .out_of_bailiwick = VG_DETECT_LOG,
		       .nxdomain_rewrite = VG_DETECT_BLOCK,
		       .pin_action = VG_DETECT_LOG,
		       .servers_disagree = VG_DETECT_LOG,
		       .disagree_budget = 3},
	    .dnssec = {.enabled = true,
		       .nsec3_max_iterations = VG_DNSSEC_NSEC3_ITER_DEFAULT,
		       .aggressive_nsec = true},
	};
}

static int prime_entry(void *arg)
{
	vg_prime_maybe(arg);
	return 0;
}

int vg_resolver_new(const struct vg_resolver_env *env, struct vg_resolver **out)
{
	struct vg_resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (vg_fails(env->opts != NULL)) {
		free(r);
		return -EINVAL;
	}
	r->opts = *env->opts;
	r->cache = env->cache;
	r->up = env->upstream;
	r->worker_id = env->worker_id;
	r->hijack = &r->opts.hijack;
	r->suspect = env->suspect;
	/* Memory of requests in flight, bounded whatever they meet (docs/configuration.md). */
	r->arena_pool.limit = (size_t)r->opts.max_requests * VG_ARENA_PER_REQUEST;
	if (vg_fails(r->up != NULL)) {
		free(r);
		return -EINVAL;
	}
	r->up->ops->random(r->up, r->hash_key, sizeof(r->hash_key));
	r->sel = vg_select_new(4096);
	int rc = r->sel ? vg_prime_load_hints(r) : -ENOMEM;
	if (rc == 0)
		rc = vg_validate_init(r);
	if (rc == 0 && (rc = vg_nxr_init(r)) < 0)
		vg_validate_free(r);
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
	vg_resolver_entry(r, prime_entry, r);
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
	return 0;
}

struct resolve_args {
	struct vg_resolver *r;
	const struct vg_question *q;
	vg_resolve_cb cb;
	void *ctx;
};

static int resolve_entry(void *arg)
{
	const struct resolve_args *a = arg;
	struct vg_resolver *r = a->r;
	const struct vg_question *q = a->q;
	vg_resolve_cb cb = a->cb;
	void *ctx = a->ctx;
	if (q->qname_len == 0 || q->qname_len > VG_NAME_MAX ||
	    vg_name_len(q->qname, q->qname_len) != (int)q->qname_len)
		return VG_EFORMAT;
	struct vg_waiter w = {.cb = cb,
			      .ctx = ctx,
			      .rd = q->rd_bit,
			      .ad = q->do_bit || q->ad_bit,
			      .has_client = q->client};
	if (q->client)
		w.client = *q->client;
	memcpy(w.qname, q->qname, q->qname_len);
	uint8_t low[VG_NAME_MAX];
	memcpy(low, q->qname, q->qname_len);
	vg_name_lower(low);
	r->stats.requests++;
	if (!q->rd_bit)
		return resolve_from_cache(r, q, &w);
	vg_prime_maybe(r);
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
	return 0;
}

int vg_resolver_resolve(struct vg_resolver *r, const struct vg_question *q, vg_resolve_cb cb,
			void *ctx)
{
	struct resolve_args a = {r, q, cb, ctx};
	return vg_resolver_entry(r, resolve_entry, &a);
}

struct prefetch_args {
	struct vg_resolver *r;
	const uint8_t *qname;
	uint16_t qtype;
};

static int prefetch_entry(void *arg)
{
	const struct prefetch_args *a = arg;
	return vg_req_start_background(a->r, a->qname, a->qtype, false) ? 0 : VG_ELIMIT;
}

int vg_resolver_prefetch(struct vg_resolver *r, const uint8_t *qname, size_t qname_len,
			 uint16_t qtype)
{
	if (!r->opts.prefetch)
		return VG_EREFUSED;
	if (qname_len == 0 || vg_name_len(qname, qname_len) != (int)qname_len)
		return VG_EFORMAT;
	struct prefetch_args a = {r, qname, qtype};
	return vg_resolver_entry(r, prefetch_entry, &a);
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

/* Ends every request in flight with SERVFAIL (their stale answers may be looked up). */
static int close_entry(void *arg)
{
	struct vg_resolver *r = arg;
	while (r->reqs) {
		struct vg_req *req = r->reqs;
		req->root->state = IQ_FAIL;
		req->root->ede = VG_EDE_OTHER;
		req->root->ede_text = "resolver shutting down";
		vg_req_complete(req); /* unlinks it */
	}
	return 0;
}

void vg_resolver_close(struct vg_resolver *r)
{
	if (!r)
		return;
	log_stats(r);
	r->closing = true; /* the probes ended below schedule no new round */
	vg_resolver_entry(r, close_entry, r);
	vg_nxr_free(r);
	if (r->reaper)
		r->up->ops->timer_stop(r->up, r->reaper);
	reaper_fire(r);
	if (r->rd)
		vg_cache_reader_free(r->rd);
	vg_select_free(r->sel);
	vg_validate_free(r);
	vg_disagree_free(r);
	free(r);
}
