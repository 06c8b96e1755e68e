/* Integration tests of vigild as a process: reload, stop, configuration errors, privileges,
 * the control socket and several workers. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "itest.h"

static struct itest_vigild V;

/* Every test ends with a clean stop: status 0 (under the sanitizers also: no leak, no error). */
static void stop_v(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit with status 0");
}

static void start(const char *extra)
{
	cr_assert_eq(itest_start(&V, extra), 0, "vigild did not start");
}

static void expect_alive(void)
{
	ldns_pkt *p = itest_ask(&V, "localhost.", LDNS_RR_TYPE_A);
	cr_assert_not_null(p, "vigild stopped answering");
	ldns_pkt_free(p);
}

static char *first_rdata(ldns_pkt *p)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	cr_assert_gt(ldns_rr_list_rr_count(an), 0, "empty answer");
	return ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(an, 0), 0));
}

static char ctl_path[64];

/* Runs vigilctl with `args` against ctl_path; returns its status, output in out. */
static int vigilctl(const char *args, char *out, size_t cap)
{
	return itest_vigilctl(ctl_path, args, out, cap);
}

static bool log_contains(const char *needle)
{
	FILE *f = fopen(V.log, "r");
	if (!f)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static char *ask_a(const char *name)
{
	ldns_pkt *p = itest_ask(&V, name, LDNS_RR_TYPE_A);
	if (!p)
		return NULL;
	char *s = ldns_pkt_ancount(p) ? first_rdata(p) : strdup("none");
	ldns_pkt_free(p);
	return s;
}

Test(daemon, sighup_reloads_good_config_and_keeps_old_on_bad, .fini = stop_v)
{
	start("local-data: \"a.lan. 300 A 10.1.1.1\"\n");
	char *s = ask_a("a.lan.");
	cr_assert_str_eq(s, "10.1.1.1");
	free(s);
	cr_assert_eq(itest_write_config(&V, "local-data: \"a.lan. 300 A 10.2.2.2\"\n"), 0);
	kill(V.pid, SIGHUP);
	uint64_t t0 = itest_now_ms();
	bool changed = false;
	while (!changed && itest_now_ms() - t0 < 3000) {
		s = ask_a("a.lan.");
		changed = s && strcmp(s, "10.2.2.2") == 0;
		free(s);
		usleep(20000);
	}
	cr_assert(changed, "reload did not apply");
	cr_assert_eq(itest_write_config(&V, "no-such-key: 1\n"), 0);
	kill(V.pid, SIGHUP);
	t0 = itest_now_ms();
	while (!log_contains("reload refused") && itest_now_ms() - t0 < 3000)
		usleep(20000);
	cr_assert(log_contains("reload refused"), "bad config not reported");
	cr_assert(log_contains("key 'no-such-key': unknown key"));
	s = ask_a("a.lan.");
	cr_assert_str_eq(s, "10.2.2.2", "old config kept");
	free(s);
	cr_assert_eq(itest_stop(&V), 0);
}

Test(daemon, sigterm_stops_cleanly_with_status_0, .fini = stop_v)
{
	start(NULL);
	expect_alive();
	cr_assert_eq(itest_stop(&V), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(daemon, check_mode_reports_config_errors_exactly)
{
	char dir[] = "/tmp/vigil-itest-t-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[256], args[512], out[2048], want[512];
	snprintf(path, sizeof(path), "%s/v.conf", dir);
	snprintf(args, sizeof(args), "-t -c %s", path);

	/* user "": a vigil user on the machine must not change what -t checks */
	write_file(path, "listen: 127.0.0.1@5353\nworkers: 2\nuser: \"\"\n");
	cr_assert_eq(itest_run_vigild(out, sizeof(out), args), 0, "%s", out);
	cr_assert(strstr(out, "OK"), "%s", out);

	write_file(path, "listen: 127.0.0.1@5353\nbogus: 1\n");
	cr_assert_eq(itest_run_vigild(out, sizeof(out), args), 1);
	snprintf(want, sizeof(want), "vigild: %s:2: key 'bogus': unknown key\n", path);
	cr_assert_str_eq(out, want);

	const char *bad[][2] = {
	    {"listen: 300.1.1.1\n", ":1: key 'listen': "},
	    {"allow: 10.0.0.0/33\n", ":1: key 'allow': "},
	    {"deny: nonsense\n", ":1: key 'deny': "},
	    {"listen: 127.0.0.1@5353\nlisten: 127.0.0.1@5353\n", ":2: key 'listen': "},
	    {"local-data: \"x.lan. 300 A not-an-address\"\n", ":1: key 'local-data': "},
	    {"control-group: no-such-group\n", ":1: key 'control-group': unknown group"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i][0]);
		cr_assert_eq(itest_run_vigild(out, sizeof(out), args), 1, "%s", bad[i][0]);
		snprintf(want, sizeof(want), "vigild: %s%s", path, bad[i][1]);
		cr_assert_eq(strncmp(out, want, strlen(want)), 0, "got '%s' want '%s'", out, want);
	}
	snprintf(args, sizeof(args), "-t -c %s/missing.conf", dir);
	cr_assert_eq(itest_run_vigild(out, sizeof(out), args), 1);
	cr_assert(strstr(out, "missing.conf"), "message names the file: %s", out);
	unlink(path);
	rmdir(dir);
}

Test(daemon, port_in_use_exits_1_naming_the_address)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	unsigned port = ntohs(sa.sin_port);
	char dir[] = "/tmp/vigil-itest-p-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[256], text[512], args[512], out[2048], want[128];
	snprintf(path, sizeof(path), "%s/v.conf", dir);
	snprintf(text, sizeof(text), "listen: 127.0.0.1@%u\nuser: \"\"\ncache-dir: %s/cache\n",
		 port, dir);
	write_file(path, text);
	snprintf(args, sizeof(args), "-f -c %s", path);
	cr_assert_eq(itest_run_vigild(out, sizeof(out), args), 1, "%s", out);
	snprintf(want, sizeof(want), "cannot listen on 127.0.0.1@%u", port);
	cr_assert(strstr(out, want), "got: %s", out);
	close(fd);
	unlink(path);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(daemon, control_socket_status_stats_reload_stop, .fini = stop_v)
{
	cr_assert_not_null(getenv("VIGILCTL"));
	char extra[512];
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-ctl-%d.sock", (int)getpid());
	snprintf(extra, sizeof(extra), "control-socket: %s\n", ctl_path);
	start(extra);
	char out[8192];
	cr_assert_eq(vigilctl("status", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "ok vigild") && strstr(out, "workers: 1"), "%s", out);
	expect_alive();
	cr_assert_eq(vigilctl("stats", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "\nlocal: "), "%s", out);
	cr_assert_null(strstr(out, "\nlocal: 0\n"), "local answers counted: %s", out);
	cr_assert_eq(vigilctl("reload", out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(vigilctl("no-such-command", out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "error: unknown command"), "%s", out);
	cr_assert_eq(itest_write_config(&V, "local-data: \"x.lan. 300 A bad\"\n"), 0);
	cr_assert_eq(vigilctl("reload", out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "error: ") && strstr(out, "key 'local-data'"), "%s", out);
	cr_assert_eq(vigilctl("stop", out, sizeof(out)), 0, "%s", out);
	uint64_t t0 = itest_now_ms();
	int st = 0;
	while (waitpid(V.pid, &st, WNOHANG) == 0 && itest_now_ms() - t0 < 5000)
		usleep(10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "stop by vigilctl: exit 0");
	V.pid = 0;
	cr_assert_neq(access(ctl_path, F_OK), 0, "socket file removed at stop");
}

Test(daemon, reload_adds_and_removes_listeners, .fini = stop_v)
{
	start(NULL);
	/* a second port, free now (UDP and TCP) */
	uint16_t p2 = 0;
	for (uint16_t cand = (uint16_t)(V.port + 1); !p2 && cand < V.port + 50; cand++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cand)};
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			p2 = cand;
		close(u);
		close(t);
	}
	cr_assert_neq(p2, 0);
	char extra[128];
	snprintf(extra, sizeof(extra), "listen: 127.0.0.1@%u\n", p2);
	cr_assert_eq(itest_write_config(&V, extra), 0);
	kill(V.pid, SIGHUP);
	uint8_t q[512], r[4096];
	size_t ql = itest_query("localhost.", LDNS_RR_TYPE_A, 31, 0, false, q, sizeof(q));
	uint64_t t0 = itest_now_ms();
	int n = 0;
	while (n <= 0 && itest_now_ms() - t0 < 3000)
		n = itest_udp("127.0.0.1", p2, NULL, q, ql, r, sizeof(r), 100);
	cr_assert_gt(n, 0, "the new listener does not answer");
	expect_alive(); /* the old one still does */
	cr_assert_eq(itest_write_config(&V, NULL), 0);
	kill(V.pid, SIGHUP);
	t0 = itest_now_ms();
	while (n > 0 && itest_now_ms() - t0 < 3000) {
		n = itest_udp("127.0.0.1", p2, NULL, q, ql, r, sizeof(r), 100);
		usleep(20000);
	}
	cr_assert_eq(n, 0, "the removed listener still answers");
	expect_alive();
}

Test(daemon, drops_privileges_to_user_after_binding, .fini = stop_v)
{
	if (getuid() != 0)
		cr_skip_test("needs root to switch users");
	char cache[64];
	snprintf(cache, sizeof(cache), "/tmp/vigil-itest-nobody-%d", (int)getpid());
	cr_assert_eq(mkdir(cache, 0700), 0);
	cr_assert_eq(chown(cache, 65534, 65534), 0);
	char extra[256];
	/* the later cache-dir line wins over the generated one */
	snprintf(extra, sizeof(extra), "user: nobody\ncache-dir: %s\n", cache);
	start(extra);
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)V.pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	bool found = false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4))
			found = strstr(line, "65534") != NULL && !strstr(line, "\t0\t");
	fclose(f);
	cr_assert(found, "vigild still runs as root");
	expect_alive();
	cr_assert_eq(itest_stop(&V), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cache);
	cr_assert_eq(system(cmd), 0);
}

Test(daemon, cache_open_error_exits_1_with_a_message)
{
	char dir[] = "/tmp/vigil-itest-c-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[256], text[512], args[512], out[4096], notdir[300];
	snprintf(notdir, sizeof(notdir), "%s/file", dir);
	write_file(notdir, "not a directory\n");
	snprintf(path, sizeof(path), "%s/v.conf", dir);
	snprintf(text, sizeof(text), "listen: 127.0.0.1@%d\nuser: \"\"\ncache-dir: %s\n",
		 12000 + (int)(getpid() % 20000), notdir);
	write_file(path, text);
	snprintf(args, sizeof(args), "-f -c %s", path);
	cr_assert_eq(itest_run_vigild(out, sizeof(out), args), 1, "%s", out);
	cr_assert(strstr(out, "cache") && strstr(out, notdir), "message names the cache: %s", out);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(daemon, several_workers_answer_and_all_take_a_reload, .fini = stop_v)
{
	start("workers: 3\nlocal-data: \"w.lan. 300 A 10.3.3.3\"\n");
	/* each query from a fresh socket (new source port): SO_REUSEPORT spreads them */
	for (int i = 0; i < 40; i++) {
		char *s = ask_a("w.lan.");
		cr_assert_not_null(s, "query %d unanswered", i);
		cr_assert_str_eq(s, "10.3.3.3");
		free(s);
	}
	cr_assert_eq(itest_write_config(&V, "workers: 3\nlocal-data: \"w.lan. 300 A 10.4.4.4\"\n"),
		     0);
	kill(V.pid, SIGHUP);
	usleep(300000);
	int fresh = 0;
	uint64_t t0 = itest_now_ms();
	while (fresh < 40 && itest_now_ms() - t0 < 5000) {
		char *s = ask_a("w.lan.");
		cr_assert_not_null(s);
		fresh = strcmp(s, "10.4.4.4") == 0 ? fresh + 1 : 0; /* 40 in a row: every worker */
		free(s);
	}
	cr_assert_eq(fresh, 40, "some worker kept the old local data");
}

static int count_fds(pid_t pid)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)pid);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	int n = -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

/* Reloads that add and remove a listener, with TCP clients connected across them, leave no file
 * descriptor behind, and every reload keeps answering. */
Test(daemon, repeated_reloads_with_tcp_clients_leak_no_descriptors, .fini = stop_v)
{
	start(NULL);
	uint16_t p2 = 0;
	for (uint16_t cand = (uint16_t)(V.port + 1); !p2 && cand < V.port + 50; cand++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cand)};
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			p2 = cand;
		close(u);
		close(t);
	}
	cr_assert_neq(p2, 0);
	expect_alive();
	int before = count_fds(V.pid);
	cr_assert_gt(before, 0);
	char extra[128];
	snprintf(extra, sizeof(extra), "listen: 127.0.0.1@%u\n", p2);
	for (int round = 0; round < 6; round++) {
		int fd = itest_tcp_connect("127.0.0.1", V.port);
		cr_assert_geq(fd, 0);
		cr_assert_eq(itest_write_config(&V, round % 2 ? NULL : extra), 0);
		kill(V.pid, SIGHUP);
		usleep(100000);
		uint8_t q[512], r[4096];
		size_t ql = itest_query("localhost.", LDNS_RR_TYPE_A, (uint16_t)round, 0, false,
					q + 2, 510);
		q[0] = (uint8_t)(ql >> 8);
		q[1] = (uint8_t)ql;
		cr_assert_eq(itest_write_all(fd, q, ql + 2), 0);
		cr_assert_gt(itest_tcp_read(fd, r, sizeof(r), 3000), 0, "TCP client across reload");
		close(fd);
		expect_alive();
	}
	/* back to the start-up listen set: the same descriptors as before the reloads */
	uint64_t t0 = itest_now_ms();
	int after = count_fds(V.pid);
	while (after != before && itest_now_ms() - t0 < 2000) {
		usleep(50000);
		after = count_fds(V.pid);
	}
	cr_assert_eq(after, before, "descriptors before %d, after 6 reloads %d", before, after);
}

/* contrib/bench runs vigild under valgrind. The cache's start-up check runs in a forked child,
 * which valgrind follows: with --leak-check=full --error-exitcode memcheck reported the heap the
 * child inherited and exited with the error code, which the cache took for a damaged file, so
 * vigild refused to start on an existing cache. (Skipped in the sanitizer build, which valgrind
 * cannot run, and where valgrind is missing.) */
Test(daemon, starts_under_valgrind_on_an_existing_cache, .fini = stop_v)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("sanitizer build: valgrind cannot run it");
#else
	if (system("command -v valgrind >/dev/null 2>&1") != 0)
		cr_skip_test("valgrind is not installed");
	char cdir[] = "/tmp/vigil-vgcache-XXXXXX";
	cr_assert_not_null(mkdtemp(cdir));
	char extra[128], wrapper[96], cmd[600];
	snprintf(extra, sizeof(extra), "cache-dir: %s\n", cdir);
	start(extra); /* creates the cache file */
	cr_assert_eq(itest_stop(&V), 0);
	snprintf(wrapper, sizeof(wrapper), "%s/vigild-under-valgrind", cdir);
	FILE *f = fopen(wrapper, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\nexec valgrind -q --leak-check=full --error-exitcode=9 '%s' \"$@\"\n",
		getenv("VIGILD"));
	fclose(f);
	chmod(wrapper, 0755);
	char *real = strdup(getenv("VIGILD"));
	setenv("VIGILD", wrapper, 1);
	V.wait_ms = 60000; /* valgrind starts slowly on a loaded machine (3-7 s seen) */
	int rc = itest_start(&V, extra);
	setenv("VIGILD", real, 1);
	free(real);
	cr_assert_eq(rc, 0, "vigild did not start under valgrind on an existing cache");
	cr_assert_not(log_contains("damaged"), "the check called a healthy cache damaged");
	expect_alive();
	cr_assert_eq(itest_stop(&V), 0, "vigild under valgrind did not exit 0");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cdir);
	cr_assert_eq(system(cmd), 0);
#endif
}

/* Runs `vigilctl -s ctl_path cmd` in a child that first becomes uid/gid with only the given
 * supplementary groups. Returns its exit status (-1 when killed), output in out. */
static int vigilctl_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n, const char *cmd,
		       char *out, size_t cap)
{
	char *argv[] = {getenv("VIGILCTL"), "-s", ctl_path, (char *)cmd, NULL};
	return itest_run_as(uid, gid, groups, n, argv, out, cap);
}

#define NOBODY 65534
#define DAEMON_GID 1 /* group 'daemon' on Debian: the control-group of these tests */

Test(daemon, control_socket_admits_root_and_control_group_and_refuses_others, .fini = stop_v)
{
	if (getuid() != 0)
		cr_skip_test("needs root to switch users");
	struct group *gr = getgrgid(DAEMON_GID);
	if (!gr || strcmp(gr->gr_name, "daemon"))
		cr_skip_test("no group 'daemon' with gid 1");
	char extra[256], out[4096];
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-ctl-g-%d.sock", (int)getpid());
	snprintf(extra, sizeof(extra), "control-socket: %s\ncontrol-group: daemon\n", ctl_path);
	start(extra);
	struct stat st;
	cr_assert_eq(lstat(ctl_path, &st), 0);
	cr_assert_eq(st.st_gid, DAEMON_GID, "members of control-group cannot open the socket");
	cr_assert_eq(st.st_mode & 0777, 0660);
	cr_assert_eq(vigilctl_as(0, 0, NULL, 0, "status", out, sizeof(out)), 0, "root: %s", out);
	cr_assert(strstr(out, "ok vigild"), "%s", out);
	const gid_t member[] = {DAEMON_GID};
	cr_assert_eq(vigilctl_as(NOBODY, NOBODY, member, 1, "status", out, sizeof(out)), 0,
		     "member of control-group: %s", out);
	cr_assert(strstr(out, "ok vigild"), "%s", out);
	int rc = vigilctl_as(NOBODY, NOBODY, NULL, 0, "flush", out, sizeof(out));
	cr_assert_neq(rc, 0, "nobody flushed the cache: %s", out);
	cr_assert(strstr(out, "permission denied") && strstr(out, "control-group"),
		  "no clear refusal: %s", out);
	expect_alive();
}

Test(daemon, control_socket_checks_the_peer_not_only_the_file_mode, .fini = stop_v)
{
	if (getuid() != 0)
		cr_skip_test("needs root to switch users");
	char cache[64], extra[256], out[4096];
	snprintf(cache, sizeof(cache), "/tmp/vigil-itest-ctl-%d", (int)getpid());
	cr_assert_eq(mkdir(cache, 0700), 0);
	cr_assert_eq(chown(cache, NOBODY, NOBODY), 0);
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-ctl-u-%d.sock", (int)getpid());
	snprintf(extra, sizeof(extra), "user: nobody\ncache-dir: %s\ncontrol-socket: %s\n", cache,
		 ctl_path);
	start(extra);
	struct stat st;
	cr_assert_eq(lstat(ctl_path, &st), 0);
	cr_assert(st.st_uid == NOBODY && st.st_gid == NOBODY, "socket not given to vigild's user");
	/* vigild's own user, and root */
	cr_assert_eq(vigilctl_as(NOBODY, NOBODY, NULL, 0, "status", out, sizeof(out)), 0, "%s",
		     out);
	cr_assert_eq(vigilctl_as(0, 0, NULL, 0, "status", out, sizeof(out)), 0, "%s", out);
	/* uid 1 in the socket file's group gets through the file mode; the peer check refuses */
	const gid_t nogroup[] = {NOBODY};
	int rc = vigilctl_as(1, NOBODY, nogroup, 1, "stop", out, sizeof(out));
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "error: permission denied: uid 1 "), "no clear refusal: %s", out);
	expect_alive();
	cr_assert(log_contains("refused 'stop' from uid 1"), "refusal not logged");
	cr_assert_eq(itest_stop(&V), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cache);
	cr_assert_eq(system(cmd), 0);
}

Test(daemon, control_socket_never_follows_a_symlink_at_its_path)
{
	if (getuid() != 0)
		cr_skip_test("needs root to switch users");
	char dir[] = "/tmp/vigil-itest-l-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char conf[256], target[256], sock[256], text[768], args[512], out[4096];
	snprintf(conf, sizeof(conf), "%s/v.conf", dir);
	snprintf(target, sizeof(target), "%s/precious", dir);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	write_file(target, "root's\n");
	cr_assert_eq(chmod(target, 0600), 0);
	cr_assert_eq(symlink(target, sock), 0);
	/* user: nobody, so vigild would hand the socket file to nobody */
	snprintf(text, sizeof(text), "listen: 127.0.0.1@%d\nuser: nobody\ncontrol-socket: %s\n",
		 12000 + (int)(getpid() % 20000), sock);
	write_file(conf, text);
	snprintf(args, sizeof(args), "-f -c %s", conf);
	cr_assert_eq(itest_run_vigild(out, sizeof(out), args), 1, "%s", out);
	cr_assert(strstr(out, "exists and is not a socket"), "%s", out);
	struct stat st;
	cr_assert_eq(stat(target, &st), 0);
	cr_assert(st.st_uid == 0 && st.st_gid == 0 && (st.st_mode & 0777) == 0600,
		  "the link's target changed hands: uid %u gid %u mode %o", (unsigned)st.st_uid,
		  (unsigned)st.st_gid, (unsigned)(st.st_mode & 0777));
	cr_assert_eq(lstat(sock, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the link was removed or replaced");
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
