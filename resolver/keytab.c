/* The per-worker key table (keytab.h): proven zone keys and insecure cuts, each until the first
 * expiry of the cached records that proved it. */
#include "keytab.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/cache.h>
#include <vigil/hash.h>

#define WAYS 2

struct vg_keytab {
	uint64_t key[2];
	size_t n;
	struct vg_keytab_entry *slot[VG_KEYTAB_SLOTS];
};

struct vg_keytab *vg_keytab_new(const uint64_t key[2])
{
	struct vg_keytab *t = calloc(1, sizeof(*t));
	if (t)
		memcpy(t->key, key, sizeof(t->key));
	return t;
}

void vg_keytab_clear(struct vg_keytab *t)
{
	for (size_t i = 0; t && i < VG_KEYTAB_SLOTS; i++) {
		free(t->slot[i]);
		t->slot[i] = NULL;
	}
	if (t)
		t->n = 0;
}

void vg_keytab_free(struct vg_keytab *t)
{
	vg_keytab_clear(t);
	free(t);
}

size_t vg_keytab_count(const struct vg_keytab *t)
{
	return t ? t->n : 0;
}

/* The first slot of name's bucket; `low` gets the lowercase name, *len its length. */
static size_t bucket(const struct vg_keytab *t, const uint8_t *name, uint8_t *low, int *len)
{
	*len = vg_name_len(name, VG_NAME_MAX);
	if (*len <= 0)
		return SIZE_MAX;
	memcpy(low, name, (size_t)*len);
	vg_name_lower(low);
	uint64_t h = vg_siphash13(t->key, low, (size_t)*len);
	return (size_t)(h % (VG_KEYTAB_SLOTS / WAYS)) * WAYS;
}

static void drop(struct vg_keytab *t, size_t i)
{
	free(t->slot[i]);
	t->slot[i] = NULL;
	t->n--;
}

/* Whether e is good at `now` for generation `gen`; serial arithmetic is not needed: `until` is
 * never more than a TTL (at most 2^31 s) past the time it was put. */
static bool live(const struct vg_keytab_entry *e, uint32_t now, uint64_t gen)
{
	return e->gen == gen && (int32_t)(e->until - now) > 0;
}

const struct vg_keytab_entry *vg_keytab_get(struct vg_keytab *t, const uint8_t *name, uint32_t now,
					    uint64_t gen)
{
	uint8_t low[VG_NAME_MAX];
	int len;
	size_t b = t ? bucket(t, name, low, &len) : SIZE_MAX;
	if (b == SIZE_MAX)
		return NULL;
	for (size_t i = b; i < b + WAYS; i++) {
		struct vg_keytab_entry *e = t->slot[i];
		if (!e || memcmp(e->name, low, (size_t)len) != 0)
			continue;
		if (live(e, now, gen))
			return e;
		drop(t, i); /* expired, or a flush came after it */
		return NULL;
	}
	return NULL;
}

uint32_t vg_keytab_sig_until(const struct vg_rrset_view *set, uint32_t now, uint32_t until)
{
	uint32_t vnow = vg_dnssec_now();
	for (size_t i = 0; i < set->n_sig; i++) {
		const struct vg_rdata_ref *s = &set->sig[i];
		if (s->len < 12)
			continue;
		uint32_t expire = (uint32_t)s->data[8] << 24 | (uint32_t)s->data[9] << 16 |
				  (uint32_t)s->data[10] << 8 | s->data[11];
		int32_t left = (int32_t)(expire - vnow);
		if (left <= 0)
			return now;
		if ((int32_t)(now + (uint32_t)left - until) < 0)
			until = now + (uint32_t)left;
	}
	return until;
}

int vg_keytab_put(struct vg_keytab *t, const uint8_t *name, uint8_t sec, uint16_t ede,
		  const char *why, const struct vg_rrset_view *keys, uint32_t now, uint32_t until,
		  uint64_t gen)
{
	uint8_t low[VG_NAME_MAX];
	int len;
	size_t b = t ? bucket(t, name, low, &len) : SIZE_MAX;
	if (b == SIZE_MAX)
		return -EINVAL;
	if ((sec != VG_SEC_SECURE && sec != VG_SEC_INSECURE) || (int32_t)(until - now) <= 0 ||
	    (sec == VG_SEC_SECURE && (!keys || !keys->n_rd)))
		return 0;
	size_t nref = sec == VG_SEC_SECURE ? keys->n_rd + keys->n_sig : 0, bytes = 0;
	for (size_t i = 0; sec == VG_SEC_SECURE && i < keys->n_rd; i++)
		bytes += keys->rd[i].len;
	for (size_t i = 0; sec == VG_SEC_SECURE && i < keys->n_sig; i++)
		bytes += keys->sig[i].len;
	size_t extra = nref * sizeof(struct vg_rdata_ref) + bytes;
	if (extra > VG_KEYTAB_ENTRY_MAX)
		return 0;
	/* The slot: name's own, else a free or dead one, else the one that expires first. */
	size_t at = SIZE_MAX;
	for (size_t i = b; i < b + WAYS && at == SIZE_MAX; i++)
		if (t->slot[i] && !memcmp(t->slot[i]->name, low, (size_t)len))
			at = i;
	for (size_t i = b; i < b + WAYS && at == SIZE_MAX; i++)
		if (!t->slot[i] || !live(t->slot[i], now, gen))
			at = i;
	if (at == SIZE_MAX)
		at = (int32_t)(t->slot[b]->until - t->slot[b + 1]->until) <= 0 ? b : b + 1;
	struct vg_keytab_entry *e = malloc(sizeof(*e) + extra);
	if (!e)
		return 0;
	*e = (struct vg_keytab_entry){
	    .sec = sec, .ede = ede, .why = why, .until = until, .gen = gen};
	memcpy(e->name, low, (size_t)len);
	int ol = sec == VG_SEC_SECURE ? vg_name_len(keys->owner, VG_NAME_MAX) : 0;
	if (ol < 0)
		return -EINVAL;
	if (sec == VG_SEC_SECURE) {
		memcpy(e->owner, keys->owner, (size_t)ol);
		vg_name_lower(e->owner);
		struct vg_rdata_ref *ref = (struct vg_rdata_ref *)(e + 1);
		uint8_t *p = (uint8_t *)(ref + nref);
		for (size_t i = 0; i < nref; i++) {
			const struct vg_rdata_ref *src =
			    i < keys->n_rd ? &keys->rd[i] : &keys->sig[i - keys->n_rd];
			memcpy(p, src->data, src->len);
			ref[i] = (struct vg_rdata_ref){p, src->len};
			p += src->len;
		}
		e->keys = (struct vg_rrset_view){.owner = e->owner,
						 .type = keys->type,
						 .rclass = keys->rclass,
						 .ttl = until - now,
						 .rd = ref,
						 .n_rd = keys->n_rd,
						 .sig = ref + keys->n_rd,
						 .n_sig = keys->n_sig};
	}
	if (t->slot[at])
		drop(t, at);
	t->slot[at] = e;
	t->n++;
	return 0;
}

bool vg_keytab_copy_keys(const struct vg_keytab_entry *e, struct vg_arena *a,
			 struct vg_rrset_view *out)
{
	const struct vg_rrset_view *k = &e->keys;
	int ol = vg_name_len(k->owner, VG_NAME_MAX);
	const uint8_t *owner = ol > 0 ? vg_arena_memdup(a, k->owner, (size_t)ol) : NULL;
	if (!owner)
		return false;
	size_t nref = k->n_rd + k->n_sig, bytes = 0;
	for (size_t i = 0; i < nref; i++)
		bytes += i < k->n_rd ? k->rd[i].len : k->sig[i - k->n_rd].len;
	struct vg_rdata_ref *ref = vg_arena_alloc(a, nref * sizeof(*ref) + bytes + 1);
	if (!ref)
		return false;
	uint8_t *p = (uint8_t *)(ref + nref);
	for (size_t i = 0; i < nref; i++) {
		const struct vg_rdata_ref *src = i < k->n_rd ? &k->rd[i] : &k->sig[i - k->n_rd];
		memcpy(p, src->data, src->len);
		ref[i] = (struct vg_rdata_ref){p, src->len};
		p += src->len;
	}
	*out = *k;
	out->owner = owner;
	out->rd = ref;
	out->sig = ref + k->n_rd;
	return true;
}
