/* Data the walk stored unchecked, validated on its way out to a client (vg_validate_cached;
 * the chain of trust from validate_chain.c). */
#include <stdint.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "anchor.h"
#include "iter.h"
#include "validate_impl.h"

/* ---- cached data checked on its way out ----
 * The walk stores without validating what only the walk needs: the addresses of NS names,
 * the root's NS set from priming, a referral's sets. When a client later asks for such a name,
 * the set is validated then (as a minimal validating resolver would, with no query for the
 * walk itself): with the RRSIGs stored beside it and the chain of trust from the request or
 * the cache (fetched when missing, the same DS/DNSKEY fetches as for a reply); a negative entry
 * with the SOA and NSEC/NSEC3 proof stored with it. What cannot be validated that way (bogus,
 * unsigned in a signed zone, a wildcard expansion without its proof) counts as a miss: the
 * question is asked and its reply validated, and that validated set replaces the unchecked
 * one (cache/writer.c). */

bool vg_validate_unchecked(const struct vg_iq *iq, const struct vg_rrset *rs)
{
	const struct vg_req *req = iq->req;
	if (!rs || rs->sec != VG_SEC_INDETERMINATE || !(rs->rank & VG_RANK_ITERATED) ||
	    !req->r->anchors || req->cd_bit || iq->parent)
		return false;
	const struct vg_anchor_point *ap = vg_anchors_lookup(req->r->anchors, rs->owner);
	return ap && !ap->nta;
}

/* The zone whose keys sign the cached set rs: the signer of an RRSIG at or above its owner
 * (above it for a DS, which the parent signs), else the closest cached zone cut. */
static bool cached_zone(struct vg_iq *iq, const struct vg_rrset *rs, uint8_t *zone)
{
	const uint8_t *owner = rs->owner;
	if (rs->type == VG_TYPE_DS) {
		if (!owner[0])
			return false;
		owner += owner[0] + 1;
	}
	for (uint8_t i = 0; i < rs->n_sigs; i++) {
		const struct vg_rr *s = rs->sigs[i];
		int nl = s->rdlen > 18 ? vg_name_len(s->rdata + 18, s->rdlen - 18u) : -1;
		if (nl > 0 && vg_name_in_zone(owner, s->rdata + 18)) {
			memcpy(zone, s->rdata + 18, (size_t)nl);
			vg_name_lower(zone);
			return true;
		}
	}
	return vg_store_cut_name(iq, owner, zone);
}

/* Cuts iq's answer back to its first `first` records and drops a negative answer's SOA. */
void vg_val_ans_cut(struct vg_iq *iq, size_t first)
{
	size_t n = iq->n_ans < first ? iq->n_ans : first;
	vg_iq_ans_clear(iq);
	for (size_t i = 0; i < n; i++)
		vg_iq_ans_add(iq, iq->ans[i]);
	iq->soa = NULL;
	iq->n_proof = 0;
}

/* A cached set's TTL (and its records') no longer than `ttl`. */
static void cap_ttl(struct vg_rrset *rs, struct vg_rrset_view *v, uint32_t ttl)
{
	if (ttl >= rs->ttl)
		return;
	rs->ttl = v->ttl = ttl;
	for (uint16_t i = 0; i < rs->n_rrs; i++)
		if (rs->rrs[i]->ttl > ttl)
			rs->rrs[i]->ttl = ttl;
	for (uint8_t i = 0; i < rs->n_sigs; i++)
		if (rs->sigs[i]->ttl > ttl)
			rs->sigs[i]->ttl = ttl;
}

/* The view of (owner, type) among v[0..*n), added when absent with room for `cap` records and
 * `cap` RRSIGs; NULL without memory. */
static struct vg_rrset_view *neg_set(struct vg_arena *a, struct vg_rrset_view *v, size_t *n,
				     const uint8_t *owner, uint16_t type, size_t cap)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].type == type && vg_name_eq(v[i].owner, owner))
			return &v[i];
	struct vg_rdata_ref *rd = vg_arena_alloc(a, 2 * (cap + 1) * sizeof(*rd));
	if (!rd)
		return NULL;
	v[*n] = (struct vg_rrset_view){.owner = owner,
				       .type = type,
				       .rclass = VG_CLASS_IN,
				       .ttl = UINT32_MAX,
				       .rd = rd,
				       .sig = rd + cap + 1};
	return &v[(*n)++];
}

static void neg_add(struct vg_rrset_view *v, const struct vg_rr *rr, bool sig)
{
	struct vg_rdata_ref *to = (struct vg_rdata_ref *)(sig ? v->sig : v->rd);
	to[sig ? v->n_sig++ : v->n_rd++] = (struct vg_rdata_ref){rr->rdata, rr->rdlen};
	if (rr->ttl < v->ttl)
		v->ttl = rr->ttl;
}

/* A cached negative entry for (iq->sname, type) judged with the keys of its zone zk: the SOA
 * and the NSEC/NSEC3 sets of its proof (iq->proof, RRSIGs included, as stored for DO clients)
 * verified, then the denial proved. VG_SEC_SECURE, VG_SEC_INSECURE (opt-out, too many NSEC3
 * iterations) or VG_SEC_BOGUS. */
static uint8_t neg_verdict(struct vg_iq *iq, const struct vg_zk *zk, uint16_t type, bool nx)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	size_t np = iq->n_proof, n = 0;
	struct vg_rrset_view *v = vg_arena_alloc(&req->arena, (np + 2) * sizeof(*v));
	if (!v || !iq->soa)
		return VG_SEC_BOGUS;
	/* v[0]: the SOA; then one view per NSEC/NSEC3 set. */
	struct vg_rrset_view *soa =
	    neg_set(&req->arena, v, &n, iq->soa->owner, VG_TYPE_SOA, np + 1);
	if (!soa)
		return VG_SEC_BOGUS;
	neg_add(soa, iq->soa, false);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < np; i++) {
			const struct vg_rr *rr = iq->proof[i];
			bool sig = rr->type == VG_TYPE_RRSIG;
			uint16_t t = sig ? (rr->rdlen >= 2 ? vg_get_u16(rr->rdata) : 0) : rr->type;
			if (sig != (pass == 1) ||
			    (t != VG_TYPE_NSEC && t != VG_TYPE_NSEC3 && (!sig || t != VG_TYPE_SOA)))
				continue;
			struct vg_rrset_view *set = neg_set(&req->arena, v, &n, rr->owner, t, np);
			if (!set)
				return VG_SEC_BOGUS;
			neg_add(set, rr, sig);
		}
	}
	struct vg_dnssec_result res = {0};
	for (size_t i = 0; i < n; i++) {
		if (!v[i].n_rd)
			return VG_SEC_BOGUS; /* RRSIGs without their set */
		vg_dnssec_verify_rrset(r->val, &req->dwork, &v[i], &zk->set, &res);
		if (res.status != VG_DNSSEC_SECURE)
			return VG_SEC_BOGUS;
	}
	if (nx)
		vg_dnssec_prove_nxdomain(r->val, &req->dwork, zk->name, iq->sname, v + 1, n - 1,
					 &res);
	else
		vg_dnssec_prove_nodata(r->val, &req->dwork, zk->name, iq->sname, type, v + 1, n - 1,
				       &res);
	if (res.status == VG_DNSSEC_SECURE && !res.opt_out)
		return VG_SEC_SECURE;
	if (res.status == VG_DNSSEC_SECURE || res.status == VG_DNSSEC_INSECURE) {
		vg_val_note_insecure(iq, res.ede, res.why);
		return VG_SEC_INSECURE;
	}
	return VG_SEC_BOGUS;
}

enum vg_cached vg_validate_cached(struct vg_iq *iq, size_t first, int kind, uint16_t type)
{
	struct vg_req *req = iq->req;
	struct vg_rrset *rs = NULL;
	if (kind == VG_CACHE_POSITIVE && first < iq->n_ans)
		rs = iq->ans[first]->rrset;
	else if (kind != VG_CACHE_POSITIVE && iq->soa)
		rs = iq->soa->rrset;
	if (!vg_validate_unchecked(iq, rs))
		return VG_CACHED_OK;
	uint8_t zone[VG_NAME_MAX], labels;
	struct vg_rrset_view view;
	bool neg = kind != VG_CACHE_POSITIVE;
	int zl = vg_name_len(rs->owner, VG_NAME_MAX);
	/* A DNSKEY question's own keys are the walk's business (vg_val_chain_for reads them from
	 * the reply): asked again, like a wildcard expansion whose proof the cache does not hold
	 * with it. A negative entry is judged in the zone of its SOA. */
	if (iq->qtype == VG_TYPE_DNSKEY || rs->type == VG_TYPE_DNSKEY || zl <= 0)
		goto miss;
	if (neg) {
		if (!vg_name_in_zone(iq->sname, rs->owner))
			goto miss;
		memcpy(zone, rs->owner, (size_t)zl);
		vg_name_lower(zone);
	} else if (!cached_zone(iq, rs, zone) || vg_val_expanded(rs, zone, &labels) ||
		   !vg_val_view_of(&req->arena, rs, &view)) {
		goto miss;
	}
	/* Set before the walk: a fetch that ends at once resumes the iq from within it. */
	iq->cache_check = true;
	iq->check_first = first;
	const struct vg_zk *zk = NULL;
	if (vg_val_chain_for(iq, zone, !req->cache_only, &zk) == CHAIN_WAIT)
		return VG_CACHED_WAIT;
	iq->cache_check = false;
	if (!zk)
		goto miss;
	if (neg) {
		/* Judged each time it is used (the proof is not stored back); the answer cache
		 * keeps the answer built from it. */
		uint8_t sec = zk->sec == VG_SEC_SECURE
				  ? neg_verdict(iq, zk, type, kind == VG_CACHE_NXDOMAIN)
				  : zk->sec;
		if (sec == VG_SEC_INSECURE && zk->sec == VG_SEC_INSECURE)
			vg_val_note_insecure(iq, zk->ede, zk->why);
		if (sec != VG_SEC_SECURE && sec != VG_SEC_INSECURE)
			goto miss;
		rs->sec = sec;
		return VG_CACHED_OK;
	}
	if (zk->sec == VG_SEC_SECURE) {
		struct vg_dnssec_result res = {0};
		vg_dnssec_verify_rrset(req->r->val, &req->dwork, &view, &zk->set, &res);
		if (res.status != VG_DNSSEC_SECURE)
			goto miss; /* forged or broken: the authorities are asked, and judged */
		rs->sec = VG_SEC_SECURE;
		cap_ttl(rs, &view, res.ttl);
	} else if (zk->sec == VG_SEC_INSECURE) {
		rs->sec = VG_SEC_INSECURE;
		vg_val_note_insecure(iq, zk->ede, zk->why);
		rs->ede = zk->ede == VG_EDE_UNSUPPORTED_DNSKEY_ALG ||
				  zk->ede == VG_EDE_UNSUPPORTED_DS_DIGEST ||
				  zk->ede == VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS
			      ? zk->ede
			      : 0;
	} else {
		goto miss;
	}
	int rc = vg_store_view_put(iq, &view, rs->rank, rs->sec, rs->ede, rs->suspect != 0);
	if (rc < 0)
		vg_debug("dnssec: validated cached set not stored back: %s", vg_strerror(rc));
	return VG_CACHED_OK;
miss:
	vg_val_ans_cut(iq, first);
	return VG_CACHED_MISS;
}
