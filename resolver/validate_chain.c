/* The chain of trust for the validator (validate.c): what a request learned of each zone of the
 * chain (DS and DNSKEY links), the key table that keeps what the cache proved for later requests,
 * the DS and DNSKEY fetches (sub-requests, and DNSKEY fetches started ahead of the walk), and the
 * walk from the closest trust anchor down to a zone's keys (vg_val_chain_for). */
#include <errno.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "anchor.h"
#include "iter.h"
#include "keytab.h"
#include "validate_impl.h"

struct vg_zk *vg_zk_find(struct vg_req *req, const uint8_t *name, uint8_t kind)
{
	for (struct vg_zk *z = req->zk; z; z = z->next)
		if (z->kind == kind && vg_name_eq(z->name, name))
			return z;
	return NULL;
}

/* Records (or replaces) what is known of `name`; NULL without memory. */
struct vg_zk *vg_zk_set(struct vg_req *req, const uint8_t *name, uint8_t kind, uint8_t sec,
			uint16_t ede, const char *why, const struct vg_rrset_view *set)
{
	struct vg_zk *z = vg_zk_find(req, name, kind);
	if (!z) {
		z = vg_arena_zalloc(&req->arena, sizeof(*z));
		if (!z)
			return NULL;
		memcpy(z->name, name, (size_t)vg_name_len(name, VG_NAME_MAX));
		vg_name_lower(z->name);
		z->kind = kind;
		z->next = req->zk;
		req->zk = z;
	}
	z->sec = sec;
	z->ede = ede;
	z->why = why;
	z->cut = false;
	z->unchecked = false;
	z->until = 0;
	z->gen = 0;
	if (set)
		z->set = *set;
	return z;
}

struct vg_zk *vg_zk_result(struct vg_req *req, const uint8_t *name, uint8_t kind,
			   const struct vg_dnssec_result *res, const struct vg_rrset_view *set)
{
	return vg_zk_set(req, name, kind, (uint8_t)res->status, res->ede, res->why, set);
}

/* ---- the key table (keytab.h): what the walk proved from the cache, for later requests ---- */

/* Sets how long z's outcome holds: `until` and the snapshot generation `gen`, no longer than
 * the link `above` it rests on (NULL: none, or already counted in until). */
static void zk_horizon(struct vg_zk *z, uint32_t until, uint64_t gen, const struct vg_zk *above)
{
	if (!z)
		return;
	if (above && above->until < until)
		until = above->until;
	if (above && above->gen < gen)
		gen = above->gen;
	z->until = until;
	z->gen = gen;
}

static uint64_t flush_gen(const struct vg_resolver *r)
{
	return r->cache ? vg_cache_flush_gen(r->cache) : 0;
}

/* The flush generation of the snapshot the last cache lookup read. */
static uint64_t snap_gen(const struct vg_resolver *r)
{
	return r->rd ? vg_cache_read_gen(r->rd) : 0;
}

/* Keeps the keys of z (ZK_KEYS) in the table when they rest on cached records only. */
static void zk_keep(struct vg_req *req, const struct vg_zk *z)
{
	struct vg_resolver *r = req->r;
	if (!z || !r->keytab || !z->until || z->gen != flush_gen(r))
		return;
	vg_keytab_put(r->keytab, z->name, z->sec, z->ede, z->why,
		      z->sec == VG_SEC_SECURE ? &z->set : NULL, vg_wall32(r), z->until, z->gen);
}

/* The keys of `name` from the table into the request (ZK_KEYS), NULL when it holds none. */
static struct vg_zk *zk_from_table(struct vg_req *req, const uint8_t *name)
{
	struct vg_resolver *r = req->r;
	if (!r->keytab)
		return NULL;
	const struct vg_keytab_entry *e =
	    vg_keytab_get(r->keytab, name, vg_wall32(r), flush_gen(r));
	if (!e)
		return NULL;
	struct vg_zk *z = vg_zk_set(req, name, ZK_KEYS, e->sec, e->ede, e->why, NULL);
	if (!z)
		return NULL;
	if (e->sec == VG_SEC_SECURE && !vg_keytab_copy_keys(e, &req->arena, &z->set)) {
		z->sec = VG_SEC_INDETERMINATE; /* as vg_zk_set would leave it without memory */
		z->why = "out of memory";
		return z;
	}
	zk_horizon(z, e->until, e->gen, NULL);
	r->stats.keytab_hits++;
	return z;
}

/* ---- fetching DS and DNSKEY sets ---- */

static void fetched(struct vg_iq *p, const struct vg_sub_result *res, void *ctx);

/* The deepest zone with known keys strictly above `name` (NULL: none). */
static struct vg_zk *keys_above(struct vg_req *req, const uint8_t *name)
{
	for (int l = vg_name_labels(name) - 1; l >= 0; l--) {
		struct vg_zk *z = vg_zk_find(req, vg_name_suffix(name, l), ZK_KEYS);
		if (z)
			return z;
	}
	return NULL;
}

/* The trusted DS or DNSKEY view that vouches for the DNSKEY set of `zone`: a trust anchor at
 * zone, or the validated DS from the parent. NULL: none known. */
static const struct vg_rrset_view *trusted_for(struct vg_req *req, const uint8_t *zone,
					       bool *is_anchor_key)
{
	const struct vg_anchor_point *ap = vg_anchors_lookup(req->r->anchors, zone);
	*is_anchor_key = false;
	if (ap && !ap->nta && vg_name_eq(ap->zone, zone)) {
		if (ap->ds.n_rd)
			return &ap->ds;
		*is_anchor_key = true;
		return &ap->dnskey;
	}
	struct vg_zk *ds = vg_zk_find(req, zone, ZK_DS);
	return ds && ds->sec == VG_SEC_SECURE ? &ds->set : NULL;
}

/* Validates the DNSKEY set `keys` (n_rd may be 0: missing) of `zone` and records the outcome. */
static void learn_keys(struct vg_req *req, const uint8_t *zone, const struct vg_rrset_view *keys)
{
	struct vg_resolver *r = req->r;
	bool anchor_key;
	const struct vg_rrset_view *t = trusted_for(req, zone, &anchor_key);
	struct vg_dnssec_result res = {0};
	if (!t) {
		vg_zk_set(req, zone, ZK_KEYS, VG_SEC_INDETERMINATE, VG_EDE_NONE,
			  "no trusted DS for the DNSKEY set", NULL);
		return;
	}
	if (anchor_key)
		vg_dnssec_verify_dnskey_anchor(r->val, &req->dwork, keys, t, &res);
	else
		vg_dnssec_verify_dnskey_ds(r->val, &req->dwork, keys, t, &res);
	vg_zk_result(req, zone, ZK_KEYS, &res, keys);
}

/* A DS sub-request's result when its own validation left nothing (an answer from the cache). */
static void learn_ds_result(struct vg_req *req, const uint8_t *name,
			    const struct vg_sub_result *res)
{
	if (!res->answered) {
		vg_zk_set(req, name, ZK_DS, VG_SEC_BOGUS,
			  res->ede != VG_EDE_NONE ? res->ede : VG_EDE_DNSSEC_BOGUS,
			  res->ede_text ? res->ede_text : "DS lookup failed", NULL);
		return;
	}
	const struct vg_rrset *ds = NULL;
	for (size_t i = 0; i < res->n_sets; i++)
		if (res->sets[i]->type == VG_TYPE_DS && vg_name_eq(res->sets[i]->owner, name))
			ds = res->sets[i];
	if (!ds) {
		/* No DS, as sure as the negative answer's SOA is. Without its proof at hand (a
		 * cached answer) a name inside the zone cannot be told from an unsigned
		 * delegation: taken as a delegation, which costs AD below it, never an answer. */
		uint8_t sec =
		    res->soa && res->soa->rrset ? res->soa->rrset->sec : VG_SEC_INDETERMINATE;
		struct vg_zk *z =
		    vg_zk_set(req, name, ZK_DS, sec == VG_SEC_SECURE ? VG_SEC_INSECURE : sec,
			      VG_EDE_NONE, "no DS", NULL);
		if (z)
			z->cut = true;
		return;
	}
	struct vg_rrset_view v;
	if (!vg_val_view_of(&req->arena, ds, &v)) {
		vg_zk_set(req, name, ZK_DS, VG_SEC_INDETERMINATE, VG_EDE_OTHER, "out of memory",
			  NULL);
		return;
	}
	if (ds->sec != VG_SEC_INDETERMINATE) {
		struct vg_zk *z =
		    vg_zk_set(req, name, ZK_DS, ds->sec, VG_EDE_NONE, "cached DS", &v);
		if (z && ds->sec == VG_SEC_INSECURE)
			z->cut = true;
		return;
	}
	/* Unchecked (a referral's DS from the cache): check it with the parent's keys. */
	struct vg_zk *k = keys_above(req, name);
	struct vg_dnssec_result out = {0};
	if (!k || k->sec != VG_SEC_SECURE) {
		vg_zk_set(req, name, ZK_DS, VG_SEC_INDETERMINATE, VG_EDE_NONE, "DS unchecked",
			  NULL);
		return;
	}
	vg_dnssec_verify_rrset(req->r->val, &req->dwork, &v, &k->set, &out);
	vg_zk_result(req, name, ZK_DS, &out, &v);
}

/* A DS or DNSKEY sub-request ended. Its own validation usually recorded the outcome (it ran
 * with the chain this request built so far); a cached answer did not run it, so it is judged
 * here. Then the parent validates its reply again, one link further. */
static void record_fetch(struct vg_req *req, const uint8_t *name, const struct vg_sub_result *res)
{
	if (res->qtype == VG_TYPE_DNSKEY && !vg_zk_find(req, name, ZK_KEYS)) {
		const struct vg_rrset *ks = NULL;
		for (size_t i = 0; res->answered && i < res->n_sets; i++)
			if (res->sets[i]->type == VG_TYPE_DNSKEY &&
			    vg_name_eq(res->sets[i]->owner, name))
				ks = res->sets[i];
		struct vg_rrset_view v = {.owner = name, .type = VG_TYPE_DNSKEY, .rclass = 1};
		if (ks && !vg_val_view_of(&req->arena, ks, &v))
			vg_zk_set(req, name, ZK_KEYS, VG_SEC_INDETERMINATE, VG_EDE_OTHER,
				  "out of memory", NULL);
		else if (!res->answered && res->ede != VG_EDE_NONE)
			vg_zk_set(req, name, ZK_KEYS, VG_SEC_BOGUS, res->ede,
				  res->ede_text ? res->ede_text : "DNSKEY lookup failed", NULL);
		else if (ks && ks->sec == VG_SEC_SECURE)
			vg_zk_set(req, name, ZK_KEYS, VG_SEC_SECURE, VG_EDE_NONE, "cached DNSKEY",
				  &v);
		else
			learn_keys(req, name, &v);
	} else if (res->qtype == VG_TYPE_DS && !vg_zk_find(req, name, ZK_DS)) {
		learn_ds_result(req, name, res);
	}
}

static void fetched(struct vg_iq *p, const struct vg_sub_result *res, void *ctx)
{
	record_fetch(p->req, ctx, res);
	if (p->state == IQ_WAIT_SUB)
		p->state = IQ_VALIDATE;
}

static void prefetched(struct vg_iq *p, const struct vg_sub_result *res, void *ctx);

/* True when iq is a DS or DNSKEY fetch of the chain (its reply is validated too). */
bool vg_val_is_fetch(const struct vg_iq *iq)
{
	return iq->parent && (iq->sub_cb == fetched || iq->sub_cb == prefetched);
}

/* ---- DNSKEY fetches ahead of the walk ----
 * The walk (vg_val_chain_for) needs the DNSKEY set of every signed zone between the trust anchor
 * and the zone that answers, and used to fetch them one after another once the answer was in: a
 * round trip per zone after the iteration's own. Each of these sets is asked of the zone's own
 * servers, which the iteration asks anyway on its way down: so the fetch starts beside the
 * iteration's first query to the zone, once the zone's DS is checked (or it is the anchor's),
 * and the walk later waits for it instead of starting it. The gate keeps the set of queries:
 * only a zone the walk will reach (the closest anchor of the name asked is at or above it, the
 * DS held is checked and secure, the keys above it are secure) gets its fetch. */

/* Starts the fetch of f (ZK_FETCH) as a detached sub-request of `by`; false when it cannot be
 * (the walk then fetches it itself, as before). */
static bool fetch_start(struct vg_req *req, struct vg_zk *f, struct vg_iq *by)
{
	if (f->started || req->done || !by || by->state == IQ_DONE || by->state == IQ_FAIL)
		return false;
	f->started = true;
	int rc =
	    vg_iq_sub_spawn(by, f->name, VG_TYPE_DNSKEY, prefetched, f, f->name, f->ns, f->n_ns);
	if (rc == 0)
		return true;
	f->ended = true; /* nothing runs: the walk fetches the set itself */
	return false;
}

/* Whether the DS that vouches for zone `z` is known good, checking a referral's DS set with the
 * keys of the zone that sent it once those are known. */
static bool ds_ready(struct vg_req *req, const uint8_t *z)
{
	struct vg_zk *ds = vg_zk_find(req, z, ZK_DS);
	if (!ds || !ds->set.n_rd)
		return false;
	if (ds->unchecked) {
		const struct vg_zk *k = ds->from ? vg_zk_find(req, ds->from, ZK_KEYS) : NULL;
		if (!k || k->sec != VG_SEC_SECURE)
			return false;
		struct vg_dnssec_result res = {0};
		vg_dnssec_verify_rrset(req->r->val, &req->dwork, &ds->set, &k->set, &res);
		vg_zk_result(req, z, ZK_DS, &res, &ds->set);
	}
	return ds->sec == VG_SEC_SECURE;
}

/* Starts every planned fetch whose DS has become checkable (new keys are known). */
static void fetch_kick(struct vg_req *req)
{
	for (struct vg_zk *f = req->zk; f && !req->done; f = f->next)
		if (f->kind == ZK_FETCH && !f->started && !vg_zk_find(req, f->name, ZK_KEYS) &&
		    ds_ready(req, f->name))
			fetch_start(req, f, f->starter);
}

void vg_validate_prefetch(struct vg_iq *iq)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	if (!r->anchors || iq->forward || iq->is_prime || (iq->parent && !vg_val_is_fetch(iq)))
		return;
	const uint8_t *z = iq->zone;
	if (iq->qtype == VG_TYPE_DNSKEY && vg_name_eq(iq->sname, z))
		return; /* it asks for them itself */
	if (vg_zk_find(req, z, ZK_KEYS) || vg_zk_find(req, z, ZK_FETCH) || zk_from_table(req, z))
		return;
	/* The walk for a reply from z starts at z's closest anchor; an anchor closer to the name
	 * (an island, a negative anchor) means z's keys are never asked for. */
	const struct vg_anchor_point *ap = vg_anchors_lookup(r->anchors, iq->sname);
	if (!ap || ap->nta || vg_name_labels(ap->zone) > vg_name_labels(z))
		return;
	bool anchor = vg_name_eq(ap->zone, z);
	if (!anchor) {
		/* Only a zone whose referral carried a DS set, and whose parent is not known to
		 * be broken (the walk stops there). */
		const struct vg_zk *ds = vg_zk_find(req, z, ZK_DS);
		if (!ds || !ds->set.n_rd || (!ds->unchecked && ds->sec != VG_SEC_SECURE))
			return;
		const struct vg_zk *k = keys_above(req, z);
		if (k && k->sec != VG_SEC_SECURE)
			return;
	}
	struct vg_zk *f =
	    vg_zk_set(req, z, ZK_FETCH, VG_SEC_INDETERMINATE, VG_EDE_NONE, NULL, NULL);
	if (!f)
		return;
	f->ns = iq->ns;
	f->n_ns = iq->n_ns;
	f->starter = iq;
	if (anchor || ds_ready(req, z))
		fetch_start(req, f, iq);
}

/* The end of a fetch started ahead: its outcome is recorded as the walk's own fetch would, the
 * fetches that waited for these keys start, and the iqs that wait for it validate again. */
static void prefetched(struct vg_iq *p, const struct vg_sub_result *res, void *ctx)
{
	struct vg_zk *f = ctx;
	struct vg_req *req = p->req;
	f->ended = true;
	record_fetch(req, f->name, res); /* p does not wait for it */
	fetch_kick(req);
	struct vg_zk_waiter *waiters = f->waiters;
	f->waiters = NULL;
	for (struct vg_zk_waiter *w = waiters; w && !req->done; w = w->next) {
		struct vg_iq *q = w->iq;
		if (q->state != IQ_WAIT_SUB || q->await != f)
			continue;
		q->await = NULL;
		q->state = IQ_VALIDATE;
		vg_iq_run(q);
	}
}

/* True when iq is the fetch f runs or one of its sub-requests (it must not wait for f). */
static bool inside_fetch(const struct vg_iq *iq, const struct vg_zk *f)
{
	for (const struct vg_iq *a = iq; a; a = a->parent)
		if (a->detached && a->sub_ctx == f)
			return true;
	return false;
}

void vg_val_keep_nods(struct vg_iq *iq, const uint8_t *cut)
{
	struct vg_req *req = iq->req;
	struct vg_msg *m = &iq->msg;
	if (vg_zk_find(req, cut, ZK_NODS))
		return;
	struct vg_rrset_view *v = vg_arena_alloc(&req->arena, (m->n_rrsets + 1) * sizeof(*v));
	size_t n = 0;
	uint8_t rank = 0;
	for (size_t k = 0; v && k < m->n_rrsets; k++) {
		const struct vg_rrset *rs = &m->rrsets[k];
		if (rs->section == VG_SEC_AUTHORITY &&
		    (rs->type == VG_TYPE_NSEC || rs->type == VG_TYPE_NSEC3) &&
		    vg_val_view_of(&req->arena, rs, &v[n])) {
			n++;
			rank = rs->rank;
		}
	}
	if (!n)
		return;
	struct vg_zk *z =
	    vg_zk_set(req, cut, ZK_NODS, VG_SEC_INDETERMINATE, VG_EDE_NONE, NULL, NULL);
	if (!z)
		return;
	z->proof = v;
	z->n_proof = n;
	z->proof_rank = rank;
	z->from =
	    vg_arena_memdup(&req->arena, iq->zone, (size_t)vg_name_len(iq->zone, VG_NAME_MAX));
}

/* Records that `next` is an unsigned delegation (a proof's result: secure, or insecure with
 * the EDE of too many NSEC3 iterations). */
static struct vg_zk *insecure_cut(struct vg_req *req, const uint8_t *next,
				  const struct vg_dnssec_result *res)
{
	struct vg_zk *z =
	    vg_zk_set(req, next, ZK_DS, VG_SEC_INSECURE,
		      res->status == VG_DNSSEC_SECURE ? VG_EDE_NONE : res->ede,
		      res->status == VG_DNSSEC_SECURE ? "insecure delegation" : res->why, NULL);
	if (z)
		z->cut = true;
	return z;
}

/* The walk reached `next` below `top` (secure keys) without its DS: proves from a kept referral's
 * NSEC/NSEC3 (ZK_NODS) that the delegation is unsigned, recording it, and stores those sets
 * back as validated: in the cache's NSEC index they prove it again to a later request whose cut
 * comes from the cache (vg_aggressive_insecure_delegation), which then asks for no DS either.
 * False when there is no such proof or it does not hold: the DS is then asked for, as before. */
static bool nods_proved(struct vg_iq *iq, const struct vg_zk *top, const uint8_t *next)
{
	struct vg_req *req = iq->req;
	struct vg_zk *nd = vg_zk_find(req, next, ZK_NODS);
	if (!nd || nd->tried || !nd->from || !vg_name_eq(nd->from, top->name))
		return false;
	nd->tried = true;
	struct vg_dnssec_result res = {0};
	for (size_t i = 0; i < nd->n_proof; i++) {
		vg_dnssec_verify_rrset(req->r->val, &req->dwork, &nd->proof[i], &top->set, &res);
		if (res.status != VG_DNSSEC_SECURE)
			return false;
	}
	vg_dnssec_prove_insecure_delegation(req->r->val, &req->dwork, top->name, next, nd->proof,
					    nd->n_proof, &res);
	if (res.status != VG_DNSSEC_SECURE && res.status != VG_DNSSEC_INSECURE)
		return false;
	insecure_cut(req, next, &res);
	for (size_t i = 0; i < nd->n_proof; i++)
		vg_store_view_put(iq, &nd->proof[i], nd->proof_rank, VG_SEC_SECURE, VG_EDE_NONE,
				  false);
	return true;
}

/* Starts a sub-request for (name, type); CHAIN_WAIT, or CHAIN_DONE with *out when it could not
 * be started (the zone stays indeterminate: no AD, no SERVFAIL). */
static enum chain fetch(struct vg_iq *iq, const uint8_t *name, uint16_t type, const uint8_t *z,
			const struct vg_zk **out)
{
	struct vg_req *req = iq->req;
	uint8_t *ctx = vg_arena_memdup(&req->arena, name, (size_t)vg_name_len(name, VG_NAME_MAX));
	int rc = ctx ? vg_iq_sub_start(iq, ctx, type, fetched, ctx) : -ENOMEM;
	if (rc == 0)
		return CHAIN_WAIT;
	*out = vg_zk_set(req, z, ZK_KEYS, VG_SEC_INDETERMINATE, VG_EDE_NONE,
			 rc == VG_ELIMIT ? "chain of trust: sub-request limit" : "out of memory",
			 NULL);
	return CHAIN_DONE;
}

/* The keys of zone `z` for iq's reply: CHAIN_DONE with *out (secure with keys, or insecure,
 * bogus, indeterminate), or CHAIN_WAIT after starting a sub-request. `may_fetch` false: only
 * what the request knows (referrals). Each pass adds a link; bounded by z's labels. */
enum chain vg_val_chain_for(struct vg_iq *iq, const uint8_t *z, bool may_fetch,
			    const struct vg_zk **out)
{
	struct vg_req *req = iq->req;
	for (int guard = 0; guard < 2 * VG_NAME_MAX; guard++) {
		const struct vg_zk *k = vg_zk_find(req, z, ZK_KEYS);
		if (!k && guard == 0 && may_fetch)
			k = zk_from_table(req, z);
		if (k) {
			*out = k;
			return CHAIN_DONE;
		}
		const struct vg_anchor_point *ap = vg_anchors_lookup(req->r->anchors, z);
		if (!ap || ap->nta) {
			*out = vg_zk_set(req, z, ZK_KEYS, VG_SEC_INSECURE, VG_EDE_NONE,
					 ap ? "negative trust anchor" : "no trust anchor", NULL);
			return CHAIN_DONE;
		}
		int al = vg_name_labels(ap->zone);
		struct vg_zk *top = NULL;
		for (int l = vg_name_labels(z) - 1; l >= al && !top; l--) {
			top = vg_zk_find(req, vg_name_suffix(z, l), ZK_KEYS);
			if (!top && guard == 0 && may_fetch)
				top = zk_from_table(req, vg_name_suffix(z, l));
		}
		/* The next zone to learn the keys of: the anchor's, or one label below top. */
		const uint8_t *next = ap->zone;
		if (top) {
			if (top->sec != VG_SEC_SECURE) {
				struct vg_zk *bz =
				    vg_zk_set(req, z, ZK_KEYS, top->sec, top->ede, top->why, NULL);
				zk_horizon(bz, top->until, top->gen, NULL);
				zk_keep(req, bz);
				*out = bz;
				return CHAIN_DONE;
			}
			next = vg_name_suffix(z, vg_name_labels(top->name) + 1);
			struct vg_zk *ds = vg_zk_find(req, next, ZK_DS);
			if (ds && ds->unchecked) {
				/* The referral's DS, now that the parent's keys are known. */
				struct vg_dnssec_result res = {0};
				vg_dnssec_verify_rrset(req->r->val, &req->dwork, &ds->set,
						       &top->set, &res);
				vg_zk_result(req, next, ZK_DS, &res, &ds->set);
				continue;
			}
			if (!ds) {
				if (!may_fetch)
					goto unknown;
				if (nods_proved(iq, top, next))
					continue;
				/* What a DS sub-request would find in the cache, read directly (a
				 * sub-request per link and per request cost about as much as the
				 * rest of a miss): a validated DS set or a negative answer is taken
				 * as the sub-request's result would be (learn_ds_result). */
				const struct vg_rrset *cds = NULL;
				uint8_t neg = VG_SEC_INDETERMINATE;
				uint32_t left = 0, now = vg_wall32(req->r);
				int got =
				    vg_store_chain_lookup(iq, next, VG_TYPE_DS, &cds, &neg, &left);
				if (got == 2) {
					struct vg_zk *nz =
					    vg_zk_set(req, next, ZK_DS,
						      neg == VG_SEC_SECURE ? VG_SEC_INSECURE : neg,
						      VG_EDE_NONE, "no DS", NULL);
					if (nz)
						nz->cut = true;
					zk_horizon(nz, now + left, snap_gen(req->r), top);
					continue;
				}
				struct vg_rrset_view cv;
				if (got == 1 && cds->sec != VG_SEC_INDETERMINATE &&
				    vg_val_view_of(&req->arena, cds, &cv)) {
					struct vg_zk *dz = vg_zk_set(req, next, ZK_DS, cds->sec,
								     VG_EDE_NONE, "cached DS", &cv);
					if (dz && cds->sec == VG_SEC_INSECURE)
						dz->cut = true;
					zk_horizon(dz, vg_keytab_sig_until(&cv, now, now + left),
						   snap_gen(req->r), top);
					continue;
				}
				/* A signed delegation's DS came with its referral, which the cache
				 * keeps (below an answer's rank): checked with top's keys, it saves
				 * a DS query the parent would answer the same. */
				if (got == 1 && cds->n_sigs &&
				    vg_val_view_of(&req->arena, cds, &cv)) {
					struct vg_dnssec_result res = {0};
					vg_dnssec_verify_rrset(req->r->val, &req->dwork, &cv,
							       &top->set, &res);
					if (res.status == VG_DNSSEC_SECURE) {
						/* res.ttl: no longer than the set or its RRSIGs */
						zk_horizon(
						    vg_zk_result(req, next, ZK_DS, &res, &cv),
						    now + res.ttl, snap_gen(req->r), top);
						continue;
					}
				}
				/* An unsigned delegation an earlier referral proved (its NSEC/NSEC3
				 * validated in the cache's NSEC index): no DS query either. */
				struct vg_dnssec_result nres = {0};
				if (got == 0 &&
				    vg_aggressive_insecure_delegation(iq, top->name, next, &nres)) {
					/* proved from cached sets only: the key table may keep it
					 */
					zk_horizon(insecure_cut(req, next, &nres), now + nres.ttl,
						   snap_gen(req->r), top);
					continue;
				}
				return fetch(iq, next, VG_TYPE_DS, z, out);
			}
			if (ds->sec == VG_SEC_INSECURE && !ds->cut && !vg_name_eq(next, z)) {
				/* No DS and no delegation shown: `next` is inside top's zone. */
				struct vg_zk *in = vg_zk_set(req, next, ZK_KEYS, VG_SEC_SECURE,
							     VG_EDE_NONE, top->why, &top->set);
				zk_horizon(in, ds->until, ds->gen, top);
				zk_keep(req, in);
				continue;
			}
			if (ds->sec != VG_SEC_SECURE) {
				/* An unsigned delegation (insecure), or a DS that failed. */
				struct vg_zk *un =
				    vg_zk_set(req, next, ZK_KEYS, ds->sec, ds->ede, ds->why, NULL);
				zk_horizon(un, ds->until, ds->gen, NULL); /* ds's counts top */
				zk_keep(req, un);
				continue;
			}
		}
		/* `next` has a trusted DS (or anchor): its DNSKEY set, from this reply when it is
		 * the answer to iq's own DNSKEY question. */
		if (iq->qtype == VG_TYPE_DNSKEY && vg_name_eq(iq->sname, next) &&
		    (iq->verdict.kind == VG_REPLY_ANSWER || iq->verdict.kind == VG_REPLY_NODATA)) {
			struct vg_rrset *ks =
			    vg_val_msg_set(&iq->msg, next, VG_TYPE_DNSKEY, VG_SEC_ANSWER);
			struct vg_rrset_view v = {
			    .owner = next, .type = VG_TYPE_DNSKEY, .rclass = 1};
			if (ks && !vg_val_view_of(&req->arena, ks, &v))
				goto unknown;
			learn_keys(req, next, &v);
			continue;
		}
		if (!may_fetch)
			goto unknown;
		/* A DNSKEY set the cache holds as validated: what a DNSKEY sub-request answered
		 * from the cache would bring (record_fetch), without the request. */
		const struct vg_rrset *cks = NULL;
		uint8_t kneg;
		uint32_t kleft = 0;
		struct vg_rrset_view kv = {.owner = next, .type = VG_TYPE_DNSKEY, .rclass = 1};
		if (vg_store_chain_lookup(iq, next, VG_TYPE_DNSKEY, &cks, &kneg, &kleft) == 1 &&
		    cks->sec == VG_SEC_SECURE && vg_val_view_of(&req->arena, cks, &kv)) {
			struct vg_zk *kz = vg_zk_set(req, next, ZK_KEYS, VG_SEC_SECURE, VG_EDE_NONE,
						     "cached DNSKEY", &kv);
			/* Vouched for by the anchor (no end) or by next's DS (its horizon). */
			uint32_t now = vg_wall32(req->r);
			const struct vg_zk *ds =
			    vg_name_eq(ap->zone, next) ? NULL : vg_zk_find(req, next, ZK_DS);
			uint32_t until = vg_keytab_sig_until(&kv, now, now + kleft);
			if (!vg_name_eq(ap->zone, next) && !ds)
				until = 0;
			zk_horizon(kz, until, snap_gen(req->r), ds);
			zk_keep(req, kz);
			continue;
		}
		struct vg_zk *f = vg_zk_find(req, next, ZK_FETCH);
		if (f && !f->ended && !inside_fetch(iq, f) &&
		    (f->started || fetch_start(req, f, iq))) {
			/* Started ahead (or just now, with the servers its referral named). */
			if (!f->ended) {
				struct vg_zk_waiter *w = vg_arena_alloc(&req->arena, sizeof(*w));
				if (!w)
					goto unknown;
				*w = (struct vg_zk_waiter){f->waiters, iq};
				f->waiters = w;
				iq->await = f;
				iq->state = IQ_WAIT_SUB;
				return CHAIN_WAIT;
			}
			continue; /* it ended at once (cached): its outcome is recorded */
		}
		return fetch(iq, next, VG_TYPE_DNSKEY, z, out);
	}
unknown:
	*out = NULL;
	return CHAIN_DONE;
}
