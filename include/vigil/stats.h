/* The one list of vigil's counters: each X-macro list below declares, one line per counter, its
 * name, kind and help text. The lists generate the counter structs (front end, resolver, upstream
 * transport), the stop log, `vigilctl stats` (text and JSON) and, later, the /metrics page.
 *
 * Entry form: X(name, KIND, "help"). KIND is COUNTER (only grows) or GAUGE (goes up and down).
 * The name is the field name and, with the list's prefix (VG_STATS_PREFIX_*), the name in
 * `vigilctl stats`; front-end names have no prefix (tests and docs use them as they are). A
 * name with its prefix is unique over all lists (upstream_socket_cap is the upstream list's).
 * To add a counter, add one line to its list and increment it; nothing else needs to change. */
#ifndef VIGIL_STATS_H
#define VIGIL_STATS_H

#include <stdint.h>

enum vg_stat_kind { VG_STAT_COUNTER, VG_STAT_GAUGE };

/* Front end, per worker (daemon/daemon.h struct vg_stats: relaxed atomics). No prefix. */
#define VG_STATS_FRONTEND(X)                                                                       \
	X(udp_queries, COUNTER, "queries received over UDP")                                       \
	X(tcp_queries, COUNTER, "queries received over TCP")                                       \
	X(answers, COUNTER, "answers sent")                                                        \
	X(local, COUNTER, "answers from local data")                                               \
	X(cached, COUNTER, "answers from the answer cache")                                        \
	X(prefetch, COUNTER, "background refreshes started by a cache hit near its TTL's end")     \
	X(resolved, COUNTER, "answers from the resolver")                                          \
	X(servfail, COUNTER, "SERVFAIL answers from the resolver")                                 \
	X(any_minimal, COUNTER, "qtype ANY answered with one RRset or HINFO (RFC 8482)")           \
	X(truncated, COUNTER, "UDP answers cut with TC=1")                                         \
	X(dropped, COUNTER, "queries dropped unanswered (short, QR=1, oversized)")                 \
	X(refused_acl, COUNTER, "queries refused by the ACL")                                      \
	X(ratelimited, COUNTER, "UDP queries over rate-limit")                                     \
	X(formerr, COUNTER, "FORMERR answers")                                                     \
	X(notimp, COUNTER, "NOTIMP answers")                                                       \
	X(badvers, COUNTER, "BADVERS answers (EDNS version > 0)")                                  \
	X(refused, COUNTER, "REFUSED answers other than the ACL's (class, zone transfers)")        \
	X(tcp_accepted, COUNTER, "TCP connections accepted")                                       \
	X(tcp_idle_closed, COUNTER, "TCP connections closed after tcp-idle-timeout")               \
	X(tcp_evicted, COUNTER, "idle TCP connections closed for a new one at tcp-max-clients")    \
	X(tcp_refused, COUNTER, "TCP connections closed at once at tcp-max-clients")               \
	X(tcp_bad_frame, COUNTER, "TCP connections closed on a broken frame")                      \
	X(send_errors, COUNTER, "answers the kernel refused to send")                              \
	X(over_max_requests, COUNTER, "queries refused at max-requests")                           \
	X(over_max_pending, COUNTER, "queries refused at max-pending-per-client")                  \
	X(late_discarded, COUNTER, "UDP answers later than discard-timeout not sent")

/* Resolver, per worker (struct vg_resolver_stats; the worker publishes them once per loop pass). */
#define VG_STATS_PREFIX_RESOLVER "resolver_"
#define VG_STATS_RESOLVER(X)                                                                       \
	X(requests, COUNTER, "client and background requests started")                             \
	X(joined, COUNTER, "requests that joined an identical one in flight")                      \
	X(cache_answers, COUNTER, "requests answered from the rrset cache")                        \
	X(upstream_sent, COUNTER, "upstream queries sent")                                         \
	X(upstream_joined, COUNTER, "upstream queries joined to one in flight")                    \
	X(servfail, COUNTER, "requests that ended in SERVFAIL")                                    \
	X(stale_served, COUNTER, "stale answers served")                                           \
	X(prefetches, COUNTER, "prefetch requests")                                                \
	X(primings, COUNTER, "root primings")                                                      \
	X(limit_hits, COUNTER, "requests stopped by a limit")                                      \
	X(dnssec_bogus, COUNTER, "replies DNSSEC validation found bogus (SERVFAIL)")               \
	X(refused_rd0, COUNTER, "RD=0 questions the cache could not answer")                       \
	X(upstream_local_errors, COUNTER,                                                          \
	  "local errors sending upstream (EMFILE, ENETUNREACH...)")                                \
	X(upstream_unreachable, COUNTER, "upstream queries that reported an ICMP error")           \
	X(unwanted_id, COUNTER, "unwanted upstream messages: wrong ID")                            \
	X(unwanted_question, COUNTER, "unwanted upstream messages: wrong question")                \
	X(unwanted_case, COUNTER, "unwanted upstream messages: wrong 0x20 case")                   \
	X(unwanted_malformed, COUNTER, "unwanted upstream messages: not a parsable reply")         \
	X(unwanted_source, COUNTER,                                                                \
	  "unwanted upstream messages: wrong source (none with connected sockets)")                \
	X(unwanted_late, COUNTER, "datagrams after the answer, in the injection window")

/* Upstream transport, per worker (include/vigil/upstream.h struct vg_upstream_stats). */
#define VG_STATS_PREFIX_UPSTREAM "upstream_"
#define VG_STATS_UPSTREAM(X)                                                                       \
	X(sent_udp, COUNTER, "upstream queries sent over UDP")                                     \
	X(sent_tcp, COUNTER, "upstream queries sent over TCP")                                     \
	X(replies, COUNTER, "matched upstream replies delivered")                                  \
	X(unsolicited, COUNTER, "datagrams ignored: wrong source, ID, question bytes or case")     \
	X(timeouts, COUNTER, "upstream queries that timed out")                                    \
	X(errors, COUNTER, "upstream TCP connections refused or reset")                            \
	X(icmp_errors, COUNTER, "ICMP errors reported on upstream UDP sockets")                    \
	X(socket_cap, COUNTER, "upstream sends refused at max-upstream-sockets")                   \
	X(late, COUNTER, "datagrams on lingering sockets after the reply (injection-window)")      \
	X(linger_closed, COUNTER, "lingering sockets closed early to make room for a query")

/* Suspicious-answer reasons (daemon/, issue 9): one line per reason goes here as
 * VG_STATS_SUSPECT(X) with prefix "suspect_", and one X-list line in daemon/stats.c. */

/* Cache, process-wide (include/vigil/cache.h struct vg_cache_stats, read on demand). */
#define VG_STATS_PREFIX_CACHE "cache_"
#define VG_STATS_CACHE(X)                                                                          \
	X(rrsets, GAUGE, "RRsets in the cache")                                                    \
	X(negatives, GAUGE, "negative entries in the cache")                                       \
	X(answers, GAUGE, "answers in the answer cache")                                           \
	X(map_size, GAUGE, "LMDB map size in bytes")                                               \
	X(used_bytes, GAUGE, "bytes of the map in use")                                            \
	X(evicted, COUNTER, "entries evicted to make room")

/* Generators for the lists' users. */
#define VG_STAT_FIELD_U64(name, kind, help) uint64_t name;

#endif
