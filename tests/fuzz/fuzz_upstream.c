/* Fuzz target: the upstream reply path with a query outstanding. Each query the resolver sends
 * gets a series of datagrams built from the input, as an off-path forger racing the real server
 * (or a broken server) would send them: from the server's address and port or another one, with
 * the query's ID or another, with the exact question, its case flipped (0x20), another type,
 * another name, or raw bytes. Each datagram goes through the transport's own rule
 * (vg_upstream_judge, daemon/upstream.c) and, when it is accepted, to the iterator; the first
 * accepted one (or a case mismatch, or the input's timeout/error) ends the query, as in vigild.
 * Source addresses are checked by the kernel in vigild (connected sockets): here a datagram from
 * another source never reaches the rule, the way the kernel would drop it, but is reported to
 * the resolver's unwanted-message callback as VG_UNWANTED_SOURCE (a transport that sees such
 * datagrams reports them so); every datagram the rule turns down is reported with its kind, as
 * daemon/upstream.c does, and the callback may cancel the query.
 * Input:
 *   u8 question: bits 0-3 qname (the lab's names, below), bits 4-6 qtype
 *   u8 setup: bits 0-1 config variant (0 default: QNAME minimisation and 0x20 on; 1 both off;
 *     2 forward; 3 forward-zone), bit 2 DO, bit 3 hijack checks on (rebinding: block; with bit
 *     4: log), reported to a sink that checks each event
 *   then per query, oldest first: u8 k: bits 0-2 number of datagrams, bit 3: if none is
 *     accepted the query ends with a local error instead of a timeout, bit 4: an ICMP error
 *     notice comes first (VG_UP_UNREACHABLE);
 *   per datagram: u8 f: bits 0-1 source (1: another port, 2: another address, else the server),
 *     bits 2-3 ID (2: the query's ID + 1, 3: u16 from the input, else the query's), bits 4-6
 *     question (0, 1: the query's bytes; 2: every letter's case inverted; 3: case flipped by an
 *     input byte used as a bit mask; 4: the next qtype; 5: "wrong." in front of the name; 6: u8 n
 *     and n raw bytes; 7: none), bit 7: keep QDCOUNT from the input;
 *     then u16 n and n bytes: the header's bytes 2..11 and the sections after the question.
 * Properties: only datagrams that match ID and question (case included over UDP) reach the
 * resolver; the client is answered exactly once; nothing stays in flight; and 192.0.2.66 (the
 * lab's forged address, never in the names or IDs used here) is in an answer only when an
 * accepted datagram carried it. With the rebinding check blocking (no private domains, public
 * names and forwarders only), no A or AAAA record in the answer section holds a private,
 * loopback, link-local, unspecified or CGNAT address. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/config.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/dns.h>
#include <vigil/resolver.h>
#include <vigil/suspect.h>
#include <vigil/upstream.h>
#include "fake_upstream.h"
#include "fuzz.h"
#include "opts.h"     /* daemon/: the resolver's options from the config, as vigild does */
#include "upstream.h" /* daemon/: vg_upstream_judge, the transport's rule */

static bool debug; /* VIGIL_FUZZ_DEBUG=1: trace each query, its outcome and the answer */
static struct vg_config cfgs[4];
static struct vg_resolver_opts opts[4]; /* from cfgs, as vigild's workers get them */
/* query-local-addresses: the lab's servers are on 127.53.x.y (the lab-captured seeds). */
static const char *const cfg_text[4] = {
    "query-local-addresses: yes\n",
    "query-local-addresses: yes\nqname-minimisation: no\ncase-randomisation: no\n",
    "query-local-addresses: yes\nforward: 192.0.2.53\n",
    "query-local-addresses: yes\nforward-zone: \"example.com. 192.0.2.54 2001:db8::54\"\n"
    "prefetch: no\n",
};

static void cleanup(void)
{
	for (int i = 0; i < 4; i++)
		vg_config_free(&cfgs[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	debug = getenv("VIGIL_FUZZ_DEBUG") != NULL;
	char err[512];
	for (int i = 0; i < 4; i++) {
		if (vg_config_defaults(&cfgs[i]) != 0 ||
		    vg_config_parse(&cfgs[i], "fuzz.conf", cfg_text[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_upstream: config %d: %s\n", i, err);
			abort();
		}
		vg_resolver_opts_from_config(&opts[i], &cfgs[i]);
	}
	atexit(cleanup);
	return 0;
}

static const uint8_t forged[4] = {192, 0, 2, 66};
static bool accepted_forged; /* an accepted datagram carried the forged address's bytes */

struct client {
	unsigned calls;
	bool saw_forged;
	bool saw_private; /* an A/AAAA with a non-public address in the answer section */
	const uint8_t *qname;
	size_t qname_len;
	uint16_t qtype;
};

static void on_answer(void *ctx, const struct vg_answer *ans)
{
	struct client *c = ctx;
	c->calls++;
	VG_FUZZ_CHECK(c->calls == 1);
	VG_FUZZ_CHECK(ans->len >= 12 + c->qname_len + 4);
	VG_FUZZ_CHECK(vg_get_u16(ans->wire + 4) == 1);
	VG_FUZZ_CHECK(memcmp(ans->wire + 12, c->qname, c->qname_len) == 0);
	c->saw_forged = memmem(ans->wire, ans->len, forged, sizeof(forged)) != NULL;
	size_t pos = 12 + c->qname_len + 4;
	for (unsigned i = 0, an = vg_get_u16(ans->wire + 6); i < an; i++) {
		struct vg_dns_rr rr;
		if (vg_dns_rr_read(ans->wire, ans->len, &pos, NULL, &rr) < 0)
			break;
		pos += rr.rdlen;
		if ((rr.type == VG_TYPE_A && rr.rdlen == 4 &&
		     vg_addr_class4(ans->wire + rr.rdata) != VG_ADDR_PUBLIC) ||
		    (rr.type == VG_TYPE_AAAA && rr.rdlen == 16 &&
		     vg_addr_class6(ans->wire + rr.rdata) != VG_ADDR_PUBLIC))
			c->saw_private = true;
	}
	if (debug)
		fprintf(stderr, "fuzz_upstream: answer rcode %u, %u answer records%s\n",
			ans->wire[3] & 0x0F, vg_get_u16(ans->wire + 6),
			c->saw_forged ? ", FORGED" : "");
}

/* The suspicious-answer sink: every event must be complete and readable (ASan checks the
 * borrowed pointers). */
static unsigned events; /* of the hijack checks (not the validator's bogus verdicts) */
static void on_suspect(void *ctx, const struct vg_suspect_event *ev)
{
	(void)ctx;
	events += ev->reason != VG_SUSPECT_BOGUS;
	VG_FUZZ_CHECK((unsigned)ev->reason < VG_SUSPECT_N_REASONS);
	VG_FUZZ_CHECK(ev->action >= VG_SUSPECT_LOGGED && ev->action <= VG_SUSPECT_QUARANTINED);
	VG_FUZZ_CHECK(ev->qname && vg_name_len(ev->qname, VG_NAME_MAX) > 0);
	VG_FUZZ_CHECK(ev->server && ev->served);
	/* The findings about records name them; spoof-attempt is about datagrams (counts and
	 * sources) and carries neither records nor one reply. */
	if (ev->reason == VG_SUSPECT_REBINDING || ev->reason == VG_SUSPECT_OUT_OF_BAILIWICK)
		VG_FUZZ_CHECK(ev->n_records > 0 && ev->records);
	for (size_t i = 0; i < ev->n_records; i++)
		VG_FUZZ_CHECK(ev->records && ev->records[i] && strlen(ev->records[i]) > 0);
	for (size_t i = 0; i < ev->n_counts; i++)
		VG_FUZZ_CHECK(ev->counts && ev->counts[i].kind);
	if (ev->reason != VG_SUSPECT_SPOOF_ATTEMPT) {
		VG_FUZZ_CHECK(ev->reply && ev->reply_len >= 12);
		volatile uint8_t last = ev->reply[ev->reply_len - 1];
		(void)last;
	}
}
static const struct vg_suspect_sink sink = {.emit = on_suspect};

static uint8_t dgram[65536 + 600];

/* Builds datagram f for query q into dgram; returns its length (0: nothing to send). */
static size_t build(const struct fake_query *q, uint8_t f, struct vg_fuzz_in *in)
{
	int ql = vg_name_len(q->wire + 12, q->len - 12);
	VG_FUZZ_CHECK(ql > 0);
	size_t qend = 12 + (size_t)ql + 4, pos = 12;
	unsigned idsel = (f >> 2) & 3, qsel = (f >> 4) & 7;
	uint16_t id = vg_get_u16(q->wire);
	if (idsel == 2)
		id = (uint16_t)(id + 1);
	else if (idsel == 3)
		id = vg_fuzz_u16(in);
	uint8_t mask = qsel == 3 ? vg_fuzz_u8(in) : 0;
	size_t rawlen = qsel == 6 ? vg_fuzz_u8(in) : 0;
	const uint8_t *raw = in->p + in->pos;
	if (rawlen > in->len - in->pos)
		rawlen = in->len - in->pos;
	in->pos += rawlen;
	size_t n = vg_fuzz_u16(in);
	if (n > in->len - in->pos)
		n = in->len - in->pos;
	const uint8_t *c = in->p + in->pos;
	in->pos += n;
	if (n < 10)
		return 0;

	vg_put_u16(dgram, id);
	memcpy(dgram + 2, c, 10);
	dgram[2] |= 0x80;
	if (!(f & 0x80))
		vg_put_u16(dgram + 4, qsel == 7 ? 0 : 1);
	switch (qsel) {
	case 2:
	case 3: {
		memcpy(dgram + pos, q->wire + 12, qend - 12);
		unsigned bit = 0;
		for (size_t i = pos; i < pos + (size_t)ql - 1; i++) {
			uint8_t ch = dgram[i];
			if ((ch | 0x20) < 'a' || (ch | 0x20) > 'z')
				continue;
			if (qsel == 2 || (mask >> (bit++ & 7) & 1))
				dgram[i] ^= 0x20;
		}
		pos += qend - 12;
		break;
	}
	case 4:
		memcpy(dgram + pos, q->wire + 12, qend - 12);
		vg_put_u16(dgram + pos + (size_t)ql,
			   (uint16_t)(vg_get_u16(q->wire + qend - 4) + 1));
		pos += qend - 12;
		break;
	case 5:
		memcpy(dgram + pos, "\5wrong", 6);
		memcpy(dgram + pos + 6, q->wire + 12, qend - 12);
		pos += 6 + qend - 12;
		break;
	case 6:
		memcpy(dgram + pos, raw, rawlen);
		pos += rawlen;
		break;
	case 7:
		break;
	default:
		memcpy(dgram + pos, q->wire + 12, qend - 12);
		pos += qend - 12;
	}
	if (pos + n - 10 > sizeof(dgram))
		return 0;
	memcpy(dgram + pos, c + 10, n - 10);
	return pos + n - 10;
}

/* Offers the input's datagrams to q and ends it the way vigild's transport would. */
static void deliver(struct fake_query *q, struct vg_fuzz_in *in)
{
	uint8_t k = vg_fuzz_u8(in);
	enum vg_upstream_status st = (k & 8) ? VG_UP_ERROR : VG_UP_TIMEOUT;
	size_t len = 0;
	uint8_t *msg = NULL;
	if (k & 0x10) {
		q->in_callback = true;
		q->cb(q->ctx, VG_UP_UNREACHABLE, NULL, 0, 0);
		q->in_callback = false;
		if (q->cancelled_in_callback) {
			drop_query(q);
			free(q);
			return;
		}
	}
	for (unsigned i = 0; i < (k & 7u) && in->pos < in->len; i++) {
		uint8_t f = vg_fuzz_u8(in);
		size_t n = build(q, f, in);
		fu.now += 1;
		if (n == 0)
			continue;
		enum vg_upstream_match why = VG_MATCH_OK;
		enum vg_upstream_offer o = VG_OFFER_IGNORE;
		bool other_source = (f & 3) == 1 || (f & 3) == 2;
		/* From another source vigild's connected socket drops it in the kernel; a transport
		 * that sees it reports it as VG_UNWANTED_SOURCE, as this one does. */
		if (!other_source)
			o = vg_upstream_judge(q->wire, q->len, q->tcp, dgram, n, &why);
		if (o != VG_OFFER_ACCEPT && q->unwanted) {
			struct vg_upstream_unwanted uw = {
			    other_source ? VG_UNWANTED_SOURCE : vg_upstream_unwanted_kind_of(why),
			    q->server, q->tcp, dgram, n};
			if ((f & 3) == 1 && uw.from.u.sa.sa_family == AF_INET)
				uw.from.u.sin.sin_port = htons(5353);
			else if ((f & 3) == 1)
				uw.from.u.sin6.sin6_port = htons(5353);
			else if ((f & 3) == 2)
				vg_sockaddr_parse("198.51.100.9", 53, &uw.from);
			q->in_callback = true;
			q->unwanted(q->ctx, &uw);
			q->in_callback = false;
			if (q->cancelled_in_callback) { /* the resolver gave up on this query */
				drop_query(q);
				free(q);
				return;
			}
		}
		if (o == VG_OFFER_IGNORE)
			continue;
		if (o == VG_OFFER_CASE) {
			VG_FUZZ_CHECK(!q->tcp && why == VG_MATCH_CASE);
			st = VG_UP_CASE;
			break;
		}
		/* Accepted: the query's ID, one question, its bytes (exactly over UDP). */
		int ql = vg_name_len(q->wire + 12, q->len - 12);
		VG_FUZZ_CHECK(n >= 12 + (size_t)ql + 4 && memcmp(dgram, q->wire, 2) == 0);
		VG_FUZZ_CHECK(vg_get_u16(dgram + 4) == 1 && (dgram[2] & 0x80));
		VG_FUZZ_CHECK(q->tcp || memcmp(dgram + 12, q->wire + 12, (size_t)ql + 4) == 0);
		st = VG_UP_REPLY;
		len = n;
		msg = malloc(len); /* exact size: ASan sees any read past the datagram */
		if (!msg)
			abort();
		memcpy(msg, dgram, len);
		if (memmem(msg, len, forged, sizeof(forged)))
			accepted_forged = true;
		break;
	}
	fu.now += st == VG_UP_TIMEOUT ? q->timeout_ms : 15;
	if (debug) {
		char txt[VG_NAME_TEXT_MAX];
		vg_name_to_text(q->wire + 12, txt, sizeof(txt));
		fprintf(stderr, "fuzz_upstream: query %s type %u%s -> status %d (%zu bytes)\n", txt,
			vg_get_u16(q->wire + 12 + vg_name_len(q->wire + 12, 255)),
			q->tcp ? " tcp" : "", (int)st, len);
	}
	fake_complete(q, st, msg, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The lab's names (docs/lab.md), so the lab-captured seeds (gen_corpus.py --lab) fit. */
	static const uint8_t *const names[16] = {
	    (const uint8_t *)"\3WwW\7ExAmPlE\3cOm",
	    (const uint8_t *)"\7example\3com",
	    (const uint8_t *)"",
	    (const uint8_t *)"\3com",
	    (const uint8_t *)"\3www\2ok\6faults\3net",
	    (const uint8_t *)"\3www\5twice\6faults\3net",
	    (const uint8_t *)"\3www\7wrongid\6faults\3net",
	    (const uint8_t *)"\3www\6wrongq\6faults\3net",
	    (const uint8_t *)"\3www\11wrongport\6faults\3net",
	    (const uint8_t *)"\3www\4case\6faults\3net",
	    (const uint8_t *)"\3www\7garbage\6faults\3net",
	    (const uint8_t *)"\3www\3oob\6faults\3net",
	    (const uint8_t *)"\3www\4nxns\6faults\3net",
	    (const uint8_t *)"\3www\7refloop\6faults\3net",
	    (const uint8_t *)"\3www\6upward\6faults\3net",
	    (const uint8_t *)"\3www\2tc\6faults\3net",
	};
	static const uint16_t types[8] = {1, 28, 2, 15, 255, 5, 16, 6};
	if (size < 2 || size > 1 << 18)
		return 0;
	struct vg_fuzz_in in = {.p = data, .len = size};
	uint8_t qsel = vg_fuzz_u8(&in), setup = vg_fuzz_u8(&in);

	memset(&fu, 0, sizeof(fu));
	fu.up.ops = &fake_ops;
	fu.now = 1000;
	accepted_forged = false;
	events = 0;
	struct vg_resolver_opts o = opts[setup & 3];
	o.hijack.enabled = setup & 8;
	o.hijack.rebinding = (setup & 0x10) ? VG_REBIND_LOG : VG_REBIND_BLOCK;
	struct vg_resolver_env env = {
	    .opts = &o, .cache = NULL, .upstream = &fu.up, .suspect = &sink};
	struct vg_resolver *r;
	if (vg_resolver_new(&env, &r) != 0)
		return 0;
	const uint8_t *qname = names[qsel & 15];
	struct client cl = {.qname = qname,
			    .qname_len = (size_t)vg_name_len(qname, VG_NAME_MAX),
			    .qtype = types[(qsel >> 4) & 7]};
	struct vg_sockaddr client;
	vg_sockaddr_parse("127.0.0.1@5353", 53, &client);
	struct vg_question q = {.qname = qname,
				.qname_len = cl.qname_len,
				.qtype = cl.qtype,
				.qclass = 1,
				.do_bit = setup & 4,
				.rd_bit = true,
				.has_edns = true,
				.client = &client};
	bool started = vg_resolver_resolve(r, &q, on_answer, &cl) == 0;
	for (unsigned step = 0; step < MAX_STEPS; step++) {
		struct fake_query *fq = oldest_query();
		if (fq) {
			deliver(fq, &in);
			continue;
		}
		if (!fake_fire_next_timer())
			break;
	}
	vg_resolver_close(r);
	VG_FUZZ_CHECK(cl.calls == (started ? 1u : 0u));
	/* A forged address in the answer came through the rule, never around it. */
	VG_FUZZ_CHECK(!cl.saw_forged || accepted_forged);
	/* Blocking rebinding: nothing private reaches the client; without checks, no event but
	 * the validator's (a bogus answer is logged whatever hijack-checks says). */
	VG_FUZZ_CHECK(!cl.saw_private || !(setup & 8) || (setup & 0x10));
	VG_FUZZ_CHECK(events == 0 || (setup & 8));
	VG_FUZZ_CHECK(fu.nq == 0);
	VG_FUZZ_CHECK(fu.nt == 0);
	while (fu.nq)
		free(fu.q[--fu.nq]);
	while (fu.nt)
		free(fu.t[--fu.nt]);
	return 0;
}
