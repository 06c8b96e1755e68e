/* The iterator: an explicit state machine walking from the closest known zone cut down to the
 * authoritative answer (one function per state, one dispatch loop). */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "iter.h"

enum step { STEP_NEXT, STEP_WAIT, STEP_END };

static const char *const state_names[IQ_N_STATES] = {
    [IQ_START] = "start",	[IQ_FIND_CUT] = "find-cut", [IQ_PICK] = "pick-server",
    [IQ_WAIT_SUB] = "wait-sub", [IQ_SEND] = "send",	    [IQ_WAIT_REPLY] = "wait-reply",
    [IQ_REPLY] = "reply",	[IQ_HOLD] = "hold",	    [IQ_VALIDATE] = "validate",
    [IQ_STORE] = "store",	[IQ_FOLLOW] = "follow",	    [IQ_DONE] = "done",
    [IQ_FAIL] = "fail",
};

const char *vg_iq_state_name(enum vg_iq_state s)
{
	return (unsigned)s < IQ_N_STATES ? state_names[s] : "?";
}

uint32_t vg_wall32(struct vg_resolver *r)
{
	return (uint32_t)r->up->ops->wall_now(r->up);
}

static enum step fail(struct vg_iq *iq, uint16_t ede, const char *text)
{
	iq->ede = ede;
	iq->ede_text = text;
	iq->state = IQ_FAIL;
	return STEP_NEXT;
}

static enum step fail_limit(struct vg_iq *iq, const char *text)
{
	iq->req->r->stats.limit_hits++;
	vg_debug("resolver: limit reached: %s", text);
	return fail(iq, VG_EDE_OTHER, text);
}

static bool same_rr(const struct vg_rr *a, const struct vg_rr *b)
{
	return a->type == b->type && a->rclass == b->rclass && a->rdlen == b->rdlen &&
	       !memcmp(a->rdata, b->rdata, a->rdlen) && vg_name_eq(a->owner, b->owner);
}

static uint32_t rr_hash(const struct vg_rr *rr)
{
	uint32_t h = vg_name_hash(rr->owner, (size_t)vg_name_len(rr->owner, VG_NAME_MAX));
	h = (h ^ rr->type) * 16777619u;
	h = (h ^ rr->rclass) * 16777619u;
	for (uint16_t i = 0; i < rr->rdlen; i++)
		h = (h ^ rr->rdata[i]) * 16777619u;
	return h;
}

/* The slot of rr in an open-addressing table of `cap` (a power of two): its twin or a free one. */
static const struct vg_rr **ans_slot(const struct vg_rr **set, size_t cap, const struct vg_rr *rr,
				     uint32_t h)
{
	size_t k = h & (cap - 1);
	while (set[k] && !same_rr(set[k], rr))
		k = (k + 1) & (cap - 1);
	return &set[k];
}

int vg_iq_ans_add(struct vg_iq *iq, const struct vg_rr *rr)
{
	/* RFC 2181 §5: an RRset holds no duplicates, whatever a server (or a chain that passed
	 * the same name twice through the cache and the wire) sent. A hash set keeps this O(1)
	 * per record, also for big RRsets read back from the cache. */
	if (2 * (iq->n_ans + 1) > iq->ans_set_cap) {
		size_t cap = iq->ans_set_cap ? iq->ans_set_cap * 2 : 32;
		const struct vg_rr **set = vg_arena_zalloc(&iq->req->arena, cap * sizeof(*set));
		if (!set)
			return -ENOMEM;
		for (size_t i = 0; i < iq->n_ans; i++)
			*ans_slot(set, cap, iq->ans[i], rr_hash(iq->ans[i])) = iq->ans[i];
		iq->ans_set = set;
		iq->ans_set_cap = cap;
	}
	const struct vg_rr **slot = ans_slot(iq->ans_set, iq->ans_set_cap, rr, rr_hash(rr));
	if (*slot)
		return 0;
	if (iq->n_ans == iq->cap_ans) {
		size_t cap = iq->cap_ans ? iq->cap_ans * 2 : 8;
		const struct vg_rr **n = vg_arena_alloc(&iq->req->arena, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		if (iq->n_ans)
			memcpy(n, iq->ans, iq->n_ans * sizeof(*n));
		iq->ans = n;
		iq->cap_ans = cap;
	}
	*slot = rr;
	iq->ans[iq->n_ans++] = rr;
	return 0;
}

void vg_iq_ans_clear(struct vg_iq *iq)
{
	iq->n_ans = 0;
	if (iq->ans_set)
		memset(iq->ans_set, 0, iq->ans_set_cap * sizeof(*iq->ans_set));
}

struct vg_iq *vg_iq_new(struct vg_req *req, const uint8_t *name, uint16_t qtype, uint16_t qclass)
{
	/* Zeroing all of it was ~4,600 instructions per iq; the verdict is written before read. */
	_Static_assert(offsetof(struct vg_iq, verdict) + sizeof(struct vg_verdict) ==
			   sizeof(struct vg_iq),
		       "the verdict must stay the last member of struct vg_iq");
	struct vg_iq *iq = vg_arena_alloc(&req->arena, sizeof(*iq));
	if (!iq)
		return NULL;
	memset(iq, 0, offsetof(struct vg_iq, verdict));
	iq->req = req;
	memcpy(iq->sname, name, (size_t)vg_name_len(name, VG_NAME_MAX));
	vg_name_lower(iq->sname);
	iq->qtype = qtype;
	iq->qclass = qclass;
	iq->qmin = req->r->opts.qname_minimisation;
	iq->state = IQ_START;
	iq->next_all = req->iqs;
	req->iqs = iq;
	return iq;
}

/* True when the chain collected so far already visited `name` (CNAME loop). */
static bool chain_has(const struct vg_iq *iq, const uint8_t *name)
{
	for (size_t i = 0; i < iq->n_ans; i++)
		if ((iq->ans[i]->type == VG_TYPE_CNAME || iq->ans[i]->type == VG_TYPE_DNAME) &&
		    vg_name_eq(iq->ans[i]->owner, name))
			return true;
	return false;
}

/* Moves to `target` after a CNAME/DNAME: the hop limit and loop check happen here. */
static enum step restart_at(struct vg_iq *iq, const uint8_t *target, unsigned hops)
{
	const struct vg_resolver_opts *o = &iq->req->r->opts;
	iq->cname_hops += hops;
	if (iq->cname_hops > o->max_cname_chain)
		return fail_limit(iq, "CNAME chain longer than max-cname-chain");
	if (chain_has(iq, target) || vg_name_eq(target, iq->req->qname))
		return fail(iq, VG_EDE_OTHER, "CNAME loop");
	int tlen = vg_name_len(target, VG_NAME_MAX);
	if (vg_fails(tlen > 0))
		return fail(iq, VG_EDE_OTHER, "invalid CNAME target");
	memcpy(iq->sname, target, (size_t)tlen);
	vg_name_lower(iq->sname);
	iq->state = IQ_START;
	return STEP_NEXT;
}

/* ---- IQ_START ---- */
static enum step st_start(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	if (iq->is_prime) {
		iq->state = IQ_FIND_CUT;
		return STEP_NEXT;
	}
	uint16_t bogus_ede;
	const char *bogus_why;
	if (vg_validate_remembered(iq, &bogus_ede, &bogus_why))
		return fail(iq, bogus_ede, bogus_why);
	unsigned hint = 0;
	bool refresh = iq->refresh;
	iq->refreshing = refresh;
	size_t before = iq->n_ans;
	/* A name the cache holds nothing for (most misses): one search instead of the four
	 * lookups below (qtype and CNAME, each with the name's NXDOMAIN entry). */
	bool known = vg_store_name_known(iq, iq->sname);
	int kind =
	    refresh || !known ? -1 : vg_store_lookup_answer(iq, iq->sname, iq->qtype, 0, &hint);
	iq->refresh = false; /* only the first lookup is skipped; CNAME targets may be cached */
	/* Data stored unchecked is validated on its way out, or asked again (validate_cached.c). */
	enum vg_cached chk =
	    kind >= 0 ? vg_validate_cached(iq, before, kind, iq->qtype) : VG_CACHED_OK;
	if (chk == VG_CACHED_WAIT)
		return STEP_WAIT;
	if (chk == VG_CACHED_MISS)
		kind = -1;
	if (kind == VG_CACHE_POSITIVE) {
		r->stats.cache_answers++;
		/* Started once this request is done (it would join itself otherwise). */
		if ((hint & VG_CACHE_PREFETCH) && r->opts.prefetch && !iq->parent &&
		    !iq->req->cache_only)
			iq->want_prefetch = true;
		iq->rcode = VG_RCODE_NOERROR;
		iq->state = IQ_DONE;
		return STEP_NEXT;
	}
	if (kind == VG_CACHE_NXDOMAIN || kind == VG_CACHE_NODATA) {
		iq->rcode = kind == VG_CACHE_NXDOMAIN ? VG_RCODE_NXDOMAIN : VG_RCODE_NOERROR;
		iq->state = IQ_DONE;
		return STEP_NEXT;
	}
	if (iq->qtype != VG_TYPE_CNAME && known) {
		before = iq->n_ans;
		kind = vg_store_lookup_answer(iq, iq->sname, VG_TYPE_CNAME, 0, &hint);
		chk = kind == VG_CACHE_POSITIVE
			  ? vg_validate_cached(iq, before, kind, VG_TYPE_CNAME)
			  : VG_CACHED_OK;
		if (chk == VG_CACHED_WAIT)
			return STEP_WAIT;
		if (kind == VG_CACHE_POSITIVE && chk == VG_CACHED_OK && iq->n_ans > before) {
			const struct vg_rr *cn = iq->ans[before];
			return restart_at(iq, cn->rdata, 1);
		}
		iq->soa = NULL; /* a negative entry for the CNAME type says nothing about qtype */
	} else if (iq->qtype != VG_TYPE_CNAME) {
		iq->soa = NULL; /* as above: nothing cached for the name (!known) */
	}
	if (iq->req->cache_only)
		return fail(iq, VG_EDE_NOT_AUTHORITATIVE,
			    "not in the cache; recursion not desired (RD=0)");
	iq->state = IQ_FIND_CUT;
	return STEP_NEXT;
}

/* ---- IQ_FIND_CUT ---- */
static const struct vg_forward_zone *forward_for(const struct vg_resolver_opts *o,
						 const uint8_t *name)
{
	const struct vg_forward_zone *best = NULL;
	int best_labels = -1;
	for (size_t i = 0; i < o->n_forward_zones; i++) {
		const struct vg_forward_zone *fz = &o->forward_zones[i];
		int l = vg_name_labels(fz->zone);
		if (vg_name_in_zone(name, fz->zone) && l > best_labels) {
			best = fz;
			best_labels = l;
		}
	}
	return best;
}

static void cut_from_addrs(struct vg_iq *iq, const uint8_t *zone, const struct vg_sockaddr *a,
			   size_t n)
{
	memcpy(iq->zone, zone, (size_t)vg_name_len(zone, VG_NAME_MAX));
	size_t k = n < VG_MAX_NS ? n : VG_MAX_NS;
	iq->ns = vg_arena_zalloc(&iq->req->arena, (k ? k : 1) * sizeof(struct vg_ns));
	iq->n_ns = 0;
	if (!iq->ns)
		return;
	for (size_t i = 0; i < k; i++) {
		struct vg_ns *ns = &iq->ns[iq->n_ns++];
		memcpy(ns->name, zone, (size_t)vg_name_len(zone, VG_NAME_MAX));
		ns->addrs[0] = a[i];
		ns->n_addrs = 1;
		ns->resolved = true;
	}
}

static void cut_from_hints(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	iq->zone[0] = 0;
	iq->ns = vg_arena_zalloc(&iq->req->arena, VG_MAX_NS * sizeof(struct vg_ns));
	iq->n_ns = 0;
	if (!iq->ns)
		return;
	for (size_t i = 0; i < r->n_hints; i++) {
		struct vg_ns *ns = NULL;
		for (size_t j = 0; j < iq->n_ns; j++)
			if (vg_name_eq(iq->ns[j].name, r->hints[i].name))
				ns = &iq->ns[j];
		if (!ns) {
			if (iq->n_ns == VG_MAX_NS)
				continue;
			ns = &iq->ns[iq->n_ns++];
			memcpy(ns->name, r->hints[i].name,
			       (size_t)vg_name_len(r->hints[i].name, VG_NAME_MAX));
			ns->resolved = true;
		}
		if (ns->n_addrs < VG_MAX_NS_ADDRS)
			ns->addrs[ns->n_addrs++] = r->hints[i].addr;
	}
}

static void reset_outcomes(struct vg_iq *iq)
{
	iq->rounds = 0;
	iq->n_silent = iq->n_lame = iq->n_broken = iq->n_policy = iq->n_family = 0;
	iq->over_limit = NULL;
}

static enum step st_find_cut(struct vg_iq *iq)
{
	const struct vg_resolver_opts *o = &iq->req->r->opts;
	const struct vg_forward_zone *fz = forward_for(o, iq->sname);
	iq->forward = false;
	iq->cut_until = UINT32_MAX;
	reset_outcomes(iq);
	iq->qmin_labels = -1;
	iq->qmin_steps = 0;
	const uint8_t *fzone = fz ? fz->zone : (const uint8_t *)"";
	const struct vg_sockaddr *fa = fz ? fz->addrs : o->forward;
	size_t nfa = fz ? fz->n_addrs : o->n_forward;
	struct vg_sockaddr honest[VG_MAX_NS];
	if (iq->probe && iq == iq->req->root) {
		/* nxdomain-rewrite probe: the one forwarder it judges */
		const struct vg_sockaddr *pa = NULL;
		fzone = vg_nxr_probe_target(iq->req->r, iq->probe, &pa);
		fa = pa;
		nfa = pa ? 1 : 0;
		if (!pa)
			return fail(iq, VG_EDE_OTHER, "no such forwarder");
	} else if (nfa) {
		/* forward-fallback: iterate leaves out forwarders known to rewrite NXDOMAIN; with
		 * none left the zone is resolved by iteration */
		size_t k = 0;
		for (size_t i = 0; i < nfa && k < VG_MAX_NS; i++)
			if (vg_nxr_usable(iq->req->r, fzone, &fa[i]))
				honest[k++] = fa[i];
		if (k < nfa) {
			fa = honest;
			nfa = k;
		}
	}
	if (iq->cut_given) {
		iq->cut_given = false; /* a restart after a CNAME finds its own cut */
	} else if (nfa) {
		iq->forward = true;
		cut_from_addrs(iq, fzone, fa, nfa);
	} else {
		/* DS lives in the parent zone (RFC 4035 §3.1.4.1): start above the name. */
		const uint8_t *from = iq->sname;
		if (iq->qtype == VG_TYPE_DS && iq->sname[0])
			from = iq->sname + iq->sname[0] + 1;
		if (iq->is_prime || !vg_store_find_cut(iq, from))
			cut_from_hints(iq);
		/* RFC 8020 and RFC 8198: what validated denials of the cut's zone in the cache
		 * prove, without a query (a prefetch asks the authorities). */
		else if (!iq->refreshing && vg_aggressive_answer(iq))
			return STEP_NEXT;
	}
	if (!iq->ns)
		return fail(iq, VG_EDE_OTHER, "out of memory");
	iq->state = IQ_PICK;
	return STEP_NEXT;
}

/* ---- IQ_PICK ---- */
static void clear_tried(struct vg_iq *iq)
{
	for (size_t i = 0; i < iq->n_ns; i++)
		memset(iq->ns[i].tried, 0, sizeof(iq->ns[i].tried));
}

static void glue_done(struct vg_iq *p, const struct vg_sub_result *res, void *ctx);

/* Starts the address lookup of a glueless NS name. A loop (the name is what an ancestor is
 * looking up) leaves the name without addresses; the parent picks on. */
static enum step start_glue(struct vg_iq *iq, struct vg_ns *ns, uint16_t type)
{
	ns->resolved = true;
	int rc = vg_iq_sub_start(iq, ns->name, type, glue_done, ns);
	if (rc == VG_ELIMIT) {
		iq->state = IQ_PICK;
		return STEP_NEXT;
	}
	return rc < 0 ? fail(iq, VG_EDE_OTHER, "out of memory") : STEP_WAIT;
}

/* The continuation of a glue lookup: the addresses go to the parent's NS entry; A gave nothing
 * and IPv6 is on: AAAA next (an IPv6-only name server); then the parent picks again. */
static void glue_done(struct vg_iq *p, const struct vg_sub_result *res, void *ctx)
{
	struct vg_ns *ns = ctx;
	for (size_t k = 0; k < res->n_sets; k++)
		for (uint16_t i = 0; i < res->sets[k]->n_rrs && ns->n_addrs < VG_MAX_NS_ADDRS;
		     i++) {
			const struct vg_rr *g = res->sets[k]->rrs[i];
			if (vg_addr_from_rdata(g->type, g->rdata, g->rdlen,
					       &ns->addrs[ns->n_addrs]))
				ns->n_addrs++;
		}
	if (p->state != IQ_WAIT_SUB)
		return;
	if (ns->n_addrs == 0 && res->qtype == VG_TYPE_A && p->req->r->opts.addr.do_ip6 &&
	    start_glue(p, ns, VG_TYPE_AAAA) == STEP_WAIT)
		return;
	if (p->state == IQ_WAIT_SUB)
		p->state = IQ_PICK;
}

/* Resolves a glueless NS name: A first (when do-ip4), AAAA when that gave nothing (glue_done);
 * one name counts once against max-glueless-per-referral. */
static enum step start_sub(struct vg_iq *iq, struct vg_ns *ns)
{
	iq->glueless++;
	return start_glue(iq, ns, iq->req->r->opts.addr.do_ip4 ? VG_TYPE_A : VG_TYPE_AAAA);
}

static bool family_ok(const struct vg_addr_policy *ap, const struct vg_sockaddr *a)
{
	return a->u.sa.sa_family == AF_INET ? ap->do_ip4 : ap->do_ip6;
}

/* No server of the cut is left: say why (RFC 8914). 22 No Reachable Authority when servers did
 * not answer, refused, or could not be asked at all (the text names the setting that excluded
 * them); 23 Network Error when every server that answered gave only errors. */
static enum step fail_no_server(struct vg_iq *iq, size_t candidates)
{
	/* A sub-resolution that stopped at the request's query budget left us without
	 * addresses: the budget is the reason, not the servers. */
	if (iq->req->upstream_queries >= iq->req->r->opts.max_upstream_queries)
		return fail_limit(iq, "upstream queries over max-upstream-queries");
	if (candidates == 0 && iq->n_policy)
		return fail(iq, VG_EDE_NO_REACHABLE_AUTHORITY,
			    "server addresses are loopback/private (query-local-addresses: no)");
	if (candidates == 0 && iq->n_family)
		return fail(iq, VG_EDE_NO_REACHABLE_AUTHORITY,
			    "no server address of an enabled family (do-ip4/do-ip6)");
	if (iq->over_limit && !iq->n_silent && !iq->n_lame)
		return fail_limit(iq, iq->over_limit);
	if (iq->n_broken && !iq->n_silent && !iq->n_lame)
		return fail(iq, VG_EDE_NETWORK_ERROR, "servers answered only with errors");
	if (iq->n_lame && !iq->n_silent)
		return fail(iq, VG_EDE_NO_REACHABLE_AUTHORITY,
			    "servers are lame or refused to answer");
	return fail(iq, VG_EDE_NO_REACHABLE_AUTHORITY, "no reachable authority");
}

static enum step st_pick(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	uint64_t now = r->up->ops->now_ms(r->up);
	struct vg_sockaddr cand[VG_MAX_NS * VG_MAX_NS_ADDRS];
	bool tried[VG_MAX_NS * VG_MAX_NS_ADDRS];
	struct vg_ns *owner[VG_MAX_NS * VG_MAX_NS_ADDRS];
	int idx[VG_MAX_NS * VG_MAX_NS_ADDRS];
	size_t n = 0;
	for (size_t i = 0; i < iq->n_ns; i++) {
		struct vg_ns *ns = &iq->ns[i];
		for (size_t j = 0; j < ns->n_addrs; j++) {
			/* Forwarders are the user's own choice (often a local daemon): only the
			 * family switches apply. Addresses named by zones get the full policy. */
			if (!family_ok(&r->opts.addr, &ns->addrs[j])) {
				iq->n_family++;
				continue;
			}
			if (!iq->forward && !vg_addr_allowed(&r->opts.addr, &ns->addrs[j])) {
				iq->n_policy++;
				continue;
			}
			cand[n] = ns->addrs[j];
			tried[n] = ns->tried[j];
			owner[n] = ns;
			idx[n] = (int)j;
			n++;
		}
	}
	iq->n_family = iq->n_family ? 1 : 0; /* only "any?" matters: no growth per pass */
	iq->n_policy = iq->n_policy ? 1 : 0;
	uint32_t rnd;
	r->up->ops->random(r->up, &rnd, sizeof(rnd));
	int k = vg_select_pick(r->sel, cand, n, tried, iq->forward ? NULL : iq->zone, now, rnd);
	if (k >= 0) {
		iq->server = cand[k];
		iq->server_ns = owner[k];
		iq->server_idx = idx[k];
		/* Tried from now on: an iq still listening on this server after an ICMP error
		 * must not pick it again meanwhile. */
		owner[k]->tried[idx[k]] = true;
		struct vg_srv_info *si = vg_select_get(r->sel, &cand[k]);
		iq->no_edns = si && si->no_edns_until > now;
		iq->edns_probe = false;
		iq->tcp = iq->req->tcp_only || iq->xc_tcp;
		iq->state = IQ_SEND;
		return STEP_NEXT;
	}
	/* Queries that reported an ICMP error still listen until their timeout: wait for them
	 * rather than give up on the zone (an off-path attacker can forge ICMP errors). */
	if (iq->waits) {
		iq->state = IQ_WAIT_REPLY;
		return STEP_WAIT;
	}
	/* No usable address: resolve a glueless NS name, if the limits allow. */
	if (!iq->forward && iq->depth < VG_MAX_SUB_DEPTH) {
		for (size_t i = 0; i < iq->n_ns; i++) {
			struct vg_ns *ns = &iq->ns[i];
			/* A name inside the zone itself cannot be resolved through this cut. */
			if (ns->resolved || vg_name_in_zone(ns->name, iq->zone))
				continue;
			if (iq->glueless >= r->opts.max_glueless_per_referral)
				return fail_limit(
				    iq, "glueless NS names over max-glueless-per-referral");
			return start_sub(iq, ns);
		}
	}
	/* Every address was tried once: go round again (the RTO backs off per timeout) until
	 * the servers are held down or the rounds are used up. */
	if (++iq->rounds < VG_MAX_ROUNDS && n > 0) {
		clear_tried(iq);
		k = vg_select_pick(r->sel, cand, n, (bool[VG_MAX_NS * VG_MAX_NS_ADDRS]){0},
				   iq->forward ? NULL : iq->zone, now, rnd);
		/* A held-down pick is a probe: one per request is enough to see the zone back. */
		if (k >= 0 && !vg_select_held(r->sel, &cand[k], now)) {
			iq->state = IQ_PICK;
			return STEP_NEXT;
		}
	}
	return fail_no_server(iq, n);
}

/* ---- IQ_SEND ---- */
static void choose_question(struct vg_iq *iq)
{
	int full = vg_name_labels(iq->sname);
	int zl = vg_name_labels(iq->zone);
	bool minimise = iq->qmin && !iq->forward && !iq->is_prime;
	if (minimise) {
		if (iq->qmin_labels < 0)
			iq->qmin_labels = zl;
		/* Skip labels whose existence the cache already proves (no delegation there). */
		while (iq->qmin_labels + 1 < full && iq->qmin_steps < VG_QMIN_MAX_STEPS) {
			const uint8_t *cand = vg_name_suffix(iq->sname, iq->qmin_labels + 1);
			if (!vg_store_name_exists(iq, cand))
				break;
			iq->qmin_labels++;
		}
		if (iq->qmin_labels + 1 >= full || iq->qmin_steps >= VG_QMIN_MAX_STEPS)
			minimise = false;
	}
	if (minimise) {
		const uint8_t *s = vg_name_suffix(iq->sname, iq->qmin_labels + 1);
		memcpy(iq->asked, s, (size_t)vg_name_len(s, VG_NAME_MAX));
		iq->asked_type =
		    VG_TYPE_A; /* RFC 9156 §2.1: A hides the real type and works widely */
	} else {
		memcpy(iq->asked, iq->sname, (size_t)vg_name_len(iq->sname, VG_NAME_MAX));
		iq->asked_type = iq->is_prime ? VG_TYPE_NS : iq->qtype;
	}
}

static bool asked_full(const struct vg_iq *iq)
{
	return iq->asked_type == iq->qtype && vg_name_eq(iq->asked, iq->sname);
}

/* Counts a local send error; logs one line per VG_LOCAL_ERR_LOG_MS per worker (a flood of
 * misses with no descriptors left must not become a flood of log lines). */
static void local_error(struct vg_resolver *r, const struct vg_sockaddr *server, int rc)
{
	uint64_t now = r->up->ops->now_ms(r->up);
	r->stats.upstream_local_errors++;
	if (r->local_err_log_at && now < r->local_err_log_at) {
		r->local_err_quiet++;
		return;
	}
	char a[64];
	vg_warn("resolver %d: cannot send to %s: %s (a local error, not held against the "
		"server; %llu more since the last such message)",
		r->worker_id, vg_sockaddr_str(server, a, sizeof(a)), vg_strerror(rc),
		(unsigned long long)r->local_err_quiet);
	r->local_err_quiet = 0;
	r->local_err_log_at = now + VG_LOCAL_ERR_LOG_MS;
}

static enum step st_send(struct vg_iq *iq)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	if (req->upstream_queries >= r->opts.max_upstream_queries)
		return fail_limit(iq, "upstream queries over max-upstream-queries");
	req->upstream_queries++;
	if (iq->xcheck)
		r->stats.xcheck_queries++;
	choose_question(iq);
	int rc = vg_outq_send(iq);
	if (rc == VG_ELIMIT) /* our own socket cap, not the server's fault: no timeout charged */
		return fail_limit(iq, "upstream sockets over max-upstream-sockets");
	if (rc < 0) {
		/* Our own trouble (no route, no source address, out of descriptors or buffers):
		 * nothing reached the server, so nothing is held against it. Try the next one. */
		local_error(r, &iq->server, rc);
		iq->st = VG_UP_ERROR;
		iq->state = IQ_REPLY;
		return STEP_NEXT;
	}
	iq->state = IQ_WAIT_REPLY;
	/* After the query, so that it has the budget first; the fetch leaves iq alone. */
	vg_validate_prefetch(iq);
	return STEP_WAIT;
}

/* ---- IQ_REPLY ---- */
static void mark_tried(struct vg_iq *iq)
{
	if (iq->server_ns && iq->server_idx >= 0 && iq->server_idx < VG_MAX_NS_ADDRS)
		iq->server_ns->tried[iq->server_idx] = true;
}

static enum step st_reply(struct vg_iq *iq)
{
	if (iq->st == VG_UP_CASE && !iq->tcp) {
		/* The reply failed the 0x20 check: the same server over TCP. */
		iq->tcp = true;
		iq->req->r->stats.tcp_fallbacks++;
		iq->state = IQ_SEND;
		return STEP_NEXT;
	}
	/* The server's RTT, timeouts and errors were recorded once per upstream query when it
	 * ended (on_outq_reply): several iqs may share it. */
	if (iq->st != VG_UP_REPLY) {
		mark_tried(iq);
		iq->n_silent++;
		iq->state = IQ_PICK;
		return STEP_NEXT;
	}
	/* TC first, from the header: a truncated message may end inside a record. */
	if (iq->reply_len >= 12 && (iq->reply[2] & 0x02) && !iq->tcp) {
		iq->tcp = true;
		iq->req->r->stats.tcp_fallbacks++;
		iq->state = IQ_SEND;
		return STEP_NEXT;
	}
	int rc = vg_msg_parse(&iq->req->arena, iq->reply, iq->reply_len, &iq->msg);
	if (rc == -ENOMEM)
		return fail(iq, VG_EDE_OTHER, "out of memory");
	if (rc < 0) {
		mark_tried(iq);
		iq->n_broken++;
		iq->state = IQ_PICK;
		return STEP_NEXT;
	}
	rc = vg_scrub(&iq->msg, iq->zone, iq->asked, iq->asked_type, iq->forward, &iq->verdict);
	if (rc < 0) {
		/* Over a per-reply limit: a broken server, like a malformed reply. */
		if (rc == VG_ELIMIT)
			iq->over_limit = iq->verdict.limit;
		mark_tried(iq);
		iq->n_broken++;
		iq->state = IQ_PICK;
		return STEP_NEXT;
	}
	/* Once, right after the scrubber: every later step works on these RRsets. */
	rc = vg_rrsets_group(&iq->req->arena, &iq->msg, iq->forward);
	if (rc < 0)
		return fail(iq, VG_EDE_OTHER, "out of memory");
	/* A cross-check only brings the reply back for comparison: nothing of it is stored. */
	if (iq->xcheck) {
		iq->state = IQ_DONE;
		return STEP_NEXT;
	}
	iq->state = IQ_VALIDATE;
	iq->reply_in_use = true;
	iq->second_seen = false;
	iq->nxr_checked = false;
	iq->insecure_ede = 0;
	/* injection-strict: an answer waits out the injection window before it is used */
	return vg_hijack_hold(iq, asked_full(iq)) ? STEP_WAIT : STEP_NEXT;
}

/* ---- IQ_VALIDATE ---- */
/* The DNSSEC validator (validate.c) and the hijack heuristics see the reply's RRsets before
 * anything is cached or answered; the store and the answer builder take each set's status from
 * here. Validation may wait for DS/DNSKEY sub-requests and then runs again. */
static enum step st_validate(struct vg_iq *iq)
{
	/* A forwarder's invented address for a name that does not exist is named for what it is
	 * first (nxdomain-rewrite, with its action); the validator then judges what is left, so
	 * under a signed zone the answer is still bogus (the forwarder gave no proof). */
	if (!iq->nxr_checked) {
		iq->nxr_checked = true;
		vg_nxr_reply(iq);
		if (iq->state != IQ_VALIDATE)
			return STEP_NEXT; /* a probe judged: IQ_DONE */
	}
	if (!vg_validate_reply(iq, asked_full(iq)))
		return STEP_WAIT;
	if (iq->second_seen) {
		/* A second, different answer came while the validator fetched keys: neither is
		 * used; the question goes to the same server over TCP (hijack.c). */
		iq->reply_in_use = iq->second_seen = false;
		iq->tcp = true;
		iq->req->r->stats.tcp_fallbacks++;
		iq->state = IQ_SEND;
		return STEP_NEXT;
	}
	if (iq->state != IQ_VALIDATE)
		return STEP_NEXT; /* bogus: IQ_FAIL */
	vg_hijack_spoof_mark(iq);
	vg_hijack_bailiwick(iq);
	vg_hijack_rebinding(iq);
	vg_hijack_pin(iq);
	if (iq->state != IQ_VALIDATE)
		return STEP_NEXT; /* NS or DS outside a pin: IQ_FAIL */
	iq->state = IQ_STORE;
	if (asked_full(iq) && vg_disagree_check(iq))
		return STEP_WAIT;
	return STEP_NEXT;
}

/* ---- IQ_STORE ---- */
static enum step st_store(struct vg_iq *iq)
{
	iq->reply_in_use = false;
	vg_store_reply(iq);
	iq->state = IQ_FOLLOW;
	return STEP_NEXT;
}

/* ---- IQ_FOLLOW ---- */
/* Appends the CNAMEs the scrubber synthesized from `dname` (the reply lacked them). */
static void add_synthesized(struct vg_iq *iq, const struct vg_rr *dname)
{
	struct vg_arena *a = &iq->req->arena;
	for (unsigned i = 0; i < iq->verdict.n_synth; i++) {
		const struct vg_synth *y = &iq->verdict.synth[i];
		if (y->dname != dname)
			continue;
		int on = vg_name_len(y->owner, VG_NAME_MAX),
		    tn = vg_name_len(y->target, VG_NAME_MAX);
		struct vg_rr *cn = vg_arena_zalloc(a, sizeof(*cn));
		if (!cn || on <= 0 || tn <= 0)
			return;
		cn->owner = vg_arena_memdup(a, y->owner, (size_t)on);
		cn->rdata = vg_arena_memdup(a, y->target, (size_t)tn);
		if (!cn->owner || !cn->rdata)
			return;
		cn->type = VG_TYPE_CNAME;
		cn->rclass = dname->rclass;
		cn->ttl = dname->ttl; /* RFC 6672 §3.1: the DNAME's TTL */
		cn->rdlen = (uint16_t)tn;
		cn->section = VG_SEC_ANSWER;
		/* Its own one-record set, as trustworthy as the DNAME it comes from. */
		cn->rrset = vg_rrset_single(a, cn, dname->rrset);
		if (!cn->rrset)
			return;
		vg_iq_ans_add(iq, cn);
	}
}

static void add_chain(struct vg_iq *iq, bool final)
{
	for (size_t i = 0; i < iq->msg.n_rr; i++) {
		const struct vg_rr *rr = &iq->msg.rr[i];
		if (rr->drop || rr->section != VG_SEC_ANSWER)
			continue;
		if (!final && rr->type != VG_TYPE_CNAME && rr->type != VG_TYPE_DNAME &&
		    !(rr->type == VG_TYPE_RRSIG && rr->rdlen >= 2 &&
		      (vg_get_u16(rr->rdata) == VG_TYPE_CNAME ||
		       vg_get_u16(rr->rdata) == VG_TYPE_DNAME)))
			continue;
		vg_iq_ans_add(iq, rr);
		if (rr->type == VG_TYPE_DNAME)
			add_synthesized(iq, rr);
	}
	if (iq->forward)
		iq->forwarded_data = true;
}

static enum step follow_referral(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	if (iq->qtype == VG_TYPE_DS && vg_name_eq(iq->verdict.cut, iq->sname)) {
		/* The parent referred us to the child for the child's DS: the DS is not
		 * there. The parent's server is lame for this question. */
		if (!iq->forward)
			vg_select_lame_set(r->sel, &iq->server, iq->zone,
					   r->up->ops->now_ms(r->up));
		mark_tried(iq);
		iq->n_lame++;
		iq->state = IQ_PICK;
		return STEP_NEXT;
	}
	if (++iq->referrals > r->opts.max_referral_depth)
		return fail_limit(iq, "referrals over max-referral-depth");
	struct vg_msg *m = &iq->msg;
	const uint8_t *cut = iq->verdict.cut;
	struct vg_ns *ns = vg_arena_zalloc(&iq->req->arena, VG_MAX_NS * sizeof(*ns));
	if (!ns)
		return fail(iq, VG_EDE_OTHER, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < m->n_rr && n < VG_MAX_NS; i++) {
		const struct vg_rr *rr = &m->rr[i];
		if (rr->drop || rr->section != VG_SEC_AUTHORITY || rr->type != VG_TYPE_NS)
			continue;
		uint32_t until = vg_wall32(r) + rr->ttl;
		if (until >= vg_wall32(r) && until < iq->cut_until)
			iq->cut_until = until; /* no longer than the zone that delegated it */
		struct vg_ns *e = &ns[n++];
		memcpy(e->name, rr->rdata, (size_t)vg_name_len(rr->rdata, VG_NAME_MAX));
		vg_name_lower(e->name);
		for (size_t j = 0; j < m->n_rr; j++) {
			const struct vg_rr *g = &m->rr[j];
			if (g->drop || g->section != VG_SEC_ADDITIONAL ||
			    e->n_addrs >= VG_MAX_NS_ADDRS || !vg_name_eq(g->owner, e->name))
				continue;
			if (vg_addr_from_rdata(g->type, g->rdata, g->rdlen, &e->addrs[e->n_addrs]))
				e->n_addrs++;
		}
		if (e->n_addrs == 0)
			vg_store_addrs(iq, e); /* maybe known from earlier resolutions */
	}
	memcpy(iq->zone, cut, (size_t)vg_name_len(cut, VG_NAME_MAX));
	vg_name_lower(iq->zone);
	iq->ns = ns;
	iq->n_ns = n;
	iq->glueless = 0;
	reset_outcomes(iq);
	iq->qmin_labels = -1;
	iq->qmin_steps = 0;
	iq->state = IQ_PICK;
	return STEP_NEXT;
}

static enum step st_follow(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	uint64_t now = r->up->ops->now_ms(r->up);
	struct vg_verdict *v = &iq->verdict;
	bool usable = v->kind == VG_REPLY_ANSWER || v->kind == VG_REPLY_CNAME ||
		      v->kind == VG_REPLY_NXDOMAIN || v->kind == VG_REPLY_NODATA ||
		      v->kind == VG_REPLY_REFERRAL;
	if (usable) {
		struct vg_srv_info *si = vg_select_get(r->sel, &iq->server);
		if (!iq->no_edns)
			si->edns_ok_until = now + VG_NO_EDNS_MS;
		else if (iq->edns_probe && si->edns_ok_until <= now)
			/* The plain query worked where EDNS got FORMERR, and EDNS has not worked
			 * lately: the server lacks it (RFC 6891 §7). Not forever: it may be
			 * upgraded, and EDNS keeps answers whole over UDP. */
			si->no_edns_until = now + VG_NO_EDNS_MS;
	}
	iq->edns_probe = false;
	switch (v->kind) {
	case VG_REPLY_FORMERR:
		if (!iq->no_edns) {
			/* Ask again without OPT, this time only: a FORMERR is easy to forge, so the
			 * server's state changes only when the plain query succeeds (above). */
			iq->no_edns = true;
			iq->edns_probe = true;
			iq->state = IQ_SEND;
			return STEP_NEXT;
		}
		/* fall through */
	case VG_REPLY_SERVFAIL:
		mark_tried(iq);
		iq->n_broken++;
		iq->state = IQ_PICK;
		return STEP_NEXT;
	case VG_REPLY_LAME:
		if (!iq->forward)
			vg_select_lame_set(r->sel, &iq->server, iq->zone, now);
		mark_tried(iq);
		iq->n_lame++;
		iq->state = IQ_PICK;
		return STEP_NEXT;
	case VG_REPLY_REFERRAL:
		return follow_referral(iq);
	default:
		break;
	}
	if (!asked_full(iq)) {
		/* A minimised query: the name exists (or not) but is not delegated here. */
		if (v->kind == VG_REPLY_NXDOMAIN)
			iq->qmin = false; /* RFC 9156 §2.3 relaxed: ask the full name instead */
		else
			iq->qmin_labels++;
		iq->qmin_steps++;
		clear_tried(iq);
		iq->state = IQ_PICK;
		return STEP_NEXT;
	}
	if (iq->is_prime && v->kind == VG_REPLY_ANSWER) {
		/* RFC 8109: the root's own NS set and addresses replace the hints. */
		struct vg_hint h[VG_MAX_HINTS];
		size_t n = 0;
		uint32_t ttl = 86400;
		for (size_t i = 0; i < iq->msg.n_rr && n < VG_MAX_HINTS; i++) {
			const struct vg_rr *g = &iq->msg.rr[i];
			/* The root NS set's own TTL bounds the priming too (RFC 8109 §4). */
			if (!g->drop && g->section == VG_SEC_ANSWER && g->type == VG_TYPE_NS &&
			    g->ttl < ttl)
				ttl = g->ttl;
			if (g->drop || g->section != VG_SEC_ADDITIONAL)
				continue;
			if (!vg_addr_from_rdata(g->type, g->rdata, g->rdlen, &h[n].addr))
				continue;
			memcpy(h[n].name, g->owner, (size_t)vg_name_len(g->owner, VG_NAME_MAX));
			vg_name_lower(h[n].name);
			if (g->ttl < ttl)
				ttl = g->ttl;
			n++;
		}
		if (n) {
			memcpy(r->hints, h, n * sizeof(h[0]));
			r->n_hints = n;
			r->primed_until = r->up->ops->wall_now(r->up) + (ttl ? ttl : 1);
			iq->primed = true;
			vg_info("resolver: root primed with %zu addresses for %u s", n, ttl);
		}
	}
	if (v->kind != VG_REPLY_CNAME && v->hops > 0) {
		/* Links followed inside this reply count like links followed across zones. */
		iq->cname_hops += v->hops;
		if (iq->cname_hops > r->opts.max_cname_chain)
			return fail_limit(iq, "CNAME chain longer than max-cname-chain");
	}
	switch (v->kind) {
	case VG_REPLY_ANSWER:
		add_chain(iq, true);
		iq->soa = NULL;
		vg_iq_proof_from_msg(iq, &iq->msg); /* a wildcard's, for DO clients */
		iq->rcode = VG_RCODE_NOERROR;
		iq->state = IQ_DONE;
		return STEP_NEXT;
	case VG_REPLY_NXDOMAIN:
	case VG_REPLY_NODATA:
		add_chain(iq, false);
		iq->rcode = v->kind == VG_REPLY_NXDOMAIN ? VG_RCODE_NXDOMAIN : VG_RCODE_NOERROR;
		iq->soa = v->soa;
		vg_iq_proof_from_msg(iq, &iq->msg);
		iq->state = IQ_DONE;
		return STEP_NEXT;
	case VG_REPLY_CNAME:
		add_chain(iq, false);
		if (v->loop)
			return fail(iq, VG_EDE_OTHER, "CNAME loop");
		return restart_at(iq, v->target, v->hops);
	default:
		return fail(iq, VG_EDE_OTHER, "unexpected reply");
	}
}

/* ---- IQ_WAIT_* : nothing to do until an event arrives ---- */
static enum step st_wait(struct vg_iq *iq)
{
	return STEP_WAIT;
}

static enum step st_end(struct vg_iq *iq)
{
	return STEP_END;
}

static enum step (*const handlers[IQ_N_STATES])(struct vg_iq *) = {
    [IQ_START] = st_start,   [IQ_FIND_CUT] = st_find_cut, [IQ_PICK] = st_pick,
    [IQ_WAIT_SUB] = st_wait, [IQ_SEND] = st_send,	  [IQ_WAIT_REPLY] = st_wait,
    [IQ_REPLY] = st_reply,   [IQ_HOLD] = st_wait,	  [IQ_VALIDATE] = st_validate,
    [IQ_STORE] = st_store,   [IQ_FOLLOW] = st_follow,	  [IQ_DONE] = st_end,
    [IQ_FAIL] = st_end,
};

void vg_iq_make_xcheck(struct vg_iq *iq, const uint8_t *zone, const struct vg_sockaddr *server,
		       bool tcp)
{
	iq->xcheck = true;
	iq->xc_tcp = tcp;
	iq->qmin = false; /* the question the first server was asked: the full one */
	cut_from_addrs(iq, zone, server, 1);
	reset_outcomes(iq);
	iq->cut_until = UINT32_MAX;
	iq->state = iq->ns ? IQ_PICK : IQ_FAIL;
}

void vg_iq_run(struct vg_iq *iq)
{
	if (iq->req->done)
		return;
	for (;;) {
		enum vg_iq_state before = iq->state;
		enum step s = handlers[iq->state](iq);
		if (vg_log_get_level() >= VG_LOG_DEBUG && iq->state != before) {
			char nb[VG_NAME_TEXT_MAX];
			vg_name_to_text(iq->sname, nb, sizeof(nb));
			vg_debug("iter %s/%u: %s -> %s", nb, iq->qtype, vg_iq_state_name(before),
				 vg_iq_state_name(iq->state));
		}
		if (s == STEP_WAIT)
			return;
		if (s == STEP_END)
			break;
	}
	vg_outq_leave(iq); /* a finished iq listens no more */
	if (iq->parent)
		vg_iq_sub_finished(iq);
	else
		vg_req_complete(iq->req);
}

void vg_iq_cancel(struct vg_iq *iq)
{
	vg_outq_leave(iq);
	vg_hijack_hold_cancel(iq);
}
