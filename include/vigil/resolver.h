/* The daemon -> resolver contract: one resolver per worker thread answers questions the front end
 * could not answer locally or from the answer cache. */
#ifndef VIGIL_RESOLVER_H
#define VIGIL_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/addr.h>
#include <vigil/dns.h> /* VG_EDE_NONE */
#include <vigil/stats.h>

struct vg_config;
struct vg_cache;
struct vg_upstream;
struct vg_hijack_opts;
struct vg_suspect_sink;

/* A client's question as the front end parsed it. All pointers are borrowed for the duration of
 * the vg_resolver_resolve call only; the resolver copies what it keeps. */
struct vg_question {
	const uint8_t
	    *qname; /* uncompressed wire name, as the client spelled it (0x20 case kept) */
	size_t qname_len;
	uint16_t qtype, qclass;
	bool do_bit; /* client set DO in its OPT */
	bool cd_bit; /* client set CD */
	bool rd_bit; /* client set RD */
	bool has_edns;
	const struct vg_sockaddr *client;
};

/* The resolver's result: a complete DNS message without OPT record. Its ID is 0 and its question
 * is the client's (spelling kept); flags QR/RA/AD/rcode are set. The front end writes the ID, adds
 * the OPT (with the EDE option when ede != VG_EDE_NONE) and truncates to the client's size.
 * `wire` is valid only during the callback. At most VG_ANSWER_MAX bytes, so the OPT still fits a
 * DNS message: an answer that does not fit is cut at an RRset boundary with TC=1 (and is not
 * cached); the front end sends it so over UDP and answers SERVFAIL over TCP, where TC has no
 * meaning. */
#define VG_ANSWER_MAX (65535 - 512)
struct vg_answer {
	const uint8_t *wire;
	size_t len;
	uint16_t ede;	      /* RFC 8914 info-code or VG_EDE_NONE */
	const char *ede_text; /* NUL-terminated extra text or NULL */
};

/* Called exactly once per vg_resolver_resolve that returned 0, on the worker's loop thread,
 * possibly before vg_resolver_resolve returns (cache hit or local answer). `ctx` must stay valid
 * until then; on vg_resolver_close every pending request completes with SERVFAIL first. */
typedef void (*vg_resolve_cb)(void *ctx, const struct vg_answer *ans);

/* What a resolver needs from its worker. Borrowed; must outlive the resolver. */
struct vg_resolver_env {
	const struct vg_config *cfg;
	struct vg_cache *cache;	      /* may be NULL (no cache) */
	struct vg_upstream *upstream; /* the daemon's upstream layer (sockets, timers, clocks) */
	int worker_id;
	const struct vg_hijack_opts *hijack;   /* NULL: no hijack checks */
	const struct vg_suspect_sink *suspect; /* NULL: findings are not reported */
};

struct vg_resolver;

/* Creates a resolver for one worker. Returns 0 and *out, or a negative code. Not thread-safe:
 * a resolver is used only from its worker's loop thread. */
int vg_resolver_new(const struct vg_resolver_env *env, struct vg_resolver **out);

/* Starts answering `q`. Returns 0 (cb will be called exactly once) or a negative code (cb is not
 * called; the front end answers SERVFAIL itself). */
int vg_resolver_resolve(struct vg_resolver *r, const struct vg_question *q, vg_resolve_cb cb,
			void *ctx);

/* Refreshes (qname, qtype) in the background, without a client, when `prefetch: yes`: for the
 * front end's answer-cache hits flagged VG_CACHE_PREFETCH (last 10% of the TTL). A refresh
 * already in flight is not started twice. Returns 0, VG_EREFUSED (prefetch off), VG_EFORMAT,
 * VG_ELIMIT (already running or no memory). Loop thread only. */
int vg_resolver_prefetch(struct vg_resolver *r, const uint8_t *qname, size_t qname_len,
			 uint16_t qtype);

/* The resolver's counters, one field per line of VG_STATS_RESOLVER in vigil/stats.h. */
struct vg_resolver_stats {
	VG_STATS_RESOLVER(VG_STAT_FIELD_U64)
};
/* The resolver's counters; the pointer lives as long as r. Worker thread only: other threads
 * read the copy the worker publishes (daemon/daemon.h). */
const struct vg_resolver_stats *vg_resolver_stats(const struct vg_resolver *r);

/* Completes every pending request with SERVFAIL and frees the resolver. */
void vg_resolver_close(struct vg_resolver *r);

#endif
