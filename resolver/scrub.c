/* The scrubber: decides which records of an upstream reply may be believed (bailiwick rules) and
 * what the reply means for the question (answer, CNAME, negative, referral, lame). */
#include <string.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "internal.h"

#define SCRUB_MAX_HOPS 16 /* CNAME/DNAME links followed inside one reply */
#define STR_(x) #x
#define STR(x) STR_(x)
#define OVER "reply over a per-reply limit: more than "

int vg_dname_subst(const uint8_t *name, const uint8_t *owner, const uint8_t *target, uint8_t *out)
{
	int nl = vg_name_len(name, VG_NAME_MAX), ol = vg_name_len(owner, VG_NAME_MAX);
	int tl = vg_name_len(target, VG_NAME_MAX);
	if (nl < 0 || ol < 0 || tl < 0 || ol > nl)
		return VG_EFORMAT;
	size_t prefix = (size_t)(nl - ol);
	if (prefix + (size_t)tl > VG_NAME_MAX)
		return VG_ELIMIT;
	memcpy(out, name, prefix);
	memcpy(out + prefix, target, (size_t)tl);
	return 0;
}

static void keep(struct vg_rr *rr)
{
	rr->drop = false;
}

static uint32_t hash_of(const uint8_t *name)
{
	return vg_name_hash(name, (size_t)vg_name_len(name, VG_NAME_MAX));
}

static int over(struct vg_verdict *v, const char *which)
{
	v->limit = which;
	return VG_ELIMIT;
}

/* Keeps the members of s in `sec` (each set and section once: the index makes every keep
 * linear in what it keeps). Returns how many, or VG_ELIMIT. */
static int keep_members(struct vg_msg *m, struct vg_verdict *v, struct vg_rrset_ix *s, int sec)
{
	unsigned n = s->n_sec[sec];
	if (s->type == VG_TYPE_RRSIG ? n > VG_MAX_RRSET_SIGS : n > VG_MAX_RRSET_RRS)
		return over(v, s->type == VG_TYPE_RRSIG
				   ? OVER STR(VG_MAX_RRSET_SIGS) " RRSIGs covering one RRset"
				   : OVER STR(VG_MAX_RRSET_RRS) " records in one RRset");
	if (n == 0 || (s->kept & (1u << sec)))
		return (int)n;
	s->kept |= (uint8_t)(1u << sec);
	for (uint32_t i = 0; i < s->n; i++) {
		struct vg_rr *rr = &m->rr[m->members[s->first + i]];
		if (rr->section == sec)
			keep(rr);
	}
	return (int)n;
}

/* Keeps the RRSIGs in `sec` covering (owner, type). */
static int keep_sigs(struct vg_msg *m, struct vg_verdict *v, int sec, const uint8_t *owner,
		     uint32_t ohash, uint16_t type)
{
	struct vg_rrset_ix *s = vg_msg_rrset(m, owner, ohash, VG_TYPE_RRSIG, type);
	return s ? keep_members(m, v, s, sec) : 0;
}

/* Keeps (sec, set) and the RRSIGs covering it; returns how many records of the set. */
static int keep_with_sigs(struct vg_msg *m, struct vg_verdict *v, struct vg_rrset_ix *s, int sec)
{
	int n = keep_members(m, v, s, sec);
	if (n > 0) {
		int rc = keep_sigs(m, v, sec, s->owner, s->ohash, s->type);
		if (rc < 0)
			return rc;
	}
	return n;
}

/* Keeps every record of (sec, owner, type); returns how many, or VG_ELIMIT. */
static int keep_set(struct vg_msg *m, struct vg_verdict *v, int sec, const uint8_t *owner,
		    uint16_t type)
{
	uint32_t h = hash_of(owner);
	if (type != VG_TYPE_ANY && type != VG_TYPE_RRSIG) {
		struct vg_rrset_ix *s = vg_msg_rrset(m, owner, h, type, 0);
		return s ? keep_with_sigs(m, v, s, sec) : 0;
	}
	/* ANY and RRSIG span several sets of the owner: one pass over the message. */
	int n = 0;
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section != sec || (rr->type == VG_TYPE_RRSIG) != (type == VG_TYPE_RRSIG) ||
		    !rr->drop || rr->ohash != h || !vg_name_eq(rr->owner, owner))
			continue;
		int k = keep_with_sigs(m, v, &m->sets[rr->set], sec);
		if (k < 0)
			return k;
		n += k;
	}
	return n;
}

static struct vg_rr *find(struct vg_msg *m, int sec, const uint8_t *owner, uint16_t type)
{
	struct vg_rrset_ix *s = vg_msg_rrset(m, owner, hash_of(owner), type, 0);
	for (uint32_t i = 0; s && s->n_sec[sec] && i < s->n; i++) {
		struct vg_rr *rr = &m->rr[m->members[s->first + i]];
		if (rr->section == sec)
			return rr;
	}
	return NULL;
}

/* A DNAME in the answer section at a proper ancestor of `name`, inside `zone` (the first in
 * message order when several ancestors have one). */
static struct vg_rr *find_dname(struct vg_msg *m, const uint8_t *name, const uint8_t *zone)
{
	struct vg_rr *best = NULL;
	int labels = vg_name_labels(name), zl = vg_name_labels(zone);
	if (!vg_name_in_zone(name, zone))
		return NULL;
	for (int keep_l = zl; keep_l < labels; keep_l++) {
		struct vg_rr *d =
		    find(m, VG_SEC_ANSWER, vg_name_suffix(name, keep_l), VG_TYPE_DNAME);
		if (d && (!best || d < best))
			best = d;
	}
	return best;
}

static bool visited(uint8_t (*seen)[256], unsigned n, const uint8_t *name)
{
	for (unsigned i = 0; i < n; i++)
		if (vg_name_eq(seen[i], name))
			return true;
	return false;
}

/* Keeps the NSEC/NSEC3 records of the authority section inside `zone`, with their signatures:
 * at most VG_MAX_PROOF_NSEC of them. */
static int keep_proof(struct vg_msg *m, struct vg_verdict *v, const uint8_t *zone)
{
	unsigned n = 0;
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section != VG_SEC_AUTHORITY ||
		    (rr->type != VG_TYPE_NSEC && rr->type != VG_TYPE_NSEC3) ||
		    !vg_name_in_zone(rr->owner, zone))
			continue;
		if (++n > VG_MAX_PROOF_NSEC)
			return over(v,
				    OVER STR(VG_MAX_PROOF_NSEC) " NSEC/NSEC3 records in one proof");
		int rc = keep_with_sigs(m, v, &m->sets[rr->set], VG_SEC_AUTHORITY);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Keeps the denial records of the authority section: the SOA of the zone holding `name` and
 * NSEC/NSEC3 with their signatures, all inside `zone`; the proof (all but the SOA itself) must
 * fit VG_MAX_PROOF_BYTES, as the cache stores it whole. */
static int keep_negative(struct vg_msg *m, struct vg_verdict *v, const uint8_t *zone,
			 const uint8_t *name)
{
	for (size_t i = 0; i < m->n_rr && !v->soa; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section == VG_SEC_AUTHORITY && rr->type == VG_TYPE_SOA &&
		    vg_name_in_zone(rr->owner, zone) && vg_name_in_zone(name, rr->owner)) {
			keep(rr);
			int rc =
			    keep_sigs(m, v, VG_SEC_AUTHORITY, rr->owner, rr->ohash, VG_TYPE_SOA);
			if (rc < 0)
				return rc;
			v->soa = rr;
		}
	}
	int rc = keep_proof(m, v, zone);
	if (rc < 0)
		return rc;
	size_t bytes = 0;
	for (size_t i = 0; i < m->n_rr; i++) {
		const struct vg_rr *rr = &m->rr[i];
		if (!rr->drop && rr->section == VG_SEC_AUTHORITY && rr != v->soa)
			bytes += vg_rr_wire_len(rr);
	}
	if (bytes > VG_MAX_PROOF_BYTES)
		return over(v, OVER STR(VG_MAX_PROOF_BYTES) " bytes of negative proof");
	return 0;
}

/* Glue: keeps additional-section addresses of the NS names kept in `ns_sec`, only inside the
 * sending server's zone (bailiwick). */
static int keep_ns_addresses(struct vg_msg *m, struct vg_verdict *v, const uint8_t *zone,
			     int ns_sec)
{
	static const uint16_t types[2] = {VG_TYPE_A, VG_TYPE_AAAA};
	for (size_t i = 0; i < m->n_rr; i++) {
		const struct vg_rr *n = &m->rr[i];
		if (n->section != ns_sec || n->type != VG_TYPE_NS || n->drop)
			continue;
		uint32_t h = hash_of(n->rdata);
		for (int t = 0; t < 2; t++) {
			struct vg_rrset_ix *s = vg_msg_rrset(m, n->rdata, h, types[t], 0);
			if (!s || s->seen || !s->n_sec[VG_SEC_ADDITIONAL])
				continue;
			s->seen = true;
			if (!vg_name_in_zone(s->owner, zone))
				continue;
			int rc = keep_members(m, v, s, VG_SEC_ADDITIONAL);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Looks for an acceptable delegation for `name` in the authority section. Keeps the NS set, its
 * DS/NSEC proof and in-bailiwick glue; returns the cut or NULL (*rc < 0: over a limit). *upward
 * is set when NS records exist but point at the zone itself or above/sideways (a lame or
 * malicious server). */
static const uint8_t *keep_referral(struct vg_msg *m, struct vg_verdict *v, const uint8_t *zone,
				    const uint8_t *name, bool *upward, int *rc)
{
	const uint8_t *cut = NULL;
	*upward = false;
	*rc = 0;
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section != VG_SEC_AUTHORITY || rr->type != VG_TYPE_NS)
			continue;
		/* Each owner once: its set says it all. */
		struct vg_rrset_ix *s = &m->sets[rr->set];
		if (s->seen)
			continue;
		s->seen = true;
		/* Closer to the qname than the sending server's zone, and inside that zone. */
		if (vg_name_in_zone(name, rr->owner) && vg_name_in_zone(rr->owner, zone) &&
		    !vg_name_eq(rr->owner, zone)) {
			cut = rr->owner;
			break;
		}
		*upward = true;
	}
	if (!cut)
		return NULL;
	*upward = false;
	int ns = keep_set(m, v, VG_SEC_AUTHORITY, cut, VG_TYPE_NS);
	if (ns > 0)
		*rc = keep_set(m, v, VG_SEC_AUTHORITY, cut, VG_TYPE_DS);
	if (ns > 0 && *rc >= 0)
		*rc = keep_proof(m, v, zone);
	if (ns > 0 && *rc >= 0)
		*rc = keep_ns_addresses(m, v, zone, VG_SEC_AUTHORITY);
	if (ns < 0)
		*rc = ns;
	return ns > 0 && *rc >= 0 ? cut : NULL;
}

int vg_scrub(struct vg_msg *m, const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
	     bool forwarded, struct vg_verdict *v)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < m->n_rr; i++)
		m->rr[i].drop = true;
	for (size_t i = 0; i < m->n_sets; i++) {
		m->sets[i].kept = 0;
		m->sets[i].seen = false;
	}
	int rc = 0;
	int len = vg_name_len(qname, VG_NAME_MAX);
	if (len < 0)
		return VG_EFORMAT;
	memcpy(v->target, qname, (size_t)len);

	switch (m->rcode) {
	case VG_RCODE_NOERROR:
	case VG_RCODE_NXDOMAIN:
		break;
	case VG_RCODE_REFUSED:
		v->kind = VG_REPLY_LAME;
		goto out;
	case VG_RCODE_FORMERR:
	case VG_RCODE_NOTIMP:
		v->kind = VG_REPLY_FORMERR;
		goto out;
	default:
		v->kind = VG_REPLY_SERVFAIL;
		goto out;
	}

	/* Follow the chain from the qname through CNAME and DNAME records of the zone. */
	uint8_t seen[SCRUB_MAX_HOPS + 1][256];
	unsigned n_seen = 0;
	memcpy(seen[n_seen++], qname, (size_t)len);
	uint8_t *sname = v->target;
	for (;;) {
		rc = keep_set(m, v, VG_SEC_ANSWER, sname, qtype);
		if (rc > 0) {
			v->kind = VG_REPLY_ANSWER;
			rc = qtype == VG_TYPE_NS ? keep_ns_addresses(m, v, zone, VG_SEC_ANSWER) : 0;
			/* A wildcard expansion carries the NSEC/NSEC3 proof that the name itself
			 * does not exist (RFC 4035 3.1.3.3): the validator needs it. */
			if (rc >= 0)
				rc = keep_proof(m, v, zone);
			goto out;
		}
		if (rc < 0)
			goto out;
		const uint8_t *next = NULL;
		uint8_t synth[256];
		/* A DNAME above the name wins over any CNAME at it: the CNAME must be the one the
		 * DNAME synthesizes (RFC 6672). */
		struct vg_rr *dn = find_dname(m, sname, zone);
		struct vg_rr *cn = dn ? NULL : find(m, VG_SEC_ANSWER, sname, VG_TYPE_CNAME);
		if (cn && vg_name_in_zone(sname, zone)) {
			keep(cn);
			if ((rc = keep_sigs(m, v, VG_SEC_ANSWER, cn->owner, cn->ohash,
					    VG_TYPE_CNAME)) < 0)
				goto out;
			next = cn->rdata;
		} else {
			if (!dn)
				break;
			if (vg_dname_subst(sname, dn->owner, dn->rdata, synth) < 0) {
				/* RFC 6672: a substitution that is too long is YXDOMAIN. */
				v->kind = VG_REPLY_SERVFAIL;
				goto out;
			}
			keep(dn);
			if ((rc = keep_sigs(m, v, VG_SEC_ANSWER, dn->owner, dn->ohash,
					    VG_TYPE_DNAME)) < 0)
				goto out;
			/* The server's synthesized CNAME is believed only when it says what we
			 * computed ourselves. */
			struct vg_rr *sc = find(m, VG_SEC_ANSWER, sname, VG_TYPE_CNAME);
			if (sc && vg_name_eq(sc->rdata, synth)) {
				keep(sc);
			} else if (v->n_synth < sizeof(v->synth) / sizeof(v->synth[0])) {
				struct vg_synth *y = &v->synth[v->n_synth++];
				y->dname = dn;
				memcpy(y->owner, sname, (size_t)vg_name_len(sname, VG_NAME_MAX));
				memcpy(y->target, synth, (size_t)vg_name_len(synth, VG_NAME_MAX));
			}
			next = synth;
		}
		v->hops++;
		if (visited(seen, n_seen, next)) {
			v->loop = true;
			v->kind = VG_REPLY_CNAME;
			memcpy(sname, next, (size_t)vg_name_len(next, VG_NAME_MAX));
			goto out;
		}
		memcpy(sname, next, (size_t)vg_name_len(next, VG_NAME_MAX));
		if (n_seen <= SCRUB_MAX_HOPS)
			memcpy(seen[n_seen++], sname, (size_t)vg_name_len(sname, VG_NAME_MAX));
		if (!vg_name_in_zone(sname, zone) || v->hops >= SCRUB_MAX_HOPS) {
			/* The rest of the chain is not this server's to tell. */
			v->kind = VG_REPLY_CNAME;
			goto out;
		}
	}

	if (m->rcode == VG_RCODE_NXDOMAIN) {
		v->kind = VG_REPLY_NXDOMAIN;
		rc = keep_negative(m, v, zone, sname);
		goto out;
	}
	const struct vg_rr *soa = NULL;
	for (size_t i = 0; i < m->n_rr; i++) {
		const struct vg_rr *rr = &m->rr[i];
		if (rr->section == VG_SEC_AUTHORITY && rr->type == VG_TYPE_SOA)
			soa = rr;
	}
	if (soa) {
		if ((rc = keep_negative(m, v, zone, sname)) < 0)
			goto out;
		if (v->soa || VG_MSG_AA(m)) {
			v->kind = VG_REPLY_NODATA;
			goto out;
		}
	}
	bool upward = false;
	const uint8_t *cut = forwarded ? NULL : keep_referral(m, v, zone, sname, &upward, &rc);
	if (rc < 0)
		goto out;
	if (cut && v->hops == 0) {
		v->kind = VG_REPLY_REFERRAL;
		memcpy(v->cut, cut, (size_t)vg_name_len(cut, VG_NAME_MAX));
		goto out;
	}
	if (v->hops > 0) {
		/* The chain went on inside the zone but this reply does not finish it: ask again
		 * for the target from the closest known cut. */
		for (size_t i = 0; i < m->n_rr; i++)
			if (m->rr[i].section != VG_SEC_ANSWER)
				m->rr[i].drop = true;
		v->kind = VG_REPLY_CNAME;
		goto out;
	}
	if ((VG_MSG_AA(m) || forwarded) && !upward) {
		v->kind = VG_REPLY_NODATA;
		goto out;
	}
	v->kind = VG_REPLY_LAME;
out:
	if (rc < 0) {
		/* Over a limit: nothing of this reply is believed. */
		for (size_t i = 0; i < m->n_rr; i++)
			m->rr[i].drop = true;
	}
	for (size_t i = 0; i < m->n_rr; i++)
		v->dropped += m->rr[i].drop;
	return rc < 0 ? rc : 0;
}
