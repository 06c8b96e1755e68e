/* Integration tests of iterative resolution: vigild resolving through the lab (docs/lab.md) over
 * UDP and TCP, every zone kind and every misbehaviour of the fault servers. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "itest.h"
#include "lab.h"

static struct itest_vigild V;

static void start_with(const char *extra)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	char conf[2048];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\n"
		 /* these tests check what the resolver answers, however late (a dead zone's
		  * SERVFAIL comes after ~3 s, past the default discard-timeout) */
		 "do-ip6: no\ndiscard-timeout: 0\n%s",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), extra ? extra : "");
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static void setup(void)
{
	start_with(NULL);
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	vg_lab_down();
}

TestSuite(resolve, .init = setup, .fini = teardown, .timeout = 60);

static ldns_pkt *ask(const char *name, ldns_rr_type type, bool tcp, int timeout_ms)
{
	uint8_t q[512], r[65536];
	size_t ql = itest_query(name, type, (uint16_t)(rand() & 0xffff), 1232, false, q, sizeof(q));
	if (!tcp) {
		int n = itest_udp("127.0.0.1", V.port, NULL, q, ql, r, sizeof(r), timeout_ms);
		return n > 0 ? itest_parse(r, (size_t)n) : NULL;
	}
	int fd = itest_tcp_connect("127.0.0.1", V.port);
	if (fd < 0)
		return NULL;
	uint8_t framed[514];
	framed[0] = (uint8_t)(ql >> 8);
	framed[1] = (uint8_t)ql;
	memcpy(framed + 2, q, ql);
	ldns_pkt *p = NULL;
	if (itest_write_all(fd, framed, ql + 2) == 0) {
		int n = itest_tcp_read(fd, r, sizeof(r), timeout_ms);
		if (n > 0)
			p = itest_parse(r, (size_t)n);
	}
	close(fd);
	return p;
}

/* The EDE info-code of a reply (RFC 8914 option 15), or -1. */
static int ede_of(const ldns_pkt *p)
{
	char text[256];
	return itest_ede(p, text, sizeof(text));
}

struct expect {
	const char *name;
	ldns_rr_type type;
	ldns_pkt_rcode rcode;
	const char *owner; /* an answer record that must be there (NULL: none required) */
	ldns_rr_type atype;
	const char *rdata;
	size_t ancount; /* 0 = do not check */
};

static const struct expect names[] = {
    {"www.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.example.com.", LDNS_RR_TYPE_A,
     "192.0.2.1", 1},
    {"www.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, "www.example.com.",
     LDNS_RR_TYPE_AAAA, "2001:db8::1", 1},
    {"example.com.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, "example.com.", LDNS_RR_TYPE_MX, NULL, 1},
    {"mail.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "mail.example.com.", LDNS_RR_TYPE_A,
     "192.0.2.25", 1},
    {"alias.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.example.com.", LDNS_RR_TYPE_A,
     "192.0.2.1", 2},
    {"chain.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "c2.example.org.", LDNS_RR_TYPE_A,
     "192.0.2.3", 3},
    {"www.dname.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.example.net.",
     LDNS_RR_TYPE_A, "192.0.2.2", 0},
    {"anything-42.wild.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
     "anything-42.wild.example.com.", LDNS_RR_TYPE_A, "192.0.2.80", 1},
    {"x.wild.example.com.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, "x.wild.example.com.",
     LDNS_RR_TYPE_TXT, NULL, 1},
    {"ent.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, 0, NULL, 0},
    {"nx.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL, 0, NULL, 0},
    {"nodata.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, 0, NULL, 0},
    {"www.example.com.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, NULL, 0, NULL, 0},
    {"nosuch.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL, 0, NULL, 0},
    {"www.example.net.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.example.net.", LDNS_RR_TYPE_A,
     "192.0.2.2", 1},
    {"www.glueless.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.glueless.com.", LDNS_RR_TYPE_A,
     "192.0.2.5", 1},
    {"www.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.example.org.", LDNS_RR_TYPE_A,
     "192.0.2.7", 1},
    {"www.secure.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.secure.org.", LDNS_RR_TYPE_A,
     "192.0.2.10", 1},
    {"www.nsec3.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.nsec3.org.", LDNS_RR_TYPE_A,
     "192.0.2.12", 1},
    {"1.0.18.198.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, "1.0.18.198.in-addr.arpa.",
     LDNS_RR_TYPE_PTR, "www.example.com.", 1},
    {"www.flaky.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "www.flaky.com.", LDNS_RR_TYPE_A,
     "192.0.2.20", 1},
    {"big.example.com.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, "big.example.com.", LDNS_RR_TYPE_TXT,
     NULL, 30},
    {"big.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "big.example.com.", LDNS_RR_TYPE_A,
     "198.51.100.100", 100},
};

static void check(const struct expect *e, bool tcp)
{
	ldns_pkt *p = ask(e->name, e->type, tcp, 8000);
	cr_assert_not_null(p, "%s: no answer over %s", e->name, tcp ? "TCP" : "UDP");
	cr_expect_eq(ldns_pkt_get_rcode(p), e->rcode, "%s/%d over %s: rcode %d", e->name, e->type,
		     tcp ? "TCP" : "UDP", ldns_pkt_get_rcode(p));
	cr_expect(ldns_pkt_ra(p), "RA set");
	cr_expect(!ldns_pkt_ad(p), "AD never set before validation exists");
	if (e->owner)
		cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, e->owner, e->atype, e->rdata),
			  "%s: no %s in the answer", e->name, e->rdata ? e->rdata : e->owner);
	if (e->ancount)
		cr_expect_eq(ldns_pkt_ancount(p), e->ancount, "%s: %u answers", e->name,
			     ldns_pkt_ancount(p));
	if (e->rcode == LDNS_RCODE_NXDOMAIN || (e->rcode == 0 && !e->owner))
		cr_expect_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA), 1,
			     "%s: negative answer with SOA", e->name);
	if (e->owner)
		cr_expect_eq(ldns_pkt_nscount(p), 0, "minimal responses");
	ldns_pkt_free(p);
}

Test(resolve, every_lab_name_kind_over_udp)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].ancount < 30) /* larger answers truncate over UDP */
			check(&names[i], false);
}

Test(resolve, every_lab_name_kind_over_tcp)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check(&names[i], true);
}

Test(resolve, large_answer_over_udp_is_truncated_for_the_client)
{
	ldns_pkt *p = ask("big.example.com.", LDNS_RR_TYPE_TXT, false, 8000);
	cr_assert_not_null(p);
	cr_expect(ldns_pkt_tc(p), "3.3 kB does not fit 1232 bytes: TC");
	ldns_pkt_free(p);
}

Test(resolve, cname_loop_is_servfail_with_ede)
{
	ldns_pkt *p = ask("loop.example.com.", LDNS_RR_TYPE_A, false, 8000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	cr_expect_geq(ede_of(p), 0);
	ldns_pkt_free(p);
}

Test(resolve, all_servers_dead_gives_servfail_with_ede_within_the_lifetime)
{
	uint64_t t0 = itest_now_ms();
	ldns_pkt *p = ask("www.dead.com.", LDNS_RR_TYPE_A, false, 12000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	cr_expect_eq(ede_of(p), 22, "EDE 22 No Reachable Authority");
	cr_expect_lt(itest_now_ms() - t0, 10000, "within request-timeout (default 10 s)");
	ldns_pkt_free(p);
}

struct fault {
	const char *mode;
	const char *want; /* expected A rdata, NULL = SERVFAIL */
};

static const struct fault faults[] = {
    {"ok", "192.0.2.53"},
    {"slow", "192.0.2.53"},
    {"tc", "192.0.2.53"},
    {"garbage", "192.0.2.53"},
    {"wrongid", "192.0.2.53"},
    {"wrongq", "192.0.2.53"},
    {"wrongport", "192.0.2.53"},
    {"oob", "192.0.2.53"},
    {"formerr", "192.0.2.53"},
    {"silent", NULL},
    {"refloop", NULL},
    {"upward", NULL},
    {"nxns", NULL},
    /* fails the 0x20 check over UDP, so it is asked over TCP, where it answers correctly */
    {"case", "192.0.2.53"},
};

static void check_fault(const struct fault *f)
{
	char name[128];
	snprintf(name, sizeof(name), "www.%s.faults.net.", f->mode);
	uint64_t t0 = itest_now_ms();
	ldns_pkt *p = ask(name, LDNS_RR_TYPE_A, false, 12000);
	cr_assert_not_null(p, "%s: no answer", f->mode);
	cr_expect(!vg_lab_has(p, LDNS_SECTION_ANSWER, name, LDNS_RR_TYPE_A, "192.0.2.66"),
		  "%s: forged data accepted", f->mode);
	if (f->want) {
		cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "%s", f->mode);
		cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, name, LDNS_RR_TYPE_A, f->want),
			  "%s: expected %s", f->mode, f->want);
	} else {
		cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL, "%s", f->mode);
		cr_expect_geq(ede_of(p), 0, "%s: SERVFAIL carries an EDE", f->mode);
		cr_expect_lt(itest_now_ms() - t0, 10000, "%s: within the request lifetime",
			     f->mode);
	}
	ldns_pkt_free(p);
}

Test(resolve, every_fault_server_mode)
{
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		check_fault(&faults[i]);
}

Test(resolve, out_of_bailiwick_data_does_not_poison_other_zones)
{
	ldns_pkt *p = ask("www.oob.faults.net.", LDNS_RR_TYPE_A, false, 8000);
	cr_assert_not_null(p);
	ldns_pkt_free(p);
	p = ask("www.example.com.", LDNS_RR_TYPE_A, false, 8000);
	cr_assert_not_null(p);
	cr_expect(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"));
	cr_expect(
	    !vg_lab_has(p, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.66"));
	ldns_pkt_free(p);
}

Test(resolve, nxns_referral_is_bounded)
{
	/* 40 glueless NS names: the glueless limit stops it long before 40 lookups. */
	ldns_pkt *p = ask("www.nxns.faults.net.", LDNS_RR_TYPE_A, false, 12000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	ldns_pkt_free(p);
}

Test(resolve, answers_repeat_from_the_cache)
{
	ldns_pkt *p = ask("www.example.com.", LDNS_RR_TYPE_A, false, 8000);
	cr_assert_not_null(p);
	ldns_pkt_free(p);
	usleep(100 * 1000); /* the cache writer commits in groups of a few ms */
	uint64_t t0 = itest_now_ms();
	for (int i = 0; i < 20; i++) {
		p = ask("www.example.com.", LDNS_RR_TYPE_A, false, 2000);
		cr_assert_not_null(p);
		cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A,
				     "192.0.2.1"));
		ldns_pkt_free(p);
	}
	cr_expect_lt(itest_now_ms() - t0, 2000);
}

Test(resolve, cname_limit_from_the_config_applies, .init = NULL)
{
	start_with("max-cname-chain: 1\n");
	ldns_pkt *p = ask("chain.example.com.", LDNS_RR_TYPE_A, false, 8000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL, "two links over a limit of one");
	cr_expect_geq(ede_of(p), 0);
	ldns_pkt_free(p);
	p = ask("alias.example.com.", LDNS_RR_TYPE_A, false, 8000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "one link is within the limit");
	ldns_pkt_free(p);
}

Test(resolve, queries_nothing_local_without_query_local_addresses, .init = NULL)
{
	cr_assert_eq(vg_lab_up(), 0);
	char conf[1024];
	snprintf(conf, sizeof(conf), "root-hints: %s\ntrust-anchor-file: %s\ndo-ip6: no\n",
		 vg_lab_root_hints(), vg_lab_trust_anchor());
	cr_assert_eq(itest_start(&V, conf), 0);
	ldns_pkt *p = ask("www.example.com.", LDNS_RR_TYPE_A, false, 8000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL,
		     "the lab's root servers are on loopback: refused by default");
	cr_expect_eq(ede_of(p), 22, "EDE 22, its text naming query-local-addresses");
	ldns_pkt_free(p);
}

Test(resolve, serves_stale_when_the_zone_becomes_unreachable, .init = NULL)
{
	cr_assert_eq(vg_lab_up(), 0);
	const char *faultd = getenv("VIGIL_FAULTD");
	cr_assert_not_null(faultd, "vg_lab_up sets VIGIL_FAULTD");
	char dir[] = "/tmp/vg-stale-XXXXXX", zone[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(zone, sizeof(zone), "%s/stale.zone", dir);
	FILE *f = fopen(zone, "w");
	fprintf(f, "$ORIGIN stale.zz.\n@ 300 IN SOA ns h 1 2 3 4 300\n@ 300 IN NS ns\n"
		   "ns 300 IN A 127.0.0.1\nwww 300 IN A 192.0.2.99\n");
	fclose(f);
	srand((unsigned)getpid());
	char addr[64], extra[256];
	snprintf(addr, sizeof(addr), "127.0.0.1@%d", 20000 + rand() % 10000);
	pid_t pid = fork();
	if (pid == 0) {
		execl(faultd, "faultd", "-a", addr, "-z", zone, "-o", "stale.zz.", "-m", "ok", "-f",
		      (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000);
	/* a forwarder on loopback is allowed: forwarders are the user's own choice */
	snprintf(extra, sizeof(extra), "forward-zone: stale.zz. %s\ncache-max-ttl: 1\n", addr);
	start_with(extra);
	ldns_pkt *p = ask("www.stale.zz.", LDNS_RR_TYPE_A, false, 8000);
	cr_assert_not_null(p);
	cr_expect(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "www.stale.zz.", LDNS_RR_TYPE_A, "192.0.2.99"));
	ldns_pkt_free(p);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	usleep(2500 * 1000); /* past the clamped TTL of 1 s */
	p = ask("www.stale.zz.", LDNS_RR_TYPE_A, false, 12000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.stale.zz.", LDNS_RR_TYPE_A, "192.0.2.99"),
		  "the expired answer is served");
	ldns_rr_list *an = ldns_pkt_answer(p);
	if (ldns_rr_list_rr_count(an))
		cr_expect_eq(ldns_rr_ttl(ldns_rr_list_rr(an, 0)), 30, "stale TTL 30 (RFC 8767)");
	cr_expect_eq(ede_of(p), 3, "EDE 3 Stale Answer");
	ldns_pkt_free(p);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

Test(resolve, forwards_to_another_resolver, .init = NULL)
{
	cr_assert_eq(vg_lab_up(), 0);
	/* W iterates on the lab; V forwards everything to W. */
	struct itest_vigild W;
	char conf[1024];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\ndo-ip6: no\n",
		 vg_lab_root_hints(), vg_lab_trust_anchor());
	cr_assert_eq(itest_start(&W, conf), 0);
	char extra[512];
	/* V validates through W with the lab's anchor (test_fwdval.c has the verdicts) */
	snprintf(extra, sizeof(extra), "forward: 127.0.0.1@%u\ntrust-anchor-file: %s\n", W.port,
		 vg_lab_trust_anchor());
	/* no query-local-addresses: the forwarder on loopback is allowed anyway */
	cr_assert_eq(itest_start(&V, extra), 0);
	const struct expect *cases[] = {&names[0], &names[5], &names[10], &names[15]};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(cases[i], false);
	cr_expect_eq(itest_stop(&W), 0);
}
