/* Types and functions shared by the resolver's own files (not a public contract): parsed messages,
 * the scrubber's verdicts, server selection and root hints. Loop-thread only, like the resolver. */
#ifndef VIGIL_RESOLVER_INTERNAL_H
#define VIGIL_RESOLVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/addr.h>
#include <vigil/arena.h>

struct vg_config;

#define VG_T_A 1
#define VG_T_NS 2
#define VG_T_CNAME 5
#define VG_T_SOA 6
#define VG_T_PTR 12
#define VG_T_MX 15
#define VG_T_TXT 16
#define VG_T_AAAA 28
#define VG_T_SRV 33
#define VG_T_DNAME 39
#define VG_T_OPT 41
#define VG_T_DS 43
#define VG_T_RRSIG 46
#define VG_T_NSEC 47
#define VG_T_DNSKEY 48
#define VG_T_NSEC3 50
#define VG_T_ANY 255
#define VG_C_IN 1

#define VG_RCODE_NOERROR 0
#define VG_RCODE_FORMERR 1
#define VG_RCODE_SERVFAIL 2
#define VG_RCODE_NXDOMAIN 3
#define VG_RCODE_NOTIMP 4
#define VG_RCODE_REFUSED 5

enum { VG_SEC_ANSWER = 0, VG_SEC_AUTHORITY = 1, VG_SEC_ADDITIONAL = 2 };

/* One resource record of a parsed message. Names (owner and inside rdata) are uncompressed; all
 * pointers point into the arena the message was parsed into. */
struct vg_rr {
	const uint8_t *owner;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
	uint8_t section;
	bool drop;	 /* the scrubber rejected it: never cached, never used */
	bool from_cache; /* read back from the cache: ttl is the time left, clamps applied */
};

/* A parsed DNS message (reply from upstream). */
struct vg_msg {
	uint16_t id;
	uint8_t flags1, flags2; /* header bytes 2 and 3 */
	uint16_t rcode;		/* including the OPT's extended bits */
	uint8_t qname[256];
	uint16_t qtype, qclass;
	struct vg_rr *rr; /* answer, authority, additional in order; OPT not included */
	size_t n_rr;
	bool edns;
};

#define VG_MSG_AA(m) (((m)->flags1 & 0x04) != 0)
#define VG_MSG_TC(m) (((m)->flags1 & 0x02) != 0)

/* Parses a whole message into `m` (records and names copied into `a`). Names in the rdata of the
 * RFC 1035 types (and SRV) are decompressed. With `a` NULL it only checks (header fields and the
 * question are filled, no records are stored; used by vg_upstream_match). Returns 0,
 * VG_EFORMAT, VG_ETRUNC or -ENOMEM. */
int vg_msg_parse(struct vg_arena *a, const uint8_t *pkt, size_t len, struct vg_msg *m);

/* Checks rdata of `type` read back from the cache like rdata from the wire and copies it into `a`:
 * the names inside must be valid (the cache file is untrusted input). Returns 0 or VG_EFORMAT /
 * VG_ETRUNC / -ENOMEM. */
int vg_rdata_import(struct vg_arena *a, const uint8_t *rdata, uint16_t rdlen, uint16_t type,
		    const uint8_t **out, uint16_t *outlen);

/* Writes a query. Returns its length or VG_ESPACE. */
int vg_query_build(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qname, uint16_t qtype,
		   uint16_t qclass, bool rd, bool edns, bool do_bit);

/* Randomises the letter case of `name` (wire, in place) with bits from rnd[0..rndlen). */
void vg_name_randomise_case(uint8_t *name, const uint8_t *rnd, size_t rndlen);

/* An A or AAAA rdata as a server address on port 53. Returns false (out untouched) for any
 * other type or a wrong length. */
bool vg_addr_from_rdata(uint16_t type, const uint8_t *rdata, uint16_t rdlen,
			struct vg_sockaddr *out);

/* Length of the owner + fixed part + rdata of one rr written uncompressed. */
size_t vg_rr_wire_len(const struct vg_rr *rr);
/* Writes one rr uncompressed with `ttl`; returns bytes written or 0 if cap is too small. */
size_t vg_rr_write(uint8_t *out, size_t cap, const struct vg_rr *rr, uint32_t ttl);

/* ---- scrubber and reply classification (scrub.c) ---- */

enum vg_reply_kind {
	VG_REPLY_ANSWER, /* RRset of qtype at the (possibly CNAME-rewritten) name */
	VG_REPLY_CNAME,	 /* a CNAME/DNAME chain whose target lies outside the server's zone */
	VG_REPLY_NXDOMAIN,
	VG_REPLY_NODATA,
	VG_REPLY_REFERRAL, /* accepted delegation to a zone closer to the qname */
	VG_REPLY_LAME,	   /* REFUSED, no AA without referral, upward or sideways referral */
	VG_REPLY_SERVFAIL, /* SERVFAIL or another error rcode */
	VG_REPLY_FORMERR,  /* FORMERR / NOTIMP: maybe EDNS trouble */
};

struct vg_verdict {
	enum vg_reply_kind kind;
	uint8_t target[256];	 /* ANSWER/CNAME/NXDOMAIN/NODATA: the name the chain ended at */
	uint8_t cut[256];	 /* REFERRAL: the delegated zone */
	const struct vg_rr *soa; /* NXDOMAIN/NODATA: the SOA from authority, may be NULL */
	unsigned hops;		 /* CNAME/DNAME links followed inside this reply */
	bool loop;		 /* the chain came back to a name it had visited */
	unsigned dropped;	 /* records the scrubber rejected */
	/* CNAMEs a DNAME implies that the reply did not carry (or carried wrong): the iterator
	 * adds them to the client's answer after their DNAME (RFC 6672 §3.4: clients that do
	 * not know DNAME follow the CNAME). Never cached: the DNAME is. */
	struct vg_synth {
		const struct vg_rr *dname;
		uint8_t owner[256], target[256];
	} synth[4];
	unsigned n_synth;
};

/* Scrubs and classifies a reply to a query for (qname, qtype) sent to a server of `zone`.
 * Marks out-of-bailiwick and unrelated records rr->drop (answer records not on the chain from
 * qname; authority records outside the zone or not above qname; additional records that are not
 * in-bailiwick addresses of an accepted NS name). `forwarded`: the server is a forwarder
 * (recursive): AA is not required and delegations are never accepted. Returns 0 or VG_EFORMAT. */
int vg_scrub(struct vg_msg *m, const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
	     bool forwarded, struct vg_verdict *v);

/* The CNAME target implied by a DNAME at `owner` -> `target` for `name` into out (256 bytes).
 * Returns 0 or VG_ELIMIT when the result would exceed 255 bytes (YXDOMAIN). */
int vg_dname_subst(const uint8_t *name, const uint8_t *owner, const uint8_t *target, uint8_t *out);

/* ---- server selection (select.c) ---- */

#define VG_RTO_INITIAL_MS 400
#define VG_RTO_MIN_MS 50
#define VG_RTO_MAX_MS 3000
/* A forwarder's reply time includes its own recursion: a name it has cached comes back in a
 * millisecond, one it has not may take a second. Waiting less than this for a forwarder turns a
 * cold name into timeouts and a hold-down of the (often only) forwarder. */
#define VG_RTO_FORWARD_MIN_MS 1500
#define VG_HOLDDOWN_AFTER 3  /* consecutive timeouts before a server is held down */
#define VG_HOLDDOWN_MS 30000 /* first hold-down; doubles per further failure, up to 15 min */
#define VG_HOLDDOWN_MAX_MS 900000
#define VG_LAME_MS 600000      /* how long a (server, zone) lameness is remembered */
#define VG_NO_EDNS_MS 900000   /* how long a FORMERR to EDNS keeps a server on plain DNS */
#define VG_EXPLORE_PER_1024 51 /* about 5% of choices try a non-best server */

struct vg_select;

/* Server state kept per worker, keyed by address (port included). */
struct vg_srv_info {
	uint32_t srtt_ms, rttvar_ms; /* 0 = never measured */
	uint32_t timeouts;	     /* consecutive */
	uint64_t held_until;	     /* monotonic ms, 0 = not held */
	uint32_t holddowns;	     /* how often it was held down in a row */
	uint64_t no_edns_until;	     /* monotonic ms: answered FORMERR to EDNS, ask without OPT
				      * until then (servers get upgraded; RFC 6891 §6.2.2) */
};

/* Creates a table for at most `max` servers (the oldest are forgotten when full). */
struct vg_select *vg_select_new(size_t max);
void vg_select_free(struct vg_select *s);

/* Info for an address, created on demand (NULL only on out-of-memory). Valid until the next
 * vg_select_* call that may create entries. */
struct vg_srv_info *vg_select_get(struct vg_select *s, const struct vg_sockaddr *a);

void vg_select_rtt(struct vg_select *s, const struct vg_sockaddr *a, uint32_t rtt_ms);
void vg_select_timeout(struct vg_select *s, const struct vg_sockaddr *a, uint64_t now);
/* Retransmission timeout for a server: srtt + 4 * rttvar, backed off per consecutive timeout. */
uint32_t vg_select_rto(struct vg_select *s, const struct vg_sockaddr *a);
bool vg_select_held(struct vg_select *s, const struct vg_sockaddr *a, uint64_t now);

void vg_select_lame_set(struct vg_select *s, const struct vg_sockaddr *a, const uint8_t *zone,
			uint64_t now);
bool vg_select_is_lame(struct vg_select *s, const struct vg_sockaddr *a, const uint8_t *zone,
		       uint64_t now);

/* Picks among cand[0..n) (skipping tried[i] and held-down or lame ones): the lowest RTO, or with
 * probability VG_EXPLORE_PER_1024/1024 (rnd) a random other usable one. When every candidate
 * that is not lame is held down, returns the untried one whose hold-down ends first (a probe;
 * none when a held-down candidate was already tried). Returns the index or -1. */
int vg_select_pick(struct vg_select *s, const struct vg_sockaddr *cand, size_t n, const bool *tried,
		   const uint8_t *zone, uint64_t now, uint32_t rnd);

/* Address policy: family enabled (do-ip4/do-ip6), and loopback/unspecified/private addresses only
 * with query-local-addresses. */
bool vg_addr_allowed(const struct vg_config *cfg, const struct vg_sockaddr *a);

/* ---- root hints (hints.c) ---- */

struct vg_hint {
	uint8_t name[256];
	struct vg_sockaddr addr;
};

/* Parses root hints in zone-file form (". NS name" and "name A/AAAA addr" lines, TTL and class
 * optional, ';' comments) into out[0..cap): one entry per address of a root NS name. Returns the
 * number of entries (>= 1) or VG_EFORMAT when no usable address is found. */
int vg_roothints_parse(const char *text, struct vg_hint *out, size_t cap);

#endif
