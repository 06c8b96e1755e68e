/* Reading the counter lists of vigil/stats.h: the worker's once-per-pass copy, the sum over the
 * workers for `vigilctl stats` (and /metrics later), and the stop log. */
#include <stdio.h>
#include <string.h>
#include <vigil/cache.h>
#include <vigil/resolver.h>
#include <vigil/upstream.h>
#include "daemon.h"
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
	    VG_STATS_CACHE(ONE) + VG_SUSPECT_N_REASONS;
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
		    "suspect_" #stat, "answers detected as " text, VG_STAT_COUNTER,                \
		    vg_suspect_log_count(d->suspect, VG_SUSPECT_##id)};
	VG_SUSPECT_REASONS(SUSPECT)
#undef SUSPECT
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
