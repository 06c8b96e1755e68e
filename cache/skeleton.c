/* Temporary skeleton of the cache API so dependants link while the LMDB implementation lands. */
#include <errno.h>
#include <string.h>

#include "vigil/cache.h"
#include "vigil/config.h"

void vg_cache_opts_default(struct vg_cache_opts *o)
{
	memset(o, 0, sizeof(*o));
}
void vg_cache_opts_from_config(struct vg_cache_opts *o, const struct vg_config *cfg)
{
	vg_cache_opts_default(o);
	o->dir = cfg->cache_dir;
	o->map_size = cfg->cache_size;
	o->min_ttl = cfg->cache_min_ttl;
	o->max_ttl = cfg->cache_max_ttl;
	o->max_neg_ttl = cfg->cache_max_negative_ttl;
	o->stale_max = cfg->serve_stale_max;
	o->rebuild_on_error = cfg->cache_rebuild_on_error;
}
int vg_cache_open(const struct vg_cache_opts *opts, struct vg_cache **out, char *err, size_t errlen)
{
	return -ENOSYS;
}
int vg_cache_start_writer(struct vg_cache *c)
{
	return -ENOSYS;
}
void vg_cache_close(struct vg_cache *c)
{
}
int vg_cache_sync(struct vg_cache *c)
{
	return -ENOSYS;
}
struct vg_cache_reader *vg_cache_reader_new(struct vg_cache *c)
{
	return NULL;
}
void vg_cache_reader_free(struct vg_cache_reader *rd)
{
}
int vg_cache_read_begin(struct vg_cache_reader *rd)
{
	return -ENOSYS;
}
void vg_cache_read_end(struct vg_cache_reader *rd)
{
}
int vg_cache_answer_get(struct vg_cache_reader *rd, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, bool do_bit, bool cd_bit, uint16_t id, uint32_t now,
			uint8_t *out, size_t cap, size_t *outlen, unsigned *flags,
			int allow_stale_secs)
{
	return -ENOSYS;
}
int vg_cache_answer_put(struct vg_cache *c, const uint8_t *qname, uint16_t qtype, bool do_bit,
			bool cd_bit, const uint8_t *wire, size_t len, uint8_t rank, uint8_t sec,
			uint8_t flags, uint32_t now)
{
	return -ENOSYS;
}
int vg_cache_rrset_put(struct vg_cache *c, const struct vg_cache_rrset *rs, uint32_t now)
{
	return -ENOSYS;
}
int vg_cache_rrset_get(struct vg_cache_reader *rd, const uint8_t *owner, uint16_t type,
		       uint32_t now, int allow_stale_secs, uint8_t *buf, size_t cap,
		       struct vg_cache_rrset_view *view)
{
	return -ENOSYS;
}
int vg_cache_neg_put(struct vg_cache *c, const struct vg_cache_neg *neg, uint32_t now)
{
	return -ENOSYS;
}
int vg_cache_zonecut_find(struct vg_cache_reader *rd, const uint8_t *qname, uint32_t now,
			  uint8_t *zone, uint8_t *buf, size_t cap, struct vg_cache_rrset_view *view,
			  bool *ds_known)
{
	return -ENOSYS;
}
int vg_cache_flush_all(struct vg_cache *c)
{
	return -ENOSYS;
}
int vg_cache_flush_name(struct vg_cache *c, const uint8_t *name, uint16_t type)
{
	return -ENOSYS;
}
int vg_cache_flush_zone(struct vg_cache *c, const uint8_t *zone)
{
	return -ENOSYS;
}
int vg_cache_flush_negative(struct vg_cache *c)
{
	return -ENOSYS;
}
int vg_cache_flush_suspicious(struct vg_cache *c)
{
	return -ENOSYS;
}
int vg_cache_dump(struct vg_cache *c, void *f, uint32_t now)
{
	return -ENOSYS;
}
int vg_cache_stats(struct vg_cache *c, struct vg_cache_stats *st)
{
	return -ENOSYS;
}
