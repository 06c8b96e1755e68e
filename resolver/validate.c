/* DNSSEC in the iterator (IQ_VALIDATE): the status of each RRset of a reply from the validator
 * core (dnssec.c, dnssec_denial.c), judged with the keys of the chain of trust (validate_chain.c
 * walks it from the closest trust anchor down to the zone that answered), bogus answers
 * remembered, and the validator's setup. */
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
			vg_zk_result(req, child, ZK_DS, &res, NULL);
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
			vg_val_keep_nods(iq, v->cut);
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
