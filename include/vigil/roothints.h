/* The IANA root hints and root trust anchors built into vigild (from Debian's dns-root-data at
 * build time; library vg_roothints_dep, defined by daemon/roothints/meson.build). Used when the
 * config sets no root-hints / trust-anchor-file. Immutable, thread-safe, static lifetime. */
#ifndef VIGIL_ROOTHINTS_H
#define VIGIL_ROOTHINTS_H

/* named.root in zone-file form: NS records of the root and A/AAAA of the root servers. */
extern const char vg_builtin_root_hints[];

/* The root's DS records in zone-file form (". IN DS 20326 8 2 ..."). */
extern const char vg_builtin_root_ds[];

#endif
