/* The one owner of the answer-cache value: encoder (walks a message once) and the hit-path patcher.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "impl.h"
#include "vigil/err.h"
#include "vigil/log.h"

/* Body after the common header: u16 wire_len, u16 qname_len, u16 ttl_offsets[aux], wire. */
#define ANS_BODY 4
#define ANS_MAX_TTLS 4096

int vg_answer_encode(const struct vg_cache_opts *o, const uint8_t *wire, size_t len,
		     const uint8_t *qname, uint8_t rank, uint8_t sec, uint8_t flags, uint32_t now,
		     uint8_t **val, size_t *vlen)
{
	if (len < 12)
		return VG_EFORMAT;
	if (len > VG_CACHE_READ_MAX)
		return VG_ELIMIT; /* no reader could take it back */
	if (vg_get_u16(wire + 4) != 1)
		return VG_EFORMAT;
	uint8_t rcode = wire[3] & 0x0F;
	if (rcode != VG_RCODE_NOERROR && rcode != VG_RCODE_NXDOMAIN)
		return -EINVAL; /* only NOERROR and NXDOMAIN answers are cached */
	if (wire[2] & 0x02)
		return -EINVAL; /* truncated: not a whole answer */
	size_t pos = 12;
	uint8_t qn[VG_NAME_MAX];
	int qlen = vg_name_unpack(wire, len, &pos, qn);
	if (qlen < 0)
		return VG_EFORMAT;
	if ((size_t)qlen != pos - 12 || !vg_name_eq(qn, qname))
		return VG_EFORMAT; /* the question must be uncompressed and be the key's name */
	if (pos + 4 > len)
		return VG_EFORMAT;
	pos += 4;
	unsigned counts[3] = {vg_get_u16(wire + 6), vg_get_u16(wire + 8), vg_get_u16(wire + 10)};
	unsigned total = counts[0] + counts[1] + counts[2];
	if (total > ANS_MAX_TTLS)
		return VG_EFORMAT;
	uint16_t offs[ANS_MAX_TTLS];
	unsigned n = 0;
	bool negative = rcode == VG_RCODE_NXDOMAIN || counts[0] == 0;
	uint32_t hi = negative ? o->max_neg_ttl : o->max_ttl;
	uint32_t lo = o->min_ttl < hi ? o->min_ttl : hi;
	uint32_t min_ttl = UINT32_MAX;
	uint32_t soa_min = UINT32_MAX;
	uint32_t sig_cap = UINT32_MAX;
	size_t end = len;
	for (unsigned i = 0; i < total; i++) {
		size_t rr = pos;
		struct vg_dns_rr h;
		if (vg_dns_rr_read(wire, len, &pos, NULL, &h) < 0)
			return VG_EFORMAT;
		uint16_t type = h.type, rdlen = h.rdlen;
		if (type == VG_TYPE_OPT) {
			/* OPT: the front end adds its own. Only droppable when last (nothing after
			 * it can point into or past it). */
			if (i != total - 1 || i < counts[0] + counts[1] || pos + rdlen != len ||
			    wire[rr] != 0)
				return VG_EFORMAT;
			end = rr;
			pos += rdlen;
			break;
		}
		uint32_t t = vg_cache_ttl_clamp(h.ttl, lo, hi);
		if (t < min_ttl)
			min_ttl = t;
		if (type == VG_TYPE_SOA && rdlen >= 22 && i >= counts[0])
			soa_min = vg_get_u32(wire + pos + rdlen - 4);
		if (type == VG_TYPE_RRSIG && rdlen >= 18) {
			int32_t left = (int32_t)(vg_get_u32(wire + pos + 8) - now);
			uint32_t l = left > 0 ? (uint32_t)left : 0;
			if (l < sig_cap)
				sig_cap = l;
		}
		offs[n++] = (uint16_t)(pos - VG_DNS_RR_FIXED + 4); /* the TTL field */
		pos += rdlen;
	}
	if (pos != len)
		return VG_EFORMAT; /* trailing garbage */
	if (n == 0)
		return -EINVAL; /* nothing says how long it may live */
	uint32_t ttl = min_ttl;
	if (negative && soa_min < ttl)
		ttl = vg_cache_ttl_clamp(soa_min, lo, hi);
	if (sig_cap < ttl)
		ttl = sig_cap;
	if (ttl == 0)
		return VG_ENOTFOUND; /* not worth storing */

	size_t wl = end;
	size_t vl = VG_CVAL_HDR + ANS_BODY + 2 * (size_t)n + wl;
	uint8_t *v = malloc(vl);
	if (!v)
		return -ENOMEM;
	struct vg_cval_hdr h = {
	    .format = VG_CACHE_FORMAT,
	    .kind = rcode == 3 ? VG_CACHE_NXDOMAIN : (counts[0] == 0 ? VG_CACHE_NODATA : 0),
	    .rank = rank,
	    .sec = sec > VG_SEC_BOGUS ? VG_SEC_INDETERMINATE : sec,
	    .flags = flags,
	    .aux = (uint16_t)n,
	    .stored_at = now,
	    .ttl = ttl,
	    .used_at = now,
	};
	vg_cval_hdr_encode(v, &h);
	uint8_t *b = v + VG_CVAL_HDR;
	vg_put_u16(b, (uint16_t)wl);
	vg_put_u16(b + 2, (uint16_t)qlen);
	for (unsigned i = 0; i < n; i++)
		vg_put_u16(b + ANS_BODY + 2 * i, offs[i]);
	uint8_t *w = b + ANS_BODY + 2 * n;
	memcpy(w, wire, wl);
	vg_put_u16(w, 0);
	if (end != len)
		vg_put_u16(w + 10, (uint16_t)(vg_get_u16(w + 10) - 1));
	vg_name_lower(w + 12);
	for (unsigned i = 0; i < n; i++) {
		uint32_t t = vg_cache_ttl_clamp(vg_get_u32(w + offs[i]), lo, hi);
		/* Negative answers show one TTL (RFC 2308 §5); positive ones keep their own, but
		 * none outlives a signature. */
		if (negative)
			t = ttl;
		else if (t > sig_cap)
			t = sig_cap;
		vg_put_u32(w + offs[i], t);
	}
	*val = v;
	*vlen = vl;
	return 0;
}

bool vg_answer_valid(const uint8_t *v, size_t len)
{
	struct vg_cval_hdr h;
	if (vg_cval_hdr_decode(v, len, &h) < 0 || len < VG_CVAL_HDR + ANS_BODY)
		return false;
	const uint8_t *b = v + VG_CVAL_HDR;
	size_t wl = vg_get_u16(b), ql = vg_get_u16(b + 2), n = h.aux;
	if (len != VG_CVAL_HDR + ANS_BODY + 2 * n + wl || 12 + ql > wl)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t off = vg_get_u16(b + ANS_BODY + 2 * i);
		if (off + 4 > wl || off < 12 + ql)
			return false;
	}
	return true;
}

int vg_cache_answer_put(struct vg_cache *c, const uint8_t *qname, uint16_t qtype, bool do_bit,
			bool cd_bit, const uint8_t *wire, size_t len, uint8_t rank, uint8_t sec,
			uint8_t flags, uint32_t now)
{
	uint8_t key[VG_CKEY_MAX];
	int kl = vg_ckey_answer(key, qname, qtype, do_bit, cd_bit);
	if (kl < 0)
		return VG_EFORMAT;
	uint8_t *v;
	size_t vl;
	int rc = vg_answer_encode(&c->o, wire, len, qname, rank, sec, flags, now, &v, &vl);
	if (rc == VG_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	struct vg_cop *op = vg_cop_new(VG_COP_PUT_ANSWER, (size_t)kl, vl);
	if (!op) {
		free(v);
		return -ENOMEM;
	}
	op->now = now;
	memcpy(op->data, key, (size_t)kl);
	memcpy(op->data + kl, v, vl);
	free(v);
	return vg_cache_enqueue(c, op);
}

int vg_cache_answer_get(struct vg_cache_reader *rd, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, bool do_bit, bool cd_bit, uint16_t id, uint32_t now,
			uint8_t *out, size_t cap, size_t *outlen, unsigned *flags,
			int allow_stale_secs)
{
	if (vg_fails(rd->active))
		return -EINVAL;
	struct vg_cache *c = rd->c;
	uint8_t key[VG_CKEY_MAX];
	int kl = vg_ckey_answer(key, qname, qtype, do_bit, cd_bit);
	if (kl < 0)
		return VG_ENOTFOUND;
	MDB_val k = {.mv_size = (size_t)kl, .mv_data = key}, v;
	if (mdb_get(rd->txn, c->dbi_answer, &k, &v) != 0)
		return VG_ENOTFOUND;
	const uint8_t *p = v.mv_data;
	struct vg_cval_hdr h;
	if (vg_cval_hdr_decode(p, v.mv_size, &h) < 0 || v.mv_size < VG_CVAL_HDR + ANS_BODY)
		goto corrupt;
	const uint8_t *b = p + VG_CVAL_HDR;
	size_t wl = vg_get_u16(b);
	size_t ql = vg_get_u16(b + 2);
	size_t n = h.aux;
	if (v.mv_size != VG_CVAL_HDR + ANS_BODY + 2 * n + wl || ql != qname_len || 12 + ql > wl)
		goto corrupt;

	unsigned fl;
	uint32_t age;
	if (vg_cval_fresh(&h, now, allow_stale_secs, c->o.stale_max, &age, &fl) < 0)
		return VG_ESTALE;
	bool stale = fl & VG_CACHE_STALE;
	if (wl > cap)
		return VG_ESPACE;
	const uint8_t *offs = b + ANS_BODY;
	memcpy(out, offs + 2 * n, wl);
	vg_put_u16(out, id);
	memcpy(out + 12, qname, ql);
	for (size_t i = 0; i < n; i++) {
		size_t off = vg_get_u16(offs + 2 * i);
		if (off + 4 > wl || off < 12 + ql)
			goto corrupt;
		uint32_t t = vg_get_u32(out + off);
		if (t > VG_CACHE_TTL_LIMIT)
			goto corrupt; /* never stored: damage, and not a TTL to hand a client */
		t = stale ? VG_CACHE_STALE_TTL : (t > age ? t - age : 0);
		vg_put_u32(out + off, t);
	}
	*outlen = wl;
	if (flags)
		*flags = fl;
	if (now - h.used_at >= VG_CACHE_TOUCH_SECS && now > h.used_at)
		vg_cache_touch(rd, true, key, (size_t)kl, &h, now);
	return 0;
corrupt:
	atomic_fetch_add(&c->st_corrupt, 1);
	return VG_ENOTFOUND;
}
