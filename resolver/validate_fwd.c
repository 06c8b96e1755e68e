/* The forwarded-answer side of DNSSEC in the iterator (IQ_VALIDATE, validate.c): a forwarder's
 * final reply judged with the chain of trust built through the forwarder. */
#include <stdint.h>
#include <string.h>
#include <vigil/name.h>
#include "anchor.h"
#include "iter.h"
#include "validate_impl.h"

/* ---- forwarded replies ----
 * A forwarder hands over whole answers, never referrals, so the zone cuts the walk needs come
 * from the reply itself: the signer name of each RRset's RRSIGs. An unsigned RRset is placed at
 * its own name (a DS at its parent's): the walk from the anchor down to it asks the forwarder
 * for the DS of each label until it meets an unsigned delegation (insecure) or reaches the
 * name inside a signed zone, whose keys then find the RRSIGs missing (bogus, EDE 10). The DS
 * and DNSKEY fetches are the same sub-requests as in iteration and go to the same forwarder. */

/* The name whose keys judge set rs of a forwarded reply (see above). A signer that is not the
 * owner or one of its ancestors cannot have signed it: the set counts as unsigned. */
static const uint8_t *fwd_zone_of(const struct vg_rrset *rs)
{
	for (uint8_t i = 0; i < rs->n_sigs; i++) {
		const struct vg_rr *s = rs->sigs[i];
		if (s->rdlen >= 19 && vg_name_len(s->rdata + 18, s->rdlen - 18) > 0 &&
		    vg_name_in_zone(rs->owner, s->rdata + 18))
			return s->rdata + 18;
	}
	if ((rs->type == VG_TYPE_DS || rs->type == VG_TYPE_NSEC3) && rs->owner[0])
		return rs->owner + rs->owner[0] + 1;
	return rs->owner;
}

/* Where the keys for name z of iq's forwarded reply are looked for: z itself, except that a
 * reply to a DS question is judged by a zone strictly above the DS (RFC 4035 3.1.4.1): a denial
 * placed at or below it (a child-side SOA) would need this very DS to be checked. */
static const uint8_t *fwd_place(const struct vg_iq *iq, const uint8_t *z)
{
	if (iq->qtype == VG_TYPE_DS && iq->sname[0] && vg_name_in_zone(z, iq->sname))
		return iq->sname + iq->sname[0] + 1;
	return z;
}

static struct vg_fwd_cut *fwd_cut_slot(struct vg_resolver *r, const uint8_t *name)
{
	uint32_t h = vg_name_hash(name, (size_t)vg_name_len(name, VG_NAME_MAX));
	return &r->fwd_cuts[h % VG_FWD_CUT_SLOTS];
}

/* Remembers that the delegation to `name` was just proved unsigned by a DS denial whose
 * records live `ttl` seconds. */
static void fwd_cut_remember(struct vg_resolver *r, const uint8_t *name, uint32_t ttl)
{
	if (!r->fwd_cuts)
		return;
	struct vg_fwd_cut *c = fwd_cut_slot(r, name);
	memcpy(c->name, name, (size_t)vg_name_len(name, VG_NAME_MAX));
	vg_name_lower(c->name);
	c->until = vg_wall32(r) + (ttl < VG_FWD_CUT_TTL ? ttl : VG_FWD_CUT_TTL);
}

/* Puts the remembered unsigned delegations at z and above into the request's chain, where it
 * knows nothing of their DS yet (the walk then stops there without asking). */
static void fwd_cuts_apply(struct vg_iq *iq, const uint8_t *z)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	uint32_t now = vg_wall32(r);
	for (int l = 1; r->fwd_cuts && l <= vg_name_labels(z); l++) {
		const uint8_t *n = vg_name_suffix(z, l);
		const struct vg_fwd_cut *c = fwd_cut_slot(r, n);
		if (c->until <= now || c->until - now > VG_FWD_CUT_TTL || !vg_name_eq(c->name, n) ||
		    vg_zk_find(req, n, ZK_DS))
			continue;
		struct vg_zk *d = vg_zk_set(req, n, ZK_DS, VG_SEC_INSECURE, VG_EDE_NONE,
					    "insecure delegation (proved lately)", NULL);
		if (d)
			d->cut = true;
	}
}

/* vg_val_chain_for for name z of a forwarded reply. vg_val_chain_for takes its z for a zone cut,
 * which z (an unsigned set's owner) need not be: when the walk found no DS and no delegation at z,
 * z is inside the zone above and gets that zone's keys. */
static enum chain fwd_keys(struct vg_iq *iq, const uint8_t *z, const struct vg_zk **out)
{
	fwd_cuts_apply(iq, z);
	enum chain c = vg_val_chain_for(iq, z, true, out);
	const struct vg_zk *ds = c == CHAIN_DONE && z[0] ? vg_zk_find(iq->req, z, ZK_DS) : NULL;
	if (!ds || ds->sec != VG_SEC_INSECURE || ds->cut)
		return c;
	const struct vg_zk *up = NULL;
	c = vg_val_chain_for(iq, z + z[0] + 1, true, &up);
	if (c == CHAIN_DONE && up)
		*out = vg_zk_set(iq->req, z, ZK_KEYS, up->sec, up->ede, up->why,
				 up->set.n_rd ? &up->set : NULL);
	return c;
}

/* The zone a failed set judged with keys zk is reported under (suspicious log): the signed zone
 * whose keys found it bogus, or else the highest link of the chain that failed (".", when a
 * forwarder strips every RRSIG). */
static const uint8_t *fwd_culprit(struct vg_req *req, const struct vg_zk *zk)
{
	if (zk->sec == VG_SEC_SECURE)
		return zk->set.n_rd ? zk->set.owner : zk->name;
	for (int l = 0; l <= vg_name_labels(zk->name); l++) {
		const struct vg_zk *k = vg_zk_find(req, vg_name_suffix(zk->name, l), ZK_KEYS);
		if (k && k->sec == zk->sec)
			return k->name;
	}
	return zk->name;
}

/* Sets a forwarded reply's verdict does not rest on: additional data, an authority NS set (a
 * forwarder may add the parent side's, unsigned; forwarded NS is never stored), and the CNAME
 * synthesized from a DNAME (judged with it). */
static bool fwd_skipped(const struct vg_msg *m, const struct vg_rrset *rs)
{
	return rs->section == VG_SEC_ADDITIONAL ||
	       (rs->type == VG_TYPE_NS && rs->section == VG_SEC_AUTHORITY) ||
	       vg_val_dname_synth(m, rs);
}

/* The set of a forwarded negative reply that names the zone of its denial: the SOA, else an
 * NSEC/NSEC3 set; NULL when the reply has neither. */
static const struct vg_rrset *fwd_denial_set(const struct vg_msg *m)
{
	const struct vg_rrset *d = NULL;
	for (size_t k = 0; k < m->n_rrsets; k++) {
		const struct vg_rrset *rs = &m->rrsets[k];
		if (rs->section != VG_SEC_AUTHORITY)
			continue;
		if (rs->type == VG_TYPE_SOA)
			return rs;
		if (!d && (rs->type == VG_TYPE_NSEC || rs->type == VG_TYPE_NSEC3))
			d = rs;
	}
	return d;
}

/* The name whose keys judge a negative reply's denial: its SOA's or proof's zone, else (nothing
 * to place it by) the name denied for NODATA, its parent for NXDOMAIN. */
static const uint8_t *fwd_denial_zone(const struct vg_iq *iq)
{
	const struct vg_rrset *d = fwd_denial_set(&iq->msg);
	if (d)
		return d->type == VG_TYPE_SOA ? d->owner : fwd_zone_of(d);
	const uint8_t *t = iq->verdict.target;
	if (iq->verdict.kind == VG_REPLY_NXDOMAIN && t[0])
		return t + t[0] + 1;
	return t;
}

/* The anchor of iq's name when iq asks a forwarder with validation on, else NULL. */
static const struct vg_anchor_point *fwd_anchor(const struct vg_iq *iq)
{
	const struct vg_resolver *r = iq->req->r;
	/* An nxdomain-rewrite probe (fwdcheck.c) judges the forwarder's reply as it comes. */
	if (!r->anchors || !iq->forward || iq->is_prime || iq->probe ||
	    (iq->parent && !vg_val_is_fetch(iq)))
		return NULL;
	return vg_anchors_lookup(r->anchors, iq->sname);
}

/* Whether iq's forwarded reply is validated: its name is under a trust anchor that is not a
 * negative one. */
static bool fwd_covered(const struct vg_iq *iq)
{
	const struct vg_anchor_point *ap = fwd_anchor(iq);
	return ap && !ap->nta;
}

/* Under a negative trust anchor too: the user asked for the data unvalidated, and a
 * validating forwarder would hold it back (SERVFAIL) without CD. */
bool vg_validate_fwd_cd(const struct vg_iq *iq)
{
	return fwd_anchor(iq) != NULL;
}

/* The denial proof of a forwarded negative reply, with the keys `zd` of its zone. */
static void fwd_judge_denial(struct vg_iq *iq, const struct vg_zk *zd, struct judge *j)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	const struct vg_verdict *v = &iq->verdict;
	struct vg_rrset_view *proof;
	size_t n = vg_val_proof_views(iq, &proof);
	struct vg_dnssec_result res = {0};
	if (v->kind == VG_REPLY_NXDOMAIN) {
		vg_dnssec_prove_nxdomain(r->val, &req->dwork, zd->name, v->target, proof, n, &res);
		vg_val_proof_outcome(iq, j, &res);
		/* A DS fetch for a name that does not exist: no delegation there. */
		if (!j->failed && iq->qtype == VG_TYPE_DS && vg_val_is_fetch(iq) &&
		    !vg_zk_find(req, iq->sname, ZK_DS))
			vg_zk_set(req, iq->sname, ZK_DS, VG_SEC_INSECURE, VG_EDE_NONE,
				  "no such name", NULL);
		return;
	}
	if (iq->qtype == VG_TYPE_DS && vg_name_eq(v->target, iq->sname)) {
		vg_val_note_ds(iq, zd->name, iq->sname, proof, n, VG_SEC_ANSWER);
		const struct vg_zk *d = vg_zk_find(req, iq->sname, ZK_DS);
		if (d && d->sec == VG_SEC_INSECURE && d->cut && d->ede == VG_EDE_NONE && n) {
			uint32_t ttl = UINT32_MAX;
			for (size_t i = 0; i < n; i++)
				ttl = proof[i].ttl < ttl ? proof[i].ttl : ttl;
			fwd_cut_remember(r, iq->sname, ttl);
		}
		if (d && d->sec != VG_SEC_INSECURE) {
			struct vg_dnssec_result b = {(enum vg_dnssec_status)d->sec, d->ede, 0,
						     d->why, false};
			vg_val_proof_outcome(iq, j, &b);
		}
		return;
	}
	vg_dnssec_prove_nodata(r->val, &req->dwork, zd->name, v->target, iq->qtype, proof, n, &res);
	vg_val_proof_outcome(iq, j, &res);
}

/* Judges one set of a forwarded reply with the keys `zk` of its zone. */
static void fwd_judge_set(struct vg_iq *iq, struct vg_rrset *rs, const struct vg_zk *zk,
			  struct judge *j, struct vg_rrset **wild, const struct vg_zk **wzk,
			  uint8_t *wlabels)
{
	struct vg_req *req = iq->req;
	struct vg_dnssec_result res = {0};
	if (!zk) {
		rs->sec = VG_SEC_INDETERMINATE;
		return;
	}
	if (zk->sec != VG_SEC_SECURE) {
		rs->sec = zk->sec;
		if (zk->sec == VG_SEC_INSECURE && rs->section == VG_SEC_ANSWER)
			vg_val_note_insecure(iq, zk->ede, zk->why);
		if (zk->sec == VG_SEC_BOGUS ||
		    (zk->sec == VG_SEC_INDETERMINATE && zk->ede != VG_EDE_NONE)) {
			res = (struct vg_dnssec_result){(enum vg_dnssec_status)zk->sec, zk->ede, 0,
							zk->why, false};
			vg_val_judge_fail(j, &res);
		}
		return;
	}
	struct vg_rrset_view view;
	if (!vg_val_view_of(&req->arena, rs, &view)) {
		res = (struct vg_dnssec_result){VG_DNSSEC_INDETERMINATE, VG_EDE_OTHER, 0,
						"out of memory", false};
		vg_val_judge_fail(j, &res);
		return;
	}
	vg_dnssec_verify_rrset(req->r->val, &req->dwork, &view, &zk->set, &res);
	rs->sec = (uint8_t)res.status;
	if (res.status != VG_DNSSEC_SECURE)
		vg_val_judge_fail(j, &res);
	else if (rs->section == VG_SEC_ANSWER && !*wild && vg_val_expanded(rs, zk->name, wlabels)) {
		*wild = rs;
		*wzk = zk;
	}
}

/* vg_validate_reply for a forwarder's final reply: false while DS/DNSKEY fetches run. */
bool vg_val_forwarded(struct vg_iq *iq, bool full)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	struct vg_msg *m = &iq->msg;
	const struct vg_verdict *v = &iq->verdict;
	bool negative = v->kind == VG_REPLY_NXDOMAIN || v->kind == VG_REPLY_NODATA;
	if (!full || !fwd_covered(iq) ||
	    (v->kind != VG_REPLY_ANSWER && v->kind != VG_REPLY_CNAME && !negative))
		return true; /* outside every anchor (or under a negative one): as not validated */
	/* The keys of every zone the reply needs; each pass of vg_val_chain_for adds a link. */
	const struct vg_zk *zk = NULL;
	for (size_t k = 0; k < m->n_rrsets; k++) {
		struct vg_rrset *rs = &m->rrsets[k];
		if (fwd_skipped(m, rs))
			continue;
		if (fwd_keys(iq, fwd_place(iq, fwd_zone_of(rs)), &zk) == CHAIN_WAIT)
			return false;
	}
	const struct vg_zk *zd = NULL;
	if (negative && fwd_keys(iq, fwd_place(iq, fwd_denial_zone(iq)), &zd) == CHAIN_WAIT)
		return false;
	struct judge j = {0};
	struct vg_rrset *wild = NULL;
	const struct vg_zk *wzk = NULL;
	uint8_t wlabels = 0;
	const uint8_t *zone = negative && zd ? zd->name : iq->sname;
	for (size_t k = 0; k < m->n_rrsets; k++) {
		struct vg_rrset *rs = &m->rrsets[k];
		if (fwd_skipped(m, rs))
			continue;
		/* Known now: vg_val_chain_for returns at once. */
		fwd_keys(iq, fwd_place(iq, fwd_zone_of(rs)), &zk);
		if (!j.failed && zk)
			zone = fwd_culprit(req, zk);
		fwd_judge_set(iq, rs, zk, &j, &wild, &wzk, &wlabels);
	}
	for (size_t k = 0; k < m->n_rrsets; k++) {
		const struct vg_rrset *d = vg_val_dname_synth(m, &m->rrsets[k]);
		if (d)
			m->rrsets[k].sec = d->sec;
	}
	if (!j.failed && wild) {
		struct vg_rrset_view *proof;
		size_t n = vg_val_proof_views(iq, &proof);
		struct vg_dnssec_result res = {0};
		vg_dnssec_prove_wildcard(r->val, &req->dwork, wzk->name, wild->owner, wlabels,
					 proof, n, &res);
		if (res.status == VG_DNSSEC_INSECURE ||
		    (res.status == VG_DNSSEC_SECURE && res.opt_out)) {
			wild->sec = VG_SEC_INSECURE;
			vg_val_note_insecure(iq, res.ede, res.why);
		} else if (res.status != VG_DNSSEC_SECURE) {
			vg_val_judge_fail(&j, &res);
		}
	}
	if (!j.failed && negative && zd && zd->sec == VG_SEC_SECURE) {
		zone = fwd_culprit(req, zd);
		fwd_judge_denial(iq, zd, &j);
	}
	if (!j.failed && iq->qtype == VG_TYPE_DS && v->kind == VG_REPLY_ANSWER) {
		const struct vg_rrset *ds = vg_val_msg_set(m, iq->sname, VG_TYPE_DS, VG_SEC_ANSWER);
		if (ds && ds->sec == VG_SEC_SECURE)
			vg_val_note_ds(iq, fwd_place(iq, fwd_zone_of(ds)), iq->sname, NULL, 0,
				       VG_SEC_ANSWER);
	}
	if (j.failed)
		vg_val_judged_bogus(iq, zone, &j);
	return true;
}
