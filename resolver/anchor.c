/* Trust anchors: DS/DNSKEY trust points parsed from presentation format (the built-in root DS
 * records or trust-anchor-file texts), negative trust anchors, closest-enclosing lookup. */
#include <errno.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/anchor.h>
#include <vigil/resolver.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/roothints.h>
#include "anchor.h"

struct rdlist {
	struct vg_rdata_ref *rd;
	size_t n, cap;
};

struct point {
	struct vg_anchor_point pub;
	struct rdlist ds, keys;
};

struct vg_anchors {
	struct point *p;
	size_t n, cap;
};

int vg_anchors_new(struct vg_anchors **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void rdlist_free(struct rdlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free((void *)l->rd[i].data);
	free(l->rd);
}

void vg_anchors_free(struct vg_anchors *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		rdlist_free(&a->p[i].ds);
		rdlist_free(&a->p[i].keys);
	}
	free(a->p);
	free(a);
}

size_t vg_anchors_count(const struct vg_anchors *a)
{
	return a->n;
}

/* The point for `zone`, created when missing. Pointers into a->p move when it grows: the views'
 * rd pointers are refreshed by sync_views after every change. */
static struct point *point_for(struct vg_anchors *a, const uint8_t *zone)
{
	for (size_t i = 0; i < a->n; i++)
		if (vg_name_eq(a->p[i].pub.zone, zone))
			return &a->p[i];
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 4;
		struct point *np = realloc(a->p, nc * sizeof(*np));
		if (!np)
			return NULL;
		a->p = np;
		a->cap = nc;
	}
	struct point *p = &a->p[a->n++];
	memset(p, 0, sizeof(*p));
	memcpy(p->pub.zone, zone, (size_t)vg_name_len(zone, VG_NAME_MAX));
	vg_name_lower(p->pub.zone);
	return p;
}

static void sync_views(struct vg_anchors *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct point *p = &a->p[i];
		p->pub.ds = (struct vg_rrset_view){
		    .owner = p->pub.zone, .type = 43, .rclass = 1, .rd = p->ds.rd, .n_rd = p->ds.n};
		p->pub.dnskey = (struct vg_rrset_view){.owner = p->pub.zone,
						       .type = 48,
						       .rclass = 1,
						       .rd = p->keys.rd,
						       .n_rd = p->keys.n};
	}
}

static int rdlist_add(struct rdlist *l, const uint8_t *d, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rd[i].len == len && memcmp(l->rd[i].data, d, len) == 0)
			return 0; /* the same record twice */
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 4;
		struct vg_rdata_ref *nr = realloc(l->rd, nc * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		l->rd = nr;
		l->cap = nc;
	}
	uint8_t *copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, d, len);
	l->rd[l->n++] = (struct vg_rdata_ref){copy, (uint16_t)len};
	return 0;
}

static int failf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return VG_ECONFIG;
}

/* Checks one parsed record; on success adds it to `a` (when a is not NULL). */
static int take_rr(struct vg_anchors *a, const ldns_rr *rr, const char *name, int line, char *err,
		   size_t errlen)
{
	ldns_rr_type t = ldns_rr_get_type(rr);
	char *tn = ldns_rr_type2str(t);
	int rc = 0;
	if (t != LDNS_RR_TYPE_DS && t != LDNS_RR_TYPE_DNSKEY) {
		rc = failf(err, errlen, "%s:%d: %s record: a trust anchor is a DS or DNSKEY record",
			   name, line, tn ? tn : "?");
		goto out;
	}
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		rc = failf(err, errlen, "%s:%d: class is not IN", name, line);
		goto out;
	}
	ldns_buffer *b = ldns_buffer_new(512);
	if (!b || ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK) {
		if (b)
			ldns_buffer_free(b);
		rc = -ENOMEM;
		goto out;
	}
	const uint8_t *d = ldns_buffer_begin(b);
	size_t len = ldns_buffer_position(b);
	if (t == LDNS_RR_TYPE_DS) {
		uint8_t dt = len >= 4 ? d[3] : 0;
		size_t want = dt == 1 ? 20 : dt == 2 ? 32 : dt == 4 ? 48 : 0;
		if (len < 5 || (want && len != 4 + want))
			rc = failf(err, errlen,
				   "%s:%d: DS digest has %zu bytes, digest type %u needs %zu", name,
				   line, len >= 4 ? len - 4 : 0, dt, want);
	} else if (len < 5 || !(vg_get_u16(d) & 0x0100) || d[2] != 3) {
		rc = failf(err, errlen,
			   "%s:%d: DNSKEY is not a zone key (flags need bit 7, protocol 3)", name,
			   line);
	}
	if (rc == 0 && a) {
		const ldns_rdf *owner = ldns_rr_owner(rr);
		struct point *p = point_for(a, ldns_rdf_data(owner));
		if (!p)
			rc = -ENOMEM;
		else
			rc = rdlist_add(t == LDNS_RR_TYPE_DS ? &p->ds : &p->keys, d, len);
		sync_views(a);
	}
	ldns_buffer_free(b);
out:
	free(tn);
	return rc;
}

static int parse_text(struct vg_anchors *a, const char *name, const char *text, char *err,
		      size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		return strlen(text) ? -errno
				    : failf(err, errlen, "%s: no DS or DNSKEY record", name);
	uint32_t ttl = 3600;
	ldns_rdf *origin = ldns_dname_new_frm_str("."), *prev = NULL;
	int line = 0, rc = 0, records = 0;
	while (rc == 0 && !feof(f)) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
			rc =
			    failf(err, errlen, "%s:%d: $INCLUDE is not supported here", name, line);
			break;
		}
		if (st != LDNS_STATUS_OK) {
			rc = failf(err, errlen, "%s:%d: %s", name, line ? line : 1,
				   ldns_get_errorstr_by_id(st));
			break;
		}
		rc = take_rr(a, rr, name, line, err, errlen);
		records++;
		ldns_rr_free(rr);
	}
	fclose(f);
	ldns_rdf_deep_free(origin);
	if (prev)
		ldns_rdf_deep_free(prev);
	if (rc == 0 && records == 0)
		rc = failf(err, errlen, "%s: no DS or DNSKEY record", name);
	return rc;
}

int vg_anchors_add_text(struct vg_anchors *a, const char *name, const char *text, char *err,
			size_t errlen)
{
	return parse_text(a, name, text, err, errlen);
}

int vg_anchor_text_check(const char *name, const char *text, char *err, size_t errlen)
{
	return parse_text(NULL, name, text, err, errlen);
}

int vg_anchors_add_builtin(struct vg_anchors *a)
{
	char err[256];
	return parse_text(a, "built-in root.ds", vg_builtin_root_ds, err, sizeof(err));
}

int vg_anchors_add_nta(struct vg_anchors *a, const uint8_t *zone)
{
	/* An NTA is a point of its own: a trust point for the same zone keeps its records
	 * but the NTA flag makes lookups report "do not validate". */
	struct point *p = point_for(a, zone);
	if (!p)
		return -ENOMEM;
	p->pub.nta = true;
	sync_views(a);
	return 0;
}

int vg_anchors_from_opts(struct vg_anchors *a, const struct vg_dnssec_opts *o, char *err,
			 size_t errlen)
{
	int rc = 0;
	if (o->n_anchors == 0) {
		rc = vg_anchors_add_builtin(a);
	} else {
		for (size_t i = 0; i < o->n_anchors && rc == 0; i++) {
			const char *name =
			    o->anchor_names ? o->anchor_names[i] : "trust-anchor-file";
			const char *text = o->anchor_texts ? o->anchor_texts[i] : NULL;
			if (!text)
				return failf(err, errlen, "%s: not read", name);
			rc = vg_anchors_add_text(a, name, text, err, errlen);
		}
	}
	for (size_t i = 0; i < o->n_nta && rc == 0; i++)
		rc = vg_anchors_add_nta(a, o->nta[i]);
	return rc;
}

const struct vg_anchor_point *vg_anchors_lookup(const struct vg_anchors *a, const uint8_t *name)
{
	const struct vg_anchor_point *best = NULL;
	int best_labels = -1;
	for (size_t i = 0; i < a->n; i++) {
		const struct vg_anchor_point *p = &a->p[i].pub;
		if (!vg_name_in_zone(name, p->zone))
			continue;
		int l = vg_name_labels(p->zone);
		if (l > best_labels) {
			best = p;
			best_labels = l;
		}
	}
	return best;
}
