/* Unit tests of local answers (daemon/localdata.c): RFC 6761/6303 names and local-data, checked
 * by parsing every produced answer with ldns. */
#include <criterion/criterion.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vigil/config.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "localdata.h"

static struct vg_config cfg;
static struct vg_localdata *ld;
static ldns_pkt *pkt;
static uint8_t out[65535];
static size_t outlen;

static void fini(void)
{
	ldns_pkt_free(pkt);
	pkt = NULL;
	vg_localdata_free(ld);
	ld = NULL;
	vg_config_free(&cfg);
}

TestSuite(localdata, .fini = fini);

static void build(const char *text)
{
	char err[512];
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	cr_assert_eq(vg_config_parse(&cfg, "ld.conf", text, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vg_localdata_new(&cfg, &ld, err, sizeof(err)), 0, "%s", err);
}

/* Asks (name, type); returns vg_localdata_answer's result and leaves a parsed answer in pkt. */
static int ask(const char *name, uint16_t type)
{
	uint8_t wire[VG_NAME_MAX];
	int len = vg_name_from_text(name, wire);
	cr_assert_gt(len, 0, "bad test name %s", name);
	ldns_pkt_free(pkt);
	pkt = NULL;
	outlen = 0;
	int rc = vg_localdata_answer(ld, wire, (size_t)len, type, LDNS_RR_CLASS_IN, true, out,
				     sizeof(out), &outlen);
	if (rc == 1) {
		cr_assert_eq(ldns_wire2pkt(&pkt, out, outlen), LDNS_STATUS_OK, "unparsable answer");
		cr_assert_eq(ldns_pkt_id(pkt), 0);
		cr_assert(ldns_pkt_qr(pkt));
		cr_assert(ldns_pkt_aa(pkt));
		cr_assert(ldns_pkt_ra(pkt));
		cr_assert(ldns_pkt_rd(pkt));
		cr_assert_eq(ldns_pkt_qdcount(pkt), 1);
		cr_assert_eq(ldns_pkt_arcount(pkt), 0, "no OPT or additional records");
		ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
		cr_assert_eq(ldns_rr_get_type(q), type);
		/* The question keeps the client's spelling byte for byte. */
		cr_assert(memcmp(out + 12, wire, (size_t)len) == 0, "question name changed");
	}
	return rc;
}

static char *rr_text(ldns_rr_list *list, size_t i)
{
	static char buf[1024];
	char *s = ldns_rr2str(ldns_rr_list_rr(list, i));
	cr_assert_not_null(s);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	buf[strcspn(buf, "\n")] = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\t')
			*p = ' ';
	return buf;
}

static void expect_answer(const char *rr)
{
	cr_assert_eq(ldns_pkt_get_rcode(pkt), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(pkt), 1, "ancount %u", ldns_pkt_ancount(pkt));
	cr_assert_eq(ldns_pkt_nscount(pkt), 0);
	cr_assert_str_eq(rr_text(ldns_pkt_answer(pkt), 0), rr);
}

static void expect_negative(ldns_pkt_rcode rcode, const char *soa)
{
	cr_assert_eq(ldns_pkt_get_rcode(pkt), rcode);
	cr_assert_eq(ldns_pkt_ancount(pkt), 0);
	cr_assert_eq(ldns_pkt_nscount(pkt), 1);
	cr_assert_str_eq(rr_text(ldns_pkt_authority(pkt), 0), soa);
}

#define LOCAL_SOA(zone) zone " 10800 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 10800"

Test(localdata, localhost_addresses)
{
	build("");
	cr_assert_eq(ask("localhost.", LDNS_RR_TYPE_A), 1);
	expect_answer("localhost. 10800 IN A 127.0.0.1");
	cr_assert_eq(ask("localhost.", LDNS_RR_TYPE_AAAA), 1);
	expect_answer("localhost. 10800 IN AAAA ::1");
	cr_assert_eq(ask("localhost.", LDNS_RR_TYPE_MX), 1);
	expect_negative(LDNS_RCODE_NOERROR, LOCAL_SOA("localhost."));
	cr_assert_eq(ask("localhost.", LDNS_RR_TYPE_SOA), 1);
	expect_answer(LOCAL_SOA("localhost."));
}

Test(localdata, names_below_localhost_are_loopback)
{
	build("");
	cr_assert_eq(ask("x.localhost.", LDNS_RR_TYPE_A), 1);
	expect_answer("x.localhost. 10800 IN A 127.0.0.1");
	cr_assert_eq(ask("a.b.LocalHost.", LDNS_RR_TYPE_AAAA), 1);
	expect_answer("a.b.LocalHost. 10800 IN AAAA ::1");
	cr_assert_eq(ask("x.localhost.", LDNS_RR_TYPE_TXT), 1);
	expect_negative(LDNS_RCODE_NOERROR, LOCAL_SOA("localhost."));
}

Test(localdata, case_of_the_question_is_preserved)
{
	build("local-data: \"Router.LAN. 300 A 192.168.1.1\"\n");
	cr_assert_eq(ask("LoCaLhOsT.", LDNS_RR_TYPE_A), 1);
	expect_answer("LoCaLhOsT. 10800 IN A 127.0.0.1");
	cr_assert_eq(ask("rOUTER.lan.", LDNS_RR_TYPE_A), 1);
	expect_answer("rOUTER.lan. 300 IN A 192.168.1.1");
}

Test(localdata, reverse_loopback)
{
	build("");
	cr_assert_eq(ask("1.0.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_answer("1.0.0.127.in-addr.arpa. 10800 IN PTR localhost.");
	cr_assert_eq(ask("2.0.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_negative(LDNS_RCODE_NXDOMAIN, LOCAL_SOA("127.in-addr.arpa."));
	/* An empty non-terminal above the PTR exists: NODATA, not NXDOMAIN. */
	cr_assert_eq(ask("0.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_negative(LDNS_RCODE_NOERROR, LOCAL_SOA("127.in-addr.arpa."));
	const char *v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.";
	cr_assert_eq(ask(v6, LDNS_RR_TYPE_PTR), 1);
	char want[256];
	snprintf(want, sizeof(want), "%s 10800 IN PTR localhost.", v6);
	expect_answer(want);
}

Test(localdata, private_reverse_zones_are_nxdomain_with_soa)
{
	build("");
	const char *zones[] = {"10.in-addr.arpa.", "16.172.in-addr.arpa.", "31.172.in-addr.arpa.",
			       "168.192.in-addr.arpa.", "254.169.in-addr.arpa.",
			       "64.100.in-addr.arpa.", "127.100.in-addr.arpa.", "0.in-addr.arpa.",
			       "2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
			       "113.0.203.in-addr.arpa.", "255.255.255.255.in-addr.arpa.",
			       "d.f.ip6.arpa.", "8.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
			       "8.b.d.0.1.0.0.2.ip6.arpa.", "home.arpa.", "onion.", "test.",
			       "invalid."};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		char q[300], soa[400];
		snprintf(q, sizeof(q), "4.3.%s", zones[i]);
		snprintf(soa, sizeof(soa), LOCAL_SOA("%s"), zones[i]);
		cr_assert_eq(ask(q, LDNS_RR_TYPE_PTR), 1, "%s not local", q);
		expect_negative(LDNS_RCODE_NXDOMAIN, soa);
		cr_assert_eq(ask(zones[i], LDNS_RR_TYPE_NS), 1);
		snprintf(soa, sizeof(soa), "%s 10800 IN NS localhost.", zones[i]);
		expect_answer(soa);
	}
	/* The edges of the ranges are not local. */
	cr_assert_eq(ask("1.15.172.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
	cr_assert_eq(ask("1.32.172.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
	cr_assert_eq(ask("1.63.100.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
	cr_assert_eq(ask("1.128.100.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
	cr_assert_eq(ask("in-addr.arpa.", LDNS_RR_TYPE_NS), 0);
}

Test(localdata, forward_zone_equal_to_a_builtin_zone_replaces_it)
{
	build("forward-zone: \"168.192.in-addr.arpa. 127.0.0.1\"\n");
	cr_assert_eq(ask("4.3.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
	cr_assert_eq(ask("168.192.in-addr.arpa.", LDNS_RR_TYPE_NS), 0,
		     "apex is asked upstream too");
	cr_assert_eq(ask("168.192.in-addr.arpa.", LDNS_RR_TYPE_SOA), 0);
	/* The other private zones stay local. */
	cr_assert_eq(ask("4.3.10.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_negative(LDNS_RCODE_NXDOMAIN, LOCAL_SOA("10.in-addr.arpa."));
	cr_assert_eq(ask("1.0.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_answer("1.0.0.127.in-addr.arpa. 10800 IN PTR localhost.");
}

Test(localdata, forward_zone_inside_a_builtin_zone_carves_out_its_names)
{
	build("forward-zone: \"1.168.192.IN-ADDR.arpa. 127.0.0.1\"\n"
	      "forward-zone: \"d.f.ip6.arpa. ::1\"\n");
	cr_assert_eq(ask("5.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
	cr_assert_eq(ask("1.168.192.in-addr.arpa.", LDNS_RR_TYPE_NS), 0);
	cr_assert_eq(
	    ask("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
		LDNS_RR_TYPE_PTR),
	    0);
	/* The rest of 168.192.in-addr.arpa. is still answered here. */
	cr_assert_eq(ask("5.2.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_negative(LDNS_RCODE_NXDOMAIN, LOCAL_SOA("168.192.in-addr.arpa."));
	cr_assert_eq(ask("168.192.in-addr.arpa.", LDNS_RR_TYPE_NS), 1);
	expect_answer("168.192.in-addr.arpa. 10800 IN NS localhost.");
}

Test(localdata, forward_zone_above_a_builtin_zone_keeps_the_closer_builtin)
{
	build("forward-zone: \"in-addr.arpa. 127.0.0.1\"\n");
	cr_assert_eq(ask("4.3.10.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_negative(LDNS_RCODE_NXDOMAIN, LOCAL_SOA("10.in-addr.arpa."));
	cr_assert_eq(ask("8.8.8.8.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
}

Test(localdata, local_data_answers_its_names_inside_a_forward_zone)
{
	build("forward-zone: \"168.192.in-addr.arpa. 127.0.0.1\"\n"
	      "local-data: \"router.lan. 300 A 192.168.1.1\"\n"
	      "local-data: \"7.1.168.192.in-addr.arpa. 60 PTR printer.lan.\"\n");
	cr_assert_eq(ask("1.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_answer("1.1.168.192.in-addr.arpa. 300 IN PTR router.lan.");
	cr_assert_eq(ask("7.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_answer("7.1.168.192.in-addr.arpa. 60 IN PTR printer.lan.");
	/* Names without local data, and the empty non-terminal, go to the forwarder. */
	cr_assert_eq(ask("2.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
	cr_assert_eq(ask("1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 0);
}

Test(localdata, names_that_are_not_local_return_zero)
{
	build("local-data: \"router.lan. 300 A 192.168.1.1\"\n");
	cr_assert_eq(ask("www.example.com.", LDNS_RR_TYPE_A), 0);
	cr_assert_eq(ask("lan.", LDNS_RR_TYPE_A), 0);
	cr_assert_eq(ask("x.router.lan.", LDNS_RR_TYPE_A), 0);
	cr_assert_eq(ask("localhost.com.", LDNS_RR_TYPE_A), 0);
	cr_assert_eq(ask(".", LDNS_RR_TYPE_NS), 0);
	cr_assert_eq(outlen, 0);
}

Test(localdata, local_data_with_auto_ptr)
{
	build("local-data: \"router.lan. 300 A 192.168.1.1\"\n"
	      "local-data: \"router.lan. 300 AAAA fd00::1\"\n"
	      "local-data: \"alias.lan. 300 A 192.168.1.1\"\n"
	      "local-data: \"nas.lan. 300 A 192.168.1.2\"\n"
	      "local-data: \"2.1.168.192.in-addr.arpa. 60 PTR storage.lan.\"\n");
	cr_assert_eq(ask("router.lan.", LDNS_RR_TYPE_A), 1);
	expect_answer("router.lan. 300 IN A 192.168.1.1");
	cr_assert_eq(ask("1.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_answer("1.1.168.192.in-addr.arpa. 300 IN PTR router.lan.");
	/* The user's PTR wins over the one that would be made for nas.lan. */
	cr_assert_eq(ask("2.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_answer("2.1.168.192.in-addr.arpa. 60 IN PTR storage.lan.");
	cr_assert_eq(ask("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
			 LDNS_RR_TYPE_PTR),
		     1);
	cr_assert_eq(ldns_pkt_ancount(pkt), 1);
	cr_assert(strstr(rr_text(ldns_pkt_answer(pkt), 0), "PTR router.lan.") != NULL);
	/* Other names in the private reverse zone stay NXDOMAIN. */
	cr_assert_eq(ask("3.1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_negative(LDNS_RCODE_NXDOMAIN, LOCAL_SOA("168.192.in-addr.arpa."));
	/* ... and the empty non-terminal above the PTRs is NODATA. */
	cr_assert_eq(ask("1.168.192.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_negative(LDNS_RCODE_NOERROR, LOCAL_SOA("168.192.in-addr.arpa."));
}

Test(localdata, other_type_at_a_local_name_is_nodata)
{
	build("local-data: \"router.lan. 300 A 192.168.1.1\"\n");
	cr_assert_eq(ask("router.lan.", LDNS_RR_TYPE_MX), 1);
	expect_negative(LDNS_RCODE_NOERROR,
			"router.lan. 3600 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 3600");
	/* In a built-in zone the zone's SOA is used, its owner pointing into the question. */
	fini();
	build("local-data: \"box.home.arpa. 300 A 192.168.1.9\"\n");
	cr_assert_eq(ask("Box.Home.Arpa.", LDNS_RR_TYPE_AAAA), 1);
	expect_negative(LDNS_RCODE_NOERROR, LOCAL_SOA("Home.Arpa."));
	cr_assert_eq(ask("other.home.arpa.", LDNS_RR_TYPE_A), 1);
	expect_negative(LDNS_RCODE_NXDOMAIN, LOCAL_SOA("home.arpa."));
}

Test(localdata, rrsets_with_several_records_and_types)
{
	build("local-data: \"multi.lan. 300 A 10.0.0.1\"\n"
	      "local-data: \"multi.lan. 300 A 10.0.0.2\"\n"
	      "local-data: \"multi.lan. 300 A 10.0.0.2\"\n"
	      "local-data: \"multi.lan. 300 TXT \\\"hello world\\\"\"\n"
	      "local-data: \"multi.lan. 300 MX 10 mail.lan.\"\n"
	      "local-data: \"www.lan. 300 CNAME multi.lan.\"\n");
	cr_assert_eq(ask("multi.lan.", LDNS_RR_TYPE_A), 1);
	cr_assert_eq(ldns_pkt_ancount(pkt), 2, "duplicate record not merged");
	cr_assert_str_eq(rr_text(ldns_pkt_answer(pkt), 1), "multi.lan. 300 IN A 10.0.0.2");
	cr_assert_eq(ask("multi.lan.", LDNS_RR_TYPE_TXT), 1);
	expect_answer("multi.lan. 300 IN TXT \"hello world\"");
	cr_assert_eq(ask("multi.lan.", LDNS_RR_TYPE_MX), 1);
	expect_answer("multi.lan. 300 IN MX 10 mail.lan.");
	cr_assert_eq(ask("www.lan.", LDNS_RR_TYPE_A), 1);
	expect_answer("www.lan. 300 IN CNAME multi.lan.");
	/* A made PTR for 10.0.0.1 exists inside the static 10.in-addr.arpa. */
	cr_assert_eq(ask("1.0.0.10.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_answer("1.0.0.10.in-addr.arpa. 300 IN PTR multi.lan.");
}

Test(localdata, any_gets_one_rrset)
{
	build("local-data: \"multi.lan. 300 TXT x\"\n"
	      "local-data: \"multi.lan. 300 A 10.0.0.1\"\n"
	      "local-data: \"multi.lan. 300 A 10.0.0.2\"\n");
	cr_assert_eq(ask("multi.lan.", LDNS_RR_TYPE_ANY), 1);
	cr_assert_eq(ldns_pkt_get_rcode(pkt), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(pkt), 2);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0)), LDNS_RR_TYPE_A);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(pkt), 1)), LDNS_RR_TYPE_A);
	cr_assert_eq(ask("localhost.", LDNS_RR_TYPE_ANY), 1);
	expect_answer("localhost. 10800 IN A 127.0.0.1");
	cr_assert_eq(ask("z.localhost.", LDNS_RR_TYPE_ANY), 1);
	expect_answer("z.localhost. 10800 IN A 127.0.0.1");
}

Test(localdata, local_data_overrides_builtin_of_same_type)
{
	build("local-data: \"localhost. 60 A 127.0.0.2\"\n"
	      "local-data: \"printer.test. 60 A 192.0.2.80\"\n");
	cr_assert_eq(ask("localhost.", LDNS_RR_TYPE_A), 1);
	expect_answer("localhost. 60 IN A 127.0.0.2");
	cr_assert_eq(ask("localhost.", LDNS_RR_TYPE_AAAA), 1);
	expect_answer("localhost. 10800 IN AAAA ::1");
	cr_assert_eq(ask("printer.test.", LDNS_RR_TYPE_A), 1);
	expect_answer("printer.test. 60 IN A 192.0.2.80");
	cr_assert_eq(ask("scanner.test.", LDNS_RR_TYPE_A), 1);
	expect_negative(LDNS_RCODE_NXDOMAIN, LOCAL_SOA("test."));
}

Test(localdata, rd_flag_is_copied_and_class_must_be_in)
{
	build("");
	uint8_t wire[VG_NAME_MAX];
	int len = vg_name_from_text("localhost.", wire);
	cr_assert_eq(vg_localdata_answer(ld, wire, (size_t)len, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					 false, out, sizeof(out), &outlen),
		     1);
	cr_assert_eq(out[2] & 0x01, 0, "RD set though the query had none");
	cr_assert_eq(out[2] & 0x84, 0x84, "QR and AA");
	cr_assert_eq(vg_localdata_answer(ld, wire, (size_t)len, LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH,
					 true, out, sizeof(out), &outlen),
		     0);
}

Test(localdata, small_buffer_and_bad_names_are_errors)
{
	build("");
	uint8_t wire[VG_NAME_MAX];
	int len = vg_name_from_text("localhost.", wire);
	size_t need;
	cr_assert_eq(vg_localdata_answer(ld, wire, (size_t)len, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					 true, out, sizeof(out), &need),
		     1);
	cr_assert_eq(vg_localdata_answer(ld, wire, (size_t)len, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					 true, out, need - 1, &outlen),
		     VG_ESPACE);
	cr_assert_eq(vg_localdata_answer(ld, wire, (size_t)len - 1, LDNS_RR_TYPE_A,
					 LDNS_RR_CLASS_IN, true, out, sizeof(out), &outlen),
		     VG_EFORMAT);
	uint8_t bad[] = {70, 'a', 0};
	cr_assert_eq(vg_localdata_answer(ld, bad, sizeof(bad), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					 true, out, sizeof(out), &outlen),
		     VG_EFORMAT);
}

Test(localdata, bad_record_is_a_config_error)
{
	struct vg_local_rr rr = {.text = (char *)"router.lan. 300 A not-an-address", .line = 7};
	char err[256];
	cr_assert_eq(vg_config_defaults(&cfg), 0);
	free(cfg.path);
	cfg.path = strdup("my.conf");
	cfg.local_data = &rr;
	cfg.n_local_data = 1;
	cr_assert_eq(vg_localdata_new(&cfg, &ld, err, sizeof(err)), VG_ECONFIG);
	cr_assert_null(ld);
	cr_assert(strncmp(err, "my.conf:7: key 'local-data': bad record", 39) == 0, "got %s", err);
	/* a TTL above 2^31 - 1 is not a TTL (RFC 2181 8): never served */
	rr.text = (char *)"router.lan. 2147483648 A 192.168.1.1";
	cr_assert_eq(vg_localdata_new(&cfg, &ld, err, sizeof(err)), VG_ECONFIG, "2^31 accepted");
	rr.text = (char *)"router.lan. 4294967295 A 192.168.1.1";
	cr_assert_eq(vg_localdata_new(&cfg, &ld, err, sizeof(err)), VG_ECONFIG, "2^32-1 accepted");
	rr.text = (char *)"router.lan. 2147483647 A 192.168.1.1";
	cr_assert_eq(vg_localdata_new(&cfg, &ld, err, sizeof(err)), 0, "%s", err);
	vg_localdata_free(ld);
	ld = NULL;
	cfg.local_data = NULL;
	cfg.n_local_data = 0;
}

Test(localdata, ten_thousand_entries_stay_fast)
{
	size_t n = 10000, cap = n * 64, o = 0;
	char *text = malloc(cap);
	cr_assert_not_null(text);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, cap - o, "local-data: \"h%zu.lan. 300 A 10.%zu.%zu.%zu\"\n",
				      i, i >> 16, (i >> 8) & 255, i & 255);
	build(text);
	free(text);
	/* 10k A + 10k PTR + built-ins. */
	cr_assert_geq(vg_localdata_count(ld), 2 * n);
	cr_assert_eq(ask("h9999.lan.", LDNS_RR_TYPE_A), 1);
	expect_answer("h9999.lan. 300 IN A 10.0.39.15");
	cr_assert_eq(ask("15.39.0.10.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	expect_answer("15.39.0.10.in-addr.arpa. 300 IN PTR h9999.lan.");
	uint8_t names[64][VG_NAME_MAX];
	int lens[64];
	for (int i = 0; i < 64; i++) {
		char t[64];
		snprintf(t, sizeof(t), "H%d.lan.", i * 150);
		lens[i] = vg_name_from_text(t, names[i]);
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int iters = 200000;
	for (int i = 0; i < iters; i++) {
		int rc = vg_localdata_answer(ld, names[i & 63], (size_t)lens[i & 63], LDNS_RR_TYPE_A,
					     LDNS_RR_CLASS_IN, true, out, sizeof(out), &outlen);
		if (rc != 1)
			cr_assert_fail("lookup %d failed: %d", i, rc);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / iters;
	cr_log_info("local answer: %.0f ns per query with 10k entries", ns);
	/* Generous bound (sanitizers, loaded CI): a flat table answers in well under 10 us. */
	cr_assert_lt(ns, 10000.0, "%.0f ns per answer", ns);
}

Test(localdata, random_names_answer_or_decline_cleanly)
{
	build("local-data: \"router.lan. 300 A 192.168.1.1\"\n");
	static const char *const labels[] = {"localhost", "LAN", "router", "10", "in-addr", "arpa",
					     "168", "192", "x", "home", "onion", "1", "0", "127"};
	unsigned seed = 777;
	uint8_t wire[VG_NAME_MAX];
	for (int round = 0; round < 20000; round++) {
		size_t o = 0;
		int n = (int)(rand_r(&seed) % 7);
		for (int i = 0; i < n; i++) {
			const char *l = labels[rand_r(&seed) % (sizeof(labels) / sizeof(labels[0]))];
			size_t len = strlen(l);
			wire[o++] = (uint8_t)len;
			memcpy(wire + o, l, len);
			o += len;
		}
		wire[o++] = 0;
		size_t qlen = o;
		if (rand_r(&seed) % 8 == 0) /* sometimes a broken length */
			qlen = (size_t)(rand_r(&seed) % (o + 1));
		uint16_t qtype = (uint16_t)(rand_r(&seed) % 40);
		int rc = vg_localdata_answer(ld, wire, qlen, qtype, LDNS_RR_CLASS_IN, true, out,
					     sizeof(out), &outlen);
		cr_assert(rc == 0 || rc == 1 || rc == VG_EFORMAT, "rc %d", rc);
		if (rc == 1) {
			ldns_pkt *p = NULL;
			cr_assert_eq(ldns_wire2pkt(&p, out, outlen), LDNS_STATUS_OK);
			ldns_pkt_rcode r = ldns_pkt_get_rcode(p);
			cr_assert(r == LDNS_RCODE_NOERROR || r == LDNS_RCODE_NXDOMAIN);
			cr_assert_eq(ldns_pkt_ancount(p) + ldns_pkt_nscount(p) >= 1, 1);
			ldns_pkt_free(p);
		}
	}
}
