/* The client-query side of the wire: query parsing and response patching (ID, OPT, EDE, TC). */
#include <string.h>
#include <vigil/err.h>
#include "query.h"

#define OPT_FIXED 11	 /* root owner, type, class, TTL, RDLENGTH */
#define EDE_TEXT_MAX 200 /* our texts are short; cap keeps the OPT size predictable */

int vg_query_parse(const uint8_t *pkt, size_t len, struct vg_query *q)
{
	q->has_question = false;
	q->has_edns = false;
	q->do_bit = false;
	q->udp_size = 0;
	q->edns_version = 0;
	q->qname_len = 0;
	q->qtype = q->qclass = 0;
	if (len < VG_DNS_HEADER)
		return VG_QUERY_DROP;
	q->id = vg_get_u16(pkt);
	q->opcode = (pkt[2] >> 3) & 0x0F;
	q->rd = pkt[2] & 0x01;
	q->cd = pkt[3] & 0x10;
	if (pkt[2] & 0x80)
		return VG_QUERY_DROP; /* a response: answering it could start a loop */
	/* An opcode or section-count error is only reported after the walk below: the error
	 * response must still carry the question and an OPT when the query had one. */
	int verdict = VG_QUERY_OK;
	uint16_t qdcount = vg_get_u16(pkt + 4);
	unsigned skip = (unsigned)vg_get_u16(pkt + 6) + vg_get_u16(pkt + 8);
	if (q->opcode != 0)
		verdict = VG_RCODE_NOTIMP;
	else if (qdcount != 1 || skip != 0)
		verdict = VG_RCODE_FORMERR;
	if (qdcount > 1)
		return verdict; /* which question would we echo? */
	int bad = verdict ? verdict : VG_RCODE_FORMERR;
	uint16_t arcount = vg_get_u16(pkt + 10);

	size_t pos = VG_DNS_HEADER;
	if (qdcount == 1) {
		int n = vg_name_unpack(pkt, len, &pos, q->qname);
		/* A pointer in the question could only point into the header: refuse it. */
		if (n <= 0 || pos - VG_DNS_HEADER != (size_t)n || pos + 4 > len)
			return bad;
		q->qname_len = (uint8_t)n;
		q->qtype = vg_get_u16(pkt + pos);
		q->qclass = vg_get_u16(pkt + pos + 2);
		q->has_question = true;
		pos += 4;
	}

	for (unsigned i = 0; i < skip + arcount; i++) {
		uint8_t owner[VG_NAME_MAX];
		struct vg_dns_rr h;
		int on = vg_dns_rr_read(pkt, len, &pos, owner, &h);
		if (on <= 0)
			return bad;
		uint16_t type = h.type, klass = h.rclass, rdlen = h.rdlen;
		uint32_t ttl = h.ttl;
		if (type == VG_TYPE_OPT && i >= skip) {
			if (q->has_edns || on != 1)
				return bad; /* two OPTs, or an owner other than root */
			/* Recorded before its options are checked: a FORMERR for a bad OPT
			 * must itself carry an OPT (RFC 6891 7). */
			q->has_edns = true;
			q->udp_size = klass;
			q->edns_version = (uint8_t)(ttl >> 16);
			q->do_bit = ttl & 0x8000;
			size_t o = pos, end = pos + rdlen;
			while (o < end) { /* options must tile the RDATA exactly */
				if (o + 4 > end || o + 4 + vg_get_u16(pkt + o + 2) > end)
					return bad;
				o += 4 + vg_get_u16(pkt + o + 2);
			}
		}
		pos += rdlen;
	}
	if (verdict != VG_QUERY_OK)
		return verdict;
	if (pos != len)
		return VG_RCODE_FORMERR; /* trailing garbage: the sender and we disagree on the
					    format */
	if (q->has_edns && q->edns_version > 0)
		return VG_RCODE_BADVERS;
	if (q->qtype == VG_TYPE_OPT)
		return VG_RCODE_FORMERR;
	if (q->qclass != VG_CLASS_IN)
		return VG_RCODE_REFUSED; /* CH, HS and the rest: a resolver serves the Internet
					    class */
	return VG_QUERY_OK;
}

size_t vg_query_udp_limit(const struct vg_query *q, uint16_t our_max)
{
	if (!q->has_edns)
		return VG_UDP_PLAIN_MAX;
	size_t lim = q->udp_size < VG_EDNS_MIN ? VG_EDNS_MIN : q->udp_size;
	size_t ours = our_max < VG_EDNS_MIN ? VG_EDNS_MIN : our_max;
	return lim < ours ? lim : ours;
}

static size_t ede_text_len(uint16_t ede, const char *text)
{
	if (ede == VG_EDE_NONE || !text)
		return 0;
	size_t n = strlen(text);
	return n > EDE_TEXT_MAX ? EDE_TEXT_MAX : n;
}

static size_t opt_size(uint16_t ede, const char *text)
{
	return OPT_FIXED + (ede == VG_EDE_NONE ? 0 : 6 + ede_text_len(ede, text));
}

/* Writes an OPT record at out (room checked by the caller with opt_size). */
static size_t opt_write(uint8_t *out, int rcode, bool do_bit, uint16_t our_udp_size, uint16_t ede,
			const char *text)
{
	size_t tl = ede_text_len(ede, text);
	out[0] = 0;
	vg_put_u16(out + 1, VG_TYPE_OPT);
	vg_put_u16(out + 3, our_udp_size < VG_EDNS_MIN ? VG_EDNS_MIN : our_udp_size);
	out[5] = (uint8_t)((rcode >> 4) & 0xFF);
	out[6] = 0; /* version */
	out[7] = do_bit ? 0x80 : 0;
	out[8] = 0;
	if (ede == VG_EDE_NONE) {
		vg_put_u16(out + 9, 0);
		return OPT_FIXED;
	}
	vg_put_u16(out + 9, (uint16_t)(6 + tl));
	vg_put_u16(out + 11, VG_EDNS_OPT_EDE);
	vg_put_u16(out + 13, (uint16_t)(2 + tl));
	vg_put_u16(out + 15, ede);
	if (tl)
		memcpy(out + 17, text, tl);
	return OPT_FIXED + 6 + tl;
}

int vg_query_error(const struct vg_query *q, int rcode, uint16_t ede, const char *ede_text,
		   uint16_t our_udp_size, uint8_t *out, size_t cap)
{
	bool opt = q->has_edns || rcode > 15;
	size_t need = VG_DNS_HEADER + (q->has_question ? q->qname_len + 4u : 0) +
		      (opt ? opt_size(ede, ede_text) : 0);
	if (need > cap)
		return VG_ESPACE;
	vg_put_u16(out, q->id);
	out[2] = (uint8_t)(0x80 | (q->opcode << 3) | (q->rd ? 1 : 0));
	out[3] = (uint8_t)(0x80 | (q->cd ? 0x10 : 0) | (rcode & 0x0F));
	vg_put_u16(out + 4, q->has_question ? 1 : 0);
	vg_put_u16(out + 6, 0);
	vg_put_u16(out + 8, 0);
	vg_put_u16(out + 10, opt ? 1 : 0);
	size_t pos = VG_DNS_HEADER;
	if (q->has_question) {
		memcpy(out + pos, q->qname, q->qname_len);
		pos += q->qname_len;
		vg_put_u16(out + pos, q->qtype);
		vg_put_u16(out + pos + 2, q->qclass);
		pos += 4;
	}
	if (opt)
		pos += opt_write(out + pos, rcode, q->do_bit, our_udp_size, ede, ede_text);
	return (int)pos;
}

/* Where to cut an oversized answer: the last RRset boundary at or below `allowed` bytes. */
struct cut {
	size_t at;
	uint16_t counts[3]; /* records kept in answer, authority, additional */
};

static int find_cut(const uint8_t *buf, size_t len, size_t allowed, struct cut *c)
{
	uint16_t total[3] = {vg_get_u16(buf + 6), vg_get_u16(buf + 8), vg_get_u16(buf + 10)};
	size_t pos = VG_DNS_HEADER;
	for (unsigned i = 0; i < vg_get_u16(buf + 4); i++) {
		if (vg_name_unpack(buf, len, &pos, NULL) <= 0 || pos + 4 > len)
			return VG_EFORMAT;
		pos += 4;
	}
	if (pos > allowed)
		return VG_ESPACE;
	c->at = pos;
	memset(c->counts, 0, sizeof(c->counts));
	uint8_t prev[VG_NAME_MAX], cur[VG_NAME_MAX];
	uint16_t prev_type = 0, prev_class = 0;
	int prev_sec = -1;
	uint16_t seen[3] = {0, 0, 0};
	for (int sec = 0; sec < 3; sec++) {
		for (unsigned i = 0; i < total[sec]; i++) {
			size_t start = pos;
			struct vg_dns_rr h;
			if (vg_dns_rr_read(buf, len, &pos, cur, &h) <= 0)
				return VG_EFORMAT;
			uint16_t type = h.type, klass = h.rclass;
			size_t end = h.rdata + h.rdlen;
			bool same = sec == prev_sec && type == prev_type && klass == prev_class &&
				    vg_name_eq(cur, prev);
			if (!same && start <= allowed) {
				c->at = start;
				memcpy(c->counts, seen, sizeof(seen));
			}
			seen[sec]++;
			memcpy(prev, cur, sizeof(prev));
			prev_type = type;
			prev_class = klass;
			prev_sec = sec;
			pos = end;
		}
	}
	if (pos != len)
		return VG_EFORMAT;
	if (pos <= allowed) {
		c->at = pos;
		memcpy(c->counts, seen, sizeof(seen));
	}
	return 0;
}

int vg_query_finish(const struct vg_query *q, uint8_t *buf, size_t len, size_t cap, size_t limit,
		    uint16_t ede, const char *ede_text, uint16_t our_udp_size)
{
	if (len < VG_DNS_HEADER || len > cap)
		return VG_EFORMAT;
	vg_put_u16(buf, q->id);
	/* The bits that belong to this query, whatever the answer's source stored (a cached
	 * answer keeps the header of the query that filled it): QR, opcode, RD and CD are the
	 * client's, RA is ours. AA, TC, AD and the rcode stay as built; Z is cleared. */
	buf[2] = (uint8_t)(0x80 | (q->opcode << 3) | (buf[2] & 0x06) | (q->rd ? 0x01 : 0));
	buf[3] = (uint8_t)(0x80 | (buf[3] & 0x2F) | (q->cd ? 0x10 : 0));
	size_t optlen = q->has_edns ? opt_size(ede, ede_text) : 0;
	if (limit > cap)
		limit = cap;
	if (len + optlen > limit) {
		/* Slow path, only for oversized answers: walk the records to find a cut. */
		if (optlen > limit)
			return VG_ESPACE;
		struct cut c;
		int rc = find_cut(buf, len, limit - optlen, &c);
		if (rc < 0)
			return rc;
		bool tc = c.counts[0] < vg_get_u16(buf + 6) || c.counts[1] < vg_get_u16(buf + 8);
		vg_put_u16(buf + 6, c.counts[0]);
		vg_put_u16(buf + 8, c.counts[1]);
		vg_put_u16(buf + 10, c.counts[2]);
		if (tc)
			buf[2] |= 0x02;
		len = c.at;
	}
	if (q->has_edns) {
		len += opt_write(buf + len, buf[3] & 0x0F, q->do_bit, our_udp_size, ede, ede_text);
		vg_put_u16(buf + 10, (uint16_t)(vg_get_u16(buf + 10) + 1));
	}
	return (int)len;
}

int vg_query_finish_tcp(const struct vg_query *q, uint8_t *buf, size_t len, size_t cap,
			uint16_t ede, const char *ede_text, uint16_t our_udp_size)
{
	int n = vg_query_finish(q, buf, len, cap, 65535, ede, ede_text, our_udp_size);
	if (n < VG_DNS_HEADER || !(buf[2] & 0x02))
		return n;
	return vg_query_error(q, VG_RCODE_SERVFAIL, 0, "answer does not fit in a DNS message",
			      our_udp_size, buf, cap);
}

int vg_query_any_answer(const struct vg_query *q, uint8_t *out, size_t cap)
{
	static const uint8_t rr[] = {
	    0xC0, 0x0C, 0,   VG_TYPE_HINFO, 0,	 VG_CLASS_IN, 0,   0,	0x0E, 0x10, 0,
	    9,	  7,	'R', 'F',	    'C', '8',	      '4', '8', '2',  0};
	size_t need = VG_DNS_HEADER + q->qname_len + 4u + sizeof(rr);
	if (need > cap)
		return VG_ESPACE;
	memset(out, 0, VG_DNS_HEADER);
	out[2] = (uint8_t)(0x80 | (q->rd ? 1 : 0));
	out[3] = (uint8_t)(0x80 | (q->cd ? 0x10 : 0));
	vg_put_u16(out + 4, 1);
	vg_put_u16(out + 6, 1);
	size_t pos = VG_DNS_HEADER;
	memcpy(out + pos, q->qname, q->qname_len);
	pos += q->qname_len;
	vg_put_u16(out + pos, q->qtype);
	vg_put_u16(out + pos + 2, q->qclass);
	pos += 4;
	memcpy(out + pos, rr, sizeof(rr));
	return (int)(pos + sizeof(rr));
}
