/* DNS names in wire and lookup format, and big-endian integer access (base library, libc only). */
#ifndef VIGIL_NAME_H
#define VIGIL_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VG_NAME_MAX 255  /* wire length of a name, including the root label */
#define VG_LABEL_MAX 63
#define VG_NAME_TEXT_MAX 1024 /* enough for any name in presentation form with \DDD escapes */

/* Big-endian access with memcpy: safe on any alignment. Bounds are the caller's job. */
static inline uint16_t vg_get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t vg_get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t vg_get_u64(const uint8_t *p)
{
	return ((uint64_t)vg_get_u32(p) << 32) | vg_get_u32(p + 4);
}
static inline void vg_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void vg_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void vg_put_u64(uint8_t *p, uint64_t v)
{
	vg_put_u32(p, (uint32_t)(v >> 32));
	vg_put_u32(p + 4, (uint32_t)v);
}

/* Reads a possibly compressed name at pkt[*pos] into `out` (uncompressed wire, at most
 * VG_NAME_MAX bytes) and advances *pos past it in the packet. Compression pointers must point
 * strictly backwards (to before the name that holds them); forward or self pointers, loops,
 * labels over 63, names over 255 and reads past `len` fail.
 * Returns the name's wire length (> 0), or VG_EFORMAT / VG_ETRUNC / VG_ELOOP. `out` may be NULL to
 * only validate and skip. Thread-safe. */
int vg_name_unpack(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *out);

/* Length of an uncompressed wire name of at most `max` bytes, validated; VG_EFORMAT if invalid. */
int vg_name_len(const uint8_t *name, size_t max);

/* Number of labels, not counting the root (root = 0). `name` must be valid wire. */
int vg_name_labels(const uint8_t *name);

/* ASCII case-insensitive equality of two valid wire names. */
bool vg_name_eq(const uint8_t *a, const uint8_t *b);

/* True when `name` equals `zone` or lies below it (case-insensitive). Both valid wire names. */
bool vg_name_in_zone(const uint8_t *name, const uint8_t *zone);

/* Lowercases a valid wire name in place (ASCII only, as DNS requires). */
void vg_name_lower(uint8_t *name);

/* Pointer to the suffix of `name` that has `keep` labels (keep <= labels), inside `name`. */
const uint8_t *vg_name_suffix(const uint8_t *name, int keep);

/* Wire name -> lookup format: labels in reverse order, lowercased, each followed by 0x00
 * ("www.Example.COM." -> "com\0example\0www\0"; root -> empty). Returns the length written
 * (0 for the root), or VG_ESPACE if `cap` is too small (VG_NAME_MAX always suffices).
 * Labels containing 0x00 bytes are rejected with VG_EFORMAT because they would be ambiguous. */
int vg_name_to_lookup(const uint8_t *name, uint8_t *out, size_t cap);

/* Lookup format -> lowercase wire name. Returns the wire length or VG_EFORMAT. `out` must hold
 * VG_NAME_MAX bytes. */
int vg_name_from_lookup(const uint8_t *key, size_t keylen, uint8_t *out);

/* Presentation form ("www.example.com.", root "."), with \DDD escapes for unusual bytes.
 * Returns the text length or VG_ESPACE. */
int vg_name_to_text(const uint8_t *name, char *buf, size_t cap);

/* Parses presentation form (absolute or relative; a relative name is taken as absolute) with
 * \DDD and \X escapes into wire format in `out` (VG_NAME_MAX bytes). Returns wire length or
 * VG_EFORMAT. */
int vg_name_from_text(const char *text, uint8_t *out);

#endif
