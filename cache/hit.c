/* Answers built from the rrset DB on the hit path: a question whose answer is one RRset at the
 * question name and type is answered from that entry, so the answer DB holds such answers no more.
 */
#include <errno.h>
#include <string.h>

#include "impl.h"
#include "vigil/err.h"
#include "vigil/log.h"

#define INSECURE_REASONS                                                                           \
	(VG_CACHE_F_INSECURE_ALG | VG_CACHE_F_INSECURE_DIGEST | VG_CACHE_F_INSECURE_ITER)

/* The body of a stored rrset value (layout: rrset.c): rdata and signatures, each a sequence of
 * (u16 rdlen, rdata) whose count the walk finds. */
struct rs_body {
	size_t rl, sl;
	const uint8_t *r, *s;
};

static bool body_of(const uint8_t *v, size_t len, struct rs_body *b)
{
	if (len < VG_CVAL_HDR + VG_CRS_BODY)
		return false;
	const uint8_t *p = v + VG_CVAL_HDR;
	b->rl = vg_get_u16(p);
	if (b->rl == 0 || b->rl > len - VG_CVAL_HDR - VG_CRS_BODY)
		return false;
	b->r = p + VG_CRS_BODY;
	b->s = b->r + b->rl;
	b->sl = len - VG_CVAL_HDR - VG_CRS_BODY - b->rl;
	return true;
}

/* Whether an entry may answer a question of class qclass with this CD bit by itself (the rule
 * of the resolver's vg_store_lookup_answer for answer ranks; statuses as cache.h says). */
static bool servable(const struct vg_cache *c, const struct vg_cval_hdr *h, uint16_t qclass,
		     bool cd_bit)
{
	if (h->kind != VG_CACHE_POSITIVE || (h->rank & 0x0f) < VG_RANK_NONAUTH_ANSWER ||
	    h->aux != qclass || (h->flags & INSECURE_REASONS))
		return false;
	if (h->sec == VG_SEC_SECURE || h->sec == VG_SEC_INSECURE)
		return true;
	/* Unchecked data: for CD=1, without validation, or from a forwarder (forwarded data under
	 * a trust anchor is stored validated, so what stays unchecked is outside every anchor or
	 * under a negative one); iterated data that was never validated is the resolver's to judge
	 * for a CD=0 client (validated on its way out, docs/architecture.md). */
	return h->sec == VG_SEC_INDETERMINATE &&
	       (cd_bit || c->o.dnssec_off || !(h->rank & VG_RANK_ITERATED));
}

/* Whether one of the (u16 rdlen, RRSIG rdata) in sigs[0..len) has fewer labels than the owner
 * (`labels`): the set is a wildcard expansion (RFC 4035 5.3.2). A signature too short to have a
 * labels field, or a sequence that does not walk, counts as one (it is damage, and not served). */
static bool wildcard_signed(const uint8_t *s, size_t len, int labels)
{
	size_t off = 0;
	while (off < len) {
		size_t rdlen = off + 2 <= len ? vg_get_u16(s + off) : 0;
		if (rdlen < 4 || off + 2 + rdlen > len || s[off + 2 + 3] < labels)
			return true;
		off += 2 + rdlen;
	}
	return false;
}

/* Writes the records (u16 rdlen, rdata) of p[0..len) at out + *pos, each owned by a pointer to
 * the question (offset 12), as long as they fit under `cap`. Returns their count, -1 when the
 * sequence does not walk exactly (damage), -2 when out of room. */
static inline __attribute__((always_inline)) int put_records(uint8_t *out, size_t cap, size_t *pos,
							     const uint8_t *p, size_t len,
							     uint16_t type, uint16_t rclass,
							     uint32_t ttl)
{
	size_t off = 0, at = *pos;
	int count = 0;
	while (off < len) {
		if (off + 2 > len)
			return -1;
		size_t n = 2 + (size_t)vg_get_u16(p + off);
		if (off + n > len)
			return -1;
		if (at + 10 + n > cap)
			return -2;
		uint8_t *rr = out + at;
		rr[0] = 0xC0;
		rr[1] = 12;
		vg_put_u16(rr + 2, type);
		vg_put_u16(rr + 4, rclass);
		vg_put_u32(rr + 6, ttl);
		memcpy(rr + 10, p + off, n); /* rdlength and rdata */
		at += 10 + n;
		off += n;
		count++;
	}
	*pos = at;
	return count;
}

int vg_cache_rrset_answer(struct vg_cache_reader *rd, const uint8_t *qname, size_t qname_len,
			  uint16_t qtype, uint16_t qclass, bool do_bit, bool cd_bit, uint16_t id,
			  uint32_t now, uint8_t *out, size_t cap, size_t *outlen, unsigned *flags,
			  int allow_stale_secs)
{
	if (vg_fails(rd->active))
		return -EINVAL;
	/* Signatures live with their set, delegations under their own key: neither is asked. */
	if (qtype == 0 || qtype == VG_CKEY_T_DELEG || qtype == VG_TYPE_RRSIG)
		return VG_ENOTFOUND;
	struct vg_cache *c = rd->c;
	uint8_t key[VG_CKEY_MAX];
	int kl;
	MDB_val v;
	if (vg_rrset_raw(rd, qname, qtype, key, &kl, &v) < 0)
		return VG_ENOTFOUND;
	struct vg_cval_hdr h;
	struct rs_body b;
	if (vg_cval_hdr_decode(v.mv_data, v.mv_size, &h) < 0 || !body_of(v.mv_data, v.mv_size, &b))
		goto corrupt;
	if (!servable(c, &h, qclass, cd_bit))
		return VG_ENOTFOUND;
	unsigned fl;
	uint32_t age;
	if (vg_cval_fresh(&h, now, allow_stale_secs, c->o.stale_max, &age, &fl) < 0)
		return VG_ESTALE;
	bool stale = fl & VG_CACHE_STALE;
	bool sigs = do_bit && b.sl;
	if (sigs && wildcard_signed(b.s, b.sl, vg_name_labels(qname)))
		return VG_ENOTFOUND;
	if (cap > 65535)
		cap = 65535; /* the largest DNS message */
	uint32_t ttl = stale ? VG_CACHE_STALE_TTL : h.ttl - age;
	size_t pos = 12 + qname_len + 4;
	int an = pos <= cap ? put_records(out, cap, &pos, b.r, b.rl, qtype, h.aux, ttl) : -2;
	int ns =
	    sigs && an > 0 ? put_records(out, cap, &pos, b.s, b.sl, VG_TYPE_RRSIG, h.aux, ttl) : 0;
	if (an == -2 || ns == -2)
		return VG_ESPACE;
	if (an <= 0 || ns < 0)
		goto corrupt;
	vg_put_u16(out, id);
	out[2] = 0x80; /* QR; never AA: a cached answer */
	/* RA; AD on secure data, never with CD=1 or when stale (RFC 4035 3.2.3, as the resolver's
	 * answer builder) */
	out[3] = (uint8_t)(0x80 | (h.sec == VG_SEC_SECURE && !cd_bit && !stale ? 0x20 : 0));
	vg_put_u16(out + 4, 1);
	vg_put_u16(out + 6, (uint16_t)(an + ns));
	memset(out + 8, 0, 4);
	memcpy(out + 12, qname, qname_len);
	vg_put_u16(out + 12 + qname_len, qtype);
	vg_put_u16(out + 14 + qname_len, qclass);
	*outlen = pos;
	if (flags)
		*flags = fl;
	if (now - h.used_at >= VG_CACHE_TOUCH_SECS && now > h.used_at)
		vg_cache_touch(rd, false, key, (size_t)kl, &h, now);
	return 0;
corrupt:
	atomic_fetch_add(&c->st_corrupt, 1);
	return VG_ENOTFOUND;
}

bool vg_answer_shadowed(struct vg_cache *c, MDB_txn *txn, const struct vg_cop *op)
{
	/* The answer key is the rrset key and one byte of DO/CD bits (key.c). */
	if (op->klen < 4)
		return false;
	uint8_t dobits = op->data[op->klen - 1];
	uint16_t qtype = vg_get_u16(op->data + op->klen - 3);
	if (qtype == 0 || qtype == VG_CKEY_T_DELEG || qtype == VG_TYPE_RRSIG)
		return false;
	/* The answer value (answer.c): header, u16 wire_len, u16 qname_len, TTL offsets, wire. */
	const uint8_t *a = op->data + op->klen;
	struct vg_cval_hdr ah;
	if (vg_cval_hdr_decode(a, op->vlen, &ah) < 0 || op->vlen < VG_CVAL_HDR + 4)
		return false;
	size_t ql = vg_get_u16(a + VG_CVAL_HDR + 2);
	size_t woff = VG_CVAL_HDR + 4 + 2 * (size_t)ah.aux;
	if (woff + 12 + ql + 4 > op->vlen)
		return false;
	const uint8_t *wire = a + woff;
	uint16_t qclass = vg_get_u16(wire + 12 + ql + 2);

	MDB_val k = {.mv_size = op->klen - 1, .mv_data = (void *)op->data}, v;
	if (mdb_get(txn, c->dbi_rrset, &k, &v) != 0)
		return false;
	struct vg_cval_hdr h;
	struct rs_body b;
	if (vg_cval_hdr_decode(v.mv_data, v.mv_size, &h) < 0 ||
	    !body_of(v.mv_data, v.mv_size, &b) || !servable(c, &h, qclass, dobits & VG_CKEY_CD) ||
	    !vg_cval_live(&h, op->now))
		return false;
	/* The answer would outlive the entry: it is served once the entry has expired. */
	if ((uint64_t)vg_cval_left(&h, op->now) + VG_CACHE_CLOCK_SLACK < ah.ttl)
		return false;
	if ((dobits & VG_CKEY_DO) && b.sl) {
		int labels = vg_name_len(wire + 12, ql) == (int)ql ? vg_name_labels(wire + 12) : -1;
		if (labels < 0 || wildcard_signed(b.s, b.sl, labels))
			return false;
	}
	return true;
}
