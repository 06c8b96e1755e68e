/* Integration tests of http-listen and query-log on the lab: /metrics parsed by a Prometheus
 * text-format parser (tests/integration/http_check.py) with values that move, query-log lines
 * checked field by field, the live page in headless Chromium showing a rebinding event that the
 * test triggers, and bad input (malformed HTTP, 404, 405, connection and stream limits, an
 * address in use, a bad http-listen value). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "itest.h"
#include "itest_json.h"
#include "lab.h"

static struct itest_vigild V;
static uint16_t http_port;
static char qlog_path[400], ctl_path[400];

/* A free TCP port on 127.0.0.1 (bound and released: the test runs in its own namespace or
 * among tests that take ports the same way). */
static uint16_t free_tcp_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void start(const char *more)
{
	cr_assert_eq(vg_lab_up(), 0, "the lab did not come up");
	http_port = free_tcp_port();
	snprintf(qlog_path, sizeof(qlog_path), "/tmp/vigil-qlog-%d.log", (int)getpid());
	unlink(qlog_path);
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/vigil-http-%d.ctl", (int)getpid());
	char conf[3072];
	snprintf(conf, sizeof(conf),
		 "root-hints: %s\ntrust-anchor-file: %s\nquery-local-addresses: yes\n"
		 "do-ip6: no\ndiscard-timeout: 0\n"
		 "http-listen: 127.0.0.1@%u\nquery-log: %s\ncontrol-socket: %s\n"
		 "local-data: \"router.lan. 300 A 192.168.1.1\"\n%s",
		 vg_lab_root_hints(), vg_lab_trust_anchor(), http_port, qlog_path, ctl_path,
		 more ? more : "");
	cr_assert_eq(itest_start(&V, conf), 0, "vigild did not start");
}

static void setup(void)
{
	start(NULL);
}

static void teardown(void)
{
	cr_expect_eq(itest_stop(&V), 0, "vigild did not exit cleanly");
	vg_lab_down();
	unlink(qlog_path);
	char rotated[420];
	snprintf(rotated, sizeof(rotated), "%s.1", qlog_path);
	unlink(rotated);
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 120);

/* Sends `req` raw and reads until the server closes (at most timeout_ms). Returns the bytes read
 * (NUL-terminated in out), or -1 when the connection failed. */
static int http_raw_to(const char *host, uint16_t port, const char *req, char *out, size_t cap,
		       int timeout_ms)
{
	int fd = itest_tcp_connect(host, port);
	if (fd < 0)
		return -1;
	if (itest_write_all(fd, (const uint8_t *)req, strlen(req)) < 0) {
		close(fd);
		return -1;
	}
	size_t n = 0;
	uint64_t end = itest_now_ms() + (uint64_t)timeout_ms;
	while (n + 1 < cap && itest_now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = read(fd, out + n, cap - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = 0;
	close(fd);
	return (int)n;
}

static int http_raw(const char *req, char *out, size_t cap, int timeout_ms)
{
	return http_raw_to("127.0.0.1", http_port, req, out, cap, timeout_ms);
}

static int http_get(const char *path, char *out, size_t cap)
{
	char req[512];
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	return http_raw(req, out, cap, 5000);
}

static const char *body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");
	return b ? b + 4 : "";
}

static char *checker(void)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/http_check.py", VG_TEST_DIR);
	return path;
}

/* Scrapes /metrics, has it parsed and checked (http_check.py metrics), returns the samples. */
static char *scrape(void)
{
	static char resp[1 << 18];
	int n = http_get("/metrics", resp, sizeof(resp));
	cr_assert(n > 0 && strncmp(resp, "HTTP/1.1 200", 12) == 0, "GET /metrics: %.200s", resp);
	cr_expect(strstr(resp, "Content-Type: text/plain; version=0.0.4") != NULL, "%.300s", resp);
	char file[128], cmd[1024];
	snprintf(file, sizeof(file), "/tmp/vigil-metrics-%d.txt", (int)getpid());
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs(body_of(resp), f);
	fclose(f);
	static char out[1 << 18];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s metrics %s 2>&1", checker(), file);
	int rc = itest_run(cmd, out, sizeof(out));
	unlink(file);
	cr_assert_eq(rc, 0, "the Prometheus parser refused /metrics: %s", out);
	return out;
}

/* The value of one sample line "NAME{LABELS} VALUE" of scrape()'s output; -1 when absent. */
static double sample(const char *samples, const char *key)
{
	char k[256];
	snprintf(k, sizeof(k), "\n%s ", key);
	const char *p = strstr(samples, k);
	if (!p && strncmp(samples, k + 1, strlen(k + 1)) == 0)
		p = samples - 1;
	return p ? strtod(p + strlen(k), NULL) : -1;
}

static ldns_pkt *ask(const char *name, ldns_rr_type type)
{
	return itest_ask_answered(&V, name, type, 4000);
}

/* Asks `name` A until the answer cache has it (the cache writer commits a few ms after the
 * resolver's answer; until then the resolver answers from its rrsets): at most 3 s. */
static void ask_until_cached(const char *name)
{
	static char out[1 << 16];
	for (int tries = 0; tries < 30; tries++) {
		usleep(100000);
		ldns_pkt_free(ask(name, LDNS_RR_TYPE_A));
		cr_assert_eq(itest_vigilctl(ctl_path, "stats", out, sizeof(out)), 0, "%s", out);
		if (!strstr(out, "\ncached: 0\n"))
			return;
	}
	cr_assert_fail("%s never came from the answer cache", name);
}

/* Scrapes until `key` reaches `min` (at most 3 s): a worker observes an answer's latency right
 * after handing it to the kernel, so a client that got its answer may scrape a moment before. */
static char *scrape_until(const char *key, double min)
{
	char *s = scrape();
	for (int tries = 0; tries < 30 && sample(s, key) < min; tries++) {
		usleep(100000);
		s = scrape();
	}
	return s;
}

Test(http, metrics_parse_and_values_move)
{
	char *s = scrape_until("vigil_answer_latency_seconds_count{}", 1);
	double udp0 = sample(s, "vigil_queries_total{transport=\"udp\"}");
	double a0 = sample(s, "vigil_queries_by_qtype_total{qtype=\"A\"}");
	double nx0 = sample(s, "vigil_answers_by_rcode_total{rcode=\"NXDOMAIN\"}");
	double lat0 = sample(s, "vigil_answer_latency_seconds_count{}");
	double rtt0 = sample(s, "vigil_upstream_rtt_seconds_count{}");
	cr_assert(udp0 >= 1 && a0 >= 1 && lat0 >= 1, "before: udp %f A %f latency %f", udp0, a0,
		  lat0);
	cr_expect(sample(s, "vigil_answer_latency_seconds_bucket{le=\"+Inf\"}") == lat0);
	cr_expect(sample(s, "vigil_cache_rrsets{}") >= 0, "a gauge without _total");
	cr_expect(sample(s, "vigil_suspicious_answers_total{reason=\"rebinding\"}") == 0);

	/* a resolution through the lab (upstream round trips), an NXDOMAIN, a cached repeat */
	cr_assert(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 8000));
	ask_until_cached("www.example.com.");
	ldns_pkt *p = ask("nosuchname.example.com.", LDNS_RR_TYPE_A);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	ldns_pkt_free(ask("router.lan.", LDNS_RR_TYPE_MX));

	s = scrape_until("vigil_answer_latency_seconds_count{}", lat0 + 4);
	cr_expect(sample(s, "vigil_queries_total{transport=\"udp\"}") >= udp0 + 4);
	cr_expect(sample(s, "vigil_queries_by_qtype_total{qtype=\"A\"}") >= a0 + 3);
	cr_expect(sample(s, "vigil_queries_by_qtype_total{qtype=\"MX\"}") >= 1);
	cr_expect(sample(s, "vigil_answers_by_rcode_total{rcode=\"NXDOMAIN\"}") >= nx0 + 1);
	cr_expect(sample(s, "vigil_answer_latency_seconds_count{}") >= lat0 + 4);
	cr_expect(sample(s, "vigil_answer_latency_seconds_sum{}") > 0);
	cr_expect(sample(s, "vigil_upstream_rtt_seconds_count{}") >= rtt0 + 1,
		  "upstream RTT not observed");
	cr_expect(sample(s, "vigil_cached_total{}") >= 1);
	cr_expect(sample(s, "vigil_query_log_written_total{}") >= 1);
	cr_expect(sample(s, "vigil_build_info{version=\"" VG_VERSION "\"}") == 1);

	/* /stats.json is `vigilctl stats --json`: the same names, the histograms */
	static char resp[1 << 17];
	cr_assert(http_get("/stats.json", resp, sizeof(resp)) > 0);
	json_error_t e;
	json_t *o = json_loads(body_of(resp), 0, &e);
	cr_assert_not_null(o, "/stats.json: %s", e.text);
	json_t *st = json_object_get(o, "stats");
	cr_expect(json_integer_value(json_object_get(st, "qtype_A")) >= 4);
	cr_expect(json_integer_value(json_object_get(st, "rcode_NXDOMAIN")) >= 1);
	json_t *h = json_object_get(json_object_get(o, "histograms"), "upstream_rtt");
	cr_expect(json_integer_value(json_object_get(h, "count")) >= 1);
	cr_expect(json_integer_value(json_object_get(json_object_get(h, "le"), "+Inf")) ==
		  json_integer_value(json_object_get(h, "count")));
	json_decref(o);
}

/* The last line for qname/qtype, or NULL. */
static json_t *find_line(json_t **l, size_t n, const char *qname, const char *qtype)
{
	for (size_t i = n; i-- > 0;)
		if (!strcmp(itest_json_str(l[i], "qname"), qname) &&
		    !strcmp(itest_json_str(l[i], "qtype"), qtype))
			return l[i];
	return NULL;
}

static bool has_flag(json_t *o, const char *flag)
{
	json_t *a = json_object_get(o, "flags");
	for (size_t i = 0; i < json_array_size(a); i++)
		if (!strcmp(json_string_value(json_array_get(a, i)), flag))
			return true;
	return false;
}

Test(http, query_log_lines_field_by_field)
{
	ldns_pkt_free(ask("router.lan.", LDNS_RR_TYPE_A));
	cr_assert(itest_resolves_a(&V, "www.example.com.", "192.0.2.1", 8000));
	ask_until_cached("www.example.com.");
	ldns_pkt_free(ask("rebind.example.com.", LDNS_RR_TYPE_A));
	ldns_pkt *p = ask("nosuchname.example.com.", LDNS_RR_TYPE_AAAA);
	ldns_pkt_free(p);

	json_t *l[256];
	/* itest_start's own localhost probes come first */
	size_t n = itest_json_lines(qlog_path, l, 256, 6, false);
	cr_assert_geq(n, 6, "query-log lines: %zu", n);

	json_t *o = find_line(l, n, "router.lan.", "A");
	cr_assert_not_null(o);
	cr_expect_eq(strlen(itest_json_str(o, "time")), 24, "time: %s", itest_json_str(o, "time"));
	cr_expect_str_eq(itest_json_str(o, "client"), "127.0.0.1");
	cr_expect_str_eq(itest_json_str(o, "transport"), "udp");
	cr_expect_str_eq(itest_json_str(o, "rcode"), "NOERROR");
	cr_expect_str_eq(itest_json_str(o, "source"), "local");
	cr_expect_str_eq(itest_json_str(o, "dnssec"), "indeterminate");
	cr_expect(json_is_number(json_object_get(o, "latency_ms")));
	cr_expect(json_number_value(json_object_get(o, "latency_ms")) >= 0);
	cr_expect(!has_flag(o, "AD") && !has_flag(o, "TC"));
	cr_expect_eq(json_array_size(json_object_get(o, "suspect")), 0);
	cr_expect_null(json_object_get(o, "ede"));

	/* the first www.example.com. A came from the resolver, the last from the cache */
	json_t *first = NULL, *second = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(itest_json_str(l[i], "qname"), "www.example.com.") ||
		    strcmp(itest_json_str(l[i], "qtype"), "A"))
			continue;
		if (!first)
			first = l[i];
		second = l[i];
	}
	cr_assert(first && second);
	cr_expect_str_eq(itest_json_str(first, "source"), "resolver");
	cr_expect_str_eq(itest_json_str(second, "source"), "cache");
	cr_expect(json_number_value(json_object_get(first, "latency_ms")) > 0);

	o = find_line(l, n, "rebind.example.com.", "A");
	cr_assert_not_null(o);
	cr_expect_str_eq(itest_json_str(o, "source"), "resolver");
	json_t *sus = json_object_get(o, "suspect");
	cr_expect_eq(json_array_size(sus), 1);
	cr_expect_str_eq(json_string_value(json_array_get(sus, 0)), "rebinding");
	json_t *ede = json_object_get(o, "ede");
	cr_expect_eq(json_integer_value(json_object_get(ede, "code")), 15);
	cr_expect(strstr(itest_json_str(ede, "text"), "rebinding") != NULL);

	o = find_line(l, n, "nosuchname.example.com.", "AAAA");
	cr_assert_not_null(o);
	cr_expect_str_eq(itest_json_str(o, "rcode"), "NXDOMAIN");
	itest_json_free(l, n);

	/* SIGHUP reopens the file (logrotate moved it) */
	char rotated[420];
	snprintf(rotated, sizeof(rotated), "%s.1", qlog_path);
	cr_assert_eq(rename(qlog_path, rotated), 0);
	kill(V.pid, SIGHUP);
	bool reopened = false;
	for (int tries = 0; tries < 30 && !reopened; tries++) {
		usleep(100000);
		ldns_pkt_free(ask("router.lan.", LDNS_RR_TYPE_TXT));
		reopened = access(qlog_path, F_OK) == 0;
	}
	cr_expect(reopened, "no new query log after SIGHUP");
	n = itest_json_lines(qlog_path, l, 256, 1, false);
	cr_expect(n >= 1 && find_line(l, n, "router.lan.", "TXT") != NULL);
	itest_json_free(l, n);
}

Test(http, live_page_in_chromium_shows_a_fresh_event)
{
	char url[128], cmd[1024];
	static char out[8192];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", http_port);
	/* the live page itself: self-contained, served as HTML */
	static char resp[1 << 16];
	cr_assert(http_get("/", resp, sizeof(resp)) > 0);
	cr_expect(strstr(resp, "Content-Type: text/html") != NULL);
	cr_expect(strstr(resp, "new EventSource('/events')") != NULL);
	cr_expect(strstr(body_of(resp), "src=") == NULL, "the page loads nothing from elsewhere");
	/* Chromium opens the page, then the query triggers a rebinding event in the lab */
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s page %s %u rebind.example.com. %s 2>&1",
		 checker(), url, V.port, VG_TEST_OUTDIR);
	int rc = itest_run(cmd, out, sizeof(out));
	cr_assert_eq(rc, 0, "live page check failed: %s", out);
	cr_expect(strstr(out, "reason=rebinding") != NULL, "%s", out);
	/* example.com has two servers (ns1 127.53.2.1, ns2 127.53.2.2): either may have answered */
	cr_expect(strstr(out, "server=127.53.2.1#53") != NULL ||
		      strstr(out, "server=127.53.2.2#53") != NULL,
		  "%s", out);
	char shot[512];
	snprintf(shot, sizeof(shot), "%s/live-page.png", VG_TEST_OUTDIR);
	cr_expect_eq(access(shot, R_OK), 0, "no screenshot at %s", shot);
	fprintf(stderr, "live page: %s(screenshot: %s)\n", out, shot);
}

Test(http, events_stream_carries_events_and_is_bounded)
{
	/* /events gets the event as an SSE block */
	int fd = itest_tcp_connect("127.0.0.1", http_port);
	cr_assert(fd >= 0);
	const char *req = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert(itest_write_all(fd, (const uint8_t *)req, strlen(req)) == 0);
	usleep(200000);
	ldns_pkt_free(ask("rebind.example.com.", LDNS_RR_TYPE_A));
	static char buf[16384];
	size_t n = 0;
	uint64_t end = itest_now_ms() + 5000;
	while (itest_now_ms() < end && !strstr(buf, "rebind.example.com.")) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = 0;
	}
	cr_expect(strstr(buf, "text/event-stream") != NULL, "%s", buf);
	cr_expect(strstr(buf, "event: suspicious\ndata: {") != NULL, "%s", buf);
	cr_expect(strstr(buf, "\"reason\":\"rebinding\"") != NULL, "%s", buf);
	/* seven more streams fill the limit of eight; the ninth gets 503 */
	int more[7];
	for (int i = 0; i < 7; i++) {
		more[i] = itest_tcp_connect("127.0.0.1", http_port);
		cr_assert(more[i] >= 0);
		cr_assert(itest_write_all(more[i], (const uint8_t *)req, strlen(req)) == 0);
	}
	usleep(300000);
	char resp[1024];
	cr_assert(http_get("/events", resp, sizeof(resp)) > 0);
	cr_expect(strncmp(resp, "HTTP/1.1 503", 12) == 0, "%s", resp);
	close(fd);
	for (int i = 0; i < 7; i++)
		close(more[i]);
}

Test(http, bad_requests_get_http_errors)
{
	char resp[4096];
	cr_assert(http_get("/nope", resp, sizeof(resp)) > 0);
	cr_expect(strncmp(resp, "HTTP/1.1 404", 12) == 0, "%s", resp);
	cr_assert(http_raw("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
			   "Connection: close\r\n\r\nabc",
			   resp, sizeof(resp), 5000) > 0);
	cr_expect(strncmp(resp, "HTTP/1.1 405", 12) == 0, "%s", resp);
	cr_expect(strstr(resp, "Allow: GET, HEAD") != NULL, "%s", resp);
	cr_assert(http_raw("DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
			   sizeof(resp), 5000) > 0);
	cr_expect(strncmp(resp, "HTTP/1.1 405", 12) == 0, "%s", resp);
	/* HEAD: headers only */
	cr_assert(http_raw("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
			   sizeof(resp), 5000) > 0);
	cr_expect(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
	cr_expect_str_eq(body_of(resp), "");
	/* malformed HTTP */
	cr_assert(http_raw("THIS IS NOT HTTP\r\n\r\n", resp, sizeof(resp), 5000) >= 0);
	cr_expect(strncmp(resp, "HTTP/1.1 400", 12) == 0 || resp[0] == 0, "%s", resp);
	cr_assert(http_raw("GET /metrics HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n", resp,
			   sizeof(resp), 5000) >= 0);
	cr_expect(strncmp(resp, "HTTP/1.1 400", 12) == 0, "%s", resp);
	cr_assert(http_raw("GET /metrics HTTP/9.9\r\n\r\n", resp, sizeof(resp), 5000) >= 0);
	cr_expect(strncmp(resp, "HTTP/1.1 505", 12) == 0 || strncmp(resp, "HTTP/1.1 400", 12) == 0,
		  "%s", resp);
	/* vigild still serves */
	cr_assert(http_get("/metrics", resp, sizeof(resp)) > 0);
	cr_expect(strncmp(resp, "HTTP/1.1 200", 12) == 0);
}

Test(http, connections_over_the_limit_are_closed)
{
	/* 16 idle connections fill the limit: the next one is closed without an answer */
	int fds[16];
	for (int i = 0; i < 16; i++) {
		fds[i] = itest_tcp_connect("127.0.0.1", http_port);
		cr_assert(fds[i] >= 0);
	}
	usleep(300000);
	int fd = itest_tcp_connect("127.0.0.1", http_port);
	cr_assert(fd >= 0, "the kernel accepts; vigild closes");
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	(void)!write(fd, req, strlen(req));
	cr_expect(itest_tcp_closed_within(fd, 3000), "connection 17 was not closed");
	close(fd);
	for (int i = 0; i < 16; i++)
		close(fds[i]);
	/* once they are gone, a request goes through again */
	char resp[4096];
	bool ok = false;
	for (int tries = 0; tries < 30 && !ok; tries++) {
		usleep(100000);
		ok = http_get("/metrics", resp, sizeof(resp)) > 0 &&
		     !strncmp(resp, "HTTP/1.1 200", 12);
	}
	cr_expect(ok, "no answer after the connections closed");
}

Test(http, vigilctl_stats_shows_the_new_counters_and_log_reopen)
{
	ldns_pkt_free(ask("router.lan.", LDNS_RR_TYPE_A));
	static char out[1 << 16];
	cr_assert_eq(itest_vigilctl(ctl_path, "stats", out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "\nqtype_A: ") != NULL, "%s", out);
	cr_expect(strstr(out, "\nrcode_NOERROR: ") != NULL, "%s", out);
	cr_expect(strstr(out, "\nquery_log_written: ") != NULL, "%s", out);
	cr_expect(strstr(out, "\nhttp_requests: ") != NULL, "%s", out);
	cr_expect(strstr(out, "\nanswer_latency_count: ") != NULL, "%s", out);
	cr_expect(strstr(out, "\nanswer_latency_le_0.001: ") != NULL, "%s", out);
	cr_expect(strstr(out, "\nupstream_rtt_le_+Inf: ") != NULL, "%s", out);
	cr_assert_eq(itest_vigilctl(ctl_path, "--json stats", out, sizeof(out)), 0, "%s", out);
	json_error_t e;
	json_t *o = json_loads(out, 0, &e);
	cr_assert_not_null(o, "%s", e.text);
	json_t *h = json_object_get(json_object_get(o, "histograms"), "answer_latency");
	cr_expect(json_integer_value(json_object_get(h, "count")) >= 1);
	json_decref(o);
	/* log-reopen reopens the query log too */
	char rotated[420];
	snprintf(rotated, sizeof(rotated), "%s.1", qlog_path);
	cr_assert_eq(rename(qlog_path, rotated), 0);
	cr_assert_eq(itest_vigilctl(ctl_path, "log-reopen", out, sizeof(out)), 0, "%s", out);
	bool reopened = false;
	for (int tries = 0; tries < 30 && !reopened; tries++) {
		usleep(100000);
		ldns_pkt_free(ask("router.lan.", LDNS_RR_TYPE_A));
		reopened = access(qlog_path, F_OK) == 0;
	}
	cr_expect(reopened, "no new query log after log-reopen");
}

/* Start-up errors: no setup (each case starts its own vigild). */
Test(http_config, address_in_use_is_named, .timeout = 30)
{
	int hold = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert(bind(hold, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(hold, 1) == 0 &&
		  getsockname(hold, (struct sockaddr *)&a, &len) == 0);
	char extra[128];
	snprintf(extra, sizeof(extra), "http-listen: 127.0.0.1@%u\n", ntohs(a.sin_port));
	struct itest_vigild v = {.wait_ms = 2000};
	cr_expect_neq(itest_start(&v, extra), 0, "vigild started on a taken http-listen address");
	char logtext[8192] = "", want[128];
	FILE *f = fopen(v.log, "r");
	if (f) {
		size_t k = fread(logtext, 1, sizeof(logtext) - 1, f);
		logtext[k] = 0;
		fclose(f);
	}
	snprintf(want, sizeof(want),
		 "cannot listen on 127.0.0.1@%u (http-listen): Address already in use",
		 ntohs(a.sin_port));
	cr_expect(strstr(logtext, want) != NULL, "log: %s", logtext);
	int st = itest_stop(&v);
	cr_expect(st == 1 || st == 0, "exit status %d", st);
	close(hold);
}

Test(http_config, bad_http_listen_value_names_file_line_key, .timeout = 30)
{
	char dir[] = "/tmp/vigil-httpconf-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128], out[4096], args[256];
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	const char *bad[] = {"http-listen: nonsense\n", "http-listen: 127.0.0.1@99999\n",
			     "http-listen: 127.0.0.1@8053\nhttp-listen: 127.0.0.1@8053\n"};
	const char *why[] = {"bad address 'nonsense'", "bad address", "duplicate"};
	const int line[] = {2, 2, 3};
	for (size_t i = 0; i < 3; i++) {
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fprintf(f, "user: \"\"\n%s", bad[i]);
		fclose(f);
		snprintf(args, sizeof(args), "-t -c %s", path);
		cr_expect_eq(itest_run_vigild(out, sizeof(out), args), 1, "%s", out);
		char want[256];
		snprintf(want, sizeof(want), "%s:%d: key 'http-listen': %s", path, line[i], why[i]);
		cr_expect(strstr(out, want) != NULL, "want %s in: %s", want, out);
	}
	unlink(path);
	rmdir(dir);
}

Test(http_config, two_addresses_ipv4_and_ipv6, .timeout = 30)
{
	uint16_t p4 = free_tcp_port(), p6 = free_tcp_port();
	bool v6 = itest_have_ipv6();
	char extra[256];
	snprintf(extra, sizeof(extra), "http-listen: 127.0.0.1@%u\n%s%s%u\n", p4,
		 v6 ? "http-listen: ::1@" : "# no IPv6 here: ", v6 ? "" : "", p6);
	struct itest_vigild v = {0};
	cr_assert_eq(itest_start(&v, extra), 0, "vigild did not start");
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	static char resp[1 << 18];
	cr_expect(http_raw_to("127.0.0.1", p4, req, resp, sizeof(resp), 5000) > 0 &&
		      !strncmp(resp, "HTTP/1.1 200", 12),
		  "%.200s", resp);
	if (v6)
		cr_expect(http_raw_to("::1", p6, req, resp, sizeof(resp), 5000) > 0 &&
			      !strncmp(resp, "HTTP/1.1 200", 12),
			  "%.200s", resp);
	cr_expect_eq(itest_stop(&v), 0);
}
