/* Fuzz target: the front end's client-query parser and the responses built from what it parsed
 * (daemon/query.c). Input: one UDP datagram from a client. */
#include <stdint.h>
#include <string.h>
#include <vigil/err.h>
#include "fuzz.h"
#include "query.h"

#define OUR_UDP 1232

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
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
	int m = vg_query_error(&q, rcode, ede, text, OUR_UDP, out, small);
	VG_FUZZ_CHECK(m == VG_ESPACE || (m == n && (size_t)m <= small));
	if (v != VG_QUERY_OK)
		return 0;

	n = vg_query_any_answer(&q, out, sizeof(out));
	VG_FUZZ_CHECK(n > VG_DNS_HEADER);
	int f = vg_query_finish(&q, out, (size_t)n, sizeof(out), limit, ede, text, OUR_UDP);
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
