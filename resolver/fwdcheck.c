/* Detections about what a name's data should be rather than how it arrived: pins (`pin:`, data of
 * a pinned name outside the pin) and NXDOMAIN rewriting by forwarders (`nxdomain-rewrite:`, with
 * `forward-fallback: iterate`). docs/architecture.md "NXDOMAIN rewriting and pins". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil/suspect.h>
#include "iter.h"

/* One event about iq's reply (the question it asked, the server that answered). */
static void iq_event(struct vg_iq *iq, enum vg_suspect_reason reason, enum vg_suspect_action action,
		     const char *const *texts, size_t n, const char *served, uint16_t ede)
{
	struct vg_suspect_event ev = {
	    .reason = reason,
	    .action = action,
	    .qname = iq->asked,
	    .qtype = iq->asked_type,
	    .client = vg_hijack_client(iq->req),
	    .server = &iq->server,
	    .tcp = iq->tcp,
	    .records = texts,
	    .n_records = n,
	    .served = served,
	    .reply = iq->reply,
	    .reply_len = iq->reply_len,
	    .ede = ede,
	};
	vg_hijack_emit(iq->req->r, &ev);
}

/* ---- pin ---- */
/* pin blocks like rebinding: address records outside the pin are removed and the rest is
 * answered; an NS or DS set outside the pin fails the iq (removing part of a delegation would
 * leave a different one). */

/* Pins of (owner, type): whether any exists, and whether rdata lies inside one of them. */
static bool pinned(const struct vg_hijack_opts *o, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < o->n_pins; i++)
		if (o->pins[i].type == type && vg_name_eq(o->pins[i].name, owner))
			return true;
	return false;
}

static bool inside(const struct vg_hijack_opts *o, const struct vg_rr *rr)
{
	for (size_t i = 0; i < o->n_pins; i++) {
		const struct vg_pin *p = &o->pins[i];
		if (p->type == rr->type && vg_name_eq(p->name, rr->owner) &&
		    vg_pin_match(p, rr->rdata, rr->rdlen))
			return true;
	}
	return false;
}

#define PIN_LIST_MAX 16

void vg_hijack_pin(struct vg_iq *iq)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	const struct vg_hijack_opts *o = r->hijack;
	if (!o || !o->enabled || !o->n_pins || o->pin_action == VG_DETECT_OFF)
		return;
	struct vg_msg *m = &iq->msg;
	bool block = o->pin_action == VG_DETECT_BLOCK, fail = false;
	const char *texts[PIN_LIST_MAX];
	size_t n = 0;
	for (size_t k = 0; k < m->n_rrsets; k++) {
		struct vg_rrset *rs = &m->rrsets[k];
		if ((rs->type != VG_TYPE_A && rs->type != VG_TYPE_AAAA && rs->type != VG_TYPE_NS &&
		     rs->type != VG_TYPE_DS) ||
		    !pinned(o, rs->owner, rs->type))
			continue;
		bool addr = rs->type == VG_TYPE_A || rs->type == VG_TYPE_AAAA;
		for (uint16_t i = 0; i < rs->n_rrs;) {
			const struct vg_rr *rr = rs->rrs[i];
			if (inside(o, rr)) {
				i++;
				continue;
			}
			const char *t =
			    n < PIN_LIST_MAX ? vg_hijack_rr_text(&req->arena, rr) : NULL;
			if (t)
				texts[n++] = t;
			rs->suspect |= 1u << VG_SUSPECT_PIN;
			if (block && addr) {
				vg_rrset_remove(rs, i); /* its signatures go with it */
				continue;
			}
			fail |= block;
			i++;
		}
	}
	if (!n)
		return;
	/* EDE 15 as for rebinding: the data may be honest (the name moved), our policy (the
	 * user's pin) refused it (docs/suspicious-log.md "Why EDE 15 and not 4"). */
	const char *served = "the answer as received";
	if (fail) {
		/* A delegation or DS set outside the pin: nothing of it is used. */
		iq->ede = VG_EDE_BLOCKED;
		iq->ede_text = "pin: NS or DS records outside the pin";
		iq->state = IQ_FAIL;
		served = "SERVFAIL, EDE 15 (Blocked)";
	} else if (block) {
		req->suspect_ede = VG_EDE_BLOCKED;
		req->suspect_text = "pin: addresses outside the pin removed";
		served = "answer without the addresses outside the pin, EDE 15 (Blocked)";
	}
	iq_event(iq, VG_SUSPECT_PIN, block ? VG_SUSPECT_BLOCKED : VG_SUSPECT_LOGGED, texts, n,
		 served, block ? VG_EDE_BLOCKED : 0);
}

/* ---- nxdomain-rewrite ---- */

#define NXR_LEARN_MAX 8		/* rewrite addresses kept per forwarder (the oldest go first) */
#define NXR_PERIOD_MS 600000u	/* a forwarder that answered a probe is probed again after */
#define NXR_RETRY_MIN_MS 1000u	/* a probe that got no answer: next try after this, */
#define NXR_RETRY_MAX_MS 60000u /* doubling up to this */
#define NXR_LABEL_LEN 12	/* letters of the random label */

enum nxr_state { NXR_UNKNOWN = 0, NXR_HONEST, NXR_LIES };

/* One forwarder address of one forwarded zone ("" for forward:). */
struct nxr_fwd {
	const uint8_t *zone;
	struct vg_sockaddr addr;
	enum nxr_state state;
	uint8_t learned[NXR_LEARN_MAX][16];
	uint8_t learned_len[NXR_LEARN_MAX]; /* 4 or 16 */
	unsigned n_learned, next_slot;
	uint64_t next_at; /* monotonic ms: next probe round */
	uint32_t backoff_ms;
	unsigned probing;    /* probe requests of this round in flight */
	bool round_answered; /* a probe of this round got NXDOMAIN (or NODATA) */
	bool round_lied;     /* a probe of this round got addresses */
	bool round_new;	     /* ... and some of them were new */
};

struct vg_nxr {
	struct nxr_fwd *f;
	size_t n;
	struct vg_upstream_timer *timer;
};

static bool nxr_on(const struct vg_resolver *r)
{
	const struct vg_hijack_opts *o = r->hijack;
	return o && o->enabled && o->nxdomain_rewrite != VG_DETECT_OFF && r->nxr;
}

static struct nxr_fwd *nxr_find(struct vg_resolver *r, const uint8_t *zone,
				const struct vg_sockaddr *a)
{
	for (size_t i = 0; r->nxr && i < r->nxr->n; i++)
		if (vg_sockaddr_eq(&r->nxr->f[i].addr, a) && vg_name_eq(r->nxr->f[i].zone, zone))
			return &r->nxr->f[i];
	return NULL;
}

static bool learned_has(const struct nxr_fwd *f, const uint8_t *rdata, uint16_t len)
{
	for (unsigned i = 0; i < f->n_learned; i++)
		if (f->learned_len[i] == len && !memcmp(f->learned[i], rdata, len))
			return true;
	return false;
}

static void learn(struct nxr_fwd *f, const uint8_t *rdata, uint16_t len)
{
	if ((len != 4 && len != 16) || learned_has(f, rdata, len))
		return;
	unsigned k = f->n_learned < NXR_LEARN_MAX ? f->n_learned++ : f->next_slot;
	f->next_slot = (k + 1) % NXR_LEARN_MAX;
	memcpy(f->learned[k], rdata, len);
	f->learned_len[k] = (uint8_t)len;
	f->round_new = true;
}

static void nxr_schedule(struct vg_resolver *r);
static void round_end(struct vg_resolver *r, struct nxr_fwd *f);

/* A random label under the forwarded zone; for forward: (the root) under com., a public zone
 * every honest resolver answers NXDOMAIN for such a label. */
static void probe_name(struct vg_resolver *r, const struct nxr_fwd *f, uint8_t *out)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static const uint8_t com[] = {3, 'c', 'o', 'm', 0};
	uint8_t rnd[NXR_LABEL_LEN];
	r->up->ops->random(r->up, rnd, sizeof(rnd));
	out[0] = NXR_LABEL_LEN;
	for (int i = 0; i < NXR_LABEL_LEN; i++)
		out[1 + i] = (uint8_t)alpha[rnd[i] % (sizeof(alpha) - 1)];
	const uint8_t *zone = f->zone[0] ? f->zone : com;
	int zl = vg_name_len(zone, VG_NAME_MAX);
	if (zl <= 0 || zl + 1 + NXR_LABEL_LEN > VG_NAME_MAX)
		zone = com, zl = (int)sizeof(com);
	memcpy(out + 1 + NXR_LABEL_LEN, zone, (size_t)zl);
}

static void start_probe(struct vg_resolver *r, size_t idx, uint16_t qtype)
{
	struct nxr_fwd *f = &r->nxr->f[idx];
	uint8_t name[VG_NAME_MAX];
	probe_name(r, f, name);
	r->stats.nxdomain_probes++;
	/* The probe may have ended already (vg_nxr_probe_done counted it down). */
	if (!vg_req_start_probe(r, name, qtype, (unsigned)idx + 1) && f->probing && !--f->probing)
		round_end(r, f);
}

static int fire_entry(void *arg)
{
	struct vg_resolver *r = arg;
	r->nxr->timer = NULL;
	uint64_t now = r->up->ops->now_ms(r->up);
	for (size_t i = 0; i < r->nxr->n; i++) {
		struct nxr_fwd *f = &r->nxr->f[i];
		if (f->probing || f->next_at > now)
			continue;
		f->round_answered = f->round_lied = f->round_new = false;
		/* Two questions per round: the rewrite may answer A, AAAA or both. */
		f->probing = 2;
		f->next_at = UINT64_MAX; /* set when the round ends */
		start_probe(r, i, VG_TYPE_A);
		start_probe(r, i, VG_TYPE_AAAA);
	}
	nxr_schedule(r);
	return 0;
}

static void nxr_fire(void *ctx)
{
	vg_resolver_entry(ctx, fire_entry, ctx);
}

/* Arms the timer for the earliest round due (none while every forwarder is being probed). */
static void nxr_schedule(struct vg_resolver *r)
{
	if (r->closing || !nxr_on(r))
		return;
	uint64_t next = UINT64_MAX, now = r->up->ops->now_ms(r->up);
	for (size_t i = 0; i < r->nxr->n; i++)
		if (!r->nxr->f[i].probing && r->nxr->f[i].next_at < next)
			next = r->nxr->f[i].next_at;
	if (r->nxr->timer) {
		r->up->ops->timer_stop(r->up, r->nxr->timer);
		r->nxr->timer = NULL;
	}
	if (next == UINT64_MAX)
		return;
	r->up->ops->timer_start(r->up, next > now ? next - now : 0, nxr_fire, r, &r->nxr->timer);
}

static int add_fwd(struct vg_nxr *x, const uint8_t *zone, const struct vg_sockaddr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct nxr_fwd *f = &x->f[x->n++];
		memset(f, 0, sizeof(*f));
		f->zone = zone;
		f->addr = a[i];
	}
	return 0;
}

int vg_nxr_init(struct vg_resolver *r)
{
	const struct vg_resolver_opts *o = &r->opts;
	const struct vg_hijack_opts *h = &r->opts.hijack;
	if (!h->enabled || h->nxdomain_rewrite == VG_DETECT_OFF)
		return 0;
	size_t n = o->n_forward;
	for (size_t i = 0; i < o->n_forward_zones; i++)
		n += o->forward_zones[i].n_addrs;
	if (!n)
		return 0;
	struct vg_nxr *x = calloc(1, sizeof(*x));
	if (!x || !(x->f = calloc(n, sizeof(*x->f)))) {
		free(x);
		return -ENOMEM;
	}
	static const uint8_t root[1] = {0};
	add_fwd(x, root, o->forward, o->n_forward);
	for (size_t i = 0; i < o->n_forward_zones; i++)
		add_fwd(x, o->forward_zones[i].zone, o->forward_zones[i].addrs,
			o->forward_zones[i].n_addrs);
	r->nxr = x;
	nxr_schedule(r); /* every next_at is 0: the first round at once */
	return 0;
}

void vg_nxr_free(struct vg_resolver *r)
{
	if (!r->nxr)
		return;
	if (r->nxr->timer)
		r->up->ops->timer_stop(r->up, r->nxr->timer);
	free(r->nxr->f);
	free(r->nxr);
	r->nxr = NULL;
}

bool vg_nxr_usable(struct vg_resolver *r, const uint8_t *zone, const struct vg_sockaddr *a)
{
	if (!nxr_on(r) || r->hijack->forward_fallback != VG_FALLBACK_ITERATE)
		return true;
	const struct nxr_fwd *f = nxr_find(r, zone, a);
	return !f || f->state != NXR_LIES;
}

const uint8_t *vg_nxr_probe_target(struct vg_resolver *r, unsigned probe,
				   const struct vg_sockaddr **addr)
{
	*addr = NULL;
	if (!r->nxr || !probe || probe > r->nxr->n)
		return (const uint8_t *)"";
	*addr = &r->nxr->f[probe - 1].addr;
	return r->nxr->f[probe - 1].zone;
}

/* The address records of the answer's final name (the chain's end), or of qname. */
static bool final_addr(const struct vg_iq *iq, const struct vg_rr *rr)
{
	return !rr->drop && rr->section == VG_SEC_ANSWER &&
	       (rr->type == VG_TYPE_A || rr->type == VG_TYPE_AAAA) &&
	       vg_name_eq(rr->owner, iq->verdict.target);
}

/* The text list of the forged records (at most 16) in the arena. */
static size_t forged_texts(struct vg_iq *iq, const char **texts, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < iq->msg.n_rr && n < cap; i++)
		if (final_addr(iq, &iq->msg.rr[i])) {
			const char *t = vg_hijack_rr_text(&iq->req->arena, &iq->msg.rr[i]);
			if (t)
				texts[n++] = t;
		}
	return n;
}

/* A probe's reply: addresses mean the forwarder invents answers for names that do not exist. */
static void judge_probe(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	struct nxr_fwd *f = &r->nxr->f[iq->probe - 1];
	const struct vg_verdict *v = &iq->verdict;
	if (v->kind == VG_REPLY_NXDOMAIN || v->kind == VG_REPLY_NODATA) {
		f->round_answered = true;
	} else if (v->kind == VG_REPLY_ANSWER || v->kind == VG_REPLY_CNAME) {
		const char *texts[16];
		size_t n = forged_texts(iq, texts, 16);
		for (size_t i = 0; i < iq->msg.n_rr; i++) {
			const struct vg_rr *rr = &iq->msg.rr[i];
			if (final_addr(iq, rr))
				learn(f, rr->rdata, rr->rdlen);
		}
		if (n)
			f->round_lied = true;
		else
			f->round_answered = true; /* data of another type: no rewrite seen */
		if (n && f->round_new) {
			r->stats.nxdomain_rewrites_learned++;
			bool iterate = r->hijack->forward_fallback == VG_FALLBACK_ITERATE;
			iq_event(iq, VG_SUSPECT_NXDOMAIN_REWRITE, VG_SUSPECT_LOGGED, texts, n,
				 iterate ? "nothing (a probe): the forwarder rewrites NXDOMAIN; "
					   "these addresses are learned and its zone is resolved "
					   "by iteration while it does"
					 : "nothing (a probe): the forwarder rewrites NXDOMAIN; "
					   "these addresses are learned and its answers made of "
					   "them are treated as NXDOMAIN",
				 0);
		}
	} else {
		return; /* SERVFAIL, REFUSED...: the iterator tries again or fails */
	}
	iq->probe_judged = true;
	iq->rcode = v->kind == VG_REPLY_NXDOMAIN ? VG_RCODE_NXDOMAIN : VG_RCODE_NOERROR;
	iq->state = IQ_DONE; /* nothing of a probe is stored or answered */
}

void vg_nxr_probe_done(struct vg_req *req)
{
	struct vg_resolver *r = req->r;
	if (!r->nxr || req->root->probe > r->nxr->n)
		return;
	struct nxr_fwd *f = &r->nxr->f[req->root->probe - 1];
	if (f->probing && !--f->probing)
		round_end(r, f);
}

/* Every probe of f's round ended: its verdict, and when to ask again. */
static void round_end(struct vg_resolver *r, struct nxr_fwd *f)
{
	uint64_t now = r->up->ops->now_ms(r->up);
	if (f->round_lied || f->round_answered) {
		r->stats.nxdomain_probe_rounds++;
		if (f->round_lied) {
			if (f->state != NXR_LIES) {
				char a[64];
				vg_warn("resolver %d: forwarder %s rewrites NXDOMAIN (%u addresses "
					"learned)%s",
					r->worker_id, vg_sockaddr_str(&f->addr, a, sizeof(a)),
					f->n_learned,
					r->hijack->forward_fallback == VG_FALLBACK_ITERATE
					    ? "; its zone is resolved by iteration"
					    : "");
			}
			f->state = NXR_LIES;
		} else {
			f->state = NXR_HONEST;
			f->n_learned = f->next_slot = 0;
		}
		f->backoff_ms = 0;
		f->next_at = now + NXR_PERIOD_MS;
	} else {
		uint32_t wait = f->backoff_ms ? f->backoff_ms : NXR_RETRY_MIN_MS;
		f->next_at = now + wait;
		f->backoff_ms = wait * 2 > NXR_RETRY_MAX_MS ? NXR_RETRY_MAX_MS : wait * 2;
	}
	nxr_schedule(r);
}

void vg_nxr_reply(struct vg_iq *iq)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	if (req->root->probe) {
		if (iq == req->root && r->nxr)
			judge_probe(iq);
		return;
	}
	if (!iq->forward || !nxr_on(r) || iq->verdict.kind != VG_REPLY_ANSWER ||
	    (iq->asked_type != VG_TYPE_A && iq->asked_type != VG_TYPE_AAAA))
		return;
	struct nxr_fwd *f = nxr_find(r, iq->zone, &iq->server);
	if (!f || f->state != NXR_LIES)
		return;
	/* Exactly a learned set: every address of the final name is a rewrite address. */
	size_t n_addr = 0;
	for (size_t i = 0; i < iq->msg.n_rr; i++) {
		const struct vg_rr *rr = &iq->msg.rr[i];
		if (!final_addr(iq, rr))
			continue;
		if (!learned_has(f, rr->rdata, rr->rdlen))
			return;
		n_addr++;
	}
	if (!n_addr)
		return;
	const char *texts[16];
	size_t n = forged_texts(iq, texts, 16);
	bool block = r->hijack->nxdomain_rewrite == VG_DETECT_BLOCK;
	for (size_t k = 0; k < iq->msg.n_rrsets; k++) {
		struct vg_rrset *rs = &iq->msg.rrsets[k];
		if ((rs->type != VG_TYPE_A && rs->type != VG_TYPE_AAAA) ||
		    !vg_name_eq(rs->owner, iq->verdict.target))
			continue;
		rs->suspect |= 1u << VG_SUSPECT_NXDOMAIN_REWRITE;
		while (block && rs->n_rrs)
			vg_rrset_remove(rs, 0);
	}
	r->stats.nxdomain_rewrites++;
	if (block) {
		/* The name does not exist: an NXDOMAIN without SOA, so nothing negative is cached
		 * either (the forwarder's word is all there is). */
		iq->verdict.kind = VG_REPLY_NXDOMAIN;
		iq->verdict.soa = NULL;
		req->suspect_ede = VG_EDE_FORGED_ANSWER;
		req->suspect_text = "nxdomain-rewrite: the forwarder's invented address removed";
	}
	iq_event(iq, VG_SUSPECT_NXDOMAIN_REWRITE, block ? VG_SUSPECT_BLOCKED : VG_SUSPECT_LOGGED,
		 texts, n, block ? "NXDOMAIN, EDE 4 (Forged Answer)" : "the answer as received",
		 block ? VG_EDE_FORGED_ANSWER : 0);
}
