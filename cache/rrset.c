/* The rrset DB: value codec for positive and negative entries, lookups and the zone-cut walk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "impl.h"
#include "vigil/err.h"
#include "vigil/log.h"

/* Body after the common header (format 3): u16 rdata_len, rdata, sigs (the rest of the value).
 * Positive entries: rdata and sigs are sequences of (u16 rdlen, rdata). Negative entries: rdata =
 * SOA owner || u16 rdlen || SOA rdata, sigs = proof RRs in full uncompressed wire form. The
 * record counts are not stored: every read walks the lengths to check them anyway, and the walk
 * counts them (format 2 kept u16 counts and u32 lengths, 10 bytes more per entry). */
#define RS_BODY VG_CRS_BODY

/* The number of (u16 rdlen, rdata) making up exactly `len` bytes, or -1. */
static int rdata_seq_count(const uint8_t *p, size_t len)
{
	size_t pos = 0;
	int n = 0;
	while (pos < len) {
		if (pos + 2 > len)
			return -1;
		pos += 2 + (size_t)vg_get_u16(p + pos);
		n++;
	}
	return pos == len ? n : -1;
}

/* The number of full uncompressed RRs making up exactly `len` bytes, or -1. */
static int rr_seq_count(const uint8_t *p, size_t len)
{
	size_t pos = 0;
	int n = 0;
	while (pos < len) {
		int nl = vg_name_len(p + pos, len - pos);
		if (nl < 0)
			return -1;
		pos += (size_t)nl;
		struct vg_dns_rr h;
		if (vg_dns_rr_fixed(p, len, &pos, &h) < 0)
			return -1;
		pos += h.rdlen;
		n++;
	}
	return pos == len ? n : -1;
}

uint32_t vg_cache_ttl_clamp(uint32_t ttl, uint32_t lo, uint32_t hi)
{
	if (lo > hi)
		lo = hi;
	if (ttl < lo)
		return lo;
	return ttl > hi ? hi : ttl;
}

/* Seconds until the earliest RRSIG expiration (serial arithmetic), UINT32_MAX if none. */
static uint32_t sig_left(const uint8_t *sigs, size_t len, uint32_t now)
{
	uint32_t best = UINT32_MAX;
	size_t pos = 0;
	while (pos + 2 <= len) {
		size_t rl = vg_get_u16(sigs + pos);
		if (pos + 2 + rl > len)
			break;
		if (rl >= 18) {
			int32_t left = (int32_t)(vg_get_u32(sigs + pos + 2 + 8) - now);
			uint32_t l = left > 0 ? (uint32_t)left : 0;
			if (l < best)
				best = l;
		}
		pos += 2 + rl;
	}
	return best;
}

static int enqueue_rrset(struct vg_cache *c, enum vg_cop_kind kind, const uint8_t *key, int kl,
			 const struct vg_cval_hdr *h, const uint8_t *a, size_t alen,
			 const uint8_t *a2, size_t a2len, const uint8_t *a3, size_t a3len,
			 const uint8_t *s, size_t slen, uint32_t now)
{
	if (kl < 0)
		return VG_EFORMAT;
	size_t rl = alen + a2len + a3len;
	if (rl > UINT32_MAX / 2 || slen > UINT32_MAX / 2)
		return VG_EFORMAT;
	/* A lookup copies rdata and sigs into the reader's buffer: a body over VG_CACHE_READ_MAX
	 * would be stored and never found (VG_ESPACE on every read). */
	if (rl + slen > VG_CACHE_READ_MAX)
		return VG_ELIMIT;
	size_t vl = VG_CVAL_HDR + RS_BODY + rl + slen;
	struct vg_cop *op = vg_cop_new(kind, (size_t)kl, vl);
	if (!op)
		return -ENOMEM;
	op->now = now;
	memcpy(op->data, key, (size_t)kl);
	uint8_t *v = op->data + kl;
	vg_cval_hdr_encode(v, h);
	uint8_t *b = v + VG_CVAL_HDR;
	vg_put_u16(b, (uint16_t)rl); /* rl + slen <= VG_CACHE_READ_MAX, checked above */
	b += RS_BODY;
	if (alen)
		memcpy(b, a, alen);
	if (a2len)
		memcpy(b + alen, a2, a2len);
	if (a3len)
		memcpy(b + alen + a2len, a3, a3len);
	if (slen)
		memcpy(b + rl, s, slen);
	return vg_cache_enqueue(c, op);
}

int vg_cache_rrset_put(struct vg_cache *c, const struct vg_cache_rrset *rs, uint32_t now)
{
	if (!rs || !rs->owner || vg_name_len(rs->owner, VG_NAME_MAX) < 0 || rs->type == 0 ||
	    rs->type == VG_CKEY_T_DELEG || (rs->delegation && rs->type != VG_TYPE_NS))
		return VG_EFORMAT;
	if (rs->rr_count == 0 || rdata_seq_count(rs->rdata, rs->rdata_len) != rs->rr_count ||
	    rdata_seq_count(rs->sigs, rs->sigs_len) != rs->sig_count)
		return VG_EFORMAT;
	uint32_t ttl = vg_cache_ttl_clamp(rs->ttl, c->o.min_ttl, c->o.max_ttl);
	uint32_t sl = sig_left(rs->sigs, rs->sigs_len, now);
	if (sl < ttl)
		ttl = sl; /* never outlive a signature, whatever min_ttl says */
	if (ttl == 0)
		return 0;
	struct vg_cval_hdr h = {
	    .format = VG_CACHE_FORMAT,
	    .kind = VG_CACHE_POSITIVE,
	    .rank = rs->rank,
	    .sec = rs->sec > VG_SEC_BOGUS ? VG_SEC_INDETERMINATE : rs->sec,
	    .flags = rs->flags,
	    .aux = rs->rclass,
	    .stored_at = now,
	    .ttl = ttl,
	    .used_at = now,
	};
	uint16_t ktype = rs->delegation ? VG_CKEY_T_DELEG : rs->type;
	uint8_t key[VG_CKEY_MAX];
	int kl = vg_ckey_rrset(key, rs->owner, ktype);
	int rc = enqueue_rrset(c, VG_COP_PUT_RRSET, key, kl, &h, rs->rdata, rs->rdata_len, NULL, 0,
			       NULL, 0, rs->sigs, rs->sigs_len, now);
	/* A validated NSEC/NSEC3 set also goes to the NSEC index (RFC 8198), same value. */
	if (rc == 0 && h.sec == VG_SEC_SECURE && !rs->delegation &&
	    (kl = vg_nsec_index_key(key, rs->owner, rs->type, rs->sigs, rs->sigs_len)) > 0)
		rc = enqueue_rrset(c, VG_COP_PUT_NSEC, key, kl, &h, rs->rdata, rs->rdata_len, NULL,
				   0, NULL, 0, rs->sigs, rs->sigs_len, now);
	return rc;
}

int vg_cache_neg_put(struct vg_cache *c, const struct vg_cache_neg *n, uint32_t now)
{
	if (!n || !n->qname || vg_name_len(n->qname, VG_NAME_MAX) < 0 || !n->soa_owner)
		return VG_EFORMAT;
	int ol = vg_name_len(n->soa_owner, VG_NAME_MAX);
	if (ol < 0 || n->soa_rdlen < 22 || !n->soa_rdata)
		return VG_EFORMAT;
	if (rr_seq_count(n->proof, n->proof_len) != n->proof_count)
		return VG_EFORMAT;
	if (!n->nxdomain && (n->qtype == 0 || n->qtype == VG_CKEY_T_DELEG))
		return VG_EFORMAT;
	uint32_t ttl = n->soa_ttl;
	uint32_t minimum = vg_get_u32(n->soa_rdata + n->soa_rdlen - 4);
	if (minimum < ttl)
		ttl = minimum; /* RFC 2308 §5 */
	uint32_t hi = c->o.max_neg_ttl;
	ttl = vg_cache_ttl_clamp(ttl, c->o.min_ttl, hi);
	if (ttl == 0)
		return 0;
	struct vg_cval_hdr h = {
	    .format = VG_CACHE_FORMAT,
	    .kind = n->nxdomain ? VG_CACHE_NXDOMAIN : VG_CACHE_NODATA,
	    .rank = n->rank,
	    .sec = n->sec > VG_SEC_BOGUS ? VG_SEC_INDETERMINATE : n->sec,
	    .flags = n->flags,
	    .aux = n->rclass,
	    .stored_at = now,
	    .ttl = ttl,
	    .used_at = now,
	};
	uint8_t rdl[2];
	vg_put_u16(rdl, n->soa_rdlen);
	uint8_t key[VG_CKEY_MAX];
	int kl = vg_ckey_rrset(key, n->qname, n->nxdomain ? 0 : n->qtype);
	return enqueue_rrset(c, VG_COP_PUT_RRSET, key, kl, &h, n->soa_owner, (size_t)ol, rdl, 2,
			     n->soa_rdata, n->soa_rdlen, n->proof, n->proof_len, now);
}

int vg_rrset_decode(const uint8_t *v, size_t len, struct vg_cval_hdr *h, uint8_t *buf, size_t cap,
		    struct vg_cache_rrset_view *view)
{
	if (vg_cval_hdr_decode(v, len, h) < 0 || len < VG_CVAL_HDR + RS_BODY)
		return VG_ECORRUPT;
	const uint8_t *b = v + VG_CVAL_HDR;
	size_t rl = vg_get_u16(b);
	if (rl > len - VG_CVAL_HDR - RS_BODY)
		return VG_ECORRUPT;
	size_t sl = len - VG_CVAL_HDR - RS_BODY - rl;
	const uint8_t *r = b + RS_BODY, *s = r + rl;
	int nrr, nsig;
	memset(view, 0, sizeof(*view));
	if (h->kind == VG_CACHE_POSITIVE) {
		nrr = rdata_seq_count(r, rl);
		nsig = rdata_seq_count(s, sl);
		if (nrr <= 0 || nsig < 0)
			return VG_ECORRUPT;
	} else {
		int ol = vg_name_len(r, rl);
		nrr = 1;
		nsig = rr_seq_count(s, sl);
		if (ol < 0 || (size_t)ol + 2 > rl || (size_t)ol + 2 + vg_get_u16(r + ol) != rl ||
		    vg_get_u16(r + ol) < 22 || nsig < 0)
			return VG_ECORRUPT;
	}
	if (!buf)
		return 0;
	if (rl + sl > cap)
		return VG_ESPACE;
	memcpy(buf, r, rl + sl);
	view->kind = (enum vg_cache_kind)h->kind;
	view->rclass = h->aux;
	view->orig_ttl = h->ttl;
	view->stored_at = h->stored_at;
	view->rank = h->rank;
	view->sec = h->sec;
	view->flags = h->flags;
	if (h->kind == VG_CACHE_POSITIVE) {
		view->rr_count = (uint16_t)nrr;
		view->rdata = buf;
		view->rdata_len = rl;
		view->sig_count = (uint16_t)nsig;
		view->sigs = buf + rl;
		view->sigs_len = sl;
	} else {
		int ol = vg_name_len(buf, rl);
		view->soa_owner = buf;
		view->soa_rdlen = vg_get_u16(buf + ol);
		view->soa_rdata = buf + ol + 2;
		view->proof_count = (uint16_t)nsig;
		view->proof = buf + rl;
		view->proof_len = sl;
	}
	return 0;
}

/* One exact-key lookup with the time rules. */
/* get_one with its key built (key[0..kl), the rrset key of type). */
static int get_key(struct vg_cache_reader *rd, uint8_t *key, int kl, uint16_t type, uint32_t now,
		   int allow_stale_secs, uint8_t *buf, size_t cap, struct vg_cache_rrset_view *view)
{
	struct vg_cache *c = rd->c;
	MDB_val k = {.mv_size = (size_t)kl, .mv_data = key}, v;
	if (mdb_get(rd->txn, c->dbi_rrset, &k, &v) != 0)
		return VG_ENOTFOUND;
	struct vg_cval_hdr h;
	int rc = vg_rrset_decode(v.mv_data, v.mv_size, &h, NULL, 0, view);
	if (rc < 0) {
		atomic_fetch_add(&c->st_corrupt, 1);
		return VG_ENOTFOUND;
	}
	uint32_t age;
	unsigned hint;
	if (vg_cval_fresh(&h, now, allow_stale_secs, c->o.stale_max, &age, &hint) < 0)
		return VG_ESTALE;
	uint32_t left = (hint & VG_CACHE_STALE) ? VG_CACHE_STALE_TTL : h.ttl - age;
	rc = vg_rrset_decode(v.mv_data, v.mv_size, &h, buf, cap, view);
	if (rc < 0)
		return rc;
	view->type = type;
	view->ttl = left;
	view->hint = hint;
	if (now - h.used_at >= VG_CACHE_TOUCH_SECS && now > h.used_at)
		vg_cache_touch(rd, false, key, (size_t)kl, &h, now);
	return 0;
}

static int get_one(struct vg_cache_reader *rd, const uint8_t *owner, uint16_t type, uint32_t now,
		   int allow_stale_secs, uint8_t *buf, size_t cap, struct vg_cache_rrset_view *view)
{
	uint8_t key[VG_CKEY_MAX];
	int kl = vg_ckey_rrset(key, owner, type);
	if (kl < 0)
		return VG_ENOTFOUND;
	return get_key(rd, key, kl, type, now, allow_stale_secs, buf, cap, view);
}

/* The keys of a name's ancestors from one conversion of the name (vg_ckey_rrset_at): ends[k] is
 * the length of the lookup form of the ancestor with k labels. False for a name the key format
 * cannot hold (a 0x00 byte in a label): the caller then builds each key on its own. */
struct up_walk {
	uint8_t key[VG_CKEY_MAX];
	int ends[129];
	int labels;
};

static bool walk_init(struct up_walk *w, const uint8_t *name)
{
	int n = vg_ckey_zone_prefix(w->key, name);
	if (n < 0)
		return false;
	int j = 0;
	w->ends[0] = 0;
	for (int i = 0; i < n; i++) {
		if (w->key[i] != 0)
			continue;
		if (j == 128)
			return false;
		w->ends[++j] = i + 1;
	}
	w->labels = j;
	return j == vg_name_labels(name);
}

/* get_one for the ancestor of w's name with `keep` labels. */
static int get_up(struct vg_cache_reader *rd, struct up_walk *w, int keep, uint16_t type,
		  uint32_t now, uint8_t *buf, size_t cap, struct vg_cache_rrset_view *view)
{
	int kl = vg_ckey_rrset_at(w->key, w->ends[keep], type);
	return get_key(rd, w->key, kl, type, now, 0, buf, cap, view);
}

int vg_cache_rrset_get(struct vg_cache_reader *rd, const uint8_t *owner, uint16_t type,
		       uint32_t now, int allow_stale_secs, uint8_t *buf, size_t cap,
		       struct vg_cache_rrset_view *view)
{
	if (vg_fails(rd->active))
		return -EINVAL;
	if (type == 0 || type == VG_CKEY_T_DELEG)
		return VG_ENOTFOUND; /* delegations are read by vg_cache_zonecut_find only */
	int rc = get_one(rd, owner, type, now, allow_stale_secs, buf, cap, view);
	if (rc == VG_ENOTFOUND || rc == VG_ESTALE) {
		int rc2 = get_one(rd, owner, 0, now, allow_stale_secs, buf, cap, view);
		if (rc2 == 0) {
			view->type = type;
			return 0;
		}
		if (rc2 == VG_ESPACE)
			return rc2;
	}
	return rc;
}

bool vg_cache_name_known(struct vg_cache_reader *rd, const uint8_t *owner)
{
	if (vg_fails(rd->active))
		return true; /* the caller's exact lookups decide */
	/* Every key of owner starts with its name prefix (lookup form, then a 0 byte): a
	 * descendant's keys go on with a label instead, so the prefix is owner's alone. */
	uint8_t key[VG_CKEY_MAX];
	int kl = vg_ckey_name_prefix(key, owner);
	if (kl < 0)
		return true;
	MDB_cursor *cur;
	if (mdb_cursor_open(rd->txn, rd->c->dbi_rrset, &cur) != 0)
		return true;
	MDB_val k = {.mv_size = (size_t)kl, .mv_data = key}, v;
	bool known = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size >= (size_t)kl &&
		     memcmp(k.mv_data, key, (size_t)kl) == 0;
	mdb_cursor_close(cur);
	return known;
}

int vg_cache_nxdomain_above(struct vg_cache_reader *rd, const uint8_t *name, const uint8_t *zone,
			    uint32_t now, uint8_t *owner, uint8_t *buf, size_t cap,
			    struct vg_cache_rrset_view *view)
{
	if (vg_fails(rd->active))
		return -EINVAL;
	int labels = vg_name_labels(name), zl = vg_name_labels(zone);
	if (!vg_name_in_zone(name, zone))
		return VG_ENOTFOUND;
	/* Up from the parent: one exact lookup per label; the first found is the nearest. */
	struct up_walk w;
	bool walk = walk_init(&w, name);
	for (int keep = labels - 1; keep >= zl; keep--) {
		const uint8_t *a = vg_name_suffix(name, keep);
		int rc = walk ? get_up(rd, &w, keep, 0, now, buf, cap, view)
			      : get_one(rd, a, 0, now, 0, buf, cap, view);
		if (rc == VG_ESPACE)
			return rc;
		if (rc != 0 || view->kind != VG_CACHE_NXDOMAIN)
			continue;
		memcpy(owner, a, (size_t)vg_name_len(a, VG_NAME_MAX));
		vg_name_lower(owner);
		return 0;
	}
	return VG_ENOTFOUND;
}

int vg_cache_zonecut_find(struct vg_cache_reader *rd, const uint8_t *qname, uint32_t now,
			  uint8_t *zone, uint8_t *buf, size_t cap, struct vg_cache_rrset_view *view,
			  bool *ds_known)
{
	if (vg_fails(rd->active))
		return -EINVAL;
	int labels = vg_name_labels(qname);
	/* Walk up one label at a time: each step is one B-tree lookup of name||NS; names are few
	 * (<= 127 labels) and lookups stay inside pages the snapshot already touched. */
	struct up_walk w;
	bool walk = walk_init(&w, qname);
	for (int keep = labels; keep >= 0; keep--) {
		const uint8_t *z = vg_name_suffix(qname, keep);
		/* The parent's delegation only: the child's NS RRset never makes a cut. */
		int rc = walk ? get_up(rd, &w, keep, VG_CKEY_T_DELEG, now, buf, cap, view)
			      : get_one(rd, z, VG_CKEY_T_DELEG, now, 0, buf, cap, view);
		if (rc == VG_ESPACE)
			return rc;
		if (rc != 0 || view->kind != VG_CACHE_POSITIVE)
			continue;
		view->type = 2; /* NS */
		int zl = vg_name_len(z, VG_NAME_MAX);
		memcpy(zone, z, (size_t)zl);
		vg_name_lower(zone);
		if (ds_known) {
			struct vg_cache_rrset_view dv;
			/* presence only: a NULL buffer validates without copying */
			int d = walk ? get_up(rd, &w, keep, 43 /* DS */, now, NULL, 0, &dv)
				     : get_one(rd, z, 43 /* DS */, now, 0, NULL, 0, &dv);
			*ds_known = d == 0 || d == VG_ESPACE;
		}
		return 0;
	}
	return VG_ENOTFOUND;
}
