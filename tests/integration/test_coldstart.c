/* Integration test of a cold start: vigild started before the authoritative servers exist (a
 * router booting before its WAN is up, a harness that brings its servers up after the
 * resolver). The lab is this binary's own (vg_lab_isolate: a private network namespace and run
 * directory), brought up by the test after vigild, so the shared lab is never disturbed. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "itest.h"
#include "lab.h"

static struct itest_vigild V;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	/* No vg_lab_up here: the lab must be down when vigild starts. */
	setenv("VG_COLDSTART_ISOLATED", vg_lab_isolate() == 0 ? "yes" : "no", 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	/* The runner never joined the lab, so vg_lab_down would not remove the private run
	 * directory: remove it here. */
	const char *d = getenv("VIGIL_LAB_DIR");
	if (getenv("VG_COLDSTART_ISOLATED") && !strcmp(getenv("VG_COLDSTART_ISOLATED"), "yes") &&
	    d && !strncmp(d, "/tmp/vg-lab-", 12)) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
		if (system(cmd) != 0)
			fprintf(stderr, "coldstart: cannot remove %s\n", d);
	}
}

static void need_own_lab(void)
{
	const char *v = getenv("VG_COLDSTART_ISOLATED");
	cr_assert(v && !strcmp(v, "yes"),
		  "no private network namespace (needs root): the lab must be down at start");
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	vg_lab_down();
}

TestSuite(coldstart, .init = need_own_lab, .fini = teardown, .timeout = 240);

Test(coldstart, answers_the_first_query_after_the_authorities_come_up)
{
	/* The lab's root hints (docs/lab.md address plan), written before the lab exists: like a
	 * harness that starts the resolver with its own hints before its servers. */
	char dir[] = "/tmp/vg-cold-XXXXXX", hints[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(hints, sizeof(hints), "%s/root.hints", dir);
	FILE *f = fopen(hints, "w");
	cr_assert_not_null(f);
	fputs(".  3600000  NS  a.root-servers.net.\n.  3600000  NS  b.root-servers.net.\n"
	      "a.root-servers.net.  3600000  A  127.53.0.1\n"
	      "b.root-servers.net.  3600000  A  127.53.0.2\n",
	      f);
	fclose(f);
	uint64_t t0 = itest_now_ms();
	char conf[256];
	snprintf(conf, sizeof(conf), "root-hints: %s\nquery-local-addresses: yes\ndo-ip6: no\n", hints);
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
	/* Nothing answers yet: priming fails, and so does a client's question. */
	ldns_pkt *p = itest_ask_within(&V, "www.example.com.", LDNS_RR_TYPE_A, 12000);
	cr_assert_not_null(p, "a question while the roots are down still gets an answer");
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	ldns_pkt_free(p);
	uint64_t now = itest_now_ms();
	if (now < t0 + 3000)
		usleep((useconds_t)(t0 + 3000 - now) * 1000);
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	uint64_t up = itest_now_ms();
	p = itest_ask_within(&V, "www.example.com.", LDNS_RR_TYPE_A, 8000);
	uint64_t took = itest_now_ms() - up;
	cr_assert_not_null(p);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR,
		     "the first question after the lab came up is answered (rcode %d)",
		     ldns_pkt_get_rcode(p));
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	ldns_pkt_free(p);
	fprintf(stderr, "coldstart: lab up %llu ms after vigild; first answer %llu ms after that\n",
		(unsigned long long)(up - t0), (unsigned long long)took);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

