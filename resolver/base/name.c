/* DNS name handling: decompression with strict pointer rules, comparison, lookup format, text. */
#include <ctype.h>
#include <stdio.h>
#include <vigil/err.h>
#include <string.h>
#include <vigil/name.h>

static inline uint8_t lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int vg_name_unpack(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *out)
{
	size_t p = *pos;
	size_t end_pos = 0; /* where the caller's cursor goes: after the first pointer or the root */
	bool jumped = false;
	size_t limit = p; /* a pointer must target strictly below this offset */
	size_t outlen = 0;

	for (;;) {
		if (p >= len)
			return VG_ETRUNC;
		uint8_t l = pkt[p];
		if ((l & 0xC0) == 0xC0) {
			if (p + 1 >= len)
				return VG_ETRUNC;
			size_t target = ((size_t)(l & 0x3F) << 8) | pkt[p + 1];
			/* Strictly backwards from the start of the name part holding the pointer: this
			 * rejects forward and self pointers and, as targets decrease, any loop. */
			if (target >= limit)
				return VG_ELOOP;
			if (!jumped) {
				end_pos = p + 2;
				jumped = true;
			}
			limit = target;
			p = target;
			continue;
		}
		if (l & 0xC0)
			return VG_EFORMAT; /* 0x40/0x80: extended label types, obsolete */
		if (p + 1 + l > len)
			return VG_ETRUNC;
		if (outlen + 1 + l > VG_NAME_MAX)
			return VG_EFORMAT;
		if (out) {
			out[outlen] = l;
			memcpy(out + outlen + 1, pkt + p + 1, l);
		}
		outlen += 1 + (size_t)l;
		p += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	*pos = jumped ? end_pos : p;
	return (int)outlen;
}

int vg_name_len(const uint8_t *name, size_t max)
{
	size_t p = 0;
	for (;;) {
		if (p >= max)
			return VG_EFORMAT;
		uint8_t l = name[p];
		if (l > VG_LABEL_MAX)
			return VG_EFORMAT;
		p += 1 + (size_t)l;
		if (p > VG_NAME_MAX)
			return VG_EFORMAT;
		if (l == 0)
			return (int)p;
	}
}

int vg_name_labels(const uint8_t *name)
{
	int n = 0;
	while (*name) {
		n++;
		name += 1 + *name;
	}
	return n;
}

bool vg_name_eq(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		uint8_t l = *a;
		if (l == 0)
			return true;
		for (uint8_t i = 1; i <= l; i++)
			if (lc(a[i]) != lc(b[i]))
				return false;
		a += 1 + l;
		b += 1 + l;
	}
}

const uint8_t *vg_name_suffix(const uint8_t *name, int keep)
{
	int skip = vg_name_labels(name) - keep;
	while (skip-- > 0)
		name += 1 + *name;
	return name;
}

bool vg_name_in_zone(const uint8_t *name, const uint8_t *zone)
{
	int nl = vg_name_labels(name), zl = vg_name_labels(zone);
	if (nl < zl)
		return false;
	return vg_name_eq(vg_name_suffix(name, zl), zone);
}

void vg_name_lower(uint8_t *name)
{
	while (*name) {
		uint8_t l = *name;
		for (uint8_t i = 1; i <= l; i++)
			name[i] = lc(name[i]);
		name += 1 + l;
	}
}

/* Copies label bytes src[0..n) to dst lowercased; false if one of them is 0x00. Eight bytes at a
 * time (SWAR): every cache lookup builds a key this way, several per miss. */
static bool label_lower(uint8_t *dst, const uint8_t *src, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t zero = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, src + i, 8);
		zero |= (x - ones) & ~x & high;
		/* Per byte below 0x80: bit 7 of (b + 0x3f) is set from 'A' up, of (b + 0x25)
		 * from '[' up; upper = ASCII and the first but not the second. */
		uint64_t low7 = x & ~high;
		uint64_t upper = ~x & ((low7 + 0x3f * ones) ^ (low7 + 0x25 * ones)) & high;
		x |= upper >> 2;
		memcpy(dst + i, &x, 8);
	}
	bool ok = zero == 0;
	for (; i < n; i++) {
		ok &= src[i] != 0;
		dst[i] = lc(src[i]);
	}
	return ok;
}

int vg_name_to_lookup(const uint8_t *name, uint8_t *out, size_t cap)
{
	const uint8_t *labels[128];
	int n = 0;
	for (const uint8_t *p = name; *p; p += 1 + *p) {
		if (n == 128)
			return VG_EFORMAT;
		labels[n++] = p;
	}
	size_t o = 0;
	for (int i = n - 1; i >= 0; i--) {
		uint8_t l = labels[i][0];
		if (o + l + 1 > cap)
			return VG_ESPACE;
		if (!label_lower(out + o, labels[i] + 1, l))
			return VG_EFORMAT;
		o += l;
		out[o++] = 0;
	}
	return (int)o;
}

int vg_name_from_lookup(const uint8_t *key, size_t keylen, uint8_t *out)
{
	/* Collect label boundaries, then emit in reverse order. */
	size_t starts[128], lens[128];
	int n = 0;
	size_t s = 0;
	for (size_t i = 0; i < keylen; i++) {
		if (key[i] == 0) {
			if (i == s || n == 128 || i - s > VG_LABEL_MAX)
				return VG_EFORMAT;
			starts[n] = s;
			lens[n++] = i - s;
			s = i + 1;
		}
	}
	if (s != keylen)
		return VG_EFORMAT;
	size_t o = 0;
	for (int i = n - 1; i >= 0; i--) {
		if (o + 1 + lens[i] + 1 > VG_NAME_MAX)
			return VG_EFORMAT;
		out[o++] = (uint8_t)lens[i];
		for (size_t j = 0; j < lens[i]; j++)
			out[o++] = lc(key[starts[i] + j]);
	}
	out[o++] = 0;
	return (int)o;
}

int vg_name_to_text(const uint8_t *name, char *buf, size_t cap)
{
	size_t o = 0;
	if (*name == 0) {
		if (cap < 2)
			return VG_ESPACE;
		buf[0] = '.';
		buf[1] = 0;
		return 1;
	}
	while (*name) {
		uint8_t l = *name;
		for (uint8_t i = 1; i <= l; i++) {
			uint8_t c = name[i];
			if (o + 5 > cap)
				return VG_ESPACE;
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
			    c == '$' || c == '@') {
				buf[o++] = '\\';
				buf[o++] = (char)c;
			} else if (c <= 0x20 || c >= 0x7f) {
				o += (size_t)snprintf(buf + o, cap - o, "\\%03u", c);
			} else {
				buf[o++] = (char)c;
			}
		}
		if (o + 2 > cap)
			return VG_ESPACE;
		buf[o++] = '.';
		name += 1 + l;
	}
	buf[o] = 0;
	return (int)o;
}

int vg_name_from_text(const char *text, uint8_t *out)
{
	size_t o = 0;       /* write offset in out */
	size_t lpos = 0;    /* offset of current label length byte */
	size_t llen = 0;
	const char *p = text;

	if (p[0] == '.' && p[1] == 0) {
		out[0] = 0;
		return 1;
	}
	if (*p == 0)
		return VG_EFORMAT;
	out[0] = 0;
	o = 1;
	while (*p) {
		unsigned c = (unsigned char)*p;
		if (c == '.') {
			if (llen == 0)
				return VG_EFORMAT; /* empty label */
			out[lpos] = (uint8_t)llen;
			lpos = o;
			if (o >= VG_NAME_MAX)
				return VG_EFORMAT;
			out[o++] = 0;
			llen = 0;
			p++;
			continue;
		}
		if (c == '\\') {
			p++;
			if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
			    isdigit((unsigned char)p[2])) {
				c = (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
				if (c > 255)
					return VG_EFORMAT;
				p += 3;
			} else if (*p) {
				c = (unsigned char)*p++;
			} else {
				return VG_EFORMAT;
			}
		} else {
			p++;
		}
		if (llen == VG_LABEL_MAX || o >= VG_NAME_MAX - 1)
			return VG_EFORMAT;
		out[o++] = (uint8_t)c;
		llen++;
	}
	if (llen > 0) {
		/* Relative (no trailing dot): close the label and add the root. */
		out[lpos] = (uint8_t)llen;
		if (o >= VG_NAME_MAX)
			return VG_EFORMAT;
		out[o++] = 0;
	}
	return (int)o;
}
