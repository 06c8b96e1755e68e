/* The one owner of the cache's on-disk layout: key format and the common value header. */
#include <string.h>

#include "impl.h"
#include "vigil/err.h"

static int name_key(uint8_t *key, const uint8_t *name)
{
	int n = vg_name_to_lookup(name, key, VG_NAME_MAX);
	return n;
}

int vg_ckey_zone_prefix(uint8_t *key, const uint8_t *name)
{
	return name_key(key, name);
}

int vg_ckey_name_prefix(uint8_t *key, const uint8_t *name)
{
	int n = name_key(key, name);
	if (n < 0)
		return n;
	key[n++] = 0;
	return n;
}

int vg_ckey_rrset(uint8_t *key, const uint8_t *name, uint16_t type)
{
	int n = vg_ckey_name_prefix(key, name);
	if (n < 0)
		return n;
	vg_put_u16(key + n, type);
	return n + 2;
}

int vg_ckey_rrset_at(uint8_t *key, int len, uint16_t type)
{
	key[len] = 0;
	vg_put_u16(key + len + 1, type);
	return len + 3;
}

int vg_ckey_deleg(uint8_t *key, const uint8_t *name)
{
	return vg_ckey_rrset(key, name, VG_CKEY_T_DELEG);
}

int vg_ckey_answer(uint8_t *key, const uint8_t *name, uint16_t type, bool do_bit, bool cd_bit)
{
	int n = vg_ckey_rrset(key, name, type);
	if (n < 0)
		return n;
	key[n++] = (uint8_t)((do_bit ? VG_CKEY_DO : 0) | (cd_bit ? VG_CKEY_CD : 0));
	return n;
}

int vg_ckey_parse(const uint8_t *key, size_t len, bool answer, uint8_t *name, uint16_t *type,
		  uint8_t *dobits)
{
	size_t tail = answer ? 4 : 3; /* separator, type, [dobits] */
	if (len < tail || len - tail > VG_NAME_MAX)
		return VG_ECORRUPT;
	size_t nl = len - tail;
	if (key[nl] != 0)
		return VG_ECORRUPT;
	if (vg_name_from_lookup(key, nl, name) < 0)
		return VG_ECORRUPT;
	*type = vg_get_u16(key + nl + 1);
	if (dobits)
		*dobits = answer ? key[nl + 3] : 0;
	return 0;
}

int vg_cval_hdr_decode(const uint8_t *v, size_t len, struct vg_cval_hdr *h)
{
	if (len < VG_CVAL_HDR || v[0] != VG_CACHE_FORMAT || v[1] > VG_CACHE_NXDOMAIN)
		return VG_ECORRUPT;
	h->format = v[0];
	h->kind = v[1];
	h->rank = v[2];
	h->sec = v[3];
	h->flags = v[4];
	h->uses = v[5];
	h->aux = vg_get_u16(v + 6);
	h->stored_at = vg_get_u32(v + 8);
	h->ttl = vg_get_u32(v + 12);
	h->used_at = vg_get_u32(v + 16);
	if (h->sec > VG_SEC_BOGUS || h->ttl > VG_CACHE_TTL_LIMIT)
		return VG_ECORRUPT;
	return 0;
}

void vg_cval_hdr_encode(uint8_t *v, const struct vg_cval_hdr *h)
{
	v[0] = h->format;
	v[1] = h->kind;
	v[2] = h->rank;
	v[3] = h->sec;
	v[4] = h->flags;
	v[5] = h->uses;
	vg_put_u16(v + 6, h->aux);
	vg_put_u32(v + 8, h->stored_at);
	vg_put_u32(v + 12, h->ttl);
	vg_put_u32(v + 16, h->used_at);
}
