/* Unit tests of the config grammar (daemon/config.c): every key, defaults, each error kind. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vigil/config.h>
#include <vigil/suspect.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil_build.h>
#include "opts.h"

static struct vg_config cfg;
static char err[1024];

static int parse(const char *text)
{
	vg_config_free(&cfg); /* tests may parse several times */
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	err[0] = 0;
	return vg_config_parse(&cfg, "test.conf", text, err, sizeof(err));
}

static void parse_ok(const char *text)
{
	int rc = parse(text);
	cr_assert_eq(rc, 0, "parse failed (%d): %s", rc, err);
}

/* Parses `text`, expects failure with exactly `msg`, and a config left freed. */
static void parse_err(const char *text, const char *msg)
{
	int rc = parse(text);
	cr_assert_eq(rc, VG_ECONFIG, "expected VG_ECONFIG for [%s], got %d (%s)", text, rc, err);
	cr_assert_str_eq(err, msg);
	cr_assert_null(cfg.listen, "config not freed on error");
	cr_assert_null(cfg.cache_dir, "config not freed on error");
}

static void fini(void)
{
	vg_config_free(&cfg);
}

TestSuite(config, .fini = fini);

static const char *addr_str(const struct vg_sockaddr *a)
{
	static char buf[80];
	return vg_sockaddr_str(a, buf, sizeof(buf));
}

Test(config, defaults_match_the_documentation)
{
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_null(cfg.path);
	cr_assert_eq(cfg.n_listen, 2);
	cr_assert_str_eq(addr_str(&cfg.listen[0]), "127.0.0.1@53");
	cr_assert_str_eq(addr_str(&cfg.listen[1]), "::1@53");
	cr_assert_eq(cfg.workers, 0);
	cr_assert_null(cfg.user);
	cr_assert_eq(cfg.n_allow, 0);
	cr_assert_eq(cfg.n_deny, 0);
	cr_assert_not(cfg.allow_set);
	cr_assert_eq(cfg.rate_limit, 0);
	cr_assert_eq(cfg.rate_limit_burst, 0);
	cr_assert_eq(cfg.n_local_data, 0);
	cr_assert_eq(cfg.log_level, VG_LOG_INFO);
	cr_assert_null(cfg.control_socket);
	cr_assert_null(cfg.suspicious_log);
	cr_assert_eq(cfg.tcp_idle_timeout_ms, 10000);
	cr_assert_eq(cfg.tcp_max_clients, 512);
	cr_assert_eq(cfg.edns_buffer_size, 1232);
	cr_assert_str_eq(cfg.cache_dir, VIGIL_DEFAULT_CACHE_DIR);
	cr_assert_eq(cfg.cache_size, 512ull << 20);
	cr_assert_eq(cfg.cache_min_ttl, 0);
	cr_assert_eq(cfg.cache_max_ttl, 86400);
	cr_assert_eq(cfg.cache_max_negative_ttl, 3600);
	cr_assert_eq(cfg.serve_stale_max, 86400);
	cr_assert_not(cfg.cache_rebuild_on_error);
	cr_assert_null(cfg.root_hints);
	cr_assert_eq(cfg.n_trust_anchor_files, 0);
	cr_assert(cfg.dnssec);
	cr_assert_eq(cfg.nsec3_max_iterations, 50);
	cr_assert_eq(cfg.n_negative_trust_anchors, 0);
	cr_assert_eq(cfg.n_outgoing, 0);
	cr_assert(cfg.qname_minimisation);
	cr_assert(cfg.case_randomisation);
	cr_assert(cfg.do_ip4);
	cr_assert(cfg.do_ip6);
	cr_assert_not(cfg.query_local_addresses);
	cr_assert(cfg.prefetch);
	cr_assert_eq(cfg.n_forward, 0);
	cr_assert_eq(cfg.n_forward_zones, 0);
	cr_assert_eq(cfg.max_upstream_queries, 100);
	cr_assert_eq(cfg.max_glueless_per_referral, 4);
	cr_assert_eq(cfg.max_cname_chain, 12);
	cr_assert_eq(cfg.max_referral_depth, 30);
	cr_assert_eq(cfg.request_timeout_ms, 10000);
}

Test(config, every_key_parses)
{
	parse_ok("listen: 127.0.0.1@5300\n"
		 "listen: ::1\n"
		 "workers: 3\n"
		 "user: vigil\n"
		 "allow: 192.168.0.0/16\n"
		 "deny: 192.168.66.0/24\n"
		 "rate-limit: 200\n"
		 "rate-limit-burst: 400\n"
		 "local-data: \"router.lan. 300 A 192.168.1.1\"\n"
		 "log-level: debug\n"
		 "control-socket: /run/vigil/control\n"
		 "suspicious-log: /var/log/vigil/suspicious.log\n"
		 "tcp-idle-timeout: 30s\n"
		 "tcp-max-clients: 100\n"
		 "edns-buffer-size: 1400\n"
		 "cache-dir: /var/cache/vigil-test\n"
		 "cache-size: 2G\n"
		 "cache-min-ttl: 5\n"
		 "cache-max-ttl: 2d\n"
		 "cache-max-negative-ttl: 15m\n"
		 "serve-stale-max: 1h\n"
		 "cache-rebuild-on-error: yes\n"
		 "root-hints: /usr/share/dns/root.hints\n"
		 "trust-anchor-file: /usr/share/dns/root.ds\n"
		 "outgoing-address: 192.0.2.1\n"
		 "outgoing-address: 2001:db8::1\n"
		 "qname-minimisation: no\n"
		 "case-randomisation: no\n"
		 "do-ip4: yes\n"
		 "do-ip6: no\n"
		 "query-local-addresses: yes\n"
		 "prefetch: no\n"
		 "forward: 9.9.9.9\n"
		 "forward: 2620:fe::fe@853\n"
		 "forward-zone: \"Lan. 192.168.1.1 192.168.1.2@5353\"\n"
		 "max-upstream-queries: 50\n"
		 "max-glueless-per-referral: 2\n"
		 "max-cname-chain: 8\n"
		 "max-referral-depth: 20\n"
		 "request-timeout: 4500\n");
	cr_assert_str_eq(cfg.path, "test.conf");
	cr_assert_eq(cfg.n_listen, 2);
	cr_assert_str_eq(addr_str(&cfg.listen[0]), "127.0.0.1@5300");
	cr_assert_str_eq(addr_str(&cfg.listen[1]), "::1@53");
	cr_assert_eq(cfg.workers, 3);
	cr_assert_str_eq(cfg.user, "vigil");
	cr_assert_eq(cfg.n_allow, 1);
	cr_assert(cfg.allow_set);
	cr_assert_eq(cfg.allow[0].prefix, 16);
	cr_assert_eq(cfg.n_deny, 1);
	cr_assert_eq(cfg.deny[0].prefix, 24);
	cr_assert_eq(cfg.rate_limit, 200);
	cr_assert_eq(cfg.rate_limit_burst, 400);
	cr_assert_eq(cfg.n_local_data, 1);
	cr_assert_str_eq(cfg.local_data[0].text, "router.lan. 300 A 192.168.1.1");
	cr_assert_eq(cfg.local_data[0].line, 9);
	cr_assert_eq(cfg.log_level, VG_LOG_DEBUG);
	cr_assert_str_eq(cfg.control_socket, "/run/vigil/control");
	cr_assert_str_eq(cfg.suspicious_log, "/var/log/vigil/suspicious.log");
	cr_assert_eq(cfg.tcp_idle_timeout_ms, 30000);
	cr_assert_eq(cfg.tcp_max_clients, 100);
	cr_assert_eq(cfg.edns_buffer_size, 1400);
	cr_assert_str_eq(cfg.cache_dir, "/var/cache/vigil-test");
	cr_assert_eq(cfg.cache_size, 2ull << 30);
	cr_assert_eq(cfg.cache_min_ttl, 5);
	cr_assert_eq(cfg.cache_max_ttl, 172800);
	cr_assert_eq(cfg.cache_max_negative_ttl, 900);
	cr_assert_eq(cfg.serve_stale_max, 3600);
	cr_assert(cfg.cache_rebuild_on_error);
	cr_assert_str_eq(cfg.root_hints, "/usr/share/dns/root.hints");
	cr_assert_eq(cfg.n_trust_anchor_files, 1);
	cr_assert_str_eq(cfg.trust_anchor_files[0], "/usr/share/dns/root.ds");
	cr_assert_eq(cfg.n_outgoing, 2);
	cr_assert_str_eq(addr_str(&cfg.outgoing[0]), "192.0.2.1@0");
	cr_assert_str_eq(addr_str(&cfg.outgoing[1]), "2001:db8::1@0");
	cr_assert_not(cfg.qname_minimisation);
	cr_assert_not(cfg.case_randomisation);
	cr_assert(cfg.do_ip4);
	cr_assert_not(cfg.do_ip6);
	cr_assert(cfg.query_local_addresses);
	cr_assert_not(cfg.prefetch);
	cr_assert_eq(cfg.n_forward, 2);
	cr_assert_str_eq(addr_str(&cfg.forward[0]), "9.9.9.9@53");
	cr_assert_str_eq(addr_str(&cfg.forward[1]), "2620:fe::fe@853");
	cr_assert_eq(cfg.n_forward_zones, 1);
	cr_assert(memcmp(cfg.forward_zones[0].zone, "\3lan\0", 5) == 0, "zone not lowercased");
	cr_assert_eq(cfg.forward_zones[0].n_addrs, 2);
	cr_assert_str_eq(addr_str(&cfg.forward_zones[0].addrs[1]), "192.168.1.2@5353");
	cr_assert_eq(cfg.max_upstream_queries, 50);
	cr_assert_eq(cfg.max_glueless_per_referral, 2);
	cr_assert_eq(cfg.max_cname_chain, 8);
	cr_assert_eq(cfg.max_referral_depth, 20);
	cr_assert_eq(cfg.request_timeout_ms, 4500);
}

Test(config, listen_in_file_replaces_the_defaults)
{
	parse_ok("listen: 127.0.0.2@5353\n");
	cr_assert_eq(cfg.n_listen, 1);
	cr_assert_str_eq(addr_str(&cfg.listen[0]), "127.0.0.2@5353");
}

Test(config, lists_grow_past_many_entries)
{
	char text[64 * 300];
	size_t o = 0;
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "listen: 127.0.%d.%d@5300\n",
				      i / 250, i % 250 + 1);
	parse_ok(text);
	cr_assert_eq(cfg.n_listen, 300);
	cr_assert_str_eq(addr_str(&cfg.listen[299]), "127.0.1.50@5300");
}

Test(config, comments_blank_lines_and_quotes)
{
	parse_ok("# a comment line\n"
		 "\n"
		 "   \t\n"
		 "  user: \"a b\"   # trailing comment\n"
		 "cache-dir: /tmp/x # comment after an unquoted value\n"
		 "control-socket: \"/tmp/has # hash\"\n"
		 "suspicious-log: \"q\\\"uote\\\\back\"\n"
		 "log-level:warn\r\n"
		 "root-hints: \"\"\n");
	cr_assert_str_eq(cfg.user, "a b");
	cr_assert_str_eq(cfg.cache_dir, "/tmp/x");
	cr_assert_str_eq(cfg.control_socket, "/tmp/has # hash");
	cr_assert_str_eq(cfg.suspicious_log, "q\"uote\\back");
	cr_assert_eq(cfg.log_level, VG_LOG_WARN);
	cr_assert_null(cfg.root_hints);
}

Test(config, empty_user_means_stay_as_started)
{
	parse_ok("user: \"\"\n");
	cr_assert_str_eq(cfg.user, "", "\"\" is kept, unlike unset (NULL: pick the default user)");
}

Test(config, workers_auto_and_bounds)
{
	parse_ok("workers: 256\nworkers: auto\n");
	cr_assert_eq(cfg.workers, 0);
	parse_err("workers: 0\n", "test.conf:1: key 'workers': bad value '0' (expected auto or 1..256)");
	parse_err("\nworkers: 257\n",
		  "test.conf:2: key 'workers': bad value '257' (expected auto or 1..256)");
}

Test(config, sizes_and_durations_take_suffixes)
{
	parse_ok("cache-size: 1048576\ncache-max-ttl: 3600\nserve-stale-max: 0\n"
		 "tcp-idle-timeout: 2m\nrequest-timeout: 1500ms\ncache-max-negative-ttl: 1d\n");
	cr_assert_eq(cfg.cache_size, 1048576);
	cr_assert_eq(cfg.cache_max_ttl, 3600);
	cr_assert_eq(cfg.serve_stale_max, 0);
	cr_assert_eq(cfg.tcp_idle_timeout_ms, 120000);
	cr_assert_eq(cfg.request_timeout_ms, 1500);
	cr_assert_eq(cfg.cache_max_negative_ttl, 86400);
	vg_config_free(&cfg);
	parse_ok("cache-size: 512M\n");
	cr_assert_eq(cfg.cache_size, 512ull << 20);
	vg_config_free(&cfg);
	parse_err("cache-size: 12X\n", "test.conf:1: key 'cache-size': bad size '12X' (expected "
				       "bytes with optional K, M, G or T)");
	parse_err("cache-max-ttl: 5y\n",
		  "test.conf:1: key 'cache-max-ttl': bad duration '5y' (expected seconds "
		  "1..31536000, or with suffix s, m, h, d, w)");
}

Test(config, small_cache_size_is_refused)
{
	parse_err("cache-size: 64k\n", "test.conf:1: key 'cache-size': size '64k' out of range "
				       "(1M..16T)");
}

Test(config, unknown_key_is_an_error)
{
	parse_err("listen: 127.0.0.1\nfrobnicate: yes\n",
		  "test.conf:2: key 'frobnicate': unknown key");
}

Test(config, missing_colon_is_an_error)
{
	parse_err("# x\n\nlisten 127.0.0.1\n",
		  "test.conf:3: key 'listen': missing ':' after the key");
}

Test(config, unterminated_quote_is_an_error)
{
	parse_err("user: \"vigil\n", "test.conf:1: key 'user': unterminated quote");
	parse_err("user: \"vigil\" extra\n", "test.conf:1: key 'user': text after the closing quote");
}

Test(config, missing_value_is_an_error)
{
	parse_err("workers:\n", "test.conf:1: key 'workers': missing value");
	parse_err("cache-dir: \"\"\n", "test.conf:1: key 'cache-dir': missing value");
}

Test(config, bad_address_is_an_error)
{
	parse_err("listen: 127.0.0.300\n",
		  "test.conf:1: key 'listen': bad address '127.0.0.300' (expected IPv4 or IPv6 "
		  "address with optional @PORT)");
	parse_err("listen: 127.0.0.1@70000\n",
		  "test.conf:1: key 'listen': bad address '127.0.0.1@70000' (expected IPv4 or "
		  "IPv6 address with optional @PORT)");
	parse_err("outgoing-address: 192.0.2.1@53\n",
		  "test.conf:1: key 'outgoing-address': '192.0.2.1@53': a port is not allowed here");
	parse_err("outgoing-address: example.com\n",
		  "test.conf:1: key 'outgoing-address': bad address 'example.com' (expected IPv4 "
		  "or IPv6 address)");
	parse_err("forward: 1.2.3\n", "test.conf:1: key 'forward': bad address '1.2.3' (expected "
				      "IPv4 or IPv6 address with optional @PORT)");
}

Test(config, duplicate_listen_is_an_error)
{
	parse_err("listen: 127.0.0.1@5300\nlisten: ::1@5300\nlisten: 127.0.0.1@5300\n",
		  "test.conf:3: key 'listen': duplicate listen address '127.0.0.1@5300'");
	/* Same address with the default port spelled out is the same socket. */
	parse_err("listen: ::1\nlisten: ::1@53\n",
		  "test.conf:2: key 'listen': duplicate listen address '::1@53'");
}

Test(config, bad_cidr_is_an_error)
{
	parse_err("allow: 10.0.0.0/33\n",
		  "test.conf:1: key 'allow': bad CIDR '10.0.0.0/33' (expected ADDR/BITS or ADDR)");
	parse_err("deny: fe80::/129\n",
		  "test.conf:1: key 'deny': bad CIDR 'fe80::/129' (expected ADDR/BITS or ADDR)");
	parse_err("allow: lan\n", "test.conf:1: key 'allow': bad CIDR 'lan' (expected ADDR/BITS or "
				  "ADDR)");
}

Test(config, bad_booleans_numbers_and_levels_are_errors)
{
	parse_err("prefetch: maybe\n",
		  "test.conf:1: key 'prefetch': bad value 'maybe' (expected yes or no)");
	parse_err("rate-limit: -1\n",
		  "test.conf:1: key 'rate-limit': bad value '-1' (expected a number 0..10000000)");
	parse_err("edns-buffer-size: 511\n",
		  "test.conf:1: key 'edns-buffer-size': bad value '511' (expected 512..4096)");
	parse_err("log-level: loud\n", "test.conf:1: key 'log-level': bad value 'loud' (expected "
				       "error, warn, info or debug)");
	parse_err("tcp-max-clients: 12abc\n", "test.conf:1: key 'tcp-max-clients': bad value "
					      "'12abc' (expected a number 1..1000000)");
	parse_err("tcp-idle-timeout: 50ms\n",
		  "test.conf:1: key 'tcp-idle-timeout': bad duration '50ms' (expected milliseconds "
		  "100..3600000, or with suffix ms, s, m, h)");
}

Test(config, local_data_syntax_error_names_file_line_and_key)
{
	int rc = parse("user: \"\"\nlocal-data: \"router.lan. 300 A 192.168.1.300\"\n");
	cr_assert_eq(rc, VG_ECONFIG);
	cr_assert(strncmp(err, "test.conf:2: key 'local-data': bad record", 41) == 0, "got: %s",
		  err);
	rc = parse("local-data: \"router.lan. 300 CH A 1.2.3.4\"\n");
	cr_assert_eq(rc, VG_ECONFIG);
	cr_assert_str_eq(err, "test.conf:1: key 'local-data': bad record \"router.lan. 300 CH A "
			      "1.2.3.4\": only class IN is served");
}

Test(config, forward_zone_checks)
{
	parse_err("forward-zone: lan.\n", "test.conf:1: key 'forward-zone': no server address in "
					  "'lan.' (expected \"ZONE ADDR [ADDR...]\")");
	parse_err("forward-zone: \"lan. 10.0.0.1\"\nforward-zone: \"LAN. 10.0.0.2\"\n",
		  "test.conf:2: key 'forward-zone': duplicate forward-zone 'LAN.'");
	parse_ok("forward-zone: \". 10.0.0.1 10.0.0.2\"\n");
	cr_assert_eq(cfg.n_forward_zones, 0, "root forward-zone must become forward:");
	cr_assert_eq(cfg.n_forward, 2);
}

Test(config, cross_key_checks)
{
	parse_err("cache-max-ttl: 10\ncache-min-ttl: 20\n",
		  "test.conf:2: key 'cache-min-ttl': cache-min-ttl (20) is above cache-max-ttl (10)");
	parse_err("do-ip4: no\n\ndo-ip6: no\n",
		  "test.conf:3: key 'do-ip6': do-ip4 and do-ip6 are both no");
}

Test(config, very_long_line_is_handled)
{
	size_t n = 10000;
	char *text = malloc(n + 64);
	cr_assert_not_null(text);
	strcpy(text, "suspicious-log: /");
	size_t o = strlen(text);
	memset(text + o, 'x', n);
	strcpy(text + o + n, "\nuser: after\n");
	parse_ok(text);
	cr_assert_eq(strlen(cfg.suspicious_log), n + 1);
	cr_assert_str_eq(cfg.user, "after");
	vg_config_free(&cfg);
	/* A long unknown key is reported, shortened, with its line. */
	memset(text, 'k', n);
	strcpy(text + n, ": 1\n");
	cr_assert_eq(parse(text), VG_ECONFIG);
	cr_assert(strncmp(err, "test.conf:1: key 'kkkk", 22) == 0, "got: %s", err);
	cr_assert(strstr(err, "': unknown key") != NULL, "got: %s", err);
	free(text);
}

/* Each of 500 lines is parsed and keeps its line number. (How fast is the benchmark's business,
 * not a test's: a wall-clock bound here failed under the sanitizers on a loaded machine.) */
Test(config, hundreds_of_lines_parse)
{
	size_t cap = 600 * 80, o = 0;
	char *text = malloc(cap);
	cr_assert_not_null(text);
	for (int i = 0; i < 500; i++)
		o += (size_t)snprintf(text + o, cap - o, "local-data: \"h%d.lan. 300 A 10.1.%d.%d\"\n",
				      i, i / 200, i % 200);
	parse_ok(text);
	free(text);
	cr_assert_eq(cfg.n_local_data, 500);
	for (int i = 0; i < 500; i++)
		cr_assert_eq(cfg.local_data[i].line, (unsigned)i + 1, "line of entry %d", i);
}

Test(config, unreadable_file_is_reported)
{
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	int rc = vg_config_load(&cfg, "/nonexistent/vigil.conf", err, sizeof(err));
	cr_assert_eq(rc, -ENOENT);
	cr_assert_str_eq(err, "/nonexistent/vigil.conf: cannot read: No such file or directory");
	cr_assert_null(cfg.listen);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	rc = vg_config_load(&cfg, "/", err, sizeof(err));
	cr_assert_eq(rc, -EISDIR);
	cr_assert_str_eq(err, "/: cannot read: Is a directory");
}

Test(config, load_reads_a_file)
{
	char path[] = "/tmp/vigil-test-config-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char *text = "listen: 127.0.0.1@5301\n\nworkers: nine\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	int rc = vg_config_load(&cfg, path, err, sizeof(err));
	char want[256];
	snprintf(want, sizeof(want),
		 "%s:3: key 'workers': bad value 'nine' (expected auto or 1..256)", path);
	cr_assert_eq(rc, VG_ECONFIG);
	cr_assert_str_eq(err, want);
	cr_assert_null(cfg.listen);
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	text = "listen: 127.0.0.1@5301\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_eq(vg_config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.path, path);
	cr_assert_eq(cfg.n_listen, 1);
	unlink(path);
}

Test(config, load_reads_the_root_hints_file_before_privileges_drop)
{
	char path[] = "/tmp/vigil-test-config-XXXXXX", hints[] = "/tmp/vigil-test-hints-XXXXXX";
	int fd = mkstemp(hints);
	cr_assert_geq(fd, 0);
	const char *htext = ". 3600000 NS a.root.test.\na.root.test. 3600000 A 127.0.0.9\n";
	cr_assert_eq(write(fd, htext, strlen(htext)), (ssize_t)strlen(htext));
	close(fd);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	char text[256];
	snprintf(text, sizeof(text), "root-hints: %s\n", hints);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_eq(vg_config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.root_hints_text, htext, "the contents are kept for the workers");
	vg_config_free(&cfg);

	/* an unreadable hints file is a config error, found by `vigild -t` */
	unlink(hints);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_eq(vg_config_load(&cfg, path, err, sizeof(err)), VG_ECONFIG);
	char want[256];
	snprintf(want, sizeof(want), "%s: key 'root-hints': cannot read %s: No such file or directory",
		 path, hints);
	cr_assert_str_eq(err, want);
	unlink(path);
}

Test(config, dnssec_keys)
{
	parse_ok(
	    "dnssec: no\nnsec3-max-iterations: 150\nnegative-trust-anchor: Example.COM\n"
	    "negative-trust-anchor: test.\ntrust-anchor-file: /a.ds\ntrust-anchor-file: /b.key\n");
	cr_assert_not(cfg.dnssec);
	cr_assert_eq(cfg.nsec3_max_iterations, 150);
	cr_assert_eq(cfg.n_negative_trust_anchors, 2);
	cr_assert_eq(memcmp(cfg.negative_trust_anchors[0], "\7example\3com", 13), 0);
	cr_assert_eq(cfg.n_trust_anchor_files, 2);
	cr_assert_str_eq(cfg.trust_anchor_files[1], "/b.key");
	parse_ok("trust-anchor-file: /a.ds\ntrust-anchor-file: \"\"\n");
	cr_assert_eq(cfg.n_trust_anchor_files, 0, "\"\" goes back to the built-in anchors");
	parse_err("nsec3-max-iterations: 151\n",
		  "test.conf:1: key 'nsec3-max-iterations': bad value '151' (expected a number "
		  "0..150)");
	parse_err("negative-trust-anchor: a..b\n",
		  "test.conf:1: key 'negative-trust-anchor': bad domain name 'a..b'");
	parse_err("trust-anchor-file: /a\ntrust-anchor-file: /a\n",
		  "test.conf:2: key 'trust-anchor-file': duplicate file '/a'");
	parse_err("dnssec: maybe\n",
		  "test.conf:1: key 'dnssec': bad value 'maybe' (expected yes or no)");
}

static void write_file(char *tmpl, const char *text)
{
	int fd = mkstemp(tmpl);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

Test(config, load_reads_and_checks_trust_anchor_files)
{
	char path[] = "/tmp/vigil-test-config-XXXXXX", ta[] = "/tmp/vigil-test-ta-XXXXXX";
	const char *good = "; the lab's root\n. IN DS 20326 8 2 "
			   "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n";
	write_file(ta, good);
	char text[256];
	snprintf(text, sizeof(text), "trust-anchor-file: %s\n", ta);
	write_file(path, text);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_eq(vg_config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.trust_anchor_texts[0], good);
	vg_config_free(&cfg);

	FILE *f = fopen(ta, "w");
	cr_assert_not_null(f);
	fputs(good, f);
	fputs("example. IN A 192.0.2.1\n", f);
	fclose(f);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_eq(vg_config_load(&cfg, path, err, sizeof(err)), VG_ECONFIG);
	char want[512];
	snprintf(want, sizeof(want), "%s:3: A record: a trust anchor is a DS or DNSKEY record", ta);
	cr_assert_str_eq(err, want);
	unlink(ta);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_eq(vg_config_load(&cfg, path, err, sizeof(err)), VG_ECONFIG);
	cr_assert(strstr(err, "key 'trust-anchor-file': cannot read"), "%s", err);
	unlink(path);
}

Test(config, free_twice_is_harmless)
{
	parse_ok("user: x\n");
	vg_config_free(&cfg);
	vg_config_free(&cfg);
	cr_assert_null(cfg.user);
}

#ifdef VG_SOURCE_ROOT
static void load_contrib(const char *file)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/contrib/%s", VG_SOURCE_ROOT, file);
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	int rc = vg_config_load(&cfg, path, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
}

Test(config, contrib_vigil_conf_parses)
{
	load_contrib("vigil.conf");
	cr_assert_geq(cfg.n_listen, 1);
	cr_assert_geq(cfg.n_local_data, 1);
}

static const char *const all_keys[] = {
    "listen",
    "workers",
    "user",
    "allow",
    "deny",
    "rate-limit",
    "rate-limit-burst",
    "local-data",
    "log-level",
    "control-socket",
    "suspicious-log",
    "tcp-idle-timeout",
    "tcp-max-clients",
    "edns-buffer-size",
    "cache-dir",
    "cache-size",
    "cache-min-ttl",
    "cache-max-ttl",
    "cache-max-negative-ttl",
    "serve-stale-max",
    "cache-rebuild-on-error",
    "root-hints",
    "trust-anchor-file",
    "outgoing-address",
    "qname-minimisation",
    "case-randomisation",
    "do-ip4",
    "do-ip6",
    "query-local-addresses",
    "prefetch",
    "forward",
    "forward-zone",
    "max-upstream-queries",
    "max-glueless-per-referral",
    "max-cname-chain",
    "max-referral-depth",
    "request-timeout",
    "hijack-checks",
    "rebinding",
    "private-domain",
    "dnssec",
    "negative-trust-anchor",
    "nsec3-max-iterations",
    "second-answer",
    "injection-window",
    "injection-strict",
    "spoof-attempt",
    "spoof-tcp-after",
    "out-of-bailiwick",
    "servers-disagree",
    "servers-disagree-budget",
    "watch",
    "query-log",
    "query-log-rate",
    "http-listen",
    "aggressive-nsec",
    "control-group",
    "discard-timeout",
    "forward-fallback",
    "max-pending-per-client",
    "max-requests",
    "max-upstream-sockets",
    "nxdomain-rewrite",
    "pin",
    "pin-action",
};

static char *slurp(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", VG_SOURCE_ROOT, rel);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	static char buf[1 << 17];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

Test(config, every_key_is_documented_and_in_the_example)
{
	char pat[80];
	const char *conf = slurp("contrib/vigil.conf");
	char *copy = strdup(conf);
	cr_assert_not_null(copy);
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		/* Every key name must be accepted (a value error is fine, "unknown key" is not). */
		snprintf(pat, sizeof(pat), "%s: ?\n", all_keys[i]);
		parse(pat);
		cr_assert(strstr(err, "unknown key") == NULL, "%s", err);
		snprintf(pat, sizeof(pat), "\n%s:", all_keys[i]);
		char alt[80];
		snprintf(alt, sizeof(alt), "# %s:", all_keys[i]);
		cr_assert(strstr(copy, pat) || strstr(copy, alt), "%s missing in contrib/vigil.conf",
			  all_keys[i]);
	}
	free(copy);
	const char *doc = slurp("docs/configuration.md");
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		snprintf(pat, sizeof(pat), "`%s:", all_keys[i]); /* its syntax line */
		cr_assert(strstr(doc, pat), "%s not documented in docs/configuration.md",
			  all_keys[i]);
	}
}

Test(config, contrib_router_conf_parses)
{
	load_contrib("router.conf");
	cr_assert(cfg.allow_set);
	cr_assert_gt(cfg.rate_limit, 0);
	cr_assert_eq(cfg.n_forward_zones, 2, "lan. and the LAN's reverse zone");
}
#endif

Test(config, random_garbage_never_crashes_and_errors_cleanly)
{
	/* A fixed-seed stream of lines built from grammar pieces: every outcome must be either a
	 * clean parse or a VG_ECONFIG with a "test.conf:LINE: key '" message. */
	static const char *const pieces[] = {"listen", "allow", "local-data", ":", " ", "\"", "\\",
					     "#", "\n", "127.0.0.1", "@", "/", "yes", "1", "M",
					     "::1", "a.b.", "A", "\t", "deny", "workers"};
	unsigned seed = 12345;
	char text[512];
	for (int round = 0; round < 3000; round++) {
		size_t o = 0;
		int n = (int)(rand_r(&seed) % 24);
		for (int i = 0; i < n; i++) {
			const char *p = pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = strlen(p);
			if (o + l >= sizeof(text))
				break;
			memcpy(text + o, p, l);
			o += l;
		}
		text[o] = 0;
		int rc = parse(text);
		if (rc != 0) {
			cr_assert_eq(rc, VG_ECONFIG, "rc %d for [%s]", rc, text);
			cr_assert(strncmp(err, "test.conf:", 10) == 0 && strstr(err, ": key '"),
				  "bad message [%s] for [%s]", err, text);
			cr_assert_null(cfg.listen);
		} else {
			cr_assert_geq(cfg.n_listen, 1, "no listen address left for [%s]", text);
		}
	}
}

Test(config, work_in_flight_keys_parse_with_their_defaults)
{
	static const struct {
		const char *text;
		uint32_t requests, pending, sockets, discard_ms;
	} cases[] = {
	    {"", 1000, 100, 1024, 1900},
	    {"max-requests: 1\nmax-pending-per-client: 0\nmax-upstream-sockets: 16\n"
	     "discard-timeout: 0\n",
	     1, 0, 16, 0},
	    {"max-requests: 1000000\nmax-pending-per-client: 1000000\n"
	     "max-upstream-sockets: 1000000\ndiscard-timeout: 10m\n",
	     1000000, 1000000, 1000000, 600000},
	    {"discard-timeout: 2s\n", 1000, 100, 1024, 2000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].text);
		cr_assert_eq(cfg.max_requests, cases[i].requests, "[%s]", cases[i].text);
		cr_assert_eq(cfg.max_pending_per_client, cases[i].pending, "[%s]", cases[i].text);
		cr_assert_eq(cfg.max_upstream_sockets, cases[i].sockets, "[%s]", cases[i].text);
		cr_assert_eq(cfg.discard_timeout_ms, cases[i].discard_ms, "[%s]", cases[i].text);
		cr_assert_eq(cfg.n_trusted, 0);
	}
}

Test(config, hijack_keys_parse_with_their_defaults)
{
	parse_ok("");
	cr_assert(cfg.hijack_checks);
	cr_assert_eq(cfg.rebinding, VG_REBIND_BLOCK);
	cr_assert_eq(cfg.n_private_domains, 0);
	parse_ok("hijack-checks: no\nrebinding: log\nprivate-domain: Home.Example.\n"
		 "private-domain: lan\n");
	cr_assert(!cfg.hijack_checks);
	cr_assert_eq(cfg.rebinding, VG_REBIND_LOG);
	cr_assert_eq(cfg.n_private_domains, 2);
	cr_assert_eq(memcmp(cfg.private_domains[0], "\4home\7example", 14), 0);
	cr_assert_eq(memcmp(cfg.private_domains[1], "\3lan", 5), 0);
	parse_ok("rebinding: off\n");
	cr_assert_eq(cfg.rebinding, VG_REBIND_OFF);
	parse_err("rebinding: drop\n",
		  "test.conf:1: key 'rebinding': bad value 'drop' (expected block, log or off)");
}

Test(config, servers_disagree_keys_parse_with_their_defaults)
{
	parse_ok("");
	cr_assert_eq(cfg.servers_disagree, VG_DETECT_LOG);
	cr_assert_eq(cfg.servers_disagree_budget, 3);
	cr_assert_eq(cfg.n_watch, 0);
	parse_ok("servers-disagree: block\nservers-disagree-budget: 0\nwatch: Bank.Example.\n"
		 "watch: shop.example\n");
	cr_assert_eq(cfg.servers_disagree, VG_DETECT_BLOCK);
	cr_assert_eq(cfg.servers_disagree_budget, 0);
	cr_assert_eq(cfg.n_watch, 2);
	cr_assert_eq(memcmp(cfg.watch[0], "\4bank\7example", 14), 0);
	cr_assert_eq(memcmp(cfg.watch[1], "\4shop\7example", 14), 0);
	parse_ok("servers-disagree: off\n");
	cr_assert_eq(cfg.servers_disagree, VG_DETECT_OFF);
	parse_err("servers-disagree: maybe\n", "test.conf:1: key 'servers-disagree': bad value "
						"'maybe' (expected block, log or off)");
	parse("servers-disagree-budget: 1001\n");
	cr_assert(strstr(err, "servers-disagree-budget"), "%s", err);
}

Test(config, detection_keys_parse_with_their_defaults)
{
	parse_ok("");
	cr_assert_eq(cfg.second_answer, VG_DETECT_BLOCK);
	cr_assert_eq(cfg.spoof_attempt, VG_DETECT_BLOCK);
	cr_assert_eq(cfg.out_of_bailiwick, VG_DETECT_LOG);
	cr_assert_eq(cfg.spoof_tcp_after, 3);
	cr_assert_eq(cfg.injection_window_ms, 200);
	cr_assert(!cfg.injection_strict);
	parse_ok("injection-strict: yes\n");
	cr_assert(cfg.injection_strict);
	parse_ok("second-answer: log\nspoof-attempt: off\nout-of-bailiwick: off\n"
		 "spoof-tcp-after: 1\ninjection-window: 0\n");
	cr_assert_eq(cfg.second_answer, VG_DETECT_LOG);
	cr_assert_eq(cfg.spoof_attempt, VG_DETECT_OFF);
	cr_assert_eq(cfg.out_of_bailiwick, VG_DETECT_OFF);
	cr_assert_eq(cfg.spoof_tcp_after, 1);
	cr_assert_eq(cfg.injection_window_ms, 0);
	parse_ok("injection-window: 1s\n");
	cr_assert_eq(cfg.injection_window_ms, 1000);
	parse_err("second-answer: drop\n", "test.conf:1: key 'second-answer': bad value 'drop' "
					   "(expected block, log or off)");
	parse("spoof-tcp-after: 0\n");
	cr_assert(strstr(err, "spoof-tcp-after"), "%s", err);
	parse("injection-window: 20s\n");
	cr_assert(strstr(err, "injection-window"), "%s", err);
}

Test(config, nxdomain_rewrite_forward_fallback_and_pin_keys)
{
	parse_ok("");
	cr_assert_eq(cfg.nxdomain_rewrite, VG_DETECT_BLOCK);
	cr_assert_eq(cfg.forward_fallback, VG_FALLBACK_NONE);
	cr_assert_eq(cfg.pin_action, VG_DETECT_LOG);
	cr_assert_eq(cfg.n_pins, 0);
	parse_ok("nxdomain-rewrite: off\nforward-fallback: iterate\npin-action: block\n"
		 "pin: \"Bank.Example. A 203.0.113.0/24\"\n"
		 "pin: \"bank.example. AAAA 2001:db8:1::/48\"\n"
		 "pin: \"bank.example. NS dns-host.net.\"\n"
		 "pin: \"bank.example. DS 12345\"\n"
		 "pin: \"bank.example. ds 8e6a3d2f2b0c1a9e\"\n");
	cr_assert_eq(cfg.nxdomain_rewrite, VG_DETECT_OFF);
	cr_assert_eq(cfg.forward_fallback, VG_FALLBACK_ITERATE);
	cr_assert_eq(cfg.pin_action, VG_DETECT_BLOCK);
	cr_assert_eq(cfg.n_pins, 5);
	cr_assert_eq(memcmp(cfg.pins[0].name, "\4bank\7example", 14), 0, "lowercased");
	cr_assert_eq(cfg.pins[0].type, VG_TYPE_A);
	cr_assert_eq(cfg.pins[0].prefix.prefix, 24);
	cr_assert_eq(cfg.pins[1].type, VG_TYPE_AAAA);
	cr_assert_eq(cfg.pins[2].type, VG_TYPE_NS);
	cr_assert_eq(cfg.pins[3].ds_keytag, 12345);
	cr_assert_eq(cfg.pins[4].ds_keytag, -1);
	cr_assert_eq(cfg.pins[4].ds_digest_len, 8);
	parse_err("nxdomain-rewrite: drop\n", "test.conf:1: key 'nxdomain-rewrite': bad value "
					       "'drop' (expected block, log or off)");
	parse_err("\nforward-fallback: maybe\n", "test.conf:2: key 'forward-fallback': bad value "
						 "'maybe' (expected none or iterate)");
	parse_err("pin-action: strict\n", "test.conf:1: key 'pin-action': bad value 'strict' "
					   "(expected block, log or off)");
	parse_err("pin: bank.example. A 203.0.113.0/24\n",
		  "test.conf:1: key 'pin': the value must be quoted: pin: \"NAME TYPE VALUE\"");
	parse_err("\n\npin: \"bank.example. MX 10.0.0.0/8\"\n",
		  "test.conf:3: key 'pin': bad type 'MX' in pin (expected A, AAAA, NS or DS)");
	parse_err("pin: \"bank.example. A 203.0.113.0/33\"\n",
		  "test.conf:1: key 'pin': bad A prefix '203.0.113.0/33' (expected an IPv4 "
		  "ADDR/BITS or address)");
	parse_err("pin: \"bank.example. A 2001:db8::/32\"\n",
		  "test.conf:1: key 'pin': bad A prefix '2001:db8::/32' (expected an IPv4 "
		  "ADDR/BITS or address)");
	parse_err("pin: \"bank.example. AAAA 10.0.0.0/8\"\n",
		  "test.conf:1: key 'pin': bad AAAA prefix '10.0.0.0/8' (expected an IPv6 "
		  "ADDR/BITS or address)");
	parse_err("pin: \"bank.example. DS 12z\"\n",
		  "test.conf:1: key 'pin': bad DS value '12z' (expected a key tag 0..65535 or a "
		  "digest in hex)");
	parse_err("pin: \"bank.example. A\"\n",
		  "test.conf:1: key 'pin': bad pin \"bank.example. A\" (expected \"NAME TYPE "
		  "VALUE\", TYPE one of A, AAAA, NS, DS)");
	parse_err("pin: \"bank..example. A 10.0.0.1\"\n",
		  "test.conf:1: key 'pin': bad name 'bank..example.' in pin \"bank..example. A "
		  "10.0.0.1\"");
}

Test(config, work_in_flight_keys_out_of_range_are_errors)
{
	parse_err("max-requests: 0\n", "test.conf:1: key 'max-requests': bad value '0' (expected a "
				       "number 1..1000000)");
	parse_err("\nmax-requests: 1000001\n", "test.conf:2: key 'max-requests': bad value "
					       "'1000001' (expected a number 1..1000000)");
	parse_err("max-pending-per-client: many\n",
		  "test.conf:1: key 'max-pending-per-client': bad value 'many' (expected a number "
		  "0..1000000)");
	parse_err("max-upstream-sockets: 15\n", "test.conf:1: key 'max-upstream-sockets': bad "
						"value '15' (expected a number 16..1000000)");
	parse_err("discard-timeout: 601s\n",
		  "test.conf:1: key 'discard-timeout': bad duration '601s' (expected milliseconds "
		  "0..600000, or with suffix ms, s, m, h)");
	parse_err("discard-timeout:\n", "test.conf:1: key 'discard-timeout': missing value");
}

Test(config, allow_marks_trusted_ranges)
{
	parse_ok("allow: 192.0.2.0/24 trusted\nallow: 198.51.100.0/24\nallow: 2001:db8::/32  "
		 "trusted # LAN\n");
	cr_assert_eq(cfg.n_allow, 3);
	cr_assert_eq(cfg.n_trusted, 2);
	cr_assert_eq(cfg.trusted[0].family, AF_INET);
	cr_assert_eq(cfg.trusted[0].prefix, 24);
	cr_assert_eq(cfg.trusted[1].family, AF_INET6);
	cr_assert_eq(cfg.trusted[1].prefix, 32);
	parse_err("allow: 192.0.2.0/24 trustd\n", "test.conf:1: key 'allow': unexpected 'trustd' "
						  "after the prefix (expected nothing or "
						  "'trusted')");
	parse_err("allow: 192.0.2.0/24 trusted yes\n",
		  "test.conf:1: key 'allow': unexpected 'trusted yes' after the prefix (expected "
		  "nothing or 'trusted')");
	parse_err("allow: 192.0.2.0/33 trusted\n",
		  "test.conf:1: key 'allow': bad CIDR '192.0.2.0/33' (expected ADDR/BITS or ADDR)");
}

Test(config, cache_opts_map_every_cache_key)
{
	parse_ok("cache-dir: /var/cache/vigil-test\n"
		 "cache-size: 1G\n"
		 "cache-min-ttl: 5\n"
		 "cache-max-ttl: 7200\n"
		 "cache-max-negative-ttl: 900\n"
		 "serve-stale-max: 1234\n"
		 "cache-rebuild-on-error: yes\n");
	struct vg_cache_opts o;
	vg_cache_opts_from_config(&o, &cfg);
	cr_assert_str_eq(o.dir, "/var/cache/vigil-test");
	cr_assert_eq(o.map_size, 1u << 30);
	cr_assert_eq(o.min_ttl, 5);
	cr_assert_eq(o.max_ttl, 7200);
	cr_assert_eq(o.max_neg_ttl, 900);
	cr_assert_eq(o.stale_max, 1234);
	cr_assert(o.rebuild_on_error);
}

/* The resolver's own defaults (what unit tests start from) are the config's defaults. */
Test(config, default_config_gives_the_resolver_defaults)
{
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	struct vg_resolver_opts o, d;
	vg_resolver_opts_from_config(&o, &cfg);
	vg_resolver_opts_default(&d);
	cr_assert_null(o.root_hints);
	cr_assert_null(o.root_hints_text);
	cr_assert_eq(o.n_forward, d.n_forward);
	cr_assert_eq(o.n_forward_zones, d.n_forward_zones);
	cr_assert_eq(o.addr.do_ip4, d.addr.do_ip4);
	cr_assert_eq(o.addr.do_ip6, d.addr.do_ip6);
	cr_assert_eq(o.addr.query_local_addresses, d.addr.query_local_addresses);
	cr_assert_eq(o.addr.n_outgoing, d.addr.n_outgoing);
	cr_assert_eq(o.qname_minimisation, d.qname_minimisation);
	cr_assert_eq(o.case_randomisation, d.case_randomisation);
	cr_assert_eq(o.prefetch, d.prefetch);
	cr_assert_eq(o.serve_stale_max, d.serve_stale_max);
	cr_assert_eq(o.cache_min_ttl, d.cache_min_ttl);
	cr_assert_eq(o.cache_max_ttl, d.cache_max_ttl);
	cr_assert_eq(o.cache_max_negative_ttl, d.cache_max_negative_ttl);
	cr_assert_eq(o.max_upstream_queries, d.max_upstream_queries);
	cr_assert_eq(o.max_glueless_per_referral, d.max_glueless_per_referral);
	cr_assert_eq(o.max_cname_chain, d.max_cname_chain);
	cr_assert_eq(o.max_referral_depth, d.max_referral_depth);
	cr_assert_eq(o.request_timeout_ms, d.request_timeout_ms);
	cr_assert_eq(o.max_requests, d.max_requests);
	cr_assert_eq(o.max_upstream_sockets, d.max_upstream_sockets);
}

Test(config, resolver_opts_map_every_resolver_key)
{
	parse_ok("root-hints: /usr/share/dns/root.hints\n"
		 "outgoing-address: 192.0.2.1\n"
		 "qname-minimisation: no\n"
		 "case-randomisation: no\n"
		 "do-ip4: no\n"
		 "do-ip6: yes\n"
		 "query-local-addresses: yes\n"
		 "prefetch: no\n"
		 "serve-stale-max: 1h\n"
		 "cache-min-ttl: 5\n"
		 "cache-max-ttl: 2d\n"
		 "cache-max-negative-ttl: 15m\n"
		 "forward: 9.9.9.9\n"
		 "forward-zone: \"lan. 192.168.1.1\"\n"
		 "max-upstream-queries: 50\n"
		 "max-glueless-per-referral: 2\n"
		 "max-cname-chain: 8\n"
		 "max-referral-depth: 20\n"
		 "request-timeout: 4500\n"
		 "max-requests: 77\n"
		 "max-upstream-sockets: 99\n");
	struct vg_resolver_opts o;
	vg_resolver_opts_from_config(&o, &cfg);
	cr_assert_eq(o.root_hints, cfg.root_hints);
	cr_assert_eq(o.root_hints_text, cfg.root_hints_text);
	cr_assert_eq(o.forward, cfg.forward);
	cr_assert_eq(o.n_forward, 1);
	cr_assert_eq(o.forward_zones, cfg.forward_zones);
	cr_assert_eq(o.n_forward_zones, 1);
	cr_assert(!o.addr.do_ip4 && o.addr.do_ip6 && o.addr.query_local_addresses);
	cr_assert_eq(o.addr.outgoing, cfg.outgoing);
	cr_assert_eq(o.addr.n_outgoing, 1);
	cr_assert(!o.qname_minimisation && !o.case_randomisation && !o.prefetch);
	cr_assert_eq(o.serve_stale_max, 3600);
	cr_assert_eq(o.cache_min_ttl, 5);
	cr_assert_eq(o.cache_max_ttl, 2 * 86400);
	cr_assert_eq(o.cache_max_negative_ttl, 900);
	cr_assert_eq(o.max_upstream_queries, 50);
	cr_assert_eq(o.max_glueless_per_referral, 2);
	cr_assert_eq(o.max_cname_chain, 8);
	cr_assert_eq(o.max_referral_depth, 20);
	cr_assert_eq(o.request_timeout_ms, 4500);
	cr_assert_eq(o.max_requests, 77);
	cr_assert_eq(o.max_upstream_sockets, 99);
}
