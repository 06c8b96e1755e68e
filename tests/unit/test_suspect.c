/* Unit tests of the rebinding address classifier (resolver/hijack.c) and the suspicious-log
 * JSON encoding (daemon/suspect.c), read back with jansson. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/suspect.h>
#include "suspect.h"

static enum vg_addr_class cls(const char *text)
{
	uint8_t a[16];
	if (inet_pton(AF_INET, text, a) == 1)
		return vg_addr_class4(a);
	cr_assert_eq(inet_pton(AF_INET6, text, a), 1, "%s", text);
	return vg_addr_class6(a);
}

#define CLASS(text, want)                                                                          \
	cr_expect_eq(cls(text), want, "%s: %s, expected %s", text, vg_addr_class_name(cls(text)),  \
		     vg_addr_class_name(want))

Test(classify, ipv4_ranges_and_their_edges)
{
	CLASS("10.0.0.0", VG_ADDR_PRIVATE);
	CLASS("10.255.255.255", VG_ADDR_PRIVATE);
	CLASS("11.0.0.0", VG_ADDR_PUBLIC);
	CLASS("9.255.255.255", VG_ADDR_PUBLIC);
	CLASS("172.15.255.255", VG_ADDR_PUBLIC);
	CLASS("172.16.0.0", VG_ADDR_PRIVATE);
	CLASS("172.31.255.255", VG_ADDR_PRIVATE);
	CLASS("172.32.0.0", VG_ADDR_PUBLIC);
	CLASS("192.168.0.1", VG_ADDR_PRIVATE);
	CLASS("192.167.255.255", VG_ADDR_PUBLIC);
	CLASS("192.169.0.0", VG_ADDR_PUBLIC);
	CLASS("127.0.0.1", VG_ADDR_LOOPBACK);
	CLASS("127.255.255.255", VG_ADDR_LOOPBACK);
	CLASS("128.0.0.0", VG_ADDR_PUBLIC);
	CLASS("169.254.0.0", VG_ADDR_LINKLOCAL);
	CLASS("169.254.255.255", VG_ADDR_LINKLOCAL);
	CLASS("169.253.255.255", VG_ADDR_PUBLIC);
	CLASS("169.255.0.0", VG_ADDR_PUBLIC);
	CLASS("0.0.0.0", VG_ADDR_UNSPECIFIED);
	CLASS("0.255.255.255", VG_ADDR_UNSPECIFIED);
	CLASS("1.0.0.0", VG_ADDR_PUBLIC);
	CLASS("100.63.255.255", VG_ADDR_PUBLIC);
	CLASS("100.64.0.0", VG_ADDR_CGNAT);
	CLASS("100.127.255.255", VG_ADDR_CGNAT);
	CLASS("100.128.0.0", VG_ADDR_PUBLIC);
	CLASS("8.8.8.8", VG_ADDR_PUBLIC);
	CLASS("192.0.2.1", VG_ADDR_PUBLIC);
}

Test(classify, ipv6_ranges_mapped_and_nat64)
{
	CLASS("::1", VG_ADDR_LOOPBACK);
	CLASS("::", VG_ADDR_UNSPECIFIED);
	CLASS("::2", VG_ADDR_PUBLIC);
	CLASS("fc00::", VG_ADDR_PRIVATE);
	CLASS("fdff:ffff::1", VG_ADDR_PRIVATE);
	CLASS("fbff:ffff::1", VG_ADDR_PUBLIC);
	CLASS("fe00::1", VG_ADDR_PUBLIC);
	CLASS("fe80::1", VG_ADDR_LINKLOCAL);
	CLASS("febf:ffff::1", VG_ADDR_LINKLOCAL);
	CLASS("fec0::1", VG_ADDR_PUBLIC);
	CLASS("::ffff:10.0.0.1", VG_ADDR_PRIVATE);
	CLASS("::ffff:127.0.0.1", VG_ADDR_LOOPBACK);
	CLASS("::ffff:8.8.8.8", VG_ADDR_PUBLIC);
	CLASS("::fffe:10.0.0.1", VG_ADDR_PUBLIC);
	CLASS("64:ff9b::a00:1", VG_ADDR_PRIVATE);
	CLASS("64:ff9b::c0a8:101", VG_ADDR_PRIVATE);
	CLASS("64:ff9b::808:808", VG_ADDR_PUBLIC);
	CLASS("64:ff9b:1::a00:1", VG_ADDR_PUBLIC);
	CLASS("2001:db8::1", VG_ADDR_PUBLIC);
	CLASS("2606:4700::1111", VG_ADDR_PUBLIC);
}

Test(classify, sockaddr_of_either_family)
{
	struct vg_sockaddr a;
	cr_assert_eq(vg_sockaddr_parse("192.168.1.1@5353", 53, &a), 0);
	cr_expect_eq(vg_addr_class_sa(&a), VG_ADDR_PRIVATE);
	cr_assert_eq(vg_sockaddr_parse("2001:db8::1", 53, &a), 0);
	cr_expect_eq(vg_addr_class_sa(&a), VG_ADDR_PUBLIC);
}

static json_t *parse(char *line)
{
	cr_assert_not_null(line);
	cr_expect_null(strchr(line, '\n'), "one line: %s", line);
	json_error_t e;
	json_t *o = json_loads(line, 0, &e);
	cr_assert_not_null(o, "%s: %s", line, e.text);
	free(line);
	return o;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_string(v), "field %s", key);
	return json_string_value(v);
}

Test(encode, every_field_round_trips)
{
	/* "a\"b\\c\x00\xff.example." : a quote, a backslash, NUL and a high byte in a label. */
	const uint8_t qname[] = {7,   'a', '"', 'b', '\\', 'c', 0,   0xff, 7,
				 'e', 'x', 'a', 'm', 'p',  'l', 'e', 0};
	const uint8_t reply[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xfb};
	const char *recs[] = {"evil.example. 300 IN A 192.168.1.1",
			      "evil.example. 300 IN AAAA ::1"};
	struct vg_sockaddr client, server;
	cr_assert_eq(vg_sockaddr_parse("127.0.0.1@40000", 53, &client), 0);
	cr_assert_eq(vg_sockaddr_parse("2001:db8::53@5300", 53, &server), 0);
	struct vg_suspect_event ev = {
	    .reason = VG_SUSPECT_REBINDING,
	    .action = VG_SUSPECT_BLOCKED,
	    .qname = qname,
	    .qtype = 28,
	    .client = &client,
	    .server = &server,
	    .tcp = true,
	    .records = recs,
	    .n_records = 2,
	    .served = "an empty answer",
	    .reply = reply,
	    .reply_len = sizeof(reply),
	};
	/* 2026-12-07T05:06:14.007Z */
	json_t *o = parse(vg_suspect_encode(&ev, 1796619974007ll));
	cr_expect_str_eq(str(o, "time"), "2026-12-07T05:06:14.007Z");
	cr_expect_str_eq(str(o, "reason"), "rebinding");
	cr_expect_str_eq(str(o, "action"), "blocked");
	cr_expect_str_eq(str(o, "qname"), "a\\\"b\\\\c\\000\\255.example.");
	cr_expect_str_eq(str(o, "qtype"), "AAAA");
	cr_expect_str_eq(str(o, "client"), "127.0.0.1");
	cr_expect_str_eq(str(o, "server"), "2001:db8::53");
	cr_expect_eq(json_integer_value(json_object_get(o, "port")), 5300);
	cr_expect_str_eq(str(o, "transport"), "tcp");
	json_t *r = json_object_get(o, "records");
	cr_assert_eq(json_array_size(r), 2);
	cr_expect_str_eq(json_string_value(json_array_get(r, 0)), recs[0]);
	cr_expect_str_eq(json_string_value(json_array_get(r, 1)), recs[1]);
	cr_expect_str_eq(str(o, "served"), "an empty answer");
	cr_expect_str_eq(str(o, "reply"), "EjSBgAABAAEAAAAA+w==");
	json_decref(o);
}

Test(encode, without_client_and_base64_padding)
{
	const uint8_t qname[] = {0};
	const uint8_t reply[] = {1, 2};
	struct vg_sockaddr server;
	cr_assert_eq(vg_sockaddr_parse("127.53.1.1", 53, &server), 0);
	struct vg_suspect_event ev = {.reason = VG_SUSPECT_REBINDING,
				      .action = VG_SUSPECT_LOGGED,
				      .qname = qname,
				      .qtype = 1,
				      .server = &server,
				      .reply = reply,
				      .reply_len = sizeof(reply)};
	json_t *o = parse(vg_suspect_encode(&ev, 0));
	cr_expect_str_eq(str(o, "time"), "1970-01-01T00:00:00.000Z");
	cr_expect_null(json_object_get(o, "client"));
	cr_expect_str_eq(str(o, "qname"), ".");
	cr_expect_str_eq(str(o, "qtype"), "A");
	cr_expect_str_eq(str(o, "action"), "logged");
	cr_expect_str_eq(str(o, "transport"), "udp");
	cr_expect_eq(json_integer_value(json_object_get(o, "port")), 53);
	cr_expect_eq(json_array_size(json_object_get(o, "records")), 0);
	cr_expect_str_eq(str(o, "reply"), "AQI=");
	json_decref(o);
}

Test(encode, spoof_attempt_counts_and_sources)
{
	const uint8_t qname[] = {3, 'w', 'w', 'w', 0};
	struct vg_sockaddr server, other;
	cr_assert_eq(vg_sockaddr_parse("127.53.9.6", 53, &server), 0);
	cr_assert_eq(vg_sockaddr_parse("192.0.2.7@5353", 53, &other), 0);
	const struct vg_suspect_count counts[] = {{"wrong-id", 3}, {"wrong-case", 1}};
	const struct vg_suspect_source src[] = {{server, false}, {other, true}};
	struct vg_suspect_event ev = {.reason = VG_SUSPECT_SPOOF_ATTEMPT,
				      .action = VG_SUSPECT_RETRIED,
				      .qname = qname,
				      .qtype = 1,
				      .server = &server,
				      .counts = counts,
				      .n_counts = 2,
				      .sources = src,
				      .n_sources = 2};
	json_t *o = parse(vg_suspect_encode(&ev, 0));
	cr_expect_str_eq(str(o, "reason"), "spoof-attempt");
	cr_expect_str_eq(str(o, "action"), "retried");
	json_t *c = json_object_get(o, "counts");
	cr_assert(json_is_object(c));
	cr_expect_eq(json_integer_value(json_object_get(c, "wrong-id")), 3);
	cr_expect_eq(json_integer_value(json_object_get(c, "wrong-case")), 1);
	json_t *s = json_object_get(o, "sources");
	cr_assert_eq(json_array_size(s), 2);
	cr_expect_str_eq(str(json_array_get(s, 0), "address"), "127.53.9.6");
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(s, 0), "port")), 53);
	cr_expect_str_eq(str(json_array_get(s, 0), "transport"), "udp");
	cr_expect_str_eq(str(json_array_get(s, 1), "address"), "192.0.2.7");
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(s, 1), "port")), 5353);
	cr_expect_str_eq(str(json_array_get(s, 1), "transport"), "tcp");
	cr_expect_null(json_object_get(o, "first_reply"));
	json_decref(o);
}

Test(encode, second_answer_carries_both_replies)
{
	const uint8_t qname[] = {0};
	const uint8_t first[] = {1, 2, 3}, second[] = {4, 5};
	struct vg_sockaddr server;
	cr_assert_eq(vg_sockaddr_parse("127.53.9.16", 53, &server), 0);
	struct vg_suspect_event ev = {.reason = VG_SUSPECT_SECOND_ANSWER,
				      .action = VG_SUSPECT_QUARANTINED,
				      .qname = qname,
				      .qtype = 1,
				      .server = &server,
				      .reply = second,
				      .reply_len = sizeof(second),
				      .first_reply = first,
				      .first_reply_len = sizeof(first)};
	json_t *o = parse(vg_suspect_encode(&ev, 0));
	cr_expect_str_eq(str(o, "reason"), "second-answer");
	cr_expect_str_eq(str(o, "action"), "quarantined");
	cr_expect_str_eq(str(o, "reply"), "BAU=");
	cr_expect_str_eq(str(o, "first_reply"), "AQID");
	cr_expect_null(json_object_get(o, "counts"));
	cr_expect_null(json_object_get(o, "sources"));
	json_decref(o);
}
