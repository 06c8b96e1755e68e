/* Unit tests of the hit path's answers built from the rrset DB (cache/hit.c): flags, TTLs, the
 * client's 0x20 spelling, DO/CD/AD, stale, ranks, and which answers the answer DB still keeps. */
#include "cache_test.h"

TestSuite(cache_hit, .init = mkdir_tmp, .fini = rm_tmp);

/* An RRSIG rdata covering `type` with `labels`, expiring far in the future; returns its length. */
static uint16_t sig_rdata(uint8_t *rd, uint16_t type, uint8_t labels)
{
	memset(rd, 0, 40);
	vg_put_u16(rd, type);
	rd[2] = 13; /* algorithm */
	rd[3] = labels;
	vg_put_u32(rd + 4, 300);	     /* original TTL */
	vg_put_u32(rd + 8, T0 + 30 * 86400); /* expiration */
	vg_put_u32(rd + 12, T0 - 86400);     /* inception */
	vg_put_u16(rd + 16, 12345);
	size_t n = W("example.com.", rd + 18);
	memset(rd + 18 + n, 0xAB, 16); /* a short fake signature */
	return (uint16_t)(18 + n + 16);
}

struct set {
	const char *owner;
	uint16_t type, rclass;
	uint32_t ttl;
	uint8_t rank, sec, flags;
	int n_sigs;
	uint8_t sig_labels;
};

/* Stores an RRset of A1 and A2 (for A) with the given attributes, and syncs. */
static void put_set(struct vg_cache *c, const struct set *s, uint32_t now)
{
	uint8_t o[VG_NAME_MAX], rd[64], sg[256];
	W(s->owner, o);
	vg_put_u16(rd, 4);
	memcpy(rd + 2, A1, 4);
	vg_put_u16(rd + 6, 4);
	memcpy(rd + 8, A2, 4);
	size_t sl = 0;
	for (int i = 0; i < s->n_sigs; i++) {
		uint16_t n = sig_rdata(sg + sl + 2, s->type, s->sig_labels);
		sg[sl + 2 + 17] = (uint8_t)i; /* distinct key tags */
		vg_put_u16(sg + sl, n);
		sl += 2 + (size_t)n;
	}
	struct vg_cache_rrset rs = {.owner = o,
				    .type = s->type,
				    .rclass = s->rclass ? s->rclass : 1,
				    .ttl = s->ttl,
				    .rank = s->rank,
				    .sec = s->sec,
				    .flags = s->flags,
				    .rr_count = 2,
				    .rdata = rd,
				    .rdata_len = 12,
				    .sig_count = (uint16_t)s->n_sigs,
				    .sigs = sg,
				    .sigs_len = sl};
	cr_assert_eq(vg_cache_rrset_put(c, &rs, now), 0);
	vg_cache_sync(c);
}

struct q {
	const char *name;
	uint16_t type, qclass;
	bool do_bit, cd_bit;
	int stale;
};

static int ask(struct vg_cache *c, const struct q *q, uint32_t now, uint8_t *out, size_t cap,
	       size_t *len, unsigned *flags)
{
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	cr_assert_not_null(rd);
	cr_assert_eq(vg_cache_read_begin(rd), 0);
	uint8_t qn[VG_NAME_MAX];
	size_t ql = W(q->name, qn);
	int rc = vg_cache_rrset_answer(rd, qn, ql, q->type, q->qclass ? q->qclass : 1, q->do_bit,
				       q->cd_bit, 0xBEEF, now, out, cap, len, flags, q->stale);
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	return rc;
}

/* Walks an answer: every record's owner must read back as `owner` (through its compression
 * pointer), type and TTL are returned per record. Returns the record count. */
static unsigned walk(const uint8_t *b, size_t len, const char *owner, uint16_t *types,
		     uint32_t *ttls)
{
	uint8_t want[VG_NAME_MAX], got[VG_NAME_MAX];
	size_t wl = W(owner, want);
	size_t pos = 12;
	cr_assert_gt(vg_name_unpack(b, len, &pos, got), 0);
	pos += 4;
	unsigned total = vg_get_u16(b + 6) + vg_get_u16(b + 8) + vg_get_u16(b + 10);
	for (unsigned i = 0; i < total; i++) {
		struct vg_dns_rr rr;
		cr_assert_gt(vg_dns_rr_read(b, len, &pos, got, &rr), 0, "record %u does not parse",
			     i);
		cr_assert_eq(memcmp(got, want, wl), 0, "record %u: owner is not the client's name",
			     i);
		cr_assert_eq(b[rr.owner], 0xC0, "record %u: owner not compressed", i);
		types[i] = rr.type;
		ttls[i] = rr.ttl;
		pos += rr.rdlen;
	}
	cr_assert_eq(pos, len, "trailing bytes");
	return total;
}

Test(cache_hit, answer_from_rrset_has_header_client_case_pointers_and_time_left)
{
	struct vg_cache *c = open_default();
	put_set(c, &(struct set){"www.example.com.", 1, 1, 300, 0x15, VG_SEC_SECURE, 0, 1, 3}, T0);
	uint8_t out[4096];
	size_t len = 0;
	unsigned fl = 99;
	cr_assert_eq(ask(c, &(struct q){.name = "WwW.ExAmple.COM.", .type = 1}, T0 + 100, out,
			 sizeof(out), &len, &fl),
		     0);
	cr_assert_eq(vg_get_u16(out), 0xBEEF);
	cr_assert_eq(out[2], 0x80, "QR only: no AA, no TC, no RD (the front end sets RD)");
	cr_assert_eq(out[3], 0xA0, "RA and AD (secure, CD=0), rcode NOERROR");
	cr_assert_eq(vg_get_u16(out + 4), 1);
	cr_assert_eq(vg_get_u16(out + 6), 2, "the RRSIG only for DO");
	cr_assert_eq(vg_get_u16(out + 8), 0);
	cr_assert_eq(vg_get_u16(out + 10), 0);
	cr_assert_eq(memcmp(out + 13, "WwW", 3), 0, "client's 0x20 spelling not written");
	cr_assert_eq(memcmp(out + 17, "ExAmple", 7), 0);
	cr_assert_eq(vg_get_u16(out + 29), 1);
	cr_assert_eq(vg_get_u16(out + 31), 1);
	uint16_t types[8];
	uint32_t ttls[8];
	cr_assert_eq(walk(out, len, "WwW.ExAmple.COM.", types, ttls), 2);
	cr_assert_eq(types[0], 1);
	cr_assert_eq(ttls[0], 200);
	cr_assert_eq(ttls[1], 200);
	cr_assert_eq(memcmp(out + len - 4, A2, 4), 0);
	cr_assert_eq(memcmp(out + len - 20, A1, 4), 0);
	cr_assert_eq(len, 12 + 17 + 4 + 2 * (12 + 4));
	cr_assert_eq(fl, 0);
	vg_cache_close(c);
}

Test(cache_hit, do_adds_rrsigs_cd_drops_ad_insecure_never_ad)
{
	struct vg_cache *c = open_default();
	put_set(c, &(struct set){"www.example.com.", 1, 1, 300, 0x15, VG_SEC_SECURE, 0, 2, 3}, T0);
	put_set(c, &(struct set){"a.example.net.", 1, 1, 300, 0x15, VG_SEC_INSECURE, 0, 0, 0}, T0);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	uint16_t types[8];
	uint32_t ttls[8];
	cr_assert_eq(
	    ask(c, &(struct q){.name = "www.example.com.", .type = 1, .qclass = 0, .do_bit = true},
		T0 + 10, out, 4096, &len, &fl),
	    0);
	cr_assert_eq(walk(out, len, "www.example.com.", types, ttls), 4);
	cr_assert_eq(types[1], 1);
	cr_assert_eq(types[2], VG_TYPE_RRSIG);
	cr_assert_eq(types[3], VG_TYPE_RRSIG);
	cr_assert_eq(ttls[3], 290, "RRSIGs show the time left too");
	cr_assert(out[3] & 0x20);
	cr_assert_eq(ask(c,
			 &(struct q){.name = "www.example.com.",
				     .type = 1,
				     .qclass = 0,
				     .do_bit = true,
				     .cd_bit = true},
			 T0 + 10, out, 4096, &len, &fl),
		     0);
	cr_assert_eq(out[3] & 0x20, 0, "AD with CD=1");
	cr_assert_eq(walk(out, len, "www.example.com.", types, ttls), 4, "CD=1 still gets RRSIGs");
	cr_assert_eq(
	    ask(c, &(struct q){.name = "a.example.net.", .type = 1, .qclass = 0, .do_bit = true},
		T0 + 10, out, 4096, &len, &fl),
	    0);
	cr_assert_eq(out[3], 0x80, "AD on insecure data");
	vg_cache_close(c);
}

Test(cache_hit, unchecked_data_answers_cd_forwarded_or_without_validation_only)
{
	struct vg_cache *c = open_default();
	put_set(c,
		&(struct set){"www.example.com.", 1, 1, 300, 0x15, VG_SEC_INDETERMINATE, 0, 0, 0},
		T0);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(ask(c, &(struct q){.name = "www.example.com.", .type = 1}, T0 + 1, out, 4096,
			 &len, &fl),
		     VG_ENOTFOUND, "unchecked data answered a CD=0 question of a validator");
	cr_assert_eq(ask(c,
			 &(struct q){.name = "www.example.com.",
				     .type = 1,
				     .qclass = 0,
				     .do_bit = false,
				     .cd_bit = true},
			 T0 + 1, out, 4096, &len, &fl),
		     0);
	cr_assert_eq(out[3], 0x80);
	/* forwarded data is never validated: it answers as it is, without AD */
	put_set(c,
		&(struct set){"fwd.example.com.", 1, 1, 300, VG_RANK_AUTH_ANSWER,
			      VG_SEC_INDETERMINATE, 0, 0, 0},
		T0);
	cr_assert_eq(ask(c, &(struct q){.name = "fwd.example.com.", .type = 1}, T0 + 1, out, 4096,
			 &len, &fl),
		     0);
	cr_assert_eq(out[3], 0x80);
	vg_cache_close(c);

	struct vg_cache_opts o;
	opts_init(&o);
	o.dnssec_off = true;
	c = open_with(&o);
	cr_assert_eq(ask(c, &(struct q){.name = "www.example.com.", .type = 1}, T0 + 1, out, 4096,
			 &len, &fl),
		     0);
	cr_assert_eq(out[3], 0x80, "never AD without validation");
	vg_cache_close(c);
}

Test(cache_hit, glue_additional_bogus_and_insecure_reasons_never_answer)
{
	struct vg_cache *c = open_default();
	put_set(c,
		&(struct set){"glue.example.com.", 1, 1, 300, VG_RANK_GLUE | VG_RANK_ITERATED,
			      VG_SEC_INDETERMINATE, 0, 0, 0},
		T0);
	put_set(c,
		&(struct set){"add.example.com.", 1, 1, 300, VG_RANK_ADDITIONAL | VG_RANK_ITERATED,
			      VG_SEC_SECURE, 0, 0, 0},
		T0);
	put_set(c,
		&(struct set){"na.example.com.", 1, 1, 300, VG_RANK_NONAUTH_ANSWER, VG_SEC_SECURE,
			      0, 0, 0},
		T0);
	put_set(c,
		&(struct set){"alg.example.com.", 1, 1, 300, 0x15, VG_SEC_INSECURE,
			      VG_CACHE_F_INSECURE_ALG, 0, 0},
		T0);
	put_set(c,
		&(struct set){"iter.example.com.", 1, 1, 300, 0x15, VG_SEC_INSECURE,
			      VG_CACHE_F_INSECURE_ITER, 0, 0},
		T0);
	put_set(c, &(struct set){"bogus.example.com.", 1, 1, 300, 0x15, VG_SEC_BOGUS, 0, 0, 0}, T0);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	const char *never[] = {"glue.example.com.", "add.example.com.", "alg.example.com.",
			       "iter.example.com.", "bogus.example.com."};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		for (int cd = 0; cd < 2; cd++)
			cr_assert_eq(ask(c,
					 &(struct q){.name = never[i],
						     .type = 1,
						     .qclass = 0,
						     .do_bit = false,
						     .cd_bit = cd},
					 T0 + 1, out, 4096, &len, &fl),
				     VG_ENOTFOUND, "%s answered (CD=%d)", never[i], cd);
	cr_assert_eq(
	    ask(c, &(struct q){.name = "na.example.com.", .type = 1}, T0 + 1, out, 4096, &len, &fl),
	    0, "a non-authoritative answer answers");
	vg_cache_close(c);
}

Test(cache_hit, stale_prefetch_and_expiry_follow_the_entry)
{
	struct vg_cache *c = open_default();
	put_set(c, &(struct set){"www.example.com.", 1, 1, 300, 0x15, VG_SEC_SECURE, 0, 0, 0}, T0);
	put_set(c,
		&(struct set){"sus.example.com.", 1, 1, 300, 0x15, VG_SEC_SECURE,
			      VG_CACHE_F_SUSPECT, 0, 0},
		T0);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	uint16_t types[4];
	uint32_t ttls[4];
	cr_assert_eq(ask(c, &(struct q){.name = "www.example.com.", .type = 1}, T0 + 280, out, 4096,
			 &len, &fl),
		     0);
	cr_assert_eq(fl, VG_CACHE_PREFETCH);
	walk(out, len, "www.example.com.", types, ttls);
	cr_assert_eq(ttls[0], 20);
	cr_assert_eq(ask(c, &(struct q){.name = "www.example.com.", .type = 1}, T0 + 400, out, 4096,
			 &len, &fl),
		     VG_ESTALE);
	cr_assert_eq(ask(c,
			 &(struct q){.name = "www.example.com.",
				     .type = 1,
				     .qclass = 0,
				     .do_bit = false,
				     .cd_bit = false,
				     .stale = 600},
			 T0 + 400, out, 4096, &len, &fl),
		     0);
	cr_assert_eq(fl, VG_CACHE_STALE);
	cr_assert_eq(out[3], 0x80, "a stale answer shown validated");
	walk(out, len, "www.example.com.", types, ttls);
	cr_assert_eq(ttls[0], VG_CACHE_STALE_TTL);
	cr_assert_eq(ttls[1], VG_CACHE_STALE_TTL);
	cr_assert_eq(ask(c,
			 &(struct q){.name = "www.example.com.",
				     .type = 1,
				     .qclass = 0,
				     .do_bit = false,
				     .cd_bit = false,
				     .stale = 50},
			 T0 + 400, out, 4096, &len, &fl),
		     VG_ESTALE, "served past the stale window");
	cr_assert_eq(ask(c, &(struct q){.name = "sus.example.com.", .type = 1}, T0 + 10, out, 4096,
			 &len, &fl),
		     0);
	cr_assert_eq(ask(c,
			 &(struct q){.name = "sus.example.com.",
				     .type = 1,
				     .qclass = 0,
				     .do_bit = false,
				     .cd_bit = false,
				     .stale = 600},
			 T0 + 400, out, 4096, &len, &fl),
		     VG_ESTALE, "a suspect entry served stale");
	vg_cache_close(c);
}

Test(cache_hit, wildcard_expansion_with_do_is_left_to_the_answer_db)
{
	struct vg_cache *c = open_default();
	/* signed by *.example.com (2 labels) for a 3-label owner */
	put_set(c, &(struct set){"x.example.com.", 1, 1, 300, 0x15, VG_SEC_SECURE, 0, 1, 2}, T0);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(
	    ask(c, &(struct q){.name = "x.example.com.", .type = 1, .qclass = 0, .do_bit = true},
		T0 + 1, out, 4096, &len, &fl),
	    VG_ENOTFOUND, "a DO answer without its wildcard proof");
	cr_assert_eq(
	    ask(c, &(struct q){.name = "x.example.com.", .type = 1}, T0 + 1, out, 4096, &len, &fl),
	    0);
	cr_assert_eq(vg_get_u16(out + 6), 2);
	vg_cache_close(c);
}

Test(cache_hit, negative_entries_delegations_other_classes_and_small_buffers)
{
	struct vg_cache *c = open_default();
	put_neg(c, "nx.example.com.", 1, true, 300, 300, T0);
	put_neg(c, "nd.example.com.", 1, false, 300, 300, T0);
	uint8_t ns[64];
	uint16_t nsl = (uint16_t)W("ns.example.com.", ns);
	put_deleg(c, "sub.example.com.", 300, 0x14, ns, nsl, T0);
	put_set(c, &(struct set){"www.example.com.", 1, 1, 300, 0x15, VG_SEC_SECURE, 0, 0, 0}, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(
	    ask(c, &(struct q){.name = "nx.example.com.", .type = 1}, T0 + 1, out, 4096, &len, &fl),
	    VG_ENOTFOUND);
	cr_assert_eq(
	    ask(c, &(struct q){.name = "nx.example.com.", .type = 0}, T0 + 1, out, 4096, &len, &fl),
	    VG_ENOTFOUND);
	cr_assert_eq(
	    ask(c, &(struct q){.name = "nd.example.com.", .type = 1}, T0 + 1, out, 4096, &len, &fl),
	    VG_ENOTFOUND);
	cr_assert_eq(ask(c, &(struct q){.name = "sub.example.com.", .type = 2}, T0 + 1, out, 4096,
			 &len, &fl),
		     VG_ENOTFOUND, "a delegation answered an NS question");
	cr_assert_eq(ask(c, &(struct q){.name = "sub.example.com.", .type = 0xFF02}, T0 + 1, out,
			 4096, &len, &fl),
		     VG_ENOTFOUND, "the delegation key type read by a client");
	cr_assert_eq(ask(c, &(struct q){.name = "www.example.com.", .type = 1, .qclass = 3}, T0 + 1,
			 out, 4096, &len, &fl),
		     VG_ENOTFOUND, "class CH answered from class IN data");
	cr_assert_eq(
	    ask(c, &(struct q){.name = "www.example.com.", .type = 1}, T0 + 1, out, 40, &len, &fl),
	    VG_ESPACE);
	cr_assert_eq(
	    ask(c, &(struct q){.name = "www.example.com.", .type = 1}, T0 + 1, out, 65, &len, &fl),
	    0);
	cr_assert_eq(len, 65);
	vg_cache_close(c);
}

static int put_answer_msg(struct vg_cache *c, struct msg *m, const char *qname, bool do_bit,
			  bool cd_bit, uint8_t sec)
{
	uint8_t q[VG_NAME_MAX];
	W(qname, q);
	return vg_cache_answer_put(c, q, 1, do_bit, cd_bit, m->b, m->len, 0x15, sec, 0, T0);
}

static uint64_t answers(struct vg_cache *c)
{
	vg_cache_sync(c);
	struct vg_cache_stats st;
	cr_assert_eq(vg_cache_stats(c, &st), 0);
	return st.answers;
}

Test(cache_hit, answers_the_rrset_db_serves_are_not_stored_others_are)
{
	struct vg_cache *c = open_default();
	put_set(c, &(struct set){"www.example.com.", 1, 1, 300, 0x15, VG_SEC_SECURE, 0, 1, 3}, T0);
	put_set(c,
		&(struct set){"ind.example.com.", 1, 1, 300, 0x15, VG_SEC_INDETERMINATE, 0, 0, 0},
		T0);
	put_set(c, &(struct set){"wc.example.com.", 1, 1, 300, 0x15, VG_SEC_SECURE, 0, 1, 2}, T0);
	struct msg m;
	msg_init(&m, "www.example.com.", 1, 0);
	msg_rr(&m, 1, "www.example.com.", 1, 300, A1, 4);
	cr_assert_eq(put_answer_msg(c, &m, "www.example.com.", false, false, VG_SEC_SECURE), 0);
	cr_assert_eq(put_answer_msg(c, &m, "www.example.com.", true, false, VG_SEC_SECURE), 0);
	cr_assert_eq(answers(c), 0, "an answer the rrset DB serves was stored");
	/* unchecked data for CD=0 stays whole in the answer DB; for CD=1 it is shadowed */
	msg_init(&m, "ind.example.com.", 1, 0);
	msg_rr(&m, 1, "ind.example.com.", 1, 300, A1, 4);
	cr_assert_eq(put_answer_msg(c, &m, "ind.example.com.", false, true, VG_SEC_INDETERMINATE),
		     0);
	cr_assert_eq(answers(c), 0);
	cr_assert_eq(put_answer_msg(c, &m, "ind.example.com.", false, false, VG_SEC_INDETERMINATE),
		     0);
	cr_assert_eq(answers(c), 1);
	/* a wildcard expansion: the DO answer keeps its proof in the answer DB */
	msg_init(&m, "wc.example.com.", 1, 0);
	msg_rr(&m, 1, "wc.example.com.", 1, 300, A1, 4);
	cr_assert_eq(put_answer_msg(c, &m, "wc.example.com.", false, false, VG_SEC_SECURE), 0);
	cr_assert_eq(answers(c), 1);
	cr_assert_eq(put_answer_msg(c, &m, "wc.example.com.", true, false, VG_SEC_SECURE), 0);
	cr_assert_eq(answers(c), 2);
	/* a CNAME chain: no A RRset at the name */
	uint8_t tgt[64];
	uint16_t tl = (uint16_t)W("www.example.com.", tgt);
	msg_init(&m, "alias.example.com.", 1, 0);
	msg_rr(&m, 1, "alias.example.com.", 5, 300, tgt, tl);
	msg_rr(&m, 1, "www.example.com.", 1, 300, A1, 4);
	cr_assert_eq(put_answer_msg(c, &m, "alias.example.com.", false, false, VG_SEC_SECURE), 0);
	cr_assert_eq(answers(c), 3);
	/* an answer that would outlive the entry is kept for the time after it */
	fake_now = T0 + 200;
	msg_init(&m, "www.example.com.", 1, 0);
	msg_rr(&m, 1, "www.example.com.", 1, 300, A1, 4);
	uint8_t q[VG_NAME_MAX];
	W("www.example.com.", q);
	cr_assert_eq(vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, VG_SEC_SECURE, 0,
					 T0 + 200),
		     0);
	cr_assert_eq(answers(c), 4);
	vg_cache_close(c);
}
