/* pin: "NAME TYPE VALUE" (docs/configuration.md "pin"): the parser the config loader uses and the
 * rule the resolver's check (resolver/pin.c) applies to each record. Pure functions. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <vigil/dns.h>
#include <vigil/name.h>
#include <vigil/suspect.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A DS value: a key tag (decimal, 0..65535) or a digest (hex, 2..128 digits, even). */
static int parse_ds(const char *v, struct vg_pin *p, char *err, size_t errlen)
{
	size_t n = strlen(v), digits = strspn(v, "0123456789");
	if (digits == n && n <= 5) {
		long t = strtol(v, NULL, 10);
		if (t <= 65535) {
			p->ds_keytag = (int32_t)t;
			return 0;
		}
	}
	if (n < 2 || n > 2 * sizeof(p->ds_digest) || n % 2) {
		snprintf(err, errlen,
			 "bad DS value '%s' (expected a key tag 0..65535 or a digest in hex)", v);
		return -1;
	}
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(v[i]), lo = hexval(v[i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(err, errlen,
				 "bad DS value '%s' (expected a key tag 0..65535 or a digest in "
				 "hex)",
				 v);
			return -1;
		}
		p->ds_digest[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	p->ds_keytag = -1;
	p->ds_digest_len = (uint8_t)(n / 2);
	return 0;
}

int vg_pin_parse(const char *text, struct vg_pin *out, char *err, size_t errlen)
{
	char name[VG_NAME_TEXT_MAX + 1], type[16], value[300], extra[2];
	memset(out, 0, sizeof(*out));
	int k = sscanf(text, "%1024s %15s %299s %1s", name, type, value, extra);
	if (k != 3) {
		snprintf(err, errlen,
			 "bad pin \"%s\" (expected \"NAME TYPE VALUE\", TYPE one of A, "
			 "AAAA, NS, DS)",
			 text);
		return -1;
	}
	if (vg_name_from_text(name, out->name) < 0) {
		snprintf(err, errlen, "bad name '%s' in pin \"%s\"", name, text);
		return -1;
	}
	vg_name_lower(out->name);
	if (!strcasecmp(type, "A") || !strcasecmp(type, "AAAA")) {
		bool v4 = !strcasecmp(type, "A");
		out->type = v4 ? VG_TYPE_A : VG_TYPE_AAAA;
		if (vg_cidr_parse(value, &out->prefix) != 0 ||
		    out->prefix.family != (v4 ? AF_INET : AF_INET6)) {
			snprintf(err, errlen, "bad %s prefix '%s' (expected %s)", type, value,
				 v4 ? "an IPv4 ADDR/BITS or address"
				    : "an IPv6 ADDR/BITS or address");
			return -1;
		}
		return 0;
	}
	if (!strcasecmp(type, "NS")) {
		out->type = VG_TYPE_NS;
		if (vg_name_from_text(value, out->ns_suffix) < 0) {
			snprintf(err, errlen,
				 "bad NS name '%s' (expected a name server name or a "
				 "name it must end in)",
				 value);
			return -1;
		}
		vg_name_lower(out->ns_suffix);
		return 0;
	}
	if (!strcasecmp(type, "DS")) {
		out->type = VG_TYPE_DS;
		return parse_ds(value, out, err, errlen);
	}
	snprintf(err, errlen, "bad type '%s' in pin (expected A, AAAA, NS or DS)", type);
	return -1;
}

static bool prefix_has(const struct vg_cidr *c, const uint8_t *a)
{
	unsigned bits = c->prefix, whole = bits / 8, rest = bits % 8;
	if (memcmp(c->addr, a, whole))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr[whole] & mask) == (a[whole] & mask);
}

bool vg_pin_match(const struct vg_pin *p, const uint8_t *rdata, uint16_t rdlen)
{
	switch (p->type) {
	case VG_TYPE_A:
		return rdlen == 4 && prefix_has(&p->prefix, rdata);
	case VG_TYPE_AAAA:
		return rdlen == 16 && prefix_has(&p->prefix, rdata);
	case VG_TYPE_NS:
		return vg_name_len(rdata, rdlen) > 0 && vg_name_in_zone(rdata, p->ns_suffix);
	case VG_TYPE_DS:
		if (rdlen < 5)
			return false;
		if (p->ds_keytag >= 0)
			return (rdata[0] << 8 | rdata[1]) == p->ds_keytag;
		return rdlen - 4 == p->ds_digest_len &&
		       !memcmp(rdata + 4, p->ds_digest, p->ds_digest_len);
	default:
		return false;
	}
}
