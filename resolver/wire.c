/* Wire format of the resolver: strict reply matching shared by every upstream transport (ID, QR,
 * exact question bytes incl. 0x20 case), message parsing into an arena, and query building. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/upstream.h>
#include "internal.h"

enum vg_upstream_match vg_upstream_match(const uint8_t *query, size_t qlen, const uint8_t *reply,
					 size_t rlen)
{
	if (qlen < 12 + 1 + 4 || rlen < 12 + 1 + 4)
		return VG_MATCH_SHORT;
	if (!(reply[2] & 0x80))
		return VG_MATCH_NOT_REPLY;
	if (reply[0] != query[0] || reply[1] != query[1])
		return VG_MATCH_ID;
	if (vg_get_u16(reply + 4) != 1)
		return VG_MATCH_QUESTION;
	/* Our query's name is uncompressed and the reply's question is the first name in it, so it
	 * cannot be compressed either: a byte comparison is exact. */
	size_t pos = 12;
	int n = vg_name_len(query + 12, qlen - 12);
	if (n <= 0 || 12 + (size_t)n + 4 > qlen || 12 + (size_t)n + 4 > rlen)
		return n <= 0 ? VG_MATCH_SHORT : VG_MATCH_QUESTION;
	if (memcmp(query + pos, reply + pos, (size_t)n + 4) == 0) {
		/* A reply that would fail the resolver's parser is dropped here, not after the
		 * query ended: one forged datagram with our ID must not cut the wait short. Not a
		 * truncated one (TC=1): it may end inside a record, and only its header is read
		 * (the question goes to TCP, where this check applies). */
		struct vg_msg m;
		if (!(reply[2] & 0x02) && vg_msg_parse(NULL, reply, rlen, &m) < 0)
			return VG_MATCH_MALFORMED;
		return VG_MATCH_OK;
	}
	/* Tell a case-only difference apart: it is what a 0x20 check catches (forgery or a server
	 * that does not preserve case). */
	for (size_t i = 0; i < (size_t)n + 4; i++) {
		uint8_t a = query[pos + i], b = reply[pos + i];
		if (a != b && (i >= (size_t)n || tolower(a) != tolower(b)))
			return VG_MATCH_QUESTION;
	}
	return VG_MATCH_CASE;
}

/* ---- message parsing and query building ---- */

/* Copies rdata at pkt[pos..pos+rdlen) into the arena with embedded names decompressed. */
static int rdata_copy(struct vg_arena *a, const uint8_t *pkt, size_t len, size_t pos,
		      uint16_t rdlen, uint16_t type, const uint8_t **out, uint16_t *outlen)
{
	/* Names in DNSSEC rdata are never compressed (RFC 4034 6.2) and are kept as sent. */
	enum vg_rdata_layout lay = vg_dns_rdata_layout(type);
	if (!vg_dns_rdata_compressible(lay))
		lay = VG_RD_OPAQUE;
	size_t end = pos + rdlen;
	if (lay == VG_RD_OPAQUE && !a)
		return 0;
	if (lay == VG_RD_OPAQUE) {
		/* An empty rdata may sit at the very end of the packet: read nothing then. */
		uint8_t *p = rdlen ? vg_arena_memdup(a, pkt + pos, rdlen) : vg_arena_zalloc(a, 1);
		if (!p)
			return -ENOMEM;
		*out = p;
		*outlen = rdlen;
		return 0;
	}
	uint8_t buf[2 * VG_NAME_MAX + 64];
	size_t o = 0, p = pos;
	size_t fixed_before = lay == VG_RD_U16_NAME ? 2 : lay == VG_RD_SRV ? 6 : 0;
	if (p + fixed_before > end)
		return VG_EFORMAT;
	memcpy(buf, pkt + p, fixed_before);
	o += fixed_before;
	p += fixed_before;
	int names = (lay == VG_RD_SOA || lay == VG_RD_2NAMES) ? 2 : 1;
	for (int i = 0; i < names; i++) {
		int n = vg_name_unpack(pkt, end, &p, buf + o);
		if (n < 0)
			return n;
		/* Compression may point into our 0x20-cased question: lowercase like owners. */
		vg_name_lower(buf + o);
		o += (size_t)n;
	}
	size_t rest = end - p;
	if (p > end || (lay == VG_RD_SOA && rest != 20) || (lay != VG_RD_SOA && rest != 0))
		return VG_EFORMAT;
	if (!a)
		return 0;
	memcpy(buf + o, pkt + p, rest);
	o += rest;
	uint8_t *c = vg_arena_memdup(a, buf, o);
	if (!c)
		return -ENOMEM;
	*out = c;
	*outlen = (uint16_t)o;
	return 0;
}

int vg_rdata_import(struct vg_arena *a, const uint8_t *rdata, uint16_t rdlen, uint16_t type,
		    const uint8_t **out, uint16_t *outlen)
{
	/* The rdata is its own "packet": a pointer inside it can only reach earlier rdata bytes. */
	return rdata_copy(a, rdata, rdlen, 0, rdlen, type, out, outlen);
}

/* ---- the message index: every RRset of a reply found once, in linear time ---- */

static uint32_t set_key(uint32_t ohash, uint16_t type, uint16_t covered)
{
	uint32_t h = ohash ^ ((uint32_t)type * 0x9E3779B1u) ^ ((uint32_t)covered * 0x85EBCA77u);
	h ^= h >> 15;
	h *= 0x2C1B3C6Du;
	return h ^ (h >> 13);
}

static uint16_t covered_of(const struct vg_rr *rr)
{
	return rr->type == VG_TYPE_RRSIG && rr->rdlen >= 2 ? vg_get_u16(rr->rdata) : 0;
}

static bool set_is(const struct vg_rrset_ix *s, const uint8_t *owner, uint32_t ohash, uint16_t type,
		   uint16_t covered)
{
	return s->ohash == ohash && s->type == type && s->covered == covered &&
	       (s->owner == owner || vg_name_eq(s->owner, owner));
}

struct vg_rrset_ix *vg_msg_rrset(const struct vg_msg *m, const uint8_t *owner, uint32_t ohash,
				 uint16_t type, uint16_t covered)
{
	if (!m->slots)
		return NULL;
	for (uint32_t k = set_key(ohash, type, covered) & m->mask;; k = (k + 1) & m->mask) {
		uint32_t id = m->slots[k];
		if (id == 0)
			return NULL;
		if (set_is(&m->sets[id - 1], owner, ohash, type, covered))
			return &m->sets[id - 1];
	}
}

/* Groups the records into RRsets: one hash-table insert per record, then a counting sort. */
static int msg_index(struct vg_arena *a, struct vg_msg *m)
{
	uint32_t cap = 16;
	while (cap < 2 * m->n_rr)
		cap *= 2;
	m->mask = cap - 1;
	m->slots = vg_arena_zalloc(a, cap * sizeof(*m->slots));
	m->sets = vg_arena_alloc(a, (m->n_rr ? m->n_rr : 1) * sizeof(*m->sets));
	m->members = vg_arena_alloc(a, (m->n_rr ? m->n_rr : 1) * sizeof(*m->members));
	if (!m->slots || !m->sets || !m->members)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rr *rr = &m->rr[i];
		uint16_t cov = covered_of(rr);
		uint32_t k = set_key(rr->ohash, rr->type, cov) & m->mask;
		while (m->slots[k] &&
		       !set_is(&m->sets[m->slots[k] - 1], rr->owner, rr->ohash, rr->type, cov))
			k = (k + 1) & m->mask;
		if (!m->slots[k]) {
			struct vg_rrset_ix *s = &m->sets[m->n_sets];
			memset(s, 0, sizeof(*s));
			s->owner = rr->owner;
			s->ohash = rr->ohash;
			s->type = rr->type;
			s->covered = cov;
			m->slots[k] = (uint32_t)++m->n_sets;
		}
		struct vg_rrset_ix *s = &m->sets[m->slots[k] - 1];
		rr->set = m->slots[k] - 1;
		s->n++;
		s->n_sec[rr->section]++;
	}
	uint32_t pos = 0;
	for (size_t i = 0; i < m->n_sets; i++) {
		m->sets[i].first = pos;
		pos += m->sets[i].n;
		m->sets[i].n = 0;
	}
	for (size_t i = 0; i < m->n_rr; i++) {
		struct vg_rrset_ix *s = &m->sets[m->rr[i].set];
		m->members[s->first + s->n++] = (uint32_t)i;
	}
	return 0;
}

/* Owners written as one compression pointer to a name already decoded reuse it (pointer, hash):
 * thousands of records at one long owner cost one decode, not thousands. Keyed by the offset
 * the decoded name starts at. */
#define OWNER_MEMO 64
struct owner_memo {
	size_t off;
	const uint8_t *name;
	uint32_t hash;
};

int vg_msg_parse(struct vg_arena *a, const uint8_t *pkt, size_t len, struct vg_msg *m)
{
	struct owner_memo memo[OWNER_MEMO];
	memset(memo, 0, sizeof(memo));
	memset(m, 0, sizeof(*m));
	if (len < 12)
		return VG_ETRUNC;
	m->id = vg_get_u16(pkt);
	m->flags1 = pkt[2];
	m->flags2 = pkt[3];
	m->rcode = pkt[3] & 0x0f;
	uint16_t qd = vg_get_u16(pkt + 4);
	size_t counts[3] = {vg_get_u16(pkt + 6), vg_get_u16(pkt + 8), vg_get_u16(pkt + 10)};
	size_t pos = 12;
	if (qd != 1)
		return VG_EFORMAT;
	int n = vg_name_unpack(pkt, len, &pos, m->qname);
	if (n < 0)
		return n;
	if (pos + 4 > len)
		return VG_ETRUNC;
	m->qtype = vg_get_u16(pkt + pos);
	m->qclass = vg_get_u16(pkt + pos + 2);
	pos += 4;
	size_t total = counts[0] + counts[1] + counts[2];
	/* Each record takes at least 11 bytes: a count larger than the packet allows is a lie. */
	if (total > (len - pos) / 11 + 1)
		return VG_EFORMAT;
	m->rr = a ? vg_arena_alloc(a, (total ? total : 1) * sizeof(struct vg_rr)) : NULL;
	if (a && !m->rr)
		return -ENOMEM;
	for (int sec = 0; sec < 3; sec++) {
		for (size_t i = 0; i < counts[sec]; i++) {
			uint8_t owner[VG_NAME_MAX];
			/* The name at `from` decodes to this owner: a pointer's target, or here. */
			size_t from = pos + 1 < len && (pkt[pos] & 0xC0) == 0xC0
					  ? ((size_t)(pkt[pos] & 0x3F) << 8) | pkt[pos + 1]
					  : pos;
			struct owner_memo *om = &memo[from % OWNER_MEMO];
			bool memo_hit = from != pos && om->name && om->off == from;
			if (memo_hit) {
				pos += 2;
			} else {
				n = vg_name_unpack(pkt, len, &pos, owner);
				if (n < 0)
					return n;
			}
			struct vg_dns_rr h;
			if (vg_dns_rr_fixed(pkt, len, &pos, &h) < 0)
				return VG_ETRUNC;
			uint16_t type = h.type, rclass = h.rclass, rdlen = h.rdlen;
			uint32_t ttl = h.ttl;
			if (type == VG_TYPE_OPT) {
				if (sec != VG_SEC_ADDITIONAL || m->edns ||
				    (memo_hit ? om->name[0] : owner[0]) != 0)
					return VG_EFORMAT;
				m->edns = true;
				m->rcode |= (uint16_t)((ttl >> 24) << 4);
				pos += rdlen;
				continue;
			}
			if (!a) {
				const uint8_t *rd;
				uint16_t rl;
				int rc = rdata_copy(NULL, pkt, len, pos, rdlen, type, &rd, &rl);
				if (rc < 0)
					return rc;
				pos += rdlen;
				continue;
			}
			struct vg_rr *rr = &m->rr[m->n_rr];
			if (memo_hit) {
				rr->owner = om->name;
				rr->ohash = om->hash;
			} else {
				/* Owners are kept lowercase: the 0x20 spelling we sent must not
				 * leak into the cache or to clients. */
				vg_name_lower(owner);
				rr->owner = vg_arena_memdup(a, owner, (size_t)n);
				if (!rr->owner)
					return -ENOMEM;
				rr->ohash = vg_name_hash(owner, (size_t)n);
				*om = (struct owner_memo){from, rr->owner, rr->ohash};
			}
			rr->type = type;
			rr->rclass = rclass;
			/* RFC 2181 §8: a TTL with the top bit set is treated as zero. */
			rr->ttl = ttl > 0x7fffffff ? 0 : ttl;
			rr->section = (uint8_t)sec;
			rr->drop = false;
			rr->from_cache = false;
			int rc = rdata_copy(a, pkt, len, pos, rdlen, type, &rr->rdata, &rr->rdlen);
			if (rc < 0)
				return rc;
			pos += rdlen;
			m->n_rr++;
		}
	}
	/* Without an arena this was a validity check only (vg_upstream_match): nothing to index. */
	return a ? msg_index(a, m) : 0;
}

int vg_query_build(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qname, uint16_t qtype,
		   uint16_t qclass, bool rd, bool edns, bool do_bit)
{
	int n = vg_name_len(qname, VG_NAME_MAX);
	if (n < 0)
		return n;
	size_t need = 12 + (size_t)n + 4 + (edns ? 11 : 0);
	if (need > cap)
		return VG_ESPACE;
	memset(buf, 0, 12);
	vg_put_u16(buf, id);
	buf[2] = rd ? 0x01 : 0x00;
	vg_put_u16(buf + 4, 1);
	memcpy(buf + 12, qname, (size_t)n);
	size_t p = 12 + (size_t)n;
	vg_put_u16(buf + p, qtype);
	vg_put_u16(buf + p + 2, qclass);
	p += 4;
	if (edns) {
		vg_put_u16(buf + 10, 1);
		buf[p] = 0; /* root owner */
		vg_put_u16(buf + p + 1, VG_TYPE_OPT);
		vg_put_u16(buf + p + 3,
			   1232); /* RFC 6891 payload size, the DNS flag day 2020 value */
		vg_put_u32(buf + p + 5, do_bit ? 0x8000 : 0);
		vg_put_u16(buf + p + 9, 0);
		p += 11;
	}
	return (int)p;
}

void vg_name_randomise_case(uint8_t *name, const uint8_t *rnd, size_t rndlen)
{
	size_t bit = 0;
	size_t p = 0;
	while (name[p]) {
		uint8_t l = name[p];
		for (size_t i = 1; i <= l; i++) {
			uint8_t c = name[p + i];
			if (!isalpha(c))
				continue;
			bool up = rndlen && (rnd[(bit / 8) % rndlen] >> (bit % 8)) & 1;
			bit++;
			name[p + i] = (uint8_t)(up ? toupper(c) : tolower(c));
		}
		p += (size_t)l + 1;
	}
}

size_t vg_rr_wire_len(const struct vg_rr *rr)
{
	return (size_t)vg_name_len(rr->owner, VG_NAME_MAX) + 10 + rr->rdlen;
}

size_t vg_rr_write(uint8_t *out, size_t cap, const struct vg_rr *rr, uint32_t ttl)
{
	size_t on = (size_t)vg_name_len(rr->owner, VG_NAME_MAX);
	size_t need = on + 10 + rr->rdlen;
	if (need > cap)
		return 0;
	memcpy(out, rr->owner, on);
	vg_put_u16(out + on, rr->type);
	vg_put_u16(out + on + 2, rr->rclass);
	vg_put_u32(out + on + 4, ttl);
	vg_put_u16(out + on + 8, rr->rdlen);
	memcpy(out + on + 10, rr->rdata, rr->rdlen);
	return need;
}

bool vg_addr_from_rdata(uint16_t type, const uint8_t *rdata, uint16_t rdlen,
			struct vg_sockaddr *out)
{
	if (type == VG_TYPE_A && rdlen == 4) {
		memset(out, 0, sizeof(*out));
		out->u.sin.sin_family = AF_INET;
		out->u.sin.sin_port = htons(53);
		memcpy(&out->u.sin.sin_addr, rdata, 4);
		out->len = sizeof(struct sockaddr_in);
		return true;
	}
	if (type == VG_TYPE_AAAA && rdlen == 16) {
		memset(out, 0, sizeof(*out));
		out->u.sin6.sin6_family = AF_INET6;
		out->u.sin6.sin6_port = htons(53);
		memcpy(&out->u.sin6.sin6_addr, rdata, 16);
		out->len = sizeof(struct sockaddr_in6);
		return true;
	}
	return false;
}
