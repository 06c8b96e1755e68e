/* Private to validate.c, validate_chain.c, validate_fwd.c and validate_cached.c: the chain-of-trust
 * types and helpers they share. */
#ifndef VIGIL_RESOLVER_VALIDATE_IMPL_H
#define VIGIL_RESOLVER_VALIDATE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "iter.h"

/* What a request learned about one name of the chain (a list in the request's arena; a chain
 * has a few links, so a list walk is enough). ZK_KEYS: the zone `name` has keys of status
 * `sec` (secure: `set` is its validated DNSKEY set). ZK_DS: the DS at `name` as its parent
 * zone has it (secure: `set` is the validated DS set; insecure: no DS, proved; `cut` says the
 * proof showed a delegation there, which makes everything below unsigned). */
enum { ZK_KEYS, ZK_DS, ZK_FETCH, ZK_NODS };
struct vg_zk_waiter {
	struct vg_zk_waiter *next;
	struct vg_iq *iq;
};
struct vg_zk {
	struct vg_zk *next;
	uint8_t name[VG_NAME_MAX];
	uint8_t kind;
	uint8_t sec;
	bool cut;
	bool unchecked; /* ZK_DS: a referral's DS set kept before the parent's keys were known */
	uint16_t ede;
	const char *why;
	struct vg_rrset_view set;
	/* ZK_DS, unchecked, and ZK_NODS: the zone whose servers sent the referral (their keys sign
	 * the DS, or the NSEC/NSEC3 records that deny it). */
	const uint8_t *from;
	/* ZK_NODS: a referral without DS that came before `from`'s keys were known: its NSEC/NSEC3
	 * sets, unchecked, for the walk to prove the delegation unsigned with (saving a DS query);
	 * `tried` once the walk used them. */
	struct vg_rrset_view *proof;
	size_t n_proof;
	uint8_t proof_rank; /* the rank the referral's sets were stored with */
	bool tried;
	/* ZK_FETCH: the DNSKEY fetch of zone `name` started ahead of the walk
	 * (vg_validate_prefetch): the servers to ask, who asks, and the iqs waiting for it. */
	const struct vg_ns *ns;
	size_t n_ns;
	struct vg_iq *starter;
	bool started, ended;
	struct vg_zk_waiter *waiters;
	/* How long the outcome holds when every record it rests on came from the cache (the DS
	 * or negative DS, the DNSKEY set, the links above): the first expiry on the wall clock and
	 * the cache's flush generation of those reads (min of both over the links). until 0: it
	 * rests on something else (a reply, a fetch), and the key table does not keep it. */
	uint32_t until;
	uint64_t gen;
};

enum chain { CHAIN_DONE, CHAIN_WAIT };

struct judge {
	struct vg_dnssec_result bad; /* the first failure that decides (bogus or over a limit) */
	bool failed;
};

/* Unsigned delegations proved through a forwarder, remembered per worker (memory only): a DS
 * denial read back from the cache no longer says whether it showed a delegation, so without
 * this every miss in an unsigned zone under a signed parent would ask the forwarder for the
 * zone's DS again. An entry is made only from a validated proof of an insecure delegation and
 * lives as long as that proof's TTL (at most VG_FWD_CUT_TTL seconds). */
#define VG_FWD_CUT_SLOTS 256
#define VG_FWD_CUT_TTL 3600

struct vg_fwd_cut {
	uint8_t name[VG_NAME_MAX]; /* lowercase; empty slot: until 0 */
	uint32_t until;		   /* wall clock */
};

/* validate_fwd.c: vg_validate_reply for a forwarder's final reply; false while fetches run. */
bool vg_val_forwarded(struct vg_iq *iq, bool full);
/* validate_cached.c: cuts iq's answer back to its first `first` records, drops a negative SOA. */
void vg_val_ans_cut(struct vg_iq *iq, size_t first);
/* validate_chain.c: the request's link of `kind` at `name`, or NULL. */
struct vg_zk *vg_zk_find(struct vg_req *req, const uint8_t *name, uint8_t kind);
/* Sets (or adds) the request's link of `kind` at `name`; NULL out of memory. */
struct vg_zk *vg_zk_set(struct vg_req *req, const uint8_t *name, uint8_t kind, uint8_t sec,
			uint16_t ede, const char *why, const struct vg_rrset_view *set);
/* validate_chain.c: vg_zk_set with the status, EDE and reason of a validator result. */
struct vg_zk *vg_zk_result(struct vg_req *req, const uint8_t *name, uint8_t kind,
			   const struct vg_dnssec_result *res, const struct vg_rrset_view *set);
/* validate_chain.c: keeps the NSEC/NSEC3 sets of iq's referral to `cut` (no DS in it) for the
 * walk (ZK_NODS). */
void vg_val_keep_nods(struct vg_iq *iq, const uint8_t *cut);
/* validate.c: a view of rs in arena a for the validator core; false out of memory. */
bool vg_val_view_of(struct vg_arena *a, const struct vg_rrset *rs, struct vg_rrset_view *out);
/* The RRset (owner, type) of m's `section`, or NULL. */
struct vg_rrset *vg_val_msg_set(struct vg_msg *m, const uint8_t *owner, uint16_t type,
				uint8_t section);
/* validate_chain.c: whether iq is a DS/DNSKEY fetch of the chain walk. */
bool vg_val_is_fetch(const struct vg_iq *iq);
/* validate_chain.c: the keys of zone z for iq's reply (CHAIN_DONE with *out) or CHAIN_WAIT on a
 * fetch. */
enum chain vg_val_chain_for(struct vg_iq *iq, const uint8_t *z, bool may_fetch,
			    const struct vg_zk **out);
/* Whether an RRSIG of rs from `zone` was made for a wildcard expansion (*labels: its labels). */
bool vg_val_expanded(const struct vg_rrset *rs, const uint8_t *zone, uint8_t *labels);
/* Records a failure in j (the first one decides). */
void vg_val_judge_fail(struct judge *j, const struct vg_dnssec_result *res);
/* The verified NSEC/NSEC3 sets of iq's authority section as views (count returned). */
size_t vg_val_proof_views(struct vg_iq *iq, struct vg_rrset_view **out);
/* Applies a denial proof's result: secure keeps, insecure lowers the proof sets, else j fails. */
void vg_val_proof_outcome(struct vg_iq *iq, struct judge *j, const struct vg_dnssec_result *res);
/* Notes why iq's answer is insecure (EDE) where RFC 8914 names the reason. */
void vg_val_note_insecure(struct vg_iq *iq, uint16_t ede, const char *why);
/* Records what iq's reply says of the DS at `child` (secure set or proved absence). */
void vg_val_note_ds(struct vg_iq *iq, const uint8_t *zone, const uint8_t *child,
		    struct vg_rrset_view *proof, size_t n, uint8_t section);
/* The DNAME set cn was synthesized from, when cn is such a CNAME; else NULL. */
const struct vg_rrset *vg_val_dname_synth(const struct vg_msg *m, const struct vg_rrset *cn);
/* A final reply found bogus: counted, remembered, reported under `zone`, failed unless CD=1. */
void vg_val_judged_bogus(struct vg_iq *iq, const uint8_t *zone, const struct judge *jb);

#endif
