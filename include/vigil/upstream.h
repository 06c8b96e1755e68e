/* The resolver -> network contract: how the resolver sends queries to authoritative servers and
 * forwarders, and reads time, without touching sockets or clocks itself.
 *
 * The daemon implements it with libuv (daemon/upstream.h: vg_upstream_new); unit tests implement
 * the same ops table with scripted replies and a fake clock. Everything here is used from one
 * worker's loop thread only (not thread-safe); one vg_upstream per worker. */
#ifndef VIGIL_UPSTREAM_H
#define VIGIL_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/addr.h>
#include <vigil/stats.h>

struct vg_upstream;
struct vg_upstream_query; /* one query in flight (opaque, owned by the implementation) */
struct vg_upstream_timer; /* one armed timer (opaque, owned by the implementation) */

/* Outcome of one upstream query, passed to vg_upstream_reply_cb. */
enum vg_upstream_status {
	VG_UP_REPLY =
	    0, /* `reply` holds a reply that matched address, port, ID and question bytes */
	VG_UP_TIMEOUT = 1, /* no matching reply within timeout_ms */
	VG_UP_ERROR = 2,   /* TCP connection refused or reset, or closed before the reply */
	VG_UP_CASE = 3,	   /* a reply differing only in the letter case of the name (0x20) came
			    * first: nothing delivered; ask again over TCP, where off-path forgery
			    * is not possible and case does not matter */
	/* Not final: an ICMP error (port, host or network unreachable...) was reported on the
	 * query's UDP socket. The query goes on waiting for a reply until its timeout — an ICMP
	 * error is as easy to forge off-path as it is to lose (TuDoor) — and the callback is
	 * called again with the final status. Delivered at most once per query. */
	VG_UP_UNREACHABLE = 4,
};

/* Why a datagram (or TCP message) that reached an outstanding query did not answer it. */
enum vg_upstream_unwanted_kind {
	VG_UNWANTED_ID = 0,	  /* a different ID */
	VG_UNWANTED_QUESTION = 1, /* a different question (name, type, class) or QDCOUNT != 1 */
	VG_UNWANTED_CASE = 2,	  /* the question but for the letter case of the name (0x20, UDP) */
	VG_UNWANTED_MALFORMED = 3, /* not a DNS reply: too short, QR clear, or records that do not
				    * parse although ID and question match */
	VG_UNWANTED_SOURCE = 4,	   /* from another address or port than the server's */
	VG_UNWANTED_LATE = 5,	   /* after the query was answered, on a socket still open */
	VG_UNWANTED_N_KINDS
};

/* One unwanted message, reported to the query it arrived for (vg_upstream_req.unwanted). The
 * daemon's transport uses connected UDP sockets: the kernel drops datagrams from other sources
 * before vigil sees them (docs/architecture.md "Wrong source"), so it never reports
 * VG_UNWANTED_SOURCE; a transport that can see other sources reports them with that kind. Late
 * messages (VG_UNWANTED_LATE) arrive after the query ended and go to vg_upstream_req.late. */
struct vg_upstream_unwanted {
	enum vg_upstream_unwanted_kind kind;
	struct vg_sockaddr from; /* who sent it (address and port) */
	bool tcp;		 /* arrived on the query's TCP connection */
	const uint8_t *msg;	 /* the message, valid only during the call */
	size_t len;
};

/* Called with the ctx given to send, zero or more times before the query's final callback (never
 * after it, never from inside send). Only a record: the query goes on as the contract of
 * vg_upstream_reply_cb says. It may cancel the query. */
typedef void (*vg_upstream_unwanted_cb)(void *ctx, const struct vg_upstream_unwanted *u);

/* The verdict of vg_upstream_match on one received message. */
enum vg_upstream_match {
	VG_MATCH_OK = 0,
	VG_MATCH_SHORT = 1,	/* not a DNS message (shorter than a header + question) */
	VG_MATCH_NOT_REPLY = 2, /* QR bit clear */
	VG_MATCH_ID = 3,	/* different ID */
	VG_MATCH_QUESTION = 4,	/* different question (name, type or class), or QDCOUNT != 1 */
	VG_MATCH_CASE = 5,	/* same question except for the letter case of the name (0x20) */
	VG_MATCH_MALFORMED = 6, /* ID and question match, TC is clear, but the records do not
				 * parse: a server bug or a forgery; the real reply may come */
};

/* A datagram that reached a UDP query's socket after the query was answered, while the socket
 * lingered (vg_upstream_req.linger_ms). The query and its handle are gone: this carries the
 * query's identity. Every pointer is valid only during the call. */
struct vg_upstream_late {
	const struct vg_sockaddr *server; /* the server the query went to */
	const uint8_t *query;		  /* the query as sent (ID, 0x20 case of the name) */
	size_t query_len;
	const uint8_t *accepted; /* the reply that answered the query */
	size_t accepted_len;
	/* vg_upstream_match of the late message against the query: VG_MATCH_OK is a second
	 * reply with the right ID and question (an on-path injection sign when it differs) */
	enum vg_upstream_match match;
	struct vg_upstream_unwanted msg; /* kind VG_UNWANTED_LATE: source, transport, bytes */
};

/* Receives late messages; late_ctx is not a query's ctx but one that outlives every lingering
 * socket (the resolver), since the query may be long gone. */
typedef void (*vg_upstream_late_cb)(void *late_ctx, const struct vg_upstream_late *l);

/* What the resolver asks the transport to send. The packet is complete: the resolver has already
 * chosen the ID (from ops->random, a CSPRNG in the daemon), the 0x20 case of the name and the OPT.
 * The transport copies `wire`; it does not change it. */
struct vg_upstream_req {
	const struct vg_sockaddr *server; /* address and port to query */
	const uint8_t *wire;		  /* the query message */
	size_t len;
	bool tcp;	     /* send over TCP (after TC=1, or for large answers) */
	uint32_t timeout_ms; /* total time allowed for this query */
	/* Optional (NULL = not told): every message that reached this query without answering it,
	 * called with send's ctx. */
	vg_upstream_unwanted_cb unwanted;
	/* Optional (0 or NULL = off): after a matching UDP reply, keep the socket open this many
	 * ms (injection-window) and hand every datagram it receives to late(late_ctx, ...). The
	 * reply is delivered at once; a lingering socket counts against the transport's socket
	 * cap and is the first to be closed when a new query needs room. late_ctx must stay
	 * valid until the transport is closed. */
	uint32_t linger_ms;
	vg_upstream_late_cb late;
	void *late_ctx;
};

/* Called exactly once per query that ops->send accepted with a final status (never from inside
 * send), unless the query was cancelled first; before that, at most once with the notice
 * VG_UP_UNREACHABLE (the handle stays valid). `reply` is valid only during the call. rtt_ms is
 * the measured round trip (monotonic clock) for VG_UP_REPLY. Non-matching datagrams never reach
 * the callback, nor do matching ones that are not well-formed DNS messages (VG_MATCH_MALFORMED):
 * the transport counts them (unsolicited), reports each to req->unwanted, and keeps waiting
 * until the match or the timeout —
 * except a UDP reply whose question differs only in case, which ends the query with VG_UP_CASE
 * (also counted). Over TCP a case-only difference is accepted: the connection already proves the
 * origin. */
typedef void (*vg_upstream_reply_cb)(void *ctx, enum vg_upstream_status st, const uint8_t *reply,
				     size_t len, uint32_t rtt_ms);

typedef void (*vg_upstream_timer_cb)(void *ctx);

/* The operations a transport provides. Each takes the vg_upstream it belongs to. */
struct vg_upstream_ops {
	/* Sends req; on success returns 0 and *out, a handle valid until the callback ran with a
	 * final status or cancel was called. A negative code means nothing was sent and cb will
	 * not be called: a local error (socket, bind, connect or send failed, e.g. ENETUNREACH,
	 * EADDRNOTAVAIL, EMFILE, ENOBUFS), or VG_ELIMIT: the transport's own cap on open sockets
	 * (max-upstream-sockets) was reached. Neither says anything about the server. */
	int (*send)(struct vg_upstream *up, const struct vg_upstream_req *req,
		    vg_upstream_reply_cb cb, void *ctx, struct vg_upstream_query **out);
	/* Abandons a query: its callback will not be called; the handle is invalid afterwards. */
	void (*cancel)(struct vg_upstream *up, struct vg_upstream_query *q);
	/* One-shot timer firing after `ms` (monotonic). Same handle rules as send/cancel. */
	int (*timer_start)(struct vg_upstream *up, uint64_t ms, vg_upstream_timer_cb cb, void *ctx,
			   struct vg_upstream_timer **out);
	void (*timer_stop)(struct vg_upstream *up, struct vg_upstream_timer *t);
	/* Monotonic milliseconds (the loop's time): timeouts, RTT, hold-downs, rate limits. */
	uint64_t (*now_ms)(struct vg_upstream *up);
	/* Wall clock, CLOCK_REALTIME seconds, read once per loop pass: TTLs, cache stamps,
	 * signature validity (the cache outlives reboots; a scenario harness may fake this clock).
	 */
	int64_t (*wall_now)(struct vg_upstream *up);
	/* Fills buf with unpredictable bytes (query IDs, 0x20 case, exploration). The daemon uses
	 * getrandom(); tests may use a fixed sequence. */
	void (*random)(struct vg_upstream *up, void *buf, size_t len);
};

/* Counters a transport keeps (read-only for others; for stats and tests), one field per line of
 * VG_STATS_UPSTREAM in vigil/stats.h. */
struct vg_upstream_stats {
	VG_STATS_UPSTREAM(VG_STAT_FIELD_U64)
};

/* The head every implementation starts with. `ops` is set by the implementation. */
struct vg_upstream {
	const struct vg_upstream_ops *ops;
	struct vg_upstream_stats stats;
};

/* Convenience wrappers (header-only, so the resolver and tests read the same way). */
static inline uint64_t vg_upstream_now_ms(struct vg_upstream *up)
{
	return up->ops->now_ms(up);
}
static inline int64_t vg_upstream_wall_now(struct vg_upstream *up)
{
	return up->ops->wall_now(up);
}

/* Compares a received message with the query it may answer: ID, QR, QDCOUNT = 1 and the exact
 * question bytes (name case included, so 0x20 is checked); a match must also parse as a whole
 * (the resolver's parser, without storing anything). Address and port are the transport's
 * job (connected sockets). Pure function, thread-safe; implemented in resolver/wire.c so every
 * transport and the tests use the same rule. */
enum vg_upstream_match vg_upstream_match(const uint8_t *query, size_t qlen, const uint8_t *reply,
					 size_t rlen);

/* The kind of unwanted message a vg_upstream_match verdict other than VG_MATCH_OK means. */
static inline enum vg_upstream_unwanted_kind vg_upstream_unwanted_kind_of(enum vg_upstream_match m)
{
	switch (m) {
	case VG_MATCH_ID:
		return VG_UNWANTED_ID;
	case VG_MATCH_QUESTION:
		return VG_UNWANTED_QUESTION;
	case VG_MATCH_CASE:
		return VG_UNWANTED_CASE;
	default: /* short, QR clear, malformed */
		return VG_UNWANTED_MALFORMED;
	}
}

#endif
