/* The daemon hands the resolver and the cache their own options, filled from its config: the
 * only place that knows both vocabularies (a new config key for either is one line here). */
#ifndef VIGIL_DAEMON_OPTS_H
#define VIGIL_DAEMON_OPTS_H

#include <vigil/cache.h>
#include <vigil/config.h>
#include <vigil/resolver.h>

/* Fills `o` from the config (cache_dir, cache_size, cache_*_ttl, serve_stale_max,
 * cache_rebuild_on_error) over vg_cache_opts_default; o->dir points into cfg, which must outlive
 * the open call. */
void vg_cache_opts_from_config(struct vg_cache_opts *o, const struct vg_config *cfg);

/* Fills `o` from the config's resolver and upstream keys over vg_resolver_opts_default. The
 * arrays and strings of `o` point into cfg, which must outlive every resolver and transport
 * given `o` (the worker's boot policy). */
void vg_resolver_opts_from_config(struct vg_resolver_opts *o, const struct vg_config *cfg);

#endif
