/* The HTTP server of `http-listen:` (libmicrohttpd, its own threads, never a worker's loop):
 * /metrics (Prometheus text format 0.0.4), /stats.json (what `vigilctl stats --json` prints),
 * /events (suspicious-answer events as Server-Sent Events) and / (the live page). Read-only:
 * it reads the counters the way the control socket does. docs/operations.md "Metrics and the
 * live page". */
#ifndef VIGIL_DAEMON_HTTP_H
#define VIGIL_DAEMON_HTTP_H

#include <stddef.h>
#include <vigil/config.h>
#include <vigil/stats.h>

#define VG_HTTP_MAX_CONNECTIONS 16 /* open HTTP connections; more are closed at once */
#define VG_HTTP_MAX_SUBSCRIBERS 8  /* /events streams; more get 503 */
#define VG_HTTP_SUB_QUEUE 64	   /* events waiting per stream; more are dropped (counted) */
#define VG_HTTP_REPLAY 20	   /* recent events sent to a new stream first */
#define VG_HTTP_IDLE_S 30	   /* a connection silent this long is closed */
#define VG_HTTP_KEEPALIVE_S 15	   /* an idle /events stream gets a comment this often */

/* Counters of the HTTP server (`vigilctl stats`, /metrics). */
#define VG_STATS_PREFIX_HTTP "http_"
#define VG_STATS_HTTP(X)                                                                           \
	X(requests, COUNTER, "HTTP requests answered")                                             \
	X(not_found, COUNTER, "HTTP requests for an unknown path (404)")                           \
	X(bad_method, COUNTER, "HTTP requests with a method other than GET or HEAD (405)")         \
	X(subscribers, GAUGE, "open /events streams")                                              \
	X(subscribers_refused, COUNTER, "/events streams refused at the limit (503)")              \
	X(events_sent, COUNTER, "suspicious-answer events queued to /events streams")              \
	X(events_dropped, COUNTER, "events dropped for /events streams that read too slowly")
struct vg_http_stats {
	VG_STATS_HTTP(VG_STAT_FIELD_U64)
};

struct vg_daemon;
struct vg_http;

/* Binds every http-listen address of cfg (before privileges are dropped). On error returns
 * -errno with "cannot listen on ADDR (http-listen): REASON" in err. Nothing listed: *out NULL. */
int vg_http_bind(const struct vg_config *cfg, struct vg_http **out, char *err, size_t errlen);
/* Starts serving (threads) and taps the suspicious-answer log of d. Main thread, once the
 * workers run. 0 or a negative code with err. */
int vg_http_start(struct vg_http *h, struct vg_daemon *d, char *err, size_t errlen);
/* Ends the /events streams, stops the threads, closes the sockets, frees. NULL is a no-op.
 * Before the workers are freed. */
void vg_http_stop(struct vg_http *h);
/* Fills *st (zeroes for NULL). Any thread. */
void vg_http_stats(struct vg_http *h, struct vg_http_stats *st);

/* The Prometheus text exposition (format 0.0.4) of d's counters and histograms, malloc'd.
 * Any thread. */
char *vg_http_metrics_text(struct vg_daemon *d, size_t *len);

#endif
