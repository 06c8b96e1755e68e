/* The per-worker key table: zone keys the chain of trust proved from cached records, kept until
 * the first of those records expires, so a miss does not rebuild the chain from the cache. */
#ifndef VIGIL_RESOLVER_KEYTAB_H
#define VIGIL_RESOLVER_KEYTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/arena.h>
#include <vigil/name.h>
#include "dnssec.h"

/* Slots (2-way buckets of a keyed hash): an entry per zone cut or name the walk passed through;
 * a worker that meets more zones rebuilds the chain from the cache for the ones that do not fit. */
#define VG_KEYTAB_SLOTS 1024
/* Bytes of one entry (name, DNSKEY set and its RRSIGs): a larger set is not kept (the chain is
 * then rebuilt from the cache for it). Bounds the table at about SLOTS x this. */
#define VG_KEYTAB_ENTRY_MAX 4096

/* What the walk concluded about the keys of `name` (struct vg_zk, ZK_KEYS): secure with `keys`,
 * the validated DNSKEY set of name's zone, or insecure (an unsigned delegation
 * above or at name, proved). Bogus and indeterminate outcomes are never kept. */
struct vg_keytab_entry {
	uint8_t sec; /* VG_SEC_SECURE or VG_SEC_INSECURE */
	uint16_t ede;
	const char *why; /* a static text (the validator's reasons are static) */
	uint32_t until;	 /* wall clock (vg_wall32): the first expiry of the records it rests on */
	uint64_t gen;	 /* the cache's flush generation of the snapshots it was read from */
	/* secure: points into this entry (owner: the zone of the keys, `name` or a zone above it
	 * when name lies inside that zone); insecure: n_rd 0 */
	struct vg_rrset_view keys;
	uint8_t name[VG_NAME_MAX];  /* lowercase */
	uint8_t owner[VG_NAME_MAX]; /* the keys' owner */
};

struct vg_keytab;

/* A table whose slots are chosen with SipHash under `key` (zone names come from the network).
 * NULL on out-of-memory. Owned by one worker's resolver: not thread-safe. */
struct vg_keytab *vg_keytab_new(const uint64_t key[2]);
void vg_keytab_free(struct vg_keytab *t);

/* The live entry for `name` (any case): until > now and gen == the cache's generation now
 * (`gen`); NULL otherwise (an expired or outdated entry is dropped). The pointer lives until the
 * next vg_keytab_put or vg_keytab_clear. */
const struct vg_keytab_entry *vg_keytab_get(struct vg_keytab *t, const uint8_t *name, uint32_t now,
					    uint64_t gen);

/* Keeps (or replaces) what is known of `name`: sec secure with `keys` (copied), or insecure with
 * keys NULL; `until` > now. Nothing is kept (0 returned all the same) for another status, an
 * entry over VG_KEYTAB_ENTRY_MAX, or when memory runs out. Returns 0 or -EINVAL. */
int vg_keytab_put(struct vg_keytab *t, const uint8_t *name, uint8_t sec, uint16_t ede,
		  const char *why, const struct vg_rrset_view *keys, uint32_t now, uint32_t until,
		  uint64_t gen);

/* Forgets every entry. */
void vg_keytab_clear(struct vg_keytab *t);

/* Entries held (tests, counters). */
size_t vg_keytab_count(const struct vg_keytab *t);

/* A copy of e->keys (owner included) in arena `a`: the copy outlives the entry; false without
 * memory. */
bool vg_keytab_copy_keys(const struct vg_keytab_entry *e, struct vg_arena *a,
			 struct vg_rrset_view *out);

/* The wall-clock time (on the timeline of `now`, vg_wall32) at which the first RRSIG of `set`
 * expires, as the validator's clock (vg_dnssec_now) sees it; `until` when none expires earlier.
 * An entry proved by a set is kept no longer than its signatures are valid. */
uint32_t vg_keytab_sig_until(const struct vg_rrset_view *set, uint32_t now, uint32_t until);

#endif
