/* Shared helpers of the cache unit tests (test_cache*.c): temp dir and fake clock, message and
 * RRset builders, lookups through a short-lived reader. Header-only: each test file is its own
 * binary (tests/unit/meson.build), so everything here is static. */
#ifndef VIGIL_TEST_CACHE_H
#define VIGIL_TEST_CACHE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vigil/base.h>
#include <vigil/cache.h>

#define T0 1700000000u /* injected wall clock base */

static char dir[64];
static uint32_t fake_now = T0;

static inline uint32_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static inline int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void mkdir_tmp(void)
{
	strcpy(dir, "/tmp/vg-cache-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	fake_now = T0;
}

static inline void rm_tmp(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void opts_init(struct vg_cache_opts *o)
{
	vg_cache_opts_default(o);
	o->dir = dir;
	o->map_size = 16u << 20;
	o->clock = fake_clock;
	o->stale_max = 3600;
}

static inline struct vg_cache *open_with(const struct vg_cache_opts *o)
{
	struct vg_cache *c = NULL;
	char err[512];
	int rc = vg_cache_open(o, &c, err, sizeof(err));
	cr_assert_eq(rc, 0, "open: %s (%s)", vg_strerror(rc), err);
	return c;
}

static inline struct vg_cache *open_default(void)
{
	struct vg_cache_opts o;
	opts_init(&o);
	return open_with(&o);
}

static inline size_t W(const char *text, uint8_t *out)
{
	int n = vg_name_from_text(text, out);
	cr_assert_gt(n, 0, "bad test name %s", text);
	return (size_t)n;
}

/* ---- a tiny message builder ---- */

struct msg {
	uint8_t b[4096];
	size_t len;
	uint16_t counts[4];
};

static inline void msg_init(struct msg *m, const char *qname, uint16_t qtype, uint8_t rcode)
{
	memset(m, 0, sizeof(*m));
	vg_put_u16(m->b, 0x1234);
	m->b[2] = 0x81; /* QR RD */
	m->b[3] = (uint8_t)(0x80 | rcode);
	m->len = 12 + W(qname, m->b + 12);
	vg_put_u16(m->b + m->len, qtype);
	vg_put_u16(m->b + m->len + 2, 1);
	m->len += 4;
	m->counts[0] = 1;
}

static inline void msg_rr(struct msg *m, int section, const char *owner, uint16_t type,
			  uint32_t ttl, const void *rd, uint16_t rdlen)
{
	m->len += W(owner, m->b + m->len);
	vg_put_u16(m->b + m->len, type);
	vg_put_u16(m->b + m->len + 2, type == 41 ? 1232 : 1);
	vg_put_u32(m->b + m->len + 4, ttl);
	vg_put_u16(m->b + m->len + 8, rdlen);
	if (rdlen)
		memcpy(m->b + m->len + 10, rd, rdlen);
	m->len += 10 + (size_t)rdlen;
	m->counts[section]++;
	for (int i = 0; i < 4; i++)
		vg_put_u16(m->b + 4 + 2 * i, m->counts[i]);
}

static const uint8_t A1[4] = {192, 0, 2, 1}, A2[4] = {192, 0, 2, 2};

/* Builds SOA rdata for zone with the given MINIMUM; returns its length. */
static inline uint16_t soa_rdata(uint8_t *rd, uint32_t minimum)
{
	size_t n = W("ns.example.com.", rd);
	n += W("host.example.com.", rd + n);
	uint32_t v[5] = {1, 3600, 600, 86400, minimum};
	for (int i = 0; i < 5; i++)
		vg_put_u32(rd + n + 4 * i, v[i]);
	return (uint16_t)(n + 20);
}

static inline int get_answer(struct vg_cache *c, const char *qname, uint16_t qtype, uint32_t now,
			     uint8_t *out, size_t *len, unsigned *flags, int stale)
{
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	cr_assert_not_null(rd);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	uint8_t q[VG_NAME_MAX];
	size_t ql = W(qname, q);
	int rc = vg_cache_answer_get(rd, q, ql, qtype, false, false, 0xBEEF, now, out, 4096, len,
				     flags, stale);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	return rc;
}

/* Queues a 1-RR A answer for qname with ttl; returns what vg_cache_answer_put returned. */
static inline int try_put_a_answer(struct vg_cache *c, const char *qname, uint32_t ttl,
				   uint8_t rank, uint8_t flags, uint32_t now)
{
	struct msg m;
	uint8_t q[VG_NAME_MAX];
	W(qname, q);
	msg_init(&m, qname, 1, 0);
	msg_rr(&m, 1, qname, 1, ttl, A1, 4);
	return vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, rank, VG_SEC_INSECURE, flags,
				   now);
}

/* Stores a 1-RR A answer for qname with ttl. */
static inline void put_a_answer(struct vg_cache *c, const char *qname, uint32_t ttl, uint8_t rank,
				uint8_t flags, uint32_t now)
{
	cr_assert_eq(try_put_a_answer(c, qname, ttl, rank, flags, now), 0);
}

/* TTL of the RR whose TTL field is at `off` in a message. */
static inline uint32_t ttl_at(const uint8_t *b, size_t off)
{
	return vg_get_u32(b + off);
}

/* Finds the TTL offsets of every RR in a simple uncompressed message. */
static inline size_t rr_ttl_offsets(const uint8_t *b, size_t len, size_t *offs)
{
	size_t pos = 12;
	vg_name_unpack(b, len, &pos, NULL);
	pos += 4;
	size_t n = 0;
	unsigned total = vg_get_u16(b + 6) + vg_get_u16(b + 8) + vg_get_u16(b + 10);
	for (unsigned i = 0; i < total; i++) {
		vg_name_unpack(b, len, &pos, NULL);
		offs[n++] = pos + 4;
		pos += 10 + vg_get_u16(b + pos + 8);
	}
	return n;
}

static inline void put_rrset_as(struct vg_cache *c, const char *owner, uint16_t type, uint32_t ttl,
				uint8_t rank, uint8_t flags, const uint8_t *rdata, uint16_t rdlen,
				uint32_t now, bool delegation)
{
	uint8_t o[VG_NAME_MAX], rd[600];
	W(owner, o);
	vg_put_u16(rd, rdlen);
	memcpy(rd + 2, rdata, rdlen);
	struct vg_cache_rrset rs = {.owner = o,
				    .type = type,
				    .rclass = 1,
				    .ttl = ttl,
				    .rank = rank,
				    .sec = VG_SEC_SECURE,
				    .flags = flags,
				    .rr_count = 1,
				    .rdata = rd,
				    .rdata_len = 2u + rdlen,
				    .delegation = delegation};
	cr_assert_eq(vg_cache_rrset_put(c, &rs, now), 0);
}

static inline void put_rrset(struct vg_cache *c, const char *owner, uint16_t type, uint32_t ttl,
			     uint8_t rank, uint8_t flags, const uint8_t *rdata, uint16_t rdlen,
			     uint32_t now)
{
	put_rrset_as(c, owner, type, ttl, rank, flags, rdata, rdlen, now, false);
}

/* A zone cut as a referral leaves it: the parent-side NS set of `zone`. */
static inline void put_deleg(struct vg_cache *c, const char *zone, uint32_t ttl, uint8_t rank,
			     const uint8_t *ns, uint16_t nslen, uint32_t now)
{
	put_rrset_as(c, zone, 2, ttl, rank, 0, ns, nslen, now, true);
}

static inline int get_rrset(struct vg_cache *c, const char *owner, uint16_t type, uint32_t now,
			    int stale, struct vg_cache_rrset_view *v, uint8_t *buf)
{
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	cr_assert_not_null(rd);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	uint8_t o[VG_NAME_MAX];
	W(owner, o);
	int rc = vg_cache_rrset_get(rd, o, type, now, stale, buf, 4096, v);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	return rc;
}

static inline void put_neg(struct vg_cache *c, const char *qname, uint16_t qtype, bool nx,
			   uint32_t soa_ttl, uint32_t minimum, uint32_t now)
{
	uint8_t q[VG_NAME_MAX], z[VG_NAME_MAX], rd[256], proof[128];
	W(qname, q);
	W("example.com.", z);
	uint16_t rl = soa_rdata(rd, minimum);
	/* one NSEC RR as proof */
	size_t pl = W("example.com.", proof);
	vg_put_u16(proof + pl, 47);
	vg_put_u16(proof + pl + 2, 1);
	vg_put_u32(proof + pl + 4, 3600);
	size_t nl = W("zzz.example.com.", proof + pl + 10);
	vg_put_u16(proof + pl + 8, (uint16_t)(nl + 2));
	proof[pl + 10 + nl] = 0;
	proof[pl + 10 + nl + 1] = 0;
	pl += 10 + nl + 2;
	struct vg_cache_neg n = {.qname = q,
				 .qtype = qtype,
				 .nxdomain = nx,
				 .rclass = 1,
				 .soa_owner = z,
				 .soa_ttl = soa_ttl,
				 .soa_rdata = rd,
				 .soa_rdlen = rl,
				 .proof = proof,
				 .proof_len = pl,
				 .proof_count = 1,
				 .rank = 0x15,
				 .sec = VG_SEC_SECURE};
	cr_assert_eq(vg_cache_neg_put(c, &n, now), 0);
}

static inline void path_of(char *p, size_t n, const char *file)
{
	snprintf(p, n, "%s/%s", dir, file);
}

#endif
