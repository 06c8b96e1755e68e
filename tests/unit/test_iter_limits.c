/* Unit tests of the per-reply limits (docs/architecture.md "Per-reply limits") and of answers that
 * do not fit in a DNS message, through the iterator with the fake upstream: big.com. has two
 * servers that both send the same crafted reply to every question. */
#include <stdarg.h>
#include "iter_test.h"

#define BIG1 "93.184.218.1"
#define BIG2 "93.184.218.2"

static char **list; /* the servers' records, NULL-ended */
static size_t n_list;

static void add(const char *fmt, ...)
{
	list = realloc(list, (n_list + 2) * sizeof(*list));
	va_list ap;
	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&list[n_list++], fmt, ap), 0);
	va_end(ap);
	list[n_list] = NULL;
}

static void free_list(void)
{
	for (size_t i = 0; i < n_list; i++)
		free(list[i]);
	free(list);
	list = NULL;
	n_list = 0;
}

static struct fake_server *big[2];

/* Delegates big.com. to two servers answering `rcode` with the records in `list`, or with `raw`
 * replies; starts the resolver. */
static void big_zone(int rcode, size_t (*raw)(const uint8_t *, size_t, uint8_t *, size_t))
{
	for (size_t i = 0; i < F.n_servers; i++) {
		struct fake_server *s = &F.servers[i];
		if (!strcmp(s->addr, COM)) {
			fake_rr(s, "big.com. 172800 IN NS ns1.big.com.");
			fake_rr(s, "big.com. 172800 IN NS ns2.big.com.");
			fake_rr(s, "ns1.big.com. 172800 IN A " BIG1);
			fake_rr(s, "ns2.big.com. 172800 IN A " BIG2);
			break;
		}
	}
	const char *addrs[2] = {BIG1, BIG2};
	for (int i = 0; i < 2; i++) {
		big[i] = fake_server(&F, addrs[i], "big.com.", FAKE_FIXED);
		big[i]->fixed = (const char *const *)list;
		big[i]->fixed_rcode = rcode;
		big[i]->raw = raw;
	}
	start_resolver();
}

static void both_servers_asked(void)
{
	cr_assert_geq(fake_count(&F, BIG1, NULL, 0), 1, "first server asked");
	cr_assert_geq(fake_count(&F, BIG2, NULL, 0), 1, "then the next one");
}

static void servfail_naming(const struct result *res, const char *what)
{
	cr_assert_eq(ldns_pkt_get_rcode(res->pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res->ede, 0, "EDE 0 Other");
	cr_assert(strstr(res->ede_text, "per-reply limit") && strstr(res->ede_text, what),
		  "EDE text: %s", res->ede_text);
}

/* Looks (owner, type) up in the rrset cache; *v points into a static buffer. */
static int cached_view(const char *owner, uint16_t type, struct vg_cache_rrset_view *v)
{
	struct vg_cache_reader *rd = vg_cache_reader_new(cache);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	uint8_t name[VG_NAME_MAX];
	vg_name_from_text(owner, name);
	static uint8_t buf[VG_CACHE_READ_MAX];
	int rc = vg_cache_rrset_get(rd, name, type, (uint32_t)F.wall, 0, buf, sizeof(buf), v);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	return rc;
}

/* The rrset cache's (name, type): VG_ENOTFOUND or its record count. */
static int rrset_cached(const char *owner, uint16_t type)
{
	struct vg_cache_rrset_view v;
	int rc = cached_view(owner, type, &v);
	return rc < 0 ? rc : v.rr_count;
}

TestSuite(iter_limits, .init = setup, .fini = teardown);

/* One limit at its edge: build(name, n_at + 1) records for "at.big.com." (a reply exactly at
 * the limit: answered with `rcode`), then for "over.big.com." (one over: every server is asked,
 * then SERVFAIL with the EDE naming the limit). */
static void edge(void (*build)(const char *name, size_t n), size_t n_at, int rcode,
		 const char *text)
{
	big_zone(rcode, NULL);
	const char *names[2] = {"at.big.com.", "over.big.com."};
	for (int over = 0; over < 2; over++) {
		build(names[over], n_at + (size_t)over);
		for (int i = 0; i < 2; i++)
			big[i]->fixed = (const char *const *)list;
		F.n_log = 0;
		struct result res;
		resolve(names[over], LDNS_RR_TYPE_A, &res);
		if (over) {
			servfail_naming(&res, text);
			both_servers_asked();
		} else {
			cr_assert_eq(ldns_pkt_get_rcode(res.pkt), rcode, "at the limit: answered");
		}
		free_result(&res);
		free_list();
	}
}

static void rrset(const char *name, size_t n)
{
	for (unsigned i = 0; i < n; i++)
		add("A|%s 300 IN A 198.18.%u.%u", name, i / 256, i % 256);
}

Test(iter_limits, records_per_rrset)
{
	edge(rrset, VG_MAX_RRSET_RRS, LDNS_RCODE_NOERROR, "records in one RRset");
}

static void sigs(const char *name, size_t n)
{
	add("A|%s 300 IN A 198.18.0.1", name);
	for (unsigned i = 0; i < n; i++)
		add("A|%s 300 IN RRSIG A 13 3 300 20991231000000 20200101000000 %u big.com. AAAA",
		    name, 1000 + i);
}

Test(iter_limits, rrsigs_per_rrset)
{
	edge(sigs, VG_MAX_RRSET_SIGS, LDNS_RCODE_NOERROR, "RRSIGs covering one RRset");
}

static void nsecs(const char *name, size_t n)
{
	add("U|" SOA("big.com."));
	for (unsigned i = 0; i < n; i++)
		add("U|x%u.big.com. 300 IN NSEC x%u.big.com. A", i, i + 1);
}

Test(iter_limits, nsec_records_per_proof)
{
	edge(nsecs, VG_MAX_PROOF_NSEC, LDNS_RCODE_NXDOMAIN, "NSEC/NSEC3 records in one proof");
}

/* An NSEC (35 bytes of wire: owner 11, fixed 10, next name 11, bitmap 3) and two RRSIGs over it
 * (48 bytes + signature each): 131 + s1 + s2 bytes of proof. */
static void proof(const char *name, size_t bytes)
{
	size_t sl[2] = {8100, bytes - 131 - 8100};
	add("U|" SOA("big.com."));
	add("U|a.big.com. 300 IN NSEC z.big.com. A");
	for (int k = 0; k < 2; k++) {
		/* base64 of sl[k] zero bytes */
		char *b64 = calloc(1, sl[k] / 3 * 4 + 8);
		for (size_t j = 0; j < sl[k] / 3; j++)
			memcpy(b64 + 4 * j, "AAAA", 4);
		strcat(b64, sl[k] % 3 == 1 ? "AA==" : sl[k] % 3 == 2 ? "AAA=" : "");
		add("U|a.big.com. 300 IN RRSIG NSEC 13 3 300 20991231000000 20200101000000 %d "
		    "big.com. "
		    "%s",
		    100 + k, b64);
		free(b64);
	}
	(void)name;
}

Test(iter_limits, bytes_of_negative_proof)
{
	edge(proof, VG_MAX_PROOF_BYTES, LDNS_RCODE_NXDOMAIN, "bytes of negative proof");
	/* The reply at the limit went to the cache with its proof whole: exactly the limit. */
	struct vg_cache_rrset_view v;
	cr_assert_eq(cached_view("at.big.com.", LDNS_RR_TYPE_A, &v), 0);
	cr_assert_eq(v.kind, VG_CACHE_NXDOMAIN);
	cr_assert_eq(v.proof_len, VG_MAX_PROOF_BYTES);
}

/* ---- the crafted replies of docs/benchmarks.md "Per-reply work" ---- */

/* Header and question of the query, as the reply's start. */
static size_t echo_question(const uint8_t *query, size_t qlen, uint8_t *out, uint8_t rcode)
{
	size_t q = 12;
	while (q < qlen && query[q])
		q += query[q] + 1u;
	q += 5;
	memcpy(out, query, q);
	out[2] = 0x84; /* QR AA */
	out[3] = rcode;
	memset(out + 6, 0, 6);
	return q;
}

static size_t put_rr(uint8_t *out, size_t p, uint16_t type, uint16_t rdlen)
{
	out[p] = 0xC0; /* owner: the question name */
	out[p + 1] = 12;
	vg_put_u16(out + p + 2, type);
	vg_put_u16(out + p + 4, 1);
	vg_put_u32(out + p + 6, 300);
	vg_put_u16(out + p + 10, rdlen);
	return p + 12;
}

/* NXDOMAIN: an SOA, then 2,400 NSEC + RRSIG pairs all owned by the (250-byte) question name. */
static size_t nsec_flood(const uint8_t *query, size_t qlen, uint8_t *out, size_t cap)
{
	size_t p = echo_question(query, qlen, out, 3);
	size_t zone = p;
	memcpy(out + p, "\3big\3com\0", 9);
	p += 9;
	vg_put_u16(out + p, 6);
	vg_put_u16(out + p + 2, 1);
	vg_put_u32(out + p + 4, 300);
	vg_put_u16(out + p + 8, 24);
	p += 10;
	for (int i = 0; i < 2; i++, p += 2)
		vg_put_u16(out + p, (uint16_t)(0xC000 | zone));
	for (int i = 0; i < 5; i++, p += 4)
		vg_put_u32(out + p, 300);
	unsigned n = 0;
	for (; n < 2400 && p + 27 <= cap; n++) {
		p = put_rr(out, p, 47, 1);
		out[p++] = 0;
		p = put_rr(out, p, 46, 2);
		vg_put_u16(out + p, 47);
		p += 2;
	}
	vg_put_u16(out + 8, (uint16_t)(1 + 2 * n));
	return p;
}

/* NOERROR: 4,000 A records at the question name. */
static size_t rrset_flood(const uint8_t *query, size_t qlen, uint8_t *out, size_t cap)
{
	size_t p = echo_question(query, qlen, out, 0);
	unsigned n = 0;
	for (; n < 4000 && p + 16 <= cap; n++) {
		p = put_rr(out, p, 1, 4);
		vg_put_u32(out + p, 0xC6120000u + n);
		p += 4;
	}
	vg_put_u16(out + 6, (uint16_t)n);
	return p;
}

Test(iter_limits, handles_a_reply_of_2400_nsec_pairs_at_one_long_owner)
{
	big_zone(0, nsec_flood);
	/* four 59-byte labels + big.com.: a 250-byte name */
	char name[300] = "";
	for (int i = 0; i < 4; i++) {
		memset(name + 60 * i, 'n' + i, 59);
		name[60 * i + 59] = '.';
	}
	strcpy(name + 240, "big.com.");
	struct result res;
	resolve(name, LDNS_RR_TYPE_A, &res);
	/* 2,400 NSEC at one owner are one RRset: that limit is met first. */
	servfail_naming(&res, "records in one RRset");
	both_servers_asked();
	free_result(&res);
}

Test(iter_limits, handles_a_reply_of_4000_records_in_one_rrset)
{
	big_zone(0, rrset_flood);
	struct result res;
	resolve("www.big.com.", LDNS_RR_TYPE_A, &res);
	servfail_naming(&res, "records in one RRset");
	both_servers_asked();
	free_result(&res);
}

/* ---- answers that do not fit in a DNS message ---- */

/* A 250-byte name under big.com.: four 59-byte labels of `c`, `c`+1, ... */
static void long_name(char *out, char c)
{
	for (int i = 0; i < 4; i++) {
		memset(out + 60 * i, c + i, 59);
		out[60 * i + 59] = '.';
	}
	strcpy(out + 240, "big.com.");
}

static bool answer_cached(const char *qname, uint16_t qtype)
{
	struct vg_cache_reader *rd = vg_cache_reader_new(cache);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	uint8_t name[VG_NAME_MAX];
	int n = vg_name_from_text(qname, name);
	static uint8_t buf[65536];
	size_t len = 0;
	int rc = vg_cache_answer_get(rd, name, (size_t)n, qtype, false, false, 0, (uint32_t)F.wall,
				     buf, sizeof(buf), &len, NULL, 0);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	return rc == 0;
}

Test(iter_limits, cuts_an_answer_too_big_for_a_message_before_an_rrset_and_sets_tc)
{
	char from[300], to[300];
	long_name(from, 'a');
	long_name(to, 'k');
	add("A|%s 300 IN CNAME %s", from, to);
	for (unsigned i = 0; i < VG_MAX_RRSET_RRS; i++)
		add("A|%s 300 IN A 198.18.0.%u", to, i);
	big_zone(LDNS_RCODE_NOERROR, NULL);
	struct result res;
	resolve(from, LDNS_RR_TYPE_A, &res);
	/* CNAME 510 bytes + 256 A of 264 bytes each written uncompressed: over VG_ANSWER_MAX. */
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(ldns_pkt_tc(res.pkt), "TC set");
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 1, "the CNAME, and none of the A RRset");
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, from, LDNS_RR_TYPE_CNAME, NULL));
	cr_assert_not(answer_cached(from, LDNS_RR_TYPE_A), "a cut answer is not cached");
	cr_assert_eq(rrset_cached(to, LDNS_RR_TYPE_A), VG_MAX_RRSET_RRS, "the RRset is, whole");
	free_result(&res);
	free_list();
}

/* 256 MX at the question name, exchange a 250-byte name (written once), and 8 RRSIGs of 127
 * bytes: 65,024 bytes of rdata and 1,032 of signatures once decompressed, over what the cache can
 * hand back (VG_CACHE_READ_MAX). */
static size_t mx_flood(const uint8_t *query, size_t qlen, uint8_t *out, size_t cap)
{
	size_t p = echo_question(query, qlen, out, 0);
	size_t target = 0;
	for (unsigned i = 0; i < VG_MAX_RRSET_RRS; i++) {
		p = put_rr(out, p, 15, target ? 4 : 2 + 251);
		vg_put_u16(out + p, (uint16_t)i);
		p += 2;
		if (target) {
			vg_put_u16(out + p, (uint16_t)(0xC000 | target));
			p += 2;
			continue;
		}
		target = p;
		for (int l = 0; l < 4; l++) {
			out[p++] = 61;
			memset(out + p, 'm', 61);
			p += 61;
		}
		out[p++] = 1;
		out[p++] = 'x';
		out[p++] = 0;
	}
	for (unsigned i = 0; i < VG_MAX_RRSET_SIGS; i++) {
		p = put_rr(out, p, 46, 127);
		memset(out + p, 0, 127);
		vg_put_u16(out + p, 15);
		vg_put_u32(out + p + 8, (uint32_t)F.wall + 86400); /* expiration */
		vg_put_u16(out + p + 16, (uint16_t)i);		   /* key tag */
		p += 127;
	}
	vg_put_u16(out + 6, VG_MAX_RRSET_RRS + VG_MAX_RRSET_SIGS);
	cr_assert_leq(p, cap);
	return p;
}

Test(iter_limits, never_caches_an_rrset_the_cache_could_not_hand_back)
{
	big_zone(0, mx_flood);
	struct result res;
	resolve("www.big.com.", LDNS_RR_TYPE_MX, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert_eq(rrset_cached("www.big.com.", LDNS_RR_TYPE_MX), VG_ENOTFOUND,
		     "not cached at all rather than cut");
	free_result(&res);
}
