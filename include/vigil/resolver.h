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
#include <vigil/suspect.h>

struct vg_cache;
struct vg_upstream;
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
	bool ad_bit; /* client set AD: it wants AD on secure answers even without DO */
	bool rd_bit; /* client set RD */
	bool has_edns;
	const struct vg_sockaddr *client;
};

#define VG_ROOT_HINTS_MAX (1 << 20) /* bytes of a root-hints file that are read */

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

/* forward-zone: "ZONE ADDR [ADDR...]"; zone "." is the same as `forward:`. */
struct vg_forward_zone {
	uint8_t zone[256]; /* wire format, lowercase */
	struct vg_sockaddr *addrs;
	size_t n_addrs;
};

/* Which servers may be queried and from which source addresses. The resolver applies the
 * families and query-local-addresses; the transport (daemon/upstream.c) binds `outgoing`. */
struct vg_addr_policy {
	bool do_ip4, do_ip6;
	bool query_local_addresses; /* allow loopback, private, link-local... server addresses */
	const struct vg_sockaddr *outgoing; /* source addresses (port 0), at most one per family */
	size_t n_outgoing;
};

/* The resolver's options (and its transport's), in the spirit of Knot's kr_context options:
 * the resolver never reads the daemon's configuration. Start from vg_resolver_opts_default()
 * and change what differs; the daemon fills them from its config (daemon/opts.c), so a new
 * option is a field here, its default in vg_resolver_opts_default, and one line there.
 *
 * Lifetime and reload: vg_resolver_new and vg_upstream_new copy the struct; the arrays and
 * strings it points to are borrowed and must outlive the resolver (the daemon points into the
 * worker's boot configuration). A reload (SIGHUP) changes none of these options: a worker builds
 * its resolver and transport once, from the configuration it was started with; a reload swaps
 * only the worker's front-end policy (ACL, local data, rate limit, listeners, EDNS size,
 * max-requests admission). Changing them takes a restart. */
struct vg_resolver_opts {
	/* where iteration starts */
	const char *root_hints;	     /* file; NULL = built in */
	const char *root_hints_text; /* its contents when already read; preferred over the file */
	/* forwarding: all questions (`forward:`), or below a zone (forward-zone:) */
	const struct vg_sockaddr *forward;
	size_t n_forward;
	const struct vg_forward_zone *forward_zones;
	size_t n_forward_zones;
	struct vg_addr_policy addr;
	/* behaviour */
	bool qname_minimisation;
	bool case_randomisation;
	bool prefetch;
	uint32_t serve_stale_max; /* seconds past expiry that may be served stale, 0 = off */
	/* TTL clamps applied to what is stored (seconds; a maximum of 0 = no clamp of our own) */
	uint32_t cache_min_ttl, cache_max_ttl, cache_max_negative_ttl;
	/* limits (docs/configuration.md) */
	uint32_t max_upstream_queries; /* per client request (NXNS bound) */
	uint32_t max_glueless_per_referral;
	uint32_t max_cname_chain;
	uint32_t max_referral_depth;
	uint32_t request_timeout_ms;   /* lifetime of one client request */
	uint32_t max_requests;	       /* per worker: sizes the memory of requests in flight */
	uint32_t max_upstream_sockets; /* per worker, enforced by the transport; 0 = no cap */
	/* injection-window: ms a UDP query's socket stays open after its reply to see a second
	 * one (second-answer, late replies); 0 = off. Lingering sockets count against
	 * max_upstream_sockets. */
	uint32_t injection_window_ms;
	/* injection-strict: a UDP reply that answers a client's question is held for the window
	 * before it is used; a second, different reply in that time sends the question again over
	 * TCP and the client gets what TCP says. Adds the window to every such miss. */
	bool injection_strict;
	/* hijack detection (docs/suspicious-log.md); the private-domain array is borrowed */
	struct vg_hijack_opts hijack;
	/* DNSSEC validation (docs/configuration.md "DNSSEC validation"); the arrays are borrowed */
	struct vg_dnssec_opts {
		bool enabled;			 /* dnssec: (default yes) */
		const char *const *anchor_names; /* trust-anchor-file: names, for messages */
		const char *const *anchor_texts; /* their contents, already read */
		size_t n_anchors;		 /* 0: the built-in root anchors */
		const uint8_t (*nta)[256];	 /* negative-trust-anchor: wire, lowercase */
		size_t n_nta;
		uint32_t nsec3_max_iterations; /* above: insecure, EDE 27; at most 150 */
		/* aggressive-nsec: (default yes): answers from cached validated NSEC/NSEC3 and
		 * NXDOMAIN without asking (RFC 8198, RFC 8020) */
		bool aggressive_nsec;
	} dnssec;
};

/* Fills `o` with the built-in defaults (the same as the daemon's config defaults: qname
 * minimisation, 0x20, IPv4 and IPv6, prefetch, serve-stale one day, the limits of
 * docs/configuration.md; no forwarding, built-in root hints). Thread-safe. */
void vg_resolver_opts_default(struct vg_resolver_opts *o);

/* What a resolver needs from its worker. Borrowed; must outlive the resolver. */
struct vg_resolver_env {
	const struct vg_resolver_opts *opts; /* copied by vg_resolver_new */
	struct vg_cache *cache;		     /* may be NULL (no cache) */
	struct vg_upstream *upstream; /* the daemon's upstream layer (sockets, timers, clocks) */
	int worker_id;
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

/* Completes every pending request with SERVFAIL and frees the resolver. The transport may
 * still hold lingering sockets (injection_window_ms) whose late callback takes r: close the
 * transport before its loop runs again (the daemon's worker closes both in one go). */
void vg_resolver_close(struct vg_resolver *r);

#endif
