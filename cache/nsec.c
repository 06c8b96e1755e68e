/* The NSEC index: validated NSEC and NSEC3 RRsets by zone in DNSSEC canonical order, so that one
 * range lookup finds the record whose span may cover a name (RFC 8198 aggressive use). */
#include <errno.h>
#include <string.h>

#include "impl.h"
#include "vigil/err.h"
#include "vigil/log.h"

#define T_NSEC 47
#define T_NSEC3 50

int vg_ckey_nsec(uint8_t *key, const uint8_t *zone, uint16_t type, const uint8_t *owner)
{
	uint8_t lk[VG_NAME_MAX];
	int zl = vg_name_to_lookup(zone, key, VG_NAME_MAX);
	int ol = vg_name_to_lookup(owner, lk, sizeof(lk));
	if (zl < 0 || ol < zl || memcmp(lk, key, (size_t)zl) != 0)
		return VG_EFORMAT;
	key[zl] = 0;
	vg_put_u16(key + zl + 1, type);
	memcpy(key + zl + 3, lk + zl, (size_t)(ol - zl));
	return ol + 3;
}

int vg_nsec_index_key(uint8_t *key, const uint8_t *owner, uint16_t type, const uint8_t *sigs,
		      size_t sigs_len)
{
	/* The signer of the first RRSIG: (u16 rdlen, rdata) with the signer at offset 18. The set
	 * is secure, so a signature by that zone verified it. */
	if ((type != T_NSEC && type != T_NSEC3) || sigs_len < 2 + 19)
		return VG_ENOTFOUND;
	size_t rl = vg_get_u16(sigs);
	if (rl < 19 || 2 + rl > sigs_len || vg_name_len(sigs + 2 + 18, rl - 18) <= 0)
		return VG_ENOTFOUND;
	/* an owner outside its signer's zone is not indexed */
	return vg_ckey_nsec(key, sigs + 2 + 18, type, owner);
}

/* Deletes the keys starting with key[0..kl) (all of them when kl is 0), at most `limit` per txn
 * so that one txn's dirty pages stay inside the map's headroom. */
static int range_delete(struct vg_cache *c, const uint8_t *key, size_t kl, unsigned limit)
{
	for (;;) {
		MDB_txn *txn;
		MDB_cursor *cur;
		int rc = mdb_txn_begin(c->env, NULL, 0, &txn);
		if (rc)
			return vg_cache_mdb_err(rc);
		if ((rc = mdb_cursor_open(txn, c->dbi_nsec, &cur)) != 0) {
			mdb_txn_abort(txn);
			return vg_cache_mdb_err(rc);
		}
		MDB_val k = {.mv_size = kl, .mv_data = (void *)key}, v;
		rc = kl ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
			: mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		unsigned n = 0;
		while (rc == 0 && n < limit && k.mv_size >= kl && !memcmp(k.mv_data, key, kl)) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			n++;
			/* after a delete, NEXT yields the following item */
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(cur);
		if (rc && rc != MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return vg_cache_mdb_err(rc);
		}
		if ((rc = mdb_txn_commit(txn)) != 0)
			return vg_cache_mdb_err(rc);
		if (n < limit)
			return 0;
	}
}

int vg_nsec_index_flush(struct vg_cache *c, const struct vg_cop *op)
{
	unsigned limit = c->batch_max * 4;
	switch (op->kind) {
	case VG_COP_FLUSH_ALL:
	case VG_COP_FLUSH_NEG: /* proofs of absence are negative data */
		return range_delete(c, NULL, 0, limit);
	case VG_COP_FLUSH_ZONE: /* op->data: lookup(zone), a prefix of its and its children's keys
				 */
		return range_delete(c, op->data, op->klen, limit);
	default:
		return 0;
	}
}

/* The index entry at the cursor when it belongs to prefix[0..pl): its value checked and decoded
 * into buf (live and secure only), its owner rebuilt into `owner`. */
static int entry(struct vg_cache_reader *rd, const MDB_val *k, const MDB_val *v,
		 const uint8_t *prefix, size_t pl, uint32_t now, uint8_t *owner, uint8_t *buf,
		 size_t cap, struct vg_cache_rrset_view *view)
{
	if (k->mv_size < pl || memcmp(k->mv_data, prefix, pl) != 0 || k->mv_size - 3 > VG_NAME_MAX)
		return VG_ENOTFOUND;
	struct vg_cval_hdr h;
	if (vg_rrset_decode(v->mv_data, v->mv_size, &h, buf, cap, view) < 0) {
		atomic_fetch_add(&rd->c->st_corrupt, 1);
		return VG_ENOTFOUND;
	}
	uint32_t age;
	unsigned hint;
	/* Never stale: an expired proof is no proof (RFC 8198 5.4). */
	if (vg_cval_fresh(&h, now, 0, 0, &age, &hint) < 0)
		return VG_ESTALE;
	if (h.kind != VG_CACHE_POSITIVE || h.sec != VG_SEC_SECURE)
		return VG_ENOTFOUND;
	uint8_t lk[VG_NAME_MAX + 4];
	size_t zl = pl - 3;
	memcpy(lk, prefix, zl);
	memcpy(lk + zl, (const uint8_t *)k->mv_data + pl, k->mv_size - pl);
	if (vg_name_from_lookup(lk, zl + k->mv_size - pl, owner) < 0)
		return VG_ENOTFOUND;
	view->type = vg_get_u16(prefix + zl + 1);
	view->ttl = h.ttl - age;
	view->hint = hint;
	return 0;
}

int vg_cache_nsec_find(struct vg_cache_reader *rd, const uint8_t *zone, uint16_t type,
		       const uint8_t *name, uint32_t now, uint8_t *owner, uint8_t *buf, size_t cap,
		       struct vg_cache_rrset_view *view)
{
	if (vg_fails(rd->active))
		return -EINVAL;
	struct vg_cache *c = rd->c;
	uint8_t key[VG_CKEY_MAX], prefix[VG_CKEY_MAX];
	int kl = vg_ckey_nsec(key, zone, type, name ? name : zone);
	int pl = vg_ckey_nsec(prefix, zone, type, zone);
	if (kl < 0 || pl < 0 || (type != T_NSEC && type != T_NSEC3))
		return VG_ENOTFOUND;
	MDB_cursor *cur;
	if (mdb_cursor_open(rd->txn, c->dbi_nsec, &cur) != 0)
		return VG_ENOTFOUND;
	MDB_val k = {.mv_size = (size_t)kl, .mv_data = key}, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	/* name NULL: the zone's first entry. Else the greatest key at or below the name's: the
	 * record at the name itself, or the one before it in canonical order. */
	if (name && !(rc == 0 && k.mv_size == (size_t)kl && !memcmp(k.mv_data, key, (size_t)kl)))
		rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
			     : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (name && (rc != 0 || k.mv_size < (size_t)pl || memcmp(k.mv_data, prefix, (size_t)pl))) {
		/* Before the zone's first owner (NSEC3 hashes wrap around): the last record of
		 * the zone's span list covers it. Its key is the one before the next type's. */
		vg_put_u16(prefix + pl - 2, (uint16_t)(type + 1));
		k = (MDB_val){.mv_size = (size_t)pl, .mv_data = prefix};
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
			     : mdb_cursor_get(cur, &k, &v, MDB_LAST);
		vg_put_u16(prefix + pl - 2, type);
	}
	if (rc == 0)
		rc = entry(rd, &k, &v, prefix, (size_t)pl, now, owner, buf, cap, view);
	else
		rc = VG_ENOTFOUND;
	mdb_cursor_close(cur);
	return rc;
}

int vg_cache_nsec_zone(struct vg_cache_reader *rd, const uint8_t *zone, uint16_t *type)
{
	if (vg_fails(rd->active))
		return -EINVAL;
	uint8_t key[VG_CKEY_MAX];
	int pl = vg_ckey_nsec(key, zone, T_NSEC3, zone);
	MDB_cursor *cur;
	if (pl < 0 || mdb_cursor_open(rd->txn, rd->c->dbi_nsec, &cur) != 0)
		return VG_ENOTFOUND;
	/* NSEC3 first: a zone that has both is changing its denial kind. */
	int rc = VG_ENOTFOUND;
	for (int i = 0; i < 2 && rc == VG_ENOTFOUND; i++) {
		uint16_t t = i == 0 ? T_NSEC3 : T_NSEC;
		vg_put_u16(key + pl - 2, t);
		MDB_val k = {.mv_size = (size_t)pl, .mv_data = key}, v;
		if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size >= (size_t)pl &&
		    memcmp(k.mv_data, key, (size_t)pl) == 0) {
			*type = t;
			rc = 0;
		}
	}
	mdb_cursor_close(cur);
	return rc;
}
