/* The query log (`query-log: FILE`): one JSON line per answered query. Workers copy a fixed-size
 * record into a bounded queue (a mutex and a memcpy, no allocation, no I/O); one writer thread
 * encodes the lines with jansson and writes them. A full queue or the rate limit drops records
 * and counts them. Format: docs/operations.md "Query log". */
#ifndef VIGIL_DAEMON_QUERYLOG_H
#define VIGIL_DAEMON_QUERYLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <vigil/addr.h>
#include <vigil/dns.h>
#include <vigil/stats.h>

#define VG_QLOG_QUEUE_MAX 4096 /* records waiting for the writer; more are dropped (counted) */
#define VG_QLOG_EDE_TEXT 96    /* bytes of EDE text kept (longer is cut) */

/* Where an answer came from. */
enum vg_qlog_source { VG_QLOG_LOCAL, VG_QLOG_CACHE, VG_QLOG_RESOLVER, VG_QLOG_STALE };

/* DNSSEC status as the answer shows it: AD set (secure), a DNSSEC EDE with SERVFAIL (bogus),
 * otherwise indeterminate (the answer says nothing either way). */
enum vg_qlog_dnssec { VG_QLOG_INDETERMINATE, VG_QLOG_SECURE, VG_QLOG_BOGUS };

/* One answered query: plain data, copied by value. */
struct vg_qlog_entry {
	int64_t time_ms; /* Unix time, milliseconds */
	struct vg_sockaddr client;
	uint8_t qname[256]; /* wire, as the client spelled it */
	uint16_t qtype;
	uint16_t rcode;
	bool ad, tc, tcp;
	uint8_t source; /* enum vg_qlog_source */
	uint8_t dnssec; /* enum vg_qlog_dnssec */
	uint16_t ede;	/* VG_EDE_NONE when none */
	char ede_text[VG_QLOG_EDE_TEXT];
	uint32_t latency_us;
	uint32_t reasons; /* suspicious-answer reasons, bit (1 << enum vg_suspect_reason) */
};

/* Counters of the query log (process-wide; `vigilctl stats` and /metrics). */
#define VG_STATS_PREFIX_QUERYLOG "query_log_"
#define VG_STATS_QUERYLOG(X)                                                                       \
	X(written, COUNTER, "query-log lines written")                                             \
	X(dropped_full, COUNTER, "query-log records dropped: the writer's queue was full")         \
	X(dropped_rate, COUNTER, "query-log records dropped by query-log-rate")
struct vg_querylog_stats {
	VG_STATS_QUERYLOG(VG_STAT_FIELD_U64)
};

struct vg_querylog;

/* Opens `path` for appending and starts the writer thread; `rate` is the most lines written per
 * second (0: no limit). 0, or -errno (message logged). Main thread. */
int vg_querylog_new(const char *path, uint32_t rate, struct vg_querylog **out);
/* Queues one record (copied), or drops and counts it (queue full, over the rate). Never blocks
 * on I/O. Any thread. */
void vg_querylog_push(struct vg_querylog *l, const struct vg_qlog_entry *e);
/* Asks the writer to reopen the file (logrotate). Any thread. */
int vg_querylog_reopen(struct vg_querylog *l);
/* Fills *st. Any thread; NULL l gives zeroes. */
void vg_querylog_stats(struct vg_querylog *l, struct vg_querylog_stats *st);
/* Writes what is queued, stops the writer, closes the file. NULL is a no-op. */
void vg_querylog_close(struct vg_querylog *l);

/* One record as a JSON object without newline (malloc'd; NULL without memory). Thread-safe. */
char *vg_querylog_encode(const struct vg_qlog_entry *e);

#endif
