/* Management: flush operations (applied by the writer) and the text dump. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impl.h"
#include "vigil/err.h"
#include "vigil/log.h"

static int queue_ctl(struct vg_cache *c, enum vg_cop_kind kind, const uint8_t *key, size_t klen,
		     uint16_t type)
{
	struct vg_cop *op = vg_cop_new(kind, klen, 0);
	if (!op)
		return -ENOMEM;
	if (klen)
		memcpy(op->data, key, klen);
	op->type = type;
	return vg_cache_enqueue(c, op);
}

int vg_cache_flush_all(struct vg_cache *c)
{
	return queue_ctl(c, VG_COP_FLUSH_ALL, NULL, 0, 0);
}

int vg_cache_flush_name(struct vg_cache *c, const uint8_t *name, uint16_t type)
{
	uint8_t key[VG_CKEY_MAX];
	int kl = vg_ckey_name_prefix(key, name);
	if (kl < 0)
		return VG_EFORMAT;
	return queue_ctl(c, VG_COP_FLUSH_NAME, key, (size_t)kl, type);
}

int vg_cache_flush_zone(struct vg_cache *c, const uint8_t *zone)
{
	uint8_t key[VG_CKEY_MAX];
	int kl = vg_ckey_zone_prefix(key, zone);
	if (kl < 0)
		return VG_EFORMAT;
	return queue_ctl(c, VG_COP_FLUSH_ZONE, key, (size_t)kl, 0);
}

int vg_cache_flush_negative(struct vg_cache *c)
{
	return queue_ctl(c, VG_COP_FLUSH_NEG, NULL, 0, 0);
}

int vg_cache_flush_suspicious(struct vg_cache *c)
{
	return queue_ctl(c, VG_COP_FLUSH_SUSPECT, NULL, 0, 0);
}

/* Does this entry fall under the flush op? Name/zone ops match on the key (the scan starts at the
 * prefix and stops after it), negative/suspect ops on the value. */
static bool flush_match(const struct vg_cop *op, bool answer, const MDB_val *k, const MDB_val *v)
{
	const uint8_t *kb = k->mv_data;
	size_t plen = op->klen;
	if (op->kind == VG_COP_FLUSH_ZONE)
		return true;
	if (op->kind == VG_COP_FLUSH_NAME) {
		size_t tail = answer ? 3 : 2;
		if (op->type == 0)
			return true;
		/* The name's NXDOMAIN entry (type 0) goes with any type: it would hide the type. */
		uint16_t t = k->mv_size == plen + tail ? vg_get_u16(kb + plen) : 0xffff;
		/* NS takes the delegation along: both are "the NS set" to whoever flushes. */
		return k->mv_size == plen + tail &&
		       (t == op->type || (!answer && t == 0) ||
			(!answer && op->type == VG_TYPE_NS && t == VG_CKEY_T_DELEG));
	}
	struct vg_cval_hdr h;
	if (vg_cval_hdr_decode(v->mv_data, v->mv_size, &h) < 0)
		return true; /* damaged: goes with any filtered flush */
	if (op->kind == VG_COP_FLUSH_NEG)
		return h.kind != VG_CACHE_POSITIVE;
	return (h.flags & VG_CACHE_F_SUSPECT) != 0;
}

struct flush_pos {
	int db; /* 0 rrset, 1 answer, 2 done */
	bool started;
	size_t klen;
	uint8_t key[VG_CKEY_MAX];
};

/* Deletes up to `limit` matching entries from *p on. Returns 1 when more may remain, 0 when done,
 * or an LMDB error. Small steps keep each txn's dirty pages within the map's headroom. */
static int flush_step(struct vg_cache *c, MDB_txn *txn, const struct vg_cop *op,
		      struct flush_pos *p, unsigned limit)
{
	bool ranged = op->kind == VG_COP_FLUSH_NAME || op->kind == VG_COP_FLUSH_ZONE;
	unsigned deleted = 0;
	for (; p->db < 2; p->db++, p->started = false) {
		bool answer = p->db == 1;
		MDB_cursor *cur;
		int rc = mdb_cursor_open(txn, answer ? c->dbi_answer : c->dbi_rrset, &cur);
		if (rc)
			return rc;
		MDB_val k, v;
		if (p->started) {
			k.mv_size = p->klen;
			k.mv_data = p->key;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		} else if (ranged && op->klen) {
			k.mv_size = op->klen;
			k.mv_data = (void *)op->data;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		} else {
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		}
		p->started = true;
		while (rc == 0) {
			if (ranged &&
			    (k.mv_size < op->klen || memcmp(k.mv_data, op->data, op->klen)))
				break;
			if (flush_match(op, answer, &k, &v)) {
				if (deleted == limit) {
					/* resume here next txn (this entry not yet deleted) */
					p->klen =
					    k.mv_size <= VG_CKEY_MAX ? k.mv_size : VG_CKEY_MAX;
					memcpy(p->key, k.mv_data, p->klen);
					mdb_cursor_close(cur);
					return 1;
				}
				if ((rc = mdb_cursor_del(cur, 0)) != 0)
					break;
				deleted++;
			}
			/* After a delete LMDB leaves the cursor so that NEXT yields the following
			 * item. */
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(cur);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
	}
	return 0;
}

int vg_cache_run_flush(struct vg_cache *c, const struct vg_cop *op)
{
	struct flush_pos pos = {0};
	unsigned limit = c->batch_max * 4;
	int full = 0;
	int irc = vg_nsec_index_flush(c, op);
	if (irc < 0)
		vg_err("cache flush (NSEC index): %s", vg_strerror(irc));
	for (;;) {
		MDB_txn *txn;
		int rc = mdb_txn_begin(c->env, NULL, 0, &txn);
		if (rc)
			return vg_cache_mdb_err(rc);
		struct flush_pos saved = pos;
		int more;
		if (op->kind == VG_COP_FLUSH_ALL) {
			/* dropping frees pages without copying them: one txn is fine */
			more = mdb_drop(txn, c->dbi_rrset, 0);
			if (!more)
				more = mdb_drop(txn, c->dbi_answer, 0);
		} else {
			more = flush_step(c, txn, op, &pos, limit);
		}
		if (more < 0 || more > 1) {
			mdb_txn_abort(txn);
			rc = more;
		} else {
			rc = mdb_txn_commit(txn);
			/* After the commit: a snapshot that still shows the flushed entries was
			 * renewed before this, with the generation before it. */
			atomic_fetch_add(&c->flush_gen, 1);
		}
		if (rc == MDB_MAP_FULL && ++full < 4) {
			atomic_fetch_add(&c->st_map_full, 1);
			pos = saved;
			vg_cache_evict(c, vg_cache_now(c), true);
			continue;
		}
		if (rc) {
			vg_err("cache flush: %s", mdb_strerror(rc));
			return vg_cache_mdb_err(rc);
		}
		if (more == 0)
			return 0;
	}
}

/* ---- dump ---- */

static const char *type_name(uint16_t t, char *buf)
{
	switch (t) {
	case 1:
		return "A";
	case 2:
		return "NS";
	case 5:
		return "CNAME";
	case 6:
		return "SOA";
	case 12:
		return "PTR";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	case 33:
		return "SRV";
	case 39:
		return "DNAME";
	case 43:
		return "DS";
	case 46:
		return "RRSIG";
	case 47:
		return "NSEC";
	case 48:
		return "DNSKEY";
	case 50:
		return "NSEC3";
	case 65:
		return "HTTPS";
	default:
		sprintf(buf, "TYPE%u", t);
		return buf;
	}
}

static const char *sec_name(uint8_t s)
{
	static const char *n[] = {"indeterminate", "insecure", "secure", "bogus"};
	return s <= 3 ? n[s] : "?";
}

/* What a rank says about where the data came from: the message section (RFC 2181 5.4.1) and
 * whether we iterated to it or a forwarder handed it to us. */
static const char *rank_name(uint8_t rank)
{
	static const char *n[] = {"hint",	    "additional",     "glue",
				  "nonauth-answer", "auth-authority", "auth-answer"};
	uint8_t r = rank & (uint8_t)~VG_RANK_ITERATED;
	return r <= 5 ? n[r] : "?";
}

static void print_origin(FILE *f, const struct vg_cval_hdr *h, uint32_t now)
{
	uint32_t age = 0;
	bool known = vg_cval_age(h, now, &age);
	const char *from = (h->rank & VG_RANK_ITERATED)	       ? "iterated"
			   : (h->rank & ~VG_RANK_ITERATED) == 0 ? "hints"
								: "forwarder";
	fprintf(f, " rank=%u sec=%s (%s, %s; ttl %u", h->rank, sec_name(h->sec), rank_name(h->rank),
		from, h->ttl);
	if (known)
		fprintf(f, ", stored %u s ago)", age);
	else
		fprintf(f, ", stored in the future)");
}

/* A, AAAA and single-name types in presentation form; the rest as RFC 3597 generic data, unless
 * the caller's formatter takes it. */
static void print_rdata(FILE *f, uint16_t type, const uint8_t *rd, size_t len,
			vg_cache_rdata_fmt fmt, void *arg)
{
	char txt[VG_NAME_TEXT_MAX];
	if (fmt && fmt(f, type, rd, len, arg) == 0)
		return;
	if (type == VG_TYPE_A && len == 4) {
		fprintf(f, "%u.%u.%u.%u", rd[0], rd[1], rd[2], rd[3]);
		return;
	}
	if (type == VG_TYPE_AAAA && len == 16) {
		for (int i = 0; i < 16; i += 2)
			fprintf(f, "%s%x", i ? ":" : "", vg_get_u16(rd + i));
		return;
	}
	if ((type == VG_TYPE_NS || type == VG_TYPE_CNAME || type == VG_TYPE_PTR ||
	     type == VG_TYPE_DNAME) &&
	    vg_name_len(rd, len) == (int)len && vg_name_to_text(rd, txt, sizeof(txt)) >= 0) {
		fprintf(f, "%s", txt);
		return;
	}
	fprintf(f, "\\# %zu ", len);
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", rd[i]);
}

static void dump_rrset(FILE *f, const uint8_t *name, uint16_t type, const MDB_val *v, uint32_t now,
		       uint8_t *buf, size_t cap, vg_cache_rdata_fmt fmt, void *arg)
{
	struct vg_cval_hdr h;
	struct vg_cache_rrset_view vw;
	char owner[VG_NAME_TEXT_MAX], tb[16], zb[VG_NAME_TEXT_MAX];
	if (vg_rrset_decode(v->mv_data, v->mv_size, &h, buf, cap, &vw) < 0) {
		fprintf(f, "; corrupt rrset entry\n");
		return;
	}
	vg_name_to_text(name, owner, sizeof(owner));
	const char *deleg = type == VG_CKEY_T_DELEG ? " delegation" : "";
	if (*deleg)
		type = 2; /* NS */
	uint32_t left = vg_cval_left(&h, now);
	const char *st = left ? "" : " stale";
	const char *sus = (h.flags & VG_CACHE_F_SUSPECT) ? " suspect" : "";
	if (h.kind != VG_CACHE_POSITIVE) {
		vg_name_to_text(vw.soa_owner, zb, sizeof(zb));
		fprintf(f, "%s %u IN %s \\# 0 ; %s soa=%s", owner, left,
			type ? type_name(type, tb) : "ANY",
			h.kind == VG_CACHE_NXDOMAIN ? "NXDOMAIN" : "NODATA", zb);
		print_origin(f, &h, now);
		fprintf(f, "%s%s\n", st, sus);
		return;
	}
	size_t pos = 0;
	for (unsigned i = 0; i < vw.rr_count; i++) {
		size_t rl = vg_get_u16(vw.rdata + pos);
		fprintf(f, "%s %u %s %s ", owner, left, h.aux == 1 ? "IN" : "CLASS?",
			type_name(type, tb));
		print_rdata(f, type, vw.rdata + pos + 2, rl, fmt, arg);
		fprintf(f, " ;");
		print_origin(f, &h, now);
		fprintf(f, "%s%s%s\n", st, sus, deleg);
		pos += 2 + rl;
	}
	if (vw.sig_count)
		fprintf(f, "; %s %s: %u RRSIG(s)\n", owner, type_name(type, tb), vw.sig_count);
}

int vg_cache_dump(struct vg_cache *c, void *fp, uint32_t now)
{
	return vg_cache_dump_select(c, fp, now, NULL, 0, NULL, NULL);
}

int vg_cache_dump_select(struct vg_cache *c, void *fp, uint32_t now, const uint8_t *only,
			 uint16_t only_type, vg_cache_rdata_fmt fmt, void *arg)
{
	FILE *f = fp;
	uint8_t prefix[VG_CKEY_MAX];
	int plen = 0;
	if (only && (plen = vg_ckey_name_prefix(prefix, only)) < 0)
		return plen;
	unsigned found = 0;
	MDB_txn *txn;
	int rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return vg_cache_mdb_err(rc);
	size_t cap = 1 << 17;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		mdb_txn_abort(txn);
		return -ENOMEM;
	}
	for (int d = 0; d < 2; d++) {
		bool answer = d == 1;
		MDB_cursor *cur;
		if ((rc = mdb_cursor_open(txn, answer ? c->dbi_answer : c->dbi_rrset, &cur)))
			break;
		MDB_val k = {.mv_size = (size_t)plen, .mv_data = prefix}, v;
		int r = mdb_cursor_get(cur, &k, &v, only ? MDB_SET_RANGE : MDB_FIRST);
		for (; r == 0; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			uint8_t name[VG_NAME_MAX], dob = 0;
			uint16_t type;
			char txt[VG_NAME_TEXT_MAX], tb[16];
			/* keys of one name are contiguous: stop at the first other one */
			if (only && (k.mv_size < (size_t)plen ||
				     memcmp(k.mv_data, prefix, (size_t)plen) != 0))
				break;
			if (vg_ckey_parse(k.mv_data, k.mv_size, answer, name, &type, &dob) < 0) {
				fprintf(f, "; corrupt key\n");
				continue;
			}
			if (only_type && type != only_type &&
			    !(only_type == 2 && type == VG_CKEY_T_DELEG))
				continue;
			found++;
			if (!answer) {
				dump_rrset(f, name, type, &v, now, buf, cap, fmt, arg);
				continue;
			}
			struct vg_cval_hdr h;
			if (vg_cval_hdr_decode(v.mv_data, v.mv_size, &h) < 0) {
				fprintf(f, "; corrupt answer entry\n");
				continue;
			}
			vg_name_to_text(name, txt, sizeof(txt));
			fprintf(f, "; answer %s %s do=%d cd=%d ttl=%u len=%zu rank=%u sec=%s%s%s\n",
				txt, type_name(type, tb), !!(dob & VG_CKEY_DO),
				!!(dob & VG_CKEY_CD), vg_cval_left(&h, now),
				v.mv_size - VG_CVAL_HDR, h.rank, sec_name(h.sec),
				vg_cval_live(&h, now) ? "" : " stale",
				(h.flags & VG_CACHE_F_SUSPECT) ? " suspect" : "");
		}
		mdb_cursor_close(cur);
	}
	free(buf);
	mdb_txn_abort(txn);
	if (rc)
		return vg_cache_mdb_err(rc);
	return only && !found ? VG_ENOTFOUND : 0;
}
