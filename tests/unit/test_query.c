/* Unit tests of the front end's wire rules (daemon/query.c): query checks, error responses,
 * OPT/EDE encoding and truncation. */
#include <criterion/criterion.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "query.h"

/* A small packet builder. */
struct pkt {
	uint8_t b[8192];
	size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}
static void put16(struct pkt *p, uint16_t v)
{
	vg_put_u16(p->b + p->n, v);
	p->n += 2;
}
static void put32(struct pkt *p, uint32_t v)
{
	vg_put_u32(p->b + p->n, v);
	p->n += 4;
}
static void header(struct pkt *p, uint16_t id, uint8_t f1, uint8_t f2, uint16_t qd, uint16_t an,
		   uint16_t ns, uint16_t ar)
{
	p->n = 0;
	put16(p, id);
	p->b[p->n++] = f1;
	p->b[p->n++] = f2;
	put16(p, qd);
	put16(p, an);
	put16(p, ns);
	put16(p, ar);
}
static void name(struct pkt *p, const char *text)
{
	uint8_t w[VG_NAME_MAX];
	int n = vg_name_from_text(text, w);
	cr_assert_gt(n, 0);
	put(p, w, (size_t)n);
}
static void opt(struct pkt *p, uint16_t size, uint8_t version, bool do_bit)
{
	p->b[p->n++] = 0;
	put16(p, VG_TYPE_OPT);
	put16(p, size);
	put32(p, ((uint32_t)version << 16) | (do_bit ? 0x8000u : 0));
	put16(p, 0);
}
/* A standard query for NAME/TYPE IN, RD set, optionally with an OPT. */
static void query(struct pkt *p, const char *qname, uint16_t qtype, bool edns)
{
	header(p, 0x1234, 0x01, 0, 1, 0, 0, edns ? 1 : 0);
	name(p, qname);
	put16(p, qtype);
	put16(p, VG_CLASS_IN);
	if (edns)
		opt(p, 4096, 0, true);
}

static int parse(struct pkt *p, struct vg_query *q)
{
	return vg_query_parse(p->b, p->n, q);
}

Test(query, parses_question_and_opt)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "www.Example.com.", 28, true);
	p.b[3] |= 0x10; /* CD */
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	cr_assert_eq(q.id, 0x1234);
	cr_assert(q.rd && q.cd && q.has_edns && q.do_bit);
	cr_assert_eq(q.udp_size, 4096);
	cr_assert_eq(q.qtype, 28);
	cr_assert_eq(q.qclass, VG_CLASS_IN);
	cr_assert_eq(q.qname_len, 17);
	cr_assert_eq(memcmp(q.qname, "\3www\7Example\3com", 17), 0, "0x20 spelling kept");
}

Test(query, parses_query_without_edns)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	cr_assert_not(q.has_edns);
	cr_assert_not(q.do_bit);
}

Test(query, drops_datagram_shorter_than_header)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	cr_assert_eq(vg_query_parse(p.b, 11, &q), VG_QUERY_DROP);
	cr_assert_eq(vg_query_parse(p.b, 0, &q), VG_QUERY_DROP);
}

Test(query, drops_responses)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	p.b[2] |= 0x80;
	cr_assert_eq(parse(&p, &q), VG_QUERY_DROP);
}

Test(query, notimp_for_other_opcodes)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	p.b[2] = (uint8_t)(4 << 3); /* NOTIFY */
	cr_assert_eq(parse(&p, &q), VG_RCODE_NOTIMP);
	uint8_t out[512];
	int n = vg_query_error(&q, VG_RCODE_NOTIMP, VG_EDE_NONE, NULL, 1232, out, sizeof(out));
	cr_assert_eq(n, 12 + 3 + 4, "header and the echoed question");
	cr_assert_eq(out[2] >> 3 & 0xF, 4, "opcode echoed");
	cr_assert_eq(out[3] & 0xF, VG_RCODE_NOTIMP);
	cr_assert_eq(vg_get_u16(out + 4), 1);
}

Test(query, notimp_and_formerr_keep_the_opt_of_an_edns_query)
{
	struct pkt p;
	struct vg_query q;
	uint8_t out[512];
	query(&p, "a.", 1, true);
	p.b[2] = (uint8_t)(4 << 3); /* NOTIFY */
	cr_assert_eq(parse(&p, &q), VG_RCODE_NOTIMP);
	cr_assert(q.has_edns && q.do_bit, "the OPT of a NOTIMP query is read");
	int n = vg_query_error(&q, VG_RCODE_NOTIMP, VG_EDE_NONE, NULL, 1232, out, sizeof(out));
	cr_assert_eq(n, 12 + 3 + 4 + 11);
	cr_assert_eq(vg_get_u16(out + 10), 1, "OPT in the NOTIMP response");
	cr_assert_eq(out[12 + 7 + 7], 0x80, "DO echoed");

	/* QDCOUNT 0 with an OPT: FORMERR, with an OPT */
	header(&p, 7, 0, 0, 0, 0, 0, 1);
	opt(&p, 1232, 0, false);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
	cr_assert(q.has_edns);
	cr_assert_not(q.has_question);
	n = vg_query_error(&q, VG_RCODE_FORMERR, VG_EDE_NONE, NULL, 1232, out, sizeof(out));
	cr_assert_eq(n, 12 + 11);
	cr_assert_eq(vg_get_u16(out + 10), 1);

	/* an answer record in the query: FORMERR, still with question and OPT */
	header(&p, 7, 0, 0, 1, 1, 0, 1);
	name(&p, "a.");
	put16(&p, 1);
	put16(&p, 1);
	put16(&p, 0xC00C);
	put16(&p, 1);
	put16(&p, 1);
	put32(&p, 0);
	put16(&p, 4);
	put32(&p, 0x01020304);
	opt(&p, 1232, 0, false);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
	cr_assert(q.has_edns && q.has_question);
}

Test(query, formerr_when_qdcount_is_not_one)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	vg_put_u16(p.b + 4, 0);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
	vg_put_u16(p.b + 4, 2);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_when_query_carries_answers)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	vg_put_u16(p.b + 6, 1);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_for_label_over_63)
{
	struct pkt p;
	struct vg_query q;
	header(&p, 1, 0, 0, 1, 0, 0, 0);
	p.b[p.n++] = 64;
	memset(p.b + p.n, 'a', 64);
	p.n += 64;
	p.b[p.n++] = 0;
	put16(&p, 1);
	put16(&p, 1);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_for_name_over_255)
{
	struct pkt p;
	struct vg_query q;
	header(&p, 1, 0, 0, 1, 0, 0, 0);
	for (int i = 0; i < 5; i++) { /* 5 * 51 + 1 = 256 bytes */
		p.b[p.n++] = 50;
		memset(p.b + p.n, 'a', 50);
		p.n += 50;
	}
	p.b[p.n++] = 0;
	put16(&p, 1);
	put16(&p, 1);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_for_compression_in_question)
{
	struct pkt p;
	struct vg_query q;
	header(&p, 1, 0, 0, 1, 0, 0, 0);
	p.b[p.n++] = 0xC0; /* pointer into the header */
	p.b[p.n++] = 2;
	put16(&p, 1);
	put16(&p, 1);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_for_pointer_loop_and_forward_pointer)
{
	struct pkt p;
	struct vg_query q;
	/* additional record whose owner points to itself */
	query(&p, "a.", 1, false);
	vg_put_u16(p.b + 10, 1);
	size_t at = p.n;
	p.b[p.n++] = (uint8_t)(0xC0 | (at >> 8));
	p.b[p.n++] = (uint8_t)at;
	put16(&p, 1);
	put16(&p, 1);
	put32(&p, 0);
	put16(&p, 0);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
	/* and one pointing forward */
	query(&p, "a.", 1, false);
	vg_put_u16(p.b + 10, 1);
	at = p.n;
	p.b[p.n++] = 0xC0;
	p.b[p.n++] = (uint8_t)(at + 12);
	put16(&p, 1);
	put16(&p, 1);
	put32(&p, 0);
	put16(&p, 0);
	p.b[p.n++] = 0;
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_for_truncated_question)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "example.com.", 1, false);
	cr_assert_eq(vg_query_parse(p.b, p.n - 1, &q), VG_RCODE_FORMERR);
	cr_assert_eq(vg_query_parse(p.b, 14, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_for_trailing_garbage)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, true);
	p.b[p.n++] = 0x42;
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
	query(&p, "a.", 1, false);
	put16(&p, 0);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_for_two_opt_records)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, true);
	opt(&p, 1232, 0, false);
	vg_put_u16(p.b + 10, 2);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, formerr_for_opt_with_owner_or_bad_options)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	vg_put_u16(p.b + 10, 1);
	name(&p, "x.");
	put16(&p, VG_TYPE_OPT);
	put16(&p, 1232);
	put32(&p, 0);
	put16(&p, 0);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
	/* an option claiming more bytes than the RDATA holds */
	query(&p, "a.", 1, false);
	vg_put_u16(p.b + 10, 1);
	p.b[p.n++] = 0;
	put16(&p, VG_TYPE_OPT);
	put16(&p, 1232);
	put32(&p, 0);
	put16(&p, 4);
	put16(&p, 10);
	put16(&p, 8);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
	/* RFC 6891 7: a FORMERR for a problem with the OPT itself carries an OPT */
	cr_assert(q.has_edns, "the bad OPT is still seen, so the FORMERR gets an OPT");
	uint8_t out[512];
	int n = vg_query_error(&q, VG_RCODE_FORMERR, VG_EDE_NONE, NULL, 1232, out, sizeof(out));
	cr_assert_eq(n, 12 + 3 + 4 + 11);
	cr_assert_eq(vg_get_u16(out + 10), 1);
}

Test(query, badvers_for_edns_version_above_zero)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	vg_put_u16(p.b + 10, 1);
	opt(&p, 1232, 1, false);
	cr_assert_eq(parse(&p, &q), VG_RCODE_BADVERS);
	uint8_t out[512];
	int n = vg_query_error(&q, VG_RCODE_BADVERS, VG_EDE_NONE, NULL, 1232, out, sizeof(out));
	cr_assert_eq(n, 12 + 3 + 4 + 11);
	cr_assert_eq(out[3] & 0xF, 0, "low bits of 16 are 0");
	cr_assert_eq(vg_get_u16(out + 10), 1, "OPT present");
	const uint8_t *o = out + 12 + 3 + 4;
	cr_assert_eq(vg_get_u16(o + 1), VG_TYPE_OPT);
	cr_assert_eq(o[5], 1, "extended rcode 16 >> 4");
	cr_assert_eq(o[6], 0, "we speak version 0");
}

Test(query, refused_for_chaos_and_hesiod)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "version.bind.", 16, false);
	vg_put_u16(p.b + p.n - 2, VG_CLASS_CH);
	cr_assert_eq(parse(&p, &q), VG_RCODE_REFUSED);
	vg_put_u16(p.b + p.n - 2, VG_CLASS_HS);
	cr_assert_eq(parse(&p, &q), VG_RCODE_REFUSED);
}

Test(query, formerr_for_opt_as_question_type)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", VG_TYPE_OPT, false);
	cr_assert_eq(parse(&p, &q), VG_RCODE_FORMERR);
}

Test(query, error_response_echoes_id_question_and_flags)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "Www.A.", 1, true);
	p.b[3] |= 0x10;
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	uint8_t out[512];
	int n = vg_query_error(&q, VG_RCODE_REFUSED, VG_EDE_NONE, NULL, 1232, out, sizeof(out));
	cr_assert_eq(n, 12 + 7 + 4 + 11);
	cr_assert_eq(vg_get_u16(out), 0x1234);
	cr_assert_eq(out[2], 0x81, "QR and RD");
	cr_assert_eq(out[3], 0x80 | 0x10 | VG_RCODE_REFUSED, "RA, CD, rcode");
	cr_assert_eq(memcmp(out + 12, "\3Www\1A", 7), 0);
	const uint8_t *o = out + 12 + 7 + 4;
	cr_assert_eq(o[7], 0x80, "DO echoed");
	cr_assert_eq(vg_get_u16(o + 3), 1232, "our buffer size");
}

Test(query, udp_limit_follows_edns)
{
	struct vg_query q = {.has_edns = false};
	cr_assert_eq(vg_query_udp_limit(&q, 1232), 512);
	q.has_edns = true;
	q.udp_size = 4096;
	cr_assert_eq(vg_query_udp_limit(&q, 1232), 1232);
	q.udp_size = 1000;
	cr_assert_eq(vg_query_udp_limit(&q, 1232), 1000);
	q.udp_size = 100;
	cr_assert_eq(vg_query_udp_limit(&q, 1232), 512);
}

/* An answer (ID 0, no OPT) for a.example. with `n1` A records, then `n2` A records of b.example.
 * in the answer section, and `n3` additional records. */
static void answer(struct pkt *p, int n1, int n2, int n3)
{
	header(p, 0, 0x81, 0x80, 1, (uint16_t)(n1 + n2), 0, (uint16_t)n3);
	name(p, "a.example.");
	put16(p, 1);
	put16(p, 1);
	for (int i = 0; i < n1 + n2 + n3; i++) {
		if (i < n1) {
			put16(p, 0xC00C);
		} else {
			name(p, i < n1 + n2 ? "b.example." : "ns.example.");
		}
		put16(p, 1);
		put16(p, 1);
		put32(p, 300);
		put16(p, 4);
		put32(p, 0x0A000000u + (uint32_t)i);
	}
}

Test(query, finish_writes_id_and_opt_when_it_fits)
{
	struct pkt p, a;
	struct vg_query q;
	query(&p, "a.example.", 1, true);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	answer(&a, 2, 0, 0);
	size_t len = a.n;
	int n = vg_query_finish(&q, a.b, a.n, sizeof(a.b), 1232, VG_EDE_NONE, NULL, 1232);
	cr_assert_eq((size_t)n, len + 11);
	cr_assert_eq(vg_get_u16(a.b), 0x1234);
	cr_assert_eq(vg_get_u16(a.b + 10), 1);
	cr_assert_eq(a.b[2] & 0x02, 0, "no TC");
}

Test(query, finish_takes_rd_cd_opcode_from_the_query_and_sets_qr_ra)
{
	struct pkt p, a;
	struct vg_query q;
	/* a stored answer built for a query with RD=1 CD=0, served to one with RD=0 CD=1 */
	query(&p, "a.example.", 1, true);
	p.b[2] = 0x00;
	p.b[3] = 0x10;
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	answer(&a, 1, 0, 0);
	a.b[2] = 0x85; /* QR AA RD */
	a.b[3] = 0x40; /* Z set, RA clear */
	int n = vg_query_finish(&q, a.b, a.n, sizeof(a.b), 1232, VG_EDE_NONE, NULL, 1232);
	cr_assert_gt(n, 0);
	cr_assert_eq(a.b[2], 0x84, "QR, AA kept as built, RD from the query (0)");
	cr_assert_eq(a.b[3], 0x90, "RA, CD from the query, Z cleared, rcode kept");
	/* and the other way round */
	query(&p, "a.example.", 1, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	answer(&a, 1, 0, 0);
	a.b[2] = 0x80;
	a.b[3] = 0x13; /* CD, NXDOMAIN */
	n = vg_query_finish(&q, a.b, a.n, sizeof(a.b), 512, VG_EDE_NONE, NULL, 1232);
	cr_assert_gt(n, 0);
	cr_assert_eq(a.b[2], 0x81, "RD copied");
	cr_assert_eq(a.b[3], 0x83, "RA set, CD cleared, NXDOMAIN kept");
}

Test(query, finish_without_edns_adds_no_opt)
{
	struct pkt p, a;
	struct vg_query q;
	query(&p, "a.example.", 1, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	answer(&a, 2, 0, 0);
	size_t len = a.n;
	cr_assert_eq(
	    (size_t)vg_query_finish(&q, a.b, a.n, sizeof(a.b), 512, VG_EDE_NONE, NULL, 1232), len);
	cr_assert_eq(vg_get_u16(a.b + 10), 0);
}

Test(query, truncates_at_rrset_boundary_with_tc)
{
	struct pkt p, a;
	struct vg_query q;
	query(&p, "a.example.", 1, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	/* header 12 + question 15 + 20 * 16 = 347: fits 512; 20 more of b.example. (+28 each) not
	 */
	answer(&a, 20, 20, 0);
	cr_assert_gt(a.n, 512);
	int n = vg_query_finish(&q, a.b, a.n, sizeof(a.b), 512, VG_EDE_NONE, NULL, 1232);
	cr_assert_eq(n, 12 + 15 + 20 * 16);
	cr_assert(a.b[2] & 0x02, "TC set");
	cr_assert_eq(vg_get_u16(a.b + 6), 20, "the whole first RRset kept, none of the second");
}

Test(query, truncates_to_question_only_when_first_rrset_is_too_big)
{
	struct pkt p, a;
	struct vg_query q;
	query(&p, "a.example.", 1, true);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	answer(&a, 100, 0, 0);
	int n = vg_query_finish(&q, a.b, a.n, sizeof(a.b), 1232, VG_EDE_NONE, NULL, 1232);
	cr_assert_eq(n, 12 + 15 + 11, "header, question, OPT");
	cr_assert(a.b[2] & 0x02);
	cr_assert_eq(vg_get_u16(a.b + 6), 0);
	cr_assert_eq(vg_get_u16(a.b + 10), 1, "OPT kept");
}

Test(query, drops_additional_records_without_tc)
{
	struct pkt p, a;
	struct vg_query q;
	query(&p, "a.example.", 1, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	answer(&a, 2, 0, 30);
	int n = vg_query_finish(&q, a.b, a.n, sizeof(a.b), 512, VG_EDE_NONE, NULL, 1232);
	cr_assert_leq(n, 512);
	cr_assert_eq(a.b[2] & 0x02, 0, "additional data is not required: no TC");
	cr_assert_eq(vg_get_u16(a.b + 6), 2);
	cr_assert_eq(vg_get_u16(a.b + 10), 0, "the additional RRset went as a whole");
}

Test(query, tcp_limit_keeps_everything)
{
	struct pkt p, a;
	struct vg_query q;
	query(&p, "a.example.", 1, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	answer(&a, 100, 100, 0);
	size_t len = a.n;
	cr_assert_eq(
	    (size_t)vg_query_finish(&q, a.b, a.n, sizeof(a.b), 65535, VG_EDE_NONE, NULL, 1232),
	    len);
	cr_assert_eq(a.b[2] & 0x02, 0);
}

Test(query, finish_rejects_unparsable_oversized_answer)
{
	struct pkt p, a;
	struct vg_query q;
	query(&p, "a.example.", 1, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	answer(&a, 60, 0, 0);
	vg_put_u16(a.b + 6, 61); /* claims one record more than present */
	cr_assert_eq(vg_query_finish(&q, a.b, a.n, sizeof(a.b), 512, VG_EDE_NONE, NULL, 1232),
		     VG_EFORMAT);
}

Test(query, encodes_extended_dns_error)
{
	struct pkt p, a;
	struct vg_query q;
	query(&p, "a.example.", 1, true);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	header(&a, 0, 0x81, 0x82, 1, 0, 0, 0);
	name(&a, "a.example.");
	put16(&a, 1);
	put16(&a, 1);
	size_t len = a.n;
	int n = vg_query_finish(&q, a.b, a.n, sizeof(a.b), 1232, 6, "DNSSEC Bogus", 1232);
	cr_assert_eq((size_t)n, len + 11 + 4 + 2 + 12);
	const uint8_t *o = a.b + len;
	cr_assert_eq(vg_get_u16(o + 9), 4 + 2 + 12, "RDLENGTH");
	cr_assert_eq(vg_get_u16(o + 11), 15, "EDE option code");
	cr_assert_eq(vg_get_u16(o + 13), 2 + 12, "option length");
	cr_assert_eq(vg_get_u16(o + 15), 6, "info-code");
	cr_assert_eq(memcmp(o + 17, "DNSSEC Bogus", 12), 0);
	cr_assert_eq(o[7], 0x80, "DO echoed");
	/* the result must itself parse as a message with one OPT */
	struct vg_query back;
	a.b[2] &= 0x7F; /* pretend it is a query to reuse the parser's OPT walk */
	vg_put_u16(a.b + 6, 0);
	cr_assert_eq(vg_query_parse(a.b, (size_t)n, &back), VG_QUERY_OK);
	cr_assert(back.has_edns);
}

Test(query, error_with_ede_and_no_client_edns_has_no_opt)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.", 1, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	uint8_t out[512];
	int n = vg_query_error(&q, VG_RCODE_SERVFAIL, 22, "x", 1232, out, sizeof(out));
	cr_assert_eq(n, 12 + 3 + 4);
	cr_assert_eq(vg_get_u16(out + 10), 0);
}

Test(query, any_gets_rfc8482_hinfo)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "Example.com.", VG_TYPE_ANY, false);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	uint8_t out[512];
	int n = vg_query_any_answer(&q, out, sizeof(out));
	cr_assert_gt(n, 0);
	cr_assert_eq(vg_get_u16(out + 6), 1);
	const uint8_t *rr = out + 12 + 13 + 4;
	cr_assert_eq(vg_get_u16(rr + 2), VG_TYPE_HINFO);
	cr_assert_eq(vg_get_u16(rr + 10), 9);
	cr_assert_eq(memcmp(rr + 12, "\7RFC8482\0", 9), 0);
	cr_assert_eq(memcmp(out + 12, "\7Example\3com", 13), 0, "client's spelling");
}

/* A header + question of a.example. A + `n` A records (16 bytes each) into big[]. */
static size_t big_answer(uint8_t *big, unsigned n, bool tc)
{
	struct pkt a;
	answer(&a, 1, 0, 0);
	size_t len = a.n;
	memcpy(big, a.b, len);
	vg_put_u16(big + 6, (uint16_t)n);
	for (unsigned i = 1; i < n; i++, len += 16)
		memcpy(big + len, a.b + a.n - 16, 16);
	if (tc)
		big[2] |= 0x02;
	return len;
}

static uint8_t big[70000];

Test(query, tcp_finish_sends_the_whole_answer_or_servfail_never_a_cut_one)
{
	struct pkt p;
	struct vg_query q;
	query(&p, "a.example.", 1, true);
	cr_assert_eq(parse(&p, &q), VG_QUERY_OK);
	/* 12 + 15 + 4093 * 16 = 65515, + 11 for the OPT = 65526 */
	size_t len = big_answer(big, 4093, false);
	int n = vg_query_finish_tcp(&q, big, len, sizeof(big), VG_EDE_NONE, NULL, 1232);
	cr_assert_eq((size_t)n, len + 11);
	cr_assert_eq(big[2] & 0x02, 0, "no TC");
	cr_assert_eq(vg_get_u16(big + 6), 4093, "every record");
	cr_assert_eq(big[3] & 0x0F, VG_RCODE_NOERROR);
	/* The resolver's answer came cut (TC=1: it did not fit in a DNS message). */
	len = big_answer(big, 10, true);
	n = vg_query_finish_tcp(&q, big, len, sizeof(big), VG_EDE_NONE, NULL, 1232);
	cr_assert_gt(n, 12);
	cr_assert_eq(big[3] & 0x0F, VG_RCODE_SERVFAIL);
	cr_assert_eq(big[2] & 0x02, 0, "no TC over TCP");
	cr_assert_eq(vg_get_u16(big + 6), 0, "no records");
	cr_assert(memmem(big, (size_t)n, "does not fit", 12), "EDE text");
	/* A whole answer that does not fit with the OPT (65531 + 11 bytes) is not cut either. */
	len = big_answer(big, 4094, false);
	cr_assert_eq(len, 65531u);
	n = vg_query_finish_tcp(&q, big, len, sizeof(big), VG_EDE_NONE, NULL, 1232);
	cr_assert_gt(n, 12);
	cr_assert_eq(big[3] & 0x0F, VG_RCODE_SERVFAIL);
	cr_assert_eq(vg_get_u16(big + 6), 0);
	/* Over UDP the cut answer keeps TC and its records up to the limit. */
	len = big_answer(big, 10, true);
	n = vg_query_finish(&q, big, len, sizeof(big), 1232, VG_EDE_NONE, NULL, 1232);
	cr_assert_eq((size_t)n, len + 11);
	cr_assert(big[2] & 0x02, "TC kept");
	cr_assert_eq(vg_get_u16(big + 6), 10);
}
