/* The one RRset structure after the scrubber: a reply's kept records grouped once into RRsets
 * (owner, type, class, TTL, records, covering RRSIGs, rank, security status, suspect reasons)
 * that the validation step, the hijack checks, the store and the answer builder all work on. */
#include <errno.h>
#include <string.h>
#include <vigil/cache.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include "internal.h"

/* RFC 2181 §5.4.1 by section and AA; forwarded data never ranks above a non-authoritative answer
 * and never carries VG_RANK_ITERATED. */
static uint8_t rank_of(const struct vg_msg *m, uint8_t section, bool forward)
{
	bool aa = VG_MSG_AA(m);
	uint8_t rank;
	if (section == VG_SEC_ANSWER)
		rank = aa ? VG_RANK_AUTH_ANSWER : VG_RANK_NONAUTH_ANSWER;
	else if (section == VG_SEC_AUTHORITY)
		rank = aa ? VG_RANK_AUTH_AUTHORITY : VG_RANK_ADDITIONAL;
	else
		rank = VG_RANK_GLUE;
	if (forward)
		return rank > VG_RANK_NONAUTH_ANSWER ? VG_RANK_NONAUTH_ANSWER : rank;
	return rank | VG_RANK_ITERATED;
}

/* Appends the kept members of index set s of class `rclass` to out; returns how many. */
static uint32_t kept_members(struct vg_msg *m, const struct vg_rrset_ix *s, uint16_t rclass,
			     struct vg_rr **out)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		struct vg_rr *rr = &m->rr[m->members[s->first + i]];
		if (!rr->drop && rr->rclass == rclass)
			out[n++] = rr;
	}
	return n;
}

int vg_rrsets_group(struct vg_arena *a, struct vg_msg *m, bool forward)
{
	m->rrsets = NULL;
	m->n_rrsets = 0;
	for (size_t i = 0; i < m->n_rr; i++)
		m->rr[i].rrset = NULL;
	size_t n_sets = 0;
	for (size_t k = 0; k < m->n_sets; k++)
		n_sets += m->sets[k].type != VG_TYPE_RRSIG;
	if (n_sets == 0)
		return 0;
	/* Every kept record belongs to at most one set: one pointer array serves them all. */
	struct vg_rrset *sets = vg_arena_alloc(a, n_sets * sizeof(*sets));
	struct vg_rr **ptrs = vg_arena_alloc(a, m->n_rr * sizeof(*ptrs));
	if (!sets || !ptrs)
		return -ENOMEM;
	size_t used = 0, n = 0;
	for (size_t k = 0; k < m->n_sets; k++) {
		const struct vg_rrset_ix *s = &m->sets[k];
		if (s->type == VG_TYPE_RRSIG)
			continue;
		const struct vg_rr *first = NULL;
		for (uint32_t i = 0; i < s->n && !first; i++)
			if (!m->rr[m->members[s->first + i]].drop)
				first = &m->rr[m->members[s->first + i]];
		if (!first)
			continue;
		struct vg_rrset *rs = &sets[n];
		*rs = (struct vg_rrset){.owner = first->owner,
					.type = first->type,
					.rclass = first->rclass,
					.ttl = first->ttl,
					.section = first->section,
					.rank = rank_of(m, first->section, forward)};
		rs->rrs = ptrs + used;
		uint32_t nr = kept_members(m, s, rs->rclass, rs->rrs);
		/* The scrubber's cap; a set over it never gets here. */
		if (vg_fails(nr <= VG_MAX_RRSET_RRS))
			return VG_ELIMIT;
		used += nr;
		rs->n_rrs = (uint16_t)nr;
		const struct vg_rrset_ix *sg =
		    vg_msg_rrset(m, s->owner, s->ohash, VG_TYPE_RRSIG, s->type);
		rs->sigs = ptrs + used;
		uint32_t ns = sg ? kept_members(m, sg, rs->rclass, rs->sigs) : 0;
		if (vg_fails(ns <= VG_MAX_RRSET_SIGS))
			return VG_ELIMIT;
		used += ns;
		rs->n_sigs = (uint8_t)ns;
		for (uint32_t i = 0; i < nr; i++) {
			if (rs->rrs[i]->ttl < rs->ttl)
				rs->ttl = rs->rrs[i]->ttl;
			rs->rrs[i]->rrset = rs;
		}
		for (uint32_t i = 0; i < ns; i++)
			rs->sigs[i]->rrset = rs;
		n++;
	}
	m->rrsets = sets;
	m->n_rrsets = n;
	return 0;
}

void vg_rrset_remove(struct vg_rrset *rs, uint16_t i)
{
	if (vg_fails(i < rs->n_rrs))
		return;
	rs->rrs[i]->drop = true;
	rs->rrs[i]->rrset = NULL;
	memmove(rs->rrs + i, rs->rrs + i + 1, (size_t)(rs->n_rrs - i - 1) * sizeof(*rs->rrs));
	rs->n_rrs--;
	/* The signatures covered the whole set: they no longer verify what is left. */
	for (uint8_t k = 0; k < rs->n_sigs; k++) {
		rs->sigs[k]->drop = true;
		rs->sigs[k]->rrset = NULL;
	}
	rs->n_sigs = 0;
	if (rs->n_rrs) {
		rs->ttl = rs->rrs[0]->ttl;
		for (uint16_t k = 1; k < rs->n_rrs; k++)
			if (rs->rrs[k]->ttl < rs->ttl)
				rs->ttl = rs->rrs[k]->ttl;
	}
}

uint8_t vg_sec_combine(uint8_t a, uint8_t b)
{
	/* Bogus taints everything; an unchecked part makes the whole unchecked; an insecure
	 * part makes it insecure; only all-secure is secure. */
	static const uint8_t order[] = {[VG_SEC_BOGUS] = 0,
					[VG_SEC_INDETERMINATE] = 1,
					[VG_SEC_INSECURE] = 2,
					[VG_SEC_SECURE] = 3};
	if (a > VG_SEC_BOGUS || b > VG_SEC_BOGUS)
		return VG_SEC_BOGUS;
	return order[a] <= order[b] ? a : b;
}

struct vg_rrset *vg_rrset_single(struct vg_arena *a, struct vg_rr *rr, const struct vg_rrset *like)
{
	if (vg_fails(like != NULL))
		return NULL;
	struct vg_rrset *rs = vg_arena_alloc(a, sizeof(*rs));
	struct vg_rr **p = vg_arena_alloc(a, sizeof(*p));
	if (!rs || !p)
		return NULL;
	p[0] = rr;
	*rs = (struct vg_rrset){.owner = rr->owner,
				.type = rr->type,
				.rclass = rr->rclass,
				.ttl = rr->ttl,
				.rrs = p,
				.n_rrs = 1,
				.section = rr->section,
				.rank = like->rank,
				.sec = like->sec,
				.suspect = like->suspect};
	return rs;
}
