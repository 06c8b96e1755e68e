/* Unit tests of resolver/fwdcheck.c on the scripted Internet: nxdomain-rewrite (the forwarder
 * probes, the learned rewrite answered as NXDOMAIN, log and off modes, forward-fallback: iterate,
 * a forwarder that is silent at start) and pin (A inside and outside, log and block, NS and DS
 * pins of a delegation). Events are caught by a sink of the test's own. */
#include "iter_test.h"

#define FWD "192.0.2.53"
#define AD_ADDR "198.51.100.77"

#define MAX_EV 16
struct ev {
	enum vg_suspect_reason reason;
	enum vg_suspect_action action;
	char qname[256];
	char server[64];
	char records[4][256];
	size_t n_records;
	char served[256];
	uint16_t ede;
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
	if (e->server)
		vg_sockaddr_str(e->server, x->server, sizeof(x->server));
	for (size_t i = 0; i < e->n_records && i < 4; i++)
		snprintf(x->records[x->n_records++], 256, "%s", e->records[i]);
	snprintf(x->served, sizeof(x->served), "%s", e->served ? e->served : "");
	x->ede = e->ede;
}

static const struct vg_suspect_sink sink = {.emit = catch_event};
static struct vg_sockaddr fwd_addr;

static size_t events_of(enum vg_suspect_reason reason, enum vg_suspect_action action)
{
	size_t n = 0;
	for (size_t i = 0; i < n_ev; i++)
		n += E[i].reason == reason && E[i].action == action;
	return n;
}

static const struct ev *event_of(enum vg_suspect_reason reason, enum vg_suspect_action action)
{
	for (size_t i = 0; i < n_ev; i++)
		if (E[i].reason == reason && E[i].action == action)
			return &E[i];
	cr_assert_fail("no event of reason %d action %d among %zu", (int)reason, (int)action, n_ev);
	return NULL;
}

/* The scripted forwarder: www.example.com A is 192.0.2.1; any other A question gets AD_ADDR
 * when `liar` (an ISP's ad server) and NXDOMAIN otherwise; AAAA questions get NODATA. */
static bool liar;

static size_t forwarder(const uint8_t *query, size_t qlen, uint8_t *out, size_t cap)
{
	ldns_pkt *qp = NULL;
	if (ldns_wire2pkt(&qp, query, qlen) != LDNS_STATUS_OK)
		return 0;
	ldns_rr *question = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(qp), 0));
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, ldns_pkt_id(qp));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, question);
	char *name = ldns_rdf2str(ldns_rr_owner(question));
	bool www = !strcasecmp(name, "www.example.com.");
	ldns_rr *rr = NULL;
	char text[512];
	if (ldns_rr_get_type(question) == LDNS_RR_TYPE_A && (www || liar)) {
		snprintf(text, sizeof(text), "%s 60 IN A %s", name, www ? "192.0.2.1" : AD_ADDR);
		cr_assert_eq(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	} else if (ldns_rr_get_type(question) == LDNS_RR_TYPE_A || !www) {
		ldns_pkt_set_rcode(p, liar && ldns_rr_get_type(question) != LDNS_RR_TYPE_A
					  ? LDNS_RCODE_NOERROR
					  : LDNS_RCODE_NXDOMAIN);
		cr_assert_eq(ldns_rr_new_frm_str(&rr, SOA("example.com."), 0, NULL, NULL),
			     LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	free(name);
	uint8_t *w = NULL;
	size_t len = 0;
	ldns_pkt2wire(&w, p, &len);
	ldns_pkt_free(p);
	ldns_pkt_free(qp);
	if (!w || len > cap) {
		free(w);
		return 0;
	}
	memcpy(out, w, len);
	free(w);
	size_t qend = 12; /* our exact question bytes (0x20 case) */
	while (qend < qlen && query[qend])
		qend += query[qend] + 1u;
	qend += 5;
	if (qend <= len && qend <= qlen)
		memcpy(out + 12, query + 12, qend - 12);
	return len;
}

static struct fake_server *fwd_server(void)
{
	struct fake_server *s = fake_server(&F, FWD, ".", FAKE_RECURSIVE);
	s->raw = forwarder;
	return s;
}

static void start(void)
{
	struct vg_resolver_env env = {
	    .opts = &C, .cache = cache, .upstream = &F.head, .suspect = &sink};
	cr_assert_eq(vg_resolver_new(&env, &R), 0);
	fake_run(&F, 60000); /* the first probe round (and priming when iterating) */
	vg_cache_sync(cache);
	(void)start_resolver;
}

static void forward_to_liar(bool lies)
{
	liar = lies;
	fwd_server();
	cr_assert_eq(vg_sockaddr_parse(FWD, 53, &fwd_addr), 0);
	C.forward = &fwd_addr;
	C.n_forward = 1;
	n_ev = 0;
}

static unsigned queries_to(const char *server)
{
	unsigned n = 0;
	for (size_t i = 0; i < F.n_log; i++)
		n += !strcmp(F.log[i].server, server);
	return n;
}

TestSuite(nxrewrite, .init = setup, .fini = teardown, .timeout = 60);

Test(nxrewrite, a_probe_learns_the_rewrite_and_the_rewrite_becomes_nxdomain)
{
	forward_to_liar(true);
	start();
	cr_assert_eq(R->stats.nxdomain_probes, 2, "A and AAAA probes");
	cr_assert_eq(queries_to(FWD), 2);
	cr_assert_eq(R->stats.nxdomain_rewrites_learned, 1);
	const struct ev *e = event_of(VG_SUSPECT_NXDOMAIN_REWRITE, VG_SUSPECT_LOGGED);
	cr_assert_str_eq(e->server, FWD "@53");
	cr_assert_eq(e->n_records, 1);
	cr_assert(strstr(e->records[0], " IN A " AD_ADDR), "%s", e->records[0]);
	cr_assert(strstr(e->qname, ".com."), "probe name %s under com.", e->qname);
	cr_assert_eq(strlen(e->qname), 12 + strlen(".com."), "%s", e->qname);

	struct result res;
	n_ev = 0;
	resolve("nothere.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 0);
	cr_assert_eq(res.ede, VG_EDE_FORGED_ANSWER);
	cr_assert(strstr(res.ede_text, "nxdomain-rewrite"), "%s", res.ede_text);
	e = event_of(VG_SUSPECT_NXDOMAIN_REWRITE, VG_SUSPECT_BLOCKED);
	cr_assert_str_eq(e->qname, "nothere.example.com.");
	cr_assert(strstr(e->records[0], "nothere.example.com. 60 IN A " AD_ADDR), "%s",
		  e->records[0]);
	cr_assert(strstr(e->served, "NXDOMAIN"), "%s", e->served);
	cr_assert_eq(R->stats.nxdomain_rewrites, 1);
	free_result(&res);

	/* Nothing of the rewrite was cached: asked again, the forwarder is asked again. */
	F.n_log = 0;
	resolve("nothere.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(fake_count(&F, FWD, "nothere.example.com.", LDNS_RR_TYPE_A), 1);
	free_result(&res);

	/* A name that exists keeps its answer. */
	n_ev = 0;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(n_ev, 0);
	free_result(&res);
}

Test(nxrewrite, log_mode_serves_the_rewrite_and_reports_it)
{
	forward_to_liar(true);
	C.hijack.nxdomain_rewrite = VG_DETECT_LOG;
	start();
	struct result res;
	resolve("nothere.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "nothere.example.com.", LDNS_RR_TYPE_A, AD_ADDR));
	cr_assert_eq(res.ede, VG_EDE_NONE);
	cr_assert_eq(events_of(VG_SUSPECT_NXDOMAIN_REWRITE, VG_SUSPECT_LOGGED), 2,
		     "the probe's and the answer's");
	free_result(&res);
}

Test(nxrewrite, an_honest_forwarder_is_probed_and_raises_nothing)
{
	forward_to_liar(false);
	start();
	cr_assert_eq(R->stats.nxdomain_probes, 2);
	cr_assert_eq(R->stats.nxdomain_rewrites_learned, 0);
	struct result res;
	resolve("nothere.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(res.ede, VG_EDE_NONE);
	free_result(&res);
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	free_result(&res);
	cr_assert_eq(n_ev, 0, "no event for an honest forwarder");
}

static void no_probe_with(bool hijack, enum vg_detect_mode mode)
{
	forward_to_liar(true);
	C.hijack.enabled = hijack;
	C.hijack.nxdomain_rewrite = mode;
	start();
	cr_assert_eq(queries_to(FWD), 0, "no probe sent");
	cr_assert_eq(R->stats.nxdomain_probes, 0);
	struct result res;
	resolve("nothere.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "nothere.example.com.", LDNS_RR_TYPE_A, AD_ADDR),
	    "the rewrite is served as it came");
	cr_assert_eq(queries_to(FWD), 1, "only the client's question");
	cr_assert_eq(n_ev, 0);
	free_result(&res);
}

Test(nxrewrite, nxdomain_rewrite_off_sends_no_probe)
{
	no_probe_with(true, VG_DETECT_OFF);
}

Test(nxrewrite, hijack_checks_no_sends_no_probe)
{
	no_probe_with(false, VG_DETECT_BLOCK);
}

Test(nxrewrite, forward_fallback_iterate_resolves_the_zone_itself_while_the_forwarder_lies)
{
	forward_to_liar(true);
	C.hijack.forward_fallback = VG_FALLBACK_ITERATE;
	start();
	cr_assert_eq(R->stats.nxdomain_rewrites_learned, 1);
	F.n_log = 0;
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_geq(fake_count(&F, EXCOM, "www.example.com.", LDNS_RR_TYPE_A), 1,
		      "asked the zone's server");
	cr_assert_eq(queries_to(FWD), 0, "the lying forwarder is not asked");
	free_result(&res);
	resolve("nothere.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_SOA, NULL),
		  "the zone's own NXDOMAIN, with its SOA");
	cr_assert_eq(res.ede, VG_EDE_NONE);
	cr_assert_eq(queries_to(FWD), 0);
	free_result(&res);
}

Test(nxrewrite, a_forwarder_silent_at_start_is_probed_again_until_it_answers)
{
	forward_to_liar(true);
	/* silent until the test gives it its answers back */
	for (size_t i = 0; i < F.n_servers; i++)
		if (!strcmp(F.servers[i].addr, FWD) && F.servers[i].raw)
			F.servers[i].raw = NULL, F.servers[i].mode = FAKE_SILENT;
	start();
	cr_assert_geq(R->stats.nxdomain_probes, 2);
	cr_assert_eq(R->stats.nxdomain_rewrites_learned, 0, "nothing answered yet");
	for (size_t i = 0; i < F.n_servers; i++)
		if (!strcmp(F.servers[i].addr, FWD))
			F.servers[i].raw = forwarder, F.servers[i].mode = FAKE_RECURSIVE;
	uint64_t probes = R->stats.nxdomain_probes;
	fake_run(&F, 120000); /* the retry waits at most 60 s */
	cr_assert_gt(R->stats.nxdomain_probes, probes, "probed again");
	cr_assert_eq(R->stats.nxdomain_rewrites_learned, 1, "learned once it answered");
	struct result res;
	resolve("nothere.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NXDOMAIN);
	free_result(&res);
}

/* ---- pin ---- */

TestSuite(pin, .init = setup, .fini = teardown, .timeout = 60);

static struct vg_pin pins[4];

static void pin(size_t n, const char *const *texts, enum vg_detect_mode action)
{
	char err[256];
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(vg_pin_parse(texts[i], &pins[i], err, sizeof(err)), 0, "%s", err);
	C.hijack.pins = pins;
	C.hijack.n_pins = n;
	C.hijack.pin_action = action;
	start();
	n_ev = 0;
	F.n_log = 0;
}

Test(pin, an_address_inside_the_pin_raises_nothing)
{
	const char *p[] = {"www.example.com. A 192.0.2.0/24"};
	pin(1, p, VG_DETECT_BLOCK);
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(res.ede, VG_EDE_NONE);
	cr_assert_eq(n_ev, 0);
	free_result(&res);
}

Test(pin, an_address_outside_the_pin_is_removed_with_ede_4_and_reported)
{
	const char *p[] = {"www.example.com. A 203.0.113.0/24", "www.example.com. A 10.1.2.3"};
	pin(2, p, VG_DETECT_BLOCK);
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(res.pkt), 0, "the address outside the pin was served");
	cr_assert_eq(res.ede, VG_EDE_BLOCKED);
	cr_assert(strstr(res.ede_text, "pin"), "%s", res.ede_text);
	const struct ev *e = event_of(VG_SUSPECT_PIN, VG_SUSPECT_BLOCKED);
	cr_assert_str_eq(e->qname, "www.example.com.");
	cr_assert_str_eq(e->records[0], "www.example.com. 3600 IN A 192.0.2.1");
	cr_assert_str_eq(e->server, EXCOM "@53");
	free_result(&res);
	/* the other names of the zone are not pinned */
	resolve("a.b.c.d.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(has_rr(res.pkt, LDNS_SECTION_ANSWER, "a.b.c.d.example.com.", LDNS_RR_TYPE_A,
			 "192.0.2.9"));
	free_result(&res);
}

Test(pin, log_action_serves_the_answer_and_reports_it)
{
	const char *p[] = {"www.example.com. A 203.0.113.0/24"};
	pin(1, p, VG_DETECT_LOG);
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(res.ede, VG_EDE_NONE);
	cr_assert_eq(events_of(VG_SUSPECT_PIN, VG_SUSPECT_LOGGED), 1);
	free_result(&res);
}

Test(pin, a_delegation_to_name_servers_outside_an_ns_pin_fails_with_ede_4)
{
	const char *p[] = {"example.com. NS provider.net."};
	pin(1, p, VG_DETECT_BLOCK);
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, VG_EDE_BLOCKED);
	const struct ev *e = event_of(VG_SUSPECT_PIN, VG_SUSPECT_BLOCKED);
	cr_assert(strstr(e->records[0], "example.com. 172800 IN NS ns1.example.com."), "%s",
		  e->records[0]);
	cr_assert_str_eq(e->server, COM "@53", "the referral from com.");
	free_result(&res);
}

Test(pin, a_delegation_inside_its_ns_and_ds_pins_resolves)
{
	const char *p[] = {"example.com. NS example.com.", "example.com. DS 12345"};
	pin(2, p, VG_DETECT_BLOCK);
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert(
	    has_rr(res.pkt, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_assert_eq(n_ev, 0);
	free_result(&res);
}

Test(pin, a_ds_outside_the_pin_fails_the_delegation)
{
	const char *p[] = {"example.com. DS 4242"};
	pin(1, p, VG_DETECT_BLOCK);
	struct result res;
	resolve("www.example.com.", LDNS_RR_TYPE_A, &res);
	cr_assert_eq(ldns_pkt_get_rcode(res.pkt), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(res.ede, VG_EDE_BLOCKED);
	const struct ev *e = event_of(VG_SUSPECT_PIN, VG_SUSPECT_BLOCKED);
	cr_assert(strstr(e->records[0], "IN DS 12345 13 2 "), "%s", e->records[0]);
	free_result(&res);
}

Test(pin, the_pin_rule_by_type)
{
	struct vg_pin p;
	char err[256];
	uint8_t a[4] = {203, 0, 113, 7}, b[4] = {203, 0, 114, 7};
	cr_assert_eq(vg_pin_parse("bank.example. A 203.0.113.0/24", &p, err, sizeof(err)), 0);
	cr_assert(vg_pin_match(&p, a, 4));
	cr_assert_not(vg_pin_match(&p, b, 4));
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
	cr_assert_eq(vg_pin_parse("bank.example. AAAA 2001:db8:1::/48", &p, err, sizeof(err)), 0);
	cr_assert(vg_pin_match(&p, v6, 16));
	v6[5] = 2;
	cr_assert_not(vg_pin_match(&p, v6, 16));
	uint8_t ns[64], other[64];
	vg_name_from_text("ns1.dns-host.net.", ns);
	vg_name_from_text("ns1.evil-dns-host.net.", other);
	cr_assert_eq(vg_pin_parse("bank.example. NS dns-host.net.", &p, err, sizeof(err)), 0);
	cr_assert(vg_pin_match(&p, ns, (uint16_t)vg_name_len(ns, sizeof(ns))));
	cr_assert_not(vg_pin_match(&p, other, (uint16_t)vg_name_len(other, sizeof(other))),
		      "a suffix is matched on label boundaries");
	uint8_t ds[8] = {0x30, 0x39, 13, 2, 0xab, 0xcd, 0xef, 0x01};
	cr_assert_eq(vg_pin_parse("bank.example. DS 12345", &p, err, sizeof(err)), 0);
	cr_assert(vg_pin_match(&p, ds, 8));
	cr_assert_eq(vg_pin_parse("bank.example. DS ABCDEF01", &p, err, sizeof(err)), 0);
	cr_assert(vg_pin_match(&p, ds, 8), "by digest");
	ds[7] = 2;
	cr_assert_not(vg_pin_match(&p, ds, 8));
	cr_assert_neq(vg_pin_parse("bank.example. MX 10.0.0.0/8", &p, err, sizeof(err)), 0);
	cr_assert(strstr(err, "bad type 'MX'"), "%s", err);
	cr_assert_neq(vg_pin_parse("bank.example. A 2001:db8::/32", &p, err, sizeof(err)), 0);
	cr_assert_neq(vg_pin_parse("bank.example. A 203.0.113.0/33", &p, err, sizeof(err)), 0);
	cr_assert_neq(vg_pin_parse("bank.example. DS 12z", &p, err, sizeof(err)), 0);
	cr_assert_neq(vg_pin_parse("bank.example. A", &p, err, sizeof(err)), 0);
	cr_assert_neq(vg_pin_parse("bank.example. A 1.2.3.4 extra", &p, err, sizeof(err)), 0);
}
