/* Fuzz target: the DNSSEC validator core on hostile records. A reply is parsed like one from an
 * authoritative server (vg_msg_parse); every RRset in it is then verified against the reply's
 * own DNSKEY RRset, that DNSKEY RRset against the reply's DS RRset and as its own anchor, and
 * the reply's NSEC/NSEC3 RRsets are used in every proof for the question.
 * Input: u8 control (the low 7 bits: labels of the qname that form the zone), then the message.
 * Checks: no crash, statuses and EDE codes from the documented sets, the per-request budget
 * respected. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <vigil/arena.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/resolver.h>
#include "dnssec.h"
#include "fuzz.h"
#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_arena arena;
static struct vg_validator *val;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	vg_arena_init(&arena, 0, 8u << 20);
	struct vg_dnssec_limits lim;
	vg_dnssec_limits_default(&lim);
	lim.nsec3_max_iterations = 150; /* hash as much as a configuration can ask */
	if (vg_validator_new(&lim, &val) != 0)
		abort();
	return 0;
}

static void check(const struct vg_dnssec_result *r, const struct vg_dnssec_work *w)
{
	VG_FUZZ_CHECK(r->status <= VG_DNSSEC_BOGUS);
	VG_FUZZ_CHECK(r->why != NULL);
	static const uint16_t ede[] = {VG_EDE_NONE,
				       VG_EDE_OTHER,
				       VG_EDE_UNSUPPORTED_DNSKEY_ALG,
				       VG_EDE_UNSUPPORTED_DS_DIGEST,
				       VG_EDE_DNSSEC_BOGUS,
				       VG_EDE_SIGNATURE_EXPIRED,
				       VG_EDE_SIGNATURE_NOT_YET_VALID,
				       VG_EDE_DNSKEY_MISSING,
				       VG_EDE_RRSIGS_MISSING,
				       VG_EDE_NSEC_MISSING,
				       VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS};
	bool known = false;
	for (size_t i = 0; i < sizeof(ede) / sizeof(ede[0]); i++)
		known |= r->ede == ede[i];
	VG_FUZZ_CHECK(known);
	VG_FUZZ_CHECK(r->status != VG_DNSSEC_SECURE || r->ede == VG_EDE_NONE);
	VG_FUZZ_CHECK(w->verifies <= VG_DNSSEC_VERIFY_MAX && w->hashes <= VG_DNSSEC_HASH_MAX);
}

/* The view of parsed RRset `ix` with the RRSIGs that cover it. */
static bool view_of(const struct vg_msg *m, const struct vg_rrset_ix *ix, struct vg_rrset_view *v)
{
	struct vg_rdata_ref *rd = vg_arena_alloc(&arena, (ix->n + 1) * sizeof(*rd));
	if (!rd)
		return false;
	memset(v, 0, sizeof(*v));
	v->owner = ix->owner;
	v->type = ix->type;
	v->rclass = 1;
	v->rd = rd;
	for (uint32_t i = 0; i < ix->n; i++) {
		const struct vg_rr *rr = &m->rr[m->members[ix->first + i]];
		v->ttl = rr->ttl;
		rd[v->n_rd++] = (struct vg_rdata_ref){rr->rdata, rr->rdlen};
	}
	const struct vg_rrset_ix *sigs =
	    vg_msg_rrset(m, ix->owner, ix->ohash, VG_TYPE_RRSIG, ix->type);
	if (sigs) {
		struct vg_rdata_ref *sg = vg_arena_alloc(&arena, (sigs->n + 1) * sizeof(*sg));
		if (!sg)
			return false;
		for (uint32_t i = 0; i < sigs->n; i++) {
			const struct vg_rr *rr = &m->rr[m->members[sigs->first + i]];
			sg[v->n_sig++] = (struct vg_rdata_ref){rr->rdata, rr->rdlen};
		}
		v->sig = sg;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	vg_arena_reset(&arena);
	struct vg_msg m;
	if (vg_msg_parse(&arena, data + 1, size - 1, &m) != 0)
		return 0;
	int labels = vg_name_labels(m.qname);
	const uint8_t *zone = vg_name_suffix(m.qname, (data[0] & 0x7f) % (labels + 1));

	struct vg_rrset_view *views = vg_arena_alloc(&arena, (m.n_sets + 1) * sizeof(*views));
	struct vg_rrset_view *proof = vg_arena_alloc(&arena, (m.n_sets + 1) * sizeof(*proof));
	if (!views || !proof)
		return 0;
	size_t nv = 0, np = 0;
	const struct vg_rrset_view *keys = NULL, *ds = NULL;
	for (size_t i = 0; i < m.n_sets; i++) {
		if (m.sets[i].type == VG_TYPE_RRSIG || !view_of(&m, &m.sets[i], &views[nv]))
			continue;
		if (views[nv].type == VG_TYPE_DNSKEY && !keys)
			keys = &views[nv];
		if (views[nv].type == VG_TYPE_DS && !ds)
			ds = &views[nv];
		if (views[nv].type == VG_TYPE_NSEC || views[nv].type == VG_TYPE_NSEC3)
			proof[np++] = views[nv];
		nv++;
	}

	struct vg_dnssec_work w = {0};
	struct vg_dnssec_result r;
	if (keys) {
		for (size_t i = 0; i < nv; i++) {
			vg_dnssec_verify_rrset(val, &w, &views[i], keys, &r);
			check(&r, &w);
		}
		if (ds) {
			vg_dnssec_verify_dnskey_ds(val, &w, keys, ds, &r);
			check(&r, &w);
		}
		vg_dnssec_verify_dnskey_anchor(val, &w, keys, keys, &r);
		check(&r, &w);
	}
	memset(&w, 0, sizeof(w));
	vg_dnssec_prove_nxdomain(val, &w, zone, m.qname, proof, np, &r);
	check(&r, &w);
	vg_dnssec_prove_nodata(val, &w, zone, m.qname, m.qtype, proof, np, &r);
	check(&r, &w);
	vg_dnssec_prove_wildcard(val, &w, zone, m.qname, (uint8_t)(data[0] >> 1), proof, np, &r);
	check(&r, &w);
	vg_dnssec_prove_insecure_delegation(val, &w, zone, m.qname, proof, np, &r);
	check(&r, &w);
	uint8_t wc[VG_NAME_MAX];
	enum vg_dnssec_denial d = vg_dnssec_denies(val, &w, zone, m.qname, m.qtype, proof, np, wc);
	VG_FUZZ_CHECK(d <= VG_DENY_WILDCARD);
	if (d == VG_DENY_WILDCARD)
		VG_FUZZ_CHECK(wc[0] == 1 && wc[1] == '*' && vg_name_in_zone(wc, zone));
	VG_FUZZ_CHECK(w.hashes <= VG_DNSSEC_HASH_MAX);
	return 0;
}
