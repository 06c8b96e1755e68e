/* Private structures shared by the cache's source files (not a public header). */
#ifndef VIGIL_CACHE_IMPL_H
#define VIGIL_CACHE_IMPL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vigil/cache.h"
#include "vigil/err.h"
#include "vigil/name.h"

/* ---- keys (owner: key.c) ---- */

/* lookup(name) || 0x00 || type(2) [|| dobits(1)]: the 0x00 separator makes all types of a name sort
 * before its children (whose next byte is a label byte, never 0x00). */
#define VG_CKEY_MAX (VG_NAME_MAX + 4)
#define VG_CKEY_DO 0x01
#define VG_CKEY_CD 0x02
/* The type field of a delegation key: the parent-side NS set of a zone cut (from a referral),
 * kept apart from the child's own NS RRset (key type 2), which may answer NS questions but never
 * makes a cut (ghost domains, CVE-2012-1191, CVE-2022-30698/30699). A private-use type (RFC 6895)
 * so the key layout stays one shape; the cache refuses real data of this type in every put and
 * lookup, so a server cannot write or read a delegation through it. */
#define VG_CKEY_T_DELEG 0xFF02

int vg_ckey_rrset(uint8_t *key, const uint8_t *name, uint16_t type);
/* The delegation (parent-side NS set) of the zone `name`. */
int vg_ckey_deleg(uint8_t *key, const uint8_t *name);
/* The NSEC index (nsec.c): lookup(zone) || 0x00 || type(2) || lookup(owner) without its zone
 * part. Within one zone and type the keys sort in DNSSEC canonical order of the owners (RFC 4034
 * 6.1: lowercase labels compared from the right; lookup format is exactly that), so the greatest
 * key at or below a name's key is the NSEC whose span may cover it; NSEC3 owners are base32hex
 * hashes, whose lowercase order is the hash order. Returns the length or VG_EFORMAT (owner
 * outside zone). */
int vg_ckey_nsec(uint8_t *key, const uint8_t *zone, uint16_t type, const uint8_t *owner);
int vg_ckey_answer(uint8_t *key, const uint8_t *name, uint16_t type, bool do_bit, bool cd_bit);
/* Prefix of every key of exactly this name (all types): lookup || 0x00. */
int vg_ckey_name_prefix(uint8_t *key, const uint8_t *name);
/* Prefix of every key at or below this name (subtree): lookup. */
int vg_ckey_zone_prefix(uint8_t *key, const uint8_t *name);
/* The rrset key of an ancestor of a name, built in place: key[0..len) holds the first labels of
 * vg_ckey_zone_prefix(name) up to a label boundary (the ancestor's own lookup form, since that
 * form is a prefix of its descendants'); what follows is overwritten. Returns the key length.
 * Walks up a name build its lookup form once (rrset.c). */
int vg_ckey_rrset_at(uint8_t *key, int len, uint16_t type);
/* Splits a stored key; `answer` says which DB it came from. name receives the lowercase wire
 * name. Returns 0 or VG_ECORRUPT. */
int vg_ckey_parse(const uint8_t *key, size_t len, bool answer, uint8_t *name, uint16_t *type,
		  uint8_t *dobits);

/* ---- value layout (owner: key.c for the common header, rrset.c / answer.c for bodies) ---- */

/* Byte 0 of every value, and the meta "format" key. 2: delegations under VG_CKEY_T_DELEG (in
 * format 1 the referral's NS set and the child's NS answer shared the NS key). 3: an rrset
 * value's body starts with its rdata length alone (format 2 also kept both record counts and a
 * u32 length of the signatures: 10 bytes more per entry). */
#define VG_CACHE_FORMAT 3
#define VG_CVAL_HDR 20
/* No stored TTL exceeds this (the config caps every TTL key at a year): a larger value read back is
 * damage, and would otherwise make an entry live, and rank-protected, for up to 136 years. */
#define VG_CACHE_TTL_LIMIT (366u * 86400u)
/* Common header, all big-endian:
 *  0 u8 format   1 u8 kind   2 u8 rank   3 u8 sec   4 u8 flags   5 u8 uses (saturating)
 *  6 u16 (rrset: class, answer: TTL field count)
 *  8 u32 stored_at   12 u32 ttl   16 u32 used_at (coarse recency stamp, writer-updated) */
struct vg_cval_hdr {
	uint8_t format, kind, rank, sec, flags, uses;
	uint16_t aux;
	uint32_t stored_at, ttl, used_at;
};
int vg_cval_hdr_decode(const uint8_t *v, size_t len, struct vg_cval_hdr *h);
void vg_cval_hdr_encode(uint8_t *v, const struct vg_cval_hdr *h);

/* How far a stored_at may lie ahead of `now` and still count as "just stored": threads read the
 * wall clock once per loop pass, so a stamp made by one can be a second or two ahead of another's
 * `now`. */
#define VG_CACHE_CLOCK_SLACK 10

/* Age of an entry at `now`. Returns false when stored_at lies further ahead than the slack: the
 * wall clock went back (or the stored value lies), the entry's real age is unknown, and it is
 * treated as expired everywhere: never served, not even stale, not protected by its rank, and
 * reclaimed first by eviction. */
static inline bool vg_cval_age(const struct vg_cval_hdr *h, uint32_t now, uint32_t *age)
{
	if (now >= h->stored_at) {
		*age = now - h->stored_at;
		return true;
	}
	*age = 0;
	return h->stored_at - now <= VG_CACHE_CLOCK_SLACK;
}

/* Whether the entry is live at `now`, and its time left (0 when expired or of unknown age). */
static inline bool vg_cval_live(const struct vg_cval_hdr *h, uint32_t now)
{
	uint32_t age;
	return vg_cval_age(h, now, &age) && age < h->ttl;
}
static inline uint32_t vg_cval_left(const struct vg_cval_hdr *h, uint32_t now)
{
	uint32_t age;
	if (!vg_cval_age(h, now, &age))
		return 0;
	return age < h->ttl ? h->ttl - age : 0;
}

/* The lookup rule shared by answers and rrsets: 0 when the entry may be served at `now`, with *age
 * and *hint (0, VG_CACHE_PREFETCH in the last 10% of the TTL, or VG_CACHE_STALE when expired but
 * inside min(allow_stale_secs, stale_max)); VG_ESTALE when expired and not allowed: past that
 * window, flagged suspect, or of unknown age. */
static inline int vg_cval_fresh(const struct vg_cval_hdr *h, uint32_t now, int allow_stale_secs,
				uint32_t stale_max, uint32_t *age, unsigned *hint)
{
	*hint = 0;
	if (!vg_cval_age(h, now, age))
		return VG_ESTALE; /* stored "in the future": the clock went back */
	if (*age < h->ttl) {
		if ((uint64_t)(h->ttl - *age) * 10 <= h->ttl)
			*hint = VG_CACHE_PREFETCH;
		return 0;
	}
	uint32_t allow = allow_stale_secs > 0 ? (uint32_t)allow_stale_secs : 0;
	if (allow > stale_max)
		allow = stale_max;
	if (*age - h->ttl >= allow || (h->flags & VG_CACHE_F_SUSPECT))
		return VG_ESTALE;
	*hint = VG_CACHE_STALE;
	return 0;
}

/* ---- queue ops ---- */

enum vg_cop_kind {
	VG_COP_PUT_RRSET,
	VG_COP_PUT_ANSWER,
	VG_COP_PUT_NSEC, /* an index entry of nsec.c */
	VG_COP_TOUCH_RRSET,
	VG_COP_TOUCH_ANSWER,
	VG_COP_FLUSH_ALL,
	VG_COP_FLUSH_NAME,
	VG_COP_FLUSH_ZONE,
	VG_COP_FLUSH_NEG,
	VG_COP_FLUSH_SUSPECT,
	VG_COP_BARRIER,
	VG_COP_STOP,
};

struct vg_cop {
	_Atomic(struct vg_cop *) next;
	enum vg_cop_kind kind;
	uint32_t now;
	uint16_t type; /* FLUSH_NAME: type or 0 */
	uint16_t klen;
	uint32_t vlen;
	uint64_t ticket; /* BARRIER */
	uint8_t data[];	 /* key || value */
};

/* ---- the cache ---- */

struct vg_cache {
	MDB_env *env;
	MDB_dbi dbi_meta, dbi_rrset, dbi_answer;
	MDB_dbi dbi_nsec; /* the NSEC index (nsec.c) */
	struct vg_cache_opts o;
	char path[4096]; /* data.mdb, for messages */

	/* Vyukov MPSC queue: producers exchange `head`, the writer alone pops from `tail`. */
	_Atomic(struct vg_cop *) head;
	struct vg_cop *tail;
	struct vg_cop *stub; /* heap: a struct with a flexible member cannot be embedded */
	atomic_size_t queued;
	atomic_size_t queued_bytes; /* data ops from enqueue until freed after their commit */

	pthread_mutex_t mu; /* guards wake/barrier state below */
	pthread_cond_t wake_cv, done_cv;
	atomic_int wake_pending; /* enum vg_cache_wake */
	/* Raised after each commit of a flush (vg_cache_read_gen); readers load it before renewing
	 * their snapshot, so a snapshot older than a flush never carries its generation. */
	atomic_uint_fast64_t flush_gen;
	uint64_t ticket_next, ticket_done;
	/* Group commit (writer.c): while writes keep coming the writer wakes every group_ms and
	 * commits what queued up; after a few empty periods it goes idle: it sleeps until a
	 * producer signals, or until the next flush is due when a commit is not on disk yet
	 * (writer_sleep). Set at open; tests may change it before vg_cache_start_writer. */
	unsigned group_ms;
	bool writer_running;
	pthread_t writer;
	pthread_mutex_t apply_mu; /* serialises appliers when no writer thread runs */

	/* Sizes scaled to the map: a write txn dirties about one page per op and cannot reuse the
	 * pages it frees, so the free space left under the high watermark must hold a whole txn. */
	unsigned batch_max; /* ops per write txn */
	unsigned window;    /* entries sampled per DB per eviction round */
	unsigned high_pct;  /* effective high watermark */

	/* eviction state (writer only): recent sampled scores (for a global cut), and the
	 * expired-only pass of the current episode */
#define VG_CACHE_RING 1024
	int64_t ring[VG_CACHE_RING], ring_tmp[VG_CACHE_RING];
	size_t ring_n, ring_pos;
	bool dead_pass_done;
	uint64_t dead_visited;
	/* eviction sweep positions (writer only) */
	uint8_t sweep_key[3][VG_CKEY_MAX];
	size_t sweep_klen[3];
	uint64_t last_sync_ms; /* monotonic; writer only */
	/* last txn id flushed by the writer's sync; written by the writer only, atomic for tests */
	atomic_size_t synced_txnid;
	/* passes of the writer loop, one per wake-up (start, signal, timer): tests read it to
	 * check that an idle writer stays asleep */
	atomic_uint_fast64_t st_wakeups;
	/* puts and touches applied in the open write txn, added to the stats at its commit */
	uint64_t txn_puts, txn_touches;

	/* stats */
	atomic_uint_fast64_t st_dropped, st_committed, st_refused, st_evicted, st_rounds,
	    st_corrupt, st_map_full, st_touches;
};

#define VG_CACHE_TOUCH_SLOTS 64

struct vg_cache_reader {
	struct vg_cache *c;
	MDB_txn *txn;
	bool active;
	uint64_t gen; /* flush generation loaded before the snapshot was renewed */
	/* Recently queued touches (key hash -> stamp): one touch per entry per interval. */
	uint64_t touch_key[2]; /* SipHash key of the touch slots, random per reader */
	uint32_t touch_hash[VG_CACHE_TOUCH_SLOTS];
	uint32_t touch_at[VG_CACHE_TOUCH_SLOTS];
};

/* Seconds between two recency stamps of one entry: a hit refreshes used_at only when older. */
#define VG_CACHE_TOUCH_SECS 30

uint32_t vg_cache_now(struct vg_cache *c);

/* env.c: the start-up full-file check (deep_check). The child writes one report byte to a pipe;
 * the verdict depends on that byte first and on the exit status only when no byte came (a crash).
 * report: the byte, or -1 when none was read; status: as from waitpid. */
#define VG_CHECK_REPORT_OK 'O'
#define VG_CHECK_REPORT_DAMAGED 'D'
enum vg_cache_check_verdict { VG_CHECK_OK, VG_CHECK_DAMAGED, VG_CHECK_UNKNOWN };
enum vg_cache_check_verdict vg_cache_check_verdict(int report, int status);
int vg_cache_mdb_err(int rc);

/* writer.c */

/* c->wake_pending. NONE: the writer is working or on its group timer, and only a control op
 * (flush, sync, stop) or a full batch signals it. SET: a wake is requested; the writer looks at
 * the queue before it sleeps again. IDLE: the writer sleeps until signalled, and the next op of
 * any kind signals it. */
enum vg_cache_wake { VG_WAKE_NONE, VG_WAKE_SET, VG_WAKE_IDLE };
#define VG_CACHE_GROUP_MS 2 /* longest a put waits for its commit while writes keep coming */
int vg_cache_enqueue(struct vg_cache *c, struct vg_cop *op);
struct vg_cop *vg_cop_new(enum vg_cop_kind kind, size_t klen, size_t vlen);
int vg_cache_queue_init(struct vg_cache *c);
void vg_cache_writer_stop(struct vg_cache *c);
/* Applies queued ops on the caller's thread (no writer thread running). */
int vg_cache_drain(struct vg_cache *c);

/* Called by readers on a hit: queues a recency touch at most once per VG_CACHE_TOUCH_SECS. */
void vg_cache_touch(struct vg_cache_reader *rd, bool answer, const uint8_t *key, size_t klen,
		    const struct vg_cval_hdr *h, uint32_t now);

/* Applying ops inside a write txn (writer.c / manage.c). */
int vg_cache_apply_put(struct vg_cache *c, MDB_txn *txn, MDB_dbi dbi, const struct vg_cop *op);
int vg_cache_apply_touch(struct vg_cache *c, MDB_txn *txn, MDB_dbi dbi, const struct vg_cop *op);
/* Runs a flush op in its own small txns (manage.c); the caller has committed what came before. */
int vg_cache_run_flush(struct vg_cache *c, const struct vg_cop *op);

/* evict.c: brings usage under the low watermark when over the high one (or `force`). */
void vg_cache_evict(struct vg_cache *c, uint32_t now, bool force);
/* Scales batch size, sample window and high watermark to the map. */
void vg_cache_evict_init(struct vg_cache *c, size_t psize);
/* Pages in use over map pages, in percent. */
unsigned vg_cache_usage_pct(struct vg_cache *c);

/* rrset.c */
int vg_rrset_decode(const uint8_t *v, size_t len, struct vg_cval_hdr *h, uint8_t *buf, size_t cap,
		    struct vg_cache_rrset_view *view);
/* The stored value of (owner, type) in the rrset DB, read in place (valid until read_end): 0,
 * with the key in key[0..*kl) (for a touch), or VG_ENOTFOUND. */
static inline int vg_rrset_raw(struct vg_cache_reader *rd, const uint8_t *owner, uint16_t type,
			       uint8_t *key, int *kl, MDB_val *v)
{
	*kl = vg_ckey_rrset(key, owner, type);
	if (*kl < 0)
		return VG_ENOTFOUND;
	MDB_val k = {.mv_size = (size_t)*kl, .mv_data = key};
	return mdb_get(rd->txn, rd->c->dbi_rrset, &k, v) == 0 ? 0 : VG_ENOTFOUND;
}

/* Size of an rrset value's body header after the common header: u16 rdata_len (rrset.c). */
#define VG_CRS_BODY 2

/* hit.c: whether the answer put `op` (an answer-DB key and value) is shadowed by the rrset DB in
 * `txn`: a live entry at its name and type that vg_cache_rrset_answer serves to the key's DO/CD
 * bits and that lives at least as long as the answer would. Such an answer is not stored. */
bool vg_answer_shadowed(struct vg_cache *c, MDB_txn *txn, const struct vg_cop *op);

/* nsec.c: the index key of a secure NSEC/NSEC3 RRset (its zone: the signer of its first RRSIG,
 * (u16 rdlen, rdata) sequence `sigs`). Returns the key length, or <0 when not indexable. */
int vg_nsec_index_key(uint8_t *key, const uint8_t *owner, uint16_t type, const uint8_t *sigs,
		      size_t sigs_len);
/* nsec.c: the flush op applied to the index (zone: range delete; all and negative: drop). */
int vg_nsec_index_flush(struct vg_cache *c, const struct vg_cop *op);

/* answer.c */
bool vg_answer_valid(const uint8_t *v, size_t len);
int vg_answer_encode(const struct vg_cache_opts *o, const uint8_t *wire, size_t len,
		     const uint8_t *qname, uint8_t rank, uint8_t sec, uint8_t flags, uint32_t now,
		     uint8_t **val, size_t *vlen);

#endif
