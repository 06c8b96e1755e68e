/* Types and functions shared by the resolver's own files (not a public contract): parsed messages,
 * the scrubber's verdicts, server selection and root hints. Loop-thread only, like the resolver. */
#ifndef VIGIL_RESOLVER_INTERNAL_H
#define VIGIL_RESOLVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/addr.h>
#include <vigil/arena.h>
#include <vigil/dns.h>

struct vg_addr_policy;
struct vg_rrset;

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
	uint32_t ohash;	 /* vg_name_hash of the owner (parsed records; 0 elsewhere) */
	uint32_t set;	 /* its RRset in the message's index (parsed records) */
	/* Its RRset (an RRSIG: the set it covers) once grouped (vg_rrsets_group), read back
	 * from the cache or synthesized; NULL for dropped records and orphan RRSIGs. */
	struct vg_rrset *rrset;
};

/* Per-reply limits (docs/architecture.md "Per-reply limits"). A reply that needs more than one
 * of them is handled as from a broken server: the next server is asked, and when none is left
 * the client gets SERVFAIL with EDE 0 naming the limit. */
#define VG_MAX_RRSET_RRS 256	 /* records of one RRset kept (cached, answered) */
#define VG_MAX_RRSET_SIGS 8	 /* RRSIGs kept covering one RRset */
#define VG_MAX_PROOF_NSEC 8	 /* NSEC/NSEC3 records kept per negative answer or referral */
#define VG_MAX_PROOF_BYTES 16384 /* bytes of a negative answer's proof (cached with it) */

/* One RRset of a parsed message: the records sharing (owner, type, and for RRSIGs the type
 * covered), in every section. members[first .. first+n) of the message lists them in message
 * order. */
struct vg_rrset_ix {
	const uint8_t *owner;
	uint32_t ohash;
	uint16_t type, covered;
	uint32_t first, n;
	uint16_t n_sec[3]; /* members per section */
	uint8_t kept;	   /* scrubber: sections whose members it already kept (bit per section) */
	bool seen;	   /* scrubber: examined once (referral NS owners, glue targets) */
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
	/* The index built once per message (vg_msg_parse): every RRset, so the scrubber and the
	 * store look records up instead of scanning the message per record. */
	struct vg_rrset_ix *sets;
	size_t n_sets;
	uint32_t *members; /* record numbers grouped by set */
	uint32_t *slots;   /* open addressing: set number + 1, 0 = empty */
	uint32_t mask;
	/* The kept records grouped into RRsets after the scrubber (vg_rrsets_group). */
	struct vg_rrset *rrsets;
	size_t n_rrsets;
};

/* One RRset after the scrubber: the one structure the validation step, the hijack checks, the
 * store and the answer builder work on (docs/architecture.md "RRsets"). Built from a reply
 * (vg_rrsets_group), from a cache entry or for a CNAME synthesized from a DNAME; lives in the
 * request's arena. */
struct vg_rrset {
	const uint8_t *owner; /* as the first kept record spells it */
	uint16_t type, rclass;
	uint32_t ttl;	     /* the lowest TTL of its records */
	struct vg_rr **rrs;  /* kept records of the set's class, message order */
	uint16_t n_rrs;	     /* at most VG_MAX_RRSET_RRS */
	uint8_t n_sigs;	     /* at most VG_MAX_RRSET_SIGS */
	struct vg_rr **sigs; /* the kept RRSIGs covering it */
	uint8_t section;     /* of its first kept record */
	uint8_t rank;	     /* VG_RANK_* (include/vigil/cache.h), VG_RANK_ITERATED included */
	uint8_t sec;	     /* VG_SEC_*: what the validation step (IQ_VALIDATE) found */
	uint32_t suspect;    /* a bit (1u << enum vg_suspect_reason) per hijack finding */
	uint16_t ede;	     /* insecure for a reason RFC 8914 names: EDE 1, 2 or 27, else 0 */
};

/* The suspect bit of a set read back from the cache, which keeps one flag and not the reasons. */
#define VG_SUSPECT_CACHED (1u << 31)

/* Groups the kept records of a scrubbed message into m->rrsets (one per RRset of the index with
 * a kept record; orphan RRSIGs belong to none) and points each record at its set. Ranks from
 * the section of the set's first record and AA (`forward`: a forwarder's data, capped and not
 * iterated); status and suspect reasons start empty: the validation step sets them. Linear in
 * the records. Returns 0, -ENOMEM, or VG_ELIMIT past a per-set cap (the scrubber's caps make
 * that impossible). */
int vg_rrsets_group(struct vg_arena *a, struct vg_msg *m, bool forward);

/* Removes record i from rs (marked drop) with the signatures over the set (they no longer
 * verify it); the TTL follows what is left. */
void vg_rrset_remove(struct vg_rrset *rs, uint16_t i);

/* A one-record set for rr (a CNAME synthesized from a DNAME) taking rank, status and suspect
 * reasons from `like` (required); rr->rrset is left to the caller. NULL without memory. */
struct vg_rrset *vg_rrset_single(struct vg_arena *a, struct vg_rr *rr, const struct vg_rrset *like);

/* The status of data made of parts of status a and b: bogus over indeterminate over insecure
 * over secure. */
uint8_t vg_sec_combine(uint8_t a, uint8_t b);

#define VG_MSG_AA(m) (((m)->flags1 & 0x04) != 0)
#define VG_MSG_TC(m) (((m)->flags1 & 0x02) != 0)

/* Parses a whole message into `m` (records and names copied into `a`). Names in the rdata of the
 * RFC 1035 types (and SRV) are decompressed. With `a` NULL it only checks (header fields and the
 * question are filled, no records are stored; used by vg_upstream_match). Returns 0,
 * VG_EFORMAT, VG_ETRUNC or -ENOMEM. */
int vg_msg_parse(struct vg_arena *a, const uint8_t *pkt, size_t len, struct vg_msg *m);

/* FNV-1a of a wire name of `len` bytes, case-folded like vg_name_eq compares. */
static inline uint32_t vg_name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = name[i];
		h = (h ^ (c >= 'A' && c <= 'Z' ? c | 0x20 : c)) * 16777619u;
	}
	return h;
}

/* The RRset (owner, type, covered) of a parsed message, NULL if it has none. `covered` is the type
 * an RRSIG covers, 0 for other types. `owner` lowercase, `ohash` its vg_name_hash. */
struct vg_rrset_ix *vg_msg_rrset(const struct vg_msg *m, const uint8_t *owner, uint32_t ohash,
				 uint16_t type, uint16_t covered);

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
	const char *limit; /* vg_scrub returned VG_ELIMIT: which per-reply limit, as EDE text */
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
 * (recursive): AA is not required and delegations are never accepted. Returns 0, VG_EFORMAT, or
 * VG_ELIMIT when what it would keep is over a per-reply limit (v->limit says which). Linear in
 * the records (the message's index). */
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
	uint32_t timeouts;	     /* consecutive silences (see vg_select_timeout) */
	uint64_t silence_at;	     /* monotonic ms: when the last one was counted */
	uint64_t held_until;	     /* monotonic ms, 0 = not held */
	uint32_t holddowns;	     /* how often it was held down in a row */
	uint64_t no_edns_until;	     /* monotonic ms: answered FORMERR to EDNS, ask without OPT
				      * until then (servers get upgraded; RFC 6891 §6.2.2) */
	uint64_t edns_ok_until;	     /* monotonic ms: answered an EDNS query usably, so a later
				      * FORMERR is not taken for missing EDNS until then */
};

/* Creates a table for at most `max` server addresses and max/4 + 16 lame (server, zone) pairs.
 * Each is a bounded LRU: past the bound a new entry takes the place of the least recently used
 * one, and only that one, so a zone that names thousands of addresses cannot reset the
 * hold-down, lameness or EDNS state of servers in use. Buckets come from SipHash with a key drawn
 * from getrandom() here, so addresses and zone names chosen by others cannot aim at one bucket.
 * Every lookup that finds an entry makes it the most recently used. */
struct vg_select *vg_select_new(size_t max);
void vg_select_free(struct vg_select *s);

/* Info for an address, created on demand (never NULL). Valid until the next vg_select_* call
 * that may create entries (get, rtt, timeout, lame_set): a new entry may take its slot. */
struct vg_srv_info *vg_select_get(struct vg_select *s, const struct vg_sockaddr *a);

void vg_select_rtt(struct vg_select *s, const struct vg_sockaddr *a, uint32_t rtt_ms);
/* A query sent at sent_ms timed out at now. It counts as one more consecutive silence (RTO
 * backoff; hold-down after VG_HOLDDOWN_AFTER) only when it was sent at or after the last counted
 * one: queries that were in flight together when the server went quiet are one silence, not
 * one each, so a server stalled for a moment under a burst of parallel queries is backed off,
 * not held down; a dead one is held down after as many rounds as one query at a time. */
void vg_select_timeout(struct vg_select *s, const struct vg_sockaddr *a, uint64_t now,
		       uint64_t sent_ms);
/* Retransmission timeout for a server: srtt + 4 * rttvar, backed off per consecutive timeout.
 * rto, held and is_lame create no entry: an unknown server is fresh, not held, not lame. */
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
bool vg_addr_allowed(const struct vg_addr_policy *p, const struct vg_sockaddr *a);

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
