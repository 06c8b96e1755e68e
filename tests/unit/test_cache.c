/* Unit tests of the LMDB cache: TTL rules, ranks, answer rewrite, persistence, faults, eviction. */
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
#include <vigil/config.h>

#define T0 1700000000u /* injected wall clock base */

static char dir[64];
static uint32_t fake_now = T0;

static uint32_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void mkdir_tmp(void)
{
	strcpy(dir, "/tmp/vg-cache-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	fake_now = T0;
}

static void rm_tmp(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void opts_init(struct vg_cache_opts *o)
{
	vg_cache_opts_default(o);
	o->dir = dir;
	o->map_size = 16u << 20;
	o->clock = fake_clock;
	o->stale_max = 3600;
}

static struct vg_cache *open_with(const struct vg_cache_opts *o)
{
	struct vg_cache *c = NULL;
	char err[512];
	int rc = vg_cache_open(o, &c, err, sizeof(err));
	cr_assert_eq(rc, 0, "open: %s (%s)", vg_strerror(rc), err);
	return c;
}

static struct vg_cache *open_default(void)
{
	struct vg_cache_opts o;
	opts_init(&o);
	return open_with(&o);
}

static size_t W(const char *text, uint8_t *out)
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

static void msg_init(struct msg *m, const char *qname, uint16_t qtype, uint8_t rcode)
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

static void msg_rr(struct msg *m, int section, const char *owner, uint16_t type, uint32_t ttl,
		   const void *rd, uint16_t rdlen)
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
static uint16_t soa_rdata(uint8_t *rd, uint32_t minimum)
{
	size_t n = W("ns.example.com.", rd);
	n += W("host.example.com.", rd + n);
	uint32_t v[5] = {1, 3600, 600, 86400, minimum};
	for (int i = 0; i < 5; i++)
		vg_put_u32(rd + n + 4 * i, v[i]);
	return (uint16_t)(n + 20);
}

static int get_answer(struct vg_cache *c, const char *qname, uint16_t qtype, uint32_t now,
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

/* Stores a 1-RR A answer for qname with ttl. */
static void put_a_answer(struct vg_cache *c, const char *qname, uint32_t ttl, uint8_t rank,
			 uint8_t flags, uint32_t now)
{
	struct msg m;
	uint8_t q[VG_NAME_MAX];
	W(qname, q);
	msg_init(&m, qname, 1, 0);
	msg_rr(&m, 1, qname, 1, ttl, A1, 4);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, rank, VG_SEC_INSECURE,
					 flags, now),
		     0);
}

/* TTL of the RR whose TTL field is at `off` in a message. */
static uint32_t ttl_at(const uint8_t *b, size_t off)
{
	return vg_get_u32(b + off);
}

/* Finds the TTL offsets of every RR in a simple uncompressed message. */
static size_t rr_ttl_offsets(const uint8_t *b, size_t len, size_t *offs)
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

TestSuite(cache, .init = mkdir_tmp, .fini = rm_tmp);

/* ---- answer cache ---- */

Test(cache, answer_hit_writes_id_client_case_and_time_left_in_every_section)
{
	struct vg_cache *c = open_default();
	struct msg m;
	uint8_t q[VG_NAME_MAX], ns[VG_NAME_MAX];
	W("www.example.com.", q);
	msg_init(&m, "www.example.com.", 1, 0);
	msg_rr(&m, 1, "www.example.com.", 1, 300, A1, 4);
	msg_rr(&m, 1, "www.example.com.", 1, 600, A2, 4);
	size_t nsl = W("ns.example.com.", ns);
	msg_rr(&m, 2, "example.com.", 2, 1000, ns, (uint16_t)nsl);
	msg_rr(&m, 3, "ns.example.com.", 1, 2000, A2, 4);
	cr_assert_eq(
	    vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, VG_RANK_AUTH_ANSWER, 0, 0, T0),
	    0);
	vg_cache_sync(c);

	uint8_t out[4096];
	size_t len = 0;
	unsigned fl = 99;
	cr_assert_eq(get_answer(c, "WwW.ExAmple.COM.", 1, T0 + 100, out, &len, &fl, 0), 0);
	cr_assert_eq(len, m.len);
	cr_assert_eq(vg_get_u16(out), 0xBEEF);
	cr_assert_eq(memcmp(out + 13, "WwW", 3), 0, "client's 0x20 spelling not written");
	cr_assert_eq(memcmp(out + 17, "ExAmple", 7), 0);
	size_t offs[8];
	cr_assert_eq(rr_ttl_offsets(out, len, offs), 4);
	cr_assert_eq(ttl_at(out, offs[0]), 200);
	cr_assert_eq(ttl_at(out, offs[1]), 500);
	cr_assert_eq(ttl_at(out, offs[2]), 900);
	cr_assert_eq(ttl_at(out, offs[3]), 1900);
	cr_assert_eq(fl, 0);
	/* everything but ID, qname case and TTLs is the stored message */
	cr_assert_eq(memcmp(out + 2, m.b + 2, 10), 0);
	cr_assert_eq(memcmp(out + offs[3] + 4, m.b + offs[3] + 4, 6), 0);
	vg_cache_close(c);
}

Test(cache, answer_ttl_counts_down_and_expires)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "a.example.", 300, VG_RANK_AUTH_ANSWER, 0, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "a.example.", 1, T0, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 300);
	cr_assert_eq(get_answer(c, "a.example.", 1, T0 + 299, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 1);
	cr_assert_eq(get_answer(c, "a.example.", 1, T0 + 300, out, &len, &fl, 0), VG_ESTALE);
	cr_assert_eq(get_answer(c, "a.example.", 28, T0, out, &len, &fl, 0), VG_ENOTFOUND);
	vg_cache_close(c);
}

Test(cache, answer_prefetch_hint_in_last_tenth_of_ttl)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "p.example.", 100, VG_RANK_AUTH_ANSWER, 0, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "p.example.", 1, T0 + 89, out, &len, &fl, 0), 0);
	cr_assert_eq(fl & VG_CACHE_PREFETCH, 0);
	cr_assert_eq(get_answer(c, "p.example.", 1, T0 + 90, out, &len, &fl, 0), 0);
	cr_assert(fl & VG_CACHE_PREFETCH);
	vg_cache_close(c);
}

Test(cache, answer_served_stale_with_ttl_30_inside_window_only)
{
	struct vg_cache *c = open_default(); /* stale_max 3600 */
	put_a_answer(c, "s.example.", 100, VG_RANK_AUTH_ANSWER, 0, T0);
	put_a_answer(c, "sus.example.", 100, VG_RANK_AUTH_ANSWER, VG_CACHE_F_SUSPECT, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "s.example.", 1, T0 + 600, out, &len, &fl, 0), VG_ESTALE);
	cr_assert_eq(get_answer(c, "s.example.", 1, T0 + 600, out, &len, &fl, 1000), 0);
	cr_assert(fl & VG_CACHE_STALE);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 30);
	/* expired for 1100 s: outside a 1000 s request */
	cr_assert_eq(get_answer(c, "s.example.", 1, T0 + 1200, out, &len, &fl, 1000), VG_ESTALE);
	/* the request cannot go past stale_max */
	cr_assert_eq(get_answer(c, "s.example.", 1, T0 + 100 + 3600, out, &len, &fl, 100000),
		     VG_ESTALE);
	cr_assert_eq(get_answer(c, "sus.example.", 1, T0 + 50, out, &len, &fl, 1000), 0);
	cr_assert_eq(get_answer(c, "sus.example.", 1, T0 + 150, out, &len, &fl, 1000), VG_ESTALE,
		     "suspicious answer served stale");
	vg_cache_close(c);
}

Test(cache, answer_ttls_clamped_at_store)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.min_ttl = 60;
	o.max_ttl = 1000;
	struct vg_cache *c = open_with(&o);
	put_a_answer(c, "lo.example.", 5, VG_RANK_AUTH_ANSWER, 0, T0);
	put_a_answer(c, "hi.example.", 500000, VG_RANK_AUTH_ANSWER, 0, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "lo.example.", 1, T0 + 10, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 50);
	cr_assert_eq(get_answer(c, "hi.example.", 1, T0, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 1000);
	cr_assert_eq(get_answer(c, "hi.example.", 1, T0 + 1000, out, &len, &fl, 0), VG_ESTALE);
	vg_cache_close(c);
}

Test(cache, negative_answer_lives_min_of_soa_ttl_and_minimum_clamped)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.max_neg_ttl = 200;
	struct vg_cache *c = open_with(&o);
	uint8_t rd[256], q[VG_NAME_MAX];
	struct msg m;
	uint16_t rl = soa_rdata(rd, 100);
	W("nx.example.com.", q);
	msg_init(&m, "nx.example.com.", 1, 3);
	msg_rr(&m, 2, "example.com.", 6, 3600, rd, rl);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0), 0);
	rl = soa_rdata(rd, 5000);
	W("nx2.example.com.", q);
	msg_init(&m, "nx2.example.com.", 1, 3);
	msg_rr(&m, 2, "example.com.", 6, 3600, rd, rl);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0), 0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "nx.example.com.", 1, T0, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 100, "SOA MINIMUM must bound the negative TTL");
	cr_assert_eq(out[3] & 0x0F, 3);
	cr_assert_eq(get_answer(c, "nx2.example.com.", 1, T0, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 200, "max negative TTL clamp");
	vg_cache_close(c);
}

Test(cache, answer_store_drops_trailing_opt_and_rejects_garbage)
{
	struct vg_cache *c = open_default();
	struct msg m;
	uint8_t q[VG_NAME_MAX], other[VG_NAME_MAX];
	W("o.example.", q);
	msg_init(&m, "o.example.", 1, 0);
	msg_rr(&m, 1, "o.example.", 1, 300, A1, 4);
	size_t before = m.len;
	msg_rr(&m, 3, ".", 41, 0, NULL, 0);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0), 0);
	/* trailing bytes */
	m.b[m.len] = 0xAA;
	cr_assert_eq(vg_cache_answer_put(c, q, 1, true, false, m.b, m.len + 1, 0x15, 0, 0, T0),
		     VG_EFORMAT);
	/* question that is not the key's name */
	W("x.example.", other);
	cr_assert_eq(vg_cache_answer_put(c, other, 1, false, false, m.b, m.len, 0x15, 0, 0, T0),
		     VG_EFORMAT);
	/* a truncated (TC) answer is not a whole answer */
	m.b[2] |= 0x02;
	cr_assert_eq(vg_cache_answer_put(c, q, 1, true, true, m.b, m.len, 0x15, 0, 0, T0), -EINVAL);
	m.b[2] &= (uint8_t)~0x02;
	/* an OPT counted in the authority section is malformed */
	vg_put_u16(m.b + 8, 1);
	vg_put_u16(m.b + 10, 0);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, true, true, m.b, m.len, 0x15, 0, 0, T0),
		     VG_EFORMAT);
	vg_put_u16(m.b + 8, 0);
	vg_put_u16(m.b + 10, 1);
	/* RR running past the end */
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, true, m.b, before - 1, 0x15, 0, 0, T0),
		     VG_EFORMAT);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "o.example.", 1, T0, out, &len, &fl, 0), 0);
	cr_assert_eq(len, before);
	cr_assert_eq(vg_get_u16(out + 10), 0, "ARCOUNT still counts the dropped OPT");
	vg_cache_close(c);
}

Test(cache, answer_keyed_by_do_and_cd_bits)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "k.example.", 300, 0x15, 0, T0);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	uint8_t q[VG_NAME_MAX], out[512];
	size_t ql = W("k.example.", q), len;
	cr_assert_eq(
	    vg_cache_answer_get(rd, q, ql, 1, false, false, 1, T0, out, 512, &len, NULL, 0), 0);
	cr_assert_eq(vg_cache_answer_get(rd, q, ql, 1, true, false, 1, T0, out, 512, &len, NULL, 0),
		     VG_ENOTFOUND);
	cr_assert_eq(vg_cache_answer_get(rd, q, ql, 1, false, true, 1, T0, out, 512, &len, NULL, 0),
		     VG_ENOTFOUND);
	cr_assert_eq(vg_cache_answer_get(rd, q, ql, 1, false, false, 1, T0, out, 10, &len, NULL, 0),
		     VG_ESPACE);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}

/* ---- rrsets ---- */

static void put_rrset(struct vg_cache *c, const char *owner, uint16_t type, uint32_t ttl,
		      uint8_t rank, uint8_t flags, const uint8_t *rdata, uint16_t rdlen,
		      uint32_t now)
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
				    .rdata_len = 2u + rdlen};
	cr_assert_eq(vg_cache_rrset_put(c, &rs, now), 0);
}

static int get_rrset(struct vg_cache *c, const char *owner, uint16_t type, uint32_t now, int stale,
		     struct vg_cache_rrset_view *v, uint8_t *buf)
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

Test(cache, rrset_ttl_counts_down_and_expired_is_not_fresh)
{
	struct vg_cache *c = open_default();
	put_rrset(c, "www.example.com.", 1, 300, 0x15, 0, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "WWW.example.com.", 1, T0 + 120, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 180);
	cr_assert_eq(v.kind, VG_CACHE_POSITIVE);
	cr_assert_eq(v.rr_count, 1);
	cr_assert_eq(v.rdata_len, 6);
	cr_assert_eq(memcmp(v.rdata + 2, A1, 4), 0);
	cr_assert_eq(v.sec, VG_SEC_SECURE);
	cr_assert_eq(get_rrset(c, "www.example.com.", 1, T0 + 300, 0, &v, buf), VG_ESTALE);
	cr_assert_eq(get_rrset(c, "www.example.com.", 28, T0, 0, &v, buf), VG_ENOTFOUND);
	vg_cache_close(c);
}

Test(cache, rrset_ttl_clamped_to_min_and_max)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.min_ttl = 30;
	o.max_ttl = 600;
	struct vg_cache *c = open_with(&o);
	put_rrset(c, "lo.example.", 1, 2, 0x15, 0, A1, 4, T0);
	put_rrset(c, "hi.example.", 1, 99999, 0x15, 0, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "lo.example.", 1, T0, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 30);
	cr_assert_eq(get_rrset(c, "hi.example.", 1, T0, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 600);
	vg_cache_close(c);
}

Test(cache, rrset_ttl_never_outlives_rrsig_expiration)
{
	struct vg_cache *c = open_default();
	uint8_t o[VG_NAME_MAX], rd[6], sig[64];
	W("signed.example.", o);
	vg_put_u16(rd, 4);
	memcpy(rd + 2, A1, 4);
	memset(sig, 0, sizeof(sig));
	vg_put_u16(sig, 40);		     /* rdlen */
	vg_put_u16(sig + 2, 1);		     /* type covered */
	vg_put_u32(sig + 2 + 8, T0 + 100);   /* expiration */
	vg_put_u32(sig + 2 + 12, T0 - 1000); /* inception */
	struct vg_cache_rrset rs = {.owner = o,
				    .type = 1,
				    .rclass = 1,
				    .ttl = 3600,
				    .rank = 0x15,
				    .sec = VG_SEC_SECURE,
				    .rr_count = 1,
				    .rdata = rd,
				    .rdata_len = 6,
				    .sig_count = 1,
				    .sigs = sig,
				    .sigs_len = 42};
	cr_assert_eq(vg_cache_rrset_put(c, &rs, T0), 0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "signed.example.", 1, T0, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 100);
	cr_assert_eq(v.sig_count, 1);
	cr_assert_eq(get_rrset(c, "signed.example.", 1, T0 + 100, 0, &v, buf), VG_ESTALE);
	vg_cache_close(c);
}

Test(cache, rank_protects_live_entries_higher_replaces_expired_yields)
{
	struct vg_cache *c = open_default();
	const uint8_t B[4] = {10, 0, 0, 2}, C[4] = {10, 0, 0, 3}, D[4] = {10, 0, 0, 4};
	uint8_t ns1[VG_NAME_MAX], ns2[VG_NAME_MAX];
	uint16_t l1 = (uint16_t)W("ns1.example.", ns1), l2 = (uint16_t)W("evil.example.", ns2);
	uint8_t it = VG_RANK_ITERATED;
	put_rrset(c, "example.", 2, 1000, it | VG_RANK_AUTH_AUTHORITY, 0, ns1, l1, T0);
	vg_cache_sync(c);
	/* equal rank (spoofed duplicate) and lower rank are refused while live */
	put_rrset(c, "example.", 2, 1000, it | VG_RANK_AUTH_AUTHORITY, 0, ns2, l2, T0 + 10);
	put_rrset(c, "example.", 2, 1000, it | VG_RANK_ADDITIONAL, 0, ns2, l2, T0 + 10);
	/* forwarded data, even authoritative, ranks below iterated data */
	put_rrset(c, "example.", 2, 1000, VG_RANK_AUTH_ANSWER, 0, ns2, l2, T0 + 10);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "example.", 2, T0 + 20, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, ns1, l1), 0, "live NS set replaced by equal/lower rank");
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.refused_rank, 3);

	/* higher rank replaces */
	put_rrset(c, "h.example.", 1, 1000, it | VG_RANK_GLUE, 0, B, 4, T0);
	vg_cache_sync(c);
	put_rrset(c, "h.example.", 1, 1000, it | VG_RANK_AUTH_ANSWER, 0, C, 4, T0 + 1);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "h.example.", 1, T0 + 2, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, C, 4), 0);
	cr_assert_eq(v.rank, it | VG_RANK_AUTH_ANSWER);
	/* expired: anything replaces */
	put_rrset(c, "h.example.", 1, 1000, VG_RANK_ADDITIONAL, 0, D, 4, T0 + 1001);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "h.example.", 1, T0 + 1002, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, D, 4), 0);
	/* equal rank refreshes only in the prefetch window (last 10%) */
	put_rrset(c, "h.example.", 1, 1000, VG_RANK_ADDITIONAL, 0, B, 4, T0 + 1001 + 899);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "h.example.", 1, T0 + 1001 + 899, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, D, 4), 0);
	put_rrset(c, "h.example.", 1, 1000, VG_RANK_ADDITIONAL, 0, B, 4, T0 + 1001 + 900);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "h.example.", 1, T0 + 1001 + 900, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, B, 4), 0);
	vg_cache_close(c);
}

Test(cache, answer_rank_protects_live_answers)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "r.example.", 300, 0x15, 0, T0);
	vg_cache_sync(c);
	struct msg m;
	uint8_t q[VG_NAME_MAX];
	W("r.example.", q);
	msg_init(&m, "r.example.", 1, 0);
	msg_rr(&m, 1, "r.example.", 1, 300, A2, 4);
	vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x13, 0, 0, T0 + 1);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len, offs[4];
	unsigned fl;
	cr_assert_eq(get_answer(c, "r.example.", 1, T0 + 2, out, &len, &fl, 0), 0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(memcmp(out + offs[0] + 6, A1, 4), 0,
		     "lower-ranked answer replaced a live one");
	vg_cache_close(c);
}

static void put_neg(struct vg_cache *c, const char *qname, uint16_t qtype, bool nx,
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

Test(cache, negative_entries_nxdomain_covers_all_types_nodata_one)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.max_neg_ttl = 900;
	struct vg_cache *c = open_with(&o);
	put_neg(c, "gone.example.com.", 1, true, 3600, 300, T0);
	put_neg(c, "www.example.com.", 28, false, 60, 300, T0);
	put_neg(c, "big.example.com.", 28, false, 86400, 86400, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096], z[VG_NAME_MAX];
	W("example.com.", z);
	cr_assert_eq(get_rrset(c, "gone.example.com.", 16, T0, 0, &v, buf), 0);
	cr_assert_eq(v.kind, VG_CACHE_NXDOMAIN);
	cr_assert_eq(v.ttl, 300, "TTL must be min(SOA TTL, MINIMUM)");
	cr_assert(vg_name_eq(v.soa_owner, z));
	cr_assert_eq(v.proof_count, 1);
	cr_assert_eq(vg_get_u32(v.soa_rdata + v.soa_rdlen - 4), 300);
	cr_assert_eq(get_rrset(c, "www.example.com.", 28, T0, 0, &v, buf), 0);
	cr_assert_eq(v.kind, VG_CACHE_NODATA);
	cr_assert_eq(v.ttl, 60);
	cr_assert_eq(get_rrset(c, "www.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "big.example.com.", 28, T0, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 900, "max negative TTL clamp");
	/* a positive answer outranking it replaces the NODATA */
	put_rrset(c, "www.example.com.", 28, 300, 0x15, 0, (const uint8_t *)"0123456789abcdef", 16,
		  T0 + 70);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "www.example.com.", 28, T0 + 70, 0, &v, buf), 0);
	cr_assert_eq(v.kind, VG_CACHE_POSITIVE);
	vg_cache_close(c);
}

Test(cache, rrset_stale_window_and_suspicious_never_stale)
{
	struct vg_cache *c = open_default();
	put_rrset(c, "ok.example.", 1, 100, 0x15, 0, A1, 4, T0);
	put_rrset(c, "bad.example.", 1, 100, 0x15, VG_CACHE_F_SUSPECT, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "ok.example.", 1, T0 + 500, 0, &v, buf), VG_ESTALE);
	cr_assert_eq(get_rrset(c, "ok.example.", 1, T0 + 500, 3600, &v, buf), 0);
	cr_assert_eq(v.ttl, VG_CACHE_STALE_TTL);
	cr_assert(v.hint & VG_CACHE_STALE);
	cr_assert_eq(get_rrset(c, "ok.example.", 1, T0 + 100 + 3600, 999999, &v, buf), VG_ESTALE);
	cr_assert_eq(get_rrset(c, "bad.example.", 1, T0 + 50, 0, &v, buf), 0);
	cr_assert_eq(get_rrset(c, "bad.example.", 1, T0 + 500, 3600, &v, buf), VG_ESTALE);
	/* prefetch hint on rrsets too */
	cr_assert_eq(get_rrset(c, "ok.example.", 1, T0 + 95, 0, &v, buf), 0);
	cr_assert(v.hint & VG_CACHE_PREFETCH);
	vg_cache_close(c);
}

Test(cache, zonecut_finds_closest_live_ns_and_ds)
{
	struct vg_cache *c = open_default();
	uint8_t ns[VG_NAME_MAX], ds[8] = {1, 2, 8, 2, 0xAA, 0xBB, 0xCC, 0xDD};
	uint16_t nl = (uint16_t)W("a.gtld.", ns);
	put_rrset(c, "com.", 2, 10000, 0x14, 0, ns, nl, T0);
	put_rrset(c, "example.com.", 2, 100, 0x14, 0, ns, nl, T0);
	put_rrset(c, "example.com.", 43, 100, 0x14, 0, ds, 8, T0);
	put_rrset(c, "examplf.com.", 1, 100, 0x14, 0, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	uint8_t q[VG_NAME_MAX], zone[VG_NAME_MAX], buf[4096], want[VG_NAME_MAX];
	struct vg_cache_rrset_view v;
	bool dsk = false;
	W("www.deep.Example.COM.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 1, zone, buf, sizeof(buf), &v, &dsk), 0);
	W("example.com.", want);
	cr_assert(vg_name_eq(zone, want) && zone[1] == 'e');
	cr_assert(dsk);
	cr_assert_eq(v.type, 2);
	W("www.examplf.com.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 1, zone, buf, sizeof(buf), &v, &dsk), 0);
	W("com.", want);
	cr_assert(vg_name_eq(zone, want));
	cr_assert_not(dsk);
	/* expired cut: falls back to the parent */
	W("www.example.com.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0 + 200, zone, buf, sizeof(buf), &v, &dsk), 0);
	cr_assert(vg_name_eq(zone, want));
	W("www.example.org.", q);
	cr_assert_eq(vg_cache_zonecut_find(rd, q, T0, zone, buf, sizeof(buf), &v, &dsk),
		     VG_ENOTFOUND);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}

/* ---- persistence and faults ---- */

Test(cache, entries_survive_close_and_reopen)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "keep.example.", 600, 0x15, 0, T0);
	put_rrset(c, "keep.example.", 1, 600, 0x15, 0, A1, 4, T0);
	vg_cache_start_writer(c);
	vg_cache_close(c); /* close drains the queue */
	c = open_default();
	uint8_t out[4096], buf[4096];
	size_t len;
	unsigned fl;
	struct vg_cache_rrset_view v;
	cr_assert_eq(get_answer(c, "keep.example.", 1, T0 + 10, out, &len, &fl, 0), 0);
	cr_assert_eq(get_rrset(c, "keep.example.", 1, T0 + 10, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 590);
	vg_cache_close(c);
}

static void path_of(char *p, size_t n, const char *file)
{
	snprintf(p, n, "%s/%s", dir, file);
}

Test(cache, other_format_version_is_rebuilt)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "v.example.", 600, 0x15, 0, T0);
	vg_cache_close(c);
	/* rewrite the format key as a future version would */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 4);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	uint8_t b[4] = {0, 0, 0, 99};
	MDB_val k = {.mv_size = 6, .mv_data = "format"}, v = {.mv_size = 4, .mv_data = b};
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);

	c = open_default();
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "v.example.", 1, T0, out, &len, &fl, 0), VG_ENOTFOUND,
		     "entries of another format version were kept");
	put_a_answer(c, "v.example.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	cr_assert_eq(get_answer(c, "v.example.", 1, T0, out, &len, &fl, 0), 0);
	vg_cache_close(c);
}

static int count_bad_files(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c 'data.mdb.bad-'", dir);
	FILE *p = popen(cmd, "r");
	int n = 0;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

static void expect_open_error_then_rebuild(void)
{
	struct vg_cache_opts o;
	opts_init(&o);
	struct vg_cache *c = NULL;
	char err[512] = "";
	char path[128];
	path_of(path, sizeof(path), "data.mdb");
	vg_log_set_level(VG_LOG_ERROR);
	cr_assert_eq(vg_cache_open(&o, &c, err, sizeof(err)), VG_ECORRUPT);
	cr_assert_null(c);
	cr_assert(strstr(err, path) != NULL, "error does not name the file: %s", err);
	o.rebuild_on_error = true;
	c = open_with(&o);
	cr_assert_eq(count_bad_files(), 1, "bad file not moved aside");
	put_a_answer(c, "fresh.example.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "fresh.example.", 1, T0, out, &len, &fl, 0), 0);
	vg_cache_close(c);
}

Test(cache, garbage_file_fails_with_path_and_rebuilds_on_option)
{
	char path[128];
	path_of(path, sizeof(path), "data.mdb");
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 20000; i++)
		fputc((i * 7919) & 0xFF, f);
	fclose(f);
	expect_open_error_then_rebuild();
}

Test(cache, truncated_file_fails_with_path_and_rebuilds_on_option)
{
	struct vg_cache *c = open_default();
	char name[64];
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "n%d.example.", i);
		put_a_answer(c, name, 600, 0x15, 0, T0);
	}
	vg_cache_close(c);
	char path[128];
	path_of(path, sizeof(path), "data.mdb");
	struct stat sb;
	stat(path, &sb);
	cr_assert_eq(truncate(path, sb.st_size / 2), 0);
	expect_open_error_then_rebuild();
}

Test(cache, foreign_lmdb_file_fails_with_path_and_rebuilds_on_option)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	mdb_env_create(&env);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	MDB_val k = {.mv_size = 3, .mv_data = "foo"}, v = {.mv_size = 3, .mv_data = "bar"};
	mdb_put(txn, dbi, &k, &v, 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);
	expect_open_error_then_rebuild();
}

/* Overwrites every value in DB `name` with `bytes` (raw LMDB, cache closed). */
static void scribble_values(const char *name, const uint8_t *bytes, size_t n, bool keep_header)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 4);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	cr_assert_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
	mdb_cursor_open(txn, dbi, &cur);
	MDB_val k, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		uint8_t nb[4096];
		size_t len = n;
		if (keep_header) {
			/* valid header, damaged body: keep 20 bytes, then scribble */
			memcpy(nb, v.mv_data, 20);
			memcpy(nb + 20, bytes, n);
			len = 20 + n;
		} else {
			memcpy(nb, bytes, n);
		}
		MDB_val nv = {.mv_size = len, .mv_data = nb};
		mdb_cursor_put(cur, &k, &nv, MDB_CURRENT);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_commit(txn);
	mdb_env_close(env);
}

Test(cache, corrupted_values_are_misses_not_crashes)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "x1.example.", 600, 0x15, 0, T0);
	put_rrset(c, "x1.example.", 1, 600, 0x15, 0, A1, 4, T0);
	put_neg(c, "x2.example.com.", 1, true, 600, 600, T0);
	vg_cache_close(c);
	const uint8_t junk[] = {0xFF, 0xFF, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
				0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x10, 0x41, 0x41};
	scribble_values("answer", junk, sizeof(junk), true);
	scribble_values("rrset", junk, sizeof(junk), true);
	c = open_default();
	uint8_t out[4096], buf[4096];
	size_t len;
	unsigned fl;
	struct vg_cache_rrset_view v;
	cr_assert_eq(get_answer(c, "x1.example.", 1, T0, out, &len, &fl, 0), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "x1.example.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "x2.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_geq(st.corrupt, 3);
	/* a damaged value does not block a fresh store either */
	put_a_answer(c, "x1.example.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	cr_assert_eq(get_answer(c, "x1.example.", 1, T0, out, &len, &fl, 0), 0);
	vg_cache_close(c);

	/* whole value replaced by short garbage */
	scribble_values("answer", junk, 5, false);
	c = open_default();
	cr_assert_eq(get_answer(c, "x1.example.", 1, T0, out, &len, &fl, 0), VG_ENOTFOUND);
	vg_cache_close(c);
}

/* ---- eviction ---- */

Test(cache, full_small_map_evicts_keeps_serving_and_never_wipes)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20;
	struct vg_cache *c = open_with(&o);
	vg_cache_start_writer(c);
	char name[64];
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	uint8_t ns[VG_NAME_MAX];
	uint16_t nl = (uint16_t)W("ns.hot.", ns);
	put_rrset(c, "hot.", 2, 86400, 0x14, 0, ns, nl, T0);
	put_a_answer(c, "hot.example.", 86400, 0x15, 0, T0);
	vg_cache_sync(c);
	int ok_puts = 0;
	for (int i = 0; i < 30000; i++) {
		uint32_t now = T0 + (uint32_t)i / 100;
		fake_now = now;
		snprintf(name, sizeof(name), "filler-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, now);
		if (i % 500 == 0) {
			vg_cache_sync(c);
			/* the hot entry is used all along: its recency stamp keeps it */
			cr_assert_eq(get_answer(c, "hot.example.", 1, now, out, &len, &fl, 0), 0,
				     "hot entry evicted at %d", i);
		}
		ok_puts++;
	}
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_gt(st.evicted, 0, "nothing evicted");
	cr_assert_gt(st.answers, 1000, "cache was wiped: %llu left",
		     (unsigned long long)st.answers);
	cr_assert_lt(st.answers, 30000);
	cr_assert_leq(st.used_bytes, o.map_size);
	/* newest entries are there, zone-cut NS kept */
	cr_assert_eq(get_answer(c, "filler-29999.example.", 1, fake_now, out, &len, &fl, 0), 0);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "hot.", 2, fake_now, 0, &v, buf), 0, "delegation NS evicted");
	cr_assert_eq(ok_puts, 30000);
	vg_cache_close(c);
}

/* ---- threads ---- */

struct rthr {
	struct vg_cache *c;
	int hits, bad;
};

static void *reader_thread(void *arg)
{
	struct rthr *t = arg;
	struct vg_cache_reader *rd = vg_cache_reader_new(t->c);
	if (!rd) {
		t->bad++;
		return NULL;
	}
	uint8_t q[VG_NAME_MAX], out[512];
	char name[64];
	for (int i = 0; i < 20000; i++) {
		if (vg_cache_read_begin(rd) != 0) {
			t->bad++;
			break;
		}
		snprintf(name, sizeof(name), "c%d.example.", i % 500);
		size_t ql = (size_t)vg_name_from_text(name, q);
		size_t len;
		int rc = vg_cache_answer_get(rd, q, ql, 1, false, false, 7, T0 + 1, out,
					     sizeof(out), &len, NULL, 0);
		if (rc == 0) {
			t->hits++;
			if (vg_get_u16(out) != 7 || len != 12 + ql + 4 + ql + 14)
				t->bad++;
		} else if (rc != VG_ENOTFOUND) {
			t->bad++;
		}
		vg_cache_read_end(rd);
	}
	vg_cache_reader_free(rd);
	return NULL;
}

Test(cache, concurrent_readers_with_one_writer)
{
	struct vg_cache *c = open_default();
	vg_cache_start_writer(c);
	pthread_t th[4];
	struct rthr ts[4];
	for (int i = 0; i < 4; i++) {
		ts[i] = (struct rthr){.c = c};
		pthread_create(&th[i], NULL, reader_thread, &ts[i]);
	}
	char name[64];
	for (int r = 0; r < 4; r++)
		for (int i = 0; i < 500; i++) {
			snprintf(name, sizeof(name), "c%d.example.", i);
			put_a_answer(c, name, 600, (uint8_t)(0x10 + r), 0, T0);
		}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	vg_cache_sync(c);
	int hits = 0;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(ts[i].bad, 0, "reader %d saw bad data", i);
		hits += ts[i].hits;
	}
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "c499.example.", 1, T0 + 1, out, &len, &fl, 0), 0);
	cr_log_info("reader hits while writing: %d", hits);
	vg_cache_close(c);
}

Test(cache, kill_9_during_write_burst_then_reopen_is_consistent_and_serves)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		struct vg_cache_opts o;
		opts_init(&o);
		o.map_size = 8u << 20; /* small: eviction runs during the burst too */
		struct vg_cache *c = NULL;
		if (vg_cache_open(&o, &c, NULL, 0) != 0)
			_exit(2);
		vg_cache_start_writer(c);
		char name[64];
		for (unsigned i = 0;; i++) {
			snprintf(name, sizeof(name), "k%u.example.", i);
			uint8_t q[VG_NAME_MAX];
			struct msg m;
			vg_name_from_text(name, q);
			msg_init(&m, name, 1, 0);
			msg_rr(&m, 1, name, 1, 3600, A1, 4);
			vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0);
			if (i == 2000) {
				vg_cache_sync(c);
				if (write(pfd[1], "x", 1) != 1)
					_exit(3);
			}
		}
	}
	close(pfd[1]);
	char x;
	cr_assert_eq(read(pfd[0], &x, 1), 1, "child did not start writing");
	close(pfd[0]);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFSIGNALED(status));

	struct vg_cache *c = open_default();
	struct vg_cache_stats st;
	cr_assert_eq(vg_cache_stats(c, &st), 0);
	cr_assert_gt(st.answers, 0);
	/* every stored entry decodes */
	FILE *devnull = fopen("/dev/null", "w");
	cr_assert_eq(vg_cache_dump(c, devnull, T0), 0);
	fclose(devnull);
	vg_cache_stats(c, &st);
	cr_assert_eq(st.corrupt, 0);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	put_a_answer(c, "after.example.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	cr_assert_eq(get_answer(c, "after.example.", 1, T0, out, &len, &fl, 0), 0);
	cr_assert_eq(get_answer(c, "k2000.example.", 1, T0, out, &len, &fl, 0), 0,
		     "synced entry lost");
	vg_cache_close(c);
}

/* ---- management ---- */

Test(cache, flush_name_type_zone_negative_suspicious_all)
{
	struct vg_cache *c = open_default();
	put_rrset(c, "a.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "a.example.com.", 16, 600, 0x15, 0, (const uint8_t *)"\003abc", 4, T0);
	put_rrset(c, "b.a.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "x.example.org.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "sus.example.org.", 1, 600, 0x15, VG_CACHE_F_SUSPECT, A1, 4, T0);
	put_a_answer(c, "a.example.com.", 600, 0x15, 0, T0);
	put_neg(c, "gone.example.org.", 1, true, 600, 600, T0);
	vg_cache_sync(c);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096], out[4096];
	size_t len;
	unsigned fl;
	uint8_t n[VG_NAME_MAX];

	vg_cache_flush_name(c, (W("a.example.com.", n), n), 16);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "a.example.com.", 16, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "a.example.com.", 1, T0, 0, &v, buf), 0);

	vg_cache_flush_name(c, n, 0);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "a.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_answer(c, "a.example.com.", 1, T0, out, &len, &fl, 0), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "b.a.example.com.", 1, T0, 0, &v, buf), 0, "child flushed");

	put_rrset(c, "a.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	put_rrset(c, "example.comm.", 1, 600, 0x15, 0, A1, 4, T0);
	vg_cache_flush_zone(c, (W("example.com.", n), n));
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "b.a.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "a.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "example.comm.", 1, T0, 0, &v, buf), 0, "sibling flushed");
	cr_assert_eq(get_rrset(c, "x.example.org.", 1, T0, 0, &v, buf), 0);

	vg_cache_flush_negative(c);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "gone.example.org.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "x.example.org.", 1, T0, 0, &v, buf), 0);

	vg_cache_flush_suspicious(c);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "sus.example.org.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "x.example.org.", 1, T0, 0, &v, buf), 0);

	vg_cache_flush_all(c);
	vg_cache_sync(c);
	cr_assert_eq(get_rrset(c, "x.example.org.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.rrsets + st.answers + st.negatives, 0);
	vg_cache_close(c);
}

Test(cache, dump_writes_zone_file_like_lines)
{
	struct vg_cache *c = open_default();
	put_rrset(c, "www.example.com.", 1, 600, 0x15, 0, A1, 4, T0);
	uint8_t ns[VG_NAME_MAX];
	uint16_t nl = (uint16_t)W("ns1.example.com.", ns);
	put_rrset(c, "example.com.", 2, 600, 0x14, VG_CACHE_F_SUSPECT, ns, nl, T0);
	put_neg(c, "gone.example.com.", 1, true, 600, 300, T0);
	put_a_answer(c, "www.example.com.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	char *text = NULL;
	size_t tl = 0;
	FILE *f = open_memstream(&text, &tl);
	cr_assert_eq(vg_cache_dump(c, f, T0 + 100), 0);
	fclose(f);
	cr_assert(strstr(text, "www.example.com. 500 IN A 192.0.2.1 ; rank=21 sec=secure\n"), "%s",
		  text);
	cr_assert(strstr(text, "example.com. 500 IN NS ns1.example.com. ; rank=20 sec=secure "
			       "suspect\n"),
		  "%s", text);
	cr_assert(strstr(text, "gone.example.com. 200 IN ANY \\# 0 ; NXDOMAIN soa=example.com."),
		  "%s", text);
	cr_assert(strstr(text, "; answer www.example.com. A do=0 cd=0 ttl=500"), "%s", text);
	free(text);
	vg_cache_close(c);
}

Test(cache, opts_from_config_maps_every_cache_key)
{
	struct vg_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.cache_dir = dir;
	cfg.cache_size = 1u << 30;
	cfg.cache_min_ttl = 5;
	cfg.cache_max_ttl = 7200;
	cfg.cache_max_negative_ttl = 900;
	cfg.serve_stale_max = 1234;
	cfg.cache_rebuild_on_error = true;
	struct vg_cache_opts o;
	vg_cache_opts_from_config(&o, &cfg);
	cr_assert_str_eq(o.dir, dir);
	cr_assert_eq(o.map_size, 1u << 30);
	cr_assert_eq(o.min_ttl, 5);
	cr_assert_eq(o.max_ttl, 7200);
	cr_assert_eq(o.max_neg_ttl, 900);
	cr_assert_eq(o.stale_max, 1234);
	cr_assert(o.rebuild_on_error);
}

Test(cache, answer_ttl_never_outlives_an_rrsig_in_the_message)
{
	struct vg_cache *c = open_default();
	struct msg m;
	uint8_t q[VG_NAME_MAX], sig[40];
	W("sig.example.", q);
	memset(sig, 0, sizeof(sig));
	vg_put_u16(sig, 1);
	vg_put_u32(sig + 8, T0 + 50);	 /* expiration */
	vg_put_u32(sig + 12, T0 - 1000); /* inception */
	msg_init(&m, "sig.example.", 1, 0);
	msg_rr(&m, 1, "sig.example.", 1, 3600, A1, 4);
	msg_rr(&m, 1, "sig.example.", 46, 3600, sig, sizeof(sig));
	cr_assert_eq(
	    vg_cache_answer_put(c, q, 1, true, false, m.b, m.len, 0x15, VG_SEC_SECURE, 0, T0), 0);
	vg_cache_sync(c);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	uint8_t out[4096];
	size_t len, offs[4];
	cr_assert_eq(vg_cache_answer_get(rd, q, 13, 1, true, false, 1, T0 + 10, out, sizeof(out),
					 &len, NULL, 0),
		     0);
	rr_ttl_offsets(out, len, offs);
	cr_assert_eq(ttl_at(out, offs[0]), 40);
	cr_assert_eq(ttl_at(out, offs[1]), 40);
	cr_assert_eq(vg_cache_answer_get(rd, q, 13, 1, true, false, 1, T0 + 50, out, sizeof(out),
					 &len, NULL, 0),
		     VG_ESTALE);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_close(c);
}

Test(cache, full_queue_drops_data_but_not_flushes)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.queue_max = 4;
	struct vg_cache *c = open_with(&o); /* no writer thread: nothing drains until sync */
	char name[32];
	int dropped = 0;
	for (int i = 0; i < 6; i++) {
		uint8_t q[VG_NAME_MAX];
		struct msg m;
		snprintf(name, sizeof(name), "q%d.example.", i);
		W(name, q);
		msg_init(&m, name, 1, 0);
		msg_rr(&m, 1, name, 1, 300, A1, 4);
		if (vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0) ==
		    VG_ELIMIT)
			dropped++;
	}
	cr_assert_eq(dropped, 2);
	cr_assert_eq(vg_cache_flush_negative(c), 0, "control op dropped on a full queue");
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.dropped, 2);
	cr_assert_eq(st.answers, 4);
	vg_cache_close(c);
}

Test(cache, damaged_btree_pages_fail_open_with_path_and_rebuild_on_option)
{
	struct vg_cache *c = open_default();
	char name[64];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "b%d.example.", i);
		put_a_answer(c, name, 600, 0x15, 0, T0);
	}
	vg_cache_close(c);
	/* keep both meta pages (LMDB opens fine), damage every other page's header */
	char path[128];
	path_of(path, sizeof(path), "data.mdb");
	struct stat sb;
	stat(path, &sb);
	int fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	uint8_t junk[64];
	memset(junk, 0xA5, sizeof(junk));
	for (off_t off = 2 * 4096; off < sb.st_size; off += 4096)
		cr_assert_eq(pwrite(fd, junk, sizeof(junk), off), (ssize_t)sizeof(junk));
	close(fd);
	expect_open_error_then_rebuild();
}

Test(cache, flushes_of_many_entries_run_in_small_txns_and_finish)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20; /* small map: 32 deletions per flush txn */
	struct vg_cache *c = open_with(&o);
	char name[64];
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "n%d.example.com.", i);
		put_neg(c, name, 1, true, 600, 600, T0);
		snprintf(name, sizeof(name), "p%d.big.example.", i);
		put_rrset(c, name, 1, 600, 0x15, 0, A1, 4, T0);
	}
	put_rrset(c, "keep.example.", 1, 600, 0x15, 0, A1, 4, T0);
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.negatives, 600);
	cr_assert_eq(st.rrsets, 601);
	vg_cache_flush_negative(c);
	vg_cache_sync(c);
	vg_cache_stats(c, &st);
	cr_assert_eq(st.negatives, 0);
	cr_assert_eq(st.rrsets, 601);
	uint8_t z[VG_NAME_MAX];
	W("big.example.", z);
	vg_cache_flush_zone(c, z);
	vg_cache_sync(c);
	vg_cache_stats(c, &st);
	cr_assert_eq(st.rrsets, 1);
	struct vg_cache_rrset_view v;
	uint8_t buf[4096];
	cr_assert_eq(get_rrset(c, "keep.example.", 1, T0, 0, &v, buf), 0);
	vg_cache_close(c);
}

Test(cache, eviction_takes_expired_entries_before_older_live_ones)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20;
	o.stale_max = 0;
	struct vg_cache *c = open_with(&o);
	char name[64];
	/* live but least recently used */
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "live-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0);
	}
	/* used more recently, but expired by the time the map fills */
	for (int i = 0; i < 1500; i++) {
		snprintf(name, sizeof(name), "short-%d.example.", i);
		put_a_answer(c, name, 10, 0x15, 0, T0 + 50);
	}
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.evicted, 0, "the test must fill the map only after the short TTLs end");
	fake_now = T0 + 100;
	for (int i = 0; i < 4000; i++) {
		snprintf(name, sizeof(name), "fresh-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0 + 100);
		if (i % 100 == 99) {
			vg_cache_sync(c);
			vg_cache_stats(c, &st);
			if (st.evicted > 500)
				break;
		}
	}
	vg_cache_sync(c);
	vg_cache_stats(c, &st);
	cr_assert_gt(st.evicted, 500, "map never filled: %llu", (unsigned long long)st.evicted);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "live-%d.example.", i);
		cr_assert_eq(get_answer(c, name, 1, T0 + 100, out, &len, &fl, 0), 0,
			     "live entry %s evicted while expired ones were left", name);
	}
	vg_cache_close(c);
}

Test(cache, eviction_spares_a_recently_used_zone_and_takes_the_cold_one)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20;
	struct vg_cache *c = open_with(&o);
	char name[64];
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "hot-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0);
	}
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "cold-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0 + 10);
	}
	vg_cache_sync(c);
	/* the hot zone's names are used (one reader: the touches are queued once each) */
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	vg_cache_read_begin(rd);
	for (int i = 0; i < 300; i++) {
		uint8_t q[VG_NAME_MAX];
		snprintf(name, sizeof(name), "hot-%d.example.", i);
		size_t ql = W(name, q);
		cr_assert_eq(vg_cache_answer_get(rd, q, ql, 1, false, false, 1, T0 + 40, out,
						 sizeof(out), &len, &fl, 0),
			     0);
	}
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_eq(st.evicted, 0);
	cr_assert_eq(st.touches, 300);
	fake_now = T0 + 50;
	/* enough new names that the eviction hand passes the hot zone several times */
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "new-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0 + 50);
		if (i % 100 == 99) {
			vg_cache_sync(c);
			vg_cache_stats(c, &st);
			if (st.evicted > 5000)
				break;
		}
	}
	cr_assert_gt(st.evicted, 5000, "map never filled");
	int lost = 0;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "hot-%d.example.", i);
		lost += get_answer(c, name, 1, T0 + 50, out, &len, &fl, 0) != 0;
	}
	cr_assert_eq(lost, 0, "%d names of the recently used zone evicted before cold ones", lost);
	vg_cache_close(c);
}

Test(cache, eviction_progresses_when_every_entry_scores_the_same)
{
	struct vg_cache_opts o;
	opts_init(&o);
	o.map_size = 2u << 20;
	struct vg_cache *c = open_with(&o);
	char name[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "same-%d.example.", i);
		put_a_answer(c, name, 86400, 0x15, 0, T0); /* stored and used alike: equal scores */
		if (i % 100 == 99)
			vg_cache_sync(c);
	}
	vg_cache_sync(c);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_gt(st.evicted, 10000);
	cr_assert_eq(st.dropped, 0, "eviction stalled on ties: %llu writes dropped",
		     (unsigned long long)st.dropped);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "same-19999.example.", 1, T0, out, &len, &fl, 0), 0);
	vg_cache_close(c);
}
