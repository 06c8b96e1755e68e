/* DNSSEC denial of existence: NSEC (RFC 4035, 6840) and NSEC3 (RFC 5155, 9276) proofs for
 * NXDOMAIN, NODATA, wildcard answers and insecure delegations, and RFC 8198's question "does
 * this proof deny (name, type)?". The records were verified by the caller; this file only
 * reasons about names, hashes and type bitmaps. */
#include <ldns/sha1.h>
#include <string.h>
#include <vigil/name.h>
#include <vigil/resolver.h>
#include "dnssec_impl.h"

#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_DNAME 39
#define T_DS 43
#define T_NSEC 47
#define T_NSEC3 50
#define HASH_LEN 20 /* NSEC3 hash algorithm 1, SHA-1 */

int vg_dnssec_name_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[128], *lb[128];
	int na = 0, nb = 0;
	for (const uint8_t *p = a; *p && na < 128; p += 1 + *p)
		la[na++] = p;
	for (const uint8_t *p = b; *p && nb < 128; p += 1 + *p)
		lb[nb++] = p;
	while (na > 0 && nb > 0) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		size_t n = x[0] < y[0] ? x[0] : y[0];
		for (size_t i = 1; i <= n; i++) {
			uint8_t cx = x[i] >= 'A' && x[i] <= 'Z' ? x[i] | 0x20 : x[i];
			uint8_t cy = y[i] >= 'A' && y[i] <= 'Z' ? y[i] | 0x20 : y[i];
			if (cx != cy)
				return cx < cy ? -1 : 1;
		}
		if (x[0] != y[0])
			return x[0] < y[0] ? -1 : 1;
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

bool vg_dnssec_bitmap_has(const uint8_t *bm, size_t len, uint16_t type)
{
	size_t i = 0;
	while (i + 2 <= len) {
		uint8_t win = bm[i], bl = bm[i + 1];
		if (bl == 0 || bl > 32 || i + 2 + bl > len)
			return false;
		if (win == type >> 8) {
			unsigned byte = (type & 0xFF) >> 3;
			return byte < bl && (bm[i + 2 + byte] & (0x80 >> (type & 7)));
		}
		i += 2 + (size_t)bl;
	}
	return false;
}

/* Labels two names share from the right. */
static int common_labels(const uint8_t *a, const uint8_t *b)
{
	int la = vg_name_labels(a), lb = vg_name_labels(b);
	int n = la < lb ? la : lb;
	while (n > 0 && !vg_name_eq(vg_name_suffix(a, n), vg_name_suffix(b, n)))
		n--;
	return n;
}

bool vg_dnssec_wildcard_of(const uint8_t *name, int labels, uint8_t *out)
{
	const uint8_t *s = vg_name_suffix(name, labels);
	int sl = vg_name_len(s, VG_NAME_MAX);
	if (sl < 0 || sl + 2 > VG_NAME_MAX)
		return false;
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, s, (size_t)sl);
	return true;
}

/* Every RRSIG that covers the record is by `zone` (RFC 4035 5.3.1: the signer is the apex of the
 * zone that holds the record). */
static bool signed_by_zone(const struct vg_rrset_view *r, const uint8_t *zone)
{
	size_t n = r->n_sig < VG_DNSSEC_SIGS_MAX ? r->n_sig : VG_DNSSEC_SIGS_MAX;
	for (size_t i = 0; i < n; i++) {
		struct vg_rrsig s;
		if (!vg_dnssec_parse_rrsig(&r->sig[i], &s))
			return false;
		if (s.covered == r->type && !vg_name_eq(s.signer, zone))
			return false;
	}
	return true;
}

/* ---- NSEC ---- */

struct nsec {
	const uint8_t *owner, *next, *bm;
	size_t bmlen;
};

static size_t collect_nsec(const uint8_t *zone, const struct vg_rrset_view *v, size_t n,
			   struct nsec *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < VG_DNSSEC_PROOF_MAX; i++) {
		if (v[i].type != T_NSEC || v[i].n_rd == 0)
			continue;
		const struct vg_rdata_ref *r = &v[i].rd[0];
		int nl = vg_name_len(r->data, r->len);
		if (nl < 0 || !vg_name_in_zone(v[i].owner, zone) ||
		    !vg_name_in_zone(r->data, zone) || !signed_by_zone(&v[i], zone))
			continue;
		out[k].owner = v[i].owner;
		out[k].next = r->data;
		out[k].bm = r->data + nl;
		out[k].bmlen = r->len - (size_t)nl;
		k++;
	}
	return k;
}

static bool nsec_has(const struct nsec *s, uint16_t t)
{
	return vg_dnssec_bitmap_has(s->bm, s->bmlen, t);
}

/* A parent-side record at a zone cut (NS without SOA) or a DNAME: names below its owner are not
 * in this zone's data, so it cannot deny them (RFC 6840 4.1). */
static bool nsec_cuts_below(const struct nsec *s)
{
	return (nsec_has(s, T_NS) && !nsec_has(s, T_SOA)) || nsec_has(s, T_DNAME);
}

/* The NSEC proves `name` does not exist: owner < name < next (next at the apex closes the
 * chain), name is not an empty non-terminal above `next`, and no cut or DNAME at an ancestor. */
static bool nsec_denies_name(const struct nsec *s, const uint8_t *name)
{
	if (vg_dnssec_name_cmp(s->owner, name) >= 0)
		return false;
	bool last = vg_dnssec_name_cmp(s->next, s->owner) <= 0;
	if (!last && vg_dnssec_name_cmp(name, s->next) >= 0)
		return false;
	if (vg_name_in_zone(s->next, name))
		return false; /* name is an empty non-terminal */
	if (vg_name_in_zone(name, s->owner) && nsec_cuts_below(s))
		return false;
	return true;
}

/* Closest encloser of a name an NSEC denies: the longer of its common suffixes with the owner
 * and with the next name (RFC 4035 5.4). */
static int nsec_ce_labels(const struct nsec *s, const uint8_t *name)
{
	int a = common_labels(name, s->owner), b = common_labels(name, s->next);
	return a > b ? a : b;
}

static const struct nsec *nsec_denying(const struct nsec *s, size_t n, const uint8_t *name)
{
	for (size_t i = 0; i < n; i++)
		if (nsec_denies_name(&s[i], name))
			return &s[i];
	return NULL;
}

static const struct nsec *nsec_at(const struct nsec *s, size_t n, const uint8_t *name)
{
	for (size_t i = 0; i < n; i++)
		if (vg_name_eq(s[i].owner, name))
			return &s[i];
	return NULL;
}

/* qname denied; *out_ce = labels of its closest encloser. */
static bool nsec_nxname(const struct nsec *s, size_t n, const uint8_t *zone, const uint8_t *qname,
			int *out_ce)
{
	const struct nsec *c = nsec_denying(s, n, qname);
	if (!c)
		return false;
	int ce = nsec_ce_labels(c, qname);
	if (ce < vg_name_labels(zone))
		return false;
	*out_ce = ce;
	return true;
}

/* ---- NSEC3 ---- */

struct nsec3 {
	uint8_t hash[HASH_LEN];
	const uint8_t *next, *bm;
	size_t bmlen;
	bool opt_out;
};

struct n3set {
	struct nsec3 r[VG_DNSSEC_PROOF_MAX];
	size_t n;
	uint16_t iter;
	const uint8_t *salt;
	uint8_t salt_len;
	/* hashes computed for this proof, by (wildcard?, labels of qname kept) */
	struct {
		const uint8_t *name;
		uint8_t h[HASH_LEN];
	} memo[16];
	size_t n_memo;
};

static int b32hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'v')
		return c - 'a' + 10;
	return -1;
}

/* The first label of an NSEC3 owner: 32 base32hex characters = 20 hash bytes. */
static bool b32hex_label(const uint8_t *label, uint8_t *out)
{
	if (label[0] != 32)
		return false;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (int i = 1; i <= 32; i++) {
		int v = b32hex_val(label[i]);
		if (v < 0)
			return false;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o == HASH_LEN;
}

enum n3_state { N3_OK, N3_NONE, N3_UNKNOWN_ALG, N3_TOO_MANY_ITER };

static enum n3_state collect_nsec3(const struct vg_validator *v, const uint8_t *zone,
				   const struct vg_rrset_view *in, size_t n, struct n3set *out)
{
	bool unknown = false, params = false, over = false;
	int zl = vg_name_labels(zone);
	out->n = 0;
	out->n_memo = 0;
	for (size_t i = 0; i < n && out->n < VG_DNSSEC_PROOF_MAX; i++) {
		if (in[i].type != T_NSEC3 || in[i].n_rd == 0)
			continue;
		const struct vg_rdata_ref *r = &in[i].rd[0];
		const uint8_t *d = r->data;
		/* owner = one hash label directly below the zone apex */
		if (vg_name_labels(in[i].owner) != zl + 1 ||
		    !vg_name_eq(vg_name_suffix(in[i].owner, zl), zone) ||
		    !signed_by_zone(&in[i], zone))
			continue;
		/* Unknown hash algorithm or flags: ignored (RFC 5155 8.1, 8.2). */
		if (r->len >= 5 && d[0] != 1)
			unknown = true;
		if (r->len < 5 || d[0] != 1 || (d[1] & ~1u) != 0)
			continue;
		size_t sl = d[4];
		if (r->len < 5 + sl + 1 || d[5 + sl] != HASH_LEN || r->len < 6 + sl + HASH_LEN)
			continue;
		uint16_t iter = vg_get_u16(d + 2);
		if (!params) {
			params = true;
			out->iter = iter;
			out->salt = d + 5;
			out->salt_len = (uint8_t)sl;
		} else if (iter != out->iter || sl != out->salt_len ||
			   memcmp(d + 5, out->salt, sl) != 0) {
			continue; /* one parameter set per proof */
		}
		if (iter > v->lim.nsec3_max_iterations) {
			over = true;
			continue;
		}
		struct nsec3 *x = &out->r[out->n];
		if (!b32hex_label(in[i].owner, x->hash))
			continue;
		x->opt_out = d[1] & 1;
		x->next = d + 6 + sl;
		x->bm = x->next + HASH_LEN;
		x->bmlen = r->len - (6 + sl + HASH_LEN);
		out->n++;
	}
	if (over && out->n == 0)
		return N3_TOO_MANY_ITER;
	if (out->n)
		return N3_OK;
	return unknown && !params ? N3_UNKNOWN_ALG : N3_NONE;
}

/* RFC 5155 5: IH(salt, x, 0) = H(x || salt), IH(k) = H(IH(k-1) || salt), over the lowercased
 * wire name. Counted against the request's hash budget; false when over it. */
static bool n3_hash(struct vg_validator *v, struct vg_dnssec_work *w, struct n3set *s,
		    const uint8_t *name, uint8_t *out)
{
	for (size_t i = 0; i < s->n_memo; i++) {
		if (vg_name_eq(s->memo[i].name, name)) {
			memcpy(out, s->memo[i].h, HASH_LEN);
			return true;
		}
	}
	if (w->hashes >= v->lim.hash_max)
		return false;
	w->hashes++;
	uint8_t lc[VG_NAME_MAX];
	int nl = vg_name_len(name, VG_NAME_MAX);
	memcpy(lc, name, (size_t)nl);
	vg_name_lower(lc);
	ldns_sha1_ctx c;
	ldns_sha1_init(&c);
	ldns_sha1_update(&c, lc, (unsigned)nl);
	ldns_sha1_update(&c, s->salt, s->salt_len);
	ldns_sha1_final(out, &c);
	for (unsigned k = 0; k < s->iter; k++) {
		ldns_sha1_init(&c);
		ldns_sha1_update(&c, out, HASH_LEN);
		ldns_sha1_update(&c, s->salt, s->salt_len);
		ldns_sha1_final(out, &c);
	}
	if (s->n_memo < sizeof(s->memo) / sizeof(s->memo[0])) {
		s->memo[s->n_memo].name = name;
		memcpy(s->memo[s->n_memo].h, out, HASH_LEN);
		s->n_memo++;
	}
	return true;
}

bool vg_dnssec_nsec3_hash(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *rd,
			  size_t len, const uint8_t *name, uint8_t *out)
{
	if (len < 5 || rd[0] != 1 || (size_t)5 + rd[4] > len ||
	    vg_get_u16(rd + 2) > v->lim.nsec3_max_iterations)
		return false;
	struct n3set s;
	s.n_memo = 0;
	s.iter = vg_get_u16(rd + 2);
	s.salt = rd + 5;
	s.salt_len = rd[4];
	return n3_hash(v, w, &s, name, out);
}

static const struct nsec3 *n3_match(const struct n3set *s, const uint8_t *h)
{
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->r[i].hash, h, HASH_LEN) == 0)
			return &s->r[i];
	return NULL;
}

static const struct nsec3 *n3_cover(const struct n3set *s, const uint8_t *h)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct nsec3 *r = &s->r[i];
		int a = memcmp(r->hash, h, HASH_LEN), b = memcmp(h, r->next, HASH_LEN);
		bool last = memcmp(r->next, r->hash, HASH_LEN) <= 0;
		if (last ? (a < 0 || b < 0) : (a < 0 && b < 0))
			return r;
	}
	return NULL;
}

static bool n3_has(const struct nsec3 *r, uint16_t t)
{
	return vg_dnssec_bitmap_has(r->bm, r->bmlen, t);
}

enum ce_result { CE_OK, CE_FAIL, CE_LIMIT, CE_EXISTS };

/* Closest encloser proof (RFC 5155 8.3): the deepest ancestor of qname with a matching NSEC3
 * (not a parent-side cut or DNAME), and an NSEC3 covering the next closer name. */
static enum ce_result n3_closest_encloser(struct vg_validator *v, struct vg_dnssec_work *w,
					  struct n3set *s, const uint8_t *zone,
					  const uint8_t *qname, int *ce_labels,
					  const struct nsec3 **nc_cover)
{
	int ql = vg_name_labels(qname), zl = vg_name_labels(zone);
	uint8_t h[HASH_LEN];
	for (int l = ql; l >= zl; l--) {
		const uint8_t *sname = vg_name_suffix(qname, l);
		if (!n3_hash(v, w, s, sname, h))
			return CE_LIMIT;
		const struct nsec3 *m = n3_match(s, h);
		if (!m)
			continue;
		if (l == ql)
			return CE_EXISTS;
		if ((n3_has(m, T_NS) && !n3_has(m, T_SOA)) || n3_has(m, T_DNAME))
			return CE_FAIL;
		if (!n3_hash(v, w, s, vg_name_suffix(qname, l + 1), h))
			return CE_LIMIT;
		*nc_cover = n3_cover(s, h);
		if (!*nc_cover)
			return CE_FAIL;
		*ce_labels = l;
		return CE_OK;
	}
	return CE_FAIL;
}

/* ---- the proofs ---- */

static void proved(struct vg_dnssec_result *res, const char *why)
{
	vg_dnssec_set_result(res, VG_DNSSEC_SECURE, VG_EDE_NONE, why);
}

static void not_proved(struct vg_dnssec_result *res, const char *why)
{
	vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_NSEC_MISSING, why);
}

/* The proof needs a name absent that an NSEC3 opt-out span covers: an unsigned delegation (and
 * the empty non-terminals above it, RFC 5155 7.1) may hide there, so nothing is provably
 * absent: insecure (RFC 5155 9.2). */
static void opt_out_span(struct vg_dnssec_result *res)
{
	vg_dnssec_set_result(res, VG_DNSSEC_INSECURE, VG_EDE_NONE, "NSEC3 opt-out covers the name");
	res->opt_out = true;
}

/* Loads the NSEC3 set when there is one; returns false after filling res when the NSEC3 kind
 * decides the result by itself (unknown algorithm, too many iterations). *use3 says NSEC3. */
static bool load(const struct vg_validator *v, const uint8_t *zone, const struct vg_rrset_view *in,
		 size_t n, struct n3set *s3, struct nsec *s1, size_t *n1, bool *use3,
		 struct vg_dnssec_result *res)
{
	enum n3_state st = collect_nsec3(v, zone, in, n, s3);
	*use3 = st != N3_NONE;
	*n1 = 0;
	if (st == N3_UNKNOWN_ALG) {
		vg_dnssec_set_result(res, VG_DNSSEC_INSECURE, VG_EDE_NONE,
				     "NSEC3 with unknown hash algorithm");
		return false;
	}
	if (st == N3_TOO_MANY_ITER) {
		vg_dnssec_set_result(res, VG_DNSSEC_INSECURE, VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS,
				     vg_dnssec_insecure_why(VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS));
		return false;
	}
	if (!*use3)
		*n1 = collect_nsec(zone, in, n, s1);
	return true;
}

static void limit_hit(struct vg_dnssec_result *res)
{
	vg_dnssec_set_result(res, VG_DNSSEC_INDETERMINATE, VG_EDE_OTHER,
			     "NSEC3 hash limit reached");
}

void vg_dnssec_prove_nxdomain(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *zone,
			      const uint8_t *qname, const struct vg_rrset_view *nsec, size_t n,
			      struct vg_dnssec_result *res)
{
	struct n3set s3;
	struct nsec s1[VG_DNSSEC_PROOF_MAX];
	size_t n1;
	bool use3;
	uint8_t wc[VG_NAME_MAX + 2];
	if (!vg_name_in_zone(qname, zone)) {
		not_proved(res, "name outside the proof's zone");
		return;
	}
	if (!load(v, zone, nsec, n, &s3, s1, &n1, &use3, res))
		return;
	if (!use3) {
		int ce;
		if (!nsec_nxname(s1, n1, zone, qname, &ce)) {
			not_proved(res, "no NSEC denies the name");
			return;
		}
		if (!vg_dnssec_wildcard_of(qname, ce, wc) || nsec_at(s1, n1, wc) ||
		    !nsec_denying(s1, n1, wc)) {
			not_proved(res, "no NSEC denies the wildcard");
			return;
		}
		proved(res, "NSEC NXDOMAIN proof");
		return;
	}
	int ce;
	const struct nsec3 *nc;
	uint8_t h[HASH_LEN];
	switch (n3_closest_encloser(v, w, &s3, zone, qname, &ce, &nc)) {
	case CE_LIMIT:
		limit_hit(res);
		return;
	case CE_EXISTS:
		not_proved(res, "an NSEC3 matches the name");
		return;
	case CE_FAIL:
		not_proved(res, "no NSEC3 closest encloser proof");
		return;
	case CE_OK:
		break;
	}
	if (!vg_dnssec_wildcard_of(qname, ce, wc) || !n3_hash(v, w, &s3, wc, h)) {
		limit_hit(res);
		return;
	}
	if (!n3_cover(&s3, h)) {
		not_proved(res, "no NSEC3 covers the wildcard");
		return;
	}
	if (nc->opt_out) {
		opt_out_span(res);
		return;
	}
	proved(res, "NSEC3 NXDOMAIN proof");
}

/* The NSEC or NSEC3 (`kind`) whose owner is qname, with type bitmap bm, proves qtype absent:
 * not in the bitmap, no CNAME; for DS only from the parent side of a cut (no SOA, zone above
 * qname), for other types not from the parent side (NS without SOA). */
static void bitmap_nodata(const uint8_t *bm, size_t bl, const uint8_t *zone, const uint8_t *qname,
			  uint16_t qtype, const char *kind, struct vg_dnssec_result *res)
{
	bool soa = vg_dnssec_bitmap_has(bm, bl, T_SOA), ns = vg_dnssec_bitmap_has(bm, bl, T_NS);
	if (qtype == T_DS && (vg_name_eq(zone, qname) || soa))
		not_proved(res, "DS denial from the child side");
	else if (qtype != T_DS && ns && !soa)
		not_proved(res, "a record at a delegation denies only DS");
	else if (vg_dnssec_bitmap_has(bm, bl, qtype) || vg_dnssec_bitmap_has(bm, bl, T_CNAME))
		not_proved(res, "the type bitmap has the type");
	else
		proved(res, kind[4] ? "NSEC3 NODATA proof" : "NSEC NODATA proof");
}

static void nsec_nodata(const struct nsec *s1, size_t n1, const uint8_t *zone, const uint8_t *qname,
			uint16_t qtype, struct vg_dnssec_result *res)
{
	const struct nsec *m = nsec_at(s1, n1, qname);
	if (m) {
		bitmap_nodata(m->bm, m->bmlen, zone, qname, qtype, "NSEC", res);
		return;
	}
	/* Empty non-terminal: an NSEC around qname whose next name lies below it. */
	for (size_t i = 0; i < n1; i++) {
		const struct nsec *c = &s1[i];
		bool last = vg_dnssec_name_cmp(c->next, c->owner) <= 0;
		if (vg_dnssec_name_cmp(c->owner, qname) < 0 && !last &&
		    vg_dnssec_name_cmp(qname, c->next) < 0 && vg_name_in_zone(c->next, qname) &&
		    !vg_name_eq(c->next, qname)) {
			proved(res, "NSEC empty non-terminal proof");
			return;
		}
	}
	/* Wildcard NODATA: qname denied, the wildcard at its closest encloser lacks the type. */
	int ce;
	uint8_t wc[VG_NAME_MAX + 2];
	const struct nsec *wm;
	if (nsec_nxname(s1, n1, zone, qname, &ce) && vg_dnssec_wildcard_of(qname, ce, wc) &&
	    (wm = nsec_at(s1, n1, wc)) && !nsec_has(wm, qtype) && !nsec_has(wm, T_CNAME)) {
		proved(res, "NSEC wildcard NODATA proof");
		return;
	}
	not_proved(res, "no NSEC proves NODATA");
}

void vg_dnssec_prove_nodata(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *zone,
			    const uint8_t *qname, uint16_t qtype, const struct vg_rrset_view *nsec,
			    size_t n, struct vg_dnssec_result *res)
{
	struct n3set s3;
	struct nsec s1[VG_DNSSEC_PROOF_MAX];
	size_t n1;
	bool use3;
	if (!vg_name_in_zone(qname, zone)) {
		not_proved(res, "name outside the proof's zone");
		return;
	}
	if (!load(v, zone, nsec, n, &s3, s1, &n1, &use3, res))
		return;
	if (!use3) {
		nsec_nodata(s1, n1, zone, qname, qtype, res);
		return;
	}
	uint8_t h[HASH_LEN];
	if (!n3_hash(v, w, &s3, qname, h)) {
		limit_hit(res);
		return;
	}
	const struct nsec3 *m = n3_match(&s3, h);
	if (m) {
		bitmap_nodata(m->bm, m->bmlen, zone, qname, qtype, "NSEC3", res);
		return;
	}
	int ce;
	const struct nsec3 *nc;
	switch (n3_closest_encloser(v, w, &s3, zone, qname, &ce, &nc)) {
	case CE_LIMIT:
		limit_hit(res);
		return;
	case CE_EXISTS: /* not reached: qname had no match */
	case CE_FAIL:
		not_proved(res, "no NSEC3 closest encloser proof");
		return;
	case CE_OK:
		break;
	}
	if (qtype == T_DS && nc->opt_out) {
		/* RFC 5155 8.6: no DS under an opt-out span, the delegation is unsigned. */
		vg_dnssec_set_result(res, VG_DNSSEC_INSECURE, VG_EDE_NONE,
				     "NSEC3 opt-out covers the DS name");
		res->opt_out = true;
		return;
	}
	uint8_t wc[VG_NAME_MAX + 2];
	if (!vg_dnssec_wildcard_of(qname, ce, wc) || !n3_hash(v, w, &s3, wc, h)) {
		limit_hit(res);
		return;
	}
	const struct nsec3 *wm = n3_match(&s3, h);
	if (wm && !n3_has(wm, qtype) && !n3_has(wm, T_CNAME)) {
		proved(res, "NSEC3 wildcard NODATA proof");
		/* The next closer name is only covered: under opt-out an unsigned delegation may
		 * be there (RFC 5155 9.2), so the proof is no proof of absence (insecure). */
		res->opt_out = nc->opt_out;
		return;
	}
	if (nc->opt_out) {
		opt_out_span(res);
		return;
	}
	not_proved(res, "no NSEC3 proves NODATA");
}

void vg_dnssec_prove_wildcard(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *zone,
			      const uint8_t *qname, uint8_t labels,
			      const struct vg_rrset_view *nsec, size_t n,
			      struct vg_dnssec_result *res)
{
	struct n3set s3;
	struct nsec s1[VG_DNSSEC_PROOF_MAX];
	size_t n1;
	bool use3;
	int ql = vg_name_labels(qname);
	if (!vg_name_in_zone(qname, zone) || labels >= ql || labels < vg_name_labels(zone)) {
		not_proved(res, "not a wildcard expansion in the zone");
		return;
	}
	if (!load(v, zone, nsec, n, &s3, s1, &n1, &use3, res))
		return;
	if (!use3) {
		int ce;
		if (!nsec_nxname(s1, n1, zone, qname, &ce) || ce != labels) {
			not_proved(res, "no NSEC denies a closer match than the wildcard");
			return;
		}
		proved(res, "NSEC wildcard answer proof");
		return;
	}
	uint8_t h[HASH_LEN];
	if (!n3_hash(v, w, &s3, vg_name_suffix(qname, labels + 1), h)) {
		limit_hit(res);
		return;
	}
	const struct nsec3 *c = n3_cover(&s3, h);
	if (!c) {
		not_proved(res, "no NSEC3 covers the next closer name");
		return;
	}
	proved(res, "NSEC3 wildcard answer proof");
	res->opt_out = c->opt_out;
}

void vg_dnssec_prove_insecure_delegation(struct vg_validator *v, struct vg_dnssec_work *w,
					 const uint8_t *zone, const uint8_t *child,
					 const struct vg_rrset_view *nsec, size_t n,
					 struct vg_dnssec_result *res)
{
	struct n3set s3;
	struct nsec s1[VG_DNSSEC_PROOF_MAX];
	size_t n1;
	bool use3;
	if (!vg_name_in_zone(child, zone) || vg_name_eq(child, zone)) {
		not_proved(res, "delegation not below the zone");
		return;
	}
	if (!load(v, zone, nsec, n, &s3, s1, &n1, &use3, res))
		return;
	if (!use3) {
		const struct nsec *m = nsec_at(s1, n1, child);
		if (m && nsec_has(m, T_NS) && !nsec_has(m, T_DS) && !nsec_has(m, T_SOA)) {
			proved(res, "NSEC insecure delegation proof");
			return;
		}
		not_proved(res, "no NSEC proves the delegation unsigned");
		return;
	}
	uint8_t h[HASH_LEN];
	if (!n3_hash(v, w, &s3, child, h)) {
		limit_hit(res);
		return;
	}
	const struct nsec3 *m = n3_match(&s3, h);
	if (m) {
		if (n3_has(m, T_NS) && !n3_has(m, T_DS) && !n3_has(m, T_SOA))
			proved(res, "NSEC3 insecure delegation proof");
		else
			not_proved(res, "the NSEC3 at the delegation has DS or no NS");
		return;
	}
	int ce;
	const struct nsec3 *nc;
	switch (n3_closest_encloser(v, w, &s3, zone, child, &ce, &nc)) {
	case CE_LIMIT:
		limit_hit(res);
		return;
	case CE_OK:
		if (nc->opt_out) {
			proved(res, "NSEC3 opt-out insecure delegation proof");
			res->opt_out = true;
			return;
		}
		break;
	default:
		break;
	}
	not_proved(res, "no NSEC3 proves the delegation unsigned");
}

/* RFC 8198 5.3: qname is denied and the wildcard at its closest encloser exists with qtype (or a
 * CNAME): the answer is that wildcard's RRset, expanded. Writes the wildcard's name. */
static bool wildcard_answers(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *zone,
			     const uint8_t *qname, uint16_t qtype, const struct vg_rrset_view *nsec,
			     size_t n, uint8_t *out)
{
	struct n3set s3;
	struct nsec s1[VG_DNSSEC_PROOF_MAX];
	size_t n1;
	bool use3;
	int ce;
	uint8_t wc[VG_NAME_MAX + 2];
	struct vg_dnssec_result res;
	if (!vg_name_in_zone(qname, zone) || !load(v, zone, nsec, n, &s3, s1, &n1, &use3, &res))
		return false;
	if (!use3) {
		const struct nsec *m;
		if (!nsec_nxname(s1, n1, zone, qname, &ce) ||
		    !vg_dnssec_wildcard_of(qname, ce, wc) || !(m = nsec_at(s1, n1, wc)) ||
		    !(nsec_has(m, qtype) || nsec_has(m, T_CNAME)))
			return false;
	} else {
		const struct nsec3 *nc, *m;
		uint8_t h[HASH_LEN];
		if (n3_closest_encloser(v, w, &s3, zone, qname, &ce, &nc) != CE_OK || nc->opt_out ||
		    !vg_dnssec_wildcard_of(qname, ce, wc) || !n3_hash(v, w, &s3, wc, h) ||
		    !(m = n3_match(&s3, h)) || !(n3_has(m, qtype) || n3_has(m, T_CNAME)))
			return false;
	}
	if (out)
		memcpy(out, wc, (size_t)vg_name_len(wc, VG_NAME_MAX));
	return true;
}

enum vg_dnssec_denial vg_dnssec_denies(struct vg_validator *v, struct vg_dnssec_work *w,
				       const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
				       const struct vg_rrset_view *nsec, size_t n,
				       uint8_t *wildcard)
{
	struct vg_dnssec_result r;
	vg_dnssec_prove_nxdomain(v, w, zone, qname, nsec, n, &r);
	if (r.status == VG_DNSSEC_SECURE && !r.opt_out)
		return VG_DENY_NXDOMAIN;
	vg_dnssec_prove_nodata(v, w, zone, qname, qtype, nsec, n, &r);
	if (r.status == VG_DNSSEC_SECURE && !r.opt_out)
		return VG_DENY_NODATA;
	if (wildcard_answers(v, w, zone, qname, qtype, nsec, n, wildcard))
		return VG_DENY_WILDCARD;
	return VG_DENY_NONE;
}
