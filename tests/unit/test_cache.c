/* Unit tests of the LMDB cache: TTL rules, ranks, answer rewrite, negative entries, zone cuts,
 * concurrent readers, management. Faults: test_cache_faults.c; eviction: test_cache_evict.c. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>

#include "cache_test.h"
#include "impl.h" /* VG_CKEY_T_DELEG */

TestSuite(cache, .init = mkdir_tmp, .fini = rm_tmp);

/* ---- answer cache ---- */

Test(cache, answer_hit_writes_id_client_case_and_time_left_in_every_section)
{
	struct vg_cache *c = open_default();
	struct msg m;
	uint8_t q[VG_NAME_MAX], ns[VG_NAME_MAX];
	W("www.example.com.", q);
	msg_init(&m, "www.example.com.", 1, 0);
	msg_rr(&m, 1, "www.example.com.", 1, 300, A1, 4);
	msg_rr(&m, 1, "www.example.com.", 1, 600, A2, 4);
	size_t nsl = W("ns.example.com.", ns);
	msg_rr(&m, 2, "example.com.", 2, 1000, ns, (uint16_t)nsl);
	msg_rr(&m, 3, "ns.example.com.", 1, 2000, A2, 4);
	cr_assert_eq(
	    vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, VG_RANK_AUTH_ANSWER, 0, 0, T0),
	    0);
	vg_cache_sync(c);

	uint8_t out[4096];
	size_t len = 0;
	unsigned fl = 99;
	cr_assert_eq(get_answer(c, "WwW.ExAmple.COM.", 1, T0 + 100, out, &len, &fl, 0), 0);
	cr_assert_eq(len, m.len);
	cr_assert_eq(vg_get_u16(out), 0xBEEF);
	cr_assert_eq(memcmp(out + 13, "WwW", 3), 0, "client's 0x20 spelling not written");
	cr_assert_eq(memcmp(out + 17, "ExAmple", 7), 0);
	size_t offs[8];
	cr_assert_eq(rr_ttl_offsets(out, len, offs), 4);
	cr_assert_eq(ttl_at(out, offs[0]), 200);
	cr_assert_eq(ttl_at(out, offs[1]), 500);
	cr_assert_eq(ttl_at(out, offs[2]), 900);
	cr_assert_eq(ttl_at(out, offs[3]), 1900);
	cr_assert_eq(fl, 0);
	/* everything but ID, qname case and TTLs is the stored message */
	cr_assert_eq(memcmp(out + 2, m.b + 2, 10), 0);
	cr_assert_eq(memcmp(out + offs[3] + 4, m.b + offs[3] + 4, 6), 0);
	vg_cache_close(c);
}

Test(cache, answer_ttl_counts_down_and_expires)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "a.example.", 300, VG_RANK_AUTH_ANSWER, 0, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "a.example.", 1, T0, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 300);
	cr_assert_eq(get_answer(c, "a.example.", 1, T0 + 299, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 1);
	cr_assert_eq(get_answer(c, "a.example.", 1, T0 + 300, out, &len, &fl, 0), VG_ESTALE);
	cr_assert_eq(get_answer(c, "a.example.", 28, T0, out, &len, &fl, 0), VG_ENOTFOUND);
	vg_cache_close(c);
}

Test(cache, answer_prefetch_hint_in_last_tenth_of_ttl)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "p.example.", 100, VG_RANK_AUTH_ANSWER, 0, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "p.example.", 1, T0 + 89, out, &len, &fl, 0), 0);
	cr_assert_eq(fl & VG_CACHE_PREFETCH, 0);
	cr_assert_eq(get_answer(c, "p.example.", 1, T0 + 90, out, &len, &fl, 0), 0);
	cr_assert(fl & VG_CACHE_PREFETCH);
	vg_cache_close(c);
}

Test(cache, answer_served_stale_with_ttl_30_inside_window_only)
{
	struct vg_cache *c = open_default(); /* stale_max 3600 */
	put_a_answer(c, "s.example.", 100, VG_RANK_AUTH_ANSWER, 0, T0);
	put_a_answer(c, "sus.example.", 100, VG_RANK_AUTH_ANSWER, VG_CACHE_F_SUSPECT, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "s.example.", 1, T0 + 600, out, &len, &fl, 0), VG_ESTALE);
	cr_assert_eq(get_answer(c, "s.example.", 1, T0 + 600, out, &len, &fl, 1000), 0);
	cr_assert(fl & VG_CACHE_STALE);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 30);
	/* expired for 1100 s: outside a 1000 s request */
	cr_assert_eq(get_answer(c, "s.example.", 1, T0 + 1200, out, &len, &fl, 1000), VG_ESTALE);
	/* the request cannot go past stale_max */
	cr_assert_eq(get_answer(c, "s.example.", 1, T0 + 100 + 3600, out, &len, &fl, 100000),
		     VG_ESTALE);
	cr_assert_eq(get_answer(c, "sus.example.", 1, T0 + 50, out, &len, &fl, 1000), 0);
	cr_assert_eq(get_answer(c, "sus.example.", 1, T0 + 150, out, &len, &fl, 1000), VG_ESTALE,
		     "suspicious answer served stale");
	vg_cache_close(c);
}

Test(cache, answer_ttls_clamped_at_store)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.min_ttl = 60;
	o.max_ttl = 1000;
	struct vg_cache *c = open_with(&o);
	put_a_answer(c, "lo.example.", 5, VG_RANK_AUTH_ANSWER, 0, T0);
	put_a_answer(c, "hi.example.", 500000, VG_RANK_AUTH_ANSWER, 0, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "lo.example.", 1, T0 + 10, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 50);
	cr_assert_eq(get_answer(c, "hi.example.", 1, T0, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 1000);
	cr_assert_eq(get_answer(c, "hi.example.", 1, T0 + 1000, out, &len, &fl, 0), VG_ESTALE);
	vg_cache_close(c);
}

Test(cache, negative_answer_lives_min_of_soa_ttl_and_minimum_clamped)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.max_neg_ttl = 200;
	struct vg_cache *c = open_with(&o);
	uint8_t rd[256], q[VG_NAME_MAX];
	struct msg m;
	uint16_t rl = soa_rdata(rd, 100);
	W("nx.example.com.", q);
	msg_init(&m, "nx.example.com.", 1, 3);
	msg_rr(&m, 2, "example.com.", 6, 3600, rd, rl);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0), 0);
	rl = soa_rdata(rd, 5000);
	W("nx2.example.com.", q);
	msg_init(&m, "nx2.example.com.", 1, 3);
	msg_rr(&m, 2, "example.com.", 6, 3600, rd, rl);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0), 0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "nx.example.com.", 1, T0, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 100, "SOA MINIMUM must bound the negative TTL");
	cr_assert_eq(out[3] & 0x0F, 3);
	cr_assert_eq(get_answer(c, "nx2.example.com.", 1, T0, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 200, "max negative TTL clamp");
	vg_cache_close(c);
}

Test(cache, answer_store_drops_trailing_opt_and_rejects_garbage)
{
	struct vg_cache *c = open_default();
	struct msg m;
	uint8_t q[VG_NAME_MAX], other[VG_NAME_MAX];
	W("o.example.", q);
	msg_init(&m, "o.example.", 1, 0);
	msg_rr(&m, 1, "o.example.", 1, 300, A1, 4);
	size_t before = m.len;
	msg_rr(&m, 3, ".", 41, 0, NULL, 0);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0), 0);
	/* trailing bytes */
	m.b[m.len] = 0xAA;
	cr_assert_eq(vg_cache_answer_put(c, q, 1, true, false, m.b, m.len + 1, 0x15, 0, 0, T0),
		     VG_EFORMAT);
	/* question that is not the key's name */
	W("x.example.", other);
	cr_assert_eq(vg_cache_answer_put(c, other, 1, false, false, m.b, m.len, 0x15, 0, 0, T0),
		     VG_EFORMAT);
	/* a truncated (TC) answer is not a whole answer */
	m.b[2] |= 0x02;
	cr_assert_eq(vg_cache_answer_put(c, q, 1, true, true, m.b, m.len, 0x15, 0, 0, T0), -EINVAL);
	m.b[2] &= (uint8_t)~0x02;
	/* an OPT counted in the authority section is malformed */
	vg_put_u16(m.b + 8, 1);
	vg_put_u16(m.b + 10, 0);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, true, true, m.b, m.len, 0x15, 0, 0, T0),
		     VG_EFORMAT);
	vg_put_u16(m.b + 8, 0);
	vg_put_u16(m.b + 10, 1);
	/* RR running past the end */
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, true, m.b, before - 1, 0x15, 0, 0, T0),
		     VG_EFORMAT);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "o.example.", 1, T0, out, &len, &fl, 0), 0);
	cr_assert_eq(len, before);
	cr_assert_eq(vg_get_u16(out + 10), 0, "ARCOUNT still counts the dropped OPT");
	vg_cache_close(c);
}

Test(cache, answer_keyed_by_do_and_cd_bits)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "k.example.", 300, 0x15, 0, T0);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	uint8_t q[VG_NAME_MAX], out[512];
	size_t ql = W("k.example.", q), len;
	cr_assert_eq(
	    vg_cache_answer_get(rd, q, ql, 1, false, false, 1, T0, out, 512, &len, NULL, 0), 0);
	cr_assert_eq(vg_cache_answer_get(rd, q, ql, 1, true, false, 1, T0, out, 512, &len, NULL, 0),
		     VG_ENOTFOUND);
	cr_assert_eq(vg_cache_answer_get(rd, q, ql, 1, false, true, 1, T0, out, 512, &len, NULL, 0),
		     VG_ENOTFOUND);
	cr_assert_eq(vg_cache_answer_get(rd, q, ql, 1, false, false, 1, T0, out, 10, &len, NULL, 0),
		     VG_ESPACE);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}

/* ---- rrsets ---- */

Test(cache, rrset_ttl_counts_down_and_expired_is_not_fresh)
{
	struct vg_cache *c = open_default();
	put_rrset(c, "www.example.com.", 1, 300, 0x15, 0, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "WWW.example.com.", 1, T0 + 120, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 180);
	cr_assert_eq(v.kind, VG_CACHE_POSITIVE);
	cr_assert_eq(v.rr_count, 1);
	cr_assert_eq(v.rdata_len, 6);
	cr_assert_eq(memcmp(v.rdata + 2, A1, 4), 0);
	cr_assert_eq(v.sec, VG_SEC_SECURE);
	cr_assert_eq(get_rrset(c, "www.example.com.", 1, T0 + 300, 0, &v, buf), VG_ESTALE);
	cr_assert_eq(get_rrset(c, "www.example.com.", 28, T0, 0, &v, buf), VG_ENOTFOUND);
	vg_cache_close(c);
}

Test(cache, rrset_ttl_clamped_to_min_and_max)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.min_ttl = 30;
	o.max_ttl = 600;
	struct vg_cache *c = open_with(&o);
	put_rrset(c, "lo.example.", 1, 2, 0x15, 0, A1, 4, T0);
	put_rrset(c, "hi.example.", 1, 99999, 0x15, 0, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "lo.example.", 1, T0, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 30);
	cr_assert_eq(get_rrset(c, "hi.example.", 1, T0, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 600);
	vg_cache_close(c);
}

Test(cache, rrset_ttl_never_outlives_rrsig_expiration)
{
	struct vg_cache *c = open_default();
	uint8_t o[VG_NAME_MAX], rd[6], sig[64];
	W("signed.example.", o);
	vg_put_u16(rd, 4);
	memcpy(rd + 2, A1, 4);
	memset(sig, 0, sizeof(sig));
	vg_put_u16(sig, 40);		     /* rdlen */
	vg_put_u16(sig + 2, 1);		     /* type covered */
	vg_put_u32(sig + 2 + 8, T0 + 100);   /* expiration */
	vg_put_u32(sig + 2 + 12, T0 - 1000); /* inception */
	struct vg_cache_rrset rs = {.owner = o,
				    .type = 1,
				    .rclass = 1,
				    .ttl = 3600,
				    .rank = 0x15,
				    .sec = VG_SEC_SECURE,
				    .rr_count = 1,
				    .rdata = rd,
				    .rdata_len = 6,
				    .sig_count = 1,
				    .sigs = sig,
				    .sigs_len = 42};
	cr_assert_eq(vg_cache_rrset_put(c, &rs, T0), 0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "signed.example.", 1, T0, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 100);
	cr_assert_eq(v.sig_count, 1);
	cr_assert_eq(get_rrset(c, "signed.example.", 1, T0 + 100, 0, &v, buf), VG_ESTALE);
	vg_cache_close(c);
}

Test(cache, rank_protects_live_entries_higher_replaces_expired_yields)
{
	struct vg_cache *c = open_default();
	const uint8_t B[4] = {10, 0, 0, 2}, C[4] = {10, 0, 0, 3}, D[4] = {10, 0, 0, 4};
	uint8_t ns1[VG_NAME_MAX], ns2[VG_NAME_MAX];
	uint16_t l1 = (uint16_t)W("ns1.example.", ns1), l2 = (uint16_t)W("evil.example.", ns2);
	uint8_t it = VG_RANK_ITERATED;
	put_rrset(c, "example.", 2, 1000, it | VG_RANK_AUTH_AUTHORITY, 0, ns1, l1, T0);
	vg_cache_sync(c);
	/* equal rank (spoofed duplicate) and lower rank are refused while live */
	put_rrset(c, "example.", 2, 1000, it | VG_RANK_AUTH_AUTHORITY, 0, ns2, l2, T0 + 10);
	put_rrset(c, "example.", 2, 1000, it | VG_RANK_ADDITIONAL, 0, ns2, l2, T0 + 10);
	/* forwarded data, even authoritative, ranks below iterated data */
	put_rrset(c, "example.", 2, 1000, VG_RANK_AUTH_ANSWER, 0, ns2, l2, T0 + 10);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "example.", 2, T0 + 20, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, ns1, l1), 0, "live NS set replaced by equal/lower rank");
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.refused_rank, 3);

	/* higher rank replaces */
	put_rrset(c, "h.example.", 1, 1000, it | VG_RANK_GLUE, 0, B, 4, T0);
	vg_cache_sync(c);
	put_rrset(c, "h.example.", 1, 1000, it | VG_RANK_AUTH_ANSWER, 0, C, 4, T0 + 1);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "h.example.", 1, T0 + 2, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, C, 4), 0);
	cr_assert_eq(v.rank, it | VG_RANK_AUTH_ANSWER);
	/* expired: anything replaces */
	put_rrset(c, "h.example.", 1, 1000, VG_RANK_ADDITIONAL, 0, D, 4, T0 + 1001);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "h.example.", 1, T0 + 1002, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, D, 4), 0);
	/* equal rank refreshes only in the prefetch window (last 10%) */
	put_rrset(c, "h.example.", 1, 1000, VG_RANK_ADDITIONAL, 0, B, 4, T0 + 1001 + 899);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "h.example.", 1, T0 + 1001 + 899, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, D, 4), 0);
	put_rrset(c, "h.example.", 1, 1000, VG_RANK_ADDITIONAL, 0, B, 4, T0 + 1001 + 900);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "h.example.", 1, T0 + 1001 + 900, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, B, 4), 0);
	vg_cache_close(c);
}

/* Puts one A record at owner with this rank and DNSSEC status. */
static void put_sec(struct vg_cache *c, const char *owner, uint8_t rank, uint8_t sec,
		    const uint8_t *a, uint32_t now)
{
	uint8_t o[VG_NAME_MAX], rd[6];
	W(owner, o);
	vg_put_u16(rd, 4);
	memcpy(rd + 2, a, 4);
	struct vg_cache_rrset rs = {.owner = o,
				    .type = 1,
				    .rclass = 1,
				    .ttl = 1000,
				    .rank = rank,
				    .sec = sec,
				    .rr_count = 1,
				    .rdata = rd,
				    .rdata_len = 6};
	cr_assert_eq(vg_cache_rrset_put(c, &rs, now), 0);
	vg_cache_sync(c);
}

Test(cache, validated_data_replaces_unchecked_data_of_equal_rank_and_never_the_reverse)
{
	struct vg_cache *c = open_default();
	const uint8_t B[4] = {10, 0, 0, 2}, C[4] = {10, 0, 0, 3}, D[4] = {10, 0, 0, 4};
	uint8_t rank = VG_RANK_ITERATED | VG_RANK_AUTH_ANSWER;
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	/* an NS address the walk stored unchecked, then the client's validated answer */
	put_sec(c, "ns.example.", rank, VG_SEC_INDETERMINATE, B, T0);
	put_sec(c, "ns.example.", rank, VG_SEC_SECURE, C, T0 + 10);
	cr_assert_eq(get_rrset(c, "ns.example.", 1, T0 + 11, 0, &v, buf), 0);
	cr_expect_eq(memcmp(v.rdata + 2, C, 4), 0, "the validated set replaced the unchecked one");
	cr_expect_eq(v.sec, VG_SEC_SECURE);
	/* the walk's next unchecked fetch does not undo it, not even in the prefetch window */
	put_sec(c, "ns.example.", rank, VG_SEC_INDETERMINATE, D, T0 + 20);
	put_sec(c, "ns.example.", rank, VG_SEC_INDETERMINATE, D, T0 + 10 + 950);
	cr_assert_eq(get_rrset(c, "ns.example.", 1, T0 + 10 + 951, 0, &v, buf), 0);
	cr_expect_eq(memcmp(v.rdata + 2, C, 4), 0);
	cr_expect_eq(v.sec, VG_SEC_SECURE);
	/* insecure counts as validated; a lower rank still never replaces */
	put_sec(c, "u.example.", rank, VG_SEC_INDETERMINATE, B, T0);
	put_sec(c, "u.example.", VG_RANK_ITERATED | VG_RANK_GLUE, VG_SEC_SECURE, D, T0 + 1);
	put_sec(c, "u.example.", rank, VG_SEC_INSECURE, C, T0 + 2);
	cr_assert_eq(get_rrset(c, "u.example.", 1, T0 + 3, 0, &v, buf), 0);
	cr_expect_eq(memcmp(v.rdata + 2, C, 4), 0);
	cr_expect_eq(v.sec, VG_SEC_INSECURE);
	/* two unchecked sets of equal rank: the live one stays (a spoofed duplicate) */
	put_sec(c, "w.example.", rank, VG_SEC_INDETERMINATE, B, T0);
	put_sec(c, "w.example.", rank, VG_SEC_INDETERMINATE, D, T0 + 1);
	cr_assert_eq(get_rrset(c, "w.example.", 1, T0 + 2, 0, &v, buf), 0);
	cr_expect_eq(memcmp(v.rdata + 2, B, 4), 0);
	vg_cache_close(c);
}

Test(cache, answer_rank_protects_live_answers)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "r.example.", 300, 0x15, 0, T0);
	vg_cache_sync(c);
	struct msg m;
	uint8_t q[VG_NAME_MAX];
	W("r.example.", q);
	msg_init(&m, "r.example.", 1, 0);
	msg_rr(&m, 1, "r.example.", 1, 300, A2, 4);
	vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x13, 0, 0, T0 + 1);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "r.example.", 1, T0 + 2, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(memcmp(out + offs[0] + 6, A1, 4), 0,
		     "lower-ranked answer replaced a live one");
	vg_cache_close(c);
}

Test(cache, negative_entries_nxdomain_covers_all_types_nodata_one)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.max_neg_ttl = 900;
	struct vg_cache *c = open_with(&o);
	put_neg(c, "gone.example.com.", 1, true, 3600, 300, T0);
	put_neg(c, "www.example.com.", 28, false, 60, 300, T0);
	put_neg(c, "big.example.com.", 28, false, 86400, 86400, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096], z[VG_NAME_MAX];
	W("example.com.", z);
	cr_assert_eq(get_rrset(c, "gone.example.com.", 16, T0, 0, &v, buf), 0);
	cr_assert_eq(v.kind, VG_CACHE_NXDOMAIN);
	cr_assert_eq(v.ttl, 300, "TTL must be min(SOA TTL, MINIMUM)");
	cr_assert(vg_name_eq(v.soa_owner, z));
	cr_assert_eq(v.proof_count, 1);
	cr_assert_eq(vg_get_u32(v.soa_rdata + v.soa_rdlen - 4), 300);
	cr_assert_eq(get_rrset(c, "www.example.com.", 28, T0, 0, &v, buf), 0);
	cr_assert_eq(v.kind, VG_CACHE_NODATA);
	cr_assert_eq(v.ttl, 60);
	cr_assert_eq(get_rrset(c, "www.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "big.example.com.", 28, T0, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 900, "max negative TTL clamp");
	/* a positive answer outranking it replaces the NODATA */
	put_rrset(c, "www.example.com.", 28, 300, 0x15, 0, (const uint8_t *)"0123456789abcdef", 16,
		  T0 + 70);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "www.example.com.", 28, T0 + 70, 0, &v, buf), 0);
	cr_assert_eq(v.kind, VG_CACHE_POSITIVE);
	vg_cache_close(c);
}

Test(cache, rrset_stale_window_and_suspicious_never_stale)
{
	struct vg_cache *c = open_default();
	put_rrset(c, "ok.example.", 1, 100, 0x15, 0, A1, 4, T0);
	put_rrset(c, "bad.example.", 1, 100, 0x15, VG_CACHE_F_SUSPECT, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "ok.example.", 1, T0 + 500, 0, &v, buf), VG_ESTALE);
	cr_assert_eq(get_rrset(c, "ok.example.", 1, T0 + 500, 3600, &v, buf), 0);
	cr_assert_eq(v.ttl, VG_CACHE_STALE_TTL);
	cr_assert(v.hint & VG_CACHE_STALE);
	cr_assert_eq(get_rrset(c, "ok.example.", 1, T0 + 100 + 3600, 999999, &v, buf), VG_ESTALE);
	cr_assert_eq(get_rrset(c, "bad.example.", 1, T0 + 50, 0, &v, buf), 0);
	cr_assert_eq(get_rrset(c, "bad.example.", 1, T0 + 500, 3600, &v, buf), VG_ESTALE);
	/* prefetch hint on rrsets too */
	cr_assert_eq(get_rrset(c, "ok.example.", 1, T0 + 95, 0, &v, buf), 0);
	cr_assert(v.hint & VG_CACHE_PREFETCH);
	vg_cache_close(c);
}

Test(cache, zonecut_finds_closest_live_ns_and_ds)
{
	struct vg_cache *c = open_default();
	uint8_t ns[VG_NAME_MAX], ds[8] = {1, 2, 8, 2, 0xAA, 0xBB, 0xCC, 0xDD};
	uint16_t nl = (uint16_t)W("a.gtld.", ns);
	put_deleg(c, "com.", 10000, 0x14, ns, nl, T0);
	put_deleg(c, "example.com.", 100, 0x14, ns, nl, T0);
	put_rrset(c, "example.com.", 43, 100, 0x14, 0, ds, 8, T0);
	put_rrset(c, "examplf.com.", 1, 100, 0x14, 0, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	uint8_t q[VG_NAME_MAX], zone[VG_NAME_MAX], buf[4096], want[VG_NAME_MAX];
	struct vg_cache_rrset_view v;
	bool dsk = false;
	W("www.deep.Example.COM.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 1, zone, buf, sizeof(buf), &v, &dsk), 0);
	W("example.com.", want);
	cr_assert(vg_name_eq(zone, want) && zone[1] == 'e');
	cr_assert(dsk);
	cr_assert_eq(v.type, 2);
	W("www.examplf.com.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 1, zone, buf, sizeof(buf), &v, &dsk), 0);
	W("com.", want);
	cr_assert(vg_name_eq(zone, want));
	cr_assert_not(dsk);
	/* expired cut: falls back to the parent */
	W("www.example.com.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 200, zone, buf, sizeof(buf), &v, &dsk), 0);
	cr_assert(vg_name_eq(zone, want));
	W("www.example.org.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0, zone, buf, sizeof(buf), &v, &dsk),
		     VG_ENOTFOUND);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}

Test(cache, an_ns_answer_never_makes_or_changes_a_cut)
{
	struct vg_cache *c = open_default();
	uint8_t p[VG_NAME_MAX], ch[VG_NAME_MAX];
	uint16_t pl = (uint16_t)W("ns1.ghost.com.", p), cl = (uint16_t)W("ns2.ghost.com.", ch);
	/* The parent's referral: 100 s. The child's own NS set, authoritative: a day, new name. */
	put_deleg(c, "ghost.com.", 100, 0x11, p, pl, T0);
	put_rrset(c, "ghost.com.", 2, 86400, 0x15, 0, ch, cl, T0 + 90);
	put_rrset(c, "only-child.com.", 2, 86400, 0x15, 0, ch, cl, T0);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	uint8_t q[VG_NAME_MAX], zone[VG_NAME_MAX], buf[4096], want[VG_NAME_MAX];
	struct vg_cache_rrset_view v;
	W("www.ghost.com.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 95, zone, buf, sizeof(buf), &v, NULL), 0);
	W("ghost.com.", want);
	cr_assert(vg_name_eq(zone, want));
	cr_assert_eq(v.type, 2);
	cr_assert_eq(v.ttl, 5, "the parent's TTL, not extended by the child");
	cr_assert(v.rdata_len == 2u + pl && vg_name_eq(v.rdata + 2, p), "the parent's names");
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 100, zone, buf, sizeof(buf), &v, NULL),
		     VG_ENOTFOUND, "the cut ends with the parent's TTL");
	W("www.only-child.com.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0, zone, buf, sizeof(buf), &v, NULL),
		     VG_ENOTFOUND, "an NS answer alone is no cut");
	/* The child's set still answers NS questions; the delegation answers nothing. */
	W("ghost.com.", q);
	cr_assert_eq(vg_cache_rrset_get(rd, q, 2, T0 + 95, 0, buf, sizeof(buf), &v), 0);
	cr_assert(vg_name_eq(v.rdata + 2, ch));
	cr_assert_eq(vg_cache_rrset_get(rd, q, VG_CKEY_T_DELEG, T0 + 95, 0, buf, sizeof(buf), &v),
		     VG_ENOTFOUND);
	vg_cache_read_end(rd);
	/* Data of the delegation's private type cannot be written as an RRset or a NODATA. */
	uint8_t rdata[2 + VG_NAME_MAX];
	vg_put_u16(rdata, pl);
	memcpy(rdata + 2, p, pl);
	struct vg_cache_rrset rs = {.owner = q,
				    .type = VG_CKEY_T_DELEG,
				    .rclass = 1,
				    .ttl = 9999,
				    .rank = 0x15,
				    .rr_count = 1,
				    .rdata = rdata,
				    .rdata_len = 2u + pl};
	cr_assert_eq(vg_cache_rrset_put(c, &rs, T0), VG_EFORMAT);
	rs.type = 1;
	rs.delegation = true;
	cr_assert_eq(vg_cache_rrset_put(c, &rs, T0), VG_EFORMAT, "delegations are NS sets");
	/* flush-name NAME NS takes both. */
	cr_assert_eq(vg_cache_flush_name(c, q, 2), 0);
	vg_cache_sync(c);
	vg_cache_read_begin(rd);
	W("www.ghost.com.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 1, zone, buf, sizeof(buf), &v, NULL),
		     VG_ENOTFOUND);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}

/* ---- threads ---- */

struct rthr {
	struct vg_cache *c;
	int hits, bad;
};

static void *reader_thread(void *arg)
{
	struct rthr *t = arg;
	struct vg_cache_reader *rd = vg_cache_reader_new(t->c);
	if (!rd) {
		t->bad++;
		return NULL;
	}
	uint8_t q[VG_NAME_MAX], out[512];
	char name[64];
	for (int i = 0; i < 20000; i++) {
		if (vg_cache_read_begin(rd) != 0) {
			t->bad++;
			break;
		}
		snprintf(name, sizeof(name), "c%d.example.", i % 500);
		size_t ql = (size_t)vg_name_from_text(name, q);
		size_t len;
		int rc = vg_cache_answer_get(rd, q, ql, 1, false, false, 7, T0 + 1, out,
					     sizeof(out), &len, NULL, 0);
		if (rc == 0) {
			t->hits++;
			if (vg_get_u16(out) != 7 || len != 12 + ql + 4 + ql + 14)
				t->bad++;
		} else if (rc != VG_ENOTFOUND) {
			t->bad++;
		}
		vg_cache_read_end(rd);
	}
	vg_cache_reader_free(rd);
	return NULL;
}

Test(cache, concurrent_readers_with_one_writer)
{
	struct vg_cache *c = open_default();
	vg_cache_start_writer(c);
	pthread_t th[4];
	struct rthr ts[4];
	for (int i = 0; i < 4; i++) {
		ts[i] = (struct rthr){.c = c};
		pthread_create(&th[i], NULL, reader_thread, &ts[i]);
	}
	char name[64];
	for (int r = 0; r < 4; r++)
		for (int i = 0; i < 500; i++) {
			snprintf(name, sizeof(name), "c%d.example.", i);
			put_a_answer(c, name, 600, (uint8_t)(0x10 + r), 0, T0);
		}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	vg_cache_sync(c);
	int hits = 0;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(ts[i].bad, 0, "reader %d saw bad data", i);
		hits += ts[i].hits;
	}
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "c499.example.", 1, T0 + 1, out, &len, &fl, 0), 0);
	cr_log_info("reader hits while writing: %d", hits);
	vg_cache_close(c);
}

/* ---- management ---- */

Test(cache, flush_name_type_zone_negative_suspicious_all)
{
	struct vg_cache *c = open_default();
	put_rrset(c, "a.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "a.example.com.", 16, 600, 0x15, 0, (const uint8_t *)"\003abc", 4, T0);
	put_rrset(c, "b.a.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "x.example.org.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "sus.example.org.", 1, 600, 0x15, VG_CACHE_F_SUSPECT, A1, 4, T0);
	put_a_answer(c, "a.example.com.", 600, 0x15, 0, T0);
	put_neg(c, "gone.example.org.", 1, true, 600, 600, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096], out[4096];
	size_t len;
	unsigned fl;
	uint8_t n[VG_NAME_MAX];

	vg_cache_flush_name(c, (W("a.example.com.", n), n), 16);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "a.example.com.", 16, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "a.example.com.", 1, T0, 0, &v, buf), 0);

	vg_cache_flush_name(c, n, 0);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "a.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_answer(c, "a.example.com.", 1, T0, out, &len, &fl, 0), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "b.a.example.com.", 1, T0, 0, &v, buf), 0, "child flushed");

	put_rrset(c, "a.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "example.comm.", 1, 600, 0x15, 0, A1, 4, T0);
	vg_cache_flush_zone(c, (W("example.com.", n), n));
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "b.a.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "a.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "example.comm.", 1, T0, 0, &v, buf), 0, "sibling flushed");
	cr_assert_eq(get_rrset(c, "x.example.org.", 1, T0, 0, &v, buf), 0);

	vg_cache_flush_negative(c);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "gone.example.org.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "x.example.org.", 1, T0, 0, &v, buf), 0);

	vg_cache_flush_suspicious(c);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "sus.example.org.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "x.example.org.", 1, T0, 0, &v, buf), 0);

	vg_cache_flush_all(c);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "x.example.org.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.rrsets + st.answers + st.negatives, 0);
	vg_cache_close(c);
}

Test(cache, dump_writes_zone_file_like_lines)
{
	struct vg_cache *c = open_default();
	/* the answer first: after the RRset it would be shadowed (cache/hit.c) and not stored */
	put_a_answer(c, "www.example.com.", 600, 0x15, 0, T0);
	put_rrset(c, "www.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	uint8_t ns[VG_NAME_MAX];
	uint16_t nl = (uint16_t)W("ns1.example.com.", ns);
	put_rrset(c, "example.com.", 2, 600, 0x14, VG_CACHE_F_SUSPECT, ns, nl, T0);
	put_neg(c, "gone.example.com.", 1, true, 600, 300, T0);
	vg_cache_sync(c);
	char *text = NULL;
	size_t tl = 0;
	FILE *f = open_memstream(&text, &tl);
	cr_assert_eq(vg_cache_dump(c, f, T0 + 100), 0);
	fclose(f);
	cr_assert(strstr(text, "www.example.com. 500 IN A 192.0.2.1 ; rank=21 sec=secure "
			       "(auth-answer, iterated; ttl 600, stored 100 s ago)\n"),
		  "%s", text);
	cr_assert(strstr(text, "example.com. 500 IN NS ns1.example.com. ; rank=20 sec=secure "
			       "(auth-authority, iterated; ttl 600, stored 100 s ago) suspect\n"),
		  "%s", text);
	cr_assert(strstr(text, "gone.example.com. 200 IN ANY \\# 0 ; NXDOMAIN soa=example.com."),
		  "%s", text);
	cr_assert(strstr(text, "; answer www.example.com. A do=0 cd=0 ttl=500"), "%s", text);
	free(text);
	vg_cache_close(c);
}

/* A formatter that takes MX only, to see the hook used and the fallback kept. */
static int fmt_mx(void *fp, uint16_t type, const uint8_t *rd, size_t len, void *arg)
{
	(void)rd;
	(void)arg;
	if (type != 15)
		return -1;
	fprintf(fp, "<mx %zu bytes>", len);
	return 0;
}

Test(cache, dump_select_shows_one_name_with_its_origin)
{
	struct vg_cache *c = open_default();
	static const uint8_t mx[] = {0, 10, 2, 'm', 'x', 0};
	put_rrset(c, "www.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "www.example.com.", 15, 600, 0x03, 0, mx, sizeof(mx), T0);
	put_rrset(c, "a.www.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	vg_cache_sync(c);
	uint8_t name[VG_NAME_MAX];
	W("WWW.example.com.", name);
	char *text = NULL;
	size_t tl = 0;
	FILE *f = open_memstream(&text, &tl);
	cr_assert_eq(vg_cache_dump_select(c, f, T0 + 10, name, 0, fmt_mx, NULL), 0);
	fclose(f);
	cr_assert(strstr(text, "www.example.com. 590 IN A 192.0.2.1 ; rank=21 sec=secure "
			       "(auth-answer, iterated; ttl 600, stored 10 s ago)\n"),
		  "%s", text);
	cr_assert(strstr(text, "www.example.com. 590 IN MX <mx 6 bytes> ; rank=3 sec=secure "
			       "(nonauth-answer, forwarder; ttl 600, stored 10 s ago)\n"),
		  "%s", text);
	cr_assert_null(strstr(text, "a.www.example.com."), "a child is not the name: %s", text);
	cr_assert_null(strstr(text, "\nexample.com."), "the parent is not the name: %s", text);
	free(text);

	/* one type */
	text = NULL;
	f = open_memstream(&text, &tl);
	cr_assert_eq(vg_cache_dump_select(c, f, T0 + 10, name, 15, NULL, NULL), 0);
	fclose(f);
	cr_assert(strstr(text, " IN MX \\# 6 000a026d7800 ;"), "built-in fallback: %s", text);
	cr_assert_null(strstr(text, " IN A "), "%s", text);
	free(text);

	/* nothing cached for the name */
	W("nothing.example.com.", name);
	f = fopen("/dev/null", "w");
	cr_assert_eq(vg_cache_dump_select(c, f, T0 + 10, name, 0, NULL, NULL), VG_ENOTFOUND);
	fclose(f);
	vg_cache_close(c);
}

Test(cache, answer_ttl_never_outlives_an_rrsig_in_the_message)
{
	struct vg_cache *c = open_default();
	struct msg m;
	uint8_t q[VG_NAME_MAX], sig[40];
	W("sig.example.", q);
	memset(sig, 0, sizeof(sig));
	vg_put_u16(sig, 1);
	vg_put_u32(sig + 8, T0 + 50);	 /* expiration */
	vg_put_u32(sig + 12, T0 - 1000); /* inception */
	msg_init(&m, "sig.example.", 1, 0);
	msg_rr(&m, 1, "sig.example.", 1, 3600, A1, 4);
	msg_rr(&m, 1, "sig.example.", 46, 3600, sig, sizeof(sig));
	cr_assert_eq(
	    vg_cache_answer_put(c, q, 1, true, false, m.b, m.len, 0x15, VG_SEC_SECURE, 0, T0), 0);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	uint8_t out[4096];
	size_t len, offs[4];
	cr_assert_eq(vg_cache_answer_get(rd, q, 13, 1, true, false, 1, T0 + 10, out, sizeof(out),
					 &len, NULL, 0),
		     0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 40);
	cr_assert_eq(ttl_at(out, offs[1]), 40);
	cr_assert_eq(vg_cache_answer_get(rd, q, 13, 1, true, false, 1, T0 + 50, out, sizeof(out),
					 &len, NULL, 0),
		     VG_ESTALE);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}

Test(cache, flushes_of_many_entries_run_in_small_txns_and_finish)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20; /* small map: 32 deletions per flush txn */
	struct vg_cache *c = open_with(&o);
	char name[64];
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "n%d.example.com.", i);
		put_neg(c, name, 1, true, 600, 600, T0);
		snprintf(name, sizeof(name), "p%d.big.example.", i);
		put_rrset(c, name, 1, 600, 0x15, 0, A1, 4, T0);
	}
	put_rrset(c, "keep.example.", 1, 600, 0x15, 0, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.negatives, 600);
	cr_assert_eq(st.rrsets, 601);
	vg_cache_flush_negative(c);
	vg_cache_sync(c);
	vg_cache_stats(c, &st);
	cr_assert_eq(st.negatives, 0);
	cr_assert_eq(st.rrsets, 601);
	uint8_t z[VG_NAME_MAX];
	W("big.example.", z);
	vg_cache_flush_zone(c, z);
	vg_cache_sync(c);
	vg_cache_stats(c, &st);
	cr_assert_eq(st.rrsets, 1);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "keep.example.", 1, T0, 0, &v, buf), 0);
	vg_cache_close(c);
}

/* ---- wall clock going backwards ---- */

/* An entry stamped ahead of `now` (the clock was set back, e.g. by the scenario harness) has an
 * unknown age: it is expired, never served (not even stale), and does not hold its slot by
 * rank; a stamp only a few seconds ahead (another thread's clock read) is "just stored". */
Test(cache, entries_stored_in_the_future_are_expired_when_the_clock_goes_back)
{
	struct vg_cache *c = open_default();
	uint32_t later = T0 + 86400;
	put_a_answer(c, "back.example.", 600, 0x15, 0, later);
	put_rrset(c, "back.example.", 1, 600, 0x15, 0, A1, 4, later);
	put_a_answer(c, "near.example.", 600, 0x15, 0, T0 + 3);
	vg_cache_sync(c);
	uint8_t out[4096], buf[4096];
	size_t len;
	unsigned fl;
	struct vg_cache_rrset_view v;
	cr_assert_eq(get_answer(c, "back.example.", 1, T0, out, &len, &fl, 3600), VG_ESTALE,
		     "an answer from a day ahead is not served, not even stale");
	cr_assert_eq(get_rrset(c, "back.example.", 1, T0, 3600, &v, buf), VG_ESTALE);
	cr_assert_eq(get_answer(c, "near.example.", 1, T0, out, &len, &fl, 0), 0);
	size_t offs[4];
	cr_assert_eq(rr_ttl_offsets(out, len, offs), 1);
	cr_assert_eq(ttl_at(out, offs[0]), 600, "3 s ahead counts as just stored");
	/* equal-rank data stored now replaces the entry from the future */
	put_a_answer(c, "back.example.", 300, 0x15, 0, T0);
	put_rrset(c, "back.example.", 1, 300, 0x15, 0, A2, 4, T0);
	vg_cache_sync(c);
	cr_assert_eq(get_answer(c, "back.example.", 1, T0 + 1, out, &len, &fl, 0), 0);
	cr_assert_eq(rr_ttl_offsets(out, len, offs), 1);
	cr_assert_eq(ttl_at(out, offs[0]), 299);
	cr_assert_eq(get_rrset(c, "back.example.", 1, T0 + 1, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, A2, 4), 0);
	vg_cache_close(c);
}

/* Two records whose (u16 rdlen, rdata) sequence is `bytes` long, at `owner`. */
static int put_bytes(struct vg_cache *c, const char *owner, size_t bytes)
{
	static uint8_t rd[VG_CACHE_READ_MAX + 1];
	uint8_t o[VG_NAME_MAX];
	W(owner, o);
	vg_put_u16(rd, 60000);
	vg_put_u16(rd + 60002, (uint16_t)(bytes - 60004));
	struct vg_cache_rrset rs = {.owner = o,
				    .type = 16,
				    .rclass = 1,
				    .ttl = 300,
				    .rank = 0x15,
				    .rr_count = 2,
				    .rdata = rd,
				    .rdata_len = bytes};
	return vg_cache_rrset_put(c, &rs, T0);
}

Test(cache, rrset_put_refuses_a_value_no_reader_could_take_back)
{
	struct vg_cache *c = open_default();
	cr_assert_eq(put_bytes(c, "at.example.", VG_CACHE_READ_MAX), 0);
	cr_assert_eq(put_bytes(c, "over.example.", VG_CACHE_READ_MAX + 1), VG_ELIMIT);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	static uint8_t buf[VG_CACHE_READ_MAX];
	struct vg_cache_rrset_view v;
	uint8_t o[VG_NAME_MAX];
	W("at.example.", o);
	cr_assert_eq(vg_cache_rrset_get(rd, o, 16, T0, 0, buf, sizeof(buf), &v), 0);
	cr_assert_eq(v.rdata_len, VG_CACHE_READ_MAX, "the largest value a reader takes back");
	W("over.example.", o);
	cr_assert_eq(vg_cache_rrset_get(rd, o, 16, T0, 0, buf, sizeof(buf), &v), VG_ENOTFOUND);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}

static bool known(struct vg_cache_reader *rd, const char *name)
{
	uint8_t n[VG_NAME_MAX];
	W(name, n);
	return vg_cache_name_known(rd, n);
}

Test(cache, name_known_sees_any_entry_of_the_name_and_only_of_the_name)
{
	struct vg_cache *c = open_default();
	uint8_t ns[VG_NAME_MAX];
	uint16_t nl = (uint16_t)W("a.gtld.", ns);
	put_rrset(c, "www.example.com.", 1, 100, 0x14, 0, A1, 4, T0);
	put_neg(c, "gone.example.com.", 1, true, 3600, 300, T0);
	put_neg(c, "empty.example.com.", 28, false, 60, 300, T0);
	put_deleg(c, "sub.example.com.", 100, 0x14, ns, nl, T0);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	cr_assert(known(rd, "www.example.com."));
	cr_assert(known(rd, "WWW.Example.COM."), "any case");
	cr_assert(known(rd, "gone.example.com."), "an NXDOMAIN entry");
	cr_assert(known(rd, "empty.example.com."), "a NODATA entry");
	cr_assert(known(rd, "sub.example.com."), "a delegation");
	cr_assert_not(known(rd, "example.com."), "a parent of stored names holds nothing itself");
	cr_assert_not(known(rd, "a.www.example.com."), "nor does a child");
	cr_assert_not(known(rd, "ww.example.com."));
	cr_assert_not(known(rd, "www.example.co."));
	cr_assert_not(known(rd, "zzz."), "past the last key");
	cr_assert_not(known(rd, "."));
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}
