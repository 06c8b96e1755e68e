/* The one list of vigil's counters: each X-macro list below declares, one line per counter, its
 * name, kind and help text. The lists generate the counter structs (front end, resolver, upstream
 * transport), the stop log, `vigilctl stats` (text and JSON), /stats.json and /metrics
 * (daemon/http.c).
 *
 * Entry form: X(name, KIND, "help"). KIND is COUNTER (only grows) or GAUGE (goes up and down).
 * The name is the field name and, with the list's prefix (VG_STATS_PREFIX_*), the name in
 * `vigilctl stats`; front-end names have no prefix (tests and docs use them as they are). A
 * name with its prefix is unique over all lists (upstream_socket_cap is the upstream list's).
 * To add a counter, add one line to its list and increment it; nothing else needs to change. */
#ifndef VIGIL_STATS_H
#define VIGIL_STATS_H

#include <stdatomic.h>
#include <stdint.h>

enum vg_stat_kind { VG_STAT_COUNTER, VG_STAT_GAUGE };

/* Front end, per worker (daemon/daemon.h struct vg_stats: relaxed atomics). No prefix. */
#define VG_STATS_FRONTEND(X)                                                                       \
	X(udp_queries, COUNTER, "queries received over UDP")                                       \
	X(tcp_queries, COUNTER, "queries received over TCP")                                       \
	X(answers, COUNTER, "answers sent")                                                        \
	X(local, COUNTER, "answers from local data")                                               \
	X(cached, COUNTER, "answers from the answer cache")                                        \
	X(answer_cache_misses, COUNTER, "questions not in the answer cache (to the resolver)")     \
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
	X(dnssec_secure, COUNTER, "answers built from data DNSSEC proved secure")                  \
	X(dnssec_insecure, COUNTER, "answers built from data proved unsigned (insecure)")          \
	X(dnssec_indeterminate, COUNTER, "answers built without a verdict (no RRset to judge)")    \
	X(aggressive_answers, COUNTER,                                                             \
	  "answers made from cached validated NSEC/NSEC3 or NXDOMAIN, no query (RFC 8198/8020)")   \
	X(refused_rd0, COUNTER, "RD=0 questions the cache could not answer")                       \
	X(upstream_local_errors, COUNTER,                                                          \
	  "local errors sending upstream (EMFILE, ENETUNREACH...)")                                \
	X(upstream_unreachable, COUNTER, "upstream queries that reported an ICMP error")           \
	X(tcp_fallbacks, COUNTER, "questions asked again over TCP (TC=1, a 0x20 mismatch)")        \
	X(unwanted_id, COUNTER, "unwanted upstream messages: wrong ID")                            \
	X(unwanted_question, COUNTER, "unwanted upstream messages: wrong question")                \
	X(unwanted_case, COUNTER, "unwanted upstream messages: wrong 0x20 case")                   \
	X(unwanted_malformed, COUNTER, "unwanted upstream messages: not a parsable reply")         \
	X(unwanted_source, COUNTER,                                                                \
	  "unwanted upstream messages: wrong source (none with connected sockets)")                \
	X(unwanted_late, COUNTER, "datagrams after the answer, in the injection window")           \
	X(injection_held, COUNTER, "replies held for the injection window (injection-strict)")     \
	X(injection_held_retried, COUNTER,                                                         \
	  "held replies a second answer sent again over TCP (injection-strict)")                   \
	X(nxdomain_probes, COUNTER, "nxdomain-rewrite probes sent to forwarders")                  \
	X(nxdomain_probe_rounds, COUNTER, "probe rounds a forwarder answered (honest or not)")     \
	X(nxdomain_rewrites_learned, COUNTER, "probes that taught new NXDOMAIN rewrite addresses") \
	X(nxdomain_rewrites, COUNTER, "forwarder answers recognised as NXDOMAIN rewrites")         \
	X(xchecks, COUNTER, "answers cross-checked with a second server (servers-disagree)")       \
	X(xcheck_queries, COUNTER, "upstream queries sent for servers-disagree cross-checks")     \
	X(sub_requests, COUNTER,                                                                   \
	  "sub-requests started (NS addresses, DS/DNSKEY fetches, cross-checks)")                  \
	X(keytab_hits, COUNTER, "zone keys taken from the key table instead of the cache")

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
	X(evicted, COUNTER, "entries evicted to make room")                                        \
	X(queued, GAUGE, "writes waiting for the cache writer")                                    \
	X(committed, COUNTER, "writes the cache writer applied")                                   \
	X(dropped, COUNTER, "writes dropped: queue or map full")                                   \
	X(refused_rank, COUNTER, "writes refused: a live entry of equal or higher rank")           \
	X(map_full, COUNTER, "times the writer found the map full (recovered by eviction)")        \
	X(corrupt, COUNTER, "cache values that failed validation (treated as misses)")

/* Counters with a label: /metrics shows the lines of one group as one family with a label
 * (Prometheus conventions); `vigilctl stats` shows each as PREFIX + label value. Entry form:
 * X(id, value): id names the array slot (VG_QTYPE_A...), value the wire code. The last slot of
 * each group counts everything else ("other"). Front end, per worker. */
#define VG_STATS_QTYPES(X)                                                                         \
	X(A, 1)                                                                                    \
	X(NS, 2)                                                                                   \
	X(CNAME, 5) X(SOA, 6) X(PTR, 12) X(MX, 15) X(TXT, 16) X(AAAA, 28) X(SRV, 33) X(NAPTR, 35)  \
	    X(DS, 43) X(DNSKEY, 48) X(SVCB, 64) X(HTTPS, 65) X(ANY, 255)
#define VG_STATS_RCODES(X)                                                                         \
	X(NOERROR, 0) X(FORMERR, 1) X(SERVFAIL, 2) X(NXDOMAIN, 3) X(NOTIMP, 4) X(REFUSED, 5)
enum vg_stat_qtype {
#define VG_STAT_QTYPE_ENUM(id, v) VG_QTYPE_##id,
	VG_STATS_QTYPES(VG_STAT_QTYPE_ENUM)
#undef VG_STAT_QTYPE_ENUM
	    VG_QTYPE_OTHER,
	VG_QTYPE_N
};
enum vg_stat_rcode {
#define VG_STAT_RCODE_ENUM(id, v) VG_RCODE_STAT_##id,
	VG_STATS_RCODES(VG_STAT_RCODE_ENUM)
#undef VG_STAT_RCODE_ENUM
	    VG_RCODE_STAT_OTHER,
	VG_RCODE_STAT_N
};
static inline unsigned vg_stat_qtype_slot(uint16_t t)
{
	switch (t) {
#define VG_STAT_QTYPE_CASE(id, v)                                                                  \
	case v:                                                                                    \
		return VG_QTYPE_##id;
		VG_STATS_QTYPES(VG_STAT_QTYPE_CASE)
#undef VG_STAT_QTYPE_CASE
	default:
		return VG_QTYPE_OTHER;
	}
}
static inline unsigned vg_stat_rcode_slot(unsigned rcode)
{
	return rcode < VG_RCODE_STAT_OTHER ? rcode : VG_RCODE_STAT_OTHER;
}
/* The labelled groups: X(label, slots, family, help). LABEL_VALUE (qtype_A, rcode_NXDOMAIN) is
 * the name in `vigilctl stats`; /metrics shows vigil_FAMILY_total{LABEL="VALUE"}. The worker
 * field is LABEL_stats[slots]. */
#define VG_STATS_LABELLED(X)                                                                       \
	X(qtype, VG_QTYPE_N, "queries_by_qtype",                                                   \
	  "queries received with a question, by question type (\"other\": the less common)")       \
	X(rcode, VG_RCODE_STAT_N, "answers_by_rcode",                                              \
	  "answers sent, by response code (\"other\": the extended ones)")

/* Counters of the flat lists above that /metrics groups into one family with a label:
 * X(name with its prefix, family, label, value, family help). */
#define VG_STATS_FAMILIES(X)                                                                       \
	X("udp_queries", "queries", "transport", "udp", "queries received, by transport")          \
	X("tcp_queries", "queries", "transport", "tcp", "queries received, by transport")
/* The suspicious-answer counters (one per reason of vigil/suspect.h, "suspect_" + reason) are
 * the family suspicious_answers with the label reason. */

/* Histograms, per worker: X(name, help). Time in seconds on /metrics (_bucket{le}, _sum,
 * _count); `vigilctl stats` shows NAME_count, NAME_sum_us and NAME_le_BOUND (cumulative). */
#define VG_STATS_HISTOGRAMS(X)                                                                     \
	X(answer_latency, "time from receiving a query to sending its answer")                     \
	X(upstream_rtt, "round trip of upstream queries answered (UDP and TCP)")

/* Upper bounds of the buckets, in seconds (text, as /metrics prints them) and nanoseconds. */
#define VG_HIST_BOUNDS(X)                                                                          \
	X("0.0001", 100000)                                                                        \
	X("0.00025", 250000)                                                                       \
	X("0.0005", 500000) X("0.001", 1000000) X("0.0025", 2500000) X("0.005", 5000000)           \
	    X("0.01", 10000000) X("0.025", 25000000) X("0.05", 50000000) X("0.1", 100000000)       \
		X("0.25", 250000000) X("0.5", 500000000) X("1", 1000000000) X("2.5", 2500000000)   \
		    X("5", 5000000000) X("10", 10000000000)
#define VG_HIST_ONE(text, ns) +1
enum { VG_HIST_N = 0 VG_HIST_BOUNDS(VG_HIST_ONE) };

/* One histogram: count[i] holds the observations in bucket i alone (not cumulative; the last is
 * above every bound), sum_ns their total. One writer (its worker thread), any number of readers;
 * readers sum the buckets into the cumulative form, so count and +Inf agree by construction. */
struct vg_hist {
	atomic_uint_fast64_t count[VG_HIST_N + 1];
	atomic_uint_fast64_t sum_ns;
};

/* Adds n observations of ns nanoseconds. Only h's writer thread may call it: a relaxed load and
 * store instead of a locked add. */
static inline void vg_hist_add(struct vg_hist *h, uint64_t ns, uint64_t n)
{
#define VG_HIST_NS(text, ns) ns,
	static const uint64_t bound[VG_HIST_N] = {VG_HIST_BOUNDS(VG_HIST_NS)};
#undef VG_HIST_NS
	unsigned i = 0;
	while (i < VG_HIST_N && ns > bound[i])
		i++;
	atomic_store_explicit(&h->count[i],
			      atomic_load_explicit(&h->count[i], memory_order_relaxed) + n,
			      memory_order_relaxed);
	atomic_store_explicit(&h->sum_ns,
			      atomic_load_explicit(&h->sum_ns, memory_order_relaxed) + ns * n,
			      memory_order_relaxed);
}

/* Generators for the lists' users. */
#define VG_STAT_FIELD_U64(name, kind, help) uint64_t name;

#endif
