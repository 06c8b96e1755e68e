/* Integration tests of the caps on work in flight (docs/configuration.md, "Work in flight"):
 * vigild resolving through the lab while one client floods a zone whose server answers after
 * 9 s (slow9.faults.net.), and each cap at its edge: max-requests, max-pending-per-client (with
 * a trusted range), max-upstream-sockets and discard-timeout. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vigil/name.h>
#include "itest.h"
#include "lab.h"

static struct itest_vigild V;
static char ctl_path[300];

static void start_with(const char *extra)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	char conf[2048];
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-inflight-%d.ctl", (int)getpid());
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\ndo-ip6: no\n"
		 "control-socket: %s\n%s",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), ctl_path, extra ? extra : "");
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	unlink(ctl_path);
	vg_lab_down();
}

TestSuite(inflight, .fini = teardown, .timeout = 60);

/* A UDP socket bound to `src`, connected to vigild, non-blocking. */
static int udp_client(const char *src)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fd, 0);
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, src, &a.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s", src);
	a.sin_port = htons(V.port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_name(int fd, const char *name, uint16_t id)
{
	uint8_t q[512];
	size_t ql = itest_query(name, LDNS_RR_TYPE_A, id, 1232, false, q, sizeof(q));
	cr_assert_eq(send(fd, q, ql, 0), (ssize_t)ql);
}

/* Waits up to timeout_ms for one datagram on fd; returns the parsed reply or NULL. */
static ldns_pkt *recv_reply(int fd, int timeout_ms)
{
	uint8_t r[4096];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, timeout_ms) != 1)
		return NULL;
	ssize_t n = recv(fd, r, sizeof(r), 0);
	return n > 0 ? itest_parse(r, (size_t)n) : NULL;
}

/* One query over TCP from 127.0.0.1 (the query is written behind its 2-byte length); the
 * parsed reply or NULL. */
static ldns_pkt *ask_tcp(const char *name, ldns_rr_type type, int timeout_ms)
{
	static uint8_t msg[65536];
	size_t len = itest_query(name, type, 7, 1232, false, msg + 2, 512);
	vg_put_u16(msg, (uint16_t)len);
	int fd = itest_tcp_connect("127.0.0.1", V.port), n = -1;
	if (fd >= 0 && itest_write_all(fd, msg, len + 2) == 0)
		n = itest_tcp_read(fd, msg, sizeof(msg), timeout_ms);
	if (fd >= 0)
		close(fd);
	return n > 0 ? itest_parse(msg, (size_t)n) : NULL;
}

static void expect_servfail_naming(ldns_pkt *p, const char *key)
{
	char text[256];
	cr_assert_not_null(p, "no answer: expected SERVFAIL naming %s", key);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	cr_assert_eq(itest_ede(p, text, sizeof(text)), 0, "EDE 0 (Other)");
	cr_assert(strstr(text, key), "EDE text '%s' names %s", text, key);
	ldns_pkt_free(p);
}

/* A "Name:   N kB" field of /proc/pid/status (VmRSS, RssAnon) in KiB; -1 when absent. */
static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	long kib = -1;
	size_t n = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			kib = atol(line + n + 1);
	fclose(f);
	return kib;
}

static long rss_kib(pid_t pid)
{
	return status_kib(pid, "VmRSS");
}

static int open_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	cr_assert_not_null(d);
	int n = 0;
	for (int i = 0; i < 100000 && readdir(d); i++)
		n++;
	closedir(d);
	return n - 2; /* . and .. */
}

/* Wall-clock milliseconds: the clock of SO_TIMESTAMPNS. */
static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* recv() that also returns when the kernel received the datagram (so a test process that was
 * not scheduled for a while does not see answers bunched that arrived spread out). */
static ssize_t recv_stamped(int fd, uint8_t *buf, size_t cap, uint64_t *at_ms)
{
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	ssize_t n = recvmsg(fd, &m, 0);
	*at_ms = real_ms();
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); n > 0 && c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*at_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		}
	}
	return n;
}

#if defined(__SANITIZE_ADDRESS__)
/* A sanitizer build of vigild answers ~5x slower, and its RSS holds freed memory (ASan's
 * quarantine): flood at a rate it can take, and do not check the RSS bound there. */
#define FLOOD_QPS 200
#define CHECK_RSS 0
#else
#define FLOOD_QPS 1000
#define CHECK_RSS 1
#endif
#define FLOOD_MS 10000
#define DRAIN_MS 3000
#define PENDING 50
#define SOCKETS 64
#define REQUESTS 200
#define DISCARD_MS 1900
#define LATE_MS 1000 /* an answer this late answers a query that waited (parked) */

Test(inflight, flood_of_a_slow_zone_keeps_memory_descriptors_and_bursts_bounded, .timeout = 90)
{
	char extra[256];
	snprintf(extra, sizeof(extra),
		 "log-level: info\nmax-requests: %d\nmax-pending-per-client: %d\n"
		 "max-upstream-sockets: %d\n",
		 REQUESTS, PENDING, SOCKETS);
	start_with(extra);
	ldns_pkt *p = itest_ask(&V, "www.example.com.", LDNS_RR_TYPE_A);
	cr_assert_not_null(p, "warm-up: www.example.com. not answered");
	ldns_pkt_free(p);
	long rss0 = rss_kib(V.pid);
	/* The documented bounds (docs/configuration.md, "Work in flight") for one worker with
	 * these caps and no TCP client: descriptors max-upstream-sockets + 2 per listen address
	 * + 16 + 64 for the process; memory 64 KiB of arena per request, 66 KiB per upstream
	 * socket, 1 KiB of bookkeeping per request. */
	int fd_bound = SOCKETS + 2 * 2 + 16 + 64;
	long rss_bound = REQUESTS * (64 + 1) + SOCKETS * 66;

	int slow = udp_client("127.0.0.1"), on = 1;
	setsockopt(slow, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	static uint64_t sent_at[FLOOD_QPS * FLOOD_MS / 1000];
	int late_per_s[(FLOOD_MS + DRAIN_MS) / 1000 + 2] = {0};
	int sent = 0, answers = 0, too_late = 0, worst_late_ms = 0, samples = 0, missed = 0;
	int fd_peak = 0;
	long rss_peak = rss0;
	uint64_t t0 = itest_now_ms(), next_sample = t0, t0_real = real_ms();
	uint8_t r[4096];
	for (int loops = 0; loops < 1000000; loops++) {
		uint64_t now = itest_now_ms();
		if (now - t0 >= FLOOD_MS + DRAIN_MS)
			break;
		uint64_t due = (now - t0 < FLOOD_MS ? now - t0 : FLOOD_MS) * FLOOD_QPS / 1000;
		while (sent < (int)due && sent < FLOOD_QPS * FLOOD_MS / 1000) {
			char name[96];
			snprintf(name, sizeof(name), "u%d-%d.slow9.faults.net.", (int)getpid(),
				 sent);
			sent_at[sent] = real_ms();
			send_name(slow, name, (uint16_t)sent);
			sent++;
		}
		for (int k = 0; k < 256; k++) {
			uint64_t at;
			ssize_t n = recv_stamped(slow, r, sizeof(r), &at);
			if (n < 12)
				break;
			int id = r[0] << 8 | r[1];
			/* IDs repeat every 65536 queries; 10,000 are sent */
			if (id >= sent || at < sent_at[id])
				continue;
			answers++;
			int waited = (int)(at - sent_at[id]);
			if (waited > worst_late_ms)
				worst_late_ms = waited;
			if (waited > DISCARD_MS + 500)
				too_late++;
			size_t sec = (size_t)(at - t0_real) / 1000;
			if (waited >= LATE_MS && sec < sizeof(late_per_s) / sizeof(late_per_s[0]))
				late_per_s[sec]++;
		}
		if (now >= next_sample) {
			next_sample = now + 250;
			samples++;
			int fds = open_fds(V.pid);
			long rss = rss_kib(V.pid);
			fd_peak = fds > fd_peak ? fds : fd_peak;
			rss_peak = rss > rss_peak ? rss : rss_peak;
			uint8_t q[512], a[4096];
			size_t ql = itest_query("www.example.com.", LDNS_RR_TYPE_A,
						(uint16_t)samples, 1232, false, q, sizeof(q));
			int n =
			    itest_udp("127.0.0.1", V.port, "127.0.0.3", q, ql, a, sizeof(a), 500);
			ldns_pkt *c = n > 0 ? itest_parse(a, (size_t)n) : NULL;
			if (!c || !vg_lab_has(c, LDNS_SECTION_ANSWER, "www.example.com.",
					      LDNS_RR_TYPE_A, "192.0.2.1"))
				missed++;
			ldns_pkt_free(c);
		}
		struct pollfd pfd = {.fd = slow, .events = POLLIN};
		poll(&pfd, 1, 1);
	}
	close(slow);
	int late_peak = 0;
	for (size_t i = 0; i < sizeof(late_per_s) / sizeof(late_per_s[0]); i++)
		late_peak = late_per_s[i] > late_peak ? late_per_s[i] : late_peak;
	long over = itest_stat(ctl_path, "over_max_pending");
	fprintf(
	    stderr,
	    "inflight flood: sent %d, answers %d, late (>= %d ms) answers in the worst second "
	    "%d, slowest answer %d ms, over_max_pending %ld, fds peak %d (bound %d), RSS %ld -> "
	    "%ld KiB (growth bound %ld), cached name missed %d of %d\n",
	    sent, answers, LATE_MS, late_peak, worst_late_ms, over, fd_peak, fd_bound, rss0,
	    rss_peak, rss_bound, missed, samples);
	cr_expect_eq(sent, FLOOD_QPS * FLOOD_MS / 1000, "the flood was sent");
	cr_expect_leq(fd_peak, fd_bound, "open descriptors of vigild");
	if (CHECK_RSS)
		cr_expect_leq(rss_peak - rss0, rss_bound, "RSS growth of vigild (KiB)");
	cr_expect_eq(missed, 0, "the cached name was answered at every sample (%d)", samples);
	cr_expect_eq(too_late, 0, "no answer later than discard-timeout (%d ms)", DISCARD_MS);
	cr_expect_leq(late_peak, PENDING, "parked answers to the flooding client in one second");
	cr_expect_gt(over, 0, "max-pending-per-client was reached and counted");
}

/* Replies arriving on fd within timeout_ms (each parsed and freed); at most 16. */
static int count_replies(int fd, int timeout_ms)
{
	int n = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 16; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = timeout_ms -
			    ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		ldns_pkt *p = left > 0 ? recv_reply(fd, (int)left) : NULL;
		if (!p)
			break;
		ldns_pkt_free(p);
		n++;
	}
	return n;
}

Test(inflight, discard_timeout_cuts_a_late_burst_to_one_answer_but_caches_all)
{
	/* slow.faults.net. answers after 600 ms: later than the first upstream timeout (400 ms),
	 * so the answers come at ~1 s, after discard-timeout. */
	start_with("discard-timeout: 300\n");
	int c = udp_client("127.0.0.1");
	send_name(c, "d1.slow.faults.net.", 1);
	send_name(c, "d2.slow.faults.net.", 2);
	cr_assert_eq(count_replies(c, 3000), 1,
		     "two late answers to one client: only the last one is sent");
	cr_assert_eq(itest_stat(ctl_path, "late_discarded"), 1);
	for (uint16_t id = 3; id <= 4; id++) {
		send_name(c, id == 3 ? "d1.slow.faults.net." : "d2.slow.faults.net.", id);
		ldns_pkt *p = recv_reply(c, 500);
		cr_assert_not_null(p, "a withheld answer was not cached");
		ldns_pkt_free(p);
	}
	/* A lone late answer still goes out: its stub (5 s per try) is still listening. */
	send_name(c, "www.slow.faults.net.", 5);
	ldns_pkt *p = recv_reply(c, 3000);
	cr_assert_not_null(p, "a single late answer was withheld");
	cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.slow.faults.net.", LDNS_RR_TYPE_A,
			     "192.0.2.53"));
	ldns_pkt_free(p);
	close(c);
	p = ask_tcp("www.slow.faults.net.", LDNS_RR_TYPE_TXT, 4000);
	cr_assert_not_null(p, "a TCP client gets its late answer");
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	cr_assert_eq(itest_stat(ctl_path, "late_discarded"), 1);
}

Test(inflight, max_pending_per_client_drops_udp_refuses_tcp_and_spares_trusted)
{
	start_with("allow: 127.0.0.1/32\nallow: 127.0.0.2/32 trusted\n"
		   "max-pending-per-client: 2\n");
	int c = udp_client("127.0.0.1"), t = udp_client("127.0.0.2");
	send_name(c, "p1.slow9.faults.net.", 1);
	send_name(c, "p2.slow9.faults.net.", 2);
	send_name(c, "p3.slow9.faults.net.", 3);
	cr_assert_null(recv_reply(c, 200), "nothing comes back before the slow server answers");
	cr_assert_eq(itest_stat(ctl_path, "over_max_pending"), 1,
		     "the third waiting query was dropped");
	uint64_t t0 = itest_now_ms();
	expect_servfail_naming(ask_tcp("p4.slow9.faults.net.", LDNS_RR_TYPE_A, 1000),
			       "max-pending-per-client");
	cr_assert_lt(itest_now_ms() - t0, 300, "refused at once over TCP");
	for (int i = 0; i < 4; i++) {
		char name[64];
		snprintf(name, sizeof(name), "t%d.slow9.faults.net.", i);
		send_name(t, name, (uint16_t)(10 + i));
	}
	cr_assert_null(recv_reply(t, 100));
	cr_assert_eq(itest_stat(ctl_path, "over_max_pending"), 2,
		     "the trusted client is not counted");
	close(c);
	close(t);
}

Test(inflight, max_requests_answers_servfail_naming_the_key)
{
	start_with("max-requests: 3\nmax-pending-per-client: 0\n");
	int c = udp_client("127.0.0.1");
	for (int i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "r%d.slow9.faults.net.", i);
		send_name(c, name, (uint16_t)i);
	}
	cr_assert_null(recv_reply(c, 200), "three requests wait for the slow server");
	uint64_t t0 = itest_now_ms();
	send_name(c, "r3.slow9.faults.net.", 3);
	expect_servfail_naming(recv_reply(c, 1000), "max-requests");
	cr_assert_lt(itest_now_ms() - t0, 300, "answered at once");
	cr_assert_eq(itest_stat(ctl_path, "over_max_requests"), 1);
	close(c);
}

Test(inflight, max_upstream_sockets_fails_the_request_naming_the_key)
{
	start_with("max-upstream-sockets: 16\n");
	int c = udp_client("127.0.0.1");
	/* Cache the delegation first (its queries are answered at once), then park queries on
	 * slow9.faults.net.: the 17th socket is over the cap. */
	send_name(c, "warm.slow9.faults.net.", 100);
	cr_assert_null(recv_reply(c, 300));
	for (int i = 0; i < 20; i++) {
		char name[64];
		snprintf(name, sizeof(name), "s%d.slow9.faults.net.", i);
		send_name(c, name, (uint16_t)i);
	}
	expect_servfail_naming(recv_reply(c, 1000), "max-upstream-sockets");
	cr_assert_geq(itest_stat(ctl_path, "upstream_socket_cap"), 1);
	cr_assert_leq(open_fds(V.pid), 16 + 4 + 16 + 64);
	close(c);
}

/* RssAnon: the part of the RSS a malloc_trim gives back. */
static long anon_kib(pid_t pid)
{
	return status_kib(pid, "RssAnon");
}

/* Sends n unique wildcard names at once and waits until every one is answered. */
static void burst_of_misses(int fd, int round, int n)
{
	char name[96];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "b%d-%d-%d.wild.example.com.", round, i,
			 (int)getpid());
		send_name(fd, name, (uint16_t)i);
	}
	for (int got = 0; got < n; got++) {
		ldns_pkt *p = recv_reply(fd, 10000);
		cr_assert_not_null(p, "round %d: %d of %d misses answered", round, got, n);
		ldns_pkt_free(p);
	}
}

#define BURST 400
Test(inflight, memory_of_a_burst_goes_back_without_a_later_query, .timeout = 90)
{
	/* Two bursts of misses, the second drained within a second of the first's trim: its
	 * memory (freed, resident in the worker's malloc arena) must still go back, though no
	 * query follows. */
	if (!CHECK_RSS)
		cr_skip_test("sanitizer build: freed memory stays in ASan's quarantine");
	start_with("allow: 127.0.0.0/8 trusted\nworkers: 1\n");
	int fd = udp_client("127.0.0.1");
	burst_of_misses(fd, 0, 8); /* the zone cut and keys, so each later miss is one query */
	long before = anon_kib(V.pid);
	burst_of_misses(fd, 1, BURST);
	burst_of_misses(fd, 2, BURST);
	long peak = anon_kib(V.pid);
	cr_assert_gt(peak - before, 2048, "the bursts took only %ld KiB: nothing to give back",
		     peak - before);
	long now = peak;
	for (uint64_t end = itest_now_ms() + 5000; itest_now_ms() < end; usleep(100 * 1000)) {
		now = anon_kib(V.pid);
		if (now - before <= (peak - before) / 2)
			break;
	}
	cr_assert_leq(now - before, (peak - before) / 2,
		      "anonymous memory %ld KiB before, %ld after the bursts, still %ld 5 s later",
		      before, peak, now);
	close(fd);
}
