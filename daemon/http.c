/* The http-listen server: libmicrohttpd in thread-per-connection mode (an /events stream waits
 * for its next event in its own thread), bounded connections and streams, the Prometheus text
 * format, and the suspicious-event fan-out to /events streams. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil_build.h>
#include "daemon.h"
#include "http.h"
#include "suspect.h"

extern const char vg_http_page[]; /* http_page.c */

/* One /events stream: a ring of formatted event blocks, filled by workers, read by its
 * connection's thread. Under hub.mu. */
struct sub {
	bool used;
	char *q[VG_HTTP_SUB_QUEUE];
	size_t head, n;
	size_t off;	  /* bytes of q[head] already sent */
	uint64_t dropped; /* since the last "dropped" notice */
	bool greeted;
};

struct vg_http {
	int fds[VG_HTTP_LISTEN_MAX];
	struct vg_sockaddr addrs[VG_HTTP_LISTEN_MAX];
	struct MHD_Daemon *mhd[VG_HTTP_LISTEN_MAX];
	size_t n;
	struct vg_daemon *d;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct sub subs[VG_HTTP_MAX_SUBSCRIBERS];
	char *replay[VG_HTTP_REPLAY]; /* the last events, oldest first from replay_next */
	size_t replay_next;
	struct vg_http_stats st;
};

/* ---- Prometheus text format ---- */

#define BOUND_TEXT(text, ns) text,
static const char *const hist_bounds[VG_HIST_N] = {VG_HIST_BOUNDS(BOUND_TEXT)};
#undef BOUND_TEXT

static void family_head(FILE *f, const char *name, const char *help, const char *type)
{
	/* HELP text escapes backslash and newline; ours have neither. */
	fprintf(f, "# HELP vigil_%s %s\n# TYPE vigil_%s %s\n", name, help, name, type);
}

char *vg_http_metrics_text(struct vg_daemon *d, size_t *len)
{
	char *s = NULL;
	FILE *f = open_memstream(&s, len);
	if (!f)
		return NULL;
	size_t cap = vg_stats_count();
	struct vg_stat_value *v = calloc(cap, sizeof(*v));
	size_t n = v ? vg_stats_collect(d, v, cap) : 0;
	char fam[128];
	for (size_t i = 0; i < n; i++) {
		bool counter = v[i].kind == VG_STAT_COUNTER;
		const char *suffix = counter ? "_total" : "";
		if (!v[i].family) {
			snprintf(fam, sizeof(fam), "%s%s", v[i].name, suffix);
			family_head(f, fam, v[i].help, counter ? "counter" : "gauge");
			fprintf(f, "vigil_%s %llu\n", fam, (unsigned long long)v[i].value);
			continue;
		}
		/* a labelled family: printed whole where its first member appears */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = v[j].family && !strcmp(v[j].family, v[i].family);
		if (seen)
			continue;
		snprintf(fam, sizeof(fam), "%s%s", v[i].family, suffix);
		family_head(f, fam, v[i].family_help, counter ? "counter" : "gauge");
		for (size_t j = i; j < n; j++)
			if (v[j].family && !strcmp(v[j].family, v[i].family))
				fprintf(f, "vigil_%s{%s=\"%s\"} %llu\n", fam, v[j].label,
					v[j].label_value, (unsigned long long)v[j].value);
	}
	free(v);
	struct vg_hist_value h[VG_HIST_COUNT];
	vg_stats_collect_hist(d, h);
	for (size_t i = 0; i < VG_HIST_COUNT; i++) {
		snprintf(fam, sizeof(fam), "%s_seconds", h[i].name);
		family_head(f, fam, h[i].help, "histogram");
		for (unsigned b = 0; b < VG_HIST_N; b++)
			fprintf(f, "vigil_%s_bucket{le=\"%s\"} %llu\n", fam, hist_bounds[b],
				(unsigned long long)h[i].count[b]);
		fprintf(f, "vigil_%s_bucket{le=\"+Inf\"} %llu\n", fam,
			(unsigned long long)h[i].count[VG_HIST_N]);
		fprintf(f, "vigil_%s_sum %.9f\n", fam, (double)h[i].sum_ns / 1e9);
		fprintf(f, "vigil_%s_count %llu\n", fam, (unsigned long long)h[i].count[VG_HIST_N]);
	}
	family_head(f, "start_time_seconds", "when vigild started (Unix time)", "gauge");
	fprintf(f, "vigil_start_time_seconds %lld\n", (long long)d->started_at);
	family_head(f, "build_info", "vigild's version (the value is always 1)", "gauge");
	fprintf(f, "vigil_build_info{version=\"%s\"} 1\n", VIGIL_VERSION);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* ---- /events ---- */

static void sub_clear(struct sub *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->q[(s->head + i) % VG_HTTP_SUB_QUEUE]);
	memset(s, 0, sizeof(*s));
}

/* Queues one block for a stream, or drops it when the stream is behind. Under mu. */
static void sub_push(struct vg_http *h, struct sub *s, const char *block)
{
	char *c = s->n < VG_HTTP_SUB_QUEUE ? strdup(block) : NULL;
	if (!c) {
		s->dropped++;
		h->st.events_dropped++;
		return;
	}
	s->q[(s->head + s->n++) % VG_HTTP_SUB_QUEUE] = c;
	h->st.events_sent++;
}

/* The suspicious-log tap: a worker thread hands over one encoded event. */
static void on_event(void *ctx, const char *line)
{
	struct vg_http *h = ctx;
	size_t len = strlen(line) + 32;
	char *block = malloc(len);
	if (!block)
		return;
	/* the JSON line has no newline: one data: line carries it */
	snprintf(block, len, "event: suspicious\ndata: %s\n\n", line);
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < VG_HTTP_MAX_SUBSCRIBERS; i++)
		if (h->subs[i].used)
			sub_push(h, &h->subs[i], block);
	free(h->replay[h->replay_next]);
	h->replay[h->replay_next] = block;
	h->replay_next = (h->replay_next + 1) % VG_HTTP_REPLAY;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Copies as much of the stream's queue as fits. Under mu. */
static size_t sub_take(struct sub *s, char *buf, size_t max)
{
	size_t out = 0;
	while (s->n && out < max) {
		const char *b = s->q[s->head];
		size_t left = strlen(b + s->off), k = left < max - out ? left : max - out;
		memcpy(buf + out, b + s->off, k);
		out += k;
		s->off += k;
		if (k < left)
			break;
		free(s->q[s->head]);
		s->head = (s->head + 1) % VG_HTTP_SUB_QUEUE;
		s->n--;
		s->off = 0;
	}
	return out;
}

struct stream {
	struct vg_http *h;
	struct sub *s;
};

/* Runs on the connection's own thread: waits (bounded) for events. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct vg_http *h = st->h;
	struct sub *s = st->s;
	ssize_t out = 0;
	pthread_mutex_lock(&h->mu);
	if (!s->greeted) {
		s->greeted = true;
		out = snprintf(buf, max, "retry: 2000\n: vigild events\n\n");
		pthread_mutex_unlock(&h->mu);
		return out;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += VG_HTTP_KEEPALIVE_S;
	while (!h->stop && !s->n && !s->dropped)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
			break;
	if (h->stop) {
		pthread_mutex_unlock(&h->mu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (s->dropped && !s->off) {
		out = snprintf(buf, max, "event: dropped\ndata: %llu\n\n",
			       (unsigned long long)s->dropped);
		s->dropped = 0;
	} else if (s->n) {
		out = (ssize_t)sub_take(s, buf, max);
	} else {
		out = snprintf(buf, max, ": keepalive\n\n"); /* finds closed connections */
	}
	pthread_mutex_unlock(&h->mu);
	return out;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	pthread_mutex_lock(&st->h->mu);
	sub_clear(st->s);
	st->h->st.subscribers--;
	pthread_mutex_unlock(&st->h->mu);
	free(st);
}

static struct MHD_Response *events_response(struct vg_http *h, unsigned *status)
{
	pthread_mutex_lock(&h->mu);
	struct sub *s = NULL;
	for (size_t i = 0; i < VG_HTTP_MAX_SUBSCRIBERS && !s; i++)
		if (!h->subs[i].used)
			s = &h->subs[i];
	struct stream *st = s ? malloc(sizeof(*st)) : NULL;
	if (!st) {
		h->st.subscribers_refused++;
		pthread_mutex_unlock(&h->mu);
		*status = MHD_HTTP_SERVICE_UNAVAILABLE;
		static const char busy[] = "too many /events streams\n";
		return MHD_create_response_from_buffer(sizeof(busy) - 1, (void *)busy,
						       MHD_RESPMEM_PERSISTENT);
	}
	s->used = true;
	h->st.subscribers++;
	/* the recent events first, so a page opened after an event still shows it */
	for (size_t i = 0; i < VG_HTTP_REPLAY; i++) {
		const char *b = h->replay[(h->replay_next + i) % VG_HTTP_REPLAY];
		if (b)
			sub_push(h, s, b);
	}
	pthread_mutex_unlock(&h->mu);
	st->h = h;
	st->s = s;
	struct MHD_Response *r =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
	if (!r) {
		stream_free(st);
		return NULL;
	}
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	*status = MHD_HTTP_OK;
	return r;
}

/* ---- requests ---- */

static struct MHD_Response *text_response(char *body, size_t len, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r)
		MHD_add_response_header(r, "Content-Type", type);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct vg_http *h = cls;
	bool head = !strcmp(method, "HEAD");
	struct MHD_Response *r = NULL;
	unsigned status = MHD_HTTP_OK;
	pthread_mutex_lock(&h->mu);
	h->st.requests++;
	pthread_mutex_unlock(&h->mu);
	if (!head && strcmp(method, "GET")) {
		pthread_mutex_lock(&h->mu);
		h->st.bad_method++;
		pthread_mutex_unlock(&h->mu);
		static const char msg[] = "only GET and HEAD\n";
		r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						    MHD_RESPMEM_PERSISTENT);
		if (r)
			MHD_add_response_header(r, "Allow", "GET, HEAD");
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (!strcmp(url, "/")) {
		r = MHD_create_response_from_buffer(strlen(vg_http_page), (void *)vg_http_page,
						    MHD_RESPMEM_PERSISTENT);
		if (r) {
			MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
			/* everything is inline; the page talks to this server only */
			MHD_add_response_header(
			    r, "Content-Security-Policy",
			    "default-src 'none'; script-src 'unsafe-inline'; style-src "
			    "'unsafe-inline'; connect-src 'self'");
		}
	} else if (!strcmp(url, "/metrics")) {
		size_t len = 0;
		char *s = vg_http_metrics_text(h->d, &len);
		r = s ? text_response(s, len, "text/plain; version=0.0.4; charset=utf-8") : NULL;
	} else if (!strcmp(url, "/stats.json")) {
		json_t *o = vg_stats_json(h->d);
		char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(o);
		r = s ? text_response(s, strlen(s), "application/json") : NULL;
	} else if (!strcmp(url, "/events") && !head) {
		r = events_response(h, &status);
	} else if (!strcmp(url, "/events")) {
		r = text_response(NULL, 0, "text/event-stream; charset=utf-8");
	} else {
		pthread_mutex_lock(&h->mu);
		h->st.not_found++;
		pthread_mutex_unlock(&h->mu);
		static const char msg[] = "not found: /, /metrics, /stats.json, /events\n";
		r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						    MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_FOUND;
	}
	if (!r)
		return MHD_NO; /* out of memory: MHD closes the connection */
	enum MHD_Result ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	vg_debug("http: %s", msg);
}

/* ---- lifecycle ---- */

/* "http://ADDR:PORT/" ("[ADDR]" for IPv6) for the log. */
static const char *url_of(const struct vg_sockaddr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	bool v6 = a->u.sa.sa_family == AF_INET6;
	inet_ntop(a->u.sa.sa_family,
		  v6 ? (const void *)&a->u.sin6.sin6_addr : (const void *)&a->u.sin.sin_addr, ip,
		  sizeof(ip));
	snprintf(buf, cap, "http://%s%s%s:%u/", v6 ? "[" : "", ip, v6 ? "]" : "",
		 ntohs(v6 ? a->u.sin6.sin6_port : a->u.sin.sin_port));
	return buf;
}

int vg_http_bind(const struct vg_config *cfg, struct vg_http **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!cfg->n_http_listen)
		return 0;
	struct vg_http *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	for (size_t i = 0; i < cfg->n_http_listen && i < VG_HTTP_LISTEN_MAX; i++) {
		const struct vg_sockaddr *a = &cfg->http_listen[i];
		int fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
		int rc = fd < 0 ? -errno : 0;
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (a->u.sa.sa_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (bind(fd, &a->u.sa, a->len) < 0 || listen(fd, 64) < 0)
				rc = -errno;
		}
		if (rc < 0) {
			char as[128];
			snprintf(err, errlen, "cannot listen on %s (http-listen): %s%s",
				 vg_sockaddr_str(a, as, sizeof(as)), strerror(-rc),
				 rc == -EADDRINUSE ? " (another program holds it: `ss -ltnp` shows "
						     "which; pick another http-listen port)"
						   : "");
			if (fd >= 0)
				close(fd);
			vg_http_stop(h);
			return rc;
		}
		h->fds[h->n] = fd;
		h->addrs[h->n++] = *a;
	}
	*out = h;
	return 0;
}

int vg_http_start(struct vg_http *h, struct vg_daemon *d, char *err, size_t errlen)
{
	h->d = d;
	for (size_t i = 0; i < h->n; i++) {
		h->mhd[i] = MHD_start_daemon(
		    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_USE_ERROR_LOG,
		    0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->fds[i],
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)VG_HTTP_MAX_CONNECTIONS,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)VG_HTTP_IDLE_S,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
		char as[128];
		if (!h->mhd[i]) {
			snprintf(err, errlen, "cannot start the HTTP server on %s",
				 vg_sockaddr_str(&h->addrs[i], as, sizeof(as)));
			return VG_ECONFIG;
		}
		h->fds[i] = -1; /* MHD owns it now */
		vg_info("http: serving /metrics and the live page on %s",
			url_of(&h->addrs[i], as, sizeof(as)));
	}
	if (d->suspect)
		vg_suspect_log_set_tap(d->suspect, on_event, h);
	return 0;
}

void vg_http_stop(struct vg_http *h)
{
	if (!h)
		return;
	if (h->d && h->d->suspect)
		vg_suspect_log_set_tap(h->d->suspect, NULL, NULL);
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		if (h->mhd[i])
			MHD_stop_daemon(h->mhd[i]); /* joins the connection threads */
		if (h->fds[i] >= 0)
			close(h->fds[i]);
	}
	for (size_t i = 0; i < VG_HTTP_MAX_SUBSCRIBERS; i++)
		sub_clear(&h->subs[i]);
	for (size_t i = 0; i < VG_HTTP_REPLAY; i++)
		free(h->replay[i]);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}

void vg_http_stats(struct vg_http *h, struct vg_http_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	*st = h->st;
	pthread_mutex_unlock(&h->mu);
}
