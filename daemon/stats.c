/* Reading the counter lists of vigil/stats.h: the worker's once-per-pass copy, the sum over the
 * workers for `vigilctl stats` (and /metrics later), and the stop log. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/cache.h>
#include <vigil/resolver.h>
#include <vigil/upstream.h>
#include "daemon.h"
#include <stddef.h>
#include "http.h"
#include "querylog.h"
#include "suspect.h"

#define LOAD(a) atomic_load_explicit(&(a), memory_order_relaxed)
#define STORE(a, v) atomic_store_explicit(&(a), (v), memory_order_relaxed)
#define ONE(name, kind, help) +1

void vg_worker_publish_stats(struct vg_worker *w)
{
	if (w->resolver) {
		const struct vg_resolver_stats *rs = vg_resolver_stats(w->resolver);
#define PUB_RESOLVER(name, kind, help) STORE(w->resolver_stats.name, rs->name);
		VG_STATS_RESOLVER(PUB_RESOLVER)
#undef PUB_RESOLVER
	}
	if (w->upstream) {
		const struct vg_upstream_stats *us = &w->upstream->stats;
#define PUB_UPSTREAM(name, kind, help) STORE(w->upstream_stats.name, us->name);
		VG_STATS_UPSTREAM(PUB_UPSTREAM)
#undef PUB_UPSTREAM
	}
}

size_t vg_stats_count(void)
{
	return 0 VG_STATS_FRONTEND(ONE) VG_STATS_RESOLVER(ONE) VG_STATS_UPSTREAM(ONE)
		   VG_STATS_CACHE(ONE) VG_STATS_QUERYLOG(ONE) VG_STATS_HTTP(ONE) +
	       VG_SUSPECT_N_REASONS + VG_QTYPE_N + VG_RCODE_STAT_N;
}

/* The /metrics family of a flat counter (VG_STATS_FAMILIES), if it has one. */
static void set_family(struct vg_stat_value *v)
{
#define FAMILY(n, fam, lab, val, fh)                                                               \
	if (!strcmp(v->name, n)) {                                                                 \
		v->family = fam;                                                                   \
		v->label = lab;                                                                    \
		v->label_value = val;                                                              \
		v->family_help = fh;                                                               \
		return;                                                                            \
	}
	VG_STATS_FAMILIES(FAMILY)
#undef FAMILY
}

/* Sums one labelled array of every worker. */
static uint64_t sum_slot(struct vg_daemon *d, size_t off, unsigned slot)
{
	uint64_t t = 0;
	for (int i = 0; i < d->n_workers; i++) {
		const atomic_uint_fast64_t *a =
		    (const atomic_uint_fast64_t *)((const char *)&d->workers[i] + off);
		t += LOAD(a[slot]);
	}
	return t;
}

static const char *const qtype_names[VG_QTYPE_N] = {
#define QNAME(id, v) "qtype_" #id,
    VG_STATS_QTYPES(QNAME)
#undef QNAME
	"qtype_other"};
static const char *const rcode_names[VG_RCODE_STAT_N] = {
#define RNAME(id, v) "rcode_" #id,
    VG_STATS_RCODES(RNAME)
#undef RNAME
	"rcode_other"};

/* Appends one labelled group: names[i] ("LABEL_VALUE") summed from the workers' array at off. */
static size_t add_labelled(struct vg_daemon *d, struct vg_stat_value *out, size_t n, size_t cap,
			   const char *const *names, unsigned slots, size_t off, const char *label,
			   const char *family, const char *help)
{
	for (unsigned i = 0; i < slots && n < cap; i++)
		out[n++] = (struct vg_stat_value){names[i],
						  help,
						  VG_STAT_COUNTER,
						  sum_slot(d, off, i),
						  family,
						  label,
						  names[i] + strlen(label) + 1,
						  help};
	return n;
}

void vg_stats_collect_hist(struct vg_daemon *d, struct vg_hist_value *out)
{
	size_t k = 0;
#define HIST(hname, hhelp)                                                                         \
	{                                                                                          \
		struct vg_hist_value *h = &out[k++];                                               \
		memset(h, 0, sizeof(*h));                                                          \
		h->name = #hname;                                                                  \
		h->help = hhelp;                                                                   \
		for (int i = 0; i < d->n_workers; i++) {                                           \
			const struct vg_hist *src = &d->workers[i].hist.hname;                     \
			for (unsigned b = 0; b <= VG_HIST_N; b++)                                  \
				h->count[b] += LOAD(src->count[b]);                                \
			h->sum_ns += LOAD(src->sum_ns);                                            \
		}                                                                                  \
		for (unsigned b = 1; b <= VG_HIST_N; b++)                                          \
			h->count[b] += h->count[b - 1];                                            \
	}
	VG_STATS_HISTOGRAMS(HIST)
#undef HIST
}

size_t vg_stats_collect(struct vg_daemon *d, struct vg_stat_value *out, size_t cap)
{
	size_t n = 0;
#define SUM(set, prefix, name, k, h)                                                               \
	if (n < cap) {                                                                             \
		uint64_t t = 0;                                                                    \
		for (int i = 0; i < d->n_workers; i++)                                             \
			t += LOAD(d->workers[i].set.name);                                         \
		out[n++] = (struct vg_stat_value){prefix #name, h, VG_STAT_##k, t};                \
	}
#define SUM_FRONTEND(name, k, h) SUM(stats, "", name, k, h)
#define SUM_RESOLVER(name, k, h) SUM(resolver_stats, VG_STATS_PREFIX_RESOLVER, name, k, h)
#define SUM_UPSTREAM(name, k, h) SUM(upstream_stats, VG_STATS_PREFIX_UPSTREAM, name, k, h)
	VG_STATS_FRONTEND(SUM_FRONTEND)
	for (size_t i = 0; i < n; i++)
		set_family(&out[i]);
		/* the labelled front-end groups (VG_STATS_LABELLED) */
#define LABELLED(grp, slots, fam, fhelp)                                                           \
	n = add_labelled(d, out, n, cap, grp##_names, slots,                                       \
			 offsetof(struct vg_worker, grp##_stats), #grp, fam, fhelp);
	VG_STATS_LABELLED(LABELLED)
#undef LABELLED
	VG_STATS_RESOLVER(SUM_RESOLVER)
	VG_STATS_UPSTREAM(SUM_UPSTREAM)
#undef SUM_FRONTEND
#undef SUM_RESOLVER
#undef SUM_UPSTREAM
#undef SUM
	/* detections of the suspicious-answer log, one counter per reason (vigil/suspect.h) */
#define SUSPECT(id, text, stat)                                                                    \
	if (n < cap)                                                                               \
		out[n++] = (struct vg_stat_value){                                                 \
		    "suspect_" #stat,                                                              \
		    "answers detected as " text,                                                   \
		    VG_STAT_COUNTER,                                                               \
		    vg_suspect_log_count(d->suspect, VG_SUSPECT_##id),                             \
		    "suspicious_answers",                                                          \
		    "reason",                                                                      \
		    text,                                                                          \
		    "answers detected as suspicious, by reason (docs/suspicious-log.md)"};
	VG_SUSPECT_REASONS(SUSPECT)
#undef SUSPECT
	/* the query log's and the HTTP server's own (zero when they are off) */
	struct vg_querylog_stats qs;
	vg_querylog_stats(d->qlog, &qs);
#define QLOG(name, k, h)                                                                           \
	if (n < cap)                                                                               \
		out[n++] = (struct vg_stat_value){VG_STATS_PREFIX_QUERYLOG #name, h, VG_STAT_##k,  \
						  qs.name};
	VG_STATS_QUERYLOG(QLOG)
#undef QLOG
	struct vg_http_stats hs;
	vg_http_stats(d->http, &hs);
#define HTTP(name, k, h)                                                                           \
	if (n < cap)                                                                               \
		out[n++] =                                                                         \
		    (struct vg_stat_value){VG_STATS_PREFIX_HTTP #name, h, VG_STAT_##k, hs.name};
	VG_STATS_HTTP(HTTP)
#undef HTTP
	struct vg_cache_stats cs;
	if (n < cap && d->cache && vg_cache_stats(d->cache, &cs) == 0) {
#define CACHE(name, k, h)                                                                          \
	if (n < cap)                                                                               \
		out[n++] =                                                                         \
		    (struct vg_stat_value){VG_STATS_PREFIX_CACHE #name, h, VG_STAT_##k, cs.name};
		VG_STATS_CACHE(CACHE)
#undef CACHE
	}
	return n;
}

void vg_stats_log(struct vg_daemon *d)
{
	/* the front-end counters (a prefix of the collected list): the resolvers log theirs as
	 * they close */
	struct vg_stat_value v[0 VG_STATS_FRONTEND(ONE)];
	size_t n = vg_stats_collect(d, v, sizeof(v) / sizeof(v[0]));
	char line[4096];
	size_t len = 0;
	for (size_t i = 0; i < n && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s=%llu", v[i].name,
					(unsigned long long)v[i].value);
	vg_info("stats:%s", line);
}

json_t *vg_stats_json(struct vg_daemon *d)
{
	size_t cap = vg_stats_count();
	struct vg_stat_value *v = calloc(cap, sizeof(*v));
	if (!v)
		return NULL;
	size_t n = vg_stats_collect(d, v, cap);
	json_t *st = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(st, v[i].name, json_integer((json_int_t)v[i].value));
	free(v);
	struct vg_hist_value h[VG_HIST_COUNT];
	vg_stats_collect_hist(d, h);
	json_t *hs = json_object();
#define BOUND_TEXT(text, ns) text,
	static const char *const bounds[VG_HIST_N] = {VG_HIST_BOUNDS(BOUND_TEXT)};
#undef BOUND_TEXT
	for (size_t i = 0; i < VG_HIST_COUNT; i++) {
		json_t *le = json_object();
		for (unsigned b = 0; b < VG_HIST_N; b++)
			json_object_set_new(le, bounds[b], json_integer((json_int_t)h[i].count[b]));
		json_object_set_new(le, "+Inf", json_integer((json_int_t)h[i].count[VG_HIST_N]));
		json_object_set_new(hs, h[i].name,
				    json_pack("{s:I,s:f,s:o}", "count",
					      (json_int_t)h[i].count[VG_HIST_N], "sum_seconds",
					      (double)h[i].sum_ns / 1e9, "le", le));
	}
	return json_pack("{s:b,s:o,s:o}", "ok", 1, "stats", st, "histograms", hs);
}
