/* Socket address and CIDR parsing/matching, shared by config, ACLs and server filtering. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/addr.h>
#include <vigil/err.h>

int vg_sockaddr_parse(const char *s, uint16_t defport, struct vg_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *at = strrchr(s, '@');
	size_t hl = at ? (size_t)(at - s) : strlen(s);
	unsigned long port = defport;
	if (hl == 0 || hl >= sizeof(host))
		return VG_EFORMAT;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (at) {
		char *end;
		errno = 0;
		if (!at[1])
			return VG_EFORMAT;
		port = strtoul(at + 1, &end, 10);
		if (errno || *end || port > 65535 || at[1] == '-' || at[1] == '+')
			return VG_EFORMAT;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, &out->u.sin.sin_addr) == 1) {
		out->u.sin.sin_family = AF_INET;
		out->u.sin.sin_port = htons((uint16_t)port);
		out->len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &out->u.sin6.sin6_addr) == 1) {
		out->u.sin6.sin6_family = AF_INET6;
		out->u.sin6.sin6_port = htons((uint16_t)port);
		out->len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return VG_EFORMAT;
}

const char *vg_sockaddr_str(const struct vg_sockaddr *a, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	uint16_t port;
	if (a->u.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->u.sin.sin_addr, host, sizeof(host));
		port = ntohs(a->u.sin.sin_port);
	} else if (a->u.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->u.sin6.sin6_addr, host, sizeof(host));
		port = ntohs(a->u.sin6.sin6_port);
	} else {
		snprintf(buf, cap, "?");
		return buf;
	}
	snprintf(buf, cap, "%s@%u", host, port);
	return buf;
}

int vg_cidr_parse(const char *s, struct vg_cidr *out)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	if (hl == 0 || hl >= sizeof(host))
		return VG_EFORMAT;
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(out, 0, sizeof(*out));
	int maxbits;
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		maxbits = 128;
	} else {
		return VG_EFORMAT;
	}
	long bits = maxbits;
	if (slash) {
		char *end;
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return VG_EFORMAT;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || *end || bits < 0 || bits > maxbits)
			return VG_EFORMAT;
	}
	out->prefix = (uint8_t)bits;
	/* Clear host bits so "10.1.2.3/8" means 10.0.0.0/8. */
	int nbytes = maxbits / 8;
	for (int i = 0; i < nbytes; i++) {
		int keep = (int)bits - i * 8;
		if (keep >= 8)
			continue;
		out->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xFF << (8 - keep));
	}
	return 0;
}

bool vg_cidr_match(const struct vg_cidr *c, const struct sockaddr *sa)
{
	const uint8_t *a;
	int family = sa->sa_family;
	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
		if (c->family == AF_INET && memcmp(a, mapped, 12) == 0) {
			a += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	if (family != c->family)
		return false;
	int full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(a, c->addr, (size_t)full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xFF << (8 - rest));
		if ((a[full] & mask) != (c->addr[full] & mask))
			return false;
	}
	return true;
}

bool vg_sockaddr_eq(const struct vg_sockaddr *a, const struct vg_sockaddr *b)
{
	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return false;
	if (a->u.sa.sa_family == AF_INET)
		return a->u.sin.sin_port == b->u.sin.sin_port &&
		       a->u.sin.sin_addr.s_addr == b->u.sin.sin_addr.s_addr;
	return a->u.sin6.sin6_port == b->u.sin6.sin6_port &&
	       memcmp(&a->u.sin6.sin6_addr, &b->u.sin6.sin6_addr, 16) == 0;
}
