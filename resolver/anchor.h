/* The resolver's trust anchors: DS or DNSKEY trust points for the root or any zone (islands of
 * trust) and negative trust anchors, with a closest-enclosing lookup. Built once per resolver
 * before it answers; read-only afterwards (lookups are then thread-safe). */
#ifndef VIGIL_RESOLVER_ANCHOR_H
#define VIGIL_RESOLVER_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dnssec.h"

struct vg_dnssec_opts;

/* One trust point. `ds` and `dnskey` are views (owner = zone) for vg_dnssec_verify_dnskey_ds and
 * vg_dnssec_verify_dnskey_anchor; either may be empty (n_rd 0). An NTA has both empty. */
struct vg_anchor_point {
	uint8_t zone[256]; /* wire, lowercase */
	bool nta;	   /* negative trust anchor: no validation at and below zone */
	struct vg_rrset_view ds, dnskey;
};

struct vg_anchors;

int vg_anchors_new(struct vg_anchors **out);
void vg_anchors_free(struct vg_anchors *a);

/* Adds the DS/DNSKEY records of a presentation-format text (see vigil/anchor.h). Records of one
 * zone form one trust point. Returns 0, VG_ECONFIG ("NAME:LINE: reason" in err) or -ENOMEM. */
int vg_anchors_add_text(struct vg_anchors *a, const char *name, const char *text, char *err,
			size_t errlen);

/* Adds the built-in root DS records (Debian's dns-root-data at build time). */
int vg_anchors_add_builtin(struct vg_anchors *a);

/* Adds a negative trust anchor at `zone` (wire). An NTA at the same zone as a trust point wins;
 * a trust point below an NTA is used for names under it. Returns 0 or -ENOMEM. */
int vg_anchors_add_nta(struct vg_anchors *a, const uint8_t *zone);

/* From the resolver's DNSSEC options: the trust-anchor-file texts (or the built-in root anchors
 * when there is none) and the negative trust anchors. Returns 0, VG_ECONFIG (err) or -ENOMEM. */
int vg_anchors_from_opts(struct vg_anchors *a, const struct vg_dnssec_opts *o, char *err,
			 size_t errlen);

/* The deepest trust point or NTA whose zone is `name` or encloses it; NULL when none does (the
 * name is outside every island of trust: insecure). Valid until vg_anchors_free. */
const struct vg_anchor_point *vg_anchors_lookup(const struct vg_anchors *a, const uint8_t *name);

size_t vg_anchors_count(const struct vg_anchors *a);

#endif
