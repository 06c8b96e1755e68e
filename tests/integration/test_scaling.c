/* Integration test of the scaling recipe (docs/recipes.md): dnsdist with the shipped
 * contrib/dnsdist.conf in front of two vigild instances on loopback. Queries sent to dnsdist are
 * answered, both instances take a share (their own counters, read with vigilctl), each name is
 * resolved by one instance only (consistent hashing), and asked again it comes from that
 * instance's cache. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "itest.h"

#define NAMES 40

static struct itest_vigild A, B;
static char ctl_a[128], ctl_b[128], zone_dir[64];
static pid_t faultd_pid, dnsdist_pid;

static void stop_pid(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static void teardown(void)
{
	stop_pid(&dnsdist_pid);
	if (A.pid)
		cr_expect_eq(itest_stop(&A), 0);
	if (B.pid)
		cr_expect_eq(itest_stop(&B), 0);
	stop_pid(&faultd_pid);
	if (zone_dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", zone_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", zone_dir);
	}
}

TestSuite(scaling, .fini = teardown, .timeout = 90);

/* A counter of `vigilctl --json stats` of the instance behind `ctl`. */
static long long stat_of(const char *ctl, const char *name)
{
	char out[65536];
	int rc = itest_vigilctl(ctl, "--json stats", out, sizeof(out));
	cr_assert_eq(rc, 0, "vigilctl stats: %s", out);
	json_error_t je;
	json_t *o = json_loads(out, 0, &je);
	cr_assert_not_null(o, "not JSON: %s", out);
	json_t *v = json_object_get(json_object_get(o, "stats"), name);
	cr_assert(json_is_integer(v), "no counter %s", name);
	long long n = json_integer_value(v);
	json_decref(o);
	return n;
}

static void start_instance(struct itest_vigild *v, char *ctl, size_t cap, const char *name,
			   uint16_t zone_port)
{
	char conf[512];
	snprintf(ctl, cap, "/tmp/vigil-scale-%s-%d.sock", name, (int)getpid());
	snprintf(conf, sizeof(conf),
		 "control-socket: %s\n"
		 "forward-zone: \"scale.zz. 127.0.0.1@%u\"\n"
		 "negative-trust-anchor: scale.zz.\n"
		 /* every query comes from dnsdist's one address */
		 "allow: 127.0.0.0/8 trusted\n"
		 "do-ip6: no\n",
		 ctl, zone_port);
	cr_assert_eq(itest_start(v, conf), 0, "vigild %s did not start", name);
}

static bool answered_through(uint16_t port, const char *name, const char *addr)
{
	uint8_t q[512], r[4096];
	size_t ql = itest_query(name, LDNS_RR_TYPE_A, (uint16_t)rand(), 1232, false, q, sizeof(q));
	int n = itest_udp("127.0.0.1", port, NULL, q, ql, r, sizeof(r), 3000);
	if (n <= 0)
		return false;
	ldns_pkt *p = itest_parse(r, (size_t)n);
	bool ok = false;
	if (p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(p) == 1) {
		char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
		ok = s && strcmp(s, addr) == 0;
		free(s);
	}
	ldns_pkt_free(p);
	return ok;
}

/* h2..hNAMES through dnsdist, each answered with its own address. */
static void ask_names(uint16_t port)
{
	for (int i = 2; i <= NAMES; i++) {
		char name[64], addr[32];
		snprintf(name, sizeof(name), "h%d.scale.zz.", i);
		snprintf(addr, sizeof(addr), "10.9.0.%d", i);
		cr_expect(answered_through(port, name, addr), "%s through dnsdist", name);
	}
}

Test(scaling, two_vigild_behind_dnsdist_share_the_names)
{
	const char *dnsdist = "/usr/bin/dnsdist";
	cr_assert_eq(access(dnsdist, X_OK), 0,
		     "dnsdist is not installed (apt-get install dnsdist: the README's test command "
		     "installs it)");
	char conf_path[512];
	snprintf(conf_path, sizeof(conf_path), "%s/contrib/dnsdist.conf", VG_SOURCE_ROOT);

	/* the names, on an authoritative server both instances forward to */
	char zone[4096];
	size_t zl = (size_t)snprintf(zone, sizeof(zone),
				     "$ORIGIN scale.zz.\n@ 300 IN SOA ns h 1 2 3 4 300\n"
				     "@ 300 IN NS ns\nns 300 IN A 127.0.0.1\n");
	for (int i = 1; i <= NAMES; i++)
		zl += (size_t)snprintf(zone + zl, sizeof(zone) - zl, "h%d 300 IN A 10.9.0.%d\n", i,
				       i);
	uint16_t zone_port = itest_free_port();
	cr_assert_neq(zone_port, 0);
	faultd_pid = itest_start_faultd("scale.zz.", zone, zone_port, zone_dir, sizeof(zone_dir));
	cr_assert_gt(faultd_pid, 0);

	start_instance(&A, ctl_a, sizeof(ctl_a), "a", zone_port);
	start_instance(&B, ctl_b, sizeof(ctl_b), "b", zone_port);

	uint16_t port = itest_free_port();
	cr_assert_neq(port, 0);
	char listen[64], backends[128];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	snprintf(backends, sizeof(backends), "127.0.0.1:%u 127.0.0.1:%u", A.port, B.port);
	setenv("DNSDIST_LISTEN", listen, 1);
	setenv("VIGIL_BACKENDS", backends, 1);
	char cmd[1024], out[4096];
	snprintf(cmd, sizeof(cmd), "%s --check-config -C %s 2>&1", dnsdist, conf_path);
	cr_assert_eq(itest_run(cmd, out, sizeof(out)), 0, "dnsdist refuses %s: %s", conf_path, out);

	dnsdist_pid = fork();
	cr_assert_geq(dnsdist_pid, 0);
	if (dnsdist_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(dnsdist, "dnsdist", "--supervised", "--disable-syslog", "-C", conf_path,
		      (char *)NULL);
		_exit(127);
	}
	/* ready when dnsdist passes a question through */
	bool up = false;
	for (uint64_t end = itest_now_ms() + 10000; !up && itest_now_ms() < end; usleep(100000))
		up = answered_through(port, "h1.scale.zz.", "10.9.0.1");
	cr_assert(up, "no answer through dnsdist on %s", listen);

	long long ra0 = stat_of(ctl_a, "resolved"), rb0 = stat_of(ctl_b, "resolved");
	ask_names(port);
	/* workers publish their counters once per loop pass */
	usleep(300 * 1000);
	long long ra = stat_of(ctl_a, "resolved") - ra0, rb = stat_of(ctl_b, "resolved") - rb0;
	fprintf(stderr, "names resolved by instance a: %lld, by b: %lld\n", ra, rb);
	cr_expect_gt(ra, 0, "instance a resolved none of the names (b: %lld)", rb);
	cr_expect_gt(rb, 0, "instance b resolved none of the names (a: %lld)", ra);
	cr_expect_eq(ra + rb, NAMES - 1, "each name resolved once, by one instance: a %lld b %lld",
		     ra, rb);

	/* Asked again, every name comes from the cache of the instance that resolved it. */
	long long ca0 = stat_of(ctl_a, "cached"), cb0 = stat_of(ctl_b, "cached");
	ask_names(port);
	usleep(300 * 1000);
	long long ca = stat_of(ctl_a, "cached") - ca0, cb = stat_of(ctl_b, "cached") - cb0;
	cr_expect_eq(ca, ra, "instance a answers its own names from its cache");
	cr_expect_eq(cb, rb, "instance b answers its own names from its cache");
	cr_expect_eq(stat_of(ctl_a, "resolved") - ra0 + stat_of(ctl_b, "resolved") - rb0, NAMES - 1,
		     "nothing resolved twice");
}
