/* Unit tests of the resolver's wire code: strict reply matching (ID, question, 0x20 case),
 * message parsing with decompression, query building, case randomisation, root hints. */
#include <criterion/criterion.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/upstream.h>
#include "internal.h"

static int query(uint8_t *buf, const char *name, uint16_t id)
{
	uint8_t n[VG_NAME_MAX];
	vg_name_from_text(name, n);
	return vg_query_build(buf, 512, id, n, VG_TYPE_A, VG_CLASS_IN, false, true, true);
}

static size_t reply_of(uint8_t *r, const uint8_t *q, int qlen)
{
	memcpy(r, q, (size_t)qlen);
	r[2] |= 0x80;
	return (size_t)qlen;
}

Test(wire, reply_matching_requires_id_qr_and_exact_question)
{
	uint8_t q[512], r[512];
	int ql = query(q, "wWw.ExAmple.com.", 0x1234);
	cr_assert_gt(ql, 0);
	size_t rl = reply_of(r, q, ql);
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_OK);
	r[1] ^= 1;
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_ID);
	r[1] ^= 1;
	r[2] &= 0x7f;
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_NOT_REPLY);
	r[2] |= 0x80;
	r[13] ^= 0x20; /* 'w' -> 'W': a case-only difference */
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_CASE);
	r[13] ^= 0x20;
	r[14] = 'x';
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_QUESTION);
	r[14] = q[14];
	r[12 + 17 + 1] ^= 1; /* qtype */
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_QUESTION);
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, 10), VG_MATCH_SHORT);
}

Test(wire, reply_with_two_questions_is_rejected)
{
	uint8_t q[512], r[512];
	int ql = query(q, "www.example.com.", 7);
	size_t rl = reply_of(r, q, ql);
	vg_put_u16(r + 4, 2);
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_QUESTION);
}

Test(wire, query_has_opt_with_1232_and_do)
{
	uint8_t q[512];
	int ql = query(q, "www.example.com.", 1);
	cr_assert_eq(vg_get_u16(q + 10), 1, "ARCOUNT 1");
	const uint8_t *opt = q + ql - 11;
	cr_assert_eq(vg_get_u16(opt + 1), VG_TYPE_OPT);
	cr_assert_eq(vg_get_u16(opt + 3), 1232);
	cr_assert_eq(vg_get_u32(opt + 5) & 0x8000, 0x8000);
	uint8_t n[VG_NAME_MAX];
	vg_name_from_text("www.example.com.", n);
	int l2 = vg_query_build(q, 512, 1, n, VG_TYPE_A, VG_CLASS_IN, true, false, false);
	cr_assert_eq(vg_get_u16(q + 10), 0, "no OPT without EDNS");
	cr_assert_eq(q[2] & 1, 1, "RD");
	cr_assert_eq(l2, 12 + 17 + 4);
}

Test(wire, case_randomisation_changes_only_letter_case)
{
	uint8_t n[VG_NAME_MAX], orig[VG_NAME_MAX];
	int len = vg_name_from_text("www.example-1.com.", n);
	memcpy(orig, n, (size_t)len);
	uint8_t rnd[4] = {0xa5, 0x5a, 0xff, 0x01};
	vg_name_randomise_case(n, rnd, sizeof(rnd));
	cr_assert(vg_name_eq(n, orig));
	cr_assert(memcmp(n, orig, (size_t)len) != 0, "some letters changed case");
	cr_assert_eq(n[12], '-');
}

Test(wire, parse_decompresses_rdata_names_and_lowercases)
{
	/* header, question www.Example.com A, answer: CNAME with a pointer to the qname */
	uint8_t pkt[] = {0,   1,   0x84, 0,    0,   1,	 0,   1,    0,	 0,   0,    0, 3,
			 'w', 'w', 'w',	 7,    'E', 'x', 'a', 'm',  'p', 'l', 'e',  3, 'c',
			 'o', 'm', 0,	 0,    1,   0,	 1,   0xc0, 12,	 0,   5,    0, 1,
			 0,   0,   0x0e, 0x10, 0,   6,	 3,   'f',  'o', 'o', 0xc0, 16};
	struct vg_arena a;
	vg_arena_init(&a, 0, 0);
	struct vg_msg m;
	cr_assert_eq(vg_msg_parse(&a, pkt, sizeof(pkt), &m), 0);
	cr_assert_eq(m.n_rr, 1);
	cr_assert(VG_MSG_AA(&m));
	uint8_t want[VG_NAME_MAX];
	vg_name_from_text("foo.example.com.", want);
	cr_assert_eq(m.rr[0].rdlen, 17);
	cr_assert_eq(memcmp(m.rr[0].rdata, want, 17), 0, "decompressed and lowercase");
	cr_assert_eq(m.rr[0].owner[5], 'e', "owner lowercase");
	cr_assert_eq(m.rr[0].ttl, 3600);
	vg_arena_free(&a);
}

Test(wire, parse_rejects_lying_counts_and_truncation)
{
	uint8_t pkt[] = {0, 1, 0x84, 0, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 1, 0, 1};
	struct vg_arena a;
	vg_arena_init(&a, 0, 0);
	struct vg_msg m;
	cr_assert_lt(vg_msg_parse(&a, pkt, sizeof(pkt), &m), 0);
	cr_assert_lt(vg_msg_parse(&a, pkt, 11, &m), 0);
	vg_arena_free(&a);
}

Test(wire, parse_reads_the_extended_rcode_and_treats_huge_ttls_as_zero)
{
	uint8_t pkt[] = {0, 1, 0x80, 0, 0,  1, 0,    1,	   0, 0,    0, 1, 0, 0, 1,
			 0, 1, 0,    0, 1,  0, 1,    0x80, 0, 0,    0, 0, 4, 1, 2,
			 3, 4, 0,    0, 41, 4, 0xd0, 1,	   0, 0x80, 0, 0, 0};
	struct vg_arena a;
	vg_arena_init(&a, 0, 0);
	struct vg_msg m;
	cr_assert_eq(vg_msg_parse(&a, pkt, sizeof(pkt), &m), 0);
	cr_assert(m.edns);
	cr_assert_eq(m.rcode, 16, "BADVERS from the OPT's extended rcode");
	cr_assert_eq(m.rr[0].ttl, 0);
	vg_arena_free(&a);
}

Test(wire, root_hints_parse_named_root_format)
{
	const char *text = "; comment\n"
			   ".                        3600000      NS    A.ROOT-SERVERS.NET.\n"
			   "A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4\n"
			   "A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30\n"
			   ".  3600000 IN NS b.root-servers.net.\n"
			   "b.root-servers.net. IN 3600000 A 170.247.170.2\n"
			   "unrelated.example. 300 A 192.0.2.1\n";
	struct vg_hint h[8];
	int n = vg_roothints_parse(text, h, 8);
	cr_assert_eq(n, 3);
	cr_assert_eq(h[0].addr.u.sa.sa_family, AF_INET);
	cr_assert_eq(h[1].addr.u.sa.sa_family, AF_INET6);
	cr_assert_eq(ntohs(h[2].addr.u.sin.sin_port), 53);
	cr_assert_eq(vg_roothints_parse("; nothing\n", h, 8), VG_EFORMAT);
	cr_assert_eq(vg_roothints_parse(". NS a.x.\na.x. A 999.1.1.1\n", h, 8), VG_EFORMAT);
}

Test(wire, builtin_root_hints_have_13_servers_in_both_families)
{
	extern const char vg_builtin_root_hints[];
	struct vg_hint h[64];
	int n = vg_roothints_parse(vg_builtin_root_hints, h, 64);
	cr_assert_eq(n, 26);
}

Test(wire, empty_rdata_at_the_end_of_a_packet_is_read_within_bounds)
{
	/* one answer with rdlength 0 as the last bytes: nothing past the end may be read */
	const uint8_t pkt[] = {0, 1, 0x84, 0, 0, 1,  0, 1, 0, 0, 0, 0, 0, 0,
			       1, 0, 1,	   0, 0, 99, 0, 1, 0, 0, 0, 5, 0, 0};
	uint8_t *exact = malloc(sizeof(pkt)); /* heap copy: ASan sees a read past it */
	memcpy(exact, pkt, sizeof(pkt));
	struct vg_arena a;
	vg_arena_init(&a, 0, 0);
	struct vg_msg m;
	cr_assert_eq(vg_msg_parse(&a, exact, sizeof(pkt), &m), 0);
	cr_assert_eq(m.n_rr, 1);
	cr_assert_eq(m.rr[0].rdlen, 0);
	vg_arena_free(&a);
	free(exact);
}

/* Appends one record: owner `own` (wire bytes, maybe a pointer), type, rdata. */
static size_t rec(uint8_t *p, size_t o, const void *own, size_t ol, uint16_t type, const void *rd,
		  uint16_t rdlen)
{
	memcpy(p + o, own, ol);
	o += ol;
	vg_put_u16(p + o, type);
	vg_put_u16(p + o + 2, VG_CLASS_IN);
	vg_put_u32(p + o + 4, 300);
	vg_put_u16(p + o + 8, rdlen);
	memcpy(p + o + 10, rd, rdlen);
	return o + 10 + rdlen;
}

Test(wire, index_groups_records_by_owner_type_and_covered_type)
{
	uint8_t p[512] = {0, 1, 0x84, 0, 0, 1, 0, 5, 0, 0, 0, 0};
	static const uint8_t q[] = "\3www\7example\3com\0\0\1\0\1";
	memcpy(p + 12, q, sizeof(q) - 1);
	size_t o = 12 + sizeof(q) - 1;
	static const uint8_t ptr[2] = {0xC0, 12}, upper[] = "\3WWW\7example\3COM";
	static const uint8_t a1[4] = {192, 0, 2, 1}, a2[4] = {192, 0, 2, 2};
	static const uint8_t sig_a[2] = {0, VG_TYPE_A}, sig_ns[2] = {0, VG_TYPE_NS};
	o = rec(p, o, ptr, 2, VG_TYPE_A, a1, 4);
	o = rec(p, o, ptr, 2, VG_TYPE_RRSIG, sig_a, 2);
	o = rec(p, o, upper, sizeof(upper), VG_TYPE_A, a2, 4); /* spelled out, other case */
	o = rec(p, o, ptr, 2, VG_TYPE_RRSIG, sig_ns, 2);
	o = rec(p, o, ptr, 2, VG_TYPE_A, a1, 4); /* a duplicate is a member too */
	struct vg_arena a;
	struct vg_msg m;
	vg_arena_init(&a, 0, 0);
	cr_assert_eq(vg_msg_parse(&a, p, o, &m), 0);
	cr_assert_eq(m.n_sets, 3, "A, RRSIG(A), RRSIG(NS)");
	uint8_t www[VG_NAME_MAX];
	vg_name_from_text("www.example.com.", www);
	uint32_t h = vg_name_hash(www, sizeof(q) - 5);
	struct vg_rrset_ix *s = vg_msg_rrset(&m, www, h, VG_TYPE_A, 0);
	cr_assert_not_null(s);
	cr_assert_eq(s->n, 3);
	cr_assert_eq(s->n_sec[VG_SEC_ANSWER], 3);
	uint32_t want[3] = {0, 2, 4}; /* message order */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(m.members[s->first + (uint32_t)i], want[i]);
	cr_assert_eq(m.rr[0].owner, m.rr[4].owner, "one decode for owners written as a pointer");
	cr_assert_eq(vg_msg_rrset(&m, www, h, VG_TYPE_RRSIG, VG_TYPE_A)->n, 1);
	cr_assert_eq(vg_msg_rrset(&m, www, h, VG_TYPE_RRSIG, VG_TYPE_NS)->n, 1);
	cr_assert_null(vg_msg_rrset(&m, www, h, VG_TYPE_AAAA, 0));
	vg_arena_free(&a);
}

Test(wire, a_matching_reply_that_does_not_parse_is_malformed)
{
	uint8_t n[VG_NAME_MAX], q[512], r[600];
	vg_name_from_text("www.example.com.", n);
	int ql =
	    vg_query_build(q, sizeof(q), 0x4321, n, VG_TYPE_A, VG_CLASS_IN, false, false, false);
	size_t rl = reply_of(r, q, ql);
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_OK);
	r[7] = 2; /* ANCOUNT 2, no records: the counts lie */
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_MALFORMED);
	r[2] |= 0x02; /* unless truncated: cut inside a record, read for its TC bit only */
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl), VG_MATCH_OK);
	r[2] &= (uint8_t)~0x02;
	/* One NS record whose rdata name points past the packet. */
	const uint8_t rr[] = {0xc0, 12, 0, 2, 0, 1, 0, 0, 0, 60, 0, 2, 0xc3, 0xff};
	memcpy(r + rl, rr, sizeof(rr));
	r[7] = 1;
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl + sizeof(rr)), VG_MATCH_MALFORMED);
	r[rl + 12] = 0xc0; /* points at the question's name: fine */
	r[rl + 13] = 12;
	cr_assert_eq(vg_upstream_match(q, (size_t)ql, r, rl + sizeof(rr)), VG_MATCH_OK);
}
