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

/* Deletes every key starting with prefix (a name prefix or a subtree) whose type matches. */
static int del_prefix(MDB_txn *txn, MDB_dbi dbi, const uint8_t *pfx, size_t plen, bool answer,
		      uint16_t type)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	MDB_val k = {.mv_size = plen, .mv_data = (void *)pfx}, v;
	rc = plen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
		  : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, pfx, plen) == 0) {
		const uint8_t *kb = k.mv_data;
		size_t tail = answer ? 3 : 2;
		bool match = type == 0 ||
			     (k.mv_size == plen + tail && vg_get_u16(kb + plen) == type) ||
			     (!answer && k.mv_size == plen + tail && vg_get_u16(kb + plen) == 0);
		if (match) {
			rc = mdb_cursor_del(cur, 0);
			if (rc)
				break;
		}
		/* After a delete LMDB leaves the cursor so that NEXT yields the following item. */
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int del_where(MDB_txn *txn, MDB_dbi dbi, bool negative)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	MDB_val k, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		struct vg_cval_hdr h;
		bool bad = vg_cval_hdr_decode(v.mv_data, v.mv_size, &h) < 0;
		bool match = bad || (negative ? h.kind != VG_CACHE_POSITIVE
					      : (h.flags & VG_CACHE_F_SUSPECT) != 0);
		if (match && (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int vg_cache_apply_flush(struct vg_cache *c, MDB_txn *txn, const struct vg_cop *op)
{
	int rc = 0;
	switch (op->kind) {
	case VG_COP_FLUSH_ALL:
		rc = mdb_drop(txn, c->dbi_rrset, 0);
		if (!rc)
			rc = mdb_drop(txn, c->dbi_answer, 0);
		break;
	case VG_COP_FLUSH_NAME:
		/* The name's NXDOMAIN entry (type 0) goes with any type: it would hide the type. */
		rc = del_prefix(txn, c->dbi_rrset, op->data, op->klen, false, op->type);
		if (!rc)
			rc = del_prefix(txn, c->dbi_answer, op->data, op->klen, true, op->type);
		break;
	case VG_COP_FLUSH_ZONE:
		rc = del_prefix(txn, c->dbi_rrset, op->data, op->klen, false, 0);
		if (!rc)
			rc = del_prefix(txn, c->dbi_answer, op->data, op->klen, true, 0);
		break;
	case VG_COP_FLUSH_NEG:
	case VG_COP_FLUSH_SUSPECT:
		rc = del_where(txn, c->dbi_rrset, op->kind == VG_COP_FLUSH_NEG);
		if (!rc)
			rc = del_where(txn, c->dbi_answer, op->kind == VG_COP_FLUSH_NEG);
		break;
	default:
		break;
	}
	return rc;
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

/* A, AAAA and single-name types in presentation form; the rest as RFC 3597 generic data. */
static void print_rdata(FILE *f, uint16_t type, const uint8_t *rd, size_t len)
{
	char txt[VG_NAME_TEXT_MAX];
	if (type == 1 && len == 4) {
		fprintf(f, "%u.%u.%u.%u", rd[0], rd[1], rd[2], rd[3]);
		return;
	}
	if (type == 28 && len == 16) {
		for (int i = 0; i < 16; i += 2)
			fprintf(f, "%s%x", i ? ":" : "", vg_get_u16(rd + i));
		return;
	}
	if ((type == 2 || type == 5 || type == 12 || type == 39) &&
	    vg_name_len(rd, len) == (int)len && vg_name_to_text(rd, txt, sizeof(txt)) >= 0) {
		fprintf(f, "%s", txt);
		return;
	}
	fprintf(f, "\\# %zu ", len);
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", rd[i]);
}

static void dump_rrset(FILE *f, const uint8_t *name, uint16_t type, const MDB_val *v, uint32_t now,
		       uint8_t *buf, size_t cap)
{
	struct vg_cval_hdr h;
	struct vg_cache_rrset_view vw;
	char owner[VG_NAME_TEXT_MAX], tb[16], zb[VG_NAME_TEXT_MAX];
	if (vg_rrset_decode(v->mv_data, v->mv_size, &h, buf, cap, &vw) < 0) {
		fprintf(f, "; corrupt rrset entry\n");
		return;
	}
	vg_name_to_text(name, owner, sizeof(owner));
	uint32_t left = vg_cval_left(&h, now);
	const char *st = left ? "" : " stale";
	const char *sus = (h.flags & VG_CACHE_F_SUSPECT) ? " suspect" : "";
	if (h.kind != VG_CACHE_POSITIVE) {
		vg_name_to_text(vw.soa_owner, zb, sizeof(zb));
		fprintf(f, "%s %u IN %s \\# 0 ; %s soa=%s rank=%u sec=%s%s%s\n", owner, left,
			type ? type_name(type, tb) : "ANY",
			h.kind == VG_CACHE_NXDOMAIN ? "NXDOMAIN" : "NODATA", zb, h.rank,
			sec_name(h.sec), st, sus);
		return;
	}
	size_t pos = 0;
	for (unsigned i = 0; i < vw.rr_count; i++) {
		size_t rl = vg_get_u16(vw.rdata + pos);
		fprintf(f, "%s %u %s %s ", owner, left, h.aux == 1 ? "IN" : "CLASS?",
			type_name(type, tb));
		print_rdata(f, type, vw.rdata + pos + 2, rl);
		fprintf(f, " ; rank=%u sec=%s%s%s\n", h.rank, sec_name(h.sec), st, sus);
		pos += 2 + rl;
	}
	if (vw.sig_count)
		fprintf(f, "; %s %s: %u RRSIG(s)\n", owner, type_name(type, tb), vw.sig_count);
}

int vg_cache_dump(struct vg_cache *c, void *fp, uint32_t now)
{
	FILE *f = fp;
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
		MDB_val k, v;
		int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		for (; r == 0; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			uint8_t name[VG_NAME_MAX], dob = 0;
			uint16_t type;
			char txt[VG_NAME_TEXT_MAX], tb[16];
			if (vg_ckey_parse(k.mv_data, k.mv_size, answer, name, &type, &dob) < 0) {
				fprintf(f, "; corrupt key\n");
				continue;
			}
			if (!answer) {
				dump_rrset(f, name, type, &v, now, buf, cap);
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
	return rc ? vg_cache_mdb_err(rc) : 0;
}
