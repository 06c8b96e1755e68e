/* Integration tests of vigild as a system service: sd_notify states, the reload the unit runs
 * (vigilctl -c), the port-in-use message, and what `vigild -t` checks about the user. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "itest.h"

static struct itest_vigild v;

static void stop_v(void)
{
	itest_stop(&v);
	unsetenv("NOTIFY_SOCKET");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* Reads notification datagrams until one contains `want`; returns it in buf (or asserts). */
static void expect_notify(int fd, const char *want, char *buf, size_t cap)
{
	uint64_t deadline = itest_now_ms() + 5000;
	while (itest_now_ms() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) != 1)
			continue;
		ssize_t n = recv(fd, buf, cap - 1, 0);
		cr_assert_gt(n, 0);
		buf[n] = 0;
		if (strstr(buf, want))
			return;
	}
	cr_assert_fail("no '%s' notification within 5 s", want);
}

static int bind_notify(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

Test(service, notifies_ready_reloading_and_stopping, .fini = stop_v)
{
	char dir[] = "/tmp/vigil-itest-n-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[300], buf[512];
	snprintf(path, sizeof(path), "%s/notify", dir);
	int fd = bind_notify(path);
	setenv("NOTIFY_SOCKET", path, 1);
	cr_assert_eq(itest_start(&v, NULL), 0);
	expect_notify(fd, "READY=1", buf, sizeof(buf));
	cr_assert(strstr(buf, "MAINPID="), "%s", buf);

	kill(v.pid, SIGHUP);
	expect_notify(fd, "RELOADING=1", buf, sizeof(buf));
	unsigned long long usec = 0;
	const char *m = strstr(buf, "MONOTONIC_USEC=");
	cr_assert(m && sscanf(m, "MONOTONIC_USEC=%llu", &usec) == 1 && usec > 0, "%s", buf);
	expect_notify(fd, "READY=1", buf, sizeof(buf));

	cr_assert_eq(itest_stop(&v), 0);
	expect_notify(fd, "STOPPING=1", buf, sizeof(buf));
	close(fd);
	unlink(path);
	rmdir(dir);
}

Test(service, notifies_an_abstract_socket)
{
	char name[64];
	snprintf(name, sizeof(name), "@vigil-itest-notify-%d", (int)getpid());
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	cr_assert_eq(itest_start(&v, NULL), 0);
	char buf[512];
	expect_notify(fd, "READY=1", buf, sizeof(buf));
	stop_v();
	close(fd);
}

/* What the unit's ExecReload runs: a configuration vigild refuses fails the command. */
Test(service, unit_reload_fails_when_vigild_refuses_the_file, .fini = stop_v)
{
	char ctl[300], extra[400], out[2048], cmd[1200];
	snprintf(ctl, sizeof(ctl), "/tmp/vigil-itest-ctl-%d.sock", (int)getpid());
	snprintf(extra, sizeof(extra), "control-socket: %s\n", ctl);
	cr_assert_eq(itest_start(&v, extra), 0);
	snprintf(cmd, sizeof(cmd), "timeout 5 '%s' -c %s reload 2>&1", getenv("VIGILCTL"), v.conf);
	FILE *p = popen(cmd, "r");
	out[fread(out, 1, sizeof(out) - 1, p)] = 0;
	cr_assert_eq(WEXITSTATUS(pclose(p)), 0, "%s", out);

	/* valid syntax, but the new address is taken: vigild refuses and keeps running */
	uint16_t port;
	int hold = itest_hold_udp("127.0.0.1", 0, &port);
	cr_assert_geq(hold, 0);
	snprintf(extra, sizeof(extra), "control-socket: %s\nlisten: 127.0.0.1@%u\n", ctl, port);
	cr_assert_eq(itest_write_config(&v, extra), 0);
	p = popen(cmd, "r");
	out[fread(out, 1, sizeof(out) - 1, p)] = 0;
	cr_assert_eq(WEXITSTATUS(pclose(p)), 1, "%s", out);
	cr_assert(strstr(out, "error") && strstr(out, "cannot listen"), "%s", out);
	close(hold);
	cr_assert_not_null(itest_ask(&v, "localhost.", LDNS_RR_TYPE_A), "still serving");
}

static void port_taken_message(const char *bind_to, const char *listen, const char *want)
{
	/* port 53 needs a private network namespace (meson test runs there) and root */
	int fd = itest_hold_udp(bind_to, 53, NULL);
	if (fd < 0)
		cr_skip_test("cannot bind %s@53 (not root, or port 53 busy here)", bind_to);
	char dir[] = "/tmp/vigil-itest-p-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[300], text[512], args[400], out[4096];
	snprintf(path, sizeof(path), "%s/v.conf", dir);
	snprintf(text, sizeof(text), "listen: %s\nuser: \"\"\ncache-dir: %s/cache\n", listen, dir);
	write_file(path, text);
	snprintf(args, sizeof(args), "-f -c %s", path);
	cr_assert_eq(itest_run_vigild(out, sizeof(out), args), 1, "%s", out);
	char addr[128];
	snprintf(addr, sizeof(addr), "cannot listen on %s", listen);
	cr_assert(strstr(out, addr), "names the address: %s", out);
	cr_assert(strstr(out, want), "says what holds it: %s", out);
	cr_assert(strstr(out, "ss -lunp"), "says how to find it: %s", out);
	close(fd);
	unlink(path);
	rmdir(dir);
}

Test(service, port_53_taken_names_the_usual_holders_and_the_fix)
{
	port_taken_message("127.0.0.1", "127.0.0.1@53", "dnsmasq");
}

Test(service, wildcard_port_53_taken_points_at_systemd_resolved)
{
	port_taken_message("127.0.0.53", "0.0.0.0@53", "DNSStubListener=no");
}

/* -t on a file; returns the exit status, output in out. */
static int check(const char *dir, const char *text, char *out, size_t cap)
{
	char path[300], args[400];
	snprintf(path, sizeof(path), "%s/v.conf", dir);
	write_file(path, text);
	snprintf(args, sizeof(args), "-t -c %s", path);
	return itest_run_vigild(out, cap, args);
}

Test(service, check_mode_rejects_a_missing_user)
{
	char dir[] = "/tmp/vigil-itest-u-XXXXXX", text[400], out[2048];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(text, sizeof(text), "user: vigil-no-such-user\ncache-dir: %s\n", dir);
	cr_assert_eq(check(dir, text, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "user 'vigil-no-such-user' does not exist"), "%s", out);
	snprintf(text, sizeof(text), "user: \"\"\ncache-dir: %s/new\n", dir);
	cr_assert_eq(check(dir, text, out, sizeof(out)), 0, "a cache-dir vigild can create: %s",
		     out);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* A directory only root may write, checked for "nobody" (present on Debian). */
Test(service, check_mode_rejects_directories_the_user_cannot_write)
{
	struct passwd *pw = getpwnam("nobody");
	if (!pw || getuid() == pw->pw_uid)
		cr_skip_test("needs a user 'nobody' other than us");
	char dir[] = "/tmp/vigil-itest-d-XXXXXX", text[1000], out[2048];
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/cache", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);

	/* existing cache-dir, not writable by the user */
	snprintf(text, sizeof(text), "user: nobody\ncache-dir: %s\n", sub);
	cr_assert_eq(check(dir, text, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "cache-dir") && strstr(out, sub) && strstr(out, "'nobody'") &&
		      strstr(out, "chown"),
		  "%s", out);
	/* missing cache-dir in a directory the user cannot write */
	snprintf(text, sizeof(text), "user: nobody\ncache-dir: %s/new\n", dir);
	cr_assert_eq(check(dir, text, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "to create the cache directory"), "%s", out);
	/* control socket in a directory the user cannot write (it removes the socket at stop) */
	chmod(sub, 0777);
	snprintf(text, sizeof(text), "user: nobody\ncache-dir: %s\ncontrol-socket: %s/ctl.sock\n",
		 sub, dir);
	cr_assert_eq(check(dir, text, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "control-socket") && strstr(out, "RuntimeDirectory"), "%s", out);
	/* control socket directory missing */
	snprintf(text, sizeof(text),
		 "user: nobody\ncache-dir: %s\ncontrol-socket: %s/missing/ctl.sock\n", sub, dir);
	cr_assert_eq(check(dir, text, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "missing") && strstr(out, "No such file"), "%s", out);
	/* both usable */
	snprintf(text, sizeof(text), "user: nobody\ncache-dir: %s\ncontrol-socket: %s/ctl.sock\n",
		 sub, sub);
	cr_assert_eq(check(dir, text, out, sizeof(out)), 0, "%s", out);
	/* LMDB files left by a run as root */
	char file[400];
	snprintf(file, sizeof(file), "%s/data.mdb", sub);
	write_file(file, "");
	chmod(file, 0600);
	if (getuid() == 0) {
		cr_assert_eq(check(dir, text, out, sizeof(out)), 1, "%s", out);
		cr_assert(strstr(out, "data.mdb"), "%s", out);
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
