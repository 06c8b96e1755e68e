/* Hijack heuristics: in IQ_VALIDATE on the reply's RRsets, the rebinding check (private
 * addresses for public names, with the address classifier it uses) and out-of-bailiwick records
 * (what the scrubber removed outside the server's zone); spoof attempts (per request, from the
 * unwanted-message reports) and second answers on lingering sockets (on-path injection). A
 * finding on a kept RRset sets its reason bit there; every finding goes to the
 * suspicious-answer sink. */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <vigil/base.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil/suspect.h>
#include "internal.h"
#include "iter.h"

enum vg_addr_class vg_addr_class4(const uint8_t a[4])
{
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
		return VG_ADDR_PRIVATE;
	if (a[0] == 127)
		return VG_ADDR_LOOPBACK;
	if (a[0] == 169 && a[1] == 254)
		return VG_ADDR_LINKLOCAL;
	if (a[0] == 0)
		return VG_ADDR_UNSPECIFIED;
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return VG_ADDR_CGNAT;
	return VG_ADDR_PUBLIC;
}

enum vg_addr_class vg_addr_class6(const uint8_t a[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const uint8_t zero[15] = {0};
	if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12))
		return vg_addr_class4(a + 12);
	if (!memcmp(a, zero, 15))
		return a[15] == 1   ? VG_ADDR_LOOPBACK
		       : a[15] == 0 ? VG_ADDR_UNSPECIFIED
				    : VG_ADDR_PUBLIC;
	if ((a[0] & 0xfe) == 0xfc)
		return VG_ADDR_PRIVATE;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return VG_ADDR_LINKLOCAL;
	return VG_ADDR_PUBLIC;
}

enum vg_addr_class vg_addr_class_sa(const struct vg_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return vg_addr_class4((const uint8_t *)&a->u.sin.sin_addr);
	if (a->u.sa.sa_family == AF_INET6)
		return vg_addr_class6(a->u.sin6.sin6_addr.s6_addr);
	return VG_ADDR_PUBLIC;
}

const char *vg_addr_class_name(enum vg_addr_class c)
{
	static const char *const names[] = {
	    [VG_ADDR_PUBLIC] = "public",	   [VG_ADDR_PRIVATE] = "private",
	    [VG_ADDR_LOOPBACK] = "loopback",	   [VG_ADDR_LINKLOCAL] = "link-local",
	    [VG_ADDR_UNSPECIFIED] = "unspecified", [VG_ADDR_CGNAT] = "cgnat",
	};
	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

const char *vg_suspect_reason_name(enum vg_suspect_reason r)
{
	static const char *const names[] = {
#define VG_SUSPECT_NAME(id, name, stat) [VG_SUSPECT_##id] = name,
	    VG_SUSPECT_REASONS(VG_SUSPECT_NAME)
#undef VG_SUSPECT_NAME
	};
	return (unsigned)r < VG_SUSPECT_N_REASONS ? names[r] : "?";
}

const char *vg_suspect_action_name(enum vg_suspect_action a)
{
	static const char *const names[] = {
	    [VG_SUSPECT_LOGGED] = "logged",
	    [VG_SUSPECT_BLOCKED] = "blocked",
	    [VG_SUSPECT_RETRIED] = "retried",
	    [VG_SUSPECT_QUARANTINED] = "quarantined",
	};
	return (unsigned)a <= VG_SUSPECT_QUARANTINED ? names[a] : "?";
}

/* The class of an A or AAAA rdata; public for anything else. */
static enum vg_addr_class rdata_class(const struct vg_rr *rr)
{
	if (rr->type == VG_TYPE_A && rr->rdlen == 4)
		return vg_addr_class4(rr->rdata);
	if (rr->type == VG_TYPE_AAAA && rr->rdlen == 16)
		return vg_addr_class6(rr->rdata);
	return VG_ADDR_PUBLIC;
}

bool vg_hijack_name_under(const uint8_t *name, const uint8_t (*domains)[256], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (vg_name_in_zone(name, domains[i]))
			return true;
	return false;
}

static bool private_domain(const struct vg_hijack_opts *o, const uint8_t *owner)
{
	return vg_hijack_name_under(owner, o->private_domains, o->n_private_domains);
}

/* "www.example. 300 IN A 192.168.1.1" into the arena; NULL without memory. */
static const char *rr_text(struct vg_arena *a, const struct vg_rr *rr)
{
	char owner[VG_NAME_TEXT_MAX], addr[INET6_ADDRSTRLEN];
	if (vg_name_to_text(rr->owner, owner, sizeof(owner)) < 0)
		snprintf(owner, sizeof(owner), "?");
	inet_ntop(rr->type == VG_TYPE_A ? AF_INET : AF_INET6, rr->rdata, addr, sizeof(addr));
	size_t cap = strlen(owner) + sizeof(addr) + 40;
	char *s = vg_arena_alloc(a, cap);
	if (s)
		snprintf(s, cap, "%s %u IN %s %s", owner, rr->ttl,
			 rr->type == VG_TYPE_A ? "A" : "AAAA", addr);
	return s;
}

/* The first waiting client of req whose address is known, for an event (NULL: none). */
static const struct vg_sockaddr *req_client(const struct vg_req *req)
{
	for (const struct vg_waiter *w = req->waiters; w; w = w->next)
		if (w->has_client)
			return &w->client;
	return NULL;
}

void vg_hijack_rebinding(struct vg_iq *iq)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	const struct vg_hijack_opts *o = r->hijack;
	if (!o || !o->enabled || o->rebinding == VG_REBIND_OFF)
		return;
	/* A name server's own address (glueless sub-query) is no client's answer: whether a
	 * private one may be asked is query-local-addresses' decision. */
	if (iq != req->root)
		return;
	/* A forwarder that is itself private (a LAN's DHCP server) may name private hosts. */
	if (iq->forward && vg_addr_class_sa(&iq->server) != VG_ADDR_PUBLIC)
		return;
	struct vg_msg *m = &iq->msg;
	const char **texts = NULL;
	size_t n = 0;
	bool block = o->rebinding == VG_REBIND_BLOCK;
	for (size_t k = 0; k < m->n_rrsets; k++) {
		struct vg_rrset *rs = &m->rrsets[k];
		if ((rs->type != VG_TYPE_A && rs->type != VG_TYPE_AAAA) ||
		    private_domain(o, rs->owner))
			continue;
		for (uint16_t i = 0; i < rs->n_rrs;) {
			const struct vg_rr *rr = rs->rrs[i];
			if (rr->section != VG_SEC_ANSWER || rdata_class(rr) == VG_ADDR_PUBLIC) {
				i++;
				continue;
			}
			if (!texts &&
			    !(texts = vg_arena_alloc(&req->arena, m->n_rr * sizeof(*texts))))
				return;
			const char *t = rr_text(&req->arena, rr);
			if (t)
				texts[n++] = t;
			rs->suspect |= 1u << VG_SUSPECT_REBINDING;
			if (block)
				vg_rrset_remove(rs, i); /* its signatures go with it */
			else
				i++;
		}
	}
	if (!texts)
		return;
	if (block) {
		req->suspect_ede = VG_EDE_BLOCKED;
		req->suspect_text = "rebinding: private address for a public name removed";
	}
	struct vg_suspect_event ev = {
	    .reason = VG_SUSPECT_REBINDING,
	    .action = block ? VG_SUSPECT_BLOCKED : VG_SUSPECT_LOGGED,
	    .qname = req->qname,
	    .qtype = req->qtype,
	    .client = req_client(req),
	    .server = &iq->server,
	    .tcp = iq->tcp,
	    .records = texts,
	    .n_records = n,
	    .served = block ? "answer without the private addresses, EDE 15 (Blocked)"
			    : "the answer as received",
	    .reply = iq->reply,
	    .reply_len = iq->reply_len,
	};
	if (r->suspect && r->suspect->emit)
		r->suspect->emit(r->suspect->ctx, &ev);
}

/* Presentation text of an ldns record, "<prefix>owner TTL IN TYPE rdata" with single spaces
 * (as the rebinding records are written), owner and names in rdata lowercased (the 0x20
 * spelling of a query says nothing); malloc'd, NULL without memory. */
static char *rr_print(const ldns_rr *rr, const char *prefix)
{
	ldns_rr *c = ldns_rr_clone(rr);
	if (!c)
		return NULL;
	ldns_rr2canonical(c);
	char *t = ldns_rr2str(c);
	ldns_rr_free(c);
	if (!t)
		return NULL;
	size_t pl = strlen(prefix), tl = strlen(t);
	char *s = malloc(pl + tl + 1);
	if (s) {
		memcpy(s, prefix, pl);
		size_t n = pl;
		for (size_t i = 0; i < tl; i++) {
			char ch = t[i] == '\t' || t[i] == '\n' ? ' ' : t[i];
			if (ch != ' ' || (n > pl && s[n - 1] != ' '))
				s[n++] = ch;
		}
		while (n > pl && s[n - 1] == ' ')
			n--;
		s[n] = 0;
	}
	free(t);
	return s;
}

/* rr_print of one of our records, into the arena; NULL without memory or when ldns cannot
 * read it. */
static const char *rr_text_any(struct vg_arena *a, const struct vg_rr *rr)
{
	uint8_t wire[VG_NAME_MAX + 10 + 65535];
	size_t len = vg_rr_write(wire, sizeof(wire), rr, rr->ttl), pos = 0;
	ldns_rr *lr = NULL;
	if (!len || ldns_wire2rr(&lr, wire, len, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
		return NULL;
	char *t = rr_print(lr, "");
	ldns_rr_free(lr);
	if (!t)
		return NULL;
	size_t cap = strlen(t) + 1;
	char *s = vg_arena_alloc(a, cap);
	if (s)
		memcpy(s, t, cap);
	free(t);
	return s;
}

const char *vg_hijack_rr_text(struct vg_arena *a, const struct vg_rr *rr)
{
	return rr_text_any(a, rr);
}

static void emit(struct vg_resolver *r, const struct vg_suspect_event *ev)
{
	if (r->suspect && r->suspect->emit)
		r->suspect->emit(r->suspect->ctx, ev);
}

const struct vg_sockaddr *vg_hijack_client(const struct vg_req *req)
{
	return req_client(req);
}

void vg_hijack_emit(struct vg_resolver *r, const struct vg_suspect_event *ev)
{
	emit(r, ev);
}

/* ---- out-of-bailiwick ---- */

/* At most this many removed records are listed per event (the event says how many more). */
#define BAILIWICK_LIST_MAX 16

void vg_hijack_bailiwick(struct vg_iq *iq)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	const struct vg_hijack_opts *o = r->hijack;
	if (!o || !o->enabled || o->out_of_bailiwick == VG_DETECT_OFF || !iq->verdict.dropped)
		return;
	/* Only what lies outside the asked server's zone: in-zone records the scrubber leaves out
	 * (extra additional data, answers off the CNAME chain) are ordinary server habits. */
	struct vg_msg *m = &iq->msg;
	const char **texts = NULL;
	size_t n = 0, more = 0;
	for (size_t i = 0; i < m->n_rr; i++) {
		const struct vg_rr *rr = &m->rr[i];
		if (!rr->drop || vg_name_in_zone(rr->owner, iq->zone))
			continue;
		if (n == BAILIWICK_LIST_MAX) {
			more++;
			continue;
		}
		if (!texts && !(texts = vg_arena_alloc(&req->arena,
						       (BAILIWICK_LIST_MAX + 1) * sizeof(*texts))))
			return;
		const char *t = rr_text_any(&req->arena, rr);
		if (t)
			texts[n++] = t;
	}
	if (!texts)
		return;
	if (more) {
		char *t = vg_arena_alloc(&req->arena, 64);
		if (t) {
			snprintf(t, 64, "; %zu more records removed", more);
			texts[n++] = t;
		}
	}
	struct vg_suspect_event ev = {
	    .reason = VG_SUSPECT_OUT_OF_BAILIWICK,
	    /* The scrubber removed them whatever the setting says. */
	    .action = VG_SUSPECT_BLOCKED,
	    .qname = iq->asked,
	    .qtype = iq->asked_type,
	    .client = req_client(req),
	    .server = &iq->server,
	    .tcp = iq->tcp,
	    .records = texts,
	    .n_records = n,
	    .served = "the reply without the records outside the server's zone",
	    .reply = iq->reply,
	    .reply_len = iq->reply_len,
	};
	emit(r, &ev);
}

/* ---- spoof-attempt ---- */

static const char *const unwanted_names[VG_UNWANTED_N_KINDS] = {
    [VG_UNWANTED_ID] = "wrong-id",	   [VG_UNWANTED_QUESTION] = "wrong-question",
    [VG_UNWANTED_CASE] = "wrong-case",	   [VG_UNWANTED_MALFORMED] = "malformed",
    [VG_UNWANTED_SOURCE] = "wrong-source", [VG_UNWANTED_LATE] = "late",
};

/* Wrong IDs, questions or cases heard by an iq: a blind spoofer was guessing. */
static unsigned spoof_guesses(const struct vg_unwanted_log *l)
{
	return l->count[VG_UNWANTED_ID] + l->count[VG_UNWANTED_QUESTION] +
	       l->count[VG_UNWANTED_CASE] + l->count[VG_UNWANTED_SOURCE];
}

void vg_hijack_spoof_mark(struct vg_iq *iq)
{
	const struct vg_hijack_opts *o = iq->req->r->hijack;
	/* Over TCP the connection proves the origin: what came that way is clean. */
	if (!o || !o->enabled || o->spoof_attempt == VG_DETECT_OFF || iq->tcp ||
	    !spoof_guesses(&iq->unwanted))
		return;
	for (size_t k = 0; k < iq->msg.n_rrsets; k++)
		iq->msg.rrsets[k].suspect |= 1u << VG_SUSPECT_SPOOF_ATTEMPT;
}

void vg_hijack_spoof_report(struct vg_req *req)
{
	struct vg_resolver *r = req->r;
	const struct vg_hijack_opts *o = r->hijack;
	if (!o || !o->enabled || o->spoof_attempt == VG_DETECT_OFF)
		return;
	unsigned count[VG_UNWANTED_N_KINDS] = {0};
	struct vg_suspect_source src[VG_UNWANTED_SOURCES * 2];
	size_t n_src = 0;
	bool retried = false;
	const struct vg_iq *last = NULL;
	for (const struct vg_iq *iq = req->iqs; iq; iq = iq->next_all) {
		const struct vg_unwanted_log *l = &iq->unwanted;
		if (!spoof_guesses(l))
			continue;
		last = iq;
		retried |= l->moved_tcp;
		for (int k = 0; k < VG_UNWANTED_N_KINDS; k++)
			count[k] += l->count[k];
		for (size_t i = 0; i < l->n_src; i++) {
			bool dup = false;
			for (size_t j = 0; j < n_src; j++)
				dup |= src[j].tcp == l->src[i].tcp &&
				       vg_sockaddr_eq(&src[j].addr, &l->src[i].from);
			if (!dup && n_src < sizeof(src) / sizeof(src[0]))
				src[n_src++] =
				    (struct vg_suspect_source){l->src[i].from, l->src[i].tcp};
		}
	}
	if (!last)
		return;
	struct vg_suspect_count counts[VG_UNWANTED_N_KINDS];
	size_t n_counts = 0;
	for (int k = 0; k < VG_UNWANTED_N_KINDS; k++)
		if (count[k])
			counts[n_counts++] = (struct vg_suspect_count){unwanted_names[k], count[k]};
	struct vg_suspect_event ev = {
	    .reason = VG_SUSPECT_SPOOF_ATTEMPT,
	    .action = retried ? VG_SUSPECT_RETRIED : VG_SUSPECT_LOGGED,
	    .qname = req->qname,
	    .qtype = req->qtype,
	    .client = req_client(req),
	    .server = &last->server,
	    .tcp = false,
	    .served = retried ? "the answer asked again over TCP" : "the matching reply",
	    .counts = counts,
	    .n_counts = n_counts,
	    .sources = src,
	    .n_sources = n_src,
	};
	emit(r, &ev);
}

/* ---- second-answer ---- */

/* The answer section of a reply as a canonical list: owners lowercased, TTLs zeroed, sorted, so
 * TTL countdown and record order do not count as a difference. NULL if it does not parse. */
static ldns_rr_list *canonical_answer(const uint8_t *wire, size_t len, ldns_pkt **pkt)
{
	if (ldns_wire2pkt(pkt, wire, len) != LDNS_STATUS_OK)
		return NULL;
	ldns_rr_list *l = ldns_rr_list_clone(ldns_pkt_answer(*pkt));
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rr2canonical(rr);
		ldns_rr_set_ttl(rr, 0);
	}
	if (l)
		ldns_rr_list_sort(l);
	return l;
}

static bool same_answer(ldns_pkt *a, const ldns_rr_list *la, ldns_pkt *b, const ldns_rr_list *lb)
{
	if (ldns_pkt_get_rcode(a) != ldns_pkt_get_rcode(b) ||
	    ldns_rr_list_rr_count(la) != ldns_rr_list_rr_count(lb))
		return false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(la); i++)
		if (ldns_rr_compare(ldns_rr_list_rr(la, i), ldns_rr_list_rr(lb, i)) != 0)
			return false;
	return true;
}

/* At most this many RRsets of the two answers are quarantined and listed. */
#define SECOND_LIST_MAX 32

/* "first: ..." / "second: ..." texts of an answer section; flushes each RRset when `flush`. */
static void second_list(struct vg_resolver *r, const ldns_pkt *p, const char *prefix, char **texts,
			size_t *n, bool flush)
{
	const ldns_rr_list *l = ldns_pkt_answer(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && *n < SECOND_LIST_MAX; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		if ((texts[*n] = rr_print(rr, prefix)))
			(*n)++;
		const ldns_rdf *o = ldns_rr_owner(rr);
		if (flush && r->cache && ldns_rdf_size(o) <= VG_NAME_MAX)
			vg_cache_flush_name(r->cache, ldns_rdf_data(o), ldns_rr_get_type(rr));
	}
}

/* ---- injection-strict: holding answers for the window ---- */

static void hold_stop(struct vg_iq *iq)
{
	struct vg_resolver *r = iq->req->r;
	if (iq->hold) {
		r->up->ops->timer_stop(r->up, iq->hold);
		iq->hold = NULL;
	}
}

static int hold_entry(void *arg)
{
	struct vg_iq *iq = arg;
	iq->hold = NULL; /* fired: the transport forgets a one-shot timer */
	if (iq->req->done || iq->state != IQ_HOLD)
		return 0;
	iq->state = IQ_VALIDATE; /* the window passed quietly: use the reply */
	vg_iq_run(iq);
	return 0;
}

static void on_hold(void *ctx)
{
	struct vg_iq *iq = ctx;
	vg_resolver_entry(iq->req->r, hold_entry, iq);
}

bool vg_hijack_hold(struct vg_iq *iq, bool full)
{
	struct vg_resolver *r = iq->req->r;
	const struct vg_hijack_opts *o = r->hijack;
	if (!r->opts.injection_strict || !r->opts.injection_window_ms || !o || !o->enabled ||
	    o->second_answer == VG_DETECT_OFF || iq->tcp || !full || iq != iq->req->root)
		return false;
	/* What the client will be told: answers and negative answers, not referrals or lame
	 * replies (the walk goes on with those and the final reply is held in its turn). The
	 * DS/DNSKEY fetches and address lookups of sub-requests are not held: the validator
	 * judges what they bring. */
	switch (iq->verdict.kind) {
	case VG_REPLY_ANSWER:
	case VG_REPLY_CNAME:
	case VG_REPLY_NXDOMAIN:
	case VG_REPLY_NODATA:
		break;
	default:
		return false;
	}
	if (r->up->ops->timer_start(r->up, r->opts.injection_window_ms, on_hold, iq, &iq->hold) < 0)
		return false; /* no timer: answer at once rather than not at all */
	iq->state = IQ_HOLD;
	r->stats.injection_held++;
	return true;
}

void vg_hijack_hold_cancel(struct vg_iq *iq)
{
	hold_stop(iq); /* nothing to do for an iq that never held */
}

/* A second answer from `server` for (qname, qtype): every iq still working on the first reply
 * (held by injection-strict, or being validated) drops it and asks again over TCP, so its
 * client gets what TCP says and nothing of the first reply is stored. Held iqs resume now;
 * iqs waiting for the validator's DS/DNSKEY fetches are flagged and re-ask when validation
 * ends (st_validate). Returns how many; *client gets the first one's client, if any. */
static size_t inflight_retry_tcp(struct vg_resolver *r, const struct vg_sockaddr *server,
				 const uint8_t *qname, uint16_t qtype, struct vg_sockaddr *client,
				 bool *has_client)
{
	struct vg_iq *resume[16];
	size_t n = 0, n_resume = 0;
	for (struct vg_req *req = r->reqs; req; req = req->next) {
		for (struct vg_iq *iq = req->iqs; iq; iq = iq->next_all) {
			if (!iq->reply_in_use || iq->asked_type != qtype ||
			    !vg_sockaddr_eq(&iq->server, server))
				continue;
			uint8_t asked[VG_NAME_MAX];
			memcpy(asked, iq->asked, (size_t)vg_name_len(iq->asked, VG_NAME_MAX));
			vg_name_lower(asked);
			if (!vg_name_eq(asked, qname))
				continue;
			n++;
			const struct vg_sockaddr *c = *has_client ? NULL : req_client(req);
			if (c) {
				*client = *c;
				*has_client = true;
			}
			if (iq->state == IQ_HOLD && n_resume < 16) {
				hold_stop(iq);
				iq->reply_in_use = false;
				iq->tcp = true;
				iq->state = IQ_SEND;
				r->stats.injection_held_retried++;
				r->stats.tcp_fallbacks++;
				resume[n_resume++] = iq;
			} else {
				iq->second_seen = true; /* st_validate re-asks over TCP */
			}
		}
	}
	/* Resumed after the walk: a resumed iq may end its request (which stays readable until
	 * the reaper runs) or start new requests (added at the head of the list). */
	for (size_t i = 0; i < n_resume; i++)
		if (!resume[i]->req->done && resume[i]->state == IQ_SEND)
			vg_iq_run(resume[i]);
	return n;
}

struct late_args {
	struct vg_resolver *r;
	const struct vg_upstream_late *l;
};

static int late_entry(void *arg)
{
	const struct late_args *a = arg;
	struct vg_resolver *r = a->r;
	const struct vg_upstream_late *l = a->l;
	r->stats.unwanted_late++;
	const struct vg_hijack_opts *o = r->hijack;
	/* A late message that does not match (wrong ID or question) is an off-path guess that
	 * came too late to matter: counted, nothing else. */
	if (l->match != VG_MATCH_OK || !o || !o->enabled || o->second_answer == VG_DETECT_OFF)
		return 0;
	uint8_t qname[VG_NAME_MAX];
	int qn = l->query_len > 12 ? vg_name_len(l->query + 12, l->query_len - 12) : -1;
	if (qn <= 0 || (size_t)qn + 16 > l->query_len)
		return 0;
	memcpy(qname, l->query + 12, (size_t)qn);
	vg_name_lower(qname);
	uint16_t qtype = vg_get_u16(l->query + 12 + qn);
	ldns_pkt *pa = NULL, *pb = NULL;
	ldns_rr_list *la = canonical_answer(l->accepted, l->accepted_len, &pa);
	ldns_rr_list *lb = canonical_answer(l->msg.msg, l->msg.len, &pb);
	if (!la || !lb || same_answer(pa, la, pb, lb))
		goto out; /* a duplicate (retransmission, TTL countdown, order): not forgery */
	bool block = o->second_answer == VG_DETECT_BLOCK;
	char *texts[SECOND_LIST_MAX];
	size_t n = 0;
	second_list(r, pa, "first: ", texts, &n, block);
	second_list(r, pb, "second: ", texts, &n, block);
	/* Requests still working on the first reply (held by injection-strict, or waiting for
	 * the validator) never use it: they ask over TCP and their clients get what TCP says
	 * (in log mode too: nothing of a contested reply is used while a TCP answer can be had). */
	struct vg_sockaddr client;
	bool has_client = false;
	size_t held = inflight_retry_tcp(r, l->server, qname, qtype, &client, &has_client);
	if (held) {
		if (block && r->cache)
			vg_cache_flush_name(r->cache, qname, qtype);
	} else if (block) {
		/* The question's answer entry too (a NODATA/NXDOMAIN has no answer RRset), then
		 * the question once more over TCP: the cache keeps what it confirms. */
		if (r->cache)
			vg_cache_flush_name(r->cache, qname, qtype);
		vg_req_refetch_tcp(r, qname, qtype);
	}
	struct vg_suspect_event ev = {
	    .reason = VG_SUSPECT_SECOND_ANSWER,
	    .action =
		held ? VG_SUSPECT_RETRIED : (block ? VG_SUSPECT_QUARANTINED : VG_SUSPECT_LOGGED),
	    .qname = qname,
	    .qtype = qtype,
	    .client = has_client ? &client : NULL,
	    .server = &l->msg.from,
	    .tcp = false,
	    .records = (const char *const *)texts,
	    .n_records = n,
	    .served = held    ? "neither: the first reply was not used yet; the question was asked "
				"again over TCP and the client gets the TCP answer"
		      : block ? "the first answer (already sent); its RRsets quarantined and asked "
				"again over TCP"
			      : "the first answer",
	    .reply = l->msg.msg,
	    .reply_len = l->msg.len,
	    .first_reply = l->accepted,
	    .first_reply_len = l->accepted_len,
	};
	emit(r, &ev);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
out:
	ldns_rr_list_deep_free(la);
	ldns_rr_list_deep_free(lb);
	ldns_pkt_free(pa);
	ldns_pkt_free(pb);
	return 0;
}

void vg_hijack_late(void *ctx, const struct vg_upstream_late *l)
{
	struct late_args a = {ctx, l};
	/* An entry point: the re-fetch it may start reads the cache. */
	vg_resolver_entry(a.r, late_entry, &a);
}
