/* Integration test of a cold start: vigild started before the authoritative servers answer (a
 * router booting before its WAN is up, a harness that brings its servers up after the
 * resolver). The lab is this binary's own (vg_lab_isolate: a private network namespace and run
 * directory), so taking its servers away never disturbs the shared lab.
 *
 * The lab is up before vigild starts, with its root servers stopped: vigild knows nothing but
 * the root hints, so to it this is the lab not being there (every query it can send is refused
 * with ICMP port unreachable). Starting the whole lab after vigild instead made the test pass
 * even without the fix on a loaded machine: `lab.sh up` took 33-64 s there (load 40 on 2
 * cores), longer than the 30 s hold-down the bug caused; restarting two root servers takes
 * about a second. */
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
	if (vg_lab_isolate() != 0) {
		setenv("VG_LAB_READY", "no", 1);
		return;
	}
	vg_lab_up_for_tests();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	vg_lab_down();
}

static void need_own_lab(void)
{
	cr_assert(vg_lab_ready(), "no lab of our own (needs root, nsd and network namespaces)");
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
}

TestSuite(coldstart, .init = need_own_lab, .fini = teardown, .timeout = 240);

Test(coldstart, answers_the_first_query_after_the_authorities_come_up)
{
	const char *roots[] = {"127.53.0.1", "127.53.0.2"};
	for (int i = 0; i < 2; i++)
		cr_assert_eq(vg_lab_server_stop(roots[i]), 0);
	char conf[1024];
	snprintf(conf, sizeof(conf), "root-hints: %s\nquery-local-addresses: yes\ndo-ip6: no\n",
		 vg_lab_root_hints());
	uint64_t t0 = itest_now_ms();
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
	/* Nothing answers yet: priming fails, and so does a client's question. */
	ldns_pkt *p = itest_ask_within(&V, "www.example.com.", LDNS_RR_TYPE_A, 12000);
	cr_assert_not_null(p, "a question while the roots are down still gets an answer");
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	ldns_pkt_free(p);
	uint64_t now = itest_now_ms();
	if (now < t0 + 3000)
		usleep((useconds_t)(t0 + 3000 - now) * 1000);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(vg_lab_server_start(roots[i]), 0);
	uint64_t up = itest_now_ms();
	p = itest_ask_within(&V, "www.example.com.", LDNS_RR_TYPE_A, 8000);
	uint64_t took = itest_now_ms() - up;
	cr_assert_not_null(p);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR,
		     "the first question after the roots came up is answered (rcode %d)",
		     ldns_pkt_get_rcode(p));
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	ldns_pkt_free(p);
	fprintf(
	    stderr,
	    "coldstart: roots up %llu ms after vigild started; first answer %llu ms after that\n",
	    (unsigned long long)(up - t0), (unsigned long long)took);
}
