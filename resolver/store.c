/* The resolver's glue to the cache: what a scrubbed reply stores (with its rank), and the lookups
 * the iterator makes (answers, CNAMEs, zone cuts, server addresses). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "iter.h"

/* One read snapshot serves every lookup of one resolver entry (a client question, a reply, a
 * timer): opened here at the first lookup, closed once by vg_resolver_entry when the entry
 * returns to the event loop. A lookup outside an entry is a bug: it would leave a snapshot open
 * (LMDB pages pinned) until some later entry closed it. */
bool vg_store_read(struct vg_resolver *r)
{
	if (r->rd_open)
		return true;
	if (vg_fails(r->entry_depth > 0))
		return false;
	if (!r->rd || vg_cache_read_begin(r->rd) != 0)
		return false;
	r->rd_open = true;
	return true;
}

int vg_resolver_entry(struct vg_resolver *r, int (*fn)(void *arg), void *arg)
{
	r->entry_depth++;
	int rc = fn(arg);
	if (--r->entry_depth == 0 && r->rd_open) {
		vg_cache_read_end(r->rd);
		r->rd_open = false;
	}
	return rc;
}

/* An RRset read back from the cache: its rank and status as stored, room for `n` records. */
/* The cache flag of an EDE 1, 2 or 27 insecure reason, and back. */
static uint8_t insecure_flag(uint16_t ede)
{
	switch (ede) {
	case VG_EDE_UNSUPPORTED_DNSKEY_ALG:
		return VG_CACHE_F_INSECURE_ALG;
	case VG_EDE_UNSUPPORTED_DS_DIGEST:
		return VG_CACHE_F_INSECURE_DIGEST;
	case VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS:
		return VG_CACHE_F_INSECURE_ITER;
	default:
		return 0;
	}
}

static uint16_t insecure_ede_of(uint8_t flags)
{
	if (flags & VG_CACHE_F_INSECURE_ALG)
		return VG_EDE_UNSUPPORTED_DNSKEY_ALG;
	if (flags & VG_CACHE_F_INSECURE_DIGEST)
		return VG_EDE_UNSUPPORTED_DS_DIGEST;
	if (flags & VG_CACHE_F_INSECURE_ITER)
		return VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS;
	return 0;
}

/* The flags a set is cached with: a hijack finding (served only fresh, never stale; dropped
 * by vigilctl flush-suspicious) and the reason it is insecure. */
static uint8_t set_flags(const struct vg_iq *iq, const struct vg_rrset *s)
{
	return (uint8_t)((s->suspect ? VG_CACHE_F_SUSPECT : 0) |
			 (s->sec == VG_SEC_INSECURE ? insecure_flag(iq->insecure_ede) : 0));
}

static struct vg_rrset *cached_set(struct vg_arena *a, const uint8_t *owner, uint16_t type,
				   const struct vg_cache_rrset_view *v, size_t n)
{
	struct vg_rrset *set = vg_arena_alloc(a, sizeof(*set));
	struct vg_rr **ptrs = vg_arena_alloc(a, (n + 1) * sizeof(*ptrs));
	if (!set || !ptrs)
		return NULL;
	*set = (struct vg_rrset){.owner = owner,
				 .type = type,
				 .rclass = v->rclass,
				 .ttl = v->ttl,
				 .rrs = ptrs,
				 .sigs = ptrs + (type == VG_TYPE_SOA ? 1 : v->rr_count),
				 .section = type == VG_TYPE_SOA ? VG_SEC_AUTHORITY : VG_SEC_ANSWER,
				 .rank = v->rank,
				 .sec = v->sec,
				 .suspect = (v->flags & VG_CACHE_F_SUSPECT) ? VG_SUSPECT_CACHED : 0,
				 .ede = v->sec == VG_SEC_INSECURE ? insecure_ede_of(v->flags) : 0};
	return set;
}

/* Converts a cached positive view to one RRset (its rank and status as stored) and its records
 * in the iq's arena; with `append`, also appends the records to the answer. */
static int view_to_set(struct vg_iq *iq, const uint8_t *owner, const struct vg_cache_rrset_view *v,
		       bool append, struct vg_rrset **out)
{
	struct vg_arena *a = &iq->req->arena;
	int on = vg_name_len(owner, VG_NAME_MAX);
	const uint8_t *ow = vg_arena_memdup(a, owner, (size_t)on);
	struct vg_rrset *set =
	    ow ? cached_set(a, ow, v->type, v, (size_t)v->rr_count + v->sig_count) : NULL;
	if (!set)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		const uint8_t *p = pass ? v->sigs : v->rdata;
		size_t len = pass ? v->sigs_len : v->rdata_len;
		unsigned count = pass ? v->sig_count : v->rr_count;
		size_t off = 0;
		for (unsigned i = 0; i < count; i++) {
			if (off + 2 > len)
				return -1;
			uint16_t rdlen = vg_get_u16(p + off);
			if (off + 2 + rdlen > len)
				return -1;
			struct vg_rr *rr = vg_arena_zalloc(a, sizeof(*rr));
			uint16_t type = pass ? VG_TYPE_RRSIG : v->type;
			const uint8_t *rd = NULL;
			uint16_t rdl = 0;
			/* A damaged name inside cached rdata makes the whole RRset a miss. */
			if (!rr || vg_rdata_import(a, p + off + 2, rdlen, type, &rd, &rdl) < 0)
				return -1;
			rr->owner = ow;
			rr->type = type;
			rr->rclass = v->rclass;
			rr->ttl = v->ttl;
			rr->rdlen = rdl;
			rr->rdata = rd;
			rr->section = VG_SEC_ANSWER;
			rr->from_cache = true;
			rr->rrset = set;
			/* The cache holds at most 0xffff records and VG_MAX_RRSET_SIGS RRSIGs. */
			if (pass && set->n_sigs < UINT8_MAX)
				set->sigs[set->n_sigs++] = rr;
			else if (!pass)
				set->rrs[set->n_rrs++] = rr;
			if (append && vg_iq_ans_add(iq, rr) < 0)
				return -1;
			off += 2 + (size_t)rdlen;
		}
	}
	if (out)
		*out = set;
	return 0;
}

int vg_store_view_to_ans(struct vg_iq *iq, const uint8_t *owner,
			 const struct vg_cache_rrset_view *v)
{
	return view_to_set(iq, owner, v, true, NULL);
}

int vg_store_chain_lookup(struct vg_iq *iq, const uint8_t *name, uint16_t type,
			  const struct vg_rrset **set, uint8_t *neg_sec, uint32_t *ttl)
{
	struct vg_resolver *r = iq->req->r;
	if (!vg_store_read(r))
		return 0;
	struct vg_cache_rrset_view v;
	int rc =
	    vg_cache_rrset_get(r->rd, name, type, vg_wall32(r), 0, r->cbuf, sizeof(r->cbuf), &v);
	/* Iterated data, or a DS/DNSKEY set a forwarder gave that vigil validated secure: a
	 * forwarder's word alone never supplies delegations or keys. A forwarded denial is not
	 * taken: read back, it no longer tells an unsigned delegation from a name inside a zone. */
	if (rc < 0 || (v.hint & VG_CACHE_STALE) ||
	    (!(v.rank & VG_RANK_ITERATED) &&
	     (v.kind != VG_CACHE_POSITIVE || v.sec != VG_SEC_SECURE)))
		return 0;
	*ttl = v.ttl;
	if (v.kind == VG_CACHE_NODATA || v.kind == VG_CACHE_NXDOMAIN) {
		*neg_sec = v.sec; /* the status of the negative answer's SOA */
		return 2;
	}
	struct vg_rrset *s = NULL;
	if (v.kind != VG_CACHE_POSITIVE || v.type != type || v.rr_count == 0 ||
	    view_to_set(iq, name, &v, false, &s) < 0)
		return 0;
	*set = s;
	return 1;
}

/* Reads a negative entry's proof (uncompressed wire records, untrusted like a packet) into
 * iq->proof, each shown with at most the time left of the entry. A damaged proof is left out
 * whole: the answer stays right, only without the records a DO client could check. */
static void proof_from_cache(struct vg_iq *iq, const struct vg_cache_rrset_view *v)
{
	struct vg_arena *a = &iq->req->arena;
	iq->n_proof = 0;
	iq->proof = v->proof_count ? vg_arena_alloc(a, v->proof_count * sizeof(*iq->proof)) : NULL;
	size_t pos = 0, n = 0;
	uint8_t owner[VG_NAME_MAX];
	while (iq->proof && n < v->proof_count) {
		struct vg_rr *rr = vg_arena_zalloc(a, sizeof(*rr));
		if (!rr || vg_name_unpack(v->proof, v->proof_len, &pos, owner) < 0 ||
		    pos + 10 > v->proof_len)
			return;
		const uint8_t *f = v->proof + pos;
		uint16_t rdlen = vg_get_u16(f + 8);
		pos += 10;
		if (pos + rdlen > v->proof_len)
			return;
		rr->type = vg_get_u16(f);
		rr->rclass = vg_get_u16(f + 2);
		rr->ttl = vg_get_u32(f + 4) < v->ttl ? vg_get_u32(f + 4) : v->ttl;
		rr->section = VG_SEC_AUTHORITY;
		rr->from_cache = true;
		rr->owner = vg_arena_memdup(a, owner, (size_t)vg_name_len(owner, VG_NAME_MAX));
		if (!rr->owner ||
		    vg_rdata_import(a, v->proof + pos, rdlen, rr->type, &rr->rdata, &rr->rdlen) < 0)
			return;
		pos += rdlen;
		iq->proof[n++] = rr;
	}
	iq->n_proof = n;
}

void vg_store_neg_to_iq(struct vg_iq *iq, const struct vg_cache_rrset_view *v)
{
	if (!v->soa_owner || !v->soa_rdata)
		return;
	struct vg_arena *a = &iq->req->arena;
	struct vg_rr *soa = vg_arena_zalloc(a, sizeof(*soa));
	int on = vg_name_len(v->soa_owner, VG_NAME_MAX);
	const uint8_t *srd = NULL;
	uint16_t srdl = 0;
	if (soa && on > 0 &&
	    vg_rdata_import(a, v->soa_rdata, v->soa_rdlen, VG_TYPE_SOA, &srd, &srdl) == 0) {
		soa->owner = vg_arena_memdup(a, v->soa_owner, (size_t)on);
		soa->rdata = srd;
		soa->rdlen = srdl;
		soa->type = VG_TYPE_SOA;
		soa->rclass = VG_CLASS_IN;
		soa->ttl = v->ttl;
		soa->section = VG_SEC_AUTHORITY;
		soa->from_cache = true; /* ttl: what is left of the negative entry */
		soa->rrset = soa->owner ? cached_set(a, soa->owner, VG_TYPE_SOA, v, 1) : NULL;
		if (soa->rrset) {
			soa->rrset->rrs[0] = soa;
			soa->rrset->n_rrs = 1;
			soa->rrset->rclass = VG_CLASS_IN;
		}
		if (soa->owner && soa->rdata && soa->rrset) {
			iq->soa = soa;
			proof_from_cache(iq, v);
		}
	}
}

int vg_store_lookup_answer(struct vg_iq *iq, const uint8_t *name, uint16_t type, int stale_secs,
			   unsigned *hint)
{
	struct vg_resolver *r = iq->req->r;
	*hint = 0;
	if (!vg_store_read(r))
		return -1;
	struct vg_cache_rrset_view v;
	int rc = vg_cache_rrset_get(r->rd, name, type, vg_wall32(r), stale_secs, r->cbuf,
				    sizeof(r->cbuf), &v);
	if (rc < 0)
		return -1;
	/* Glue and additional data are good enough to find servers, not to answer: not when
	 * fresh, and not as a stale answer either (RFC 8767 serves answers). */
	if (v.kind == VG_CACHE_POSITIVE && (v.rank & 0x0f) < VG_RANK_NONAUTH_ANSWER)
		return -1;
	/* Data stored unchecked that validation covers is validated before a CD=0 client gets it
	 * (IQ_START, vg_validate_cached); a stale answer has no such chance: never served. */
	struct vg_rrset probe = {.owner = name, .rank = v.rank, .sec = v.sec};
	if ((v.hint & VG_CACHE_STALE) && vg_validate_unchecked(iq, &probe))
		return -1;
	*hint = v.hint;
	if (v.hint & VG_CACHE_STALE)
		iq->stale = true;
	if (!(v.rank & VG_RANK_ITERATED))
		iq->forwarded_data = true;
	if (v.kind == VG_CACHE_POSITIVE) {
		return vg_store_view_to_ans(iq, name, &v) < 0 ? -1 : VG_CACHE_POSITIVE;
	}
	vg_store_neg_to_iq(iq, &v);
	return (int)v.kind;
}

bool vg_store_cut_name(struct vg_iq *iq, const uint8_t *name, uint8_t *zone)
{
	struct vg_resolver *r = iq->req->r;
	struct vg_cache_rrset_view v;
	bool ds_known = false;
	if (!vg_store_read(r))
		return false;
	int rc = vg_cache_zonecut_find(r->rd, name, vg_wall32(r), zone, r->cbuf, sizeof(r->cbuf),
				       &v, &ds_known);
	return rc == 0 && v.kind == VG_CACHE_POSITIVE && (v.rank & VG_RANK_ITERATED);
}

/* The (u16 rdlen, rdata) sequence of n refs, from the arena; NULL without memory. */
static uint8_t *ref_seq(struct vg_arena *a, const struct vg_rdata_ref *rd, size_t n, size_t *len)
{
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += 2 + (size_t)rd[i].len;
	uint8_t *out = vg_arena_alloc(a, bytes ? bytes : 1);
	size_t off = 0;
	for (size_t i = 0; out && i < n; i++) {
		vg_put_u16(out + off, rd[i].len);
		memcpy(out + off + 2, rd[i].data, rd[i].len);
		off += 2 + (size_t)rd[i].len;
	}
	*len = off;
	return out;
}

int vg_store_view_put(struct vg_iq *iq, const struct vg_rrset_view *v, uint8_t rank, uint8_t sec,
		      uint16_t insecure_ede, bool suspect)
{
	struct vg_resolver *r = iq->req->r;
	if (!r->cache || v->n_rd == 0 || v->n_rd > 0xffff || v->n_sig > VG_MAX_RRSET_SIGS)
		return 0;
	struct vg_cache_rrset rs = {
	    .owner = v->owner,
	    .type = v->type,
	    .rclass = v->rclass,
	    .ttl = v->ttl,
	    .rank = rank,
	    .sec = sec,
	    .flags = (uint8_t)((suspect ? VG_CACHE_F_SUSPECT : 0) |
			       (sec == VG_SEC_INSECURE ? insecure_flag(insecure_ede) : 0)),
	    .rr_count = (uint16_t)v->n_rd,
	    .sig_count = (uint16_t)v->n_sig,
	};
	rs.rdata = ref_seq(&iq->req->arena, v->rd, v->n_rd, &rs.rdata_len);
	rs.sigs = ref_seq(&iq->req->arena, v->sig, v->n_sig, &rs.sigs_len);
	if (!rs.rdata || !rs.sigs)
		return -ENOMEM;
	return vg_cache_rrset_put(r->cache, &rs, vg_wall32(r));
}

int vg_store_stale_answer(struct vg_req *req, uint8_t *buf, size_t cap, size_t *len)
{
	struct vg_resolver *r = req->r;
	if (!vg_store_read(r))
		return -1;
	unsigned flags = 0;
	size_t qn = (size_t)vg_name_len(req->qname, VG_NAME_MAX);
	int rc =
	    vg_cache_answer_get(r->rd, req->qname, qn, req->qtype, req->do_bit, req->cd_bit, 0,
				vg_wall32(r), buf, cap, len, &flags, (int)r->opts.serve_stale_max);
	if (rc < 0 || *len < 12 || !(flags & VG_CACHE_STALE))
		return -1;
	return buf[3] & 0x0f;
}

bool vg_store_name_known(struct vg_iq *iq, const uint8_t *name)
{
	struct vg_resolver *r = iq->req->r;
	return !vg_store_read(r) || vg_cache_name_known(r->rd, name);
}

bool vg_store_name_exists(struct vg_iq *iq, const uint8_t *name)
{
	struct vg_resolver *r = iq->req->r;
	if (!vg_store_read(r))
		return false;
	struct vg_cache_rrset_view v;
	int rc = vg_cache_rrset_get(r->rd, name, VG_TYPE_A, vg_wall32(r), 0, r->cbuf,
				    sizeof(r->cbuf), &v);
	return rc == 0 && v.kind != VG_CACHE_NXDOMAIN && (v.rank & VG_RANK_ITERATED);
}

static void add_addr(struct vg_ns *ns, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	if (ns->n_addrs >= VG_MAX_NS_ADDRS)
		return;
	if (vg_addr_from_rdata(type, rd, rdlen, &ns->addrs[ns->n_addrs]))
		ns->n_addrs++;
}

size_t vg_store_addrs(struct vg_iq *iq, struct vg_ns *ns)
{
	struct vg_resolver *r = iq->req->r;
	size_t before = ns->n_addrs;
	if (!vg_store_read(r))
		return 0;
	uint16_t types[2] = {VG_TYPE_A, VG_TYPE_AAAA};
	bool want[2] = {r->opts.addr.do_ip4, r->opts.addr.do_ip6};
	for (int t = 0; t < 2; t++) {
		if (!want[t])
			continue;
		struct vg_cache_rrset_view v;
		if (vg_cache_rrset_get(r->rd, ns->name, types[t], vg_wall32(r), 0, r->cbuf,
				       sizeof(r->cbuf), &v) < 0 ||
		    v.kind != VG_CACHE_POSITIVE)
			continue;
		size_t off = 0;
		for (unsigned i = 0; i < v.rr_count && off + 2 <= v.rdata_len; i++) {
			uint16_t rdlen = vg_get_u16(v.rdata + off);
			if (off + 2 + rdlen > v.rdata_len)
				break;
			add_addr(ns, types[t], v.rdata + off + 2, rdlen);
			off += 2 + (size_t)rdlen;
		}
	}
	return ns->n_addrs - before;
}

/* One zone cut from the cache at or above `name`: 1 found (zone and NS list filled), 0 found but
 * useless (its NS names have no address and all lie inside the zone, so no glueless lookup can
 * find one through it: the parent must be asked again), -1 none. */
static int find_cut_once(struct vg_iq *iq, const uint8_t *name, uint8_t *zone)
{
	struct vg_resolver *r = iq->req->r;
	struct vg_cache_rrset_view v;
	bool ds_known = false;
	int rc = vg_cache_zonecut_find(r->rd, name, vg_wall32(r), zone, r->cbuf, sizeof(r->cbuf),
				       &v, &ds_known);
	/* Forwarded data never supplies delegations (MaginotDNS). */
	if (rc < 0 || v.kind != VG_CACHE_POSITIVE || !(v.rank & VG_RANK_ITERATED))
		return -1;
	/* Two passes over the rdata: count the usable names, then allocate and zero only those
	 * entries (zeroing all VG_MAX_NS of ~830 bytes each was ~13,000 instructions per miss).
	 * Nothing reads iq->ns past n_ns (nothing appends to a cut from the cache either). */
	size_t n = 0, off = 0;
	const uint8_t *names[VG_MAX_NS];
	size_t lens[VG_MAX_NS];
	for (unsigned i = 0; i < v.rr_count && n < VG_MAX_NS && off + 2 <= v.rdata_len; i++) {
		uint16_t rdlen = vg_get_u16(v.rdata + off);
		if (off + 2 + rdlen > v.rdata_len)
			break;
		int nl = vg_name_len(v.rdata + off + 2, rdlen);
		if (nl > 0) {
			names[n] = v.rdata + off + 2;
			lens[n] = (size_t)nl;
			n++;
		}
		off += 2 + (size_t)rdlen;
	}
	if (n == 0)
		return 0;
	struct vg_ns *ns = vg_arena_zalloc(&iq->req->arena, n * sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memcpy(ns[i].name, names[i], lens[i]);
		vg_name_lower(ns[i].name);
	}
	/* v points into r->cbuf, which vg_store_addrs reuses: nothing of v is read below. */
	uint32_t ttl = v.ttl;
	size_t with_addr = 0, outside = 0;
	for (size_t i = 0; i < n; i++) {
		with_addr += vg_store_addrs(iq, &ns[i]) > 0;
		outside += !vg_name_in_zone(ns[i].name, zone);
	}
	if (n == 0 || (with_addr == 0 && (zone[0] == 0 || outside == 0)))
		return 0; /* the root without addresses: the hints know better */
	memcpy(iq->zone, zone, (size_t)vg_name_len(zone, VG_NAME_MAX));
	iq->ns = ns;
	iq->n_ns = n;
	iq->cut_until = vg_wall32(r) + ttl;
	return 1;
}

bool vg_store_find_cut(struct vg_iq *iq, const uint8_t *name)
{
	struct vg_resolver *r = iq->req->r;
	if (!vg_store_read(r))
		return false;
	uint8_t zone[VG_NAME_MAX];
	const uint8_t *from = name;
	for (;;) {
		int rc = find_cut_once(iq, from, zone);
		if (rc != 0)
			return rc > 0;
		if (zone[0] == 0)
			return false;
		/* Glue gone (evicted before its NS set, expired earlier, not committed yet):
		 * start one zone higher, whose referral brings it again. */
		int zl = vg_name_len(zone, VG_NAME_MAX);
		int fl = vg_name_len(from, VG_NAME_MAX);
		if (zl <= 0 || fl < zl)
			return false;
		from += (fl - zl) + from[fl - zl] + 1;
	}
}

/* Whether an NS RRset of this reply is a zone cut's delegation: the NS set of an accepted
 * referral (the parent's side), or the root's own NS set from a root server (the root has no
 * parent). Any other NS RRset (the child's answer to an NS question, an authority section) is
 * stored for NS questions only and never becomes a cut: a zone removed at its parent stops
 * resolving when the parent's TTL ends, whatever its own servers say (ghost domains). */
static bool is_delegation(const struct vg_iq *iq, const struct vg_rrset *ns)
{
	if (iq->forward || ns->type != VG_TYPE_NS)
		return false;
	if (iq->verdict.kind == VG_REPLY_REFERRAL)
		return ns->section == VG_SEC_AUTHORITY && vg_name_eq(ns->owner, iq->verdict.cut);
	return ns->section == VG_SEC_ANSWER && ns->owner[0] == 0 && iq->zone[0] == 0;
}

/* A CNAME below a DNAME of the same reply was synthesized from it: caching it would answer
 * later questions without the DNAME (RFC 6672 §3.4: the DNAME is what is cached). `dn` lists
 * the DNAMEs the scrubber kept. */
static bool synthesized(const struct vg_rrset *const *dn, size_t n_dn, const struct vg_rrset *cn)
{
	for (size_t i = 0; i < n_dn; i++)
		if (vg_name_in_zone(cn->owner, dn[i]->owner) &&
		    !vg_name_eq(cn->owner, dn[i]->owner))
			return true;
	return false;
}

/* The wildcard `s` was expanded from ("*." + its owner's last `labels` labels, the labels field
 * of an RRSIG below the owner's count), into wc; false when it is no expansion. */
static bool wildcard_source(const struct vg_rrset *s, uint8_t *wc)
{
	int ol = vg_name_labels(s->owner);
	if (s->owner[0] == 1 && s->owner[1] == '*')
		return false;
	for (uint8_t i = 0; i < s->n_sigs; i++) {
		const struct vg_rr *sig = s->sigs[i];
		if (sig->rdlen < 4 || sig->rdata[3] >= ol)
			continue;
		return vg_dnssec_wildcard_of(s->owner, sig->rdata[3], wc);
	}
	return false;
}

static int rdata_cmp(const void *pa, const void *pb)
{
	const struct vg_rr *a = *(const struct vg_rr *const *)pa,
			   *b = *(const struct vg_rr *const *)pb;
	if (a->rdlen != b->rdlen)
		return a->rdlen < b->rdlen ? -1 : 1;
	int c = memcmp(a->rdata, b->rdata, a->rdlen);
	return c ? c : (a < b ? -1 : a > b);
}

/* The records rr[0..n) (one RRset's, or its RRSIGs) without duplicates (RFC 2181 §5) written
 * as (u16 rdlen, rdata) into a buffer from the arena; n log n in the set's size. */
static int set_rdata(struct vg_arena *a, struct vg_rr *const *rr, size_t n,
		     const struct vg_rr **tmp, struct vg_cache_rrset *rs, bool sigs)
{
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		tmp[i] = rr[i];
		bytes += 2 + (size_t)rr[i]->rdlen;
	}
	if (n > 1)
		qsort(tmp, n, sizeof(*tmp), rdata_cmp);
	uint8_t *out = vg_arena_alloc(a, bytes ? bytes : 1);
	if (!out)
		return -1;
	size_t off = 0;
	unsigned count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct vg_rr *b = tmp[i];
		if (i && b->rdlen == tmp[i - 1]->rdlen &&
		    !memcmp(b->rdata, tmp[i - 1]->rdata, b->rdlen))
			continue;
		vg_put_u16(out + off, b->rdlen);
		memcpy(out + off + 2, b->rdata, b->rdlen);
		off += 2 + (size_t)b->rdlen;
		count++;
	}
	if (count > 0xffff)
		return -1; /* cannot happen past the scrubber's VG_MAX_RRSET_RRS */
	if (sigs) {
		rs->sigs = out;
		rs->sigs_len = off;
		rs->sig_count = (uint16_t)count;
	} else {
		rs->rdata = out;
		rs->rdata_len = off;
		rs->rr_count = (uint16_t)count;
	}
	return 0;
}

void vg_store_reply(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	struct vg_msg *m = &iq->msg;
	struct vg_arena *a = &iq->req->arena;
	if (!r->cache || m->n_rr == 0)
		goto negative;
	uint32_t now = vg_wall32(r);
	/* One pass over the reply's RRsets: linear, plus sorting each set's rdata. Each is
	 * stored with its own rank and the status the validation step gave it. */
	const struct vg_rr **tmp = vg_arena_alloc(a, m->n_rr * sizeof(*tmp));
	const struct vg_rrset *dn[32];
	size_t n_dn = 0;
	if (!tmp)
		return;
	for (size_t k = 0; k < m->n_rrsets && n_dn < 32; k++)
		if (m->rrsets[k].type == VG_TYPE_DNAME && m->rrsets[k].n_rrs)
			dn[n_dn++] = &m->rrsets[k];
	for (size_t k = 0; k < m->n_rrsets; k++) {
		const struct vg_rrset *s = &m->rrsets[k];
		if (s->n_rrs == 0 || s->sec == VG_SEC_BOGUS)
			continue; /* every record removed (hijack checks), or bogus (CD=1) */
		if (iq->forward &&
		    (s->type == VG_TYPE_NS || (s->type == VG_TYPE_DS && s->sec != VG_SEC_SECURE)))
			continue; /* forwarders never supply delegations (a validated DS: the chain)
				   */
		if (s->type == VG_TYPE_CNAME && synthesized(dn, n_dn, s))
			continue;
		struct vg_cache_rrset rs = {.owner = s->owner,
					    .type = s->type,
					    .rclass = s->rclass,
					    .ttl = s->ttl,
					    .rank = s->rank,
					    .sec = s->sec,
					    .flags = set_flags(iq, s)};
		if (set_rdata(a, s->rrs, s->n_rrs, tmp, &rs, false) < 0 ||
		    (s->n_sigs && set_rdata(a, s->sigs, s->n_sigs, tmp, &rs, true) < 0))
			return;
		rs.delegation = is_delegation(iq, s);
		if (rs.delegation && s->section == VG_SEC_AUTHORITY) {
			/* No longer than the delegation of the zone that handed it out. */
			uint32_t left = iq->cut_until > now ? iq->cut_until - now : 0;
			if (rs.ttl > left)
				rs.ttl = left;
		}
		/* Whole or not at all: an RRset the cache cannot hold (VG_ELIMIT) is not cut. */
		int rc = vg_cache_rrset_put(r->cache, &rs, now);
		if (rc == 0 && rs.delegation && s->section == VG_SEC_ANSWER) {
			rs.delegation = false; /* the root's NS set also answers ". NS" */
			rc = vg_cache_rrset_put(r->cache, &rs, now);
		}
		/* A secure wildcard expansion is also kept under the wildcard's own name, for
		 * answers synthesised from the cache (RFC 8198 5.3). */
		uint8_t wc[VG_NAME_MAX];
		if (rc == 0 && s->section == VG_SEC_ANSWER && s->sec == VG_SEC_SECURE &&
		    wildcard_source(s, wc)) {
			rs.owner = wc;
			rc = vg_cache_rrset_put(r->cache, &rs, now);
		}
		if (rc < 0)
			vg_debug("resolver: rrset not cached: %s", vg_strerror(rc));
	}
negative:
	if (!r->cache)
		return;
	const struct vg_verdict *v = &iq->verdict;
	if ((v->kind != VG_REPLY_NXDOMAIN && v->kind != VG_REPLY_NODATA) || !v->soa)
		return;
	const struct vg_rrset *soa_set = v->soa->rrset;
	if (vg_fails(soa_set != NULL)) /* the scrubber kept it: it was grouped */
		return;
	if (soa_set->sec == VG_SEC_BOGUS)
		return; /* a bogus denial (CD=1) is never cached */
	/* The proof: NSEC/NSEC3 and signatures the scrubber kept in the authority section. */
	size_t pcap = 0;
	for (size_t i = 0; i < m->n_rr; i++)
		if (!m->rr[i].drop && m->rr[i].section == VG_SEC_AUTHORITY && &m->rr[i] != v->soa)
			pcap += vg_rr_wire_len(&m->rr[i]);
	uint8_t *proof = pcap ? vg_arena_alloc(&iq->req->arena, pcap) : NULL;
	size_t plen = 0;
	uint16_t pcount = 0;
	for (size_t i = 0; proof && i < m->n_rr; i++) {
		const struct vg_rr *p = &m->rr[i];
		if (p->drop || p->section != VG_SEC_AUTHORITY || p == v->soa)
			continue;
		size_t w = vg_rr_write(proof + plen, pcap - plen, p, p->ttl);
		if (!w)
			break;
		plen += w;
		pcount++;
	}
	struct vg_cache_neg neg = {
	    .qname = v->target,
	    .qtype = iq->asked_type,
	    .nxdomain = v->kind == VG_REPLY_NXDOMAIN,
	    .rclass = VG_CLASS_IN,
	    .soa_owner = v->soa->owner,
	    .soa_ttl = v->soa->ttl,
	    .soa_rdata = v->soa->rdata,
	    .soa_rdlen = v->soa->rdlen,
	    .proof = proof,
	    .proof_len = plen,
	    .proof_count = pcount,
	    .rank = soa_set->rank,
	    .sec = soa_set->sec,
	    .flags = set_flags(iq, soa_set),
	};
	int rc = vg_cache_neg_put(r->cache, &neg, vg_wall32(r));
	if (rc < 0)
		vg_debug("resolver: negative answer not cached: %s", vg_strerror(rc));
}
