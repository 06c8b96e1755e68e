/* Integration tests of nxdomain-rewrite and pin on the lab (docs/lab.md, docs/suspicious-log.md).
 * W: a vigild iterating the lab (an honest recursive resolver). nxfwd: the lab's lying forwarder
 * in front of W (NXDOMAIN to A questions becomes 198.51.100.77). V: the vigild under test,
 * forwarding to nxfwd (or to W, the honest control), or iterating the lab with pins. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "itest.h"
#include "itest_json.h"
#include "itest_relay.h"
#include "lab.h"

#define AD_ADDR "198.51.100.77"

static struct itest_vigild V, W;
static struct itest_relay liar;
static char log_path[400], ctl_path[400], liar_log[400];

static void setup(void)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	snprintf(log_path, sizeof(log_path), "/tmp/vigil-fwdlie-%d.log", (int)getpid());
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-fwdlie-%d.ctl", (int)getpid());
	snprintf(liar_log, sizeof(liar_log), "/tmp/vigil-fwdlie-%d.queries", (int)getpid());
	unlink(log_path);
	unlink(liar_log);
	char conf[1024];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\ndo-ip6: no\n",
		 vg_lab_root_hints(), vg_lab_trust_anchor());
	cr_assert_eq(itest_start(&W, conf), 0, "the honest resolver did not start");
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	cr_expect_eq(itest_stop(&W), 0);
	itest_relay_stop(&liar);
	vg_lab_down();
	unlink(log_path);
	unlink(liar_log);
}

TestSuite(nxrewrite, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(pin, .init = setup, .fini = teardown, .timeout = 120);

/* Starts nxfwd in front of W (answering NXDOMAIN to A questions with AD_ADDR) and waits until it
 * relays an answer. */
static void start_liar(void)
{
	const char *opts[] = {"-r", AD_ADDR, NULL};
	itest_relay_start(&liar, W.port, liar_log, opts);
}

static void start_v(const char *extra)
{
	char conf[2048];
	snprintf(conf, sizeof(conf), "suspicious-log: %s\ncontrol-socket: %s\n%s", log_path,
		 ctl_path, extra);
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static int vigilctl(const char *args, char *out, size_t cap)
{
	return itest_vigilctl(ctl_path, args, out, cap);
}

/* Waits (at most 20 s) until V's first probe round has been answered. */
static void wait_probe_round(void)
{
	for (int i = 0; i < 200; i++) {
		if (itest_stat(ctl_path, "resolver_nxdomain_probe_rounds") >= 1)
			return;
		usleep(100000);
	}
	cr_assert_fail("no probe round answered in 20 s");
}

static bool records_have(json_t *o, const char *text)
{
	json_t *a = json_object_get(o, "records");
	for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++)
		if (strstr(json_string_value(json_array_get(a, i)), text))
			return true;
	return false;
}

static json_t *find(json_t **l, size_t n, const char *reason, const char *action)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(itest_json_str(l[i], "reason"), reason) &&
		    !strcmp(itest_json_str(l[i], "action"), action))
			return l[i];
	return NULL;
}

static ldns_pkt *ask(const char *name, ldns_rr_type type)
{
	return itest_ask_answered(&V, name, type, 6000);
}

/* Whether nxfwd was asked `name` (its log). */
static bool liar_asked(const char *name)
{
	return itest_relay_count(&liar, name, false) > 0;
}

static size_t liar_lines(void)
{
	return itest_relay_count(&liar, NULL, false);
}

Test(nxrewrite, the_rewrite_is_answered_nxdomain_logged_and_not_cached)
{
	start_liar();
	char extra[256];
	/* dnssec: no: no chain queries among the ones counted (validation: test_fwdval.c) */
	snprintf(extra, sizeof(extra), "forward: 127.0.0.1@%u\ndnssec: no\n", liar.port);
	start_v(extra);
	wait_probe_round();
	cr_assert_eq(itest_stat(ctl_path, "resolver_nxdomain_rewrites_learned"), 1);

	ldns_pkt *p = ask("nothere.example.com.", LDNS_RR_TYPE_A);
	char text[256];
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_expect_eq(ldns_pkt_ancount(p), 0, "the rewrite address was served");
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 4);
	cr_expect(strstr(text, "nxdomain-rewrite") != NULL, "EDE text: %s", text);
	ldns_pkt_free(p);
	cr_expect(liar_asked("nothere.example.com."), "asked through the forwarder");

	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 2, true);
	cr_assert_geq(n, 2, "log lines: %zu", n);
	json_t *probe = find(l, n, "nxdomain-rewrite", "logged");
	cr_assert_not_null(probe, "no event for the probe");
	cr_expect(records_have(probe, " IN A " AD_ADDR));
	cr_expect_str_eq(itest_json_str(probe, "server"), "127.0.0.1");
	cr_expect(strstr(itest_json_str(probe, "qname"), ".com.") != NULL, "%s",
		  itest_json_str(probe, "qname"));
	json_t *o = find(l, n, "nxdomain-rewrite", "blocked");
	cr_assert_not_null(o, "no event for the blocked rewrite");
	cr_expect_str_eq(itest_json_str(o, "qname"), "nothere.example.com.");
	cr_expect_str_eq(itest_json_str(o, "qtype"), "A");
	cr_expect_str_eq(itest_json_str(o, "client"), "127.0.0.1");
	cr_expect(records_have(o, "nothere.example.com. 60 IN A " AD_ADDR));
	cr_expect(strstr(itest_json_str(o, "served"), "NXDOMAIN") != NULL, "%s",
		  itest_json_str(o, "served"));
	itest_json_free(l, n);

	char out[65536];
	cr_assert_eq(vigilctl("dump", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, AD_ADDR) == NULL, "the rewrite address is in the cache:\n%s", out);
	cr_expect(itest_stat(ctl_path, "suspect_nxdomain_rewrite") >= 2);

	/* A name that exists still resolves through the forwarder. */
	cr_expect(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 6000));
	usleep(300 * 1000); /* the cache writer commits in groups of a few ms */
	cr_assert_eq(vigilctl("lookup www.example.com A", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, " IN A 192.0.2.1") && strstr(out, "forwarder"),
		  "cached as the forwarder's: %s", out);
	p = ask("nothere.example.com.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN, "asked again: still NXDOMAIN");
	ldns_pkt_free(p);
}

/* With validation (the lab's anchor), a rewrite under a signed zone is bogus: SERVFAIL. The log
 * still names what the forwarder did (nxdomain-rewrite) beside the bogus verdict. */
Test(nxrewrite, with_validation_a_rewrite_in_a_signed_zone_is_named_and_servfail)
{
	start_liar();
	char extra[1024];
	snprintf(extra, sizeof(extra), "forward: 127.0.0.1@%u\ntrust-anchor-file: %s\n", liar.port,
		 vg_lab_trust_anchor());
	start_v(extra);
	wait_probe_round();
	ldns_pkt *p = ask("nothere.secure.org.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(ldns_pkt_ancount(p), 0, "the rewrite address was served");
	ldns_pkt_free(p);
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 3, true);
	json_t *o = find(l, n, "nxdomain-rewrite", "blocked");
	cr_assert_not_null(o, "no nxdomain-rewrite event (%zu lines)", n);
	cr_expect_str_eq(itest_json_str(o, "qname"), "nothere.secure.org.");
	json_t *b = NULL;
	for (size_t i = 0; i < n && !b; i++)
		if (!strcmp(itest_json_str(l[i], "reason"), "bogus") &&
		    !strcmp(itest_json_str(l[i], "qname"), "nothere.secure.org."))
			b = l[i];
	cr_expect_not_null(b, "no bogus event for the name");
	itest_json_free(l, n);
}

Test(nxrewrite, forward_fallback_iterate_answers_from_the_lab)
{
	start_liar();
	char extra[1024];
	snprintf(extra, sizeof(extra),
		 "forward: 127.0.0.1@%u\nforward-fallback: iterate\nroot-hints: %s\n"
		 "trust-anchor-file: %s\nquery-local-addresses: yes\ndo-ip6: no\n",
		 liar.port, vg_lab_root_hints(), vg_lab_trust_anchor());
	start_v(extra);
	wait_probe_round();
	size_t before = liar_lines();
	cr_assert_geq(before, 2, "the probes reached the forwarder");

	cr_expect(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 6000));
	ldns_pkt *p = ask("nothere2.example.com.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_expect(vg_lab_has(p, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_SOA, NULL),
		  "the zone's own NXDOMAIN with its SOA (the lab's servers answered)");
	char text[128];
	cr_expect_eq(itest_ede(p, text, sizeof(text)), -1, "no EDE: nothing was rewritten");
	ldns_pkt_free(p);
	cr_expect(!liar_asked("www.example.com."), "the lying forwarder was asked");
	cr_expect(!liar_asked("nothere2.example.com."), "the lying forwarder was asked");
	cr_expect_eq(liar_lines(), before, "only probes go to the lying forwarder");
	usleep(300 * 1000); /* the cache writer commits in groups of a few ms */
	char out[8192];
	cr_assert_eq(vigilctl("lookup www.example.com A", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, " IN A 192.0.2.1") != NULL, "%s", out);
	cr_expect(strstr(out, "forwarder") == NULL, "cached as a forwarder's: %s", out);

	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 1, true);
	json_t *o = find(l, n, "nxdomain-rewrite", "logged");
	cr_assert_not_null(o, "no event for the probe");
	cr_expect(strstr(itest_json_str(o, "served"), "iteration") != NULL, "%s",
		  itest_json_str(o, "served"));
	itest_json_free(l, n);
}

Test(nxrewrite, an_honest_forwarder_raises_nothing)
{
	char extra[256];
	snprintf(extra, sizeof(extra), "forward: 127.0.0.1@%u\ndnssec: no\n", W.port);
	start_v(extra);
	wait_probe_round();
	cr_assert_eq(itest_stat(ctl_path, "resolver_nxdomain_rewrites_learned"), 0);
	ldns_pkt *p = ask("nothere3.example.com.", LDNS_RR_TYPE_A);
	char text[128];
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_expect_eq(itest_ede(p, text, sizeof(text)), -1);
	ldns_pkt_free(p);
	cr_expect(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 6000));
	usleep(500000); /* the writer thread would have written by now */
	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 0, true);
	cr_expect_eq(n, 0, "events for an honest forwarder: %zu", n);
	itest_json_free(l, n);
}

Test(nxrewrite, nxdomain_rewrite_off_sends_no_probe)
{
	start_liar();
	char extra[256];
	snprintf(extra, sizeof(extra), "forward: 127.0.0.1@%u\nnxdomain-rewrite: off\ndnssec: no\n",
		 liar.port);
	start_v(extra);
	cr_expect(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 6000));
	sleep(2); /* a probe round starts at once; give it time to show */
	cr_expect_eq(itest_stat(ctl_path, "resolver_nxdomain_probes"), 0);
	cr_expect_eq(liar_lines(), 1, "the forwarder saw only the client's question");
	cr_expect(liar_asked("www.example.com."));
	/* and the rewrite is served as it comes */
	cr_expect(itest_resolves_a(&V, "nothere4.example.com.", AD_ADDR, 6000));
}

Test(pin, a_pinned_name_answered_inside_and_outside_its_pin)
{
	char extra[1024];
	snprintf(extra, sizeof(extra),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\ndo-ip6: no\n"
		 "pin: \"www.example.com. A 192.0.2.0/24\"\n"
		 "pin: \"mail.example.com. A 203.0.113.0/24\"\npin-action: block\n",
		 vg_lab_root_hints(), vg_lab_trust_anchor());
	start_v(extra);
	/* inside: served, nothing logged */
	cr_expect(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 6000));
	/* outside: the address removed, EDE 15 (as rebinding), one event */
	ldns_pkt *p = ask("mail.example.com.", LDNS_RR_TYPE_A);
	char text[256];
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect_eq(ldns_pkt_ancount(p), 0, "the address outside the pin was served");
	cr_expect_eq(itest_ede(p, text, sizeof(text)), 15);
	cr_expect(strstr(text, "pin") != NULL, "EDE text: %s", text);
	ldns_pkt_free(p);

	json_t *l[64];
	size_t n = itest_json_lines(log_path, l, 64, 1, true);
	cr_assert_eq(n, 1, "log lines: %zu", n);
	cr_expect_str_eq(itest_json_str(l[0], "reason"), "pin");
	cr_expect_str_eq(itest_json_str(l[0], "action"), "blocked");
	cr_expect_str_eq(itest_json_str(l[0], "qname"), "mail.example.com.");
	cr_expect(records_have(l[0], "mail.example.com. "), "records");
	cr_expect(records_have(l[0], " IN A 192.0.2.25"), "records");
	itest_json_free(l, n);

	char out[65536];
	cr_assert_eq(vigilctl("dump", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "192.0.2.25") == NULL, "the address outside the pin is cached:\n%s",
		  out);
	cr_expect(strstr(out, "192.0.2.1") != NULL, "the pinned answer inside is cached");
	cr_expect_eq(itest_stat(ctl_path, "suspect_pin"), 1);
}
