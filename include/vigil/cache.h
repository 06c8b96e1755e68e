/* Public API of the LMDB cache: rrsets, negative entries, zone cuts and the wire answer cache. */
#ifndef VIGIL_CACHE_H
#define VIGIL_CACHE_H

/*
 * Lifecycle (STYLE habit 5):
 *   main thread:  vg_cache_open -> vg_cache_start_writer -> ... -> vg_cache_close
 *   each worker:  vg_cache_reader_new -> { vg_cache_read_begin; lookups; vg_cache_read_end }* ->
 *                 vg_cache_reader_free   (all readers freed before vg_cache_close)
 *
 * Threads: one struct vg_cache is shared by every thread. Lookups go through a struct
 * vg_cache_reader owned by exactly one thread at a time (one per worker); the LMDB env is opened
 * with MDB_NOTLS so the reader's transaction handle is renewed per batch. Reads never wait for
 * writes. Writes (every *_put and flush function) copy their arguments into a queue and return at
 * once; one writer thread applies them in group commits. They are thread-safe and never block on
 * LMDB. A put is visible to readers after the writer commits it (a few ms); tests call
 * vg_cache_sync().
 *
 * Time: every time is wall-clock seconds (uint32_t, Unix time) passed in by the caller as `now`, so
 * tests inject time and the cache file survives reboots (DESIGN.md "Time"). The writer only needs a
 * clock for eviction; it uses opts.clock (or time(NULL)).
 *
 * Errors: 0 or a negative code of include/vigil/err.h. Lookups: VG_ENOTFOUND (miss, also for a
 * stored value that fails validation: that is counted in stats.corrupt), VG_ESTALE (expired and not
 * allowed stale), VG_ESPACE (caller buffer too small). Names are uncompressed wire names.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/dns.h>

struct vg_cache;
struct vg_cache_reader;

/* Wall clock in seconds; used by the writer for eviction. ctx is opts.clock_ctx. */
typedef uint32_t (*vg_cache_clock_fn)(void *ctx);

struct vg_cache_opts {
	const char *dir;       /* directory holding data.mdb (created if missing); required */
	uint64_t map_size;     /* LMDB map size in bytes; 0 = 512 MiB */
	uint32_t min_ttl;      /* TTL clamps applied at store time (seconds) */
	uint32_t max_ttl;      /* 0 = 86400 */
	uint32_t max_neg_ttl;  /* 0 = 3600 */
	uint32_t stale_max;    /* seconds past expiry a lookup may ask for (serve-stale), 0 = off */
	bool rebuild_on_error; /* corrupt/foreign file: move it aside and start fresh */
	unsigned maxreaders;   /* LMDB reader slots; 0 = 126. Must exceed workers + tools. */
	vg_cache_clock_fn clock; /* NULL = time(NULL) */
	void *clock_ctx;
	/* start evicting when used pages exceed this % of the map; 0 = 85 */
	unsigned high_water_pct;
	unsigned low_water_pct;	   /* evict down to this %; 0 = 70 */
	unsigned sync_interval_ms; /* periodic mdb_env_sync by the writer; 0 = 5000 */
	size_t queue_max; /* max queued writes before puts are dropped (counted); 0 = 65536 */
	/* Max bytes held by queued data writes (each op's key, value and ~48 bytes of header),
	 * from the put until the writer has committed it; a put that would exceed it is dropped
	 * (counted in stats.dropped) and returns VG_ELIMIT. Control ops are never dropped.
	 * 0 = 32 MiB. */
	size_t queue_max_bytes;
	bool skip_verify; /* skip the full read of an existing file at open (see vg_cache_open) */
	/* The resolver does not validate (config `dnssec: no`): an iterated RRset of status
	 * indeterminate then answers CD=0 questions through vg_cache_rrset_answer like any other.
	 * With validation (false, the default) it does not: such data was never checked, and the
	 * resolver decides what a CD=0 client gets. */
	bool dnssec_off;
};

/* Sets every field to its default (dir NULL). */
void vg_cache_opts_default(struct vg_cache_opts *o);

/* Opens (creating if needed) the cache in opts->dir. Main thread, once per process (LMDB forbids
 * opening one env twice), before other threads start: unless opts->skip_verify, an existing file is
 * first read in full by a forked child process, because LMDB crashes on a damaged B-tree instead of
 * reporting it (cost: one pass over the file, ~0.1-1 s per GB); the child reports over a pipe, so
 * a tool that owns its exit status (valgrind) does not fail the open, and a check that ends
 * without a report and without crashing is logged and skipped. Runs mdb_reader_check. A cache of
 * another format version is emptied with a log line. A corrupted, truncated or foreign file fails
 * with VG_ECORRUPT and a message naming the file in `err`, unless opts->rebuild_on_error: then the
 * file is renamed to data.mdb.bad-<time>, a fresh cache is created and a warning is logged. On
 * success *out is owned by the caller and must be released with vg_cache_close. `err` (may be NULL)
 * receives a human-readable reason on failure. */
int vg_cache_open(const struct vg_cache_opts *opts, struct vg_cache **out, char *err,
		  size_t errlen);

/* Starts the writer thread. Without it, queued writes are applied only by vg_cache_sync (which
 * then runs them on the calling thread): handy for tools and single-threaded tests. */
int vg_cache_start_writer(struct vg_cache *c);

/* Stops the writer, applies everything still queued, syncs to disk and closes the env.
 * All readers must have been freed. NULL is a no-op. */
void vg_cache_close(struct vg_cache *c);

/* Waits until every write queued before the call is committed (and, without a writer thread,
 * applies them itself). For tests, tools and shutdown; not for the query path. */
int vg_cache_sync(struct vg_cache *c);
#define vg_cache_sync_for_tests vg_cache_sync

/* ---- readers (one per worker thread) ---- */

/* Allocates a reader; thread-safe. NULL on out-of-memory or when reader slots are exhausted. */
struct vg_cache_reader *vg_cache_reader_new(struct vg_cache *c);
void vg_cache_reader_free(struct vg_cache_reader *rd);

/* Begins a read snapshot for a batch (mdb_txn_renew); lookups outside begin/end fail with
 * -EINVAL. Keep batches short: an open snapshot holds pages the writer cannot reuse. */
int vg_cache_read_begin(struct vg_cache_reader *rd);
/* Ends the snapshot (mdb_txn_reset); nothing returned by a lookup points into the map. */
void vg_cache_read_end(struct vg_cache_reader *rd);
/* The flush generation the open snapshot was taken at: every flush (all, name, zone, negative,
 * suspicious) raises the cache's generation after each of its commits, so a reader that keeps
 * something derived from cached data beyond its snapshot (the resolver's key table) can tell
 * that a flush may have removed its source: keep it only while this equals
 * vg_cache_flush_gen(). Inside read_begin/end; 0 outside. */
uint64_t vg_cache_read_gen(const struct vg_cache_reader *rd);
/* The cache's flush generation now (any thread; an atomic load). */
uint64_t vg_cache_flush_gen(struct vg_cache *c);

/* ---- ranks, statuses, flags ---- */

/* Credibility (RFC 2181 §5.4.1), low to high. Combine with VG_RANK_ITERATED for data we got by
 * iterating; forwarded data lacks the bit and so ranks below any iterated data. */
enum vg_cache_rank {
	VG_RANK_HINT = 0,	    /* root hints, priming input */
	VG_RANK_ADDITIONAL = 1,	    /* additional section; authority section of a non-auth answer */
	VG_RANK_GLUE = 2,	    /* in-bailiwick glue from a referral */
	VG_RANK_NONAUTH_ANSWER = 3, /* answer section without AA */
	VG_RANK_AUTH_AUTHORITY = 4, /* authority section of an authoritative answer */
	VG_RANK_AUTH_ANSWER = 5,    /* answer section with AA */
	VG_RANK_ITERATED = 0x10,    /* flag: learned by iteration, not from a forwarder */
};

enum vg_cache_sec {
	VG_SEC_INDETERMINATE = 0,
	VG_SEC_INSECURE = 1,
	VG_SEC_SECURE = 2,
	VG_SEC_BOGUS = 3,
};

/* Entry flags (stored). */
#define VG_CACHE_F_SUSPECT 0x01 /* validator flagged it: served only fresh, never stale */
/* Why an insecure entry is insecure, when RFC 8914 has a code for it (the EDE its answers carry
 * again when served from the cache): */
#define VG_CACHE_F_INSECURE_ALG 0x02	/* EDE 1: unsupported DNSKEY algorithm */
#define VG_CACHE_F_INSECURE_DIGEST 0x04 /* EDE 2: unsupported DS digest */
#define VG_CACHE_F_INSECURE_ITER 0x08	/* EDE 27: too many NSEC3 iterations */

/* Lookup result flags (*flags / view.hint). */
#define VG_CACHE_PREFETCH 0x01 /* entry is in the last 10% of its TTL: refresh it */
#define VG_CACHE_STALE 0x02    /* entry expired; served with TTL 30 under serve-stale */

#define VG_CACHE_STALE_TTL 30

/* ---- answer cache: the hot path ---- */

/* Looks up (qname, qtype, DO, CD) and writes the answer into out[0..cap): the stored message with
 * `id`, the client's spelling of `qname` (its 0x20 case) and every TTL rewritten to the time left.
 * `qname` is the wire question name as the client sent it (uncompressed, validated by the caller).
 * allow_stale_secs: an expired entry is served when expired for at most that many seconds (capped
 * by opts.stale_max, never for suspect entries) with TTLs of 30 and VG_CACHE_STALE in *flags.
 * *flags gets VG_CACHE_PREFETCH in the last 10% of the TTL. The answer carries no OPT record: the
 * front end appends it, and sets the header bits that depend on the query (RD, CD; the stored
 * header is the resolver's: QR, AA, RA, AD, rcode). No parsing, no allocation (except, at most once
 * per entry per 30 s per reader, the recency touch queued to the writer); inside read_begin/end.
 * Returns 0, VG_ENOTFOUND, VG_ESTALE (expired, not allowed) or VG_ESPACE (cap too small). */
int vg_cache_answer_get(struct vg_cache_reader *rd, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, bool do_bit, bool cd_bit, uint16_t id, uint32_t now,
			uint8_t *out, size_t cap, size_t *outlen, unsigned *flags,
			int allow_stale_secs);

/* The hit path's first lookup: the answer to (qname, qtype, qclass, DO, CD) built from the rrset
 * DB entry of (qname, qtype), for questions whose answer is exactly that one RRset. Served only
 * from a positive entry of answer rank (never glue or additional data), whose class is qclass,
 * that carries no insecure reason (VG_CACHE_F_INSECURE_*: the resolver adds their EDE), of status
 * secure or insecure, or indeterminate when cd_bit, opts.dnssec_off or forwarded data (rank
 * without VG_RANK_ITERATED: the resolver never validates it); with do_bit, not from a
 * wildcard expansion (an RRSIG with fewer labels than qname: its answer needs the proof the
 * answer DB keeps). Anything else is VG_ENOTFOUND, and the caller tries vg_cache_answer_get.
 * The message written to out[0..cap): header with `id`, QR, RA, AD when the entry is secure and
 * neither cd_bit nor stale (the caller takes AD off for a client that set neither DO nor AD, as
 * for answer-DB hits), the question with the client's spelling of `qname`, every record owned by
 * a compression pointer to it, TTL = time left (VG_CACHE_STALE_TTL when stale), the RRSIGs after
 * the records when do_bit, no authority, no additional, no OPT. allow_stale_secs, *flags and the
 * recency touch as vg_cache_answer_get. No allocation; the only parsing is the walk over the
 * rdata lengths. Inside read_begin/end. Returns 0, VG_ENOTFOUND, VG_ESTALE or VG_ESPACE. */
int vg_cache_rrset_answer(struct vg_cache_reader *rd, const uint8_t *qname, size_t qname_len,
			  uint16_t qtype, uint16_t qclass, bool do_bit, bool cd_bit, uint16_t id,
			  uint32_t now, uint8_t *out, size_t cap, size_t *outlen, unsigned *flags,
			  int allow_stale_secs);

/* Queues a whole answer for (qname, qtype, DO, CD). `wire` is a complete DNS response (header,
 * one question, sections, uncompressed or compressed). The cache validates it once (bounds,
 * names), lowercases the question name, sets ID 0, drops a trailing OPT record, clamps each TTL
 * and records its offset. The entry lives for the smallest TTL in the message (negative answers:
 * NXDOMAIN or empty answer section, clamped by max_neg_ttl). rank / sec / flags and the
 * replacement rule as for rrsets (vg_cache_rrset_put): a live entry of higher rank is kept, one of
 * equal rank too unless it is in its last 10% of TTL. An answer that vg_cache_rrset_answer would
 * serve from the rrset DB when the writer applies it (a live entry there answers this key for at
 * least as long) is not stored: the hit path reads the rrset DB first, so it would never be read.
 * Copies everything; thread-safe; never blocks.
 * Returns 0 when queued, VG_EFORMAT for a message it cannot walk, VG_ELIMIT when the queue is
 * full (dropped, counted). */
int vg_cache_answer_put(struct vg_cache *c, const uint8_t *qname, uint16_t qtype, bool do_bit,
			bool cd_bit, const uint8_t *wire, size_t len, uint8_t rank, uint8_t sec,
			uint8_t flags, uint32_t now);

/* ---- rrset DB ---- */

/* The largest value body a lookup hands back: an RRset's data and signatures together (or a
 * negative entry's SOA and proof), and an answer's wire. Readers pass buffers this big (the
 * resolver's lookup buffer is one); a put whose body would be larger could never be read back,
 * so it is refused with VG_ELIMIT instead of being stored. */
#define VG_CACHE_READ_MAX 65535

/* An RRset to store. RR data are a sequence of (u16 big-endian rdlength, rdata) with every name in
 * rdata uncompressed; sigs the same for the RRSIG rdatas covering it (may be empty). */
struct vg_cache_rrset {
	const uint8_t *owner; /* wire name, any case */
	uint16_t type, rclass;
	uint32_t ttl; /* the RRset's TTL as received */
	uint8_t rank, sec, flags;
	/* NS only: the parent-side NS set of a zone cut (a referral's authority section). Stored
	 * apart from the zone's own NS RRset (the answer to an NS question): the two never replace
	 * each other, and only delegations make cuts (vg_cache_zonecut_find). */
	bool delegation;
	uint16_t rr_count;
	const uint8_t *rdata;
	size_t rdata_len;
	uint16_t sig_count;
	const uint8_t *sigs;
	size_t sigs_len;
};

/* The one TTL clamp: `ttl` limited to [min(lo, hi), hi]. The cache applies it at store time with
 * its min_ttl and max_ttl (max_neg_ttl for negative data); the resolver shows a record learned
 * just now with the same clamp so the first answer and cached repeats agree. Thread-safe. */
uint32_t vg_cache_ttl_clamp(uint32_t ttl, uint32_t lo, uint32_t hi);

/* Queues an RRset. At store: TTL clamped to [min_ttl, max_ttl] and capped so it never outlives
 * the earliest RRSIG expiration. Replaces a stored entry for (owner, type) only when that entry is
 * expired, or of lower rank, or of equal rank and inside its prefetch window (last 10% of TTL: the
 * refresh a prefetch asked for). A positive RRset also replaces a negative entry under the same
 * rule. Returns 0 queued, VG_EFORMAT (malformed input), VG_ELIMIT (queue full, or data and
 * signatures over VG_CACHE_READ_MAX bytes: never stored cut). Thread-safe. */
int vg_cache_rrset_put(struct vg_cache *c, const struct vg_cache_rrset *rs, uint32_t now);

enum vg_cache_kind { VG_CACHE_POSITIVE = 0, VG_CACHE_NODATA = 1, VG_CACHE_NXDOMAIN = 2 };

/* A lookup result. Every pointer points into the caller's buffer (never into the map): valid until
 * the caller reuses that buffer, also after read_end. */
struct vg_cache_rrset_view {
	enum vg_cache_kind kind;
	uint16_t type, rclass;
	uint32_t ttl;	   /* time left (VG_CACHE_STALE_TTL when stale) */
	uint32_t orig_ttl; /* TTL as stored after clamps */
	uint32_t stored_at;
	uint8_t rank, sec, flags;
	unsigned hint; /* VG_CACHE_PREFETCH / VG_CACHE_STALE */
	/* positive: the RRs and RRSIGs, formats as in struct vg_cache_rrset */
	uint16_t rr_count, sig_count;
	const uint8_t *rdata, *sigs;
	size_t rdata_len, sigs_len;
	/* negative: SOA owner (wire) and rdata; proof = full uncompressed wire RRs (NSEC/NSEC3 and
	 * RRSIGs, TTL fields as received) */
	const uint8_t *soa_owner, *soa_rdata;
	uint16_t soa_rdlen;
	uint16_t proof_count;
	const uint8_t *proof;
	size_t proof_len;
};

/* Looks up (owner, type). Finds a positive RRset or a NODATA entry for that type, else an NXDOMAIN
 * entry for the name. NS finds the zone's own NS RRset, never a delegation. Copies it into
 * buf[0..cap) and fills *view. allow_stale_secs as for answers. Returns 0, VG_ENOTFOUND, VG_ESTALE,
 * VG_ESPACE. Must be inside read_begin/end. */
int vg_cache_rrset_get(struct vg_cache_reader *rd, const uint8_t *owner, uint16_t type,
		       uint32_t now, int allow_stale_secs, uint8_t *buf, size_t cap,
		       struct vg_cache_rrset_view *view);

/* Whether the rrset DB holds any entry at all for `owner` (any type, a delegation or a negative
 * entry included; fresh or not): one cursor search in place of the exact lookups a miss would
 * make for a name never seen. False means every vg_cache_rrset_get of owner, and a zone-cut
 * lookup at owner, would find nothing. Must be inside read_begin/end. */
bool vg_cache_name_known(struct vg_cache_reader *rd, const uint8_t *owner);

/* A negative answer (RFC 2308) to store. */
struct vg_cache_neg {
	const uint8_t *qname; /* wire */
	uint16_t qtype;	      /* ignored for NXDOMAIN (covers every type of the name) */
	bool nxdomain;	      /* else NODATA */
	uint16_t rclass;
	const uint8_t *soa_owner; /* wire name of the zone apex */
	uint32_t soa_ttl;
	const uint8_t *soa_rdata; /* uncompressed SOA rdata (MINIMUM is its last 4 bytes) */
	uint16_t soa_rdlen;
	const uint8_t *proof; /* uncompressed wire RRs: SOA RRSIGs, NSEC/NSEC3 and their RRSIGs */
	size_t proof_len;
	uint16_t proof_count;
	uint8_t rank, sec, flags;
};

/* Queues a negative entry; TTL = min(SOA TTL, SOA MINIMUM) clamped by max_neg_ttl (and min_ttl),
 * same replacement rule as rrsets. Returns 0, VG_EFORMAT, VG_ELIMIT (queue full, or SOA and proof
 * over VG_CACHE_READ_MAX bytes). Thread-safe. */
int vg_cache_neg_put(struct vg_cache *c, const struct vg_cache_neg *neg, uint32_t now);

/* Closest cached, live delegation (an NS RRset put with .delegation) at or above qname (walks up
 * from qname to the root); an NS RRset put without it (the child's answer) is never a cut, so
 * the cut lives exactly as long as the parent's TTL and names the parent's servers. view->type is
 * NS.
 * zone (VG_NAME_MAX bytes) receives the zone's lowercase wire name; *view the NS RRset (buffer
 * rules as rrset_get); *ds_known is set when a live DS RRset or DS NODATA is cached for the zone.
 * Returns 0 or VG_ENOTFOUND (nothing cached: use root hints). Must be inside read_begin/end. */
int vg_cache_zonecut_find(struct vg_cache_reader *rd, const uint8_t *qname, uint32_t now,
			  uint8_t *zone, uint8_t *buf, size_t cap, struct vg_cache_rrset_view *view,
			  bool *ds_known);

/* ---- the NSEC index (RFC 8198 aggressive use of validated NSEC/NSEC3) ----
 * Every NSEC or NSEC3 RRset put with sec VG_SEC_SECURE and an RRSIG is also kept in an index
 * keyed by its zone (the signer of its first RRSIG) and its owner in DNSSEC canonical order
 * (docs/architecture.md "Aggressive use of NSEC"). It lives, is evicted and is flushed (flush
 * all, flush-negative, flush of its zone) on its own; a lookup returns only live, secure
 * entries, never stale ones. Both lookups: inside read_begin/end. */

/* Whether `zone` has index entries (live or not): 0 with the denial type it uses in *type
 * (NSEC3 when it has both), or VG_ENOTFOUND. One or two B-tree lookups. */
int vg_cache_nsec_zone(struct vg_cache_reader *rd, const uint8_t *zone, uint16_t *type);

/* The index entry of `zone` and `type` (NSEC or NSEC3) whose owner is the greatest at or below
 * `name` in canonical order (for NSEC3, `name` is the hashed owner name, hash.zone); when `name`
 * sorts before every owner, the zone's last entry (NSEC3 spans wrap around). name NULL: the
 * zone's first entry (to read the NSEC3 parameters). The owner goes into `owner` (VG_NAME_MAX
 * bytes, lowercase), the RRset into *view (buffer rules as vg_cache_rrset_get). Whether it
 * covers `name` is the caller's to judge. Returns 0, VG_ENOTFOUND, VG_ESTALE (that entry has
 * expired; no other is tried) or VG_ESPACE. */
int vg_cache_nsec_find(struct vg_cache_reader *rd, const uint8_t *zone, uint16_t type,
		       const uint8_t *name, uint32_t now, uint8_t *owner, uint8_t *buf, size_t cap,
		       struct vg_cache_rrset_view *view);

/* RFC 8020: the deepest live NXDOMAIN entry strictly above `name` and at or below `zone`
 * (an NXDOMAIN at a name means nothing exists below it). Its name goes into `owner`
 * (VG_NAME_MAX bytes), the entry into *view. Returns 0, VG_ENOTFOUND or VG_ESPACE. */
int vg_cache_nxdomain_above(struct vg_cache_reader *rd, const uint8_t *name, const uint8_t *zone,
			    uint32_t now, uint8_t *owner, uint8_t *buf, size_t cap,
			    struct vg_cache_rrset_view *view);

/* ---- management (for vigilctl; queued through the writer, thread-safe) ---- */

int vg_cache_flush_all(struct vg_cache *c);
/* type 0 = every type of the name (rrsets, negative entries and answers for that name); NS also
 * flushes the name's delegation. */
int vg_cache_flush_name(struct vg_cache *c, const uint8_t *name, uint16_t type);
/* The name and everything below it (range delete over lookup-format keys). */
int vg_cache_flush_zone(struct vg_cache *c, const uint8_t *zone);
/* Negative rrset-DB entries, and answers that are NXDOMAIN or NODATA. */
int vg_cache_flush_negative(struct vg_cache *c);
/* Entries flagged VG_CACHE_F_SUSPECT. */
int vg_cache_flush_suspicious(struct vg_cache *c);

/* Writes every live-or-stale entry as text lines to `f` (a FILE *), zone-file-like:
 *   "<owner> <ttl-left> <class> <type> <rdata>  ; rank=R sec=S [stale] [suspect] [delegation]"
 *   negative: "<owner> <ttl-left> <class> <type> \\# 0 ; NODATA|NXDOMAIN soa=<zone> rank=..."
 *   answers:  "; answer <qname> <type> do=D cd=C ttl=<left> len=<bytes> rank=R"
 * Opens its own read txn; thread-safe. Returns 0 or an error. */
int vg_cache_dump(struct vg_cache *c, void *f, uint32_t now);

/* Writes one rdata of `type` (uncompressed wire, len bytes) in presentation form to `f` (a FILE
 * *). Returns 0, or <0 to have the cache print it itself (RFC 3597 generic form for most types).
 */
typedef int (*vg_cache_rdata_fmt)(void *f, uint16_t type, const uint8_t *rdata, size_t len,
				  void *arg);

/* vg_cache_dump limited to the entries of one name (`only`, wire, any case; NULL = all) and one
 * type (`only_type`, 0 = all; NS includes the name's delegation), answer-cache lines included,
 * with rdata written by `fmt` when given. Every RR line ends with where the data came from:
 *   "; rank=R sec=S (SECTION, iterated|forwarder|hints; ttl T, stored N s ago) [stale] [suspect]"
 * Returns 0, VG_ENOTFOUND when `only` was given and nothing matched, or an error. Thread-safe. */
int vg_cache_dump_select(struct vg_cache *c, void *f, uint32_t now, const uint8_t *only,
			 uint16_t only_type, vg_cache_rdata_fmt fmt, void *arg);

struct vg_cache_stats {
	uint64_t rrsets, negatives, answers; /* entries */
	uint64_t map_size, used_bytes;	     /* LMDB map and pages in use */
	uint64_t queued, dropped;	     /* writes waiting / dropped (full queue or map) */
	uint64_t queued_bytes; /* bytes held by data writes not yet committed (queue_max_bytes) */
	uint64_t committed, refused_rank; /* writes applied / refused by the rank rule */
	uint64_t evicted, evict_rounds;	  /* entries removed by eviction, eviction passes */
	uint64_t corrupt;		  /* values that failed validation (treated as misses) */
	uint64_t map_full; /* MDB_MAP_FULL seen by the writer (recovered by eviction) */
	uint64_t touches;  /* recency stamps rewritten (eviction's use signal) */
};

/* Fills *st. Thread-safe (opens its own read txn). Walks the rrset DB to split positive from
 * negative entries: O(entries), for management, not for a hot loop. */
int vg_cache_stats(struct vg_cache *c, struct vg_cache_stats *st);

#endif
