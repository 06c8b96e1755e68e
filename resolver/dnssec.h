/* The DNSSEC validator core: RRSIG verification, DS -> DNSKEY chain links, and NSEC/NSEC3 denial
 * proofs, on a thin view of an RRset. Pure functions of their inputs and the wall clock; no
 * I/O, no cache. Per worker (a struct vg_validator holds scratch buffers); not thread-safe. */
#ifndef VIGIL_RESOLVER_DNSSEC_H
#define VIGIL_RESOLVER_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/dns.h"

/* Validation limits (docs/architecture.md "The validator core"). The per-RRset bounds come from
 * the scrubber's VG_MAX_RRSET_SIGS and VG_MAX_PROOF_NSEC (internal.h); these bound the rest. */
#define VG_DNSSEC_NSEC3_ITER_DEFAULT 50 /* nsec3-max-iterations default (RFC 9276 3.2) */
#define VG_DNSSEC_NSEC3_ITER_MAX 150	/* nsec3-max-iterations is never above this */
#define VG_DNSSEC_KEYS_PER_TAG 4	/* DNSKEYs tried for one RRSIG/DS (KeyTrap) */
#define VG_DNSSEC_VERIFY_MAX 64		/* signature verifications per request */
#define VG_DNSSEC_HASH_MAX 64		/* NSEC3 name hashes per request (CVE-2023-50868) */
#define VG_DNSSEC_DS_MAX 16		/* DS records examined per DS RRset */

/* Same values as the cache's enum vg_cache_sec (checked in dnssec.c): a verdict is stored as is. */
enum vg_dnssec_status {
	VG_DNSSEC_INDETERMINATE = 0, /* not decided: work limit hit or input unusable */
	VG_DNSSEC_INSECURE,	     /* provably unsigned, or signed with what we cannot check */
	VG_DNSSEC_SECURE,
	VG_DNSSEC_BOGUS,
};

/* Static name ("secure", ...) for logs. */
const char *vg_dnssec_status_name(enum vg_dnssec_status s);
/* The EXTRA-TEXT of an insecure verdict that has an RFC 8914 code (EDE 1, 2, 27): one wording for
 * the validator's result and for a repeat built from the cache, which keeps only the code. NULL
 * for any other code. */
const char *vg_dnssec_insecure_why(uint16_t ede);

/* One rdata in wire form. Names inside are uncompressed (as vg_msg_parse and the cache give). */
struct vg_rdata_ref {
	const uint8_t *data;
	uint16_t len;
};

/* An RRset as the validator reads it: borrowed pointers, nothing copied. `sig` holds the rdatas
 * of the RRSIGs that cover `type` at `owner` (at most VG_MAX_RRSET_SIGS are looked at). */
struct vg_rrset_view {
	const uint8_t *owner; /* uncompressed wire name, any case */
	uint16_t type, rclass;
	uint32_t ttl;
	const struct vg_rdata_ref *rd;
	size_t n_rd;
	const struct vg_rdata_ref *sig;
	size_t n_sig;
};

/* Work done for one client request, against the validator's limits: zero it when the request
 * starts and pass it to every call made for that request. */
struct vg_dnssec_work {
	uint32_t verifies; /* signature verifications attempted */
	uint32_t hashes;   /* NSEC3 name hashes computed */
};

struct vg_dnssec_limits {
	uint16_t nsec3_max_iterations; /* above: insecure with EDE 27; clamped to ..._ITER_MAX */
	uint16_t keys_per_tag;
	uint32_t verify_max;
	uint32_t hash_max;
};

/* What a call decided. `ttl` (secure RRsets only): the RRset's TTL capped to the RRSIG's
 * original TTL and to the seconds left before the signature expires (RFC 4035 5.3.3), for the
 * signature that verified. `why`: static text for logs and the EDE extra text. */
struct vg_dnssec_result {
	enum vg_dnssec_status status;
	uint16_t ede; /* RFC 8914 code (enum vg_ede in vigil/dns.h) or VG_EDE_NONE */
	uint32_t ttl;
	const char *why;
	bool opt_out; /* NSEC3: the proof relied on an opt-out span (no AD for such answers) */
};

struct vg_validator;

/* Fills the defaults (50 iterations, the VG_DNSSEC_* limits). */
void vg_dnssec_limits_default(struct vg_dnssec_limits *l);

/* Creates a validator with `lim` (copied; NULL = defaults). Returns 0 or -ENOMEM. One per
 * worker; its scratch buffers grow to the largest RRset seen and are reused. */
int vg_validator_new(const struct vg_dnssec_limits *lim, struct vg_validator **out);
void vg_validator_free(struct vg_validator *v);

/* The wall clock as DNSSEC serial time (RFC 4034 3.1.5): time(NULL), read on every call, never
 * cached (a test harness moves it with libfaketime while vigild runs). */
uint32_t vg_dnssec_now(void);

/* True for the DNSKEY algorithms and DS digest types this build verifies (docs/architecture.md). */
bool vg_dnssec_alg_supported(uint8_t alg);
bool vg_dnssec_digest_supported(uint8_t digest);

/* Key tag of a DNSKEY rdata (RFC 4034 appendix B). */
uint16_t vg_dnssec_keytag(const uint8_t *rdata, uint16_t len);

/* Verifies `set` with its RRSIGs against the DNSKEY RRset `keys` of the zone `keys->owner` (which
 * must already be trusted: secure, or an anchor). An RRSIG counts when its signer is that zone,
 * its type covered is set->type, its labels fit the owner, it is valid at the wall clock read
 * now, and a zone key of `keys` with its tag and algorithm verifies it (at most keys_per_tag keys
 * per tag). Secure on the first one that does. Bogus otherwise, with EDE 10 (no RRSIG from that
 * signer), 9 (no key for any RRSIG), 7/8 (every candidate outside its validity), 6 (the rest).
 * Indeterminate with EDE 0 when w is over a limit. Always fills `res`. */
void vg_dnssec_verify_rrset(struct vg_validator *v, struct vg_dnssec_work *w,
			    const struct vg_rrset_view *set, const struct vg_rrset_view *keys,
			    struct vg_dnssec_result *res);

/* Validates the DNSKEY RRset `keys` with the DS RRset `ds` (from the parent, already secure, or a
 * DS trust anchor): some DS of a supported algorithm and digest must match a zone key of `keys`
 * that verifies an RRSIG over `keys`. DS of digest 1 are ignored when the same RRset has a
 * supported stronger digest (RFC 4509 3). When no DS is usable: insecure with EDE 1
 * (algorithm) or 2 (digest) (RFC 6840 5.2); mixed sets are judged on the supported DS only.
 * `keys` may have n_rd 0 (DNSKEY missing: bogus, EDE 9). Always fills `res`. */
void vg_dnssec_verify_dnskey_ds(struct vg_validator *v, struct vg_dnssec_work *w,
				const struct vg_rrset_view *keys, const struct vg_rrset_view *ds,
				struct vg_dnssec_result *res);

/* Like vg_dnssec_verify_dnskey_ds for a DNSKEY trust anchor: `anchor` holds trusted DNSKEY
 * rdatas; one of them must be in `keys` and verify an RRSIG over `keys`. */
void vg_dnssec_verify_dnskey_anchor(struct vg_validator *v, struct vg_dnssec_work *w,
				    const struct vg_rrset_view *keys,
				    const struct vg_rrset_view *anchor,
				    struct vg_dnssec_result *res);

/* ---- denial of existence (dnssec_denial.c) ----
 * Every proof takes the NSEC or NSEC3 RRsets of one reply (or of the cache) in `nsec[0..n)`,
 * each already verified secure by the caller against the DNSKEYs of `zone`, and the zone they
 * belong to. Records outside `zone`, with an RRSIG whose signer is not `zone`, NSEC3 with an
 * unknown hash algorithm or flags, or past VG_MAX_PROOF_NSEC are ignored. NSEC and NSEC3 are
 * not mixed: NSEC3 is used when there is any. Results: secure (proved), bogus EDE 12 (not
 * proved), insecure (NSEC3 with only unknown hash algorithms; iterations over the limit, EDE 27;
 * an opt-out span where the proof needs it to be signed), indeterminate EDE 0 (hash limit). */

/* The name does not exist: qname and the wildcard at its closest encloser are both denied. */
void vg_dnssec_prove_nxdomain(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *zone,
			      const uint8_t *qname, const struct vg_rrset_view *nsec, size_t n,
			      struct vg_dnssec_result *res);

/* The name exists without qtype: the NSEC(3) at qname lacks qtype and CNAME; or qname is an empty
 * non-terminal; or (wildcard NODATA) qname is denied and the wildcard at its closest encloser
 * lacks qtype. For qtype DS the proof must come from the parent side (zone above qname, no SOA
 * in the bitmap); an NSEC3 opt-out span covering qname makes it insecure (opt_out set). For other
 * types a parent-side record (NS without SOA) proves nothing. */
void vg_dnssec_prove_nodata(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *zone,
			    const uint8_t *qname, uint16_t qtype, const struct vg_rrset_view *nsec,
			    size_t n, struct vg_dnssec_result *res);

/* A positive answer for qname synthesised from a wildcard: `labels` is the RRSIG labels field
 * of the answer (less than qname's labels). Proves that qname itself does not exist and that
 * the wildcard's parent is its closest encloser (no closer name exists). */
void vg_dnssec_prove_wildcard(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *zone,
			      const uint8_t *qname, uint8_t labels,
			      const struct vg_rrset_view *nsec, size_t n,
			      struct vg_dnssec_result *res);

/* A referral from `zone` to `child` without DS is an insecure delegation: the NSEC(3) at child has
 * NS and neither DS nor SOA, or an NSEC3 opt-out span covers child's next closer name (then
 * opt_out is set). Secure result = "the delegation is provably unsigned". */
void vg_dnssec_prove_insecure_delegation(struct vg_validator *v, struct vg_dnssec_work *w,
					 const uint8_t *zone, const uint8_t *child,
					 const struct vg_rrset_view *nsec, size_t n,
					 struct vg_dnssec_result *res);

/* RFC 8198 aggressive use: what validated NSEC/NSEC3 records held elsewhere (the cache) prove
 * about (qname, qtype): the name does not exist, it has no such type (NODATA, wildcard NODATA
 * included), or it does not exist but the wildcard at its closest encloser has qtype or a CNAME
 * (VG_DENY_WILDCARD: the answer is that wildcard's RRset expanded to qname, with these records as
 * its proof; its name is written to `wildcard`, VG_NAME_MAX bytes, when not NULL). Opt-out spans
 * prove nothing here. Pure apart from w's hash count. */
enum vg_dnssec_denial {
	VG_DENY_NONE = 0,
	VG_DENY_NXDOMAIN,
	VG_DENY_NODATA,
	VG_DENY_WILDCARD,
};
enum vg_dnssec_denial vg_dnssec_denies(struct vg_validator *v, struct vg_dnssec_work *w,
				       const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
				       const struct vg_rrset_view *nsec, size_t n,
				       uint8_t *wildcard);

/* The NSEC3 hash (RFC 5155 5) of `name` with the parameters of the NSEC3 rdata rd[0..len)
 * (hash algorithm 1; 20 bytes into `out`), counted against w's hash budget. False for another
 * algorithm, iterations over nsec3-max-iterations, malformed rdata or a spent budget. */
bool vg_dnssec_nsec3_hash(struct vg_validator *v, struct vg_dnssec_work *w, const uint8_t *rd,
			  size_t len, const uint8_t *name, uint8_t *out);

/* "*." + the suffix of `name` with `labels` labels (<= its labels) into out (VG_NAME_MAX
 * bytes); false when that would be longer than a name may be. */
bool vg_dnssec_wildcard_of(const uint8_t *name, int labels, uint8_t *out);

/* Canonical DNS name order (RFC 4034 6.1): <0, 0, >0. Valid wire names. */
int vg_dnssec_name_cmp(const uint8_t *a, const uint8_t *b);

/* True when the NSEC/NSEC3 type bitmap `bm` (len bytes) has `type`; false if malformed. */
bool vg_dnssec_bitmap_has(const uint8_t *bm, size_t len, uint16_t type);

#endif
