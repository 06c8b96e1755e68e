/* Integration tests of vigilctl and the control socket: every command as text and as JSON (parsed
 * back with jansson), the counters of `stats` moving (local data without the lab, the resolver's
 * and the upstream transport's through the lab), and vigilctl's exit status for each failure. */
#include <criterion/criterion.h>
#include <grp.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "itest.h"
#include "lab.h"

static struct itest_vigild V;
static char ctl_path[128];
static bool lab;

static void start_with(const char *extra)
{
	char conf[2048];
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-ctl-c-%d.sock", (int)getpid());
	snprintf(conf, sizeof(conf),
		 "control-socket: %s\nlocal-data: \"x.lan. 300 A 10.1.2.3\"\n"
		 "do-ip6: no\ndiscard-timeout: 0\n%s",
		 ctl_path, extra ? extra : "");
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static void setup(void)
{
	start_with(NULL);
}

static void teardown(void)
{
	if (V.pid)
		cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	if (lab)
		vg_lab_down();
	lab = false;
}

TestSuite(control, .init = setup, .fini = teardown, .timeout = 60);

/* Runs `vigilctl ARGS` (ARGS may carry its own -s); stdout in out (stderr too with
 * want_stderr). Returns the exit status. */
static int run(const char *args, bool want_stderr, char *out, size_t cap)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "timeout 5 '%s' %s %s", getenv("VIGILCTL"), args,
		 want_stderr ? "2>&1" : "2>/dev/null");
	return itest_run(cmd, out, cap);
}

/* `vigilctl -s ctl_path ARGS` as text (stdout and stderr). */
static int ctl(const char *args, char *out, size_t cap)
{
	char a[512];
	snprintf(a, sizeof(a), "-s %s %s", ctl_path, args);
	return run(a, true, out, cap);
}

/* `vigilctl --json -s ctl_path ARGS`: asserts the exit status and returns the parsed object. */
static json_t *ctl_json(const char *args, int want_rc)
{
	char a[512], out[65536];
	snprintf(a, sizeof(a), "--json -s %s %s", ctl_path, args);
	int rc = run(a, false, out, sizeof(out));
	cr_assert_eq(rc, want_rc, "vigilctl --json %s: exit %d: %s", args, rc, out);
	json_error_t je;
	json_t *o = json_loads(out, 0, &je);
	cr_assert(json_is_object(o), "%s: not a JSON object (%s): %s", args, je.text, out);
	cr_assert_eq(json_is_true(json_object_get(o, "ok")), want_rc == 0, "%s: %s", args, out);
	if (want_rc)
		cr_assert(json_is_string(json_object_get(o, "error")), "%s: no error: %s", args,
			  out);
	return o;
}

/* A counter of `vigilctl --json stats`. */
static long long stat_of(const char *name)
{
	json_t *o = ctl_json("stats", 0);
	json_t *v = json_object_get(json_object_get(o, "stats"), name);
	cr_assert(json_is_integer(v), "no counter %s", name);
	long long n = json_integer_value(v);
	json_decref(o);
	return n;
}

/* Waits until counter `name` exceeds `than` (workers publish once per loop pass). */
static long long stat_above(const char *name, long long than)
{
	long long n = stat_of(name);
	for (uint64_t t0 = itest_now_ms(); n <= than && itest_now_ms() - t0 < 2000; usleep(20000))
		n = stat_of(name);
	return n;
}

static void ask_local(void)
{
	ldns_pkt *p = itest_ask(&V, "x.lan.", LDNS_RR_TYPE_A);
	cr_assert_not_null(p, "vigild does not answer");
	ldns_pkt_free(p);
}

Test(control, status_as_text_and_json)
{
	char out[8192], want[512];
	cr_assert_eq(ctl("status", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "ok vigild ") && strstr(out, "\nworkers: 1\n"), "%s", out);
	cr_assert(strstr(out, "\nvalidation: on\n"), "dnssec: yes is the default: %s", out);
	snprintf(want, sizeof(want), "\nconfig: %s\n", V.conf);
	cr_assert(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "\nlisten: 127.0.0.1@%u\n", V.port);
	cr_assert(strstr(out, want), "%s", out);
	cr_assert(strstr(out, "\ncache-use: "), "%s", out);

	json_t *o = ctl_json("status", 0);
	cr_assert(json_is_string(json_object_get(o, "version")));
	cr_assert_eq(json_integer_value(json_object_get(o, "workers")), 1);
	cr_assert_geq(json_integer_value(json_object_get(o, "uptime")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "config")), V.conf);
	cr_assert_str_eq(json_string_value(json_object_get(o, "validation")), "on");
	json_t *listen = json_object_get(o, "listen");
	snprintf(want, sizeof(want), "127.0.0.1@%u", V.port);
	bool found = false;
	for (size_t i = 0; i < json_array_size(listen); i++)
		found = found || !strcmp(json_string_value(json_array_get(listen, i)), want);
	cr_assert(found, "%s not listed", want);
	json_t *cache = json_object_get(o, "cache");
	cr_assert(json_is_object(cache), "no cache object");
	cr_assert(json_is_string(json_object_get(cache, "path")));
	cr_assert_gt(json_integer_value(json_object_get(cache, "map_size")), 0);
	cr_assert(json_is_integer(json_object_get(cache, "used_bytes")));
	const char *level = json_string_value(json_object_get(o, "log_level"));
	cr_assert(level && (!strcmp(level, "info") || !strcmp(level, "debug")), "%s", level);
	/* the built-in root trust anchors (dns-root-data): KSK-2017 is among them */
	json_t *ta = json_object_get(o, "trust_anchors");
	cr_assert_str_eq(json_string_value(json_object_get(ta, "source")),
			 "built-in (dns-root-data)");
	json_t *anchors = json_object_get(ta, "anchors");
	bool ksk2017 = false;
	for (size_t i = 0; i < json_array_size(anchors); i++) {
		json_t *a = json_array_get(anchors, i);
		cr_assert_str_eq(json_string_value(json_object_get(a, "owner")), ".");
		ksk2017 = ksk2017 || (json_integer_value(json_object_get(a, "key_tag")) == 20326 &&
				      json_integer_value(json_object_get(a, "algorithm")) == 8);
	}
	cr_assert(ksk2017, "no DS 20326 among the trust anchors");
	json_decref(o);
	cr_assert(strstr(out, "\ntrust-anchors: built-in (dns-root-data): ") &&
		      strstr(out, ". DS 20326 (algorithm 8)"),
		  "%s", out);
}

Test(control, status_names_the_trust_anchor_file, .init = NULL)
{
	char dir[] = "/tmp/vg-ta-XXXXXX", path[64], extra[128], out[8192];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/root.key", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("; a test anchor\n. 3600 IN DS 12345 13 2 "
	      "0000000000000000000000000000000000000000000000000000000000000000\n",
	      f);
	fclose(f);
	snprintf(extra, sizeof(extra), "trust-anchor-file: %s\ndnssec: no\n", path);
	start_with(extra);
	cr_assert_eq(ctl("status", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "\nvalidation: off\n"), "dnssec: no: %s", out);
	char want[160];
	snprintf(want, sizeof(want), "\ntrust-anchors: %s: . DS 12345 (algorithm 13)\n", path);
	cr_assert(strstr(out, want), "%s", out);
	unlink(path);
	rmdir(dir);
}

Test(control, stats_as_text_and_json_count_local_answers)
{
	char out[16384];
	ask_local();
	cr_assert_eq(ctl("stats", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(strncmp(out, "ok\n", 3), 0, "%s", out);
	/* names the tests and docs use, and one of each list */
	const char *names[] = {"udp_queries",
			       "local",
			       "cached",
			       "over_max_requests",
			       "upstream_socket_cap",
			       "resolver_requests",
			       "resolver_upstream_sent",
			       "upstream_sent_udp",
			       "upstream_unsolicited",
			       "cache_rrsets"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "\n%s: ", names[i]);
		cr_assert(strstr(out, want), "no %s in: %s", names[i], out);
	}
	cr_assert_null(strstr(out, "\nlocal: 0\n"), "%s", out);

	json_t *o = ctl_json("stats", 0);
	json_t *st = json_object_get(o, "stats");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert(json_is_integer(json_object_get(st, names[i])), "no %s", names[i]);
	long long local = json_integer_value(json_object_get(st, "local"));
	cr_assert_geq(local, 1);
	json_decref(o);
	ask_local();
	cr_assert_eq(stat_above("local", local), local + 1);
}

Test(control, every_other_command_as_text_and_json)
{
	struct {
		const char *args, *text; /* the text answer's first line */
	} cmds[] = {
	    {"reload", "ok reloaded\n"},
	    {"log-reopen", "ok reopened\n"},
	    {"verbosity debug", "ok debug\n"},
	    {"verbosity", "ok debug\n"},
	    {"verbosity info", "ok info\n"},
	    {"flush", "ok\n"},
	    {"flush-name x.lan A", "ok\n"},
	    {"flush-zone lan", "ok\n"},
	    {"flush-negative", "ok\n"},
	    {"flush-suspicious", "ok\n"},
	    {"dump", "ok\n"},
	    {"lookup x.lan", "ok not in the cache\n"},
	};
	char out[16384];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		cr_assert_eq(ctl(cmds[i].args, out, sizeof(out)), 0, "%s: %s", cmds[i].args, out);
		cr_assert_eq(strncmp(out, cmds[i].text, strlen(cmds[i].text)), 0, "%s: %s",
			     cmds[i].args, out);
		json_decref(ctl_json(cmds[i].args, 0));
	}
	json_t *o = ctl_json("verbosity debug", 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "message")), "debug");
	json_decref(o);
	o = ctl_json("dump", 0);
	cr_assert(json_is_string(json_object_get(o, "dump")));
	json_decref(o);
	ask_local(); /* alive after all of them */

	/* stop, as JSON: vigild exits 0 */
	o = ctl_json("stop", 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "message")), "stopping");
	json_decref(o);
	int st = 0;
	for (uint64_t t0 = itest_now_ms(); waitpid(V.pid, &st, WNOHANG) == 0;) {
		cr_assert_lt(itest_now_ms() - t0, 5000, "vigild did not stop");
		usleep(10000);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	V.pid = 0;
}

Test(control, refused_reload_exits_1_with_the_error)
{
	char out[8192];
	cr_assert_eq(itest_write_config(&V, "local-data: \"x.lan. 300 A bad\"\n"), 0);
	cr_assert_eq(ctl("reload", out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "error: ") && strstr(out, "key 'local-data'"), "%s", out);
	json_t *o = ctl_json("reload", 1);
	cr_assert(strstr(json_string_value(json_object_get(o, "error")), "key 'local-data'"));
	json_decref(o);
	ask_local(); /* the old config still serves */
	cr_assert_eq(itest_write_config(&V, NULL), 0);
}

Test(control, daemon_errors_exit_1)
{
	char out[8192];
	cr_assert_eq(ctl("no-such-command", out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "error: unknown command 'no-such-command' (status, stats"), "%s",
		  out);
	json_decref(ctl_json("no-such-command", 1));
	cr_assert_eq(ctl("verbosity loud", out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "error: unknown level 'loud'"), "%s", out);
	json_decref(ctl_json("verbosity loud", 1));
	cr_assert_eq(ctl("flush-name", out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "error: usage: flush-name NAME [TYPE]"), "%s", out);
}

Test(control, usage_errors_exit_2)
{
	char out[8192];
	cr_assert_eq(run("", true, out, sizeof(out)), 2, "%s", out);
	cr_assert(strstr(out, "usage: vigilctl"), "%s", out);
	cr_assert_eq(run("--no-such-option status", true, out, sizeof(out)), 2, "%s", out);
	cr_assert_eq(run("status", true, out, sizeof(out)), 2, "no socket given: %s", out);
	cr_assert(strstr(out, "control-socket"), "%s", out);
	cr_assert_eq(run("-c /nonexistent/vigil.conf status", true, out, sizeof(out)), 2, "%s",
		     out);
	cr_assert(strstr(out, "/nonexistent/vigil.conf"), "%s", out);
	cr_assert_eq(run("-h", true, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "exit status:") && strstr(out, "3  cannot connect"), "%s", out);
}

Test(control, connection_errors_exit_3_naming_the_path)
{
	char out[8192], args[512], want[512];
	snprintf(args, sizeof(args), "-s %s.missing status", ctl_path);
	cr_assert_eq(run(args, true, out, sizeof(out)), 3, "%s", out);
	snprintf(want, sizeof(want), "no control socket at %s.missing", ctl_path);
	cr_assert(strstr(out, want) && strstr(out, "control-socket: "), "%s", out);
	snprintf(args, sizeof(args), "--json -s %s.missing status", ctl_path);
	cr_assert_eq(run(args, false, out, sizeof(out)), 3, "%s", out);
	json_t *o = json_loads(out, 0, NULL);
	cr_assert(json_is_object(o) && json_is_false(json_object_get(o, "ok")), "%s", out);
	cr_assert_eq(json_integer_value(json_object_get(o, "exit")), 3);
	json_decref(o);

	/* a socket file nobody listens on (left by a vigild killed hard) */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vigil-ctl-s-%d.sock", (int)getpid());
	const char *stale = sa.sun_path;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(stale);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	snprintf(args, sizeof(args), "-s %s status", stale);
	cr_assert_eq(run(args, true, out, sizeof(out)), 3, "%s", out);
	cr_assert(strstr(out, "vigild is not running"), "%s", out);
	unlink(stale);
}

Test(control, permission_denied_on_the_socket_file_exits_4)
{
	if (getuid() != 0)
		cr_skip_test("needs root to switch users");
	/* nobody: not the socket file's owner (root) nor in its group */
	char *argv[] = {getenv("VIGILCTL"), "-s", ctl_path, "status", NULL};
	char out[4096];
	int rc = itest_run_as(65534, 65534, NULL, 0, argv, out, sizeof(out));
	cr_assert_eq(rc, 4, "%s", out);
	cr_assert(strstr(out, "permission denied on ") && strstr(out, ctl_path), "%s", out);
}

/* The resolver's and the upstream transport's counters are readable while vigild runs. This
 * test brings up the whole lab, which takes a minute on a 2-core machine at a load average of 40:
 * its hang guard is the lab tests' (test_outage.c), not the suite's 60 s. */
Test(control, resolver_counters_move_when_a_query_is_resolved, .init = NULL, .timeout = 150)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	lab = true;
	char extra[1024];
	snprintf(extra, sizeof(extra),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\n",
		 vg_lab_root_hints(), vg_lab_trust_anchor());
	start_with(extra);
	long long req = stat_of("resolver_requests"), sent = stat_of("resolver_upstream_sent");
	long long udp = stat_of("upstream_sent_udp"), rep = stat_of("upstream_replies");
	long long miss = stat_of("answer_cache_misses"), committed = stat_of("cache_committed");
	ldns_pkt *pk = itest_ask_within(&V, "www.example.com.", LDNS_RR_TYPE_A, 8000);
	cr_assert_not_null(pk);
	cr_assert(
	    vg_lab_has(pk, LDNS_SECTION_ANSWER, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.1"),
	    "rcode %d, %zu answers", (int)ldns_pkt_get_rcode(pk), (size_t)ldns_pkt_ancount(pk));
	ldns_pkt_free(pk);
	cr_assert_gt(stat_above("resolver_requests", req), req);
	cr_assert_gt(stat_above("resolver_upstream_sent", sent), sent);
	cr_assert_gt(stat_above("upstream_sent_udp", udp), udp);
	cr_assert_gt(stat_above("upstream_replies", rep), rep);
	cr_assert_geq(stat_of("resolved"), 1);
	/* the lab's root is signed and com. has no DS: an insecure answer, validated as such */
	cr_assert_geq(stat_above("resolver_dnssec_insecure", 0), 1);
	cr_assert_eq(stat_of("resolver_dnssec_bogus"), 0);
	/* the answer cache missed it once; the writer stored it; the same question then hits */
	cr_assert_gt(stat_above("answer_cache_misses", miss), miss);
	cr_assert_gt(stat_above("cache_committed", committed), committed);
	long long hits = stat_of("cached");
	bool hit = false;
	for (int i = 0; i < 10 && !hit; i++) { /* the writer commits in groups of a few ms */
		pk = itest_ask_within(&V, "www.example.com.", LDNS_RR_TYPE_A, 2000);
		cr_assert_not_null(pk);
		ldns_pkt_free(pk);
		hit = stat_above("cached", hits) > hits;
	}
	cr_assert(hit, "the second question was not answered from the answer cache");
	cr_assert_eq(stat_of("cache_dropped"), 0);
	cr_assert_eq(stat_of("cache_corrupt"), 0);
}

/* lookup and dump show what the cache holds in dig's presentation format, with where each RRset
 * came from; flush-name removes it. The data come from faultd, forwarded (no lab needed). */
Test(control, lookup_and_dump_print_cached_data_as_dig_does, .init = NULL)
{
	uint16_t port = itest_free_port();
	cr_assert_neq(port, 0);
	char dir[128], extra[256], out[65536];
	pid_t fd = itest_start_faultd("look.zz.",
				      "$ORIGIN look.zz.\n@ 300 IN SOA ns h 7 3600 600 86400 300\n"
				      "@ 300 IN NS ns\nns 300 IN A 127.0.0.1\n"
				      "@ 300 IN MX 10 mail.look.zz.\n"
				      "@ 300 IN TXT \"hello world\" \"two\"\n"
				      "_sip._udp 300 IN SRV 5 10 5060 sip.look.zz.\n"
				      "www 300 IN A 192.0.2.80\n",
				      port, dir, sizeof(dir));
	cr_assert_gt(fd, 0);
	snprintf(extra, sizeof(extra),
		 "forward-zone: \"look.zz. 127.0.0.1@%u\"\n"
		 /* an unsigned private zone under the root's anchor (test_fwdval.c) */
		 "negative-trust-anchor: look.zz.\n",
		 port);
	start_with(extra);
	const struct {
		const char *name;
		ldns_rr_type type;
	} qs[] = {{"look.zz.", LDNS_RR_TYPE_MX},
		  {"look.zz.", LDNS_RR_TYPE_TXT},
		  {"_sip._udp.look.zz.", LDNS_RR_TYPE_SRV},
		  {"www.look.zz.", LDNS_RR_TYPE_A},
		  {"nope.look.zz.", LDNS_RR_TYPE_A}};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		ldns_pkt *p = itest_ask_within(&V, qs[i].name, qs[i].type, 5000);
		cr_assert_not_null(p, "%s", qs[i].name);
		ldns_pkt_free(p);
	}
	usleep(300 * 1000); /* the cache writer commits in groups of a few ms */

	cr_assert_eq(ctl("lookup look.zz MX", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "look.zz. ") && strstr(out, " IN MX 10 mail.look.zz. ; rank="), "%s",
		  out);
	cr_assert(strstr(out, "(nonauth-answer, forwarder; ttl 300, stored "),
		  "where it came from: %s", out);
	cr_assert_null(strstr(out, " IN TXT "), "only the type asked: %s", out);

	cr_assert_eq(ctl("lookup LOOK.zz.", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, " IN TXT \"hello world\" \"two\" ;"), "%s", out);
	cr_assert(strstr(out, " IN MX 10 mail.look.zz. ;"), "%s", out);
	cr_assert_null(strstr(out, "www.look.zz."), "a child is another name: %s", out);

	cr_assert_eq(ctl("lookup nope.look.zz", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "NXDOMAIN soa=look.zz."), "negative entries too: %s", out);

	cr_assert_eq(ctl("dump", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "_sip._udp.look.zz. ") &&
		      strstr(out, " IN SRV 5 10 5060 sip.look.zz. ;"),
		  "%s", out);
	cr_assert(strstr(out, " IN A 192.0.2.80 ;"), "%s", out);
	/* no generic hex for known types ("\# 0" marks a negative entry, which has no rdata) */
	for (const char *h = strstr(out, "\\# "); h; h = strstr(h + 1, "\\# "))
		cr_assert_eq(strncmp(h, "\\# 0 ; N", 8), 0, "generic rdata in: %s", out);

	json_t *o = ctl_json("lookup www.look.zz A", 0);
	const char *text = json_string_value(json_object_get(o, "lookup"));
	cr_assert(text && strstr(text, " IN A 192.0.2.80 ;"), "%s", text ? text : "(null)");
	json_decref(o);

	/* usage errors are vigild's refusals: exit 1 with the reason */
	cr_assert_eq(ctl("lookup", out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "usage: lookup NAME [TYPE]"), "%s", out);
	cr_assert_eq(ctl("lookup www.look.zz NOSUCHTYPE", out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "unknown type 'NOSUCHTYPE'"), "%s", out);

	cr_assert_eq(ctl("flush-name www.look.zz", out, sizeof(out)), 0, "%s", out);
	usleep(300 * 1000);
	cr_assert_eq(ctl("lookup www.look.zz", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(strncmp(out, "ok not in the cache\n", 20), 0, "flushed: %s", out);

	kill(fd, SIGTERM);
	waitpid(fd, NULL, 0);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}
