/* DNSSEC in the iterator (IQ_VALIDATE): the chain of trust from the closest trust anchor down to
 * the zone that answered, its DS and DNSKEY sets fetched with sub-requests, and the status of
 * each RRset of a reply from the validator core (dnssec.c, dnssec_denial.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/log.h>
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

static struct vg_zk *zk_result(struct vg_req *req, const uint8_t *name, uint8_t kind,
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

/* The validator's view of a grouped RRset (rdata pointers borrowed from the records). */
bool vg_val_view_of(struct vg_arena *a, const struct vg_rrset *rs, struct vg_rrset_view *out)
{
	struct vg_rdata_ref *rd = vg_arena_alloc(a, (rs->n_rrs + rs->n_sigs + 1u) * sizeof(*rd));
	if (!rd)
		return false;
	*out = (struct vg_rrset_view){.owner = rs->owner,
				      .type = rs->type,
				      .rclass = rs->rclass,
				      .ttl = rs->ttl,
				      .rd = rd,
				      .n_rd = rs->n_rrs,
				      .sig = rd + rs->n_rrs,
				      .n_sig = rs->n_sigs};
	for (uint16_t i = 0; i < rs->n_rrs; i++)
		rd[i] = (struct vg_rdata_ref){rs->rrs[i]->rdata, rs->rrs[i]->rdlen};
	for (uint8_t i = 0; i < rs->n_sigs; i++)
		rd[rs->n_rrs + i] = (struct vg_rdata_ref){rs->sigs[i]->rdata, rs->sigs[i]->rdlen};
	return true;
}

/* The set (owner, type) of a reply, NULL if absent. */
struct vg_rrset *vg_val_msg_set(struct vg_msg *m, const uint8_t *owner, uint16_t type,
				uint8_t section)
{
	for (size_t k = 0; k < m->n_rrsets; k++)
		if (m->rrsets[k].type == type && m->rrsets[k].section == section &&
		    vg_name_eq(m->rrsets[k].owner, owner))
			return &m->rrsets[k];
	return NULL;
}

/* ---- bogus answers remembered ---- */

#define VG_BOGUS_SLOTS 256
#define VG_BOGUS_TTL 60 /* seconds (docs/configuration.md "dnssec") */

struct vg_bogus {
	uint8_t name[VG_NAME_MAX]; /* lowercase; empty slot: until 0 */
	uint16_t qtype, ede;
	uint32_t until; /* wall clock */
	char why[64];
};

static struct vg_bogus *bogus_slot(struct vg_resolver *r, const uint8_t *name, uint16_t qtype)
{
	uint32_t h =
	    vg_name_hash(name, (size_t)vg_name_len(name, VG_NAME_MAX)) ^ qtype * 0x9e3779b1u;
	return &r->bogus[h % VG_BOGUS_SLOTS];
}

static void remember_bogus(struct vg_iq *iq, uint16_t ede, const char *why)
{
	struct vg_resolver *r = iq->req->r;
	struct vg_bogus *b = bogus_slot(r, iq->sname, iq->qtype);
	memcpy(b->name, iq->sname, (size_t)vg_name_len(iq->sname, VG_NAME_MAX));
	b->qtype = iq->qtype;
	b->ede = ede;
	b->until = vg_wall32(r) + VG_BOGUS_TTL;
	snprintf(b->why, sizeof(b->why), "%s", why ? why : "DNSSEC bogus");
}

bool vg_validate_remembered(struct vg_iq *iq, uint16_t *ede, const char **why)
{
	struct vg_resolver *r = iq->req->r;
	if (!r->bogus || iq->req->cd_bit)
		return false;
	struct vg_bogus *b = bogus_slot(r, iq->sname, iq->qtype);
	uint32_t now = vg_wall32(r);
	if (b->qtype != iq->qtype || !vg_name_eq(b->name, iq->sname) || b->until <= now ||
	    b->until - now > VG_BOGUS_TTL)
		return false;
	*ede = b->ede;
	*why = b->why;
	return true;
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
	zk_result(req, zone, ZK_KEYS, &res, keys);
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
	zk_result(req, name, ZK_DS, &out, &v);
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
		zk_result(req, z, ZK_DS, &res, &ds->set);
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

/* Keeps the NSEC/NSEC3 sets of iq's referral to `cut` (no DS in it) for the walk (ZK_NODS). */
static void keep_nods(struct vg_iq *iq, const uint8_t *cut)
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
				zk_result(req, next, ZK_DS, &res, &ds->set);
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
						zk_horizon(zk_result(req, next, ZK_DS, &res, &cv),
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

/* ---- judging a reply ---- */

/* True when an RRSIG of rs from `zone` was made for a wildcard expansion (RFC 4035 5.3.4): its
 * labels field is below the owner's labels (a literal "*" label not counted). *labels gets it. */
bool vg_val_expanded(const struct vg_rrset *rs, const uint8_t *zone, uint8_t *labels)
{
	int ol = vg_name_labels(rs->owner);
	if (rs->owner[0] == 1 && rs->owner[1] == '*')
		ol--;
	for (uint8_t i = 0; i < rs->n_sigs; i++) {
		const struct vg_rr *s = rs->sigs[i];
		if (s->rdlen < 19 || vg_name_len(s->rdata + 18, s->rdlen - 18) <= 0 ||
		    !vg_name_eq(s->rdata + 18, zone))
			continue;
		if (s->rdata[3] < ol) {
			*labels = s->rdata[3];
			return true;
		}
	}
	return false;
}

void vg_val_judge_fail(struct judge *j, const struct vg_dnssec_result *res)
{
	if (!j->failed)
		j->bad = *res;
	j->failed = true;
}

/* The verified NSEC/NSEC3 sets of the authority section into views (n returned). */
size_t vg_val_proof_views(struct vg_iq *iq, struct vg_rrset_view **out)
{
	struct vg_msg *m = &iq->msg;
	struct vg_rrset_view *v = vg_arena_alloc(&iq->req->arena, (m->n_rrsets + 1) * sizeof(*v));
	size_t n = 0;
	*out = v;
	for (size_t k = 0; v && k < m->n_rrsets; k++) {
		const struct vg_rrset *rs = &m->rrsets[k];
		if (rs->section == VG_SEC_AUTHORITY && rs->sec == VG_SEC_SECURE &&
		    (rs->type == VG_TYPE_NSEC || rs->type == VG_TYPE_NSEC3) &&
		    vg_val_view_of(&iq->req->arena, rs, &v[n]))
			n++;
	}
	return n;
}

/* Sets the status of every authority set of a type in `types` (NSEC, NSEC3, SOA) to sec. */
static void mark_proof(struct vg_iq *iq, uint8_t sec)
{
	for (size_t k = 0; k < iq->msg.n_rrsets; k++) {
		struct vg_rrset *rs = &iq->msg.rrsets[k];
		if (rs->section == VG_SEC_AUTHORITY &&
		    (rs->type == VG_TYPE_NSEC || rs->type == VG_TYPE_NSEC3 ||
		     rs->type == VG_TYPE_SOA))
			rs->sec = vg_sec_combine(rs->sec, sec);
	}
}

/* Notes on the request an insecure verdict of its answer that RFC 8914 gives a code (an
 * unsupported algorithm or digest, too many NSEC3 iterations), for the client's EDE. */
void vg_val_note_insecure(struct vg_iq *iq, uint16_t ede, const char *why)
{
	if (iq->parent ||
	    (ede != VG_EDE_UNSUPPORTED_DNSKEY_ALG && ede != VG_EDE_UNSUPPORTED_DS_DIGEST &&
	     ede != VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS))
		return;
	iq->req->insecure_ede = ede;
	iq->req->insecure_text = why;
	iq->insecure_ede = ede; /* stored with the reply's insecure sets (store.c) */
}

/* Applies a denial proof's result to the reply: secure keeps the proof sets secure, insecure
 * (opt-out, too many NSEC3 iterations) lowers them, anything else fails the reply. */
void vg_val_proof_outcome(struct vg_iq *iq, struct judge *j, const struct vg_dnssec_result *res)
{
	if (res->status == VG_DNSSEC_SECURE && !res->opt_out)
		return;
	if (res->status == VG_DNSSEC_INSECURE || res->status == VG_DNSSEC_SECURE) {
		mark_proof(iq, VG_SEC_INSECURE);
		vg_val_note_insecure(iq, res->ede, res->why);
		return;
	}
	vg_val_judge_fail(j, res);
}

/* Records what a reply to a DS question (or a referral) says about the DS at `child`. */
void vg_val_note_ds(struct vg_iq *iq, const uint8_t *zone, const uint8_t *child,
		    struct vg_rrset_view *proof, size_t n, uint8_t section)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	struct vg_rrset *ds = vg_val_msg_set(&iq->msg, child, VG_TYPE_DS, section);
	if (ds) {
		struct vg_rrset_view v;
		if (ds->sec == VG_SEC_SECURE && vg_val_view_of(&req->arena, ds, &v))
			vg_zk_set(req, child, ZK_DS, VG_SEC_SECURE, VG_EDE_NONE, "DS", &v);
		return;
	}
	struct vg_dnssec_result res = {0};
	vg_dnssec_prove_insecure_delegation(r->val, &req->dwork, zone, child, proof, n, &res);
	if (res.status == VG_DNSSEC_SECURE) {
		struct vg_zk *z = vg_zk_set(req, child, ZK_DS, VG_SEC_INSECURE, VG_EDE_NONE,
					    "insecure delegation", NULL);
		if (z)
			z->cut = true;
	} else if (res.status == VG_DNSSEC_INSECURE) {
		struct vg_zk *z =
		    vg_zk_set(req, child, ZK_DS, VG_SEC_INSECURE, res.ede, res.why, NULL);
		if (z)
			z->cut = true;
	} else if (section == VG_SEC_ANSWER) {
		/* A DS question: no delegation shown, so a name inside the zone, or bogus. */
		vg_dnssec_prove_nodata(r->val, &req->dwork, zone, child, VG_TYPE_DS, proof, n,
				       &res);
		if (res.status == VG_DNSSEC_SECURE)
			vg_zk_set(req, child, ZK_DS, VG_SEC_INSECURE, VG_EDE_NONE, "no DS", NULL);
		else
			zk_result(req, child, ZK_DS, &res, NULL);
	}
}

/* The DNAME of reply m that synthesizes the unsigned CNAME set cn (RFC 6672 5.3.3: the CNAME
 * a server adds below a DNAME carries no RRSIG; it is as good as the DNAME when its target is
 * the DNAME's substitution of its owner), or NULL. */
const struct vg_rrset *vg_val_dname_synth(const struct vg_msg *m, const struct vg_rrset *cn)
{
	if (cn->type != VG_TYPE_CNAME || cn->section != VG_SEC_ANSWER || cn->n_sigs ||
	    cn->n_rrs != 1)
		return NULL;
	int ol = vg_name_len(cn->owner, VG_NAME_MAX);
	for (size_t k = 0; ol > 0 && k < m->n_rrsets; k++) {
		const struct vg_rrset *d = &m->rrsets[k];
		if (d->type != VG_TYPE_DNAME || d->section != VG_SEC_ANSWER || d->n_rrs != 1 ||
		    !vg_name_in_zone(cn->owner, d->owner) || vg_name_eq(cn->owner, d->owner))
			continue;
		int dl = vg_name_len(d->owner, VG_NAME_MAX);
		int tl = vg_name_len(d->rrs[0]->rdata, d->rrs[0]->rdlen);
		uint8_t want[VG_NAME_MAX + VG_NAME_MAX];
		if (dl <= 0 || tl <= 0 || ol - dl + tl > VG_NAME_MAX)
			continue;
		memcpy(want, cn->owner, (size_t)(ol - dl));
		memcpy(want + ol - dl, d->rrs[0]->rdata, (size_t)tl);
		if (vg_name_len(cn->rrs[0]->rdata, cn->rrs[0]->rdlen) > 0 &&
		    vg_name_eq(want, cn->rrs[0]->rdata))
			return d;
	}
	return NULL;
}

/* Verifies every set of iq's reply with the keys of `zk` (secure) and checks the denial and
 * wildcard proofs a final reply needs. */
static void judge_secure(struct vg_iq *iq, const struct vg_zk *zk, bool final, struct judge *j)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	struct vg_msg *m = &iq->msg;
	const struct vg_verdict *v = &iq->verdict;
	bool referral = v->kind == VG_REPLY_REFERRAL;
	struct vg_rrset *wild = NULL;
	uint8_t wild_labels = 0;
	for (size_t k = 0; k < m->n_rrsets; k++) {
		struct vg_rrset *rs = &m->rrsets[k];
		/* Glue and the parent side of a delegation are not signed (RFC 4035 2.2). */
		if (rs->section == VG_SEC_ADDITIONAL ||
		    (rs->type == VG_TYPE_NS && rs->section == VG_SEC_AUTHORITY &&
		     !vg_name_eq(rs->owner, zk->name)))
			continue;
		if (vg_val_dname_synth(m, rs))
			continue; /* judged with its DNAME, below */
		struct vg_rrset_view view;
		struct vg_dnssec_result res = {0};
		if (!vg_val_view_of(&req->arena, rs, &view)) {
			res = (struct vg_dnssec_result){VG_DNSSEC_INDETERMINATE, VG_EDE_OTHER, 0,
							"out of memory", false};
			vg_val_judge_fail(j, &res);
			return;
		}
		vg_dnssec_verify_rrset(r->val, &req->dwork, &view, &zk->set, &res);
		rs->sec = (uint8_t)res.status;
		if (res.status != VG_DNSSEC_SECURE) {
			vg_val_judge_fail(j, &res);
			continue;
		}
		if (rs->section == VG_SEC_ANSWER && !wild &&
		    vg_val_expanded(rs, zk->name, &wild_labels))
			wild = rs;
	}
	for (size_t k = 0; k < m->n_rrsets; k++) {
		struct vg_rrset *rs = &m->rrsets[k];
		const struct vg_rrset *d = vg_val_dname_synth(m, rs);
		if (d)
			rs->sec = d->sec;
	}
	if (j->failed)
		return;
	struct vg_rrset_view *proof;
	size_t n = vg_val_proof_views(iq, &proof);
	struct vg_dnssec_result res = {0};
	if (referral) {
		vg_val_note_ds(iq, zk->name, v->cut, proof, n, VG_SEC_AUTHORITY);
		return;
	}
	if (!final)
		return;
	if (wild) {
		vg_dnssec_prove_wildcard(r->val, &req->dwork, zk->name, wild->owner, wild_labels,
					 proof, n, &res);
		if (res.status == VG_DNSSEC_INSECURE ||
		    (res.status == VG_DNSSEC_SECURE && res.opt_out)) {
			wild->sec = VG_SEC_INSECURE; /* an opt-out span proves no absence: no AD */
			vg_val_note_insecure(iq, res.ede, res.why);
		} else if (res.status != VG_DNSSEC_SECURE)
			vg_val_judge_fail(j, &res);
	}
	if (v->kind == VG_REPLY_NXDOMAIN) {
		vg_dnssec_prove_nxdomain(r->val, &req->dwork, zk->name, v->target, proof, n, &res);
		vg_val_proof_outcome(iq, j, &res);
	} else if (v->kind == VG_REPLY_NODATA) {
		if (iq->qtype == VG_TYPE_DS && vg_name_eq(v->target, iq->sname)) {
			vg_val_note_ds(iq, zk->name, iq->sname, proof, n, VG_SEC_ANSWER);
			const struct vg_zk *d = vg_zk_find(req, iq->sname, ZK_DS);
			if (d && d->sec != VG_SEC_INSECURE) {
				struct vg_dnssec_result b = {(enum vg_dnssec_status)d->sec, d->ede,
							     0, d->why, false};
				vg_val_proof_outcome(iq, j, &b);
			}
			return;
		}
		vg_dnssec_prove_nodata(r->val, &req->dwork, zk->name, v->target, iq->qtype, proof,
				       n, &res);
		vg_val_proof_outcome(iq, j, &res);
	} else if (iq->qtype == VG_TYPE_DS && v->kind == VG_REPLY_ANSWER) {
		vg_val_note_ds(iq, zk->name, iq->sname, proof, n, VG_SEC_ANSWER);
	}
}

/* One suspicious-answer event for a reply found bogus: the zone, the EDE, and the reason text as
 * the one record (docs/suspicious-log.md, reason `bogus`). */
static void report_bogus(struct vg_iq *iq, const uint8_t *zone, uint16_t ede, const char *why)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	if (!r->suspect || !r->suspect->emit)
		return;
	const char *rec[1] = {why ? why : "bogus"};
	struct vg_suspect_event ev = {
	    .reason = VG_SUSPECT_BOGUS,
	    .action = req->cd_bit ? VG_SUSPECT_LOGGED : VG_SUSPECT_BLOCKED,
	    .qname = req->qname,
	    .qtype = req->qtype,
	    .client = req->waiters && req->waiters->has_client ? &req->waiters->client : NULL,
	    .server = &iq->server,
	    .tcp = iq->tcp,
	    .records = rec,
	    .n_records = 1,
	    .served = req->cd_bit ? "the data unchecked (CD=1)" : "SERVFAIL with the EDE",
	    .reply = iq->reply,
	    .reply_len = iq->reply_len,
	    .ede = ede,
	    .zone = zone,
	};
	r->suspect->emit(r->suspect->ctx, &ev);
}

bool vg_validate_reply(struct vg_iq *iq, bool full)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	struct vg_msg *m = &iq->msg;
	if (iq->cache_check) {
		/* A chain fetch for a cached set ended: look the set up again (IQ_START). */
		iq->cache_check = false;
		vg_val_ans_cut(iq, iq->check_first);
		iq->state = IQ_START;
		return true;
	}
	for (size_t k = 0; k < m->n_rrsets; k++)
		m->rrsets[k].sec = VG_SEC_INDETERMINATE;
	/* Not validated: validation off, priming, and the address lookups of NS names (glue is
	 * never served as validated). CD=1 is validated too, so that what it caches has its true
	 * status, but bogus data then goes to the client unchecked. */
	if (!r->anchors || iq->is_prime || (iq->parent && !vg_val_is_fetch(iq)))
		return true;
	if (iq->forward)
		return vg_val_forwarded(iq, full);
	const struct vg_verdict *v = &iq->verdict;
	bool referral = v->kind == VG_REPLY_REFERRAL;
	bool final = full && (v->kind == VG_REPLY_ANSWER || v->kind == VG_REPLY_CNAME ||
			      v->kind == VG_REPLY_NXDOMAIN || v->kind == VG_REPLY_NODATA);
	if (!referral && !final)
		return true;
	const struct vg_zk *zk = NULL;
	if (vg_val_chain_for(iq, iq->zone, final, &zk) == CHAIN_WAIT)
		return false;
	if (!zk) {
		/* A referral whose zone's keys are not known yet: its DS set is kept for the walk,
		 * which checks it once they are (saving a DS query). */
		struct vg_rrset *ds = vg_val_msg_set(m, v->cut, VG_TYPE_DS, VG_SEC_AUTHORITY);
		struct vg_rrset_view view;
		if (referral && !ds && !vg_zk_find(req, v->cut, ZK_DS))
			keep_nods(iq, v->cut);
		if (referral && ds && !vg_zk_find(req, v->cut, ZK_DS) &&
		    vg_val_view_of(&req->arena, ds, &view)) {
			struct vg_zk *z = vg_zk_set(req, v->cut, ZK_DS, VG_SEC_INDETERMINATE,
						    VG_EDE_NONE, "DS unchecked", &view);
			if (z) {
				z->unchecked = true;
				z->from =
				    vg_arena_memdup(&req->arena, iq->zone,
						    (size_t)vg_name_len(iq->zone, VG_NAME_MAX));
			}
		}
		return true;
	}
	struct judge j = {0};
	if (zk->sec == VG_SEC_SECURE) {
		judge_secure(iq, zk, final, &j);
	} else {
		for (size_t k = 0; k < m->n_rrsets; k++)
			if (m->rrsets[k].section != VG_SEC_ADDITIONAL)
				m->rrsets[k].sec = zk->sec;
		if (final && zk->sec == VG_SEC_INSECURE)
			vg_val_note_insecure(iq, zk->ede, zk->why);
		/* Bogus, or a link that hit a validation limit (indeterminate with an EDE). */
		if (zk->sec == VG_SEC_BOGUS ||
		    (zk->sec == VG_SEC_INDETERMINATE && zk->ede != VG_EDE_NONE)) {
			struct vg_dnssec_result b = {(enum vg_dnssec_status)zk->sec, zk->ede, 0,
						     zk->why, false};
			vg_val_judge_fail(&j, &b);
		}
	}
	if (!j.failed)
		return true;
	if (!final)
		return true; /* a referral's own sets: the answer below it is judged on its own */
	vg_val_judged_bogus(iq, zk->name, &j);
	return true;
}

/* A final reply found bogus (or over a validation limit): counted, remembered, reported, and
 * failed with its EDE unless the client set CD=1. */
void vg_val_judged_bogus(struct vg_iq *iq, const uint8_t *zone, const struct judge *jb)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	struct judge j = *jb;
	r->stats.dnssec_bogus++;
	uint16_t ede = j.bad.ede != VG_EDE_NONE ? j.bad.ede : VG_EDE_DNSSEC_BOGUS;
	if (!iq->parent)
		remember_bogus(iq, ede, j.bad.why);
	if (!iq->parent)
		report_bogus(iq, zone, ede, j.bad.why);
	if (req->cd_bit)
		return; /* RFC 4035 3.2.2: the client checks; the store keeps no bogus set */
	char nb[VG_NAME_TEXT_MAX];
	vg_name_to_text(iq->sname, nb, sizeof(nb));
	vg_info("dnssec: %s/%u %s: %s%s", nb, iq->qtype, vg_dnssec_status_name(j.bad.status),
		j.bad.why ? j.bad.why : "", req->cd_bit ? " (CD=1: answered unchecked)" : "");
	iq->ede = ede;
	iq->ede_text = j.bad.why;
	iq->state = IQ_FAIL;
}

int vg_validate_init(struct vg_resolver *r)
{
	const struct vg_dnssec_opts *o = &r->opts.dnssec;
	if (!o->enabled)
		return 0;
	struct vg_dnssec_limits lim;
	vg_dnssec_limits_default(&lim);
	lim.nsec3_max_iterations = (uint16_t)(o->nsec3_max_iterations > VG_DNSSEC_NSEC3_ITER_MAX
						  ? VG_DNSSEC_NSEC3_ITER_MAX
						  : o->nsec3_max_iterations);
	char err[256];
	int rc = vg_anchors_new(&r->anchors);
	if (rc == 0)
		rc = vg_anchors_from_opts(r->anchors, o, err, sizeof(err));
	if (rc == VG_ECONFIG)
		vg_err("resolver: trust anchors: %s", err);
	if (rc == 0)
		rc = vg_validator_new(&lim, &r->val);
	if (rc == 0 && !(r->bogus = calloc(VG_BOGUS_SLOTS, sizeof(*r->bogus))))
		rc = -ENOMEM;
	if (rc == 0 && !(r->fwd_cuts = calloc(VG_FWD_CUT_SLOTS, sizeof(*r->fwd_cuts))))
		rc = -ENOMEM;
	if (rc == 0) {
		/* Its own key, drawn from the request table's (random per resolver). */
		uint64_t k[2] = {r->hash_key[0] ^ 0x6b657974616221ull, r->hash_key[1]};
		if (!(r->keytab = vg_keytab_new(k)))
			rc = -ENOMEM;
	}
	if (rc < 0)
		vg_validate_free(r);
	return rc;
}

void vg_validate_free(struct vg_resolver *r)
{
	vg_validator_free(r->val);
	vg_anchors_free(r->anchors);
	free(r->bogus);
	r->bogus = NULL;
	free(r->fwd_cuts);
	r->fwd_cuts = NULL;
	vg_keytab_free(r->keytab);
	r->keytab = NULL;
	r->val = NULL;
	r->anchors = NULL;
}
