/* DNSSEC signature checks: RRSIG over an RRset with a trusted DNSKEY RRset, and DS -> DNSKEY.
 * The signed data (RFC 4034 3.1.8.1) is built here in reused buffers; ldns does the crypto. */
#include <errno.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vigil/cache.h>
#include <vigil/name.h>
#include <vigil/resolver.h>
#include "dnssec_impl.h"

/* A verdict is stored as the cache's security status: same values, cast directly. */
_Static_assert(VG_DNSSEC_INDETERMINATE == (int)VG_SEC_INDETERMINATE &&
		   VG_DNSSEC_INSECURE == (int)VG_SEC_INSECURE &&
		   VG_DNSSEC_SECURE == (int)VG_SEC_SECURE && VG_DNSSEC_BOGUS == (int)VG_SEC_BOGUS,
	       "enum vg_dnssec_status must match enum vg_cache_sec");

#define KEY_FLAG_ZONE 0x0100
#define KEY_FLAG_REVOKE 0x0080
#define RRSIG_FIXED 18 /* type covered .. key tag */

const char *vg_dnssec_insecure_why(uint16_t ede)
{
	switch (ede) {
	case VG_EDE_UNSUPPORTED_DNSKEY_ALG:
		return "DS use only unsupported DNSKEY algorithms";
	case VG_EDE_UNSUPPORTED_DS_DIGEST:
		return "DS use only unsupported digest types";
	case VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS:
		return "NSEC3 iterations above nsec3-max-iterations";
	default:
		return NULL;
	}
}

const char *vg_dnssec_status_name(enum vg_dnssec_status s)
{
	switch (s) {
	case VG_DNSSEC_INDETERMINATE:
		return "indeterminate";
	case VG_DNSSEC_INSECURE:
		return "insecure";
	case VG_DNSSEC_SECURE:
		return "secure";
	case VG_DNSSEC_BOGUS:
		return "bogus";
	}
	return "?";
}

void vg_dnssec_limits_default(struct vg_dnssec_limits *l)
{
	l->nsec3_max_iterations = VG_DNSSEC_NSEC3_ITER_DEFAULT;
	l->keys_per_tag = VG_DNSSEC_KEYS_PER_TAG;
	l->verify_max = VG_DNSSEC_VERIFY_MAX;
	l->hash_max = VG_DNSSEC_HASH_MAX;
}

int vg_validator_new(const struct vg_dnssec_limits *lim, struct vg_validator **out)
{
	struct vg_validator *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (lim)
		v->lim = *lim;
	else
		vg_dnssec_limits_default(&v->lim);
	if (v->lim.nsec3_max_iterations > VG_DNSSEC_NSEC3_ITER_MAX)
		v->lim.nsec3_max_iterations = VG_DNSSEC_NSEC3_ITER_MAX;
	v->data = ldns_buffer_new(4096);
	v->sigbuf = ldns_buffer_new(256);
	if (!v->data || !v->sigbuf) {
		vg_validator_free(v);
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

void vg_validator_free(struct vg_validator *v)
{
	if (!v)
		return;
	if (v->data)
		ldns_buffer_free(v->data);
	if (v->sigbuf)
		ldns_buffer_free(v->sigbuf);
	free(v->canon);
	free(v);
}

uint32_t vg_dnssec_now(void)
{
	return (uint32_t)time(NULL);
}

bool vg_dnssec_alg_supported(uint8_t alg)
{
	switch (alg) {
	case 3:	 /* DSA/SHA-1 (and 6, its NSEC3 alias): OpenSSL 3.0 on Debian 12 verifies it */
	case 5:	 /* RSA/SHA-1 */
	case 6:	 /* DSA-NSEC3-SHA1 */
	case 7:	 /* RSASHA1-NSEC3-SHA1 */
	case 8:	 /* RSA/SHA-256 */
	case 10: /* RSA/SHA-512 */
	case 13: /* ECDSA P-256 */
	case 14: /* ECDSA P-384 */
	case 15: /* Ed25519 */
	case 16: /* Ed448 */
		return true;
	default:
		return false;
	}
}

bool vg_dnssec_digest_supported(uint8_t digest)
{
	return digest == 1 || digest == 2 || digest == 4;
}

static size_t digest_len(uint8_t digest)
{
	return digest == 1 ? 20 : digest == 2 ? 32 : digest == 4 ? 48 : 0;
}

uint16_t vg_dnssec_keytag(const uint8_t *rdata, uint16_t len)
{
	uint32_t ac = 0;
	for (uint16_t i = 0; i < len; i++)
		ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	ac += (ac >> 16) & 0xFFFF;
	return (uint16_t)(ac & 0xFFFF);
}

bool vg_dnssec_parse_rrsig(const struct vg_rdata_ref *r, struct vg_rrsig *s)
{
	if (r->len <= RRSIG_FIXED + 1)
		return false;
	const uint8_t *p = r->data;
	int nl = vg_name_len(p + RRSIG_FIXED, (size_t)r->len - RRSIG_FIXED);
	if (nl < 0 || RRSIG_FIXED + (size_t)nl >= r->len)
		return false;
	s->covered = vg_get_u16(p);
	s->alg = p[2];
	s->labels = p[3];
	s->orig_ttl = vg_get_u32(p + 4);
	s->expire = vg_get_u32(p + 8);
	s->incept = vg_get_u32(p + 12);
	s->tag = vg_get_u16(p + 16);
	s->signer = p + RRSIG_FIXED;
	s->signer_len = (size_t)nl;
	s->sig = p + RRSIG_FIXED + nl;
	s->sig_len = r->len - RRSIG_FIXED - (size_t)nl;
	return true;
}

/* Labels of an owner name as RRSIG counts them: a leading "*" label is not counted. */
static int sig_labels(const uint8_t *owner)
{
	int n = vg_name_labels(owner);
	return (owner[0] == 1 && owner[1] == '*') ? n - 1 : n;
}

/* Lowercases the uncompressed name at rd[off] in place; returns the offset after it or -1. */
static int lower_name(uint8_t *rd, size_t len, size_t off)
{
	if (off >= len)
		return -1;
	int nl = vg_name_len(rd + off, len - off);
	if (nl < 0)
		return -1;
	vg_name_lower(rd + off);
	return (int)(off + (size_t)nl);
}

/* RFC 4034 6.2 (as corrected by RFC 6840 5.1: not NSEC, not HINFO): the names inside the rdata
 * of these types are lowercased in the canonical form. Malformed rdata is left as it is (its
 * signature will simply not verify). */
static void canon_rdata(uint16_t type, uint8_t *rd, size_t len)
{
	int o;
	switch (type) {
	case 2:
	case 3:
	case 4:
	case 5:
	case 7:
	case 8:
	case 9:
	case 12:
	case 39: /* one name */
		lower_name(rd, len, 0);
		break;
	case 6:	 /* SOA */
	case 14: /* MINFO */
	case 17: /* RP */
		if ((o = lower_name(rd, len, 0)) > 0)
			lower_name(rd, len, (size_t)o);
		break;
	case 15:
	case 18:
	case 21:
	case 36: /* MX, AFSDB, RT, KX */
		lower_name(rd, len, 2);
		break;
	case 26: /* PX */
		if ((o = lower_name(rd, len, 2)) > 0)
			lower_name(rd, len, (size_t)o);
		break;
	case 33: /* SRV */
		lower_name(rd, len, 6);
		break;
	case 35: { /* NAPTR: order, preference, 3 strings, replacement */
		size_t off = 4;
		for (int i = 0; i < 3 && off < len; i++)
			off += 1 + rd[off];
		lower_name(rd, len, off);
		break;
	}
	case 46: /* RRSIG */
		lower_name(rd, len, RRSIG_FIXED);
		break;
	default:
		break;
	}
}

static int rd_cmp(const void *a, const void *b, void *arg)
{
	const struct vg_canon_ix *x = a, *y = b;
	const uint8_t *base = arg;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(base + x->off, base + y->off, n);
	if (c)
		return c;
	return (int)x->len - (int)y->len;
}

/* Canonical rdatas of `set`, sorted, duplicates removed, into v->canon / v->ix. */
static int build_canon(struct vg_validator *v, const struct vg_rrset_view *set)
{
	size_t n = set->n_rd < VG_DNSSEC_RRS_MAX ? set->n_rd : VG_DNSSEC_RRS_MAX, total = 0;
	for (size_t i = 0; i < n; i++)
		total += set->rd[i].len;
	if (total > v->canon_cap) {
		uint8_t *nb = realloc(v->canon, total);
		if (!nb)
			return -ENOMEM;
		v->canon = nb;
		v->canon_cap = total;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(v->canon + off, set->rd[i].data, set->rd[i].len);
		canon_rdata(set->type, v->canon + off, set->rd[i].len);
		v->ix[i].off = (uint32_t)off;
		v->ix[i].len = set->rd[i].len;
		off += set->rd[i].len;
	}
	qsort_r(v->ix, n, sizeof(v->ix[0]), rd_cmp, v->canon);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || rd_cmp(&v->ix[u - 1], &v->ix[i], v->canon) != 0)
			v->ix[u++] = v->ix[i];
	v->n_ix = u;
	return 0;
}

/* The signed data for RRSIG `r` (parsed as s) over `set`: RRSIG rdata up to the signature with
 * the signer lowercased, then each RR in canonical form and order, owner wildcard-expanded back
 * to "*.<labels>" when the RRSIG says so. */
static int build_data(struct vg_validator *v, const struct vg_rrset_view *set,
		      const struct vg_rdata_ref *r, const struct vg_rrsig *s)
{
	uint8_t owner[VG_NAME_MAX + 2];
	size_t olen;
	int ol = sig_labels(set->owner);
	if (s->labels < ol) {
		const uint8_t *suf = vg_name_suffix(set->owner, s->labels);
		int sl = vg_name_len(suf, VG_NAME_MAX);
		owner[0] = 1;
		owner[1] = '*';
		memcpy(owner + 2, suf, (size_t)sl);
		olen = (size_t)sl + 2;
	} else {
		olen = (size_t)vg_name_len(set->owner, VG_NAME_MAX);
		memcpy(owner, set->owner, olen);
	}
	vg_name_lower(owner);
	size_t need = RRSIG_FIXED + s->signer_len;
	for (size_t i = 0; i < v->n_ix; i++)
		need += olen + 10 + v->ix[i].len;
	ldns_buffer_clear(v->data);
	if (!ldns_buffer_reserve(v->data, need))
		return -ENOMEM;
	uint8_t *p = ldns_buffer_current(v->data);
	memcpy(p, r->data, RRSIG_FIXED + s->signer_len);
	vg_name_lower(p + RRSIG_FIXED);
	p += RRSIG_FIXED + s->signer_len;
	for (size_t i = 0; i < v->n_ix; i++) {
		memcpy(p, owner, olen);
		p += olen;
		vg_put_u16(p, set->type);
		vg_put_u16(p + 2, set->rclass);
		vg_put_u32(p + 4, s->orig_ttl);
		vg_put_u16(p + 8, v->ix[i].len);
		memcpy(p + 10, v->canon + v->ix[i].off, v->ix[i].len);
		p += 10 + v->ix[i].len;
	}
	ldns_buffer_skip(v->data, (ssize_t)need);
	return 0;
}

/* One signature check: ldns' crypto on the data in v->data. */
static bool crypto_ok(struct vg_validator *v, const struct vg_rrsig *s, const uint8_t *key,
		      size_t keylen)
{
	const uint8_t *sig = s->sig;
	size_t siglen = s->sig_len;
	if (s->alg == 3 || s->alg == 6 || s->alg == 13 || s->alg == 14) {
		/* OpenSSL wants DSA and ECDSA signatures DER-encoded; DNS carries them raw. */
		ldns_rdf rdf = {._size = siglen, ._type = LDNS_RDF_TYPE_B64, ._data = (void *)sig};
		ldns_buffer_clear(v->sigbuf);
		ldns_status st = (s->alg == 3 || s->alg == 6)
				     ? ldns_convert_dsa_rrsig_rdf2asn1(v->sigbuf, &rdf)
				     : ldns_convert_ecdsa_rrsig_rdf2asn1(v->sigbuf, &rdf);
		if (st != LDNS_STATUS_OK)
			return false;
		sig = ldns_buffer_begin(v->sigbuf);
		siglen = ldns_buffer_position(v->sigbuf);
	}
	return ldns_verify_rrsig_buffers_raw((unsigned char *)sig, siglen, v->data,
					     (unsigned char *)key, keylen,
					     s->alg) == LDNS_STATUS_OK;
}

void vg_dnssec_set_result(struct vg_dnssec_result *res, enum vg_dnssec_status st, uint16_t ede,
			  const char *why)
{
	res->status = st;
	res->ede = ede;
	res->why = why;
	res->ttl = 0;
	res->opt_out = false;
}

/* A usable zone key for (alg, tag): DNSKEY protocol 3, zone flag, not revoked (except in the
 * DNSKEY RRset itself: RFC 5011 revocation is self-signed). */
static bool key_matches(const struct vg_rdata_ref *k, uint8_t alg, uint16_t tag, bool dnskey_set)
{
	if (k->len < 5)
		return false;
	uint16_t flags = vg_get_u16(k->data);
	if (!(flags & KEY_FLAG_ZONE) || k->data[2] != 3 || k->data[3] != alg)
		return false;
	if ((flags & KEY_FLAG_REVOKE) && !dnskey_set)
		return false;
	return vg_dnssec_keytag(k->data, k->len) == tag;
}

void vg_dnssec_verify_with(struct vg_validator *v, struct vg_dnssec_work *w,
			   const struct vg_rrset_view *set, const struct vg_rrset_view *keys,
			   const struct vg_rdata_ref *only, struct vg_dnssec_result *res)
{
	uint32_t now = vg_dnssec_now();
	bool from_signer = false, have_key = false, expired = false, early = false,
	     crypto_failed = false, unsupported = false, canon_done = false;
	if (set->n_rd == 0) {
		vg_dnssec_set_result(res, VG_DNSSEC_INDETERMINATE, VG_EDE_OTHER, "empty RRset");
		return;
	}
	int ol = sig_labels(set->owner);
	size_t nsig = set->n_sig < VG_DNSSEC_SIGS_MAX ? set->n_sig : VG_DNSSEC_SIGS_MAX;
	for (size_t i = 0; i < nsig; i++) {
		struct vg_rrsig s;
		if (!vg_dnssec_parse_rrsig(&set->sig[i], &s) || s.covered != set->type)
			continue;
		if (!vg_name_eq(s.signer, keys->owner))
			continue;
		from_signer = true;
		if (!vg_name_in_zone(set->owner, s.signer) || s.labels > ol) {
			crypto_failed = true; /* a malformed RRSIG: as good as a bad signature */
			continue;
		}
		if (!vg_dnssec_alg_supported(s.alg)) {
			unsupported = true;
			continue;
		}
		/* Serial arithmetic (RFC 4034 3.1.5): the fields wrap every 136 years. */
		if ((int32_t)(s.expire - s.incept) < 0) {
			crypto_failed = true;
			continue;
		}
		if ((int32_t)(now - s.incept) < 0) {
			early = true;
			continue;
		}
		if ((int32_t)(s.expire - now) < 0) {
			expired = true;
			continue;
		}
		unsigned tried = 0;
		size_t nkeys = keys->n_rd < VG_DNSSEC_RRS_MAX ? keys->n_rd : VG_DNSSEC_RRS_MAX;
		for (size_t k = 0; k < nkeys && tried < v->lim.keys_per_tag; k++) {
			const struct vg_rdata_ref *kr = &keys->rd[k];
			if (!key_matches(kr, s.alg, s.tag, set->type == 48))
				continue;
			if (only && (kr->len != only->len || memcmp(kr->data, only->data, kr->len)))
				continue;
			tried++;
			have_key = true;
			if (w->verifies >= v->lim.verify_max) {
				vg_dnssec_set_result(res, VG_DNSSEC_INDETERMINATE, VG_EDE_OTHER,
						     "signature verification limit reached");
				return;
			}
			w->verifies++;
			/* The canonical RRset once per call, the signed data once per RRSIG. */
			if ((!canon_done && build_canon(v, set) < 0) ||
			    (tried == 1 && build_data(v, set, &set->sig[i], &s) < 0)) {
				vg_dnssec_set_result(res, VG_DNSSEC_INDETERMINATE, VG_EDE_OTHER,
						     "out of memory");
				return;
			}
			canon_done = true;
			if (crypto_ok(v, &s, kr->data + 4, kr->len - 4u)) {
				vg_dnssec_set_result(res, VG_DNSSEC_SECURE, VG_EDE_NONE,
						     "signature verified");
				uint32_t ttl = set->ttl, left = s.expire - now;
				if (s.orig_ttl < ttl)
					ttl = s.orig_ttl;
				if (left < ttl)
					ttl = left;
				res->ttl = ttl;
				return;
			}
			crypto_failed = true;
		}
	}
	if (crypto_failed)
		vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_DNSSEC_BOGUS,
				     "signature does not verify");
	else if (expired)
		vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_SIGNATURE_EXPIRED, "signature expired");
	else if (early)
		vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_SIGNATURE_NOT_YET_VALID,
				     "signature not yet valid");
	else if (unsupported && !have_key)
		vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_DNSSEC_BOGUS,
				     "no RRSIG with a supported algorithm");
	else if (from_signer)
		vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_DNSKEY_MISSING,
				     "no DNSKEY for the RRSIG");
	else
		vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_RRSIGS_MISSING,
				     nsig ? "no RRSIG from the zone's signer" : "RRSIG missing");
}

void vg_dnssec_verify_rrset(struct vg_validator *v, struct vg_dnssec_work *w,
			    const struct vg_rrset_view *set, const struct vg_rrset_view *keys,
			    struct vg_dnssec_result *res)
{
	if (keys->n_rd == 0) {
		vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_DNSKEY_MISSING, "DNSKEY missing");
		return;
	}
	vg_dnssec_verify_with(v, w, set, keys, NULL, res);
}

/* DS digest of a DNSKEY (RFC 4034 5.1.4): over the owner in canonical form and the rdata. */
static bool ds_digest_matches(const uint8_t *owner, const struct vg_rdata_ref *key, uint8_t dt,
			      const uint8_t *digest)
{
	uint8_t name[VG_NAME_MAX], out[48];
	int nl = vg_name_len(owner, VG_NAME_MAX);
	memcpy(name, owner, (size_t)nl);
	vg_name_lower(name);
	if (dt == 1) {
		ldns_sha1_ctx c;
		ldns_sha1_init(&c);
		ldns_sha1_update(&c, name, (unsigned)nl);
		ldns_sha1_update(&c, key->data, key->len);
		ldns_sha1_final(out, &c);
	} else if (dt == 2) {
		ldns_sha256_CTX c;
		ldns_sha256_init(&c);
		ldns_sha256_update(&c, name, (size_t)nl);
		ldns_sha256_update(&c, key->data, key->len);
		ldns_sha256_final(out, &c);
	} else {
		ldns_sha384_CTX c;
		ldns_sha384_init(&c);
		ldns_sha384_update(&c, name, (size_t)nl);
		ldns_sha384_update(&c, key->data, key->len);
		ldns_sha384_final(out, &c);
	}
	return memcmp(out, digest, digest_len(dt)) == 0;
}

static bool ds_usable(const struct vg_rdata_ref *d)
{
	return d->len > 4 && vg_dnssec_alg_supported(d->data[2]) &&
	       vg_dnssec_digest_supported(d->data[3]) && d->len == 4 + digest_len(d->data[3]);
}

void vg_dnssec_verify_dnskey_ds(struct vg_validator *v, struct vg_dnssec_work *w,
				const struct vg_rrset_view *keys, const struct vg_rrset_view *ds,
				struct vg_dnssec_result *res)
{
	size_t nds = ds->n_rd < VG_DNSSEC_DS_MAX ? ds->n_rd : VG_DNSSEC_DS_MAX;
	bool bad_alg = false, bad_digest = false, strong = false, any = false, matched = false;
	for (size_t i = 0; i < nds; i++) {
		const struct vg_rdata_ref *d = &ds->rd[i];
		if (ds_usable(d)) {
			any = true;
			strong |= d->data[3] != 1;
		} else if (d->len > 4 && !vg_dnssec_alg_supported(d->data[2])) {
			bad_alg = true;
		} else {
			bad_digest = true;
		}
	}
	if (!any) {
		if (nds == 0)
			vg_dnssec_set_result(res, VG_DNSSEC_INDETERMINATE, VG_EDE_OTHER,
					     "no DS records");
		else if (bad_alg)
			vg_dnssec_set_result(res, VG_DNSSEC_INSECURE, VG_EDE_UNSUPPORTED_DNSKEY_ALG,
					     vg_dnssec_insecure_why(VG_EDE_UNSUPPORTED_DNSKEY_ALG));
		else
			vg_dnssec_set_result(res, VG_DNSSEC_INSECURE, VG_EDE_UNSUPPORTED_DS_DIGEST,
					     vg_dnssec_insecure_why(VG_EDE_UNSUPPORTED_DS_DIGEST));
		(void)bad_digest;
		return;
	}
	if (keys->n_rd == 0) {
		vg_dnssec_set_result(res, VG_DNSSEC_BOGUS, VG_EDE_DNSKEY_MISSING, "DNSKEY missing");
		return;
	}
	struct vg_dnssec_result last;
	vg_dnssec_set_result(&last, VG_DNSSEC_BOGUS, VG_EDE_DNSKEY_MISSING,
			     "no DNSKEY matches the DS");
	size_t nkeys = keys->n_rd < VG_DNSSEC_RRS_MAX ? keys->n_rd : VG_DNSSEC_RRS_MAX;
	for (size_t i = 0; i < nds; i++) {
		const struct vg_rdata_ref *d = &ds->rd[i];
		if (!ds_usable(d) || (strong && d->data[3] == 1))
			continue;
		uint16_t tag = vg_get_u16(d->data);
		unsigned tried = 0;
		for (size_t k = 0; k < nkeys && tried < v->lim.keys_per_tag; k++) {
			const struct vg_rdata_ref *kr = &keys->rd[k];
			if (!key_matches(kr, d->data[2], tag, true))
				continue;
			tried++;
			if (!ds_digest_matches(keys->owner, kr, d->data[3], d->data + 4))
				continue;
			matched = true;
			vg_dnssec_verify_with(v, w, keys, keys, kr, &last);
			if (last.status == VG_DNSSEC_SECURE ||
			    last.status == VG_DNSSEC_INDETERMINATE) {
				*res = last;
				return;
			}
		}
	}
	(void)matched;
	*res = last;
}

void vg_dnssec_verify_dnskey_anchor(struct vg_validator *v, struct vg_dnssec_work *w,
				    const struct vg_rrset_view *keys,
				    const struct vg_rrset_view *anchor,
				    struct vg_dnssec_result *res)
{
	bool any = false;
	struct vg_dnssec_result last;
	vg_dnssec_set_result(&last, VG_DNSSEC_BOGUS, VG_EDE_DNSKEY_MISSING,
			     "no DNSKEY matches the anchor");
	size_t nkeys = keys->n_rd < VG_DNSSEC_RRS_MAX ? keys->n_rd : VG_DNSSEC_RRS_MAX;
	for (size_t i = 0; i < anchor->n_rd && i < VG_DNSSEC_DS_MAX; i++) {
		const struct vg_rdata_ref *a = &anchor->rd[i];
		if (a->len < 5 || !vg_dnssec_alg_supported(a->data[3]))
			continue;
		any = true;
		for (size_t k = 0; k < nkeys; k++) {
			const struct vg_rdata_ref *kr = &keys->rd[k];
			if (kr->len != a->len || memcmp(kr->data, a->data, a->len) != 0)
				continue;
			vg_dnssec_verify_with(v, w, keys, keys, kr, &last);
			if (last.status == VG_DNSSEC_SECURE ||
			    last.status == VG_DNSSEC_INDETERMINATE) {
				*res = last;
				return;
			}
			break;
		}
	}
	if (!any) {
		vg_dnssec_set_result(res,
				     anchor->n_rd ? VG_DNSSEC_INSECURE : VG_DNSSEC_INDETERMINATE,
				     anchor->n_rd ? VG_EDE_UNSUPPORTED_DNSKEY_ALG : VG_EDE_OTHER,
				     "anchor keys use only unsupported algorithms");
		return;
	}
	if (keys->n_rd == 0)
		vg_dnssec_set_result(&last, VG_DNSSEC_BOGUS, VG_EDE_DNSKEY_MISSING,
				     "DNSKEY missing");
	*res = last;
}
