/* Root hints in zone-file form (IANA named.root style) -> the addresses of the root servers. */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "internal.h"

#define HINTS_MAX_NS 64
#define HINTS_MAX_TOK 8

struct addr_rec {
	uint8_t name[VG_NAME_MAX];
	struct vg_sockaddr addr;
};

static bool is_class(const char *t)
{
	return !strcasecmp(t, "IN") || !strcasecmp(t, "CH") || !strcasecmp(t, "HS");
}

static bool is_ttl(const char *t)
{
	for (; *t; t++)
		if (!isdigit((unsigned char)*t))
			return false;
	return true;
}

int vg_roothints_parse(const char *text, struct vg_hint *out, size_t cap)
{
	uint8_t ns[HINTS_MAX_NS][VG_NAME_MAX];
	size_t n_ns = 0;
	struct addr_rec addrs[HINTS_MAX_NS * 2];
	size_t n_addr = 0;
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];
		if (ll >= sizeof(line))
			ll = sizeof(line) - 1;
		memcpy(line, p, ll);
		line[ll] = 0;
		p += ll + (eol ? 1 : 0);
		char *c = strchr(line, ';');
		if (c)
			*c = 0;
		char *tok[HINTS_MAX_TOK];
		int nt = 0;
		for (char *s = strtok(line, " \t\r"); s && nt < HINTS_MAX_TOK;
		     s = strtok(NULL, " \t\r"))
			tok[nt++] = s;
		if (nt < 3)
			continue;
		/* owner [ttl] [class] type rdata, ttl and class in either order */
		int t = 1;
		while (t < nt - 1 && (is_ttl(tok[t]) || is_class(tok[t])))
			t++;
		if (t >= nt - 1)
			continue;
		const char *type = tok[t], *rdata = tok[t + 1];
		uint8_t owner[VG_NAME_MAX];
		if (vg_name_from_text(tok[0], owner) < 0)
			return VG_EFORMAT;
		if (!strcasecmp(type, "NS")) {
			if (owner[0] != 0 || n_ns >= HINTS_MAX_NS)
				continue;
			if (vg_name_from_text(rdata, ns[n_ns]) < 0)
				return VG_EFORMAT;
			n_ns++;
		} else if (!strcasecmp(type, "A") || !strcasecmp(type, "AAAA")) {
			if (n_addr >= sizeof(addrs) / sizeof(addrs[0]))
				continue;
			struct addr_rec *r = &addrs[n_addr];
			memset(r, 0, sizeof(*r));
			memcpy(r->name, owner, (size_t)vg_name_len(owner, VG_NAME_MAX));
			bool v4 = !strcasecmp(type, "A");
			if (v4) {
				r->addr.u.sin.sin_family = AF_INET;
				r->addr.u.sin.sin_port = htons(53);
				r->addr.len = sizeof(struct sockaddr_in);
				if (inet_pton(AF_INET, rdata, &r->addr.u.sin.sin_addr) != 1)
					return VG_EFORMAT;
			} else {
				r->addr.u.sin6.sin6_family = AF_INET6;
				r->addr.u.sin6.sin6_port = htons(53);
				r->addr.len = sizeof(struct sockaddr_in6);
				if (inet_pton(AF_INET6, rdata, &r->addr.u.sin6.sin6_addr) != 1)
					return VG_EFORMAT;
			}
			n_addr++;
		}
	}
	size_t n = 0;
	for (size_t i = 0; i < n_addr && n < cap; i++) {
		for (size_t j = 0; j < n_ns; j++) {
			if (vg_name_eq(addrs[i].name, ns[j])) {
				memcpy(out[n].name, addrs[i].name,
				       (size_t)vg_name_len(addrs[i].name, VG_NAME_MAX));
				vg_name_lower(out[n].name);
				out[n].addr = addrs[i].addr;
				n++;
				break;
			}
		}
	}
	return n ? (int)n : VG_EFORMAT;
}
