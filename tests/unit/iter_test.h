/* Shared by the iterator's criterion files: a scripted Internet (fake_upstream.h) with a fake
 * clock, a real cache in a temporary directory, and helpers to resolve a name and inspect the
 * answer. Header-only: each test file is its own binary, so everything here is static; each file
 * declares TestSuite(iter, .init = setup, .fini = teardown). */
#ifndef VIGIL_TESTS_ITER_TEST_H
#define VIGIL_TESTS_ITER_TEST_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <vigil/cache.h>
#include <vigil/err.h>
#include <vigil/resolver.h>
#include "fake_upstream.h"
#include "iter.h"

#define ROOT "198.41.0.4"
#define COM "192.5.6.30"
#define NET "192.5.6.31"
#define EXCOM "93.184.216.10"
#define EXCOM2 "93.184.216.11"
#define EXNET "93.184.217.10"
#define SOA(z) z " 3600 IN SOA ns." z " h." z " 1 7200 3600 1209600 300"

static struct fake_up F;
static struct vg_resolver_opts C; /* the resolver's options: defaults, then each test's */
static struct vg_cache *cache;
static struct vg_resolver *R;
static char dir[64] = "/tmp/vg-iter-XXXXXX";
static char hints_path[128];

struct result {
	bool done;
	ldns_pkt *pkt;
	uint16_t ede;
	char ede_text[128];
	unsigned calls;
};

static void on_answer(void *ctx, const struct vg_answer *a)
{
	struct result *res = ctx;
	res->calls++;
	res->done = true;
	if (res->pkt)
		ldns_pkt_free(res->pkt);
	res->pkt = NULL;
	cr_assert_eq(ldns_wire2pkt(&res->pkt, a->wire, a->len), LDNS_STATUS_OK);
	res->ede = a->ede;
	snprintf(res->ede_text, sizeof(res->ede_text), "%s", a->ede_text ? a->ede_text : "");
}

static void world(void)
{
	struct fake_server *s = fake_server(&F, ROOT, ".", FAKE_AUTH);
	fake_rr(s, ". 3600 IN SOA a.root-servers.net. h. 1 7200 3600 1209600 300");
	fake_rr(s, ". 518400 IN NS a.root-servers.net.");
	fake_rr(s, "a.root-servers.net. 518400 IN A " ROOT);
	fake_rr(s, "com. 172800 IN NS a.gtld-servers.net.");
	fake_rr(s, "net. 172800 IN NS b.gtld-servers.net.");
	fake_rr(s, "a.gtld-servers.net. 172800 IN A " COM);
	fake_rr(s, "b.gtld-servers.net. 172800 IN A " NET);

	s = fake_server(&F, COM, "com.", FAKE_AUTH);
	fake_rr(s, SOA("com."));
	fake_rr(s, "com. 172800 IN NS a.gtld-servers.net.");
	fake_rr(s, "example.com. 172800 IN NS ns1.example.com.");
	fake_rr(s, "ns1.example.com. 172800 IN A " EXCOM);
	fake_rr(s, "example.com. 86400 IN DS 12345 13 2 "
		   "8E6A3D2F2B0C1A9E7F5D4C3B2A1908F7E6D5C4B3A29180706050403020100FFEE");
	fake_rr(s, "glueless.com. 172800 IN NS ns.example.net.");
	fake_rr(s, "twons.com. 172800 IN NS ns1.twons.com.");
	fake_rr(s, "twons.com. 172800 IN NS ns2.twons.com.");
	fake_rr(s, "ns1.twons.com. 172800 IN A " EXCOM2);
	fake_rr(s, "ns2.twons.com. 172800 IN A " EXCOM);
	fake_rr(s, "local.com. 172800 IN NS ns.local.com.");
	fake_rr(s, "ns.local.com. 172800 IN A 127.0.0.1");
	/* out-of-bailiwick "glue" a careful resolver must not believe */
	fake_rr(s, "evil.com. 172800 IN NS ns.evil.net.");

	s = fake_server(&F, NET, "net.", FAKE_AUTH);
	fake_rr(s, SOA("net."));
	fake_rr(s, "example.net. 172800 IN NS ns.example.net.");
	fake_rr(s, "ns.example.net. 172800 IN A " EXNET);

	s = fake_server(&F, EXCOM, "example.com.", FAKE_AUTH);
	fake_rr(s, SOA("example.com."));
	fake_rr(s, "example.com. 3600 IN NS ns1.example.com.");
	fake_rr(s, "ns1.example.com. 3600 IN A " EXCOM);
	fake_rr(s, "www.example.com. 3600 IN A 192.0.2.1");
	fake_rr(s, "alias.example.com. 3600 IN CNAME www.example.com.");
	fake_rr(s, "chain.example.com. 3600 IN CNAME www.example.net.");
	fake_rr(s, "c1.example.com. 3600 IN CNAME c2.example.com.");
	fake_rr(s, "c2.example.com. 3600 IN CNAME c3.example.com.");
	fake_rr(s, "c3.example.com. 3600 IN CNAME www.example.com.");
	fake_rr(s, "loop.example.com. 3600 IN CNAME loop.example.net.");
	fake_rr(s, "a.b.c.d.example.com. 3600 IN A 192.0.2.9");

	s = fake_server(&F, EXCOM2, "twons.com.", FAKE_SILENT);
	s = fake_server(&F, EXCOM, "twons.com.", FAKE_AUTH);
	fake_rr(s, SOA("twons.com."));
	fake_rr(s, "www.twons.com. 3600 IN A 192.0.2.77");

	s = fake_server(&F, EXNET, "example.net.", FAKE_AUTH);
	fake_rr(s, SOA("example.net."));
	fake_rr(s, "www.example.net. 3600 IN A 192.0.2.2");
	fake_rr(s, "ns.example.net. 3600 IN A " EXNET);
	fake_rr(s, "loop.example.net. 3600 IN CNAME loop.example.com.");

	s = fake_server(&F, EXNET, "glueless.com.", FAKE_AUTH);
	fake_rr(s, SOA("glueless.com."));
	fake_rr(s, "www.glueless.com. 3600 IN A 192.0.2.5");
}

/* The scripted server at addr for zone apex (to change its mode in a test). Inline: not every
 * test file uses it. */
static inline struct fake_server *server_of(const char *addr, const char *apex)
{
	for (size_t i = 0; i < F.n_servers; i++)
		if (!strcmp(F.servers[i].addr, addr) && !strcmp(F.servers[i].apex, apex))
			return &F.servers[i];
	cr_assert_fail("no server %s for %s", addr, apex);
	return NULL;
}

static void cfg_init(void)
{
	vg_resolver_opts_default(&C);
	C.root_hints = hints_path;
	C.addr.do_ip6 = false; /* the scripted Internet is IPv4 unless a test adds IPv6 */
	C.dnssec.enabled =
	    false; /* and unsigned: DNSSEC tests sign their zones and set an anchor */
	/* The scripted Internet counts every query: the servers-disagree cross-checks (extra
	 * queries to a zone's second server) only where a test turns them on. */
	C.hijack.servers_disagree = VG_DETECT_OFF;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void start_resolver(void)
{
	struct vg_resolver_env env = {.opts = &C, .cache = cache, .upstream = &F.head};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000); /* priming */
	if (cache)
		vg_cache_sync(cache);
	F.n_log = 0;
}

static void setup(void)
{
	fake_init(&F);
	world();
	strcpy(dir, "/tmp/vg-iter-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(hints_path, sizeof(hints_path), "%s/root.hints", dir);
	FILE *h = fopen(hints_path, "w");
	fprintf(h, ".  3600000  NS  A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET. 3600000 A " ROOT "\n");
	fclose(h);
	cfg_init();
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.dir = dir;
	o.map_size = 64 << 20;
	char err[256];
	cr_assert_eq(vg_cache_open(&o, &cache, err, sizeof(err)), 0, "%s", err);
	R = NULL;
}

static void teardown(void)
{
	if (R)
		vg_resolver_close(R);
	vg_cache_close(cache);
	cache = NULL;
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static void resolve_rd(const char *name, uint16_t type, bool rd, struct result *res)
{
	uint8_t wire[VG_NAME_MAX];
	int n = vg_name_from_text(name, wire);
	cr_assert_gt(n, 0);
	struct vg_question q = {.qname = wire,
				.qname_len = (size_t)n,
				.qtype = type,
				.qclass = 1,
				.rd_bit = rd,
				.has_edns = true};
	memset(res, 0, sizeof(*res));
	cr_assert_eq(vg_resolver_resolve(R, &q, on_answer, res), 0);
	fake_run(&F, 120000);
	vg_cache_sync(cache);
	cr_assert(res->done, "no answer for %s", name);
}

static void resolve(const char *name, uint16_t type, struct result *res)
{
	resolve_rd(name, type, true, res);
}

static void free_result(struct result *res)
{
	if (res->pkt)
		ldns_pkt_free(res->pkt);
	res->pkt = NULL;
}

static bool has_rr(const ldns_pkt *p, ldns_pkt_section sec, const char *owner, ldns_rr_type t,
		   const char *rdata)
{
	ldns_rr_list *l = ldns_pkt_get_section_clone(p, sec);
	bool found = false;
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && !found; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) != t || ldns_dname_compare(ldns_rr_owner(rr), o))
			continue;
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, ldns_rr_rd_count(rr) - 1));
		found = !rdata || !strcasecmp(s, rdata);
		free(s);
	}
	ldns_rdf_deep_free(o);
	ldns_rr_list_deep_free(l);
	return found;
}

#endif
