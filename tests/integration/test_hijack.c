/* Integration tests of hijack detection on the lab (docs/lab.md, docs/suspicious-log.md): the
 * rebinding check blocks private addresses of public names with EDE 15, the suspicious-log gets
 * one JSON line per event, vigilctl stats counts them, benign controls raise nothing, the log is
 * reopened on SIGHUP and rate-limited with a summary line. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "itest.h"
#include "itest_json.h"
#include "lab.h"

static struct itest_vigild V;
static char log_path[400], ctl_path[400];

static void setup_with(const char *extra)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	char conf[3072];
	snprintf(log_path, sizeof(log_path), "/tmp/vigil-hijack-%d.log", (int)getpid());
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-hijack-%d.ctl", (int)getpid());
	unlink(log_path);
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\n"
		 "do-ip6: no\ndiscard-timeout: 0\n"
		 "suspicious-log: %s\ncontrol-socket: %s\n"
		 "private-domain: intranet.example.org.\n"
		 "forward-zone: example.net. 127.53.2.3\n"
		 "local-data: \"router.lan. 300 A 192.168.1.1\"\n%s",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), log_path, ctl_path, extra);
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static void setup(void)
{
	setup_with("");
}

static void setup_strict(void)
{
	setup_with("injection-strict: yes\nspoof-tcp-after: 1\n");
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	vg_lab_down();
	unlink(log_path);
	char rotated[420];
	snprintf(rotated, sizeof(rotated), "%s.1", log_path);
	unlink(rotated);
}

TestSuite(hijack, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(hijack_strict, .init = setup_strict, .fini = teardown, .timeout = 60);

static int vigilctl(const char *args, char *out, size_t cap)
{
	return itest_vigilctl(ctl_path, args, out, cap);
}

static ldns_pkt *ask(const char *name, ldns_rr_type type)
{
	return itest_ask_answered(&V, name, type, 4000);
}

Test(hijack, rebinding_blocked_with_ede_logged_and_counted)
{
	ldns_pkt *p = ask("rebind.example.com.", LDNS_RR_TYPE_A);
	char text[256];
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect_eq(ldns_pkt_ancount(p), 0, "private addresses were served");
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 15);
	cr_expect(strstr(text, "rebinding") != NULL, "EDE text: %s", text);
	ldns_pkt_free(p);

	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 1, false);
	cr_assert_eq(n, 1, "log lines: %zu", n);
	json_t *o = l[0];
	cr_expect_str_eq(itest_json_str(o, "reason"), "rebinding");
	cr_expect_str_eq(itest_json_str(o, "action"), "blocked");
	cr_expect_str_eq(itest_json_str(o, "qname"), "rebind.example.com.");
	cr_expect_str_eq(itest_json_str(o, "qtype"), "A");
	cr_expect_str_eq(itest_json_str(o, "client"), "127.0.0.1");
	/* example.com has two servers (ns1 127.53.2.1, ns2 127.53.2.2): either may have answered */
	cr_expect(strcmp(itest_json_str(o, "server"), "127.53.2.1") == 0 ||
		      strcmp(itest_json_str(o, "server"), "127.53.2.2") == 0,
		  "server: %s", itest_json_str(o, "server"));
	cr_expect_eq(json_integer_value(json_object_get(o, "port")), 53);
	cr_expect_str_eq(itest_json_str(o, "transport"), "udp");
	cr_expect_eq(strlen(itest_json_str(o, "time")), 24, "time: %s", itest_json_str(o, "time"));
	json_t *recs = json_object_get(o, "records");
	cr_expect_eq(json_array_size(recs), 2);
	char all[1024] = "";
	for (size_t i = 0; i < json_array_size(recs); i++) {
		strncat(all, json_string_value(json_array_get(recs, i)), 400);
		strcat(all, "|");
	}
	cr_expect(strstr(all, "rebind.example.com. ") && strstr(all, "IN A 192.168.1.1") &&
		      strstr(all, "IN A 10.0.0.1"),
		  "records: %s", all);
	cr_expect(strlen(itest_json_str(o, "reply")) > 40, "reply: %s", itest_json_str(o, "reply"));
	cr_expect(strlen(itest_json_str(o, "served")) > 0);
	if (getenv("VIGIL_HIJACK_SHOW"))
		fprintf(stderr, "%s\n", json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER));
	itest_json_free(l, n);

	/* AAAA ::1 too; and never served from the cache afterwards. */
	p = ask("rebind.example.com.", LDNS_RR_TYPE_AAAA);
	cr_expect_eq(ldns_pkt_ancount(p), 0);
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 15);
	ldns_pkt_free(p);
	p = ask("rebind.example.com.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_ancount(p), 0, "blocked addresses came back from the cache");
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 15);
	ldns_pkt_free(p);

	char out[8192];
	cr_assert_eq(vigilctl("stats", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "suspect_rebinding: 3\n") != NULL, "%s", out);
}

Test(hijack, mixed_answer_keeps_its_public_address)
{
	ldns_pkt *p = ask("mixed.example.com.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_ancount(p), 1);
	cr_expect(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "mixed.example.com.", LDNS_RR_TYPE_A, "192.0.2.9"));
	char text[256];
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 15);
	ldns_pkt_free(p);
}

Test(hijack, benign_controls_raise_nothing)
{
	struct {
		const char *name, *addr;
	} ok[] = {
	    {"www.example.com.", "192.0.2.1"},	   /* public name, public address */
	    {"intranet.example.org.", "10.1.2.3"}, /* private-domain */
	    {"lan.example.net.", "192.168.1.50"},  /* forward-zone to a private server */
	    {"router.lan.", "192.168.1.1"},	   /* local-data */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ldns_pkt *p = ask(ok[i].name, LDNS_RR_TYPE_A);
		char text[256];
		cr_expect(
		    vg_lab_has(p, LDNS_SECTION_ANSWER, ok[i].name, LDNS_RR_TYPE_A, ok[i].addr),
		    "%s", ok[i].name);
		cr_expect_eq(itest_ede(p, text, sizeof(text)), -1, "%s: EDE %s", ok[i].name, text);
		ldns_pkt_free(p);
	}
	usleep(300000);
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 0, false);
	cr_expect_eq(n, 0, "benign names were logged");
	itest_json_free(l, n);
	char out[8192];
	cr_assert_eq(vigilctl("stats", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "suspect_rebinding: 0\n") != NULL, "%s", out);
}

/* The writer creates the new file when it reopens: waits for that (10 s at most) rather than a
 * fixed time, which a loaded machine outlasts. */
static void wait_reopened(const char *after)
{
	for (uint64_t t0 = itest_now_ms();
	     access(log_path, F_OK) != 0 && itest_now_ms() - t0 < 10000;)
		usleep(20000);
	cr_assert_eq(access(log_path, F_OK), 0, "no new file 10 s after %s", after);
}

Test(hijack, log_reopens_on_sighup_and_vigilctl)
{
	ldns_pkt_free(ask("rebind.example.com.", LDNS_RR_TYPE_A));
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 1, false);
	cr_assert_eq(n, 1);
	itest_json_free(l, n);
	char rotated[420];
	snprintf(rotated, sizeof(rotated), "%s.1", log_path);
	cr_assert_eq(rename(log_path, rotated), 0);
	cr_assert_eq(kill(V.pid, SIGHUP), 0);
	wait_reopened("SIGHUP");
	ldns_pkt_free(ask("rebind.example.com.", LDNS_RR_TYPE_AAAA));
	n = itest_json_lines(log_path, l, 64, 1, false);
	cr_expect_eq(n, 1, "the event after SIGHUP is not in the new file");
	if (n)
		cr_expect_str_eq(itest_json_str(l[0], "qtype"), "AAAA");
	itest_json_free(l, n);
	n = itest_json_lines(rotated, l, 64, 1, false);
	cr_expect_geq(n, 1, "the rotated file lost its line");
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(itest_json_str(l[i], "qtype"), "A",
				 "an event after SIGHUP went to the old file");
	itest_json_free(l, n);

	/* vigilctl log-reopen does the same. */
	cr_assert_eq(rename(log_path, rotated), 0);
	char out[512];
	/* vigilctl returns once the main loop has told the writer: no wait needed. */
	cr_assert_eq(vigilctl("log-reopen", out, sizeof(out)), 0, "%s", out);
	wait_reopened("log-reopen");
	ldns_pkt_free(ask("mixed.example.com.", LDNS_RR_TYPE_A));
	n = itest_json_lines(log_path, l, 64, 1, false);
	cr_expect_eq(n, 1, "the event after log-reopen is not in the new file");
	itest_json_free(l, n);
}

Test(hijack, over_the_rate_limit_a_summary_line_appears)
{
	/* Blocked answers are not cached: each query is a new detection. */
	for (int i = 0; i < 25; i++)
		ldns_pkt_free(ask("rebind.example.com.", LDNS_RR_TYPE_A));
	json_t *l[64];
	size_t n = 0;
	json_t *summary = NULL;
	for (int tries = 0; tries < 4 && !summary; tries++) {
		itest_json_free(l, n);
		n = itest_json_lines(log_path, l, 64, 11, false);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(itest_json_str(l[i], "action"), "summary"))
				summary = l[i];
		if (!summary)
			sleep(1);
	}
	cr_assert_not_null(summary, "no summary line in %zu lines", n);
	cr_expect_str_eq(itest_json_str(summary, "reason"), "rebinding");
	cr_expect_gt(json_integer_value(json_object_get(summary, "dropped")), 0);
	size_t events = 0;
	for (size_t i = 0; i < n; i++)
		events += !strcmp(itest_json_str(l[i], "action"), "blocked");
	cr_expect_lt(events, 25, "every event was written");
	itest_json_free(l, n);
}

/* The first logged event of `reason` among the log's lines (waiting up to 3 s), or NULL. The
 * caller frees l[0..*n). */
static json_t *event_of(const char *reason, json_t **l, size_t *n)
{
	for (int tries = 0; tries < 30; tries++) {
		*n = itest_json_lines(log_path, l, 64, 1, false);
		for (size_t i = 0; i < *n; i++)
			if (!strcmp(itest_json_str(l[i], "reason"), reason))
				return l[i];
		itest_json_free(l, *n);
		*n = 0;
		usleep(100000);
	}
	return NULL;
}

/* Joined presentation strings of an event's "records" ("|" between). */
static void records_of(json_t *o, char *all, size_t cap)
{
	json_t *recs = json_object_get(o, "records");
	all[0] = 0;
	for (size_t i = 0; i < json_array_size(recs); i++) {
		strncat(all, json_string_value(json_array_get(recs, i)), cap - strlen(all) - 2);
		strcat(all, "|");
	}
}

/* The first line of vigilctl dump that starts with `owner` and holds `needle`, into line. */
static bool dump_line(const char *owner, const char *needle, char *line, size_t cap)
{
	static char out[1 << 16];
	cr_assert_eq(vigilctl("dump", out, sizeof(out)), 0, "%s", out);
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
		if (!strncmp(l, owner, strlen(owner)) && strstr(l, needle)) {
			snprintf(line, cap, "%s", l);
			return true;
		}
	}
	return false;
}

static bool dump_has(const char *needle)
{
	static char out[1 << 16];
	cr_assert_eq(vigilctl("dump", out, sizeof(out)), 0, "%s", out);
	return strstr(out, needle) != NULL;
}

Test(hijack, second_answer_forged_first_reply_is_quarantined_and_refetched_over_tcp)
{
	/* twice.faults.net.: a forged 192.0.2.66 with our ID and question, the real 192.0.2.53
	 * 20 ms later on the same socket. */
	ldns_pkt *p = ask("www.twice.faults.net.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	bool got_real = vg_lab_has(p, LDNS_SECTION_ANSWER, "www.twice.faults.net.", LDNS_RR_TYPE_A,
				   "192.0.2.53");
	ldns_pkt_free(p);
	json_t *l[64];
	size_t n = 0;
	json_t *o = event_of("second-answer", l, &n);
	cr_assert_not_null(o, "no second-answer event");
	/* The second answer comes 20 ms after the first. If the first was already answered, it
	 * is quarantined and asked again over TCP; if it was still being validated (the
	 * validator fetching keys), it is never used: the request itself asks over TCP and the
	 * client gets the real address. */
	if (!strcmp(itest_json_str(o, "action"), "retried"))
		cr_expect(got_real, "retried, yet the client did not get the TCP answer");
	else
		cr_expect_str_eq(itest_json_str(o, "action"), "quarantined");
	cr_expect_str_eq(itest_json_str(o, "qname"), "www.twice.faults.net.");
	cr_expect_str_eq(itest_json_str(o, "qtype"), "A");
	cr_expect_str_eq(itest_json_str(o, "server"), "127.53.9.16");
	cr_expect_str_eq(itest_json_str(o, "transport"), "udp");
	char all[2048];
	records_of(o, all, sizeof(all));
	cr_expect(strstr(all, "first: www.twice.faults.net.") && strstr(all, "192.0.2.66") &&
		      strstr(all, "second: www.twice.faults.net.") && strstr(all, "192.0.2.53"),
		  "records: %s", all);
	cr_expect(strlen(itest_json_str(o, "reply")) > 20);
	cr_expect(strlen(itest_json_str(o, "first_reply")) > 20);
	if (getenv("VIGIL_HIJACK_SHOW"))
		fprintf(stderr, "%s\n", json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER));
	itest_json_free(l, n);

	/* The TCP re-fetch replaced the forged address in the cache (waited for, bounded: under
	 * load the re-fetch and each vigilctl dump take seconds). */
	bool clean = false;
	for (uint64_t t0 = itest_now_ms(); !clean && itest_now_ms() - t0 < 20000;) {
		clean = !dump_has("192.0.2.66") && dump_has("192.0.2.53");
		if (!clean)
			usleep(100000);
	}
	cr_expect(clean, "the forged address is still cached, or the real one is not");
	p = ask("www.twice.faults.net.", LDNS_RR_TYPE_A);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.twice.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"));
	cr_expect(!vg_lab_has(p, LDNS_SECTION_ANSWER, "www.twice.faults.net.", LDNS_RR_TYPE_A,
			      "192.0.2.66"));
	ldns_pkt_free(p);
	char out[8192];
	cr_assert_eq(vigilctl("stats", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "suspect_second_answer: 1\n") != NULL, "%s", out);
}

Test(hijack_strict, forged_first_reply_never_reaches_the_client)
{
	/* injection-strict: the forged 192.0.2.66 arrives first, the real 192.0.2.53 20 ms later
	 * inside the window: the held reply is dropped, the question asked over TCP, and the
	 * client's first answer is already the real one. */
	ldns_pkt *p = ask("www.twice.faults.net.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.twice.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"),
		  "the client did not get the TCP answer");
	cr_expect(!vg_lab_has(p, LDNS_SECTION_ANSWER, "www.twice.faults.net.", LDNS_RR_TYPE_A,
			      "192.0.2.66"),
		  "the forged first reply was served");
	ldns_pkt_free(p);
	json_t *l[64];
	size_t n = 0;
	json_t *o = event_of("second-answer", l, &n);
	cr_assert_not_null(o, "no second-answer event");
	cr_expect_str_eq(itest_json_str(o, "action"), "retried");
	cr_expect_str_eq(itest_json_str(o, "client"), "127.0.0.1");
	cr_expect(strstr(itest_json_str(o, "served"), "TCP") != NULL, "served: %s",
		  itest_json_str(o, "served"));
	if (getenv("VIGIL_HIJACK_SHOW"))
		fprintf(stderr, "%s\n", json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER));
	itest_json_free(l, n);
	cr_expect(!dump_has("192.0.2.66"), "the forged address was cached");
	cr_expect(dump_has("192.0.2.53"), "the TCP answer was not cached");
	cr_expect_eq(itest_stat(ctl_path, "resolver_injection_held_retried"), 1);
	cr_expect(itest_stat(ctl_path, "resolver_injection_held") >= 1);
}

Test(hijack_strict, a_quiet_window_serves_the_held_answer)
{
	/* A clean name: the reply is held for the window, then served; no event, no TCP. */
	long tcp0 = itest_stat(ctl_path, "resolver_tcp_fallbacks");
	ldns_pkt *p = ask("www.example.com.", LDNS_RR_TYPE_A);
	char text[256] = "";
	int ede = itest_ede(p, text, sizeof(text));
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "rcode %d EDE %d %s",
		     ldns_pkt_get_rcode(p), ede, text);
	cr_expect(ldns_pkt_ancount(p) >= 1);
	ldns_pkt_free(p);
	cr_expect(itest_stat(ctl_path, "resolver_injection_held") >= 1, "nothing was held");
	cr_expect_eq(itest_stat(ctl_path, "resolver_injection_held_retried"), 0);
	cr_expect_eq(itest_stat(ctl_path, "resolver_tcp_fallbacks"), tcp0);
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 0, false);
	cr_expect_eq(n, 0, "an event for a clean name");
	itest_json_free(l, n);
}

Test(hijack_strict, spoof_tcp_after_1_moves_the_query_to_tcp_at_the_first_wrong_id)
{
	/* wrongid.faults.net. sends one forged reply with ID+1 before the real one: with
	 * spoof-tcp-after: 1 that one guess moves the query to TCP (action retried). */
	long tcp0 = itest_stat(ctl_path, "upstream_sent_tcp");
	ldns_pkt *p = ask("www.wrongid.faults.net.", LDNS_RR_TYPE_A);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.wrongid.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"));
	ldns_pkt_free(p);
	json_t *l[64];
	size_t n = 0;
	json_t *o = event_of("spoof-attempt", l, &n);
	cr_assert_not_null(o, "no spoof-attempt event");
	cr_expect_str_eq(itest_json_str(o, "action"), "retried");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(o, "counts"), "wrong-id")),
		     1);
	itest_json_free(l, n);
	cr_expect(itest_stat(ctl_path, "upstream_sent_tcp") > tcp0, "no TCP query was sent");
	/* Answered over TCP: nothing cached from it is suspect. */
	char line[512];
	cr_assert(dump_line("www.wrongid.faults.net.", "192.0.2.53", line, sizeof(line)),
		  "not cached");
	cr_expect(strstr(line, " suspect") == NULL, "%s", line);
}

Test(hijack, spoof_attempt_wrong_id_is_logged_with_counts_and_source)
{
	ldns_pkt *p = ask("www.wrongid.faults.net.", LDNS_RR_TYPE_A);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.wrongid.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"));
	ldns_pkt_free(p);
	json_t *l[64];
	size_t n = 0;
	json_t *o = event_of("spoof-attempt", l, &n);
	cr_assert_not_null(o, "no spoof-attempt event");
	cr_expect_str_eq(itest_json_str(o, "action"), "logged",
			 "one wrong ID: under spoof-tcp-after");
	cr_expect_str_eq(itest_json_str(o, "qname"), "www.wrongid.faults.net.");
	cr_expect_str_eq(itest_json_str(o, "client"), "127.0.0.1");
	json_t *counts = json_object_get(o, "counts");
	cr_expect_eq(json_integer_value(json_object_get(counts, "wrong-id")), 1);
	json_t *src = json_object_get(o, "sources");
	cr_expect_eq(json_array_size(src), 1);
	cr_expect_str_eq(itest_json_str(json_array_get(src, 0), "address"), "127.53.9.6");
	if (getenv("VIGIL_HIJACK_SHOW"))
		fprintf(stderr, "%s\n", json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER));
	itest_json_free(l, n);
	char out[8192];
	cr_assert_eq(vigilctl("stats", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "suspect_spoof_attempt: 1\n") != NULL, "%s", out);
	/* The reply accepted over UDP while someone guessed is cached, flagged suspect (never
	 * served stale; vigilctl flush-suspicious drops it). */
	char line[512];
	cr_assert(dump_line("www.wrongid.faults.net.", "192.0.2.53", line, sizeof(line)),
		  "not cached");
	cr_expect(strstr(line, " suspect") != NULL, "%s", line);
	/* A repeat is answered from that flagged RRset (the answer cache keeps no second copy of
	 * a one-RRset answer: cache/hit.c), so the flag goes with every cached answer. */
	p = ask("www.wrongid.faults.net.", LDNS_RR_TYPE_A);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.wrongid.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"));
	ldns_pkt_free(p);
}

Test(hijack, spoof_attempt_case_mismatch_is_retried_over_tcp)
{
	ldns_pkt *p = ask("www.case.faults.net.", LDNS_RR_TYPE_A);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.case.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"));
	ldns_pkt_free(p);
	json_t *l[64];
	size_t n = 0;
	json_t *o = event_of("spoof-attempt", l, &n);
	cr_assert_not_null(o, "no spoof-attempt event");
	cr_expect_str_eq(itest_json_str(o, "action"), "retried");
	cr_expect_geq(
	    json_integer_value(json_object_get(json_object_get(o, "counts"), "wrong-case")), 1);
	itest_json_free(l, n);
}

Test(hijack, out_of_bailiwick_records_are_logged_and_not_cached)
{
	ldns_pkt *p = ask("www.oob.faults.net.", LDNS_RR_TYPE_A);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.oob.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"));
	ldns_pkt_free(p);
	json_t *l[64];
	size_t n = 0;
	json_t *o = event_of("out-of-bailiwick", l, &n);
	cr_assert_not_null(o, "no out-of-bailiwick event");
	cr_expect_str_eq(itest_json_str(o, "action"), "blocked");
	cr_expect_str_eq(itest_json_str(o, "server"), "127.53.9.9");
	char all[2048];
	records_of(o, all, sizeof(all));
	cr_expect(strstr(all, "www.example.com.") && strstr(all, "192.0.2.66") &&
		      strstr(all, "example.com. 86400 IN NS ns.oob.faults.net."),
		  "records: %s", all);
	cr_expect(!strstr(all, "ns.oob.faults.net. 86400 IN A"), "in-zone glue listed: %s", all);
	if (getenv("VIGIL_HIJACK_SHOW"))
		fprintf(stderr, "%s\n", json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER));
	itest_json_free(l, n);
	cr_expect(!dump_has("192.0.2.66"), "the forged record was cached");
	p = ask("www.example.com.", LDNS_RR_TYPE_A);
	cr_expect(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	ldns_pkt_free(p);
}

Test(hijack, a_wrong_source_port_never_reaches_vigild)
{
	/* wrongport.faults.net.: the forged reply comes from another port; the connected socket
	 * drops it in the kernel. */
	ldns_pkt *p = ask("www.wrongport.faults.net.", LDNS_RR_TYPE_A);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.wrongport.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"));
	ldns_pkt_free(p);
	usleep(400000);
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 0, false);
	cr_expect_eq(n, 0, "an event for a datagram vigild cannot see");
	itest_json_free(l, n);
	cr_expect(!dump_has("192.0.2.66"));
}

Test(hijack, bogus_answer_logged_with_its_ede_and_zone)
{
	ldns_pkt *p = ask("www.bogus.org.", LDNS_RR_TYPE_A);
	char text[256];
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 6);
	ldns_pkt_free(p);

	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 1, false);
	cr_assert_eq(n, 1, "log lines: %zu", n);
	json_t *o = l[0];
	cr_expect_str_eq(itest_json_str(o, "reason"), "bogus");
	cr_expect_str_eq(itest_json_str(o, "action"), "blocked");
	cr_expect_str_eq(itest_json_str(o, "qname"), "www.bogus.org.");
	cr_expect_str_eq(itest_json_str(o, "qtype"), "A");
	cr_expect_str_eq(itest_json_str(o, "zone"), "bogus.org.");
	cr_expect_eq(json_integer_value(json_object_get(o, "ede")), 6);
	cr_expect_eq(json_array_size(json_object_get(o, "records")), 1, "the reason text");
	cr_expect(strlen(itest_json_str(o, "reply")) > 40, "reply: %s", itest_json_str(o, "reply"));
	if (getenv("VIGIL_HIJACK_SHOW"))
		fprintf(stderr, "%s\n", json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER));
	itest_json_free(l, n);
}
