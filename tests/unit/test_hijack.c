/* Unit tests of the resolver's hijack detections (resolver/hijack.c) on the scripted Internet:
 * spoof-attempt (wrong ID, 0x20 case: an event per request, the move to TCP), out-of-bailiwick
 * (records the scrubber removed, listed) and second-answer (a different reply on a lingering
 * socket: quarantine and a TCP re-fetch). Events are caught by a sink of the test's own. */
#include "iter_test.h"

#define MAX_EV 16

struct ev {
	enum vg_suspect_reason reason;
	enum vg_suspect_action action;
	char qname[256];
	uint16_t qtype;
	bool has_client, tcp, has_first;
	char server[64];
	char records[8][256];
	size_t n_records;
	char counts[128]; /* "kind=n," ... */
	size_t n_sources;
	char served[128];
};

static struct ev E[MAX_EV];
static size_t n_ev;

static void catch_event(void *ctx, const struct vg_suspect_event *e)
{
	(void)ctx;
	if (n_ev == MAX_EV)
		return;
	struct ev *x = &E[n_ev++];
	memset(x, 0, sizeof(*x));
	x->reason = e->reason;
	x->action = e->action;
	vg_name_to_text(e->qname, x->qname, sizeof(x->qname));
	x->qtype = e->qtype;
	x->has_client = e->client != NULL;
	x->tcp = e->tcp;
	x->has_first = e->first_reply && e->first_reply_len;
	if (e->server)
		vg_sockaddr_str(e->server, x->server, sizeof(x->server));
	for (size_t i = 0; i < e->n_records && i < 8; i++)
		snprintf(x->records[x->n_records++], 256, "%s", e->records[i]);
	for (size_t i = 0; i < e->n_counts; i++) {
		size_t l = strlen(x->counts);
		snprintf(x->counts + l, sizeof(x->counts) - l, "%s=%u,", e->counts[i].kind,
			 e->counts[i].n);
	}
	x->n_sources = e->n_sources;
	snprintf(x->served, sizeof(x->served), "%s", e->served ? e->served : "");
}

static const struct vg_suspect_sink sink = {.emit = catch_event};

static void start(void)
{
	struct vg_resolver_env env = {
	    .opts = &C, .cache = cache, .upstream = &F.head, .suspect = &sink};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000); /* priming */
	vg_cache_sync(cache);
	F.n_log = 0;
	n_ev = 0;
	(void)start_resolver; /* iter_test.h's, without a sink */
}

static unsigned tcp_queries(const char *server, const char *name)
{
	unsigned n = 0;
	for (size_t i = 0; i < F.n_log; i++)
		n += F.log[i].tcp && !strcmp(F.log[i].server, server) &&
		     (!name || !strcasecmp(F.log[i].name, name));
	return n;
}

static size_t events_of(enum vg_suspect_reason reason)
{
	size_t n = 0;
	for (size_t i = 0; i < n_ev; i++)
		n += E[i].reason == reason;
	return n;
}

static const struct ev *event_of(enum vg_suspect_reason reason)
{
	for (size_t i = 0; i < n_ev; i++)
		if (E[i].reason == reason)
			return &E[i];
	cr_assert_fail("no event of reason %d among %zu", (int)reason, n_ev);
	return NULL;
}

TestSuite(hijack, .init = setup, .fini = teardown, .timeout = 60);

/* ---- spoof-attempt ---- */

Test(hijack, wrong_ids_up_to_spoof_tcp_after_move_the_query_to_tcp_and_make_one_event)
{
	C.hijack.spoof_tcp_after = 1;
	start();
	server_of(EXCOM, "example.com.")->mode = FAKE_WRONG_ID_UDP;
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"),
	    "the answer TCP brought");
	cr_assert_geq(tcp_queries(EXCOM, NULL), 1, "moved to TCP");
	cr_assert_eq(events_of(VG_SUSPECT_SPOOF_ATTEMPT), 1, "one event per request");
	const struct ev *e = event_of(VG_SUSPECT_SPOOF_ATTEMPT);
	cr_assert_eq(e->action, VG_SUSPECT_RETRIED);
	cr_assert_str_eq(e->qname, "www.example.com.");
	cr_assert_eq(e->qtype, LDNS_RR_TYPE_A);
	cr_assert_str_eq(e->counts, "wrong-id=1,");
	cr_assert_eq(e->n_sources, 1);
	cr_assert_str_eq(e->server, EXCOM "@53");
	cr_assert_eq(R->stats.unwanted_id, 1);
	free_result(&res);

	/* The server is not held against it: the next name goes to it at once. */
	F.n_log = 0;
	resolve("alias.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert_geq(fake_count(&F, EXCOM, "alias.example.com.", LDNS_RR_TYPE_A), 1);
	free_result(&res);
}

Test(hijack, below_spoof_tcp_after_a_wrong_id_is_logged_and_the_query_stays_on_udp)
{
	start(); /* spoof-tcp-after 3; the fake sends one wrong ID per query */
	server_of(EXCOM, "example.com.")->mode = FAKE_WRONG_ID_UDP;
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(tcp_queries(EXCOM, NULL), 0, "no move to TCP under the threshold");
	cr_assert_eq(events_of(VG_SUSPECT_SPOOF_ATTEMPT), 1);
	const struct ev *e = event_of(VG_SUSPECT_SPOOF_ATTEMPT);
	cr_assert_eq(e->action, VG_SUSPECT_LOGGED);
	cr_assert(strstr(e->counts, "wrong-id="), "%s", e->counts);
	free_result(&res);
}

Test(hijack, a_case_mismatch_moves_to_tcp_at_once_and_is_reported)
{
	start();
	server_of(EXCOM, "example.com.")->mode = FAKE_CASE_FLIP;
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(tcp_queries(EXCOM, "www.example.com."), 1);
	const struct ev *e = event_of(VG_SUSPECT_SPOOF_ATTEMPT);
	cr_assert_eq(e->action, VG_SUSPECT_RETRIED);
	cr_assert_str_eq(e->counts, "wrong-case=1,");
	free_result(&res);
}

/* Resolves www.example.com. with spoof-tcp-after 1, spoof-attempt `mode` and a server that
 * answers UDP with a wrong ID: asserts that the query stayed on UDP. */
static void wrong_ids_with(enum vg_detect_mode mode)
{
	C.hijack.spoof_tcp_after = 1;
	C.hijack.spoof_attempt = mode;
	start();
	server_of(EXCOM, "example.com.")->mode = FAKE_WRONG_ID_UDP;
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	free_result(&res);
	cr_assert_eq(tcp_queries(EXCOM, NULL), 0);
	cr_assert_geq(R->stats.unwanted_id, 1, "counted in every mode");
}

Test(hijack, spoof_attempt_off_neither_reports_nor_moves_after_wrong_ids)
{
	wrong_ids_with(VG_DETECT_OFF);
	cr_assert_eq(events_of(VG_SUSPECT_SPOOF_ATTEMPT), 0);
}

Test(hijack, spoof_attempt_log_reports_without_moving_to_tcp)
{
	wrong_ids_with(VG_DETECT_LOG);
	cr_assert_eq(event_of(VG_SUSPECT_SPOOF_ATTEMPT)->action, VG_SUSPECT_LOGGED);
}

Test(hijack, a_udp_reply_after_spoof_guesses_gets_the_reason_bit_on_its_rrsets)
{
	struct vg_hijack_opts o = {.enabled = true, .spoof_attempt = VG_DETECT_BLOCK};
	struct vg_resolver *r = calloc(1, sizeof(*r));
	struct vg_req *req = calloc(1, sizeof(*req));
	struct vg_iq *iq = calloc(1, sizeof(*iq));
	cr_assert(r && req && iq);
	r->hijack = &o;
	req->r = r;
	iq->req = req;
	struct vg_rrset sets[2] = {{0}};
	iq->msg.rrsets = sets;
	iq->msg.n_rrsets = 2;
	const uint32_t bit = 1u << VG_SUSPECT_SPOOF_ATTEMPT;
	vg_hijack_spoof_mark(iq);
	cr_assert_eq(sets[0].suspect | sets[1].suspect, 0, "nothing heard");
	iq->unwanted.count[VG_UNWANTED_MALFORMED] = 1;
	vg_hijack_spoof_mark(iq);
	cr_assert_eq(sets[0].suspect | sets[1].suspect, 0, "a broken reply is no guess");
	iq->unwanted.count[VG_UNWANTED_ID] = 1;
	iq->tcp = true;
	vg_hijack_spoof_mark(iq);
	cr_assert_eq(sets[0].suspect | sets[1].suspect, 0, "TCP proves the origin");
	iq->tcp = false;
	o.spoof_attempt = VG_DETECT_OFF;
	vg_hijack_spoof_mark(iq);
	cr_assert_eq(sets[0].suspect | sets[1].suspect, 0, "detection off");
	o.spoof_attempt = VG_DETECT_LOG;
	sets[1].suspect = 1u << VG_SUSPECT_REBINDING;
	vg_hijack_spoof_mark(iq);
	cr_assert_eq(sets[0].suspect, bit);
	cr_assert_eq(sets[1].suspect, bit | (1u << VG_SUSPECT_REBINDING), "other reasons kept");
	free(iq);
	free(req);
	free(r);
}

Test(hijack, clean_replies_raise_no_spoof_event)
{
	start();
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	resolve("c1.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(n_ev, 0);
	free_result(&res);
}

/* ---- out-of-bailiwick ---- */

static const char *const oob_reply[] = {
    "A|www.example.com. 3600 IN A 192.0.2.1",
    "U|com. 3600 IN NS ns.evil.net.",
    "D|www.bank.com. 3600 IN A 192.0.2.66",
    "D|ns1.example.com. 3600 IN A " EXCOM,
    NULL,
};

Test(hijack, records_outside_the_servers_zone_are_listed_in_one_event)
{
	start();
	struct fake_server *s = server_of(EXCOM, "example.com.");
	s->mode = FAKE_FIXED;
	s->fixed = oob_reply;
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(events_of(VG_SUSPECT_OUT_OF_BAILIWICK), 1);
	const struct ev *e = event_of(VG_SUSPECT_OUT_OF_BAILIWICK);
	cr_assert_eq(e->action, VG_SUSPECT_BLOCKED, "the scrubber removed them");
	cr_assert_eq(e->n_records, 2, "in-zone glue is not listed");
	char all[600];
	snprintf(all, sizeof(all), "%s|%s", e->records[0], e->records[1]);
	cr_assert(strstr(all, "com. 3600 IN NS ns.evil.net.") &&
		      strstr(all, "www.bank.com. 3600 IN A 192.0.2.66"),
		  "records: %s", all);
	cr_assert_str_eq(e->server, EXCOM "@53");
	free_result(&res);

	/* Nothing of it was believed: the forged address is not served from the cache. */
	s->mode = FAKE_AUTH;
	resolve("www.bank.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 0);
	free_result(&res);
}

Test(hijack, out_of_bailiwick_off_reports_nothing)
{
	C.hijack.out_of_bailiwick = VG_DETECT_OFF;
	start();
	struct fake_server *s = server_of(EXCOM, "example.com.");
	s->mode = FAKE_FIXED;
	s->fixed = oob_reply;
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(n_ev, 0);
	free_result(&res);
}

Test(hijack, hijack_checks_no_turns_every_detection_off)
{
	C.hijack.enabled = false;
	C.hijack.spoof_tcp_after = 1;
	start();
	struct fake_server *s = server_of(EXCOM, "example.com.");
	s->mode = FAKE_FIXED;
	s->fixed = oob_reply;
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	s->mode = FAKE_WRONG_ID_UDP;
	resolve("c2.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(n_ev, 0);
	cr_assert_eq(tcp_queries(EXCOM, NULL), 0);
	free_result(&res);
}

/* ---- second-answer ---- */

/* A reply to (name, A) with one address, as wire into out; returns its length. */
static size_t reply_wire(uint16_t id, const char *name, const char *addr, uint32_t ttl,
			 uint8_t *out, size_t cap)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_rr *q = NULL, *a = NULL;
	char t[300];
	snprintf(t, sizeof(t), "%s IN A", name);
	cr_assert_eq(ldns_rr_new_question_frm_str(&q, t, NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	snprintf(t, sizeof(t), "%s %u IN A %s", name, ttl, addr);
	cr_assert_eq(ldns_rr_new_frm_str(&a, t, 0, NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, a);
	uint8_t *w = NULL;
	size_t len = 0;
	cr_assert_eq(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
	cr_assert_leq(len, cap);
	memcpy(out, w, len);
	free(w);
	ldns_pkt_free(p);
	return len;
}

/* Delivers to the resolver's late callback a second reply for (name, A) sent to server. */
static void late(const char *server, const char *name, const char *first, const char *second,
		 uint32_t second_ttl, uint16_t second_id)
{
	uint8_t q[512], a[512], b[512];
	size_t ql = reply_wire(0x1234, name, first, 300, q, sizeof(q));
	q[2] &= 0x7f; /* the query: header + question of the same message, QR clear */
	vg_put_u16(q + 6, 0);
	int nl = vg_name_len(q + 12, ql - 12);
	ql = 12 + (size_t)nl + 4;
	size_t al = reply_wire(0x1234, name, first, 300, a, sizeof(a));
	size_t bl = reply_wire(second_id, name, second, second_ttl, b, sizeof(b));
	struct vg_sockaddr srv;
	cr_assert_eq(vg_sockaddr_parse(server, 53, &srv), 0);
	struct vg_upstream_late l = {
	    .server = &srv,
	    .query = q,
	    .query_len = ql,
	    .accepted = a,
	    .accepted_len = al,
	    .match = vg_upstream_match(q, ql, b, bl),
	    .msg = {VG_UNWANTED_LATE, srv, false, b, bl},
	};
	vg_hijack_late(R, &l);
}

Test(hijack, a_different_second_reply_is_quarantined_and_asked_again_over_tcp)
{
	start();
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	free_result(&res);
	F.n_log = 0;
	/* The forged reply came first and was served; the real one arrives in the window. */
	late(EXCOM, "www.example.com.", "192.0.2.66", "192.0.2.1", 3600, 0x1234);
	cr_assert_eq(R->stats.unwanted_late, 1);
	cr_assert_eq(events_of(VG_SUSPECT_SECOND_ANSWER), 1);
	const struct ev *e = event_of(VG_SUSPECT_SECOND_ANSWER);
	cr_assert_eq(e->action, VG_SUSPECT_QUARANTINED);
	cr_assert_str_eq(e->qname, "www.example.com.");
	cr_assert_eq(e->qtype, LDNS_RR_TYPE_A);
	cr_assert(e->has_first, "both replies are in the event");
	cr_assert_eq(e->n_records, 2);
	cr_assert_str_eq(e->records[0], "first: www.example.com. 300 IN A 192.0.2.66");
	cr_assert_str_eq(e->records[1], "second: www.example.com. 3600 IN A 192.0.2.1");
	fake_run(&F, 60000);
	vg_cache_sync(cache);
	cr_assert_eq(tcp_queries(EXCOM, "www.example.com."), 1, "the re-fetch goes over TCP");
	/* The cache keeps what TCP confirmed. */
	F.n_log = 0;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(F.n_log, 0, "from the cache");
	free_result(&res);
}

Test(hijack, a_second_reply_differing_only_in_ttl_is_not_an_event)
{
	start();
	late(EXCOM, "www.example.com.", "192.0.2.1", "192.0.2.1", 299, 0x1234);
	cr_assert_eq(R->stats.unwanted_late, 1, "counted");
	cr_assert_eq(n_ev, 0);
	fake_run(&F, 60000);
	cr_assert_eq(F.n_log, 0, "no re-fetch");
}

Test(hijack, a_late_reply_with_a_wrong_id_is_only_counted)
{
	start();
	late(EXCOM, "www.example.com.", "192.0.2.1", "192.0.2.66", 300, 0x4321);
	cr_assert_eq(R->stats.unwanted_late, 1);
	cr_assert_eq(n_ev, 0);
	fake_run(&F, 60000);
	cr_assert_eq(F.n_log, 0);
}

Test(hijack, second_answer_log_reports_without_refetch)
{
	C.hijack.second_answer = VG_DETECT_LOG;
	start();
	late(EXCOM, "www.example.com.", "192.0.2.1", "192.0.2.66", 300, 0x1234);
	cr_assert_eq(event_of(VG_SUSPECT_SECOND_ANSWER)->action, VG_SUSPECT_LOGGED);
	fake_run(&F, 60000);
	cr_assert_eq(F.n_log, 0);
}

Test(hijack, second_answer_off_reports_nothing)
{
	C.hijack.second_answer = VG_DETECT_OFF;
	start();
	late(EXCOM, "www.example.com.", "192.0.2.1", "192.0.2.66", 300, 0x1234);
	cr_assert_eq(n_ev, 0);
	cr_assert_eq(R->stats.unwanted_late, 1);
}

/* ---- servers-disagree ---- */

#define TRI1 "203.0.113.1"
#define TRI2 "203.0.113.2"
#define TRI3 "203.0.113.3"
static uint8_t watch_tri[1][256];

/* tri.com.: three servers answering www.tri.com. A with a1, a2, a3. */
static struct fake_server *tri_world(const char *a1, const char *a2, const char *a3)
{
	struct fake_server *com = server_of(COM, "com.");
	fake_rr(com, "tri.com. 172800 IN NS ns1.tri.com.");
	fake_rr(com, "tri.com. 172800 IN NS ns2.tri.com.");
	fake_rr(com, "tri.com. 172800 IN NS ns3.tri.com.");
	fake_rr(com, "ns1.tri.com. 172800 IN A " TRI1);
	fake_rr(com, "ns2.tri.com. 172800 IN A " TRI2);
	fake_rr(com, "ns3.tri.com. 172800 IN A " TRI3);
	const char *addr[3] = {TRI1, TRI2, TRI3}, *www[3] = {a1, a2, a3};
	struct fake_server *first = NULL;
	for (int i = 0; i < 3; i++) {
		struct fake_server *s = fake_server(&F, addr[i], "tri.com.", FAKE_AUTH);
		fake_rr(s, SOA("tri.com."));
		fake_rr(s, "tri.com. 3600 IN NS ns1.tri.com.");
		fake_rr(s, www[i]);
		if (!first)
			first = s;
	}
	vg_name_from_text("tri.com.", watch_tri[0]);
	C.hijack.watch = (const uint8_t(*)[256])watch_tri;
	C.hijack.n_watch = 1;
	C.hijack.disagree_budget = 0;
	return first;
}

Test(hijack, servers_disagree_block_serves_the_answer_a_tcp_majority_confirms)
{
	/* ns1 is behind an on-path forger: over UDP it "says" 198.51.100.66, over TCP the zone's
	 * 192.0.2.10 like the two others. Whoever answers first, the cross-check finds the
	 * disagreement, all three are asked over TCP and agree. */
	static const char *const forged[] = {"A|www.tri.com. 3600 IN A 198.51.100.66", NULL};
	struct fake_server *ns1 =
	    tri_world("www.tri.com. 3600 IN A 192.0.2.10", "www.tri.com. 3600 IN A 192.0.2.10",
		      "www.tri.com. 3600 IN A 192.0.2.10");
	ns1->mode = FAKE_FIXED_UDP;
	ns1->fixed = forged;
	C.hijack.servers_disagree = VG_DETECT_BLOCK;
	start();
	struct result res;
	resolve("www.tri.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.tri.com.", LDNS_RR_TYPE_A, "192.0.2.10"));
	cr_assert(
	    !has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.tri.com.", LDNS_RR_TYPE_A, "198.51.100.66"),
	    "the forged address was served");
	cr_assert_eq(events_of(VG_SUSPECT_SERVERS_DISAGREE), 1);
	const struct ev *e = event_of(VG_SUSPECT_SERVERS_DISAGREE);
	cr_assert_eq(e->action, VG_SUSPECT_RETRIED);
	cr_assert_eq(e->n_sources, 2);
	cr_assert(e->has_first);
	cr_assert_eq(tcp_queries(TRI1, "www.tri.com."), 1);
	cr_assert_geq(tcp_queries(TRI2, "www.tri.com.") + tcp_queries(TRI3, "www.tri.com."), 2);
	cr_assert_eq(R->stats.xchecks, 1);
	free_result(&res);
}

Test(hijack, servers_disagree_rule_rotation_within_a_24_is_quiet_another_24_is_logged)
{
	tri_world("www.tri.com. 3600 IN A 192.0.2.10", "www.tri.com. 1 IN A 192.0.2.11",
		  "www.tri.com. 60 IN A 192.0.2.12");
	fake_rr(server_of(TRI1, "tri.com."), "far.tri.com. 3600 IN A 192.0.2.20");
	fake_rr(server_of(TRI2, "tri.com."), "far.tri.com. 3600 IN A 192.0.3.20");
	fake_rr(server_of(TRI3, "tri.com."), "far.tri.com. 3600 IN A 192.0.3.20");
	fake_rr(server_of(TRI1, "tri.com."), "mx.tri.com. 3600 IN MX 10 Mail.tri.com.");
	fake_rr(server_of(TRI2, "tri.com."), "mx.tri.com. 300 IN MX 10 mail.tri.com.");
	fake_rr(server_of(TRI3, "tri.com."), "mx.tri.com. 300 IN MX 10 mail.tri.com.");
	C.hijack.servers_disagree = VG_DETECT_LOG;
	start();
	struct result res;
	resolve("www.tri.com.", LDNS_RR_TYPE_A, &res); /* one /24, TTLs differ: quiet */
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	free_result(&res);
	resolve("mx.tri.com.", LDNS_RR_TYPE_MX, &res); /* the same rdata, case and TTL aside */
	free_result(&res);
	cr_assert_eq(R->stats.xchecks, 2);
	cr_assert_eq(events_of(VG_SUSPECT_SERVERS_DISAGREE), 0, "rotation or TTL was logged");
	resolve("far.tri.com.", LDNS_RR_TYPE_A, &res); /* ns1 alone in 192.0.2/24 */
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 1, "log mode serves the first answer");
	free_result(&res);
	cr_assert_eq(R->stats.xchecks, 3);
	/* ns1 answered first (or was the one asked second) for an event: depends on the pick. */
	size_t n = events_of(VG_SUSPECT_SERVERS_DISAGREE);
	bool ns1_involved = fake_count(&F, TRI1, "far.tri.com.", LDNS_RR_TYPE_A) > 0;
	cr_assert_eq(n, ns1_involved ? 1u : 0u, "events %zu, ns1 asked %d", n, ns1_involved);
	if (n)
		cr_assert_eq(event_of(VG_SUSPECT_SERVERS_DISAGREE)->action, VG_SUSPECT_LOGGED);
}
