/* The suspicious-answer log: JSON Lines encoding (jansson), per-reason rate limit with summary
 * lines, a queue and one writer thread, reopen for logrotate. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "suspect.h"

struct line {
	struct line *next;
	char *text;
};

/* Rate limit of one reason: lines written in the current one-second window, and what was left
 * out since the last summary. Under mu. */
struct reason_rl {
	int64_t window; /* seconds (monotonic) */
	uint32_t written;
	uint64_t dropped;
	int64_t dropped_since_ms; /* wall time of the first dropped event */
};

struct vg_suspect_log {
	struct vg_suspect_sink sink;
	char *path;
	FILE *f;
	pthread_t thread;
	bool has_thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct line *head, *tail;
	size_t queued;
	bool reopen, stop;
	struct reason_rl rl[VG_SUSPECT_N_REASONS];
	atomic_uint_fast64_t count[VG_SUSPECT_N_REASONS];
};

static int64_t now_ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rfc3339(int64_t ms, char *buf, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static char *base64(const uint8_t *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = 0;
	return out;
}

/* Address without port into buf; "" for anything but IPv4/IPv6. */
static const char *addr_only(const struct vg_sockaddr *a, char *buf, size_t cap, int *port)
{
	buf[0] = 0;
	*port = 0;
	if (a->u.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->u.sin.sin_addr, buf, (socklen_t)cap);
		*port = ntohs(a->u.sin.sin_port);
	} else if (a->u.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->u.sin6.sin6_addr, buf, (socklen_t)cap);
		*port = ntohs(a->u.sin6.sin6_port);
	}
	return buf;
}

/* json_object_set_new fails only without memory; the caller checks the dump. */
static void put(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

char *vg_suspect_encode(const struct vg_suspect_event *ev, int64_t time_ms)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	char ts[64], name[VG_NAME_TEXT_MAX], abuf[INET6_ADDRSTRLEN];
	int port;
	rfc3339(time_ms, ts, sizeof(ts));
	put(o, "time", json_string(ts));
	put(o, "reason", json_string(vg_suspect_reason_name(ev->reason)));
	put(o, "action", json_string(vg_suspect_action_name(ev->action)));
	/* Presentation format escapes every byte outside printable ASCII as \DDD: valid UTF-8. */
	if (!ev->qname || vg_name_to_text(ev->qname, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	put(o, "qname", json_string(name));
	char *tn = ldns_rr_type2str((ldns_rr_type)ev->qtype);
	put(o, "qtype", json_string(tn ? tn : "?"));
	free(tn);
	if (ev->client)
		put(o, "client", json_string(addr_only(ev->client, abuf, sizeof(abuf), &port)));
	if (ev->server) {
		put(o, "server", json_string(addr_only(ev->server, abuf, sizeof(abuf), &port)));
		put(o, "port", json_integer(port));
	}
	put(o, "transport", json_string(ev->tcp ? "tcp" : "udp"));
	json_t *recs = json_array();
	for (size_t i = 0; recs && i < ev->n_records; i++)
		json_array_append_new(recs, json_string(ev->records[i]));
	put(o, "records", recs);
	put(o, "served", json_string(ev->served ? ev->served : ""));
	char *b64 =
	    base64(ev->reply ? ev->reply : (const uint8_t *)"", ev->reply ? ev->reply_len : 0);
	put(o, "reply", json_string(b64 ? b64 : ""));
	free(b64);
	if (ev->first_reply) {
		b64 = base64(ev->first_reply, ev->first_reply_len);
		put(o, "first_reply", json_string(b64 ? b64 : ""));
		free(b64);
	}
	if (ev->n_counts) {
		json_t *c = json_object();
		for (size_t i = 0; c && i < ev->n_counts; i++)
			put(c, ev->counts[i].kind, json_integer(ev->counts[i].n));
		put(o, "counts", c);
	}
	if (ev->n_sources) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < ev->n_sources; i++) {
			const struct vg_suspect_source *src = &ev->sources[i];
			json_t *e = json_object();
			if (!e)
				break;
			put(e, "address",
			    json_string(addr_only(&src->addr, abuf, sizeof(abuf), &port)));
			put(e, "port", json_integer(port));
			put(e, "transport", json_string(src->tcp ? "tcp" : "udp"));
			json_array_append_new(a, e);
		}
		put(o, "sources", a);
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static char *encode_summary(enum vg_suspect_reason r, uint64_t dropped, int64_t since_ms,
			    int64_t time_ms)
{
	char ts[64], since[64];
	rfc3339(time_ms, ts, sizeof(ts));
	rfc3339(since_ms, since, sizeof(since));
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:I, s:s}", "time", ts, "reason", vg_suspect_reason_name(r),
		      "action", "summary", "dropped", (json_int_t)dropped, "since", since);
	if (!o)
		return NULL;
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* Queues a line (takes ownership). Under mu. */
static void enqueue(struct vg_suspect_log *l, char *text)
{
	struct line *ln = text && l->queued < VG_SUSPECT_QUEUE_MAX ? malloc(sizeof(*ln)) : NULL;
	if (!ln) {
		free(text);
		return;
	}
	ln->text = text;
	ln->next = NULL;
	if (l->tail)
		l->tail->next = ln;
	else
		l->head = ln;
	l->tail = ln;
	l->queued++;
	pthread_cond_signal(&l->cv);
}

/* Summaries of every reason whose window ended with lines left out. Under mu. */
static void flush_summaries(struct vg_suspect_log *l, int64_t mono_s, int64_t wall_ms)
{
	for (int r = 0; r < VG_SUSPECT_N_REASONS; r++) {
		struct reason_rl *rl = &l->rl[r];
		if (rl->dropped && rl->window != mono_s) {
			enqueue(l, encode_summary((enum vg_suspect_reason)r, rl->dropped,
						  rl->dropped_since_ms, wall_ms));
			rl->dropped = 0;
		}
	}
}

static void emit(void *ctx, const struct vg_suspect_event *ev)
{
	struct vg_suspect_log *l = ctx;
	if ((unsigned)ev->reason >= VG_SUSPECT_N_REASONS)
		return;
	atomic_fetch_add_explicit(&l->count[ev->reason], 1, memory_order_relaxed);
	if (!l->has_thread)
		return;
	int64_t wall = now_ms(CLOCK_REALTIME), mono = now_ms(CLOCK_MONOTONIC) / 1000;
	pthread_mutex_lock(&l->mu);
	struct reason_rl *rl = &l->rl[ev->reason];
	flush_summaries(l, mono, wall);
	if (rl->window != mono) {
		rl->window = mono;
		rl->written = 0;
	}
	bool write = rl->written < VG_SUSPECT_RATE;
	if (write)
		rl->written++;
	else if (!rl->dropped++)
		rl->dropped_since_ms = wall;
	pthread_mutex_unlock(&l->mu);
	if (!write)
		return;
	/* Encoded outside the lock: only the queue is shared. */
	char *text = vg_suspect_encode(ev, wall);
	pthread_mutex_lock(&l->mu);
	enqueue(l, text);
	pthread_mutex_unlock(&l->mu);
}

static FILE *open_file(const char *path)
{
	FILE *f = fopen(path, "ae");
	if (!f)
		vg_err("suspicious-log: cannot open %s: %s", path, strerror(errno));
	return f;
}

static void *writer_main(void *arg)
{
	struct vg_suspect_log *l = arg;
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->head && !l->stop && !l->reopen) {
			/* Wakes once a second so a burst's summary appears without a next event. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&l->cv, &l->mu, &ts);
			flush_summaries(l, now_ms(CLOCK_MONOTONIC) / 1000, now_ms(CLOCK_REALTIME));
		}
		struct line *batch = l->head;
		l->head = l->tail = NULL;
		l->queued = 0;
		bool reopen = l->reopen, stop = l->stop;
		l->reopen = false;
		pthread_mutex_unlock(&l->mu);
		if (reopen) {
			FILE *nf = open_file(l->path);
			if (nf) {
				fclose(l->f);
				l->f = nf;
			}
		}
		while (batch) {
			struct line *next = batch->next;
			fputs(batch->text, l->f);
			fputc('\n', l->f);
			free(batch->text);
			free(batch);
			batch = next;
		}
		fflush(l->f);
		pthread_mutex_lock(&l->mu);
		if (stop && !l->head)
			break;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int vg_suspect_log_new(const char *path, struct vg_suspect_log **out)
{
	struct vg_suspect_log *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->sink.emit = emit;
	l->sink.ctx = l;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (path) {
		int rc = 0;
		if (!(l->path = strdup(path)))
			rc = -ENOMEM;
		else if (!(l->f = open_file(path)))
			rc = -errno;
		else if ((rc = -pthread_create(&l->thread, NULL, writer_main, l)) == 0)
			l->has_thread = true;
		if (rc < 0) {
			vg_suspect_log_close(l);
			return rc;
		}
	}
	*out = l;
	return 0;
}

const struct vg_suspect_sink *vg_suspect_log_sink(struct vg_suspect_log *l)
{
	return &l->sink;
}

int vg_suspect_log_reopen(struct vg_suspect_log *l)
{
	if (!l || !l->has_thread)
		return -ENOENT;
	pthread_mutex_lock(&l->mu);
	l->reopen = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

uint64_t vg_suspect_log_count(struct vg_suspect_log *l, enum vg_suspect_reason r)
{
	return l && (unsigned)r < VG_SUSPECT_N_REASONS
		   ? atomic_load_explicit(&l->count[r], memory_order_relaxed)
		   : 0;
}

void vg_suspect_log_close(struct vg_suspect_log *l)
{
	if (!l)
		return;
	if (l->has_thread) {
		pthread_mutex_lock(&l->mu);
		flush_summaries(l, INT64_MIN, now_ms(CLOCK_REALTIME));
		l->stop = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	while (l->head) {
		struct line *n = l->head->next;
		free(l->head->text);
		free(l->head);
		l->head = n;
	}
	if (l->f)
		fclose(l->f);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l->path);
	free(l);
}
