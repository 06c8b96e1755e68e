/* The client-query side of the wire: parsing a query's header, question and OPT, and patching or
 * building the response sent back (ID, OPT with EDE, truncation with TC). One owner of these
 * rules (STYLE habit 7): every listener goes through these functions. */
#ifndef VIGIL_DAEMON_QUERY_H
#define VIGIL_DAEMON_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/dns.h>
#include <vigil/name.h>
#include <vigil/resolver.h>

#define VG_UDP_PLAIN_MAX 512 /* answer size limit for a query without EDNS (RFC 1035) */
#define VG_EDNS_MIN 512	     /* smaller advertised EDNS sizes are treated as 512 (RFC 6891 6.2.5) */

/* What vg_query_parse learned. qname is a copy, so the struct outlives the packet. */
struct vg_query {
	uint16_t id;
	uint8_t opcode;
	bool rd, cd;
	bool has_question; /* the question parsed (it is echoed in error responses) */
	uint8_t qname[VG_NAME_MAX];
	uint8_t qname_len;
	uint16_t qtype, qclass;
	bool has_edns;
	uint8_t edns_version;
	bool do_bit;
	uint16_t udp_size; /* advertised by the client (raw value), 0 without EDNS */
};

/* Verdict of vg_query_parse: answer normally, drop silently, or answer with an error rcode. */
enum vg_query_verdict {
	VG_QUERY_OK = 0,
	VG_QUERY_DROP = -1, /* shorter than a header, or QR=1: never answered */
	/* positive values are the rcode to answer with (FORMERR, NOTIMP, BADVERS, REFUSED) */
};

/* Parses a client query of `len` bytes. Checks, in this order: header length (DROP), QR (DROP),
 * opcode (NOTIMP), QDCOUNT == 1, ANCOUNT == NSCOUNT == 0 (FORMERR; for these two the question and
 * the OPT are still read when they parse, so the error response can echo them), the question name
 * (FORMERR for bad labels, lengths, any compression pointer), qtype/qclass present, every
 * additional record well-formed, at most one OPT with the root as owner (FORMERR), nothing after
 * the last record (FORMERR), EDNS version 0 (BADVERS), class IN or ANY-less (CH, HS, others:
 * REFUSED), qtype OPT in the question (FORMERR). Fills `q` as far as it got. Returns VG_QUERY_OK,
 * VG_QUERY_DROP or an rcode. Thread-safe, no allocation. */
int vg_query_parse(const uint8_t *pkt, size_t len, struct vg_query *q);

/* Largest answer the client accepts over UDP: 512 without EDNS, otherwise its advertised size
 * clamped to [512, our_max]. */
size_t vg_query_udp_limit(const struct vg_query *q, uint16_t our_max);

/* Writes an answer-less response with `rcode` (0..4095; the upper 8 bits go to the OPT, so an
 * extended rcode forces an OPT) into out[cap]: the query's ID, opcode, RD and CD, QR and RA set,
 * the question when it parsed, and an OPT when the query had one (with EDE `ede` and `ede_text`
 * when ede != VG_EDE_NONE). Returns the length, or VG_ESPACE. */
int vg_query_error(const struct vg_query *q, int rcode, uint16_t ede, const char *ede_text,
		   uint16_t our_udp_size, uint8_t *out, size_t cap);

/* Finishes an answer built with ID 0 and no OPT (from local data, the cache or the resolver),
 * held in buf[0..len) with room for `cap` bytes: writes the query's ID, sets QR and RA, copies
 * the query's opcode, RD and CD (AA, AD and the rcode are kept as built), appends an OPT when the
 * query had one (echoing DO, carrying EDE when ede != VG_EDE_NONE) and, if the result is longer
 * than `limit`, cuts it at an RRset boundary: records removed from the answer or authority
 * section set TC=1; dropped additional records do not (RFC 2181 9). The OPT is always kept.
 * Returns the final length, or VG_EFORMAT when the answer does not parse, VG_ESPACE when even
 * header + question + OPT do not fit. */
int vg_query_finish(const struct vg_query *q, uint8_t *buf, size_t len, size_t cap, size_t limit,
		    uint16_t ede, const char *ede_text, uint16_t our_udp_size);

/* vg_query_finish for a TCP client (limit 65535): the whole answer or nothing. An answer that
 * is cut (it came with TC=1 from the resolver, which could not fit it in a DNS message, or does
 * not fit with the OPT) becomes SERVFAIL with EDE 0 "answer does not fit in a DNS message": TC
 * means nothing over TCP (RFC 7766). Returns as vg_query_finish. */
int vg_query_finish_tcp(const struct vg_query *q, uint8_t *buf, size_t len, size_t cap,
			uint16_t ede, const char *ede_text, uint16_t our_udp_size);

/* RFC 8482 minimal answer to qtype ANY for a name that is not local: one synthesized
 * HINFO "RFC8482" "" record (TTL 3600), ID 0, no OPT, ready for vg_query_finish.
 * Returns the length or VG_ESPACE. */
int vg_query_any_answer(const struct vg_query *q, uint8_t *out, size_t cap);

#endif
