/* Unit tests of the query log (daemon/querylog.c): the JSON encoding read back with jansson,
 * the writer thread, the per-second rate limit and its summary, reopen after a rename. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vigil/suspect.h>
#include "querylog.h"

static struct vg_qlog_entry entry(const char *client, const uint8_t *qname, size_t qlen)
{
	struct vg_qlog_entry e;
	memset(&e, 0, sizeof(e));
	e.time_ms = 1796000000123LL; /* 2026-11-30T00:53:20.123Z */
	if (strchr(client, ':')) {
		e.client.u.sin6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, client, &e.client.u.sin6.sin6_addr);
	} else {
		e.client.u.sin.sin_family = AF_INET;
		inet_pton(AF_INET, client, &e.client.u.sin.sin_addr);
	}
	memcpy(e.qname, qname, qlen);
	e.qtype = 28;
	e.rcode = 3;
	e.ede = VG_EDE_NONE;
	e.latency_us = 1500;
	return e;
}

static json_t *decode(const struct vg_qlog_entry *e)
{
	char *s = vg_querylog_encode(e);
	cr_assert_not_null(s);
	cr_expect_null(strchr(s, '\n'), "one line: %s", s);
	json_error_t err;
	json_t *o = json_loads(s, 0, &err);
	cr_assert_not_null(o, "%s: %s", s, err.text);
	free(s);
	return o;
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_string(v), "%s is not a string", k);
	return json_string_value(v);
}

Test(querylog, encodes_every_field)
{
	static const uint8_t name[] = "\3www\7Example\3com";
	struct vg_qlog_entry e = entry("192.0.2.7", name, sizeof(name));
	e.ad = true;
	e.tc = true;
	e.tcp = true;
	e.source = VG_QLOG_STALE;
	e.dnssec = VG_QLOG_SECURE;
	e.reasons = 1u << VG_SUSPECT_REBINDING;
	e.ede = 15;
	snprintf(e.ede_text, sizeof(e.ede_text), "rebinding: \"quoted\"");
	json_t *o = decode(&e);
	cr_expect_str_eq(str(o, "time"), "2026-11-30T00:53:20.123Z");
	cr_expect_str_eq(str(o, "client"), "192.0.2.7");
	cr_expect_str_eq(str(o, "transport"), "tcp");
	cr_expect_str_eq(str(o, "qname"), "www.Example.com.");
	cr_expect_str_eq(str(o, "qtype"), "AAAA");
	cr_expect_str_eq(str(o, "rcode"), "NXDOMAIN");
	json_t *flags = json_object_get(o, "flags");
	cr_expect_eq(json_array_size(flags), 2);
	cr_expect_str_eq(json_string_value(json_array_get(flags, 0)), "AD");
	cr_expect_str_eq(json_string_value(json_array_get(flags, 1)), "TC");
	cr_expect_float_eq(json_number_value(json_object_get(o, "latency_ms")), 1.5, 1e-9);
	cr_expect_str_eq(str(o, "source"), "stale");
	cr_expect_str_eq(str(o, "dnssec"), "secure");
	json_t *sus = json_object_get(o, "suspect");
	cr_expect_eq(json_array_size(sus), 1);
	cr_expect_str_eq(json_string_value(json_array_get(sus, 0)), "rebinding");
	json_t *ede = json_object_get(o, "ede");
	cr_expect_eq(json_integer_value(json_object_get(ede, "code")), 15);
	cr_expect_str_eq(str(ede, "text"), "rebinding: \"quoted\"");
	json_decref(o);
}

Test(querylog, plain_answer_has_no_ede_and_escapes_odd_names)
{
	static const uint8_t name[] = "\4a\"\n\xff\0";
	struct vg_qlog_entry e = entry("2001:db8::1", name, sizeof(name));
	json_t *o = decode(&e);
	cr_expect_str_eq(str(o, "client"), "2001:db8::1");
	cr_expect_str_eq(str(o, "transport"), "udp");
	cr_expect_str_eq(str(o, "qname"), "a\\\"\\010\\255.");
	cr_expect_str_eq(str(o, "source"), "local");
	cr_expect_str_eq(str(o, "dnssec"), "indeterminate");
	cr_expect_eq(json_array_size(json_object_get(o, "flags")), 0);
	cr_expect_eq(json_array_size(json_object_get(o, "suspect")), 0);
	cr_expect_null(json_object_get(o, "ede"));
	json_decref(o);
}

/* Lines of path, each parsed; returns the count (at most cap). */
static size_t read_lines(const char *path, json_t **out, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = 0;
	char line[4096];
	while (n < cap && fgets(line, sizeof(line), f)) {
		json_error_t err;
		out[n] = json_loads(line, 0, &err);
		cr_assert_not_null(out[n], "%s: %s", line, err.text);
		n++;
	}
	fclose(f);
	return n;
}

static char path[64];

static void mkpath(void)
{
	snprintf(path, sizeof(path), "/tmp/vigil-qlog-unit-%d", (int)getpid());
	unlink(path);
}

Test(querylog, writer_writes_every_queued_record_at_close)
{
	mkpath();
	struct vg_querylog *l;
	cr_assert_eq(vg_querylog_new(path, 0, &l), 0);
	static const uint8_t name[] = "\3www\7example\3com";
	for (int i = 0; i < 100; i++) {
		struct vg_qlog_entry e = entry("192.0.2.1", name, sizeof(name));
		e.latency_us = (uint32_t)i * 1000;
		vg_querylog_push(l, &e);
	}
	vg_querylog_close(l);
	json_t *lines[128];
	size_t n = read_lines(path, lines, 128);
	cr_expect_eq(n, 100);
	for (size_t i = 0; i < n; i++) {
		cr_expect_float_eq(json_number_value(json_object_get(lines[i], "latency_ms")),
				   (double)i, 1e-9, "line %zu out of order", i);
		json_decref(lines[i]);
	}
	unlink(path);
}

Test(querylog, rate_limit_drops_counts_and_summarises)
{
	mkpath();
	struct vg_querylog *l;
	cr_assert_eq(vg_querylog_new(path, 5, &l), 0);
	static const uint8_t name[] = "\1a\0";
	struct vg_qlog_entry e = entry("192.0.2.1", name, sizeof(name));
	for (int i = 0; i < 40; i++)
		vg_querylog_push(l, &e);
	/* the summary comes once the second ends: wait for it (bounded) */
	json_t *lines[64];
	size_t n = 0;
	bool summary = false;
	for (int tries = 0; tries < 40 && !summary; tries++) {
		usleep(100000);
		for (size_t i = 0; i < n; i++)
			json_decref(lines[i]);
		n = read_lines(path, lines, 64);
		for (size_t i = 0; i < n; i++)
			summary = summary || json_object_get(lines[i], "summary") != NULL;
	}
	struct vg_querylog_stats st;
	vg_querylog_stats(l, &st);
	/* 40 pushes within at most two one-second windows of 5 */
	cr_expect(st.written >= 5 && st.written <= 10, "written %llu",
		  (unsigned long long)st.written);
	cr_expect_eq(st.written + st.dropped_rate, 40);
	cr_expect_eq(st.dropped_full, 0);
	cr_expect(summary, "no summary line");
	uint64_t reported = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_object_get(lines[i], "summary");
		if (s) {
			cr_expect_str_eq(json_string_value(s), "query-log-rate");
			reported +=
			    (uint64_t)json_integer_value(json_object_get(lines[i], "dropped"));
		}
		json_decref(lines[i]);
	}
	cr_expect_eq(reported, st.dropped_rate);
	vg_querylog_close(l);
	unlink(path);
}

Test(querylog, reopen_follows_a_rename)
{
	mkpath();
	char moved[80];
	snprintf(moved, sizeof(moved), "%s.1", path);
	struct vg_querylog *l;
	cr_assert_eq(vg_querylog_new(path, 0, &l), 0);
	static const uint8_t name[] = "\1a\0";
	struct vg_qlog_entry e = entry("192.0.2.1", name, sizeof(name));
	vg_querylog_push(l, &e);
	for (int tries = 0; tries < 30 && access(path, F_OK) == 0; tries++) {
		struct vg_querylog_stats st;
		vg_querylog_stats(l, &st);
		if (st.written == 1)
			break;
		usleep(50000);
	}
	cr_assert_eq(rename(path, moved), 0);
	cr_assert_eq(vg_querylog_reopen(l), 0);
	e.rcode = 0;
	vg_querylog_push(l, &e);
	vg_querylog_close(l);
	json_t *lines[4];
	cr_expect_eq(read_lines(moved, lines, 4), 1);
	cr_expect_str_eq(json_string_value(json_object_get(lines[0], "rcode")), "NXDOMAIN");
	json_decref(lines[0]);
	cr_expect_eq(read_lines(path, lines, 4), 1);
	cr_expect_str_eq(json_string_value(json_object_get(lines[0], "rcode")), "NOERROR");
	json_decref(lines[0]);
	unlink(path);
	unlink(moved);
	cr_expect_eq(vg_querylog_reopen(NULL), -ENOENT);
}
