/* Integration tests of the servers-disagree detection on the lab's split.org. (docs/lab.md
 * "Servers that disagree": two servers, each with its own copy of the zone): a watched name whose
 * servers answer unrelated addresses is logged with both answers and both servers and counted;
 * in block mode it is SERVFAIL with EDE 4 and nothing of it is cached; rotation within a /24 or
 * /48 and TTL differences stay quiet; the budget of new names per zone is kept (counted in
 * upstream queries); a zone that disagreed gets every answer checked; `servers-disagree: off`
 * and `hijack-checks: no` send no cross-check. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "itest.h"
#include "itest_json.h"
#include "lab.h"

static struct itest_vigild V;
static char log_path[400], ctl_path[400];
static bool started;

static void setup(void)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	snprintf(log_path, sizeof(log_path), "/tmp/vigil-disagree-%d.log", (int)getpid());
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-disagree-%d.ctl", (int)getpid());
	unlink(log_path);
	started = false;
}

static void teardown(void)
{
	if (started)
		cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	vg_lab_down();
	unlink(log_path);
}

TestSuite(disagree, .init = setup, .fini = teardown, .timeout = 90);

/* Starts vigild on the lab with the hijack settings in `extra`. */
static void start(const char *extra)
{
	char conf[3072];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\n"
		 "do-ip6: no\ndiscard-timeout: 0\n"
		 /* split.org. is signed and *.many a wildcard: with aggressive use of the
		  * cached wildcard proof, new names would be answered without asking anyone
		  * (tests/integration/test_aggressive.c), and the budget tests count queries */
		 "aggressive-nsec: no\n"
		 "suspicious-log: %s\ncontrol-socket: %s\n%s",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), log_path, ctl_path, extra);
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
	started = true;
}

static ldns_pkt *ask(const char *name, ldns_rr_type type)
{
	return itest_ask_answered(&V, name, type, 8000);
}

/* The event's records joined with '|'. */
static void records_of(json_t *o, char *all, size_t cap)
{
	json_t *recs = json_object_get(o, "records");
	all[0] = 0;
	for (size_t i = 0; i < json_array_size(recs); i++) {
		strncat(all, json_string_value(json_array_get(recs, i)), cap - strlen(all) - 2);
		strcat(all, "|");
	}
}

/* Checks a servers-disagree event of forged.split.org. A: both answers, both servers. */
static void expect_forged_event(json_t *o, const char *action)
{
	cr_expect_str_eq(itest_json_str(o, "reason"), "servers-disagree");
	cr_expect_str_eq(itest_json_str(o, "action"), action);
	cr_expect_str_eq(itest_json_str(o, "qname"), "forged.split.org.");
	cr_expect_str_eq(itest_json_str(o, "qtype"), "A");
	cr_expect_str_eq(itest_json_str(o, "client"), "127.0.0.1");
	char all[2048];
	records_of(o, all, sizeof(all));
	cr_expect(strstr(all, "first: forged.split.org. ") &&
		      strstr(all, "second: forged.split.org. "),
		  "records: %s", all);
	cr_expect(strstr(all, "IN A 192.0.2.203") && strstr(all, "IN A 203.0.113.203"),
		  "records: %s", all);
	json_t *src = json_object_get(o, "sources");
	cr_assert_eq(json_array_size(src), 2, "sources");
	const char *s0 = json_string_value(json_object_get(json_array_get(src, 0), "address"));
	const char *s1 = json_string_value(json_object_get(json_array_get(src, 1), "address"));
	cr_assert(s0 && s1);
	cr_expect((!strcmp(s0, "127.53.3.3") && !strcmp(s1, "127.53.3.4")) ||
		      (!strcmp(s0, "127.53.3.4") && !strcmp(s1, "127.53.3.3")),
		  "servers %s %s", s0, s1);
	cr_expect_str_eq(itest_json_str(o, "server"), s1, "the event's server is the second one");
	cr_expect(strlen(itest_json_str(o, "reply")) > 40 &&
		  strlen(itest_json_str(o, "first_reply")) > 40);
	if (getenv("VIGIL_HIJACK_SHOW"))
		fprintf(stderr, "%s\n", json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER));
}

/* A counter once the worker's post-answer checks (the cross-check runs after the answer) are
 * done. */
static long long settled_stat(const char *name)
{
	usleep(150000);
	return itest_stat(ctl_path, name);
}

Test(disagree, watched_name_whose_servers_disagree_is_logged_and_counted)
{
	start("watch: split.org.\nservers-disagree-budget: 0\n");
	ldns_pkt *p = ask("forged.split.org.", LDNS_RR_TYPE_A);
	/* Log mode: the client has the first answer at once, from whichever server answered. */
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "forged.split.org.", LDNS_RR_TYPE_A,
			     "192.0.2.203") ||
		      vg_lab_has(p, LDNS_SECTION_ANSWER, "forged.split.org.", LDNS_RR_TYPE_A,
				 "203.0.113.203"),
		  "the first answer was not served");
	char text[256];
	cr_expect_eq(itest_ede(p, text, sizeof(text)), -1, "EDE %s", text);
	ldns_pkt_free(p);

	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 1, false);
	cr_assert_eq(n, 1, "log lines: %zu", n);
	expect_forged_event(l[0], "logged");
	itest_json_free(l, n);
	cr_expect_eq(settled_stat("suspect_servers_disagree"), 1);
	cr_expect_eq(settled_stat("resolver_xchecks"), 1);
	cr_expect_eq(settled_stat("resolver_xcheck_queries"), 1);

	/* AAAA: addresses in different /48s disagree too. */
	p = ask("forged6.split.org.", LDNS_RR_TYPE_AAAA);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	n = itest_json_lines(log_path, l, 64, 2, false);
	cr_assert_eq(n, 2, "log lines: %zu", n);
	cr_expect_str_eq(itest_json_str(l[1], "reason"), "servers-disagree");
	cr_expect_str_eq(itest_json_str(l[1], "qname"), "forged6.split.org.");
	char all[2048];
	records_of(l[1], all, sizeof(all));
	cr_expect(strstr(all, "2001:db8:a::203") && strstr(all, "2001:db8:b::203"), "%s", all);
	itest_json_free(l, n);
	cr_expect_eq(settled_stat("suspect_servers_disagree"), 2);
}

Test(disagree, block_mode_answers_servfail_with_ede_4_and_caches_nothing_of_it)
{
	start("watch: split.org.\nservers-disagree: block\nservers-disagree-budget: 0\n");
	ldns_pkt *p = ask("forged.split.org.", LDNS_RR_TYPE_A);
	char text[256];
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(ldns_pkt_ancount(p), 0);
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 4, "EDE");
	cr_expect(strstr(text, "servers-disagree") != NULL, "EDE text: %s", text);
	ldns_pkt_free(p);

	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 1, false);
	cr_assert_eq(n, 1, "log lines: %zu", n);
	expect_forged_event(l[0], "blocked");
	cr_expect_eq(json_integer_value(json_object_get(l[0], "ede")), 4);
	itest_json_free(l, n);
	/* Both servers were asked again over TCP: one each says its own answer, no majority. */
	cr_expect_eq(settled_stat("resolver_xcheck_queries"), 3);
	cr_expect_eq(settled_stat("suspect_servers_disagree"), 1);

	static char out[1 << 16];
	cr_assert_eq(itest_vigilctl(ctl_path, "dump", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "203.0.113.203") == NULL, "the forged address was cached");
	cr_expect(strstr(out, "192.0.2.203") == NULL, "an unconfirmed address was cached");

	/* Asked again: not served from any cache, blocked again. */
	p = ask("forged.split.org.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 4);
	ldns_pkt_free(p);
}

Test(disagree, rotation_within_a_prefix_and_ttl_changes_stay_quiet)
{
	/* Block mode, so a false alarm would show as a SERVFAIL too. */
	start("watch: split.org.\nservers-disagree: block\n");
	struct {
		const char *name;
		ldns_rr_type type;
	} names[] = {
	    {"cdn.split.org.", LDNS_RR_TYPE_A},	    /* 192.0.2.201 / .202, TTL 1 */
	    {"cdn6.split.org.", LDNS_RR_TYPE_AAAA}, /* within 2001:db8:cd::/48, TTL 1 */
	    {"ttl.split.org.", LDNS_RR_TYPE_A},	    /* TTL 300 / 60 */
	    {"www.split.org.", LDNS_RR_TYPE_A},	    /* the same */
	};
	long long checks = 0;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			ldns_pkt *p = ask(names[i].name, names[i].type);
			char text[256];
			cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "%s",
				     names[i].name);
			cr_expect_eq(vg_lab_count(p, LDNS_SECTION_ANSWER, names[i].type), 1, "%s",
				     names[i].name);
			cr_expect_eq(itest_ede(p, text, sizeof(text)), -1, "%s: EDE %s",
				     names[i].name, text);
			ldns_pkt_free(p);
		}
		/* The TTL-1 names expire: the next round resolves (and cross-checks) them anew. */
		usleep(1100000);
	}
	checks = settled_stat("resolver_xchecks");
	cr_expect_geq(checks, 6, "cross-checks: %lld", checks);
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 0, false);
	cr_expect_eq(n, 0, "benign answers were logged");
	itest_json_free(l, n);
	cr_expect_eq(settled_stat("suspect_servers_disagree"), 0);
}

/* resolver_upstream_sent after asking `name` minus before. */
static long long upstream_for(const char *name)
{
	long long before = settled_stat("resolver_upstream_sent");
	ldns_pkt *p = ask(name, LDNS_RR_TYPE_A);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, name, LDNS_RR_TYPE_A, "192.0.2.205"), "%s",
		  name);
	ldns_pkt_free(p);
	long long d = settled_stat("resolver_upstream_sent") - before;
	if (getenv("VIGIL_HIJACK_SHOW"))
		fprintf(stderr, "%s: %lld upstream queries\n", name, d);
	return d;
}

Test(disagree, only_the_budget_of_new_names_per_zone_is_cross_checked)
{
	start("servers-disagree-budget: 3\n");
	/* The first names pay for the walk to split.org., its keys and the DS sets the wildcard
	 * proofs need; from then on a new name costs one query, plus one for the cross-check
	 * while the zone's budget lasts. */
	upstream_for("n1.many.split.org.");
	upstream_for("n2.many.split.org.");
	cr_expect_eq(upstream_for("n3.many.split.org."), 2, "the third name: query + check");
	cr_expect_eq(upstream_for("n4.many.split.org."), 1, "over the budget: no check");
	cr_expect_eq(upstream_for("n5.many.split.org."), 1, "over the budget: no check");
	cr_expect_eq(settled_stat("resolver_xchecks"), 3);
	cr_expect_eq(settled_stat("resolver_xcheck_queries"), 3);
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 0, false);
	cr_expect_eq(n, 0, "agreeing servers were logged");
	itest_json_free(l, n);
}

Test(disagree, a_zone_that_disagreed_gets_every_answer_cross_checked)
{
	start("watch: forged.split.org.\nservers-disagree-budget: 0\n");
	upstream_for("m1.many.split.org."); /* the walk to split.org., its keys, DS sets */
	upstream_for("m2.many.split.org.");
	cr_expect_eq(upstream_for("m3.many.split.org."), 1, "not watched, no budget: no check");
	ldns_pkt *p = ask("forged.split.org.", LDNS_RR_TYPE_A);
	ldns_pkt_free(p);
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 1, false);
	cr_assert_eq(n, 1, "log lines: %zu", n);
	itest_json_free(l, n);
	/* From now on (10 minutes) every answer of split.org. is checked: query + check. */
	cr_expect_eq(upstream_for("m4.many.split.org."), 2);
	cr_expect_eq(upstream_for("m5.many.split.org."), 2);
	cr_expect_eq(settled_stat("resolver_xchecks"), 3);
	n = itest_json_lines(log_path, l, 64, 1, false);
	cr_expect_eq(n, 1, "agreeing answers were logged");
	itest_json_free(l, n);
}

/* With `extra` set, forged.split.org. is answered and four new names of split.org. cost one
 * upstream query each once the walk is paid: no cross-check, no event. */
static void expect_no_cross_check(const char *extra, const char *prefix)
{
	start(extra);
	ldns_pkt *p = ask("forged.split.org.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	for (int i = 1; i <= 4; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s%d.many.split.org.", prefix, i);
		long long q = upstream_for(name);
		if (i > 2)
			cr_expect_eq(q, 1, "%s: %lld upstream queries", name, q);
	}
	cr_expect_eq(settled_stat("resolver_xchecks"), 0);
	cr_expect_eq(settled_stat("resolver_xcheck_queries"), 0);
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 0, false);
	cr_expect_eq(n, 0);
	itest_json_free(l, n);
}

Test(disagree, off_sends_no_cross_check)
{
	expect_no_cross_check("watch: split.org.\nservers-disagree: off\n", "o");
}

Test(disagree, hijack_checks_no_sends_no_cross_check)
{
	/* The setting of external harnesses with scripted servers: not one extra query, with a
	 * watched zone and the default budget. */
	expect_no_cross_check("hijack-checks: no\nwatch: split.org.\nservers-disagree: block\n",
			      "h");
}
