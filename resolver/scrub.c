/* The scrubber: decides which records of an upstream reply may be believed (bailiwick rules) and
 * what the reply means for the question (answer, CNAME, negative, referral, lame). */
#include <string.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "internal.h"

#define SCRUB_MAX_HOPS 16 /* CNAME/DNAME links followed inside one reply */

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

/* Keeps the RRSIGs in `sec` covering (owner, type). */
static void keep_sigs(struct vg_msg *m, int sec, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section == sec && rr->type == VG_T_RRSIG && rr->rdlen >= 2 &&
		    vg_get_u16(rr->rdata) == type && vg_name_eq(rr->owner, owner))
			keep(rr);
	}
}

/* Keeps every record of (sec, owner, type); returns how many. */
static unsigned keep_set(struct vg_msg *m, int sec, const uint8_t *owner, uint16_t type)
{
	unsigned n = 0;
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section == sec &&
		    (rr->type == type || (type == VG_T_ANY && rr->type != VG_T_RRSIG)) &&
		    vg_name_eq(rr->owner, owner)) {
			keep(rr);
			n++;
		}
	}
	if (n)
		keep_sigs(m, sec, owner, type);
	return n;
}

static struct vg_rr *find(struct vg_msg *m, int sec, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section == sec && rr->type == type && vg_name_eq(rr->owner, owner))
			return rr;
	}
	return NULL;
}

/* A DNAME in the answer section at a proper ancestor of `name`, inside `zone`. */
static struct vg_rr *find_dname(struct vg_msg *m, const uint8_t *name, const uint8_t *zone)
{
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section == VG_SEC_ANSWER && rr->type == VG_T_DNAME &&
		    vg_name_in_zone(name, rr->owner) && !vg_name_eq(name, rr->owner) &&
		    vg_name_in_zone(rr->owner, zone))
			return rr;
	}
	return NULL;
}

static bool visited(uint8_t (*seen)[256], unsigned n, const uint8_t *name)
{
	for (unsigned i = 0; i < n; i++)
		if (vg_name_eq(seen[i], name))
			return true;
	return false;
}

/* Keeps the denial records of the authority section: the SOA of the zone holding `name` and
 * NSEC/NSEC3 with their signatures, all inside `zone`. */
static const struct vg_rr *keep_negative(struct vg_msg *m, const uint8_t *zone, const uint8_t *name)
{
	const struct vg_rr *soa = NULL;
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section != VG_SEC_AUTHORITY || !vg_name_in_zone(rr->owner, zone))
			continue;
		if (rr->type == VG_T_SOA && !soa && vg_name_in_zone(name, rr->owner)) {
			keep(rr);
			keep_sigs(m, VG_SEC_AUTHORITY, rr->owner, VG_T_SOA);
			soa = rr;
		} else if (rr->type == VG_T_NSEC || rr->type == VG_T_NSEC3) {
			keep(rr);
			keep_sigs(m, VG_SEC_AUTHORITY, rr->owner, rr->type);
		}
	}
	return soa;
}

/* Glue: keeps additional-section addresses of the NS names kept in `ns_sec`, only inside the
 * sending server's zone (bailiwick). */
static void keep_ns_addresses(struct vg_msg *m, const uint8_t *zone, int ns_sec)
{
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *g = &m->rr[i];
		if (g->section != VG_SEC_ADDITIONAL ||
		    (g->type != VG_T_A && g->type != VG_T_AAAA) || !vg_name_in_zone(g->owner, zone))
			continue;
		for (size_t j = 0; j < m->n_rr; j++) {
			struct vg_rr *n = &m->rr[j];
			if (n->section == ns_sec && n->type == VG_T_NS && !n->drop &&
			    vg_name_eq(n->rdata, g->owner)) {
				keep(g);
				break;
			}
		}
	}
}

/* Looks for an acceptable delegation for `name` in the authority section. Keeps the NS set, its
 * DS/NSEC proof and in-bailiwick glue; returns the cut or NULL. *upward is set when NS records
 * exist but point at the zone itself or above/sideways (a lame or malicious server). */
static const uint8_t *keep_referral(struct vg_msg *m, const uint8_t *zone, const uint8_t *name,
				    bool *upward)
{
	const uint8_t *cut = NULL;
	*upward = false;
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section != VG_SEC_AUTHORITY || rr->type != VG_T_NS)
			continue;
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
	unsigned ns = keep_set(m, VG_SEC_AUTHORITY, cut, VG_T_NS);
	if (ns == 0)
		return NULL;
	keep_set(m, VG_SEC_AUTHORITY, cut, VG_T_DS);
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		if (rr->section == VG_SEC_AUTHORITY &&
		    (rr->type == VG_T_NSEC || rr->type == VG_T_NSEC3) &&
		    vg_name_in_zone(rr->owner, zone)) {
			keep(rr);
			keep_sigs(m, VG_SEC_AUTHORITY, rr->owner, rr->type);
		}
	}
	keep_ns_addresses(m, zone, VG_SEC_AUTHORITY);
	return cut;
}

int vg_scrub(struct vg_msg *m, const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
	     bool forwarded, struct vg_verdict *v)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < m->n_rr; i++)
		m->rr[i].drop = true;
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
		if (keep_set(m, VG_SEC_ANSWER, sname, qtype)) {
			v->kind = VG_REPLY_ANSWER;
			if (qtype == VG_T_NS)
				keep_ns_addresses(m, zone, VG_SEC_ANSWER);
			goto out;
		}
		const uint8_t *next = NULL;
		uint8_t synth[256];
		/* A DNAME above the name wins over any CNAME at it: the CNAME must be the one the
		 * DNAME synthesizes (RFC 6672). */
		struct vg_rr *dn = find_dname(m, sname, zone);
		struct vg_rr *cn = dn ? NULL : find(m, VG_SEC_ANSWER, sname, VG_T_CNAME);
		if (cn && vg_name_in_zone(sname, zone)) {
			keep(cn);
			keep_sigs(m, VG_SEC_ANSWER, cn->owner, VG_T_CNAME);
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
			keep_sigs(m, VG_SEC_ANSWER, dn->owner, VG_T_DNAME);
			/* The server's synthesized CNAME is believed only when it says what we
			 * computed ourselves. */
			struct vg_rr *sc = find(m, VG_SEC_ANSWER, sname, VG_T_CNAME);
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
		v->soa = keep_negative(m, zone, sname);
		goto out;
	}
	const struct vg_rr *soa = NULL;
	for (size_t i = 0; i < m->n_rr; i++) {
		const struct vg_rr *rr = &m->rr[i];
		if (rr->section == VG_SEC_AUTHORITY && rr->type == VG_T_SOA)
			soa = rr;
	}
	if (soa) {
		v->soa = keep_negative(m, zone, sname);
		if (v->soa || VG_MSG_AA(m)) {
			v->kind = VG_REPLY_NODATA;
			goto out;
		}
	}
	bool upward = false;
	const uint8_t *cut = forwarded ? NULL : keep_referral(m, zone, sname, &upward);
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
	for (size_t i = 0; i < m->n_rr; i++)
		v->dropped += m->rr[i].drop;
	return 0;
}
