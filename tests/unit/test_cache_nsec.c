/* The cache's NSEC index (RFC 8198) and the NXDOMAIN-above lookup (RFC 8020): what is indexed,
 * the canonical-order predecessor search, NSEC3 wrap-around, expiry and flushes. */
#include "cache_test.h"

TestSuite(cache_nsec, .init = mkdir_tmp, .fini = rm_tmp, .timeout = 30);

/* Queues an NSEC (type 47) or NSEC3 (50) RRset at owner with rdata `rd` and one fake RRSIG by
 * `signer`, of status sec. */
static void put_denial(struct vg_cache *c, const char *owner, uint16_t type, const uint8_t *rd,
		       uint16_t rdlen, const char *signer, uint8_t sec, uint32_t ttl, uint32_t now)
{
	uint8_t o[VG_NAME_MAX], data[600], sig[600];
	W(owner, o);
	vg_put_u16(data, rdlen);
	memcpy(data + 2, rd, rdlen);
	/* RRSIG: type covered, alg 13, labels, orig TTL, expiration, inception, tag, signer, sig */
	uint8_t *s = sig + 2;
	memset(s, 0, 18);
	vg_put_u16(s, type);
	s[2] = 13;
	s[3] = 2;
	vg_put_u32(s + 4, ttl);
	vg_put_u32(s + 8, now + 86400);
	vg_put_u32(s + 12, now - 86400);
	size_t sl = 18 + W(signer, s + 18);
	memset(s + sl, 0xAB, 64);
	sl += 64;
	vg_put_u16(sig, (uint16_t)sl);
	struct vg_cache_rrset rs = {.owner = o,
				    .type = type,
				    .rclass = 1,
				    .ttl = ttl,
				    .rank = 0x14,
				    .sec = sec,
				    .rr_count = 1,
				    .rdata = data,
				    .rdata_len = 2u + rdlen,
				    .sig_count = 1,
				    .sigs = sig,
				    .sigs_len = 2 + sl};
	cr_assert_eq(vg_cache_rrset_put(c, &rs, now), 0);
}

/* NSEC rdata: next name and a bitmap with A (window 0, 1 byte, bit 1). */
static uint16_t nsec_rd(const char *next, uint8_t *rd)
{
	size_t n = W(next, rd);
	rd[n] = 0;
	rd[n + 1] = 1;
	rd[n + 2] = 0x40;
	return (uint16_t)(n + 3);
}

static void put_nsec(struct vg_cache *c, const char *owner, const char *next, uint8_t sec,
		     uint32_t ttl, uint32_t now)
{
	uint8_t rd[300];
	uint16_t n = nsec_rd(next, rd);
	put_denial(c, owner, 47, rd, n, "example.com.", sec, ttl, now);
}

/* The index entry at or before `name` in zone: its owner as text into out, or the error. */
static int find(struct vg_cache *c, const char *zone, uint16_t type, const char *name, uint32_t now,
		char *out, struct vg_cache_rrset_view *v)
{
	static uint8_t buf[65536];
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	cr_assert_not_null(rd);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	uint8_t z[VG_NAME_MAX], n[VG_NAME_MAX], owner[VG_NAME_MAX];
	W(zone, z);
	if (name)
		W(name, n);
	int rc = vg_cache_nsec_find(rd, z, type, name ? n : NULL, now, owner, buf, sizeof(buf), v);
	if (rc == 0)
		vg_name_to_text(owner, out, 256);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	return rc;
}

Test(cache_nsec, finds_the_covering_nsec_in_canonical_order)
{
	struct vg_cache *c = open_default();
	/* example.com. < a.example.com. < z.a.example.com. < b.example.com. < *.c < c */
	put_nsec(c, "example.com.", "a.example.com.", VG_SEC_SECURE, 600, T0);
	put_nsec(c, "a.example.com.", "z.a.example.com.", VG_SEC_SECURE, 600, T0);
	put_nsec(c, "z.a.example.com.", "b.example.com.", VG_SEC_SECURE, 600, T0);
	put_nsec(c, "b.example.com.", "example.com.", VG_SEC_SECURE, 600, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	char o[256];
	struct {
		const char *name, *owner;
	} cases[] = {
	    {"example.com.", "example.com."},	       /* exact: the apex */
	    {"0.example.com.", "example.com."},	       /* before a */
	    {"*.example.com.", "example.com."},	       /* '*' sorts before letters */
	    {"a.example.com.", "a.example.com."},      /* exact */
	    {"m.a.example.com.", "a.example.com."},    /* a child of a, before z.a */
	    {"zz.a.example.com.", "z.a.example.com."}, /* after z.a, still below a */
	    {"aa.example.com.", "z.a.example.com."},   /* a's whole subtree sorts before aa */
	    {"x.b.example.com.", "b.example.com."},    /* after the last owner */
	    {"ZZZ.example.com.", "b.example.com."},    /* any case */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(find(c, "example.com.", 47, cases[i].name, T0, o, &v), 0, "%s",
			     cases[i].name);
		cr_expect_str_eq(o, cases[i].owner, "%s", cases[i].name);
		cr_expect_eq(v.type, 47);
		cr_expect_eq(v.sec, VG_SEC_SECURE);
		cr_expect_eq(v.rr_count, 1);
		cr_expect_eq(v.sig_count, 1);
	}
	/* another zone, another type: nothing */
	cr_assert_eq(find(c, "example.net.", 47, "a.example.net.", T0, o, &v), VG_ENOTFOUND);
	cr_assert_eq(find(c, "example.com.", 50, "a.example.com.", T0, o, &v), VG_ENOTFOUND);
	/* the zone's first entry */
	cr_assert_eq(find(c, "example.com.", 47, NULL, T0, o, &v), 0);
	cr_expect_str_eq(o, "example.com.");
	vg_cache_close(c);
}

Test(cache_nsec, a_child_zone_has_its_own_index)
{
	struct vg_cache *c = open_default();
	put_nsec(c, "example.com.", "sub.example.com.", VG_SEC_SECURE, 600, T0);
	uint8_t rd[300];
	uint16_t n = nsec_rd("sub.example.com.", rd);
	put_denial(c, "sub.example.com.", 47, rd, n, "sub.example.com.", VG_SEC_SECURE, 600, T0);
	vg_cache_sync(c);
	struct vg_cache_reader *r = vg_cache_reader_new(c);
	cr_assert_eq(vg_cache_read_begin(r), 0);
	uint8_t zone[VG_NAME_MAX];
	uint16_t type = 0;
	W("sub.example.com.", zone);
	cr_assert_eq(vg_cache_nsec_zone(r, zone, &type), 0);
	cr_assert_eq(type, 47);
	W("example.com.", zone);
	cr_assert_eq(vg_cache_nsec_zone(r, zone, &type), 0);
	W("www.example.com.", zone);
	cr_assert_eq(vg_cache_nsec_zone(r, zone, &type), VG_ENOTFOUND, "no entries of its own");
	W("com.", zone);
	cr_assert_eq(vg_cache_nsec_zone(r, zone, &type), VG_ENOTFOUND);
	vg_cache_read_end(r);
	vg_cache_reader_free(r);
	char o[256];
	struct vg_cache_rrset_view v;
	/* the parent's index does not hold the child's apex record, and the reverse */
	cr_assert_eq(find(c, "sub.example.com.", 47, "www.sub.example.com.", T0, o, &v), 0);
	cr_expect_str_eq(o, "sub.example.com.");
	cr_assert_eq(find(c, "example.com.", 47, "www.sub.example.com.", T0, o, &v), 0);
	cr_expect_str_eq(o, "example.com.");
	vg_cache_close(c);
}

Test(cache_nsec, only_secure_signed_denials_are_indexed)
{
	struct vg_cache *c = open_default();
	put_nsec(c, "a.example.com.", "c.example.com.", VG_SEC_INSECURE, 600, T0);
	put_nsec(c, "d.example.com.", "f.example.com.", VG_SEC_BOGUS, 600, T0);
	put_nsec(c, "g.example.com.", "i.example.com.", VG_SEC_INDETERMINATE, 600, T0);
	/* signed by a zone the owner is not in: not indexed */
	uint8_t rd[300];
	uint16_t n = nsec_rd("z.example.org.", rd);
	put_denial(c, "y.example.org.", 47, rd, n, "example.com.", VG_SEC_SECURE, 600, T0);
	vg_cache_sync(c);
	char o[256];
	struct vg_cache_rrset_view v;
	cr_assert_eq(find(c, "example.com.", 47, "b.example.com.", T0, o, &v), VG_ENOTFOUND);
	cr_assert_eq(find(c, "example.com.", 47, "e.example.com.", T0, o, &v), VG_ENOTFOUND);
	cr_assert_eq(find(c, "example.com.", 47, "h.example.com.", T0, o, &v), VG_ENOTFOUND);
	cr_assert_eq(find(c, "example.org.", 47, "yy.example.org.", T0, o, &v), VG_ENOTFOUND);
	/* the rrsets themselves are cached as usual */
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "a.example.com.", 47, T0, 0, &v, buf), 0);
	cr_assert_eq(v.sec, VG_SEC_INSECURE);
	vg_cache_close(c);
}

Test(cache_nsec, expired_entries_are_not_returned_even_with_stale_allowed)
{
	struct vg_cache *c = open_default(); /* stale_max 3600 */
	put_nsec(c, "a.example.com.", "c.example.com.", VG_SEC_SECURE, 60, T0);
	vg_cache_sync(c);
	char o[256];
	struct vg_cache_rrset_view v;
	cr_assert_eq(find(c, "example.com.", 47, "b.example.com.", T0 + 10, o, &v), 0);
	cr_assert_eq(v.ttl, 50);
	cr_assert_eq(find(c, "example.com.", 47, "b.example.com.", T0 + 60, o, &v), VG_ESTALE);
	vg_cache_close(c);
}

/* NSEC3 rdata: SHA-1, flags, 0 iterations, no salt, next hash (20 bytes of `next`), bitmap. */
static uint16_t nsec3_rd(uint8_t flags, uint8_t next, uint8_t *rd)
{
	rd[0] = 1;
	rd[1] = flags;
	vg_put_u16(rd + 2, 0);
	rd[4] = 0;
	rd[5] = 20;
	memset(rd + 6, next, 20);
	rd[26] = 0;
	rd[27] = 1;
	rd[28] = 0x40;
	return 29;
}

Test(cache_nsec, nsec3_hashes_before_the_first_owner_wrap_to_the_last)
{
	struct vg_cache *c = open_default();
	uint8_t rd[64];
	/* owners 4..., 8... (base32hex of 0x21.. and 0x42..): the last one's span wraps around */
	uint16_t n = nsec3_rd(0, 0x42, rd);
	put_denial(c, "44444444444444444444444444444444.example.com.", 50, rd, n, "example.com.",
		   VG_SEC_SECURE, 600, T0);
	n = nsec3_rd(0, 0x21, rd);
	put_denial(c, "88888888888888888888888888888888.example.com.", 50, rd, n, "example.com.",
		   VG_SEC_SECURE, 600, T0);
	vg_cache_sync(c);
	char o[256];
	struct vg_cache_rrset_view v;
	cr_assert_eq(
	    find(c, "example.com.", 50, "60000000000000000000000000000000.example.com.", T0, o, &v),
	    0);
	cr_expect_str_eq(o, "44444444444444444444444444444444.example.com.");
	cr_assert_eq(
	    find(c, "example.com.", 50, "00000000000000000000000000000000.example.com.", T0, o, &v),
	    0);
	cr_expect_str_eq(o, "88888888888888888888888888888888.example.com.", "wrap-around");
	cr_assert_eq(
	    find(c, "example.com.", 50, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv.example.com.", T0, o, &v),
	    0);
	cr_expect_str_eq(o, "88888888888888888888888888888888.example.com.");
	cr_assert_eq(find(c, "example.com.", 50, NULL, T0, o, &v), 0);
	cr_expect_str_eq(o, "44444444444444444444444444444444.example.com.");
	vg_cache_close(c);
}

Test(cache_nsec, flushes_reach_the_index)
{
	struct vg_cache *c = open_default();
	put_nsec(c, "a.example.com.", "c.example.com.", VG_SEC_SECURE, 600, T0);
	uint8_t rd[300];
	uint16_t n = nsec_rd("z.example.org.", rd);
	put_denial(c, "a.example.org.", 47, rd, n, "example.org.", VG_SEC_SECURE, 600, T0);
	vg_cache_sync(c);
	char o[256];
	struct vg_cache_rrset_view v;
	uint8_t z[VG_NAME_MAX];
	W("example.org.", z);
	cr_assert_eq(vg_cache_flush_zone(c, z), 0);
	vg_cache_sync(c);
	cr_assert_eq(find(c, "example.org.", 47, "b.example.org.", T0, o, &v), VG_ENOTFOUND);
	cr_assert_eq(find(c, "example.com.", 47, "b.example.com.", T0, o, &v), 0);
	cr_assert_eq(vg_cache_flush_negative(c), 0);
	vg_cache_sync(c);
	cr_assert_eq(find(c, "example.com.", 47, "b.example.com.", T0, o, &v), VG_ENOTFOUND);
	put_nsec(c, "a.example.com.", "c.example.com.", VG_SEC_SECURE, 600, T0);
	vg_cache_sync(c);
	cr_assert_eq(find(c, "example.com.", 47, "b.example.com.", T0, o, &v), 0);
	cr_assert_eq(vg_cache_flush_all(c), 0);
	vg_cache_sync(c);
	cr_assert_eq(find(c, "example.com.", 47, "b.example.com.", T0, o, &v), VG_ENOTFOUND);
	vg_cache_close(c);
}

Test(cache_nsec, nxdomain_above_finds_the_nearest_live_ancestor)
{
	struct vg_cache *c = open_default();
	put_neg(c, "gone.example.com.", 1, true, 600, 300, T0);
	put_neg(c, "nodata.example.com.", 1, false, 600, 300, T0);
	vg_cache_sync(c);
	struct vg_cache_reader *r = vg_cache_reader_new(c);
	cr_assert_eq(vg_cache_read_begin(r), 0);
	uint8_t name[VG_NAME_MAX], root[1] = {0}, owner[VG_NAME_MAX], want[VG_NAME_MAX], buf[4096];
	struct vg_cache_rrset_view v;
	W("a.b.gone.example.com.", name);
	cr_assert_eq(vg_cache_nxdomain_above(r, name, root, T0 + 10, owner, buf, sizeof(buf), &v),
		     0);
	W("gone.example.com.", want);
	cr_assert(vg_name_eq(owner, want));
	cr_assert_eq(v.kind, VG_CACHE_NXDOMAIN);
	cr_assert_eq(v.ttl, 290);
	/* the name itself is not "above"; a NODATA ancestor proves nothing; expiry */
	W("gone.example.com.", name);
	cr_assert_eq(vg_cache_nxdomain_above(r, name, root, T0, owner, buf, sizeof(buf), &v),
		     VG_ENOTFOUND);
	W("x.nodata.example.com.", name);
	cr_assert_eq(vg_cache_nxdomain_above(r, name, root, T0, owner, buf, sizeof(buf), &v),
		     VG_ENOTFOUND);
	W("x.gone.example.com.", name);
	cr_assert_eq(vg_cache_nxdomain_above(r, name, root, T0 + 300, owner, buf, sizeof(buf), &v),
		     VG_ENOTFOUND);
	/* nothing above the zone given is looked at */
	W("a.x.gone.example.com.", name);
	W("x.gone.example.com.", want);
	cr_assert_eq(vg_cache_nxdomain_above(r, name, want, T0, owner, buf, sizeof(buf), &v),
		     VG_ENOTFOUND);
	vg_cache_read_end(r);
	vg_cache_reader_free(r);
	vg_cache_close(c);
}
