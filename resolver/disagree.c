/* servers-disagree: an authoritative answer asked again of a second server of its zone and
 * compared (docs/suspicious-log.md, docs/architecture.md "Servers that disagree"). Which answers
 * are checked (watched names, a budget of new names per zone and hour, zones that disagreed
 * lately), the rule that tells rotation from forgery, the log-mode check that runs as its own
 * request and the block-mode check that holds the answer and settles a disagreement over TCP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/hash.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil/suspect.h>
#include "iter.h"

/* ---- the per-worker zone table ---- */

#define XZ_SLOTS 1024	      /* zones remembered per worker (bounded) */
#define XZ_PROBE 8	      /* slots looked at per zone; the stalest of them is reused */
#define XZ_HOUR_MS 3600000u   /* the budget's window */
#define XZ_SUSPECT_MS 600000u /* a zone whose servers disagreed: every answer checked */
#define XC_TCP_MAX 3	      /* servers asked over TCP after a disagreement */
#define XC_LIST_MAX 16	      /* records of each answer listed in an event */

struct vg_xzone {
	uint8_t zone[VG_NAME_MAX];
	bool used;
	uint64_t window_start; /* monotonic ms: the budget's hour began */
	uint32_t checked;      /* names cross-checked in that hour */
	uint64_t suspect_until;
	uint64_t last; /* monotonic ms of the last use (which slot to reuse) */
};

struct vg_xzones {
	struct vg_xzone slot[XZ_SLOTS];
};

void vg_disagree_free(struct vg_resolver *r)
{
	free(r->xzones);
	r->xzones = NULL;
}

/* The entry of `zone`, created (in the stalest of its probe slots) when missing; NULL without
 * memory. */
static struct vg_xzone *xzone_get(struct vg_resolver *r, const uint8_t *zone, uint64_t now)
{
	if (!r->xzones && !(r->xzones = calloc(1, sizeof(*r->xzones))))
		return NULL;
	size_t zl = (size_t)vg_name_len(zone, VG_NAME_MAX);
	uint64_t h = vg_siphash13(r->hash_key, zone, zl);
	struct vg_xzone *victim = NULL;
	for (unsigned i = 0; i < XZ_PROBE; i++) {
		struct vg_xzone *e = &r->xzones->slot[(h + i) % XZ_SLOTS];
		if (e->used && vg_name_eq(e->zone, zone)) {
			e->last = now;
			return e;
		}
		/* A free slot first; else the least recently used that is not under suspicion,
		 * else the least recently used. */
		if (!victim ||
		    (victim->used &&
		     (!e->used || (e->suspect_until <= now && victim->suspect_until > now) ||
		      ((e->suspect_until > now) == (victim->suspect_until > now) &&
		       e->last < victim->last))))
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->zone, zone, zl);
	victim->used = true;
	victim->window_start = now;
	victim->last = now;
	return victim;
}

/* Whether iq's answer is to be cross-checked: a watched name, a zone under suspicion, or one of
 * the zone's first disagree_budget names this hour (that use of the budget is counted here). */
static bool wanted(struct vg_iq *iq, uint64_t now)
{
	struct vg_resolver *r = iq->req->r;
	const struct vg_hijack_opts *o = r->hijack;
	struct vg_xzone *z = xzone_get(r, iq->zone, now);
	if (z && z->suspect_until > now)
		return true;
	if (vg_hijack_name_under(iq->sname, o->watch, o->n_watch))
		return true;
	if (!z || !o->disagree_budget)
		return false;
	if (now - z->window_start >= XZ_HOUR_MS) {
		z->window_start = now;
		z->checked = 0;
	}
	if (z->checked >= o->disagree_budget)
		return false;
	z->checked++;
	return true;
}

static void suspect_zone(struct vg_resolver *r, const uint8_t *zone)
{
	uint64_t now = r->up->ops->now_ms(r->up);
	struct vg_xzone *z = xzone_get(r, zone, now);
	if (z)
		z->suspect_until = now + XZ_SUSPECT_MS;
}

static bool family_ok(const struct vg_addr_policy *ap, const struct vg_sockaddr *a)
{
	return a->u.sa.sa_family == AF_INET ? ap->do_ip4 : ap->do_ip6;
}

/* Up to `cap` usable addresses of iq's cut other than those in not[0..n_not): allowed by the
 * address policy, not held down; in the cut's order. */
static size_t other_servers(struct vg_iq *iq, const struct vg_sockaddr * not, size_t n_not,
			    struct vg_sockaddr *out, size_t cap)
{
	struct vg_resolver *r = iq->req->r;
	uint64_t now = r->up->ops->now_ms(r->up);
	size_t n = 0;
	for (size_t i = 0; i < iq->n_ns && n < cap; i++)
		for (size_t j = 0; j < iq->ns[i].n_addrs && n < cap; j++) {
			const struct vg_sockaddr *a = &iq->ns[i].addrs[j];
			bool skip = !family_ok(&r->opts.addr, a) ||
				    !vg_addr_allowed(&r->opts.addr, a) ||
				    vg_select_held(r->sel, a, now);
			for (size_t k = 0; !skip && k < n_not; k++)
				skip = vg_sockaddr_eq(a, &not [k]);
			for (size_t k = 0; !skip && k < n; k++)
				skip = vg_sockaddr_eq(a, &out[k]);
			if (!skip)
				out[n++] = *a;
		}
	return n;
}

/* ---- the rule ---- */

enum cmp { CMP_SAME, CMP_DIFFER, CMP_UNKNOWN };

/* The kept answer records of `type` of a scrubbed reply (an answer, maybe after in-zone CNAMEs). */
static size_t answer_rrs(const struct vg_msg *m, uint16_t type, const struct vg_rr **out,
			 size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_rr && n < cap; i++) {
		const struct vg_rr *rr = &m->rr[i];
		if (!rr->drop && rr->section == VG_SEC_ANSWER && rr->type == type)
			out[n++] = rr;
	}
	return n;
}

/* Addresses "near" each other: the same /24 (IPv4) or /48 (IPv6). */
static bool near(const struct vg_rr *a, const struct vg_rr *b)
{
	size_t prefix = a->rdlen == 4 ? 3 : 6;
	return a->rdlen == b->rdlen && (a->rdlen == 4 || a->rdlen == 16) &&
	       !memcmp(a->rdata, b->rdata, prefix);
}

/* Canonical text of a record with TTL 0 (owner and names in rdata lowercased). */
static const char *canon(struct vg_arena *a, const struct vg_rr *rr)
{
	struct vg_rr c = *rr;
	c.ttl = 0;
	return vg_hijack_rr_text(a, &c);
}

static bool in_set(struct vg_arena *ar, const struct vg_rr *x, const struct vg_rr *const *set,
		   size_t n)
{
	const char *tx = canon(ar, x);
	for (size_t i = 0; tx && i < n; i++) {
		const char *t = canon(ar, set[i]);
		if (t && !strcmp(t, tx))
			return true;
	}
	return false;
}

/* The documented rule: two positive answers of A/AAAA disagree when they have no address in
 * common and no pair in one /24 (IPv4) or /48 (IPv6); of any other type when their RRsets'
 * rdata differ. TTLs and order never count. Anything but two positive answers of the type is
 * unknown (a negative answer, an error, a referral: no verdict). */
static enum cmp compare(struct vg_arena *ar, const struct vg_msg *a, const struct vg_verdict *va,
			const struct vg_msg *b, const struct vg_verdict *vb, uint16_t type)
{
	if (va->kind != VG_REPLY_ANSWER || vb->kind != VG_REPLY_ANSWER)
		return CMP_UNKNOWN;
	const struct vg_rr *ra[VG_MAX_RRSET_RRS], *rb[VG_MAX_RRSET_RRS];
	size_t na = answer_rrs(a, type, ra, VG_MAX_RRSET_RRS),
	       nb = answer_rrs(b, type, rb, VG_MAX_RRSET_RRS);
	if (!na || !nb)
		return CMP_UNKNOWN;
	if (type == VG_TYPE_A || type == VG_TYPE_AAAA) {
		for (size_t i = 0; i < na; i++)
			for (size_t j = 0; j < nb; j++)
				if (near(ra[i], rb[j]))
					return CMP_SAME;
		return CMP_DIFFER;
	}
	for (size_t i = 0; i < na; i++)
		if (!in_set(ar, ra[i], rb, nb))
			return CMP_DIFFER;
	for (size_t j = 0; j < nb; j++)
		if (!in_set(ar, rb[j], ra, na))
			return CMP_DIFFER;
	return CMP_SAME;
}

/* ---- the event ---- */

struct xc_side {
	const struct vg_msg *msg;
	const uint8_t *reply;
	size_t reply_len;
	struct vg_sockaddr server;
	bool tcp;
};

/* "first: ..." and "second: ..." texts of both answers into texts (2 * XC_LIST_MAX). */
static size_t list_both(struct vg_arena *ar, const struct xc_side *a, const struct xc_side *b,
			uint16_t type, const char **texts)
{
	size_t n = 0;
	const struct xc_side *side[2] = {a, b};
	static const char *const prefix[2] = {"first: ", "second: "};
	for (int s = 0; s < 2; s++) {
		const struct vg_rr *rrs[XC_LIST_MAX];
		size_t k = answer_rrs(side[s]->msg, type, rrs, XC_LIST_MAX);
		for (size_t i = 0; i < k; i++) {
			const char *t = vg_hijack_rr_text(ar, rrs[i]);
			size_t cap = t ? strlen(t) + 10 : 0;
			char *p = cap ? vg_arena_alloc(ar, cap) : NULL;
			if (p) {
				snprintf(p, cap, "%s%s", prefix[s], t);
				texts[n++] = p;
			}
		}
	}
	return n;
}

static void report(struct vg_resolver *r, struct vg_arena *ar, const uint8_t *qname, uint16_t qtype,
		   const struct vg_sockaddr *client, const struct xc_side *a,
		   const struct xc_side *b, enum vg_suspect_action action, uint16_t ede,
		   const char *served)
{
	const char *texts[2 * XC_LIST_MAX];
	struct vg_suspect_source src[2] = {{a->server, a->tcp}, {b->server, b->tcp}};
	struct vg_suspect_event ev = {
	    .reason = VG_SUSPECT_SERVERS_DISAGREE,
	    .action = action,
	    .qname = qname,
	    .qtype = qtype,
	    .client = client,
	    .server = &b->server,
	    .tcp = b->tcp,
	    .records = texts,
	    .n_records = list_both(ar, a, b, qtype, texts),
	    .served = served,
	    .reply = b->reply,
	    .reply_len = b->reply_len,
	    .ede = ede,
	    .first_reply = a->reply,
	    .first_reply_len = a->reply_len,
	    .sources = src,
	    .n_sources = 2,
	};
	if (r->suspect && r->suspect->emit)
		r->suspect->emit(r->suspect->ctx, &ev);
}

static struct xc_side side_of(const struct vg_iq *iq)
{
	return (struct xc_side){&iq->msg, iq->reply, iq->reply_len, iq->server, iq->tcp};
}

/* ---- log mode: the check as its own request ---- */

/* What a log-mode cross-check request carries: the first answer (copied: the client's request
 * may be gone when the check ends) and who asked. In the check request's arena. */
struct vg_xc_bg {
	uint8_t *first_reply;
	size_t first_len;
	struct vg_sockaddr first_server;
	bool first_tcp;
	bool has_client;
	struct vg_sockaddr client;
	uint8_t zone[VG_NAME_MAX];
	uint16_t asked_type;
};

static void start_logged(struct vg_iq *iq, const struct vg_sockaddr *server)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	struct vg_req *c = vg_req_new_xcheck(r, iq->sname, iq->qtype);
	if (!c)
		return;
	struct vg_xc_bg *bg = vg_arena_zalloc(&c->arena, sizeof(*bg));
	uint8_t *copy = bg ? vg_arena_memdup(&c->arena, iq->reply, iq->reply_len) : NULL;
	if (!copy) {
		vg_arena_free(&c->arena);
		free(c);
		return;
	}
	bg->first_reply = copy;
	bg->first_len = iq->reply_len;
	bg->first_server = iq->server;
	bg->first_tcp = iq->tcp;
	if (req->waiters && req->waiters->has_client) {
		bg->has_client = true;
		bg->client = req->waiters->client;
	}
	memcpy(bg->zone, iq->zone, (size_t)vg_name_len(iq->zone, VG_NAME_MAX));
	bg->asked_type = iq->asked_type;
	c->xc_bg = bg;
	vg_iq_make_xcheck(c->root, iq->zone, server, false);
	vg_req_launch(c);
}

void vg_disagree_bg_done(struct vg_req *req)
{
	struct vg_resolver *r = req->r;
	struct vg_xc_bg *bg = req->xc_bg;
	struct vg_iq *iq = req->root;
	if (iq->state != IQ_DONE)
		return; /* the second server could not be asked: no verdict */
	/* The first reply again, scrubbed as it was for the client's request. */
	struct vg_msg *m = vg_arena_zalloc(&req->arena, sizeof(*m));
	struct vg_verdict *v = vg_arena_alloc(&req->arena, sizeof(*v));
	if (!m || !v || vg_msg_parse(&req->arena, bg->first_reply, bg->first_len, m) < 0 ||
	    vg_scrub(m, bg->zone, iq->sname, bg->asked_type, false, v) < 0)
		return;
	if (compare(&req->arena, m, v, &iq->msg, &iq->verdict, bg->asked_type) != CMP_DIFFER)
		return;
	suspect_zone(r, bg->zone);
	struct xc_side a = {m, bg->first_reply, bg->first_len, bg->first_server, bg->first_tcp};
	struct xc_side b = side_of(iq);
	report(r, &req->arena, req->qname, req->qtype, bg->has_client ? &bg->client : NULL, &a, &b,
	       VG_SUSPECT_LOGGED, 0, "the first answer (already sent)");
}

/* ---- block mode: the answer waits; a disagreement is settled over TCP ---- */

/* The held answer goes on to the store, unless a second answer to it came meanwhile
 * (second-answer): then validate again, which asks it over TCP. */
static void resume_store(struct vg_iq *p)
{
	p->state = p->second_seen ? IQ_VALIDATE : IQ_STORE;
}

struct xc_block {
	struct vg_iq *sub;		       /* the query in flight */
	struct vg_iq *udp;		       /* the second server's UDP answer */
	struct vg_sockaddr tcp_to[XC_TCP_MAX]; /* asked over TCP, in order */
	size_t n_tcp;
	struct vg_iq *tcp[XC_TCP_MAX]; /* their answers (IQ_DONE or IQ_FAIL) */
	size_t n_done;
};

static void block_tcp_done(struct vg_iq *p, const struct vg_sub_result *res, void *ctx);

/* Asks the next server of the TCP round; false when none is left. */
static bool next_tcp(struct vg_iq *p, struct xc_block *x)
{
	if (x->n_done >= x->n_tcp)
		return false;
	if (vg_iq_xcheck_sub(p, &x->tcp_to[x->n_done], true, block_tcp_done, x, &x->sub) < 0)
		return false;
	return true;
}

static bool answered(const struct vg_iq *q)
{
	return q->state == IQ_DONE && q->verdict.kind == VG_REPLY_ANSWER;
}

/* The TCP round is over: serve the answer a majority of the servers asked over TCP confirmed,
 * or SERVFAIL with EDE 4. */
static void block_settle(struct vg_iq *p, struct xc_block *x)
{
	struct vg_req *req = p->req;
	struct vg_resolver *r = req->r;
	struct vg_arena *ar = &req->arena;
	int best = -1;
	size_t best_votes = 0;
	for (size_t i = 0; i < x->n_done; i++) {
		if (!answered(x->tcp[i]))
			continue;
		size_t votes = 0;
		for (size_t j = 0; j < x->n_done; j++)
			votes += answered(x->tcp[j]) &&
				 compare(ar, &x->tcp[i]->msg, &x->tcp[i]->verdict, &x->tcp[j]->msg,
					 &x->tcp[j]->verdict, p->asked_type) == CMP_SAME;
		if (votes > best_votes) {
			best = (int)i;
			best_votes = votes;
		}
	}
	struct xc_side a = side_of(p), b = side_of(x->udp);
	const struct vg_sockaddr *client =
	    req->waiters && req->waiters->has_client ? &req->waiters->client : NULL;
	p->xc_done = true;
	if (best < 0 || 2 * best_votes <= x->n_tcp) {
		report(r, ar, p->sname, p->qtype, client, &a, &b, VG_SUSPECT_BLOCKED,
		       VG_EDE_FORGED_ANSWER,
		       "SERVFAIL, EDE 4 (Forged Answer): no majority of the zone's servers "
		       "confirmed one answer over TCP");
		p->ede = VG_EDE_FORGED_ANSWER;
		p->ede_text = "servers-disagree: the zone's servers gave different answers and "
			      "no majority confirmed one over TCP";
		p->state = IQ_FAIL;
		return;
	}
	struct vg_iq *win = x->tcp[best];
	report(r, ar, p->sname, p->qtype, client, &a, &b, VG_SUSPECT_RETRIED, 0,
	       "the answer a majority of the zone's servers confirmed over TCP");
	if (compare(ar, &p->msg, &p->verdict, &win->msg, &win->verdict, p->asked_type) ==
	    CMP_SAME) {
		resume_store(p); /* the first answer was the confirmed one */
		return;
	}
	/* Serve the confirmed reply instead: it is validated and checked like any other. */
	p->msg = win->msg;
	p->verdict = win->verdict;
	p->reply = win->reply;
	p->reply_len = win->reply_len;
	p->server = win->server;
	p->tcp = true;
	p->second_seen = false; /* the reply now used came over TCP */
	p->state = IQ_VALIDATE;
}

static void block_tcp_done(struct vg_iq *p, const struct vg_sub_result *res, void *ctx)
{
	struct xc_block *x = ctx;
	(void)res;
	if (p->state != IQ_WAIT_SUB)
		return;
	x->tcp[x->n_done++] = x->sub;
	if (!next_tcp(p, x))
		block_settle(p, x);
}

static void block_udp_done(struct vg_iq *p, const struct vg_sub_result *res, void *ctx)
{
	struct xc_block *x = ctx;
	struct vg_resolver *r = p->req->r;
	(void)res;
	if (p->state != IQ_WAIT_SUB)
		return;
	x->udp = x->sub;
	if (x->udp->state != IQ_DONE || compare(&p->req->arena, &p->msg, &p->verdict, &x->udp->msg,
						&x->udp->verdict, p->asked_type) != CMP_DIFFER) {
		p->xc_done = true;
		resume_store(p);
		return;
	}
	suspect_zone(r, p->zone);
	/* Both servers again over TCP (an on-path forger cannot answer there), and a third
	 * one when the zone has one: a majority of them decides. */
	x->tcp_to[0] = p->server;
	x->tcp_to[1] = x->udp->server;
	x->n_tcp = 2 + other_servers(p, x->tcp_to, 2, &x->tcp_to[2], XC_TCP_MAX - 2);
	if (!next_tcp(p, x))
		block_settle(p, x);
}

/* ---- the entry point ---- */

bool vg_disagree_check(struct vg_iq *iq)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	const struct vg_hijack_opts *o = r->hijack;
	if (!o || !o->enabled || o->servers_disagree == VG_DETECT_OFF || iq != req->root ||
	    iq->xc_done || iq->is_prime || iq->forward || req->xc_bg || req->tcp_only ||
	    iq->verdict.kind != VG_REPLY_ANSWER)
		return false;
	struct vg_sockaddr second;
	if (!other_servers(iq, &iq->server, 1, &second, 1))
		return false; /* one server (or one usable address): nobody to compare with */
	if (!wanted(iq, r->up->ops->now_ms(r->up)))
		return false;
	iq->xc_done = true;
	r->stats.xchecks++;
	if (o->servers_disagree == VG_DETECT_LOG) {
		start_logged(iq, &second);
		return false;
	}
	struct xc_block *x = vg_arena_zalloc(&req->arena, sizeof(*x));
	if (!x || vg_iq_xcheck_sub(iq, &second, false, block_udp_done, x, &x->sub) < 0) {
		iq->state = IQ_STORE;
		return false;
	}
	return true;
}
