/* The query log: a bounded ring of fixed-size records filled by the workers, one writer thread
 * encoding them as JSON Lines (jansson), a per-second rate limit, reopen for logrotate. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil/suspect.h>
#include "querylog.h"
#include "suspect.h"

struct vg_querylog {
	char *path;
	FILE *f;
	uint32_t rate;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	struct vg_qlog_entry *ring; /* VG_QLOG_QUEUE_MAX records */
	size_t head, n;
	bool reopen, stop;
	int64_t window;		 /* current second (monotonic) of the rate limit */
	uint32_t in_window;	 /* records accepted in it */
	uint64_t window_dropped; /* dropped by the rate in it */
	uint64_t summary;	 /* dropped in a finished window, for the writer to report */
	struct vg_querylog_stats st;
};

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static const char *const source_names[] = {"local", "cache", "resolver", "stale"};
static const char *const dnssec_names[] = {"indeterminate", "secure", "bogus"};

char *vg_querylog_encode(const struct vg_qlog_entry *e)
{
	char ts[64], name[VG_NAME_TEXT_MAX], addr[INET6_ADDRSTRLEN] = "";
	vg_log_rfc3339(e->time_ms, ts, sizeof(ts));
	/* presentation format escapes every byte outside printable ASCII: valid UTF-8 */
	if (vg_name_to_text(e->qname, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (e->client.u.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &e->client.u.sin.sin_addr, addr, sizeof(addr));
	else if (e->client.u.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &e->client.u.sin6.sin6_addr, addr, sizeof(addr));
	char *tn = ldns_rr_type2str((ldns_rr_type)e->qtype);
	char *rn = ldns_pkt_rcode2str((ldns_pkt_rcode)e->rcode);
	json_t *flags = json_array(), *reasons = json_array();
	if (e->ad)
		json_array_append_new(flags, json_string("AD"));
	if (e->tc)
		json_array_append_new(flags, json_string("TC"));
	for (int r = 0; r < VG_SUSPECT_N_REASONS; r++)
		if (e->reasons & (1u << r))
			json_array_append_new(reasons, json_string(vg_suspect_reason_name(
							   (enum vg_suspect_reason)r)));
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:f, s:s, s:s, s:o}", "time", ts, "client", addr,
	    "transport", e->tcp ? "tcp" : "udp", "qname", name, "qtype", tn ? tn : "?", "rcode",
	    rn ? rn : "?", "flags", flags, "latency_ms", e->latency_us / 1000.0, "source",
	    source_names[e->source & 3], "dnssec", dnssec_names[e->dnssec % 3], "suspect", reasons);
	free(tn);
	free(rn);
	if (!o)
		return NULL;
	if (e->ede != VG_EDE_NONE) {
		json_t *ede = json_pack("{s:i}", "code", e->ede);
		if (ede && e->ede_text[0])
			json_object_set_new(ede, "text", json_string(e->ede_text));
		json_object_set_new(o, "ede", ede);
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	return s;
}

void vg_querylog_push(struct vg_querylog *l, const struct vg_qlog_entry *e)
{
	int64_t now = l->rate ? mono_s() : 0;
	pthread_mutex_lock(&l->mu);
	if (l->rate) {
		if (now != l->window) {
			l->summary += l->window_dropped;
			l->window_dropped = 0;
			l->window = now;
			l->in_window = 0;
		}
		if (l->in_window >= l->rate) {
			l->window_dropped++;
			l->st.dropped_rate++;
			pthread_mutex_unlock(&l->mu);
			return;
		}
		l->in_window++;
	}
	if (l->n == VG_QLOG_QUEUE_MAX) {
		l->st.dropped_full++;
	} else {
		l->ring[(l->head + l->n) % VG_QLOG_QUEUE_MAX] = *e;
		if (l->n++ == 0)
			pthread_cond_signal(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
}

/* Frees what new allocated (the thread is not running). */
static void free_log(struct vg_querylog *l)
{
	if (l->f)
		fclose(l->f);
	free(l->ring);
	free(l->path);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

static void write_summary(struct vg_querylog *l, uint64_t dropped)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char t[64];
	vg_log_rfc3339((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, t, sizeof(t));
	fprintf(l->f, "{\"time\":\"%s\",\"summary\":\"query-log-rate\",\"dropped\":%llu}\n", t,
		(unsigned long long)dropped);
}

static void *writer_main(void *arg)
{
	struct vg_querylog *l = arg;
	struct vg_qlog_entry *batch = malloc(64 * sizeof(*batch));
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->n && !l->stop && !l->reopen && !l->summary) {
			/* wakes once a second so a rate window's summary shows without new queries
			 */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&l->cv, &l->mu, &ts);
			if (l->window_dropped && mono_s() != l->window) {
				l->summary += l->window_dropped;
				l->window_dropped = 0;
			}
		}
		size_t k = 0;
		while (batch && k < 64 && l->n) {
			batch[k++] = l->ring[l->head];
			l->head = (l->head + 1) % VG_QLOG_QUEUE_MAX;
			l->n--;
		}
		bool reopen = l->reopen, stop = l->stop && !l->n;
		uint64_t summary = l->summary;
		l->reopen = false;
		l->summary = 0;
		pthread_mutex_unlock(&l->mu);
		if (reopen)
			vg_log_file_reopen("query-log", l->path, &l->f);
		uint64_t written = 0;
		for (size_t i = 0; i < k; i++) {
			char *s = vg_querylog_encode(&batch[i]);
			if (s) {
				fputs(s, l->f);
				fputc('\n', l->f);
				free(s);
				written++;
			}
		}
		if (summary)
			write_summary(l, summary);
		fflush(l->f);
		pthread_mutex_lock(&l->mu);
		l->st.written += written;
		if (stop || (!batch && l->stop))
			break;
		if (!batch) { /* no memory for a batch: drop what is queued rather than spin */
			l->st.dropped_full += l->n;
			l->n = 0;
		}
	}
	pthread_mutex_unlock(&l->mu);
	free(batch);
	return NULL;
}

int vg_querylog_new(const char *path, uint32_t rate, struct vg_querylog **out)
{
	struct vg_querylog *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->rate = rate;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	int rc = 0;
	if (!(l->path = strdup(path)) || !(l->ring = calloc(VG_QLOG_QUEUE_MAX, sizeof(*l->ring))))
		rc = -ENOMEM;
	else if (!(l->f = vg_log_file_open("query-log", path)))
		rc = -errno;
	else
		rc = -pthread_create(&l->thread, NULL, writer_main, l);
	if (rc < 0) {
		free_log(l);
		return rc;
	}
	*out = l;
	return 0;
}

int vg_querylog_reopen(struct vg_querylog *l)
{
	if (!l)
		return -ENOENT;
	pthread_mutex_lock(&l->mu);
	l->reopen = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

void vg_querylog_stats(struct vg_querylog *l, struct vg_querylog_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	*st = l->st;
	pthread_mutex_unlock(&l->mu);
}

void vg_querylog_close(struct vg_querylog *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	free_log(l);
}
