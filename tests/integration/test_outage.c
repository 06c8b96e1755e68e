/* Integration tests of authorities that are not reachable at first (suite coldstart: vigild
 * started before its authorities answer, like a router booting before its WAN is up or a
 * harness that starts its servers after the resolver) or that go away and come back, and of a
 * resolver that runs out of file descriptors (suite outage): answers must resume as soon as the
 * servers (or the descriptors) are back. The lab is this binary's own (vg_lab_isolate: a
 * private network namespace and run directory), because the tests stop and start its servers;
 * tests run one at a time.
 *
 * The cold-start test: the lab is up before vigild starts, with its root servers stopped.
 * vigild knows nothing but the root hints, so to it this is the lab not being there (every
 * query it can send is refused with ICMP port unreachable). Starting the whole lab after
 * vigild instead made the test pass even without the fix on a loaded machine: `lab.sh up` took
 * 33-64 s there (load 40 on 2 cores), longer than the 30 s hold-down the bug caused;
 * restarting two root servers takes about a second. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

TestSuite(coldstart, .init = need_own_lab, .fini = teardown, .timeout = 150);
TestSuite(outage, .init = need_own_lab, .fini = teardown, .timeout = 150);

static const char *lab_conf(void)
{
	static char conf[1024];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\ndo-ip6: no\n",
		 vg_lab_root_hints(), vg_lab_trust_anchor());
	return conf;
}

Test(coldstart, answers_the_first_query_after_the_authorities_come_up)
{
	const char *roots[] = {"127.53.0.1", "127.53.0.2"};
	for (int i = 0; i < 2; i++)
		cr_assert_eq(vg_lab_server_stop(roots[i]), 0);
	char conf[1024];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\ndo-ip6: no\n",
		 vg_lab_root_hints(), vg_lab_trust_anchor());
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

/* Binds a UDP socket on addr:53 that never reads: queries to it vanish without an ICMP error,
 * like a server whose host went dark. */
static int silent_server(const char *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, addr, &a.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s:53", addr);
	return fd;
}

/* Asks unique names of the zone during an outage of `ms`, one every 500 ms; returns how many
 * got SERVFAIL. */
static int ask_during_outage(const char *tag, int ms)
{
	uint64_t end = itest_now_ms() + (uint64_t)ms;
	int servfail = 0;
	for (int i = 0; i < 100 && itest_now_ms() < end; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s-%d.wild.example.com.", tag, i);
		ldns_pkt *p = itest_ask_within(&V, name, LDNS_RR_TYPE_A, 3000);
		if (p && ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL)
			servfail++;
		if (p)
			ldns_pkt_free(p);
		usleep(500 * 1000);
	}
	return servfail;
}

/* After the zone's servers are back: milliseconds until a new name of the zone resolves (asked
 * every 200 ms, at most 10 s), or -1. */
static long ms_until_answers(const char *tag)
{
	uint64_t t0 = itest_now_ms();
	for (int i = 0; i < 50 && itest_now_ms() < t0 + 10000; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s-%d.wild.example.com.", tag, i);
		if (itest_resolves_a(&V, name, "192.0.2.80", 2000))
			return (long)(itest_now_ms() - t0);
		usleep(200 * 1000);
	}
	return -1;
}

/* The outages last 10 s and 5 s, not 30 s: the first hold-down of a silent server lasts 30 s,
 * so a shorter outage is what shows whether the zone comes back with its servers or only when
 * a hold-down ends (a 30 s outage would end together with the first hold-down, by chance). */
static const char *const zone_servers[] = {"127.53.2.1", "127.53.2.2"}; /* example.com. */

static void start_and_warm(void)
{
	cr_assert_eq(itest_start(&V, lab_conf()), 0, "vigild did not start");
	cr_assert(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 8000));
}

Test(outage, a_zone_silent_for_10_s_answers_within_seconds_of_its_return)
{
	start_and_warm();
	int fds[2];
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(vg_lab_server_stop(zone_servers[i]), 0);
		fds[i] = silent_server(zone_servers[i]);
	}
	cr_expect_gt(ask_during_outage("silent", 10000), 0, "the zone was dark");
	for (int i = 0; i < 2; i++) {
		close(fds[i]);
		cr_assert_eq(vg_lab_server_start(zone_servers[i]), 0);
	}
	long took = ms_until_answers("back");
	fprintf(stderr, "outage: answers %ld ms after a 10 s silent outage\n", took);
	cr_assert(took >= 0 && took < 3000, "answers resume within 3 s (took %ld ms)", took);
}

Test(outage, a_zone_refusing_for_5_s_answers_within_seconds_of_its_return)
{
	start_and_warm();
	for (int i = 0; i < 2; i++) /* no process: ICMP port unreachable */
		cr_assert_eq(vg_lab_server_stop(zone_servers[i]), 0);
	cr_expect_gt(ask_during_outage("refused", 5000), 0, "the zone was dark");
	for (int i = 0; i < 2; i++)
		cr_assert_eq(vg_lab_server_start(zone_servers[i]), 0);
	long took = ms_until_answers("back");
	fprintf(stderr, "outage: answers %ld ms after a 5 s refusing outage\n", took);
	cr_assert(took >= 0 && took < 3000, "answers resume within 3 s (took %ld ms)", took);
}

static int count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

Test(outage, running_out_of_descriptors_is_not_held_against_the_servers)
{
	cr_assert_eq(itest_start_nofile(&V, lab_conf(), 64), 0,
		     "vigild did not start with 64 descriptors");
	cr_assert(itest_resolves_a(&V, "warm.wild.example.com.", "192.0.2.80", 8000));
	cr_assert(itest_resolves_a(&V, "www.slow.faults.net.", "192.0.2.53", 8000));
	/* A flood of misses, bounded (330 queries, 3 s): first names of the slow fault server
	 * (600 ms a reply), whose sockets use up the descriptors, then, while they are held,
	 * names of example.com., whose queries cannot get a socket. */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(V.port)};
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	uint64_t end = itest_now_ms() + 3000;
	int sent = 0;
	uint8_t buf[4096];
	for (int i = 0; i < 330 && itest_now_ms() < end; i++) {
		char name[96];
		snprintf(name, sizeof(name),
			 i < 300 ? "f%d.slow.faults.net." : "f%d.wild.example.com.", i);
		if (i == 300)
			usleep(100 * 1000); /* the slow queries hold their sockets now */
		uint8_t q[512];
		size_t ql =
		    itest_query(name, LDNS_RR_TYPE_A, (uint16_t)i, 1232, false, q, sizeof(q));
		if (sendto(fd, q, ql, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)ql)
			sent++;
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
	}
	/* Drain: until vigild has been quiet for 1 s (at most 15 s: request-timeout is 10 s). */
	uint64_t drain_end = itest_now_ms() + 15000;
	while (itest_now_ms() < drain_end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 1000) != 1)
			break;
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
	}
	close(fd);
	cr_expect(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 8000),
		  "after the flood the lab's names resolve again");
	int logged = count_lines(V.log, "cannot send to");
	fprintf(stderr, "outage: %d queries sent; %d local-error log lines\n", sent, logged);
	cr_expect_gt(logged, 0, "the flood ran vigild out of descriptors");
	cr_expect_leq(logged, 3, "local errors are logged at most once per 10 s");
}
