/* vigild internals shared by main.c, worker.c, udp.c, tcp.c and logging.c: the policy snapshot,
 * workers, listeners and per-worker counters.
 *
 * Threads: the main thread owns struct vg_daemon; each worker thread owns its struct vg_worker and
 * everything hanging off it (loop, listeners, connections, resolver, rate limiter). The only
 * cross-thread traffic is the mailbox (mutex + uv_async, never touched on the query path) and the
 * counters (relaxed atomics, read by the main thread for stats). */
#ifndef VIGIL_DAEMON_DAEMON_H
#define VIGIL_DAEMON_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <uv.h>
#include <vigil/addr.h>
#include <vigil/config.h>
#include <vigil/log.h>
#include <vigil/suspect.h>
#include <vigil/stats.h>
#include "query.h"
#include "ratelimit.h"

struct vg_acl;
struct vg_localdata;
struct vg_cache;
struct vg_cache_reader;
struct vg_resolver;
struct vg_upstream;

/* Everything reloadable, immutable once built: workers hold a reference and swap to a new
 * snapshot on SIGHUP between two batches. Freed when the last reference goes. */
struct vg_policy {
	atomic_int refs;
	struct vg_config cfg;
	struct vg_acl *acl;
	struct vg_localdata *ld;
	struct vg_acl *trusted; /* `allow: PREFIX trusted` ranges; NULL when there are none */
};

/* Takes ownership of *cfg (left zeroed) and builds the ACL and local data. On error returns
 * VG_ECONFIG/-ENOMEM with a message in err and frees cfg. */
int vg_policy_new(struct vg_config *cfg, struct vg_policy **out, char *err, size_t errlen);
struct vg_policy *vg_policy_ref(struct vg_policy *p);
void vg_policy_unref(struct vg_policy *p);

/* Listening sockets of one address for one worker, created and bound by the main thread. */
struct vg_listen_fds {
	struct vg_sockaddr addr;
	int udp_fd, tcp_fd; /* -1 in a reload plan: keep the worker's existing sockets for addr */
};

/* Per-worker counters, one field per line of the lists in vigil/stats.h; written by the worker,
 * read (approximately) by the main thread. The front-end counters are incremented in place; the
 * resolver's and the upstream transport's are plain fields of single-threaded objects, copied here
 * by the worker once per loop pass (vg_worker_publish_stats), so a reader sees them at most one
 * loop pass old and the query path pays no atomic for them. */
#define VG_STAT_ATOMIC(name, kind, help) atomic_uint_fast64_t name;
struct vg_stats {
	VG_STATS_FRONTEND(VG_STAT_ATOMIC)
};
struct vg_resolver_stats_pub {
	VG_STATS_RESOLVER(VG_STAT_ATOMIC)
};
struct vg_upstream_stats_pub {
	VG_STATS_UPSTREAM(VG_STAT_ATOMIC)
};
/* The histograms of VG_STATS_HISTOGRAMS, one field each. */
#define VG_STAT_HIST(name, help) struct vg_hist name;
struct vg_hists {
	VG_STATS_HISTOGRAMS(VG_STAT_HIST)
};
/* Increment of a counter only its worker writes (qtype, rcode): relaxed load + store. */
#define VG_STAT_BUMP(a)                                                                            \
	atomic_store_explicit(&(a), atomic_load_explicit(&(a), memory_order_relaxed) + 1,          \
			      memory_order_relaxed)
#define VG_STAT_ADD(w, field, n)                                                                   \
	atomic_fetch_add_explicit(&(w)->stats.field, (n), memory_order_relaxed)

struct vg_udp;
struct vg_tcp_listener;
struct vg_tcp_conn;
struct vg_client_req;

/* The address a UDP query was sent to, read from IP_PKTINFO / IPV6_PKTINFO on a wildcard
 * listener (0.0.0.0, ::) so that the reply leaves from it: a client drops a reply from another
 * address. family 0: not known (a listener on one address needs none). */
struct vg_udp_dst {
	sa_family_t family;
	unsigned ifindex; /* the receiving interface; used for IPv6 link-local sources only */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
};

/* Where an answer goes: a UDP listener and client address, or a TCP connection. */
struct vg_reply_to {
	struct vg_udp *udp;	  /* UDP: the listener the query came in on */
	struct vg_tcp_conn *conn; /* TCP: the connection (referenced while a request holds it) */
	struct vg_sockaddr client;
	struct vg_udp_dst dst; /* UDP on a wildcard listener: the address the query went to */
};

struct vg_worker {
	int id;
	pthread_t thread;
	uv_loop_t loop;
	uv_async_t wake;       /* mailbox doorbell */
	uv_check_t flush;      /* flushes the UDP send queues once per loop pass */
	uv_timer_t stop_timer; /* bounds the wait for answers in flight at stop */
	uv_timer_t trim_timer; /* one-shot: a post-burst trim deferred by TRIM_EVERY_MS */
	struct vg_daemon *d;

	struct vg_policy *policy; /* current snapshot (ACL, local data, limits) */
	struct vg_policy
	    *boot_policy; /* the config the resolver was built with (kept to the end) */
	struct vg_ratelimit rl;
	struct vg_resolver *resolver;
	struct vg_upstream *upstream;
	struct vg_cache_reader *cache_rd; /* NULL without a cache */
	bool cache_open_txn;		  /* a read snapshot is open for the current batch */
	uint32_t now_wall;		  /* wall clock, read once per loop pass */

	struct vg_udp **udp;
	size_t n_udp;
	struct vg_tcp_listener **tcp;
	size_t n_tcp;
	struct vg_tcp_conn *conn_head, *conn_tail; /* least recently active first */
	size_t n_conns;
	struct vg_client_req *free_reqs; /* request contexts for the resolver, reused */
	size_t inflight;		 /* resolver requests not yet answered */
	size_t inflight_peak;		 /* most in flight since the last trim (trim_after_burst) */
	uint64_t trimmed_at;		 /* uv_now of that trim, 0 before the first */
	bool stopping;

	/* mailbox, protected by mu: written by the main thread, read by the worker */
	pthread_mutex_t mu;
	struct vg_policy *mail_policy;
	struct vg_listen_fds *mail_listen;
	size_t mail_n_listen;
	bool mail_stop;

	struct vg_stats stats;
	struct vg_resolver_stats_pub resolver_stats;
	struct vg_upstream_stats_pub upstream_stats;
	atomic_uint_fast64_t qtype_stats[VG_QTYPE_N];	   /* queries answered, by qtype */
	atomic_uint_fast64_t rcode_stats[VG_RCODE_STAT_N]; /* answers sent, by rcode */
	struct vg_hists hist;
	/* Answer latency of the answers given while handling a batch (local data, cache, errors):
	 * they share the batch's receive time and are observed together once the batch is sent
	 * (two clock reads per batch, none per answer). */
	uint64_t batch_ns;   /* uv_hrtime() when the batch was received; 0: none open */
	uint32_t batch_sync; /* answers given for the current batch */
	bool in_async;	     /* inside a resolver callback: the answer is timed on its own */
	uint64_t async_ns;   /* that answer's latency */
	struct vg_suspect_sink suspect_sink; /* forwards to d->suspect, notes reasons for the
					      * query log (worker.c) */
	struct vg_suspect_note {
		uint64_t hash;	  /* of qname (lowercase) and qtype */
		uint64_t at;	  /* loop time, ms */
		uint32_t reasons; /* bit per enum vg_suspect_reason */
	} suspect_notes[8];
	unsigned suspect_note_next;
	uint8_t scratch[65535 + 2]; /* one response under construction (TCP, async answers) */
};

struct vg_daemon {
	struct vg_policy *policy; /* current snapshot (main thread's reference) */
	struct vg_cache *cache;
	struct vg_worker *workers;
	int n_workers;
	bool foreground;
	const char *config_path;
	time_t started_at;
	struct vg_control *control;	/* NULL without control-socket */
	struct vg_pending *pending;	/* max-pending-per-client counters; NULL: not counted */
	struct vg_suspect_log *suspect; /* suspicious-answer log (counts even without a file) */
	struct vg_querylog *qlog;	/* query-log; NULL when off */
	struct vg_http *http;		/* http-listen server; NULL when off */
	uv_loop_t loop;			/* main thread: signals, control socket */
};

/* ---- main.c ---- */
/* Re-reads the config file and applies it (listeners, ACL, local data, limits, log level).
 * On error keeps everything as it was, logs and returns <0 with the reason in err. Main thread. */
int vg_daemon_reload(struct vg_daemon *d, char *err, size_t errlen);

/* Reopens the daemon's log files (`vigilctl log-reopen`; SIGHUP should call it too once a log
 * file exists). The one place every log writer that keeps a file open hooks its reopen into;
 * today vigild keeps none (stderr or syslog), so it reopens nothing and returns 0. Main thread;
 * <0 with a reason in err. */
int vg_daemon_log_reopen(struct vg_daemon *d, char *err, size_t errlen);

/* ---- stats.c (main thread) ---- */
/* One counter of the lists in vigil/stats.h, summed over the workers. */
struct vg_stat_value {
	const char *name; /* with its list's prefix, as `vigilctl stats` prints it */
	const char *help;
	enum vg_stat_kind kind;
	uint64_t value;
	/* On /metrics: vigil_FAMILY[_total]{LABEL="LABEL_VALUE"} with family_help; family NULL:
	 * vigil_NAME[_total], no label. Static strings. */
	const char *family, *label, *label_value, *family_help;
};
/* One histogram of VG_STATS_HISTOGRAMS, merged over the workers; count[] is cumulative
 * (count[VG_HIST_N] is every observation: +Inf and _count). */
struct vg_hist_value {
	const char *name, *help;
	uint64_t count[VG_HIST_N + 1];
	uint64_t sum_ns;
};
#define VG_HIST_COUNT (0 VG_STATS_HISTOGRAMS(VG_HIST_ONE_H))
#define VG_HIST_ONE_H(name, help) +1
/* Fills out[VG_HIST_COUNT] in list order. Any thread. */
void vg_stats_collect_hist(struct vg_daemon *d, struct vg_hist_value *out);
/* Fills out[] with every counter (front end, its qtype and rcode groups, resolver, upstream,
 * suspicious reasons, then the cache's when d has a cache) in list order; returns how many (at
 * most cap). Any thread (the control socket, the HTTP server): reads relaxed atomics. */
size_t vg_stats_collect(struct vg_daemon *d, struct vg_stat_value *out, size_t cap);
/* Upper bound of vg_stats_collect's count. */
size_t vg_stats_count(void);
/* {"ok": true, "stats": {NAME: VALUE...}, "histograms": {NAME: {"count", "sum_seconds", "le":
 * {BOUND: cumulative count..., "+Inf"}}}}: `vigilctl stats --json` and /stats.json. Any thread;
 * NULL without memory. */
typedef struct json_t json_t;
json_t *vg_stats_json(struct vg_daemon *d);
/* The stop log: one line "stats: name=value ..." with every front-end counter. */
void vg_stats_log(struct vg_daemon *d);

/* ---- control.c (main thread) ---- */
struct vg_control;
/* Binds and listens on the Unix socket `path` (mode 0660, owned by uid/gid when not -1). */
int vg_control_start(struct vg_daemon *d, const char *path, uid_t uid, gid_t gid, char *err,
		     size_t errlen);
/* Closes the socket and removes its file. */
void vg_control_close(struct vg_daemon *d);

/* ---- worker.c ---- */
/* Starts worker `w` (already zeroed, id and d set) with its listeners; the fds are handed over. */
int vg_worker_start(struct vg_worker *w, struct vg_policy *p, const struct vg_listen_fds *fds,
		    size_t n);
/* Mailbox: asks the worker to swap policy and listeners (fds handed over), or to stop. */
void vg_worker_post_reload(struct vg_worker *w, struct vg_policy *p, struct vg_listen_fds *fds,
			   size_t n);
void vg_worker_post_stop(struct vg_worker *w);
void vg_worker_join(struct vg_worker *w);

/* Handles one query (UDP or TCP) received by the worker: checks, ACL, rate limit, local data,
 * cache, resolver. Answers now or later through `to`. */
void vg_worker_query(struct vg_worker *w, const uint8_t *pkt, size_t len,
		     const struct vg_reply_to *to);
/* Called by listeners around each receive batch (opens/closes the cache read snapshot). */
void vg_worker_batch_begin(struct vg_worker *w);
void vg_worker_batch_end(struct vg_worker *w);
/* Called by listeners when a batch of queries was received (reads the clock) and once its
 * answers were handed to the kernel (observes their latency). Worker thread. */
void vg_worker_batch_received(struct vg_worker *w);
void vg_worker_batch_sent(struct vg_worker *w);
/* Copies the resolver's and the upstream transport's counters into w's published atomics.
 * Worker thread, once per loop pass. */
void vg_worker_publish_stats(struct vg_worker *w);
/* True when the worker has nothing in flight and may finish stopping. */
/* Fixes glibc's malloc thresholds so a burst's memory can go back (worker.c). Call once at
 * start, before any thread. */
void vg_worker_malloc_setup(void);
void vg_worker_maybe_done(struct vg_worker *w);

/* ---- udp.c ---- */
int vg_udp_open(struct vg_worker *w, int fd, const struct vg_sockaddr *addr, struct vg_udp **out);
void vg_udp_close(struct vg_udp *u);
/* Stops receiving (graceful stop); queued replies can still be flushed. */
void vg_udp_stop(struct vg_udp *u);
const struct vg_sockaddr *vg_udp_addr(const struct vg_udp *u);
/* Reply slot: returns a buffer of *cap bytes for the next reply to send on u. */
uint8_t *vg_udp_reply_buf(struct vg_udp *u, size_t *cap);
/* Queues the reply written into the last vg_udp_reply_buf for to->client, sent from to->dst
 * when the listener is a wildcard. */
void vg_udp_reply_commit(struct vg_udp *u, const struct vg_reply_to *to, size_t len);
/* Sends every queued reply with sendmmsg; on EAGAIN keeps the rest queued and sends them when
 * the socket becomes writable (reading pauses meanwhile). */
void vg_udp_flush(struct vg_udp *u);
void vg_udp_ref(struct vg_udp *u);
void vg_udp_unref(struct vg_udp *u);

/* ---- tcp.c ---- */
int vg_tcp_listen(struct vg_worker *w, int fd, const struct vg_sockaddr *addr,
		  struct vg_tcp_listener **out);
void vg_tcp_listener_close(struct vg_tcp_listener *l);
const struct vg_sockaddr *vg_tcp_listener_addr(const struct vg_tcp_listener *l);
/* Sends one framed answer on the connection (copied); a closed connection drops it. */
void vg_tcp_send(struct vg_tcp_conn *c, const uint8_t *msg, size_t len);
/* A request of the connection starts (takes a reference, counts the query in flight) and ends
 * (its answer was sent or dropped; releases the reference, may resume reading or close). */
void vg_tcp_conn_ref(struct vg_tcp_conn *c);
void vg_tcp_conn_done(struct vg_tcp_conn *c);
/* Closes every connection of the worker once its answers are written (graceful stop). */
void vg_tcp_close_all(struct vg_worker *w);

/* ---- inflight.c ---- */
/* Raises RLIMIT_NOFILE (soft, up to the hard limit) to what `workers` workers need with the
 * caps of cfg (max-upstream-sockets, tcp-max-clients, listeners) and logs what was granted.
 * Returns the descriptors needed. Main thread, at start. */
unsigned long vg_inflight_raise_nofile(const struct vg_config *cfg, int workers);

/* ---- logging.c ---- */
/* Sends log lines to stderr (foreground) or syslog (ident "vigild"). On stderr the line's form
 * follows where stderr goes: the journal (JOURNAL_STREAM names stderr's device:inode) gets a
 * "<N>" syslog priority prefix, a terminal a timestamp, anything else "vigild[LEVEL]: ". Main
 * thread, before the workers start. */
void vg_logging_setup(bool foreground, enum vg_log_level level);
/* Writes a fatal start-up message to stderr in the form chosen above ("vigild: MSG" in the plain
 * form, as before vg_logging_setup). */
void vg_logging_fatal(const char *msg);

/* ---- runas.c ---- */
/* The user vigild becomes after binding: `user:` when non-empty; NULL for `user: ""`; unset:
 * VIGIL_DEFAULT_USER when started as root and that user exists (*automatic set), else NULL (stay
 * as started). The pointer lives as long as cfg. */
const char *vg_runas_user(const struct vg_config *cfg, bool *automatic);
/* Becomes `user` (NULL: no change): initgroups, setgid, setuid. 0, VG_ECONFIG or -errno + err. */
int vg_runas_drop(const char *user, char *err, size_t errlen);
/* `vigild -t`: the user exists, and it can use cache-dir (or create it) and the control socket's
 * directory. Judged by owner/group/other bits (not ACLs). 0, or VG_ECONFIG with a message naming
 * the path, the owner and mode, and the fix. */
int vg_runas_check(const struct vg_config *cfg, char *err, size_t errlen);

/* ---- notify.c ---- */
/* Sends one sd_notify(3) message ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1",
 * "STATUS=...") to $NOTIFY_SOCKET. No socket set: does nothing, returns 0. Logs and returns -errno
 * on failure. Main thread. */
int vg_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* CLOCK_MONOTONIC in microseconds, for MONOTONIC_USEC=. */
unsigned long long vg_notify_monotonic_usec(void);

#endif
