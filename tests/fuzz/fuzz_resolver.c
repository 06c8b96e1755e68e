/* Fuzz target: the whole iterative resolver (resolver/: request, iterator, wire, scrubber, store)
 * driven by a scripted upstream whose replies come from the input, as a hostile or broken set of
 * authoritative servers would send them. Every reply is made to match its query (ID and exact
 * question bytes), as the real transport guarantees, so the fuzzer spends its time past the match.
 * Input:
 *   u8 question: bits 0-2 qname, bits 3-6 qtype, bit 7 with the LMDB cache
 *   u8 setup: bits 0-1 config variant, bit 2 DO, bit 3 CD; after the first delivery, bit 4:
 *     a second client asks the same question, bit 5: one asks the next name, bit 6: prefetch;
 *     bit 7 (with the cache): u16 n, then n bytes of raw cache entries (cache_load.h) to start
 *     from, as a damaged or hostile cache file would hold them
 *   then one chunk per query, oldest query first: u16 n, n bytes;
 *     n == 0: the query times out; n == 1: local error;
 *     else the reply's header bytes 2..11 (flags, QD ignored, AN, NS, AR counts) and the sections
 *     after the question. No chunk left: every further query times out. */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vigil/resolver.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/resolver.h>
#include <vigil/upstream.h>
#include "fuzz.h"
#include "cache_load.h"
#include "impl.h"
#include "query.h"

#include "fake_upstream.h"

static bool debug; /* VIGIL_FUZZ_DEBUG=1: trace each delivery and the answer on stderr */

/* ---- fixtures ---- */

/* Four option sets, each the resolver's defaults with one twist: as is; no qname minimisation
 * nor 0x20; `forward: 192.0.2.53`; forward-zone example.com. to 192.0.2.54 and 2001:db8::54
 * with prefetch off. */
static struct vg_resolver_opts opts[4];
static struct vg_sockaddr fwd_all, fwd_zone[2];
static struct vg_forward_zone fz = {.zone = "\7example\3com", .addrs = fwd_zone, .n_addrs = 2};
static struct vg_cache *cache;
static char dir[64];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	vg_cache_close(cache);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static uint32_t cache_clock(void *ctx)
{
	(void)ctx;
	return (uint32_t)f_wall_now(NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	debug = getenv("VIGIL_FUZZ_DEBUG") != NULL;
	for (int i = 0; i < 4; i++)
		vg_resolver_opts_default(&opts[i]);
	opts[1].qname_minimisation = false;
	opts[1].case_randomisation = false;
	if (vg_sockaddr_parse("192.0.2.53", 53, &fwd_all) != 0 ||
	    vg_sockaddr_parse("192.0.2.54", 53, &fwd_zone[0]) != 0 ||
	    vg_sockaddr_parse("2001:db8::54", 53, &fwd_zone[1]) != 0)
		abort();
	opts[2].forward = &fwd_all;
	opts[2].n_forward = 1;
	opts[3].forward_zones = &fz;
	opts[3].n_forward_zones = 1;
	opts[3].prefetch = false;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/vgfuzz-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.dir = dir;
	o.map_size = 32u << 20;
	o.clock = cache_clock;
	char err[512];
	if (vg_cache_open(&o, &cache, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_resolver: %s\n", err);
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* ---- the client side ---- */

struct client {
	unsigned calls;
	const uint8_t *qname;
	size_t qname_len;
	uint16_t qtype;
};

static uint8_t abuf[65536];

static void on_answer(void *ctx, const struct vg_answer *ans)
{
	struct client *c = ctx;
	c->calls++;
	if (debug)
		fprintf(stderr, "fuzz_resolver: answer rcode %u, %u answer records, ede %u\n",
			ans->len >= 12 ? ans->wire[3] & 0x0F : 99,
			ans->len >= 12 ? vg_get_u16(ans->wire + 6) : 0, ans->ede);
	VG_FUZZ_CHECK(c->calls == 1);
	VG_FUZZ_CHECK(ans->len >= 12 + c->qname_len + 4 && ans->len <= sizeof(abuf));
	const uint8_t *w = ans->wire;
	VG_FUZZ_CHECK(w[0] == 0 && w[1] == 0 && (w[2] & 0x80) && vg_get_u16(w + 4) == 1);
	VG_FUZZ_CHECK(memcmp(w + 12, c->qname, c->qname_len) == 0);
	VG_FUZZ_CHECK(vg_get_u16(w + 12 + c->qname_len) == c->qtype);
	/* The front end's last step: ID, OPT, truncation to a plain 512-byte UDP answer. */
	memcpy(abuf, w, ans->len);
	struct vg_query q = {.id = 0x4242,
			     .has_question = true,
			     .qtype = c->qtype,
			     .qclass = 1,
			     .has_edns = true,
			     .udp_size = 512};
	memcpy(q.qname, c->qname, c->qname_len);
	q.qname_len = (uint8_t)c->qname_len;
	int n =
	    vg_query_finish(&q, abuf, ans->len, sizeof(abuf), 512, ans->ede, ans->ede_text, 1232);
	VG_FUZZ_CHECK(n > 0 && n <= 512); /* the resolver's answer must be walkable */
}

/* ---- driving ---- */

static uint8_t reply[65536];

static void deliver(struct fake_query *q, struct vg_fuzz_in *in)
{
	enum vg_upstream_status st = VG_UP_TIMEOUT;
	size_t len = 0;
	if (in->pos < in->len) {
		size_t n = vg_fuzz_u16(in);
		if (n > in->len - in->pos)
			n = in->len - in->pos;
		const uint8_t *c = in->p + in->pos;
		in->pos += n;
		int ql = vg_name_len(q->wire + 12, q->len - 12);
		VG_FUZZ_CHECK(ql > 0);
		size_t qend = 12 + (size_t)ql + 4;
		if (n == 1) {
			st = VG_UP_ERROR;
		} else if (n >= 10 && qend + (n - 10) <= sizeof(reply)) {
			st = VG_UP_REPLY;
			memcpy(reply, q->wire, 2);
			memcpy(reply + 2, c, 10);
			reply[2] |= 0x80;
			vg_put_u16(reply + 4, 1);
			memcpy(reply + 12, q->wire + 12, qend - 12);
			memcpy(reply + qend, c + 10, n - 10);
			len = qend + n - 10;
			/* A reply that does not parse never reaches the resolver: the transport
			 * keeps waiting (VG_MATCH_MALFORMED), here until the timeout. */
			enum vg_upstream_match m = vg_upstream_match(q->wire, q->len, reply, len);
			VG_FUZZ_CHECK(m == VG_MATCH_OK || m == VG_MATCH_MALFORMED);
			if (m == VG_MATCH_MALFORMED) {
				st = VG_UP_TIMEOUT;
				len = 0;
			}
		}
	}
	if (debug) {
		char txt[VG_NAME_TEXT_MAX];
		vg_name_to_text(q->wire + 12, txt, sizeof(txt));
		fprintf(stderr, "fuzz_resolver: query %s type %u -> %s (%zu bytes)\n", txt,
			vg_get_u16(q->wire + 12 + vg_name_len(q->wire + 12, 255)),
			st == VG_UP_REPLY   ? "reply"
			: st == VG_UP_ERROR ? "error"
					    : "timeout",
			len);
	}
	fu.now += st == VG_UP_TIMEOUT ? 400 : 15;
	/* An exact-size heap copy, so ASan sees any read past the datagram. */
	uint8_t *msg = NULL;
	if (st == VG_UP_REPLY) {
		msg = malloc(len);
		if (!msg)
			abort();
		memcpy(msg, reply, len);
	}
	fake_complete(q, st, msg, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t *const names[8] = {
	    (const uint8_t *)"\3WwW\7ExAmPlE\3cOm",
	    (const uint8_t *)"\7example\3com",
	    (const uint8_t *)"\1a\1b\1c\1d\7example\3org",
	    (const uint8_t *)"",
	    (const uint8_t *)"\3com",
	    (const uint8_t *)"\4mail\7example\3net",
	    (const uint8_t *)"\0011\0010\0010\003127\7in-addr\4arpa",
	    (const uint8_t *)"\3www\7example\3com",
	};
	static const uint16_t types[16] = {1, 28, 2,  15, 255, 5,  16, 43,
					   6, 12, 48, 33, 39,  13, 65, 99};
	if (size < 2 || size > 1 << 18)
		return 0;
	struct vg_fuzz_in in = {.p = data, .len = size};
	uint8_t qsel = vg_fuzz_u8(&in), setup = vg_fuzz_u8(&in);
	bool with_cache = qsel & 0x80;

	memset(&fu, 0, sizeof(fu));
	fu.up.ops = &fake_ops;
	fu.now = 1000;
	if (with_cache) { /* empty, or a damaged file to start from */
		size_t n = (setup & 0x80) ? vg_fuzz_u16(&in) : 0;
		vg_fuzz_cache_load(cache, &in, in.pos + n);
	}
	struct vg_resolver_env env = {
	    .opts = &opts[setup & 3], .cache = with_cache ? cache : NULL, .upstream = &fu.up};
	struct vg_resolver *r;
	if (vg_resolver_new(&env, &r) != 0)
		return 0;

	const uint8_t *qname = names[qsel & 7];
	struct client cl = {.qname = qname,
			    .qname_len = (size_t)vg_name_len(qname, VG_NAME_MAX),
			    .qtype = types[(qsel >> 3) & 15]};
	struct vg_sockaddr client;
	vg_sockaddr_parse("127.0.0.1@5353", 53, &client);
	struct vg_question q = {.qname = qname,
				.qname_len = cl.qname_len,
				.qtype = cl.qtype,
				.qclass = 1,
				.do_bit = setup & 4,
				.cd_bit = setup & 8,
				.rd_bit = true,
				.has_edns = true,
				.client = &client};
	bool started = vg_resolver_resolve(r, &q, on_answer, &cl) == 0;
	/* More clients: the same question (joins the request in flight), another question, and a
	 * background refresh, each after the first delivery. */
	struct client cl2 = cl, cl3 = {.qname = names[(qsel + 1) & 7], .qtype = cl.qtype};
	cl2.calls = 0;
	cl3.qname_len = (size_t)vg_name_len(cl3.qname, VG_NAME_MAX);
	struct vg_question q3 = q;
	q3.qname = cl3.qname;
	q3.qname_len = cl3.qname_len;
	bool started2 = false, started3 = false;

	for (unsigned step = 0; step < MAX_STEPS; step++) {
		struct fake_query *fq = oldest_query();
		if (fq) {
			deliver(fq, &in);
			if (with_cache)
				vg_cache_sync(cache);
			if (step == 0 && (setup & 0x10))
				started2 = vg_resolver_resolve(r, &q, on_answer, &cl2) == 0;
			if (step == 0 && (setup & 0x20))
				started3 = vg_resolver_resolve(r, &q3, on_answer, &cl3) == 0;
			if (step == 0 && (setup & 0x40))
				(void)vg_resolver_prefetch(r, qname, cl.qname_len, cl.qtype);
			continue;
		}
		if (!fake_fire_next_timer())
			break;
	}
	vg_resolver_close(r);
	VG_FUZZ_CHECK(cl.calls == (started ? 1u : 0u));
	VG_FUZZ_CHECK(cl2.calls == (started2 ? 1u : 0u));
	VG_FUZZ_CHECK(cl3.calls == (started3 ? 1u : 0u));
	/* Nothing may stay in flight once the resolver is gone: its callbacks would run on freed
	 * memory. */
	VG_FUZZ_CHECK(fu.nq == 0);
	VG_FUZZ_CHECK(fu.nt == 0);
	while (fu.nq)
		free(fu.q[--fu.nq]);
	while (fu.nt)
		free(fu.t[--fu.nt]);
	return 0;
}
