/* Fuzz target: what the resolver does with a reply from an authoritative server or forwarder:
 * strict matching against the query (vg_upstream_match), parsing with name decompression
 * (vg_msg_parse) and the scrubber's bailiwick rules and classification (vg_scrub).
 * Input: u8 control (bit 0: forwarder; the rest: labels of the qname that form the server's
 * zone), then the reply message. The qname and qtype are the reply's own question, as for a
 * reply that passed the transport's match. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <vigil/arena.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/upstream.h>
#include "fuzz.h"
#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_arena arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	vg_arena_init(&arena, 0, 4u << 20);
	return 0;
}

static uint8_t wbuf[65536];

static void check_verdict(const struct vg_msg *m, const uint8_t *zone, const uint8_t *qname,
			  const struct vg_verdict *v)
{
	unsigned dropped = 0;
	for (size_t i = 0; i < m->n_rr; i++) {
		const struct vg_rr *rr = &m->rr[i];
		dropped += rr->drop;
		VG_FUZZ_CHECK(vg_name_len(rr->owner, VG_NAME_MAX) > 0);
		size_t n = vg_rr_write(wbuf, sizeof(wbuf), rr, rr->ttl);
		VG_FUZZ_CHECK(n == vg_rr_wire_len(rr));
		if (rr->drop)
			continue;
		/* The bailiwick rule: nothing the server may not speak for survives. */
		VG_FUZZ_CHECK(vg_name_in_zone(rr->owner, zone));
	}
	VG_FUZZ_CHECK(dropped == v->dropped);
	VG_FUZZ_CHECK(vg_name_len(v->target, sizeof(v->target)) > 0);
	if (v->kind == VG_REPLY_REFERRAL) {
		VG_FUZZ_CHECK(vg_name_in_zone(v->cut, zone) && !vg_name_eq(v->cut, zone));
		VG_FUZZ_CHECK(vg_name_in_zone(qname, v->cut));
	}
	if (v->soa)
		VG_FUZZ_CHECK(v->soa->type == VG_TYPE_SOA && !v->soa->drop);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	uint8_t ctl = data[0];
	const uint8_t *pkt = data + 1;
	size_t len = size - 1;

	vg_arena_reset(&arena);
	struct vg_msg m;
	int rc = vg_msg_parse(&arena, pkt, len, &m);
	VG_FUZZ_CHECK(rc == 0 || rc == VG_EFORMAT || rc == VG_ETRUNC || rc == VG_ELOOP ||
		      rc == -ENOMEM);
	if (rc != 0)
		return 0;
	int ql = vg_name_len(m.qname, VG_NAME_MAX);
	VG_FUZZ_CHECK(ql > 0);

	/* The query this reply answers, as the iterator would have sent it. */
	uint8_t query[512];
	int qlen = vg_query_build(query, sizeof(query), m.id, m.qname, m.qtype, m.qclass, true,
				  ctl & 2, ctl & 4);
	VG_FUZZ_CHECK(qlen > 12);
	enum vg_upstream_match mt = vg_upstream_match(query, (size_t)qlen, pkt, len);
	VG_FUZZ_CHECK(mt <= VG_MATCH_CASE);
	if (!(pkt[2] & 0x80))
		VG_FUZZ_CHECK(mt == VG_MATCH_NOT_REPLY);

	int labels = vg_name_labels(m.qname);
	const uint8_t *zone = vg_name_suffix(m.qname, (ctl >> 3) % (labels + 1));
	struct vg_verdict v;
	rc = vg_scrub(&m, zone, m.qname, m.qtype, ctl & 1, &v);
	VG_FUZZ_CHECK(rc == 0);
	check_verdict(&m, zone, m.qname, &v);

	/* The same reply judged for the root zone (a root server's reply). */
	static const uint8_t root[] = {0};
	rc = vg_scrub(&m, root, m.qname, m.qtype, false, &v);
	VG_FUZZ_CHECK(rc == 0);
	check_verdict(&m, root, m.qname, &v);
	return 0;
}
