/* Fuzz target: the front end's client-query parser and the responses built from what it parsed
 * (daemon/query.c), including answers from local data (daemon/localdata.c) for the question.
 * Input: one UDP datagram from a client. */
#include <stdint.h>
#include <string.h>
#include <vigil/config.h>
#include <vigil/err.h>
#include "fuzz.h"
#include "localdata.h"
#include "query.h"

#define OUR_UDP 1232

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_config cfg;
static struct vg_localdata *ld;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	/* Local names for the questions to hit (besides the built-in zones). */
	static const char text[] = "local-data: \"lan. 300 SOA ns.lan. admin.lan. 1 2 3 4 5\"\n"
				   "local-data: \"router.lan. 300 A 192.168.1.1\"\n"
				   "local-data: \"router.lan. 300 AAAA fd00::1\"\n"
				   "local-data: \"lan. 300 MX 10 router.lan.\"\n"
				   "local-data: \"lan. 300 TXT \\\"a\\\" \\\"b\\\"\"\n"
				   "local-data: \"www.lan. 300 CNAME router.lan.\"\n";
	char err[512];
	if (vg_config_defaults(&cfg) != 0 ||
	    vg_config_parse(&cfg, "fuzz.conf", text, err, sizeof(err)) != 0 ||
	    vg_localdata_new(&cfg, &ld, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_query: %s\n", err);
		abort();
	}
	return 0;
}

static uint8_t out[65536 + 512];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65535)
		return 0; /* larger than any datagram or TCP message */
	struct vg_query q;
	int v = vg_query_parse(data, size, &q);
	VG_FUZZ_CHECK(v == VG_QUERY_OK || v == VG_QUERY_DROP || (v > 0 && v <= VG_RCODE_BADVERS));
	if (v == VG_QUERY_DROP)
		return 0;
	VG_FUZZ_CHECK(q.qname_len <= VG_NAME_MAX);
	if (q.has_question)
		VG_FUZZ_CHECK(vg_name_len(q.qname, q.qname_len) == q.qname_len);

	size_t limit = vg_query_udp_limit(&q, OUR_UDP);
	VG_FUZZ_CHECK(limit >= VG_UDP_PLAIN_MAX && limit <= OUR_UDP);

	/* The error response, into a roomy buffer and into one cut from the input's length. */
	int rcode = v > 0 ? v : VG_RCODE_SERVFAIL;
	uint16_t ede = (size & 1) ? VG_EDE_NONE : (uint16_t)(size % 30);
	const char *text = (size & 2) ? "fuzz text" : NULL;
	int n = vg_query_error(&q, rcode, ede, text, OUR_UDP, out, sizeof(out));
	VG_FUZZ_CHECK(n >= VG_DNS_HEADER);
	size_t small = size % 300;
	int f, m = vg_query_error(&q, rcode, ede, text, OUR_UDP, out, small);
	VG_FUZZ_CHECK(m == VG_ESPACE || (m == n && (size_t)m <= small));
	if (v != VG_QUERY_OK)
		return 0;

	/* The local answer path of the worker: answer, then ID, OPT and truncation. */
	size_t outlen = 0;
	int rc = vg_localdata_answer(ld, q.qname, q.qname_len, q.qtype, q.qclass, q.rd, out,
				     sizeof(out), &outlen);
	VG_FUZZ_CHECK(rc == 0 || rc == 1);
	if (rc == 1) {
		VG_FUZZ_CHECK(outlen >= VG_DNS_HEADER + q.qname_len + 4u && outlen <= sizeof(out));
		f = vg_query_finish(&q, out, outlen, sizeof(out), limit, ede, text, OUR_UDP);
		VG_FUZZ_CHECK(f > 0 && (size_t)f <= limit);
	}

	n = vg_query_any_answer(&q, out, sizeof(out));
	VG_FUZZ_CHECK(n > VG_DNS_HEADER);
	f = vg_query_finish(&q, out, (size_t)n, sizeof(out), limit, ede, text, OUR_UDP);
	VG_FUZZ_CHECK(f > 0 && (size_t)f <= limit);

	/* The datagram itself as an "answer" to truncate: exercises the RRset walk of the slow path
	 * with arbitrary sections (answers come from local data, the cache file or the resolver).
	 */
	for (size_t lim = 512; lim <= 4096; lim *= 8) {
		memcpy(out, data, size);
		f = vg_query_finish(&q, out, size, sizeof(out), lim, ede, text, OUR_UDP);
		VG_FUZZ_CHECK(f == VG_EFORMAT || f == VG_ESPACE ||
			      (f >= VG_DNS_HEADER && (size_t)f <= lim));
	}
	return 0;
}
