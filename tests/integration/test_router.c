/* Integration tests of vigild on a home router: LAN PTR lookups forwarded to the DHCP server past
 * the built-in RFC 6303 zones (faultd plays the DHCP server's DNS on loopback), listen addresses
 * that are not up yet (IP_FREEBIND, in a network namespace of the test's own), and replies from
 * the address the client asked when listening on a wildcard (IP_PKTINFO / IPV6_PKTINFO). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "itest.h"
#include "lab.h"

static struct itest_vigild V;
static pid_t faultd_pid;
static char zone_dir[64];

static void teardown(void)
{
	if (V.pid)
		cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	if (faultd_pid > 0) {
		kill(faultd_pid, SIGTERM);
		waitpid(faultd_pid, NULL, 0);
		faultd_pid = 0;
	}
	if (zone_dir[0]) {
		char cmd[96];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", zone_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", zone_dir);
		zone_dir[0] = 0;
	}
}

TestSuite(router, .fini = teardown, .timeout = 60);

static uint16_t free_port(void)
{
	uint16_t port = itest_free_port();
	cr_assert_neq(port, 0, "no free port");
	return port;
}

static bool has_ptr(const ldns_pkt *p, const char *target)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_PTR)
			continue;
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		bool same = s && strcasecmp(s, target) == 0;
		free(s);
		if (same)
			return true;
	}
	return false;
}

static const char *authority_owner(const ldns_pkt *p, char *buf, size_t cap)
{
	buf[0] = 0;
	ldns_rr_list *ns = ldns_pkt_authority(p);
	if (ldns_rr_list_rr_count(ns) == 0)
		return buf;
	char *s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ns, 0)));
	snprintf(buf, cap, "%s", s ? s : "");
	free(s);
	return buf;
}

Test(router, lan_ptr_lookups_go_to_the_forward_zone_past_the_builtin_zone)
{
	uint16_t port = free_port();
	faultd_pid = itest_start_faultd("168.192.in-addr.arpa.",
					"$ORIGIN 168.192.in-addr.arpa.\n"
					"@ 300 IN SOA dhcp.lan. admin.lan. 1 3600 600 86400 60\n"
					"@ 300 IN NS dhcp.lan.\n"
					"23.1 300 IN PTR laptop.lan.\n"
					"42.1 300 IN PTR phone.lan.\n",
					port, zone_dir, sizeof(zone_dir));
	cr_assert_gt(faultd_pid, 0, "faultd (the DHCP server's DNS) did not start");
	char extra[512];
	snprintf(extra, sizeof(extra),
		 "forward-zone: \"168.192.in-addr.arpa. 127.0.0.1@%u\"\n"
		 "negative-trust-anchor: 168.192.in-addr.arpa.\n"
		 "local-data: \"router.lan. 300 A 192.168.1.1\"\n",
		 port);
	cr_assert_eq(itest_start(&V, extra), 0);

	ldns_pkt *p = itest_ask_within(&V, "23.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 5000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect(has_ptr(p, "laptop.lan."), "the DHCP server's PTR, not the built-in NXDOMAIN");
	ldns_pkt_free(p);
	p = itest_ask_within(&V, "42.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 5000);
	cr_assert_not_null(p);
	cr_expect(has_ptr(p, "phone.lan."));
	ldns_pkt_free(p);

	/* A name the DHCP server does not know: its NXDOMAIN and its SOA, not the made-up one. */
	char owner[256];
	p = itest_ask_within(&V, "99.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 5000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_expect_str_eq(authority_owner(p, owner, sizeof(owner)), "168.192.in-addr.arpa.");
	cr_expect(!ldns_pkt_aa(p), "forwarded, not answered by vigild's own zone");
	ldns_pkt_free(p);

	/* local-data still answers its own names inside the forwarded zone. */
	p = itest_ask_within(&V, "1.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 5000);
	cr_assert_not_null(p);
	cr_expect(has_ptr(p, "router.lan."));
	cr_expect(ldns_pkt_aa(p), "answered locally");
	ldns_pkt_free(p);

	/* The other private reverse zones stay local: NXDOMAIN with their own SOA. */
	p = itest_ask_within(&V, "4.3.2.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, 5000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_expect(ldns_pkt_aa(p));
	cr_expect_str_eq(authority_owner(p, owner, sizeof(owner)), "10.in-addr.arpa.");
	ldns_pkt_free(p);
}

Test(router, builtin_private_reverse_zone_answers_without_a_forward_zone)
{
	cr_assert_eq(itest_start(&V, NULL), 0);
	char owner[256];
	ldns_pkt *p = itest_ask_within(&V, "23.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 5000);
	cr_assert_not_null(p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN, "RFC 6303: never sent upstream");
	cr_expect(ldns_pkt_aa(p));
	cr_expect_str_eq(authority_owner(p, owner, sizeof(owner)), "168.192.in-addr.arpa.");
	ldns_pkt_free(p);
}

/* Moves this test process (and the vigild it starts) into a network namespace of its own, or
 * skips the test saying why. */
static void own_netns_or_skip(void)
{
	int rc = vg_lab_isolate();
	if (rc < 0)
		cr_skip_test(
		    "cannot make a network namespace (unshare(CLONE_NEWNET): %s): needs root "
		    "or CAP_SYS_ADMIN",
		    strerror(-rc));
}

/* Asks localhost. A at addr@port from loopback (the default ACL allows only loopback). */
static bool answers_at(const char *addr, const char *src, uint16_t port)
{
	uint8_t q[512], r[4096];
	size_t ql = itest_query("localhost.", LDNS_RR_TYPE_A, 99, 1232, false, q, sizeof(q));
	int n = itest_udp(addr, port, src, q, ql, r, sizeof(r), 1000);
	if (n <= 0)
		return false;
	ldns_pkt *p = itest_parse(r, (size_t)n);
	bool ok = p && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(p) == 1;
	ldns_pkt_free(p);
	return ok;
}

static bool file_has(const char *path, const char *needle)
{
	char cmd[512], out[64];
	snprintf(cmd, sizeof(cmd), "grep -c -F '%s' '%s'", needle, path);
	return itest_run(cmd, out, sizeof(out)) == 0;
}

Test(router, listens_on_an_address_that_is_not_up_yet)
{
	own_netns_or_skip();
	bool v6 = itest_have_ipv6();
	uint16_t port = free_port();
	char extra[256];
	snprintf(extra, sizeof(extra), "listen: 10.99.99.1@%u\n%s", port,
		 v6 ? "listen: 2001:db8::1@" : "");
	if (v6)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%u\n", port);
	cr_assert_eq(itest_start(&V, extra), 0, "vigild must start although 10.99.99.1 is not up");
	cr_expect(file_has(V.log, "10.99.99.1"), "the log says the address is not up yet");
	cr_expect(file_has(V.log, "IP_FREEBIND"));

	char out[512];
	cr_assert_eq(itest_run("ip addr add 10.99.99.1/32 dev lo 2>&1", out, sizeof(out)), 0, "%s",
		     out);
	cr_expect(answers_at("10.99.99.1", "127.0.0.1", port), "answers once the address is up");
	if (v6) {
		cr_assert_eq(
		    itest_run("ip addr add 2001:db8::1/128 dev lo nodad 2>&1", out, sizeof(out)), 0,
		    "%s", out);
		cr_expect(answers_at("2001:db8::1", "::1", port),
			  "answers on IPv6 once the address is up");
	}
}

/* Sends a query to dst@port from `src` and returns the address the reply came from ("" when
 * none came). */
static void reply_source(int family, const char *src, const char *dst, uint16_t port, char *from,
			 size_t cap)
{
	from[0] = 0;
	int fd = socket(family, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_storage s = {0}, d = {0}, r;
	socklen_t sl, dl, rl = sizeof(r);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&s, *b = (struct sockaddr_in *)&d;
		a->sin_family = b->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, src, &a->sin_addr), 1);
		cr_assert_eq(inet_pton(AF_INET, dst, &b->sin_addr), 1);
		b->sin_port = htons(port);
		sl = dl = sizeof(struct sockaddr_in);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s, *b = (struct sockaddr_in6 *)&d;
		a->sin6_family = b->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, src, &a->sin6_addr), 1);
		cr_assert_eq(inet_pton(AF_INET6, dst, &b->sin6_addr), 1);
		b->sin6_port = htons(port);
		sl = dl = sizeof(struct sockaddr_in6);
	}
	cr_assert_eq(bind(fd, (struct sockaddr *)&s, sl), 0, "bind %s: %s", src, strerror(errno));
	uint8_t q[512], buf[4096];
	size_t ql = itest_query("localhost.", LDNS_RR_TYPE_A, 0x4242, 1232, false, q, sizeof(q));
	cr_assert_eq(sendto(fd, q, ql, 0, (struct sockaddr *)&d, dl), (ssize_t)ql);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, 3000) == 1 &&
	    recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&r, &rl) > 12) {
		const void *ap = family == AF_INET
				     ? (const void *)&((struct sockaddr_in *)&r)->sin_addr
				     : (const void *)&((struct sockaddr_in6 *)&r)->sin6_addr;
		inet_ntop(family, ap, from, (socklen_t)cap);
	}
	close(fd);
}

Test(router, replies_from_the_address_asked_when_listening_on_a_wildcard)
{
	bool own = vg_lab_isolate() == 0; /* a namespace of our own lets us add 2001:db8::7 */
	bool v6 = itest_have_ipv6();
	uint16_t port = free_port();
	char extra[128], from[INET6_ADDRSTRLEN];
	snprintf(extra, sizeof(extra), "listen: 0.0.0.0@%u\n%s", port, v6 ? "listen: ::@" : "");
	if (v6)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%u\n", port);
	cr_assert_eq(itest_start(&V, extra), 0);
	/* Without IP_PKTINFO the kernel would pick 127.0.0.1 (the route's source) for both. */
	reply_source(AF_INET, "127.0.0.1", "127.0.0.7", port, from, sizeof(from));
	cr_expect_str_eq(from, "127.0.0.7");
	reply_source(AF_INET, "127.0.0.1", "127.0.0.9", port, from, sizeof(from));
	cr_expect_str_eq(from, "127.0.0.9");
	reply_source(AF_INET, "127.0.0.9", "127.0.0.1", port, from, sizeof(from));
	cr_expect_str_eq(from, "127.0.0.1");
	if (!v6)
		return;
	reply_source(AF_INET6, "::1", "::1", port, from, sizeof(from));
	cr_expect_str_eq(from, "::1");
	if (own) {
		char out[512];
		cr_assert_eq(
		    itest_run("ip addr add 2001:db8::7/128 dev lo nodad 2>&1", out, sizeof(out)), 0,
		    "%s", out);
		reply_source(AF_INET6, "::1", "2001:db8::7", port, from, sizeof(from));
		cr_expect_str_eq(from, "2001:db8::7");
	}
}

/* `vigild -t` accepts every configuration the project ships, with the machine-specific lines
 * (user, cache-dir, control-socket) pointed at a scratch directory: those depend on the host,
 * the rest of each file does not. */
Test(router, every_shipped_config_passes_the_check)
{
	const char *files[] = {"contrib/vigil.conf", "contrib/desktop.conf", "contrib/router.conf"};
	char dir[] = "/tmp/vg-shipped-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char src[512], dst[300], cmd[2048], out[4096];
		snprintf(src, sizeof(src), "%s/%s", VG_SOURCE_ROOT, files[i]);
		snprintf(dst, sizeof(dst), "%s/%zu.conf", dir, i);
		snprintf(
		    cmd, sizeof(cmd),
		    "sed -e 's|^user:.*|user: \"\"|' -e 's|^cache-dir:.*|cache-dir: %s/cache%zu|' "
		    "-e 's|^control-socket: /.*|control-socket: %s/ctl%zu|' '%s' > '%s' && "
		    "grep -c . '%s'",
		    dir, i, dir, i, src, dst, dst);
		cr_assert_eq(itest_run(cmd, out, sizeof(out)), 0, "cannot copy %s", src);
		snprintf(cmd, sizeof(cmd), "-t -c %s", dst);
		cr_expect_eq(itest_run_vigild(out, sizeof(out), cmd), 0, "%s: %s", files[i], out);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* The router example's local data and forward zones together: the router's own PTR is local,
 * the rest of the LAN's reverse zone is forwarded (the DHCP server's DNS on 127.0.0.1@5353 in the
 * file is replaced by faultd's port). */
Test(router, router_conf_forwards_lan_ptrs_and_keeps_its_own)
{
	uint16_t port = free_port();
	faultd_pid = itest_start_faultd("168.192.in-addr.arpa.",
					"$ORIGIN 168.192.in-addr.arpa.\n"
					"@ 300 IN SOA dhcp.lan. admin.lan. 1 3600 600 86400 60\n"
					"@ 300 IN NS dhcp.lan.\n"
					"23.1 300 IN PTR laptop.lan.\n",
					port, zone_dir, sizeof(zone_dir));
	cr_assert_gt(faultd_pid, 0);
	char cmd[1024], extra[8192];
	/* the file's local-data, forward-zone and negative-trust-anchor lines; listen, user,
	 * cache are the test's own */
	snprintf(cmd, sizeof(cmd),
		 "grep -E '^(local-data|forward-zone|negative-trust-anchor):' "
		 "'%s/contrib/router.conf' | "
		 "sed 's|127.0.0.1@5353|127.0.0.1@%u|'",
		 VG_SOURCE_ROOT, port);
	cr_assert_eq(itest_run(cmd, extra, sizeof(extra)), 0);
	cr_assert(strstr(extra, "168.192.in-addr.arpa."), "router.conf forwards the reverse zone");
	cr_assert_eq(itest_start(&V, extra), 0);
	ldns_pkt *p = itest_ask_within(&V, "23.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 5000);
	cr_assert_not_null(p);
	cr_expect(has_ptr(p, "laptop.lan."));
	ldns_pkt_free(p);
	p = itest_ask_within(&V, "1.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 5000);
	cr_assert_not_null(p);
	cr_expect(has_ptr(p, "router.lan."), "the router's own PTR, from its local-data");
	ldns_pkt_free(p);
}

/* The "plain /etc/resolv.conf" recipe (docs/recipes.md), end to end: in a network and mount
 * namespace of the test's own, /etc/resolv.conf says `nameserver 127.0.0.1`, vigild listens on
 * 127.0.0.1 port 53, and glibc's getent finds the router's name and its PTR through it. */
Test(router, glibc_resolves_through_vigild_from_resolv_conf)
{
	own_netns_or_skip();
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		cr_skip_test("cannot make a private mount namespace: %s", strerror(errno));
	char path[] = "/tmp/vg-resolv-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char *text = "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL), 0, "bind mount: %s",
		     strerror(errno));
	cr_assert_eq(itest_start(&V, "listen: 127.0.0.1@53\n"
				     "local-data: \"router.lan. 300 A 192.168.1.1\"\n"),
		     0);
	char out[512];
	cr_expect_eq(itest_run("getent hosts router.lan", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "192.168.1.1") && strstr(out, "router.lan"), "%s", out);
	cr_expect_eq(itest_run("getent hosts 192.168.1.1", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "router.lan"), "the PTR made from the A record: %s", out);
	umount("/etc/resolv.conf");
	unlink(path);
}
