/* The answer builder: the minimal response handed to the front end for a finished request, with
 * its EDE, the serve-stale fallback (RFC 8767) and the answer cache store. */
#include <string.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "anchor.h"
#include "iter.h"

/* The TTL a record learned just now is shown with: the clamps the cache applies when it stores
 * it (cache-min-ttl, cache-max-ttl or cache-max-negative-ttl), so the first answer and every
 * cached repeat agree. */
static uint32_t clamp_ttl(const struct vg_resolver_opts *o, uint32_t ttl, bool negative)
{
	uint32_t hi = negative ? o->cache_max_negative_ttl : o->cache_max_ttl;
	return vg_cache_ttl_clamp(ttl, o->cache_min_ttl, hi ? hi : UINT32_MAX);
}

/* Whether b belongs to the RRset of a (an RRSIG to the set it covers): where an answer may be cut.
 */
static bool same_set(const struct vg_rr *a, const struct vg_rr *b)
{
	uint16_t ta = a->type == VG_TYPE_RRSIG && a->rdlen >= 2 ? vg_get_u16(a->rdata) : a->type;
	uint16_t tb = b->type == VG_TYPE_RRSIG && b->rdlen >= 2 ? vg_get_u16(b->rdata) : b->type;
	return ta == tb && a->rclass == b->rclass && vg_name_eq(a->owner, b->owner);
}

/* The status of the whole answer from its RRsets' (vg_sec_combine): the CNAME links, the final
 * set, and a negative answer's SOA. RRSIGs count with the set they cover. */
static uint8_t answer_sec(const struct vg_iq *iq, uint32_t *suspect, uint16_t *insecure_ede)
{
	const struct vg_rrset *sets[2] = {NULL, iq->soa ? iq->soa->rrset : NULL};
	uint8_t sec = VG_SEC_SECURE;
	bool any = false;
	*suspect = 0;
	*insecure_ede = 0;
	for (size_t i = 0; i <= iq->n_ans; i++) {
		const struct vg_rrset *rs = i < iq->n_ans ? iq->ans[i]->rrset : sets[1];
		if (!rs || rs == sets[0])
			continue; /* an orphan RRSIG, or the set just counted */
		sets[0] = rs;
		sec = vg_sec_combine(sec, rs->sec);
		*suspect |= rs->suspect;
		if (!*insecure_ede)
			*insecure_ede = rs->ede;
		any = true;
	}
	/* An answer without any RRset (a negative one without SOA) proves nothing. */
	return any ? sec : VG_SEC_INDETERMINATE;
}

static bool is_proof_type(uint16_t type)
{
	return type == VG_TYPE_RRSIG || type == VG_TYPE_NSEC || type == VG_TYPE_NSEC3;
}

/* A positive answer keeps only NSEC/NSEC3 and their RRSIGs (a wildcard's proof), not the
 * RRSIGs of an authority NS set it does not carry. */
static bool is_kept_proof(const struct vg_rr *rr, bool negative)
{
	if (rr->drop || rr->section != VG_SEC_AUTHORITY || !is_proof_type(rr->type))
		return false;
	if (negative || rr->type != VG_TYPE_RRSIG)
		return true;
	uint16_t covered = rr->rdlen >= 2 ? vg_get_u16(rr->rdata) : 0;
	return covered == VG_TYPE_NSEC || covered == VG_TYPE_NSEC3;
}

void vg_iq_proof_from_msg(struct vg_iq *iq, const struct vg_msg *m)
{
	iq->n_proof = 0;
	size_t n = 0;
	bool negative = iq->soa != NULL;
	for (size_t i = 0; i < m->n_rr; i++)
		n += is_kept_proof(&m->rr[i], negative);
	iq->proof = n ? vg_arena_alloc(&iq->req->arena, n * sizeof(*iq->proof)) : NULL;
	for (size_t i = 0; iq->proof && i < m->n_rr; i++)
		if (is_kept_proof(&m->rr[i], negative))
			iq->proof[iq->n_proof++] = &m->rr[i];
}

/* Minimal response (answer section + SOA for negative answers) into buf; returns its length. An
 * answer over VG_ANSWER_MAX is cut before the RRset that does not fit, with TC=1: never a part of
 * an RRset. `sec` is the answer's status (answer_sec, computed once by the caller). */
static size_t build_answer(struct vg_req *req, const struct vg_iq *iq, uint16_t rcode, bool stale,
			   uint8_t sec, uint8_t *buf, size_t cap)
{
	if (cap > VG_ANSWER_MAX)
		cap = VG_ANSWER_MAX;
	const struct vg_resolver_opts *o = &req->r->opts;
	size_t qn = (size_t)vg_name_len(req->qname, VG_NAME_MAX);
	memset(buf, 0, 12);
	buf[2] = 0x80;
	buf[3] = (uint8_t)(0x80 | (rcode & 0x0f)); /* RA */
	/* AD only on data validated secure, never with CD=1 (RFC 4035 3.2.3). It is set here for
	 * every client and kept in the answer cache; the front end takes it off for a client that
	 * set neither DO nor AD (RFC 6840 5.7), per waiter here and per hit in the worker. */
	if (iq && !req->cd_bit && !stale && sec == VG_SEC_SECURE &&
	    (rcode == VG_RCODE_NOERROR || rcode == VG_RCODE_NXDOMAIN))
		buf[3] |= 0x20;
	vg_put_u16(buf + 4, 1);
	memcpy(buf + 12, req->qname, qn);
	vg_put_u16(buf + 12 + qn, req->qtype);
	vg_put_u16(buf + 14 + qn, req->qclass);
	size_t off = 16 + qn, set_off = off;
	uint16_t an = 0, ns = 0, set_an = 0;
	const struct vg_rr *prev = NULL;
	bool tc = false;
	for (size_t i = 0; iq && i < iq->n_ans; i++) {
		const struct vg_rr *rr = iq->ans[i];
		if (rr->type == VG_TYPE_RRSIG && !req->do_bit)
			continue;
		if (!prev || !same_set(prev, rr)) {
			set_off = off;
			set_an = an;
		}
		prev = rr;
		uint32_t ttl = rr->from_cache ? rr->ttl : clamp_ttl(o, rr->ttl, false);
		size_t w = vg_rr_write(buf + off, cap - off, rr, stale ? VG_CACHE_STALE_TTL : ttl);
		if (!w) {
			off = set_off;
			an = set_an;
			tc = true;
			break;
		}
		off += w;
		an++;
	}
	if (iq && iq->soa && !tc) {
		/* Negative answers carry the SOA with the negative TTL: min(SOA TTL, MINIMUM)
		 * (RFC 2308 §5) in the cache's clamps; from the cache, what is left of it. */
		const struct vg_rr *soa = iq->soa;
		uint32_t ttl = soa->ttl;
		if (!soa->from_cache) {
			if (soa->rdlen >= 4 && vg_get_u32(soa->rdata + soa->rdlen - 4) < ttl)
				ttl = vg_get_u32(soa->rdata + soa->rdlen - 4);
			ttl = clamp_ttl(o, ttl, true);
		}
		size_t w = vg_rr_write(buf + off, cap - off, soa, stale ? VG_CACHE_STALE_TTL : ttl);
		if (w) {
			off += w;
			ns++;
		} else {
			tc = true;
		}
		/* RFC 4035 3.1.3: a DO client gets the SOA's RRSIGs and the NSEC/NSEC3 proof with
		 * their RRSIGs, shown no longer than the SOA (RFC 9077). */
		for (size_t i = 0; req->do_bit && !tc && i < iq->n_proof; i++) {
			const struct vg_rr *p = iq->proof[i];
			uint32_t pttl = p->ttl < ttl ? p->ttl : ttl;
			w = vg_rr_write(buf + off, cap - off, p, stale ? VG_CACHE_STALE_TTL : pttl);
			if (!w) {
				tc = true;
				break;
			}
			off += w;
			ns++;
		}
	}
	/* A wildcard answer made from the cache (RFC 8198 5.3) carries its proof that the name
	 * does not exist (RFC 4035 3.1.3.3). */
	for (size_t i = 0; iq && !iq->soa && req->do_bit && !tc && i < iq->n_proof; i++) {
		size_t w = vg_rr_write(buf + off, cap - off, iq->proof[i], iq->proof[i]->ttl);
		if (!w) {
			tc = true;
			break;
		}
		off += w;
		ns++;
	}
	if (tc)
		buf[2] |= 0x02;
	vg_put_u16(buf + 6, an);
	vg_put_u16(buf + 8, ns);
	return off;
}

static void deliver(struct vg_req *req, const uint8_t *wire, size_t len, uint16_t ede,
		    const char *ede_text)
{
	struct vg_resolver *r = req->r;
	struct vg_waiter *w = req->waiters;
	req->waiters = NULL;
	size_t qn = (size_t)vg_name_len(req->qname, VG_NAME_MAX);
	uint8_t ad = len >= 12 ? wire[3] & 0x20 : 0;
	for (; w; w = w->next) {
		/* The shared buffer gets each client's RD bit and 0x20 spelling in turn. */
		uint8_t *b = r->abuf;
		if (b != wire)
			memcpy(b, wire, len);
		b[2] = (uint8_t)((b[2] & ~0x01) | (w->rd ? 0x01 : 0));
		b[3] = (uint8_t)((b[3] & ~0x20) | (w->ad ? ad : 0));
		memcpy(b + 12, w->qname, qn);
		struct vg_answer a = {.wire = b, .len = len, .ede = ede, .ede_text = ede_text};
		w->cb(w->ctx, &a);
	}
}

/* The validation outcome of a fresh answer (bogus ones are counted where they are found). */
static void count_verdict(struct vg_resolver *r, uint8_t sec)
{
	if (sec == VG_SEC_SECURE)
		r->stats.dnssec_secure++;
	else if (sec == VG_SEC_INSECURE)
		r->stats.dnssec_insecure++;
	else if (sec == VG_SEC_INDETERMINATE)
		r->stats.dnssec_indeterminate++;
}

/* An iterated answer that validation covers but left unchecked (a chain fetch over a limit):
 * answered, but not kept in the answer cache, whose hits no longer look at the data (a later
 * question asks again and may validate). CD=1 answers are kept apart and may be unchecked. */
static bool unchecked_answer(const struct vg_req *req, const struct vg_iq *iq, uint8_t sec)
{
	if (sec != VG_SEC_INDETERMINATE || !req->r->anchors || req->cd_bit || iq->forwarded_data)
		return false;
	const struct vg_anchor_point *ap = vg_anchors_lookup(req->r->anchors, req->qname);
	return ap && !ap->nta;
}

/* Builds and delivers the answer of req, whose iterations have ended (vg_req_complete). */
void vg_answer_finish(struct vg_req *req)
{
	struct vg_resolver *r = req->r;
	struct vg_iq *iq = req->root;
	uint16_t ede = VG_EDE_NONE;
	const char *ede_text = NULL;
	size_t len;
	if (iq->state == IQ_DONE) {
		uint32_t suspect;
		uint16_t cached_ede;
		uint8_t sec = answer_sec(iq, &suspect, &cached_ede);
		/* Insecure for a named reason found earlier: sets read back from the cache keep
		 * the EDE their first answer carried. */
		if (!req->insecure_ede && cached_ede) {
			req->insecure_ede = cached_ede;
			req->insecure_text = vg_dnssec_insecure_why(cached_ede);
		}
		len = build_answer(req, iq, iq->rcode, iq->stale, sec, r->abuf, sizeof(r->abuf));
		if (r->opts.dnssec.enabled && !iq->is_prime && !iq->stale)
			count_verdict(r, sec);
		if (iq->stale) {
			ede = iq->rcode == VG_RCODE_NXDOMAIN ? VG_EDE_STALE_NXDOMAIN_ANSWER
							     : VG_EDE_STALE_ANSWER;
			r->stats.stale_served++;
		} else if (req->suspect_ede) {
			/* Records were removed: never cached as a valid answer. */
			ede = req->suspect_ede;
			ede_text = req->suspect_text;
		} else if (req->insecure_ede) {
			/* The answer cache keeps no EDE: such answers are built each time. */
			ede = req->insecure_ede;
			ede_text = req->insecure_text;
		} else if (r->cache && !iq->is_prime && !(r->abuf[2] & 0x02) &&
			   !unchecked_answer(req, iq, sec)) {
			/* A cut answer (TC) is never cached: the next client would get it as whole.
			 */
			uint8_t rank =
			    VG_RANK_AUTH_ANSWER | (iq->forwarded_data ? 0 : VG_RANK_ITERATED);
			/* A suspect RRset makes the whole answer suspect: never served stale,
			 * dropped by `vigilctl flush-suspicious`, like the set itself. */
			vg_cache_answer_put(r->cache, req->qname, req->qtype, req->do_bit,
					    req->cd_bit, r->abuf, len, rank, sec,
					    suspect ? VG_CACHE_F_SUSPECT : 0, vg_wall32(r));
		}
	} else {
		/* RFC 8767: when the authorities cannot give an answer, an expired one (TTL 30)
		 * beats SERVFAIL. Suspect entries are never served stale (the cache's rule). */
		vg_iq_ans_clear(iq);
		iq->soa = NULL;
		unsigned hint = 0;
		int kind = -1, arc = -1;
		bool stale_ok = r->opts.serve_stale_max > 0 && req->waiters && !iq->is_prime &&
				!req->cache_only;
		/* The answer cache first: it holds the whole answer, CNAME chain included. */
		if (stale_ok)
			arc = vg_store_stale_answer(req, r->abuf, sizeof(r->abuf), &len);
		if (stale_ok && arc < 0)
			kind = vg_store_lookup_answer(iq, req->qname, req->qtype,
						      (int)r->opts.serve_stale_max, &hint);
		if (arc >= 0) {
			r->abuf[3] &= (uint8_t)~0x20; /* stale data is never shown as validated */
			ede = arc == VG_RCODE_NXDOMAIN ? VG_EDE_STALE_NXDOMAIN_ANSWER
						       : VG_EDE_STALE_ANSWER;
			ede_text = iq->ede_text;
			r->stats.stale_served++;
		} else if (kind >= 0 && (hint & VG_CACHE_STALE)) {
			uint16_t rc =
			    kind == VG_CACHE_NXDOMAIN ? VG_RCODE_NXDOMAIN : VG_RCODE_NOERROR;
			len = build_answer(req, iq, rc, true, VG_SEC_INDETERMINATE, r->abuf,
					   sizeof(r->abuf));
			/* RFC 8914: 19 for a stale NXDOMAIN, 3 for any other stale answer. */
			ede = kind == VG_CACHE_NXDOMAIN ? VG_EDE_STALE_NXDOMAIN_ANSWER
							: VG_EDE_STALE_ANSWER;
			ede_text = iq->ede_text;
			r->stats.stale_served++;
		} else {
			vg_iq_ans_clear(iq);
			iq->soa = NULL;
			/* RD=0 and not cached: REFUSED, as Unbound (access-control: allow) and
			 * Knot Resolver answer it; SERVFAIL would claim we tried. */
			len = build_answer(req, NULL,
					   req->cache_only ? VG_RCODE_REFUSED : VG_RCODE_SERVFAIL,
					   false, VG_SEC_INDETERMINATE, r->abuf, sizeof(r->abuf));
			ede = iq->ede;
			ede_text = iq->ede_text;
			if (req->cache_only)
				r->stats.refused_rd0++;
			else
				r->stats.servfail++;
		}
	}
	deliver(req, r->abuf, len, ede, ede_text);
}
