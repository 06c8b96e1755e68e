/* Client access control: allow/deny CIDR rules, longest prefix wins, deny wins ties. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "acl.h"

/* One rule, stored as a masked 128-bit address: IPv4 rules live in their own list as 32 bits. */
struct rule {
	uint64_t hi, lo;     /* address bits (network order as integers), host bits cleared */
	uint64_t mhi, mlo;   /* mask */
	uint8_t prefix;
	bool allow;
};

/* Rules per family, sorted by prefix length descending and deny before allow at equal length, so
 * the first match is the decision. Immutable after vg_acl_new. */
struct vg_acl {
	struct rule *v4, *v6;
	size_t n4, n6;
};

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t mask64(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 64)
		return UINT64_MAX;
	return UINT64_MAX << (64 - bits);
}

static void make_rule(const struct vg_cidr *c, bool allow, struct rule *r)
{
	memset(r, 0, sizeof(*r));
	r->prefix = c->prefix;
	r->allow = allow;
	if (c->family == AF_INET) {
		r->lo = ((uint64_t)c->addr[0] << 24) | ((uint64_t)c->addr[1] << 16) |
			((uint64_t)c->addr[2] << 8) | c->addr[3];
		r->mlo = c->prefix ? (0xFFFFFFFFull << (32 - c->prefix)) & 0xFFFFFFFFull : 0;
		r->lo &= r->mlo;
	} else {
		r->mhi = mask64(c->prefix);
		r->mlo = mask64(c->prefix - 64);
		r->hi = be64(c->addr) & r->mhi;
		r->lo = be64(c->addr + 8) & r->mlo;
	}
}

static int rule_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;
	if (x->prefix != y->prefix)
		return x->prefix > y->prefix ? -1 : 1;
	return (int)x->allow - (int)y->allow; /* deny (false) first */
}

static int add(struct vg_acl *acl, const struct vg_cidr *c, bool allow, size_t *i4, size_t *i6)
{
	if (c->family == AF_INET)
		make_rule(c, allow, &acl->v4[(*i4)++]);
	else if (c->family == AF_INET6)
		make_rule(c, allow, &acl->v6[(*i6)++]);
	else
		return -EINVAL;
	return 0;
}

int vg_acl_new(const struct vg_config *cfg, struct vg_acl **out)
{
	struct vg_cidr loop4, loop6;
	const struct vg_cidr *allow = cfg->allow;
	size_t n_allow = cfg->n_allow;
	*out = NULL;
	if (!cfg->allow_set && n_allow == 0) {
		/* Default: loopback only. v4-mapped loopback is judged as IPv4 and so matches too. */
		if (vg_cidr_parse("127.0.0.0/8", &loop4) != 0 || vg_cidr_parse("::1/128", &loop6) != 0)
			return -EINVAL;
		allow = NULL;
	}
	size_t total = n_allow + cfg->n_deny + 2;
	struct vg_acl *acl = calloc(1, sizeof(*acl));
	if (!acl)
		return -ENOMEM;
	acl->v4 = calloc(total, sizeof(struct rule));
	acl->v6 = calloc(total, sizeof(struct rule));
	if (!acl->v4 || !acl->v6) {
		vg_acl_free(acl);
		return -ENOMEM;
	}
	size_t i4 = 0, i6 = 0;
	int rc = 0;
	if (allow) {
		for (size_t i = 0; i < n_allow && rc == 0; i++)
			rc = add(acl, &allow[i], true, &i4, &i6);
	} else {
		rc = add(acl, &loop4, true, &i4, &i6);
		if (rc == 0)
			rc = add(acl, &loop6, true, &i4, &i6);
	}
	for (size_t i = 0; i < cfg->n_deny && rc == 0; i++)
		rc = add(acl, &cfg->deny[i], false, &i4, &i6);
	if (rc != 0) {
		vg_acl_free(acl);
		return rc;
	}
	acl->n4 = i4;
	acl->n6 = i6;
	qsort(acl->v4, i4, sizeof(struct rule), rule_cmp);
	qsort(acl->v6, i6, sizeof(struct rule), rule_cmp);
	*out = acl;
	return 0;
}

bool vg_acl_allows(const struct vg_acl *acl, const struct sockaddr *sa)
{
	const struct rule *r;
	size_t n;
	uint64_t hi = 0, lo;
	if (sa->sa_family == AF_INET) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		lo = ((uint64_t)a[0] << 24) | ((uint64_t)a[1] << 16) | ((uint64_t)a[2] << 8) | a[3];
		r = acl->v4;
		n = acl->n4;
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		hi = be64(a);
		lo = be64(a + 8);
		if (hi == 0 && (lo >> 32) == 0xFFFF) {
			/* v4-mapped: the client is really an IPv4 host (dual-stack socket). */
			lo &= 0xFFFFFFFFull;
			hi = 0;
			r = acl->v4;
			n = acl->n4;
		} else {
			r = acl->v6;
			n = acl->n6;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if ((hi & r[i].mhi) == r[i].hi && (lo & r[i].mlo) == r[i].lo)
			return r[i].allow;
	return false;
}

void vg_acl_free(struct vg_acl *acl)
{
	if (!acl)
		return;
	free(acl->v4);
	free(acl->v6);
	free(acl);
}
