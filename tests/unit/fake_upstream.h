/* Test double for include/vigil/upstream.h: a scripted Internet of tiny authoritative servers
 * (zone data as text, answered with ldns), a fake monotonic and wall clock, and a deterministic
 * random source. Header-only (static functions), included by the resolver's criterion files.
 *
 * fake_run() delivers replies in send order and, when nothing is left to deliver, advances the
 * clock to the next timer or query timeout: no sleeping, time is what the test says it is. */
#ifndef VIGIL_TESTS_FAKE_UPSTREAM_H
#define VIGIL_TESTS_FAKE_UPSTREAM_H

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <vigil/name.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/upstream.h>

#define FAKE_MAX_SERVERS 32
#define FAKE_MAX_RRS 64
#define FAKE_MAX_Q 256
#define FAKE_LOG 512

struct fake_up;

/* Per-server behaviour. NULL `zone` with FAKE_SILENT: never answers. */
enum fake_mode {
	FAKE_AUTH = 0,	    /* answers like an authoritative server from its zone data */
	FAKE_SILENT,	    /* never answers */
	FAKE_CASE_FLIP,	    /* UDP: answers with the question's letter case inverted; TCP: fine */
	FAKE_CASE_FLIP_ALL, /* inverts the case over UDP and TCP */
	FAKE_WRONG_ID,	    /* answers with ID + 1 only */
	FAKE_WRONG_ID_UDP,  /* UDP: answers with ID + 1 only; TCP: fine */
	FAKE_FORMERR_EDNS,  /* FORMERR to queries with OPT */
	FAKE_FORMERR,	    /* FORMERR to everything (or a forged FORMERR, then a broken server) */
	FAKE_TC,	    /* TC=1 over UDP, full answer over TCP */
	FAKE_SERVFAIL,	    /* SERVFAIL to everything */
	FAKE_REFUSED,	    /* REFUSED to everything (lame) */
	FAKE_RECURSIVE,	    /* a forwarder: answers from `zone` data with RA, whatever the name */
	FAKE_FIXED,	    /* answers every query with AA, `fixed_rcode` and the `fixed` records */
	FAKE_FIXED_UDP,	    /* FAKE_FIXED over UDP (an on-path forger), FAKE_AUTH over TCP */
	FAKE_UNREACHABLE,   /* an ICMP error at once (VG_UP_UNREACHABLE), then nothing */
	FAKE_ICMP_THEN_AUTH, /* a (forged) ICMP error at once, then the real answer after delay_ms
			      */
	FAKE_LOCAL_ERROR,    /* ops->send fails with -ENETUNREACH: nothing is sent */
};

struct fake_server {
	char addr[64];
	char apex[256];
	enum fake_mode mode;
	uint32_t delay_ms;
	const char *rrs[FAKE_MAX_RRS];
	size_t n_rrs;
	unsigned queries;    /* received */
	bool dname_no_cname; /* applies DNAMEs without adding the synthesized CNAME (old servers) */
	/* FAKE_FIXED: "S|rr text" entries (S = A(nswer), U(thority), D(additional)), NULL-ended */
	const char *const *fixed;
	int fixed_rcode;
	/* any mode: when set, builds the whole reply to `query` itself (crafted wire) */
	size_t (*raw)(const uint8_t *query, size_t qlen, uint8_t *out, size_t cap);
};

struct fake_q {
	bool live;
	struct fake_up *f;
	uint8_t wire[512];
	size_t len;
	bool tcp;
	struct vg_sockaddr server;
	uint64_t sent_at, deadline;
	bool icmp;    /* the ICMP notice was delivered */
	unsigned gen; /* sends that used this slot: a callback may cancel and reuse it */
	vg_upstream_reply_cb cb;
	vg_upstream_unwanted_cb unwanted;
	void *ctx;
};

struct fake_timer {
	bool live;
	uint64_t due;
	vg_upstream_timer_cb cb;
	void *ctx;
};

struct fake_log {
	uint64_t at; /* fake time it was sent */
	char server[64];
	char name[256];
	uint16_t type;
	bool tcp, rd, edns, cd;
};

struct fake_up {
	struct vg_upstream head;
	uint64_t now;
	int64_t wall;
	uint32_t rnd;
	struct fake_server servers[FAKE_MAX_SERVERS];
	size_t n_servers;
	struct fake_q q[FAKE_MAX_Q];
	struct fake_timer t[FAKE_MAX_Q];
	struct fake_log log[FAKE_LOG];
	size_t n_log;
	unsigned unsolicited;
	unsigned send_errors; /* sends refused by FAKE_LOCAL_ERROR servers */
};

static struct fake_server *fake_server(struct fake_up *f, const char *addr, const char *apex,
				       enum fake_mode mode)
{
	struct fake_server *s = &f->servers[f->n_servers++];
	memset(s, 0, sizeof(*s));
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	snprintf(s->apex, sizeof(s->apex), "%s", apex);
	s->mode = mode;
	return s;
}

static void fake_rr(struct fake_server *s, const char *rr)
{
	s->rrs[s->n_rrs++] = rr;
}

/* The server at address a that holds the zone closest to the query's name (an address may
 * serve several zones, like a real authority). */
static struct fake_server *fake_find_q(struct fake_up *f, const struct vg_sockaddr *a,
				       const uint8_t *wire, size_t len)
{
	char buf[64];
	if (a->u.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->u.sin.sin_addr, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, &a->u.sin6.sin6_addr, buf, sizeof(buf));
	struct fake_server *best = NULL;
	int best_labels = -1;
	for (size_t i = 0; i < f->n_servers; i++) {
		struct fake_server *s = &f->servers[i];
		if (strcmp(s->addr, buf))
			continue;
		uint8_t apex[VG_NAME_MAX];
		if (!wire || vg_name_from_text(s->apex, apex) < 0 || len < 13) {
			if (!best)
				best = s;
			continue;
		}
		int l = vg_name_labels(apex);
		if (vg_name_in_zone(wire + 12, apex) && l > best_labels) {
			best = s;
			best_labels = l;
		}
	}
	if (!best)
		for (size_t i = 0; i < f->n_servers; i++)
			if (!strcmp(f->servers[i].addr, buf))
				return &f->servers[i];
	return best;
}

static struct fake_server *fake_find(struct fake_up *f, const struct vg_sockaddr *a)
{
	return fake_find_q(f, a, NULL, 0);
}

static ldns_rr_list *fake_zone(const struct fake_server *s)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (size_t i = 0; i < s->n_rrs; i++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, s->rrs[i], 3600, NULL, NULL) == LDNS_STATUS_OK)
			ldns_rr_list_push_rr(l, rr);
		else
			fprintf(stderr, "fake_upstream: bad rr '%s'\n", s->rrs[i]);
	}
	return l;
}

static bool fake_below(const ldns_rdf *name, const ldns_rdf *zone)
{
	return ldns_dname_compare(name, zone) == 0 || ldns_dname_is_subdomain(name, zone);
}

static void fake_add_matching(ldns_pkt *p, ldns_pkt_section sec, const ldns_rr_list *z,
			      const ldns_rdf *owner, ldns_rr_type type)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z, i);
		if (ldns_dname_compare(ldns_rr_owner(rr), owner))
			continue;
		/* an RRSIG goes with the set it covers, as a signed zone's server sends it */
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_RRSIG && type != LDNS_RR_TYPE_RRSIG)
			t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
		if (type == 0 || t == type)
			ldns_pkt_push_rr(p, sec, ldns_rr_clone(rr));
	}
}

/* The authoritative answer of server s to (qname, qtype), into p. */
static void fake_answer(const struct fake_server *s, ldns_pkt *p, const ldns_rdf *qname,
			ldns_rr_type qtype)
{
	ldns_rr_list *z = fake_zone(s);
	ldns_rdf *apex = ldns_dname_new_frm_str(s->apex);
	bool recursive = s->mode == FAKE_RECURSIVE;
	ldns_rdf *name = ldns_rdf_clone(qname);
	ldns_dname2canonical(name);
	if (recursive)
		ldns_pkt_set_ra(p, true);
	for (int hop = 0; hop < 8; hop++) {
		/* delegation below the apex on the way to name? */
		ldns_rdf *cut = NULL;
		for (size_t i = 0; !recursive && i < ldns_rr_list_rr_count(z); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z, i);
			/* the parent answers DS for a child itself (RFC 4035 §3.1.4.1) */
			if (qtype == LDNS_RR_TYPE_DS &&
			    ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
				continue;
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
			    ldns_dname_compare(ldns_rr_owner(rr), apex) != 0 &&
			    fake_below(name, ldns_rr_owner(rr)) &&
			    (!cut || ldns_dname_label_count(ldns_rr_owner(rr)) <
					 ldns_dname_label_count(cut)))
				cut = ldns_rr_owner(rr);
		}
		if (cut) {
			if (hop == 0) {
				fake_add_matching(p, LDNS_SECTION_AUTHORITY, z, cut,
						  LDNS_RR_TYPE_NS);
				/* a signed parent's DS with the referral (RFC 4035 3.1.4) */
				fake_add_matching(p, LDNS_SECTION_AUTHORITY, z, cut,
						  LDNS_RR_TYPE_DS);
				/* or the NSEC that proves it has none (RFC 4035 3.1.4) */
				fake_add_matching(p, LDNS_SECTION_AUTHORITY, z, cut,
						  LDNS_RR_TYPE_NSEC);
				for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++) {
					ldns_rr *rr = ldns_rr_list_rr(z, i);
					if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
					    ldns_dname_compare(ldns_rr_owner(rr), cut))
						continue;
					ldns_rdf *t = ldns_rr_rdf(rr, 0);
					fake_add_matching(p, LDNS_SECTION_ADDITIONAL, z, t,
							  LDNS_RR_TYPE_A);
					fake_add_matching(p, LDNS_SECTION_ADDITIONAL, z, t,
							  LDNS_RR_TYPE_AAAA);
				}
			}
			break;
		}
		if (hop == 0)
			ldns_pkt_set_aa(p, !recursive);
		/* DNAME at a proper ancestor of the name (RFC 6672): the DNAME, the CNAME it
		 * implies (unless dname_no_cname), then on with the substituted name. */
		ldns_rr *dn = NULL;
		for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNAME &&
			    ldns_dname_is_subdomain(name, ldns_rr_owner(rr)))
				dn = rr;
		}
		if (dn) {
			ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, ldns_rr_clone(dn));
			for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++) {
				ldns_rr *sg =
				    ldns_rr_list_rr(z, i); /* the DNAME's RRSIGs, if signed */
				if (ldns_rr_get_type(sg) == LDNS_RR_TYPE_RRSIG &&
				    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sg)) ==
					LDNS_RR_TYPE_DNAME &&
				    !ldns_dname_compare(ldns_rr_owner(sg), ldns_rr_owner(dn)))
					ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, ldns_rr_clone(sg));
			}
			char *n = ldns_rdf2str(name), *o = ldns_rdf2str(ldns_rr_owner(dn));
			char *t = ldns_rdf2str(ldns_rr_rdf(dn, 0));
			char buf[600];
			snprintf(buf, sizeof(buf), "%.*s%s", (int)(strlen(n) - strlen(o)), n, t);
			if (!s->dname_no_cname) {
				char line[1300];
				snprintf(line, sizeof(line), "%s %u IN CNAME %s", n,
					 ldns_rr_ttl(dn), buf);
				ldns_rr *cn = NULL;
				if (ldns_rr_new_frm_str(&cn, line, 3600, NULL, NULL) ==
				    LDNS_STATUS_OK)
					ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, cn);
			}
			free(n);
			free(o);
			free(t);
			ldns_rdf_deep_free(name);
			name = ldns_dname_new_frm_str(buf);
			if (!name || !fake_below(name, apex))
				break;
			continue;
		}
		size_t before = ldns_pkt_ancount(p);
		fake_add_matching(p, LDNS_SECTION_ANSWER, z, name, qtype);
		if (ldns_pkt_ancount(p) > before) {
			/* like real servers: addresses of the NS names of an NS answer */
			for (size_t i = 0; qtype == LDNS_RR_TYPE_NS && i < ldns_rr_list_rr_count(z);
			     i++) {
				ldns_rr *rr = ldns_rr_list_rr(z, i);
				if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
				    ldns_dname_compare(ldns_rr_owner(rr), name))
					continue;
				fake_add_matching(p, LDNS_SECTION_ADDITIONAL, z, ldns_rr_rdf(rr, 0),
						  LDNS_RR_TYPE_A);
			}
			break;
		}
		ldns_rr *cname = NULL;
		bool exists = false;
		for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z, i);
			if (fake_below(ldns_rr_owner(rr), name))
				exists = true;
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
				cname = rr;
		}
		if (cname) {
			/* the CNAME with its RRSIGs, if the zone is signed */
			fake_add_matching(p, LDNS_SECTION_ANSWER, z, name, LDNS_RR_TYPE_CNAME);
			ldns_rdf *t = ldns_rdf_clone(ldns_rr_rdf(cname, 0));
			ldns_rdf_deep_free(name);
			name = t;
			if (!recursive && !fake_below(name, apex))
				break;
			continue;
		}
		if (!exists)
			ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
		fake_add_matching(p, LDNS_SECTION_AUTHORITY, z, apex, LDNS_RR_TYPE_SOA);
		/* A zone given NSEC/NSEC3 records sends all of them with their RRSIGs (a small
		 * zone's whole chain): the validator picks the ones that prove. */
		for (size_t i = 0; i < ldns_rr_list_rr_count(z); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z, i);
			ldns_rr_type t = ldns_rr_get_type(rr);
			if (t == LDNS_RR_TYPE_RRSIG)
				t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
			if (t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3)
				ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, ldns_rr_clone(rr));
		}
		break;
	}
	ldns_rdf_deep_free(name);
	ldns_rdf_deep_free(apex);
	ldns_rr_list_deep_free(z);
}

static void fake_fixed(const struct fake_server *s, ldns_pkt *p)
{
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)s->fixed_rcode);
	for (const char *const *e = s->fixed; e && *e; e++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, *e + 2, 3600, NULL, NULL) != LDNS_STATUS_OK)
			continue;
		ldns_pkt_push_rr(p,
				 (*e)[0] == 'A'	  ? LDNS_SECTION_ANSWER
				 : (*e)[0] == 'U' ? LDNS_SECTION_AUTHORITY
						  : LDNS_SECTION_ADDITIONAL,
				 rr);
	}
}

/* Builds the server's reply to the query; returns its length, 0 for silence. */
static size_t fake_reply(struct fake_up *f, struct fake_server *s, const struct fake_q *q,
			 uint8_t *out, size_t cap)
{
	ldns_pkt *qp = NULL;
	if (ldns_wire2pkt(&qp, q->wire, q->len) != LDNS_STATUS_OK)
		return 0;
	if (s->mode == FAKE_SILENT || s->raw) {
		ldns_pkt_free(qp);
		return s->raw ? s->raw(q->wire, q->len, out, cap) : 0;
	}
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, ldns_pkt_id(qp));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, ldns_pkt_rd(qp));
	ldns_rr *question = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(qp), 0));
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, question);
	bool edns = ldns_pkt_edns(qp);
	if ((s->mode == FAKE_FORMERR_EDNS && edns) || s->mode == FAKE_FORMERR) {
		ldns_pkt_set_rcode(p, LDNS_RCODE_FORMERR);
	} else if (s->mode == FAKE_SERVFAIL) {
		ldns_pkt_set_rcode(p, LDNS_RCODE_SERVFAIL);
	} else if (s->mode == FAKE_REFUSED) {
		ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
	} else if (s->mode == FAKE_TC && !q->tcp) {
		ldns_pkt_set_tc(p, true);
	} else if (s->mode == FAKE_FIXED || (s->mode == FAKE_FIXED_UDP && !q->tcp)) {
		fake_fixed(s, p);
	} else {
		fake_answer(s, p, ldns_rr_owner(question), ldns_rr_get_type(question));
	}
	if (edns && s->mode != FAKE_FORMERR_EDNS) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_data(p, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, 0, ""));
	}
	uint8_t *w = NULL;
	size_t len = 0;
	ldns_pkt2wire(&w, p, &len);
	ldns_pkt_free(p);
	ldns_pkt_free(qp);
	if (!w || len > cap) {
		free(w);
		return 0;
	}
	memcpy(out, w, len);
	free(w);
	/* ldns may rewrite the question's case: put our exact question bytes back. */
	size_t qend = 12;
	while (qend < q->len && q->wire[qend])
		qend += q->wire[qend] + 1u;
	qend += 5;
	if (qend <= len && qend <= q->len)
		memcpy(out + 12, q->wire + 12, qend - 12);
	if ((s->mode == FAKE_CASE_FLIP && !q->tcp) || s->mode == FAKE_CASE_FLIP_ALL) {
		for (size_t i = 12; i < qend - 4; i++)
			if (isalpha(out[i]))
				out[i] ^= 0x20;
	}
	if (s->mode == FAKE_TC && !q->tcp && len > 12) {
		/* like a server that cuts mid-record: claim one answer record, send half of it */
		vg_put_u16(out + 6, 1);
		out[len++] = 0xc0;
		out[len++] = 12;
	}
	if (s->mode == FAKE_WRONG_ID || (s->mode == FAKE_WRONG_ID_UDP && !q->tcp))
		vg_put_u16(out, (uint16_t)(vg_get_u16(out) + 1));
	(void)f;
	return len;
}

static int fake_send(struct vg_upstream *up, const struct vg_upstream_req *req,
		     vg_upstream_reply_cb cb, void *ctx, struct vg_upstream_query **out)
{
	struct fake_up *f = (struct fake_up *)up;
	struct fake_server *ls = fake_find(f, req->server);
	if (ls && ls->mode == FAKE_LOCAL_ERROR) {
		f->send_errors++;
		return -ENETUNREACH;
	}
	for (size_t i = 0; i < FAKE_MAX_Q; i++) {
		struct fake_q *q = &f->q[i];
		if (q->live)
			continue;
		unsigned gen = q->gen;
		memset(q, 0, sizeof(*q));
		q->gen = gen + 1;
		q->live = true;
		q->f = f;
		memcpy(q->wire, req->wire, req->len);
		q->len = req->len;
		q->tcp = req->tcp;
		q->server = *req->server;
		q->sent_at = f->now;
		q->deadline = f->now + req->timeout_ms;
		q->cb = cb;
		q->unwanted = req->unwanted;
		q->ctx = ctx;
		if (f->n_log < FAKE_LOG) {
			struct fake_log *l = &f->log[f->n_log++];
			l->at = f->now;
			struct fake_server *s = fake_find(f, req->server);
			snprintf(l->server, sizeof(l->server), "%s", s ? s->addr : "?");
			ldns_pkt *qp = NULL;
			if (ldns_wire2pkt(&qp, req->wire, req->len) == LDNS_STATUS_OK) {
				ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
				char *t = ldns_rdf2str(ldns_rr_owner(qr));
				snprintf(l->name, sizeof(l->name), "%s", t);
				free(t);
				l->type = ldns_rr_get_type(qr);
				l->rd = ldns_pkt_rd(qp);
				l->cd = ldns_pkt_cd(qp);
				l->edns = ldns_pkt_edns(qp);
				ldns_pkt_free(qp);
			}
			l->tcp = req->tcp;
		}
		if (req->tcp)
			f->head.stats.sent_tcp++;
		else
			f->head.stats.sent_udp++;
		*out = (struct vg_upstream_query *)q;
		return 0;
	}
	return -ENOBUFS;
}

static void fake_cancel(struct vg_upstream *up, struct vg_upstream_query *q)
{
	((struct fake_q *)q)->live = false;
}

static int fake_timer_start(struct vg_upstream *up, uint64_t ms, vg_upstream_timer_cb cb, void *ctx,
			    struct vg_upstream_timer **out)
{
	struct fake_up *f = (struct fake_up *)up;
	for (size_t i = 0; i < FAKE_MAX_Q; i++) {
		if (f->t[i].live)
			continue;
		f->t[i] =
		    (struct fake_timer){.live = true, .due = f->now + ms, .cb = cb, .ctx = ctx};
		*out = (struct vg_upstream_timer *)&f->t[i];
		return 0;
	}
	return -ENOBUFS;
}

static void fake_timer_stop(struct vg_upstream *up, struct vg_upstream_timer *t)
{
	((struct fake_timer *)t)->live = false;
}

static uint64_t fake_now(struct vg_upstream *up)
{
	return ((struct fake_up *)up)->now;
}

static int64_t fake_wall(struct vg_upstream *up)
{
	return ((struct fake_up *)up)->wall;
}

static void fake_random(struct vg_upstream *up, void *buf, size_t len)
{
	struct fake_up *f = (struct fake_up *)up;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		f->rnd = f->rnd * 1103515245u + 12345u;
		p[i] = (uint8_t)(f->rnd >> 16);
	}
}

static const struct vg_upstream_ops fake_ops = {
    .send = fake_send,
    .cancel = fake_cancel,
    .timer_start = fake_timer_start,
    .timer_stop = fake_timer_stop,
    .now_ms = fake_now,
    .wall_now = fake_wall,
    .random = fake_random,
};

static void fake_init(struct fake_up *f)
{
	memset(f, 0, sizeof(*f));
	f->head.ops = &fake_ops;
	f->now = 1000;
	f->wall = 1800000000;
	f->rnd = 42;
}

/* Runs until nothing is pending or `max_ms` of fake time passed. */
static void fake_run(struct fake_up *f, uint64_t max_ms)
{
	uint64_t end = f->now + max_ms;
	for (int guard = 0; guard < 100000; guard++) {
		/* 1. the earliest event: a reply that is due, a query timeout or a timer. */
		uint64_t best = UINT64_MAX;
		int kind = 0;
		size_t which = 0;
		uint8_t buf[65536];
		for (size_t i = 0; i < FAKE_MAX_Q; i++) {
			struct fake_q *q = &f->q[i];
			if (!q->live)
				continue;
			struct fake_server *s = fake_find_q(f, &q->server, q->wire, q->len);
			uint64_t due = q->deadline;
			int k = 2; /* timeout */
			bool icmp =
			    s && (s->mode == FAKE_UNREACHABLE || s->mode == FAKE_ICMP_THEN_AUTH);
			if (icmp && !q->icmp) {
				due = q->sent_at;
				k = 4; /* the ICMP notice */
			} else if (s && s->mode != FAKE_SILENT && s->mode != FAKE_UNREACHABLE &&
				   q->sent_at + s->delay_ms < q->deadline) {
				due = q->sent_at + s->delay_ms;
				k = 1;
			}
			if (due < best) {
				best = due;
				kind = k;
				which = i;
			}
		}
		for (size_t i = 0; i < FAKE_MAX_Q; i++) {
			if (f->t[i].live && f->t[i].due < best) {
				best = f->t[i].due;
				kind = 3;
				which = i;
			}
		}
		if (kind == 0 || best > end)
			break;
		if (best > f->now)
			f->now = best;
		if (kind == 3) {
			f->t[which].live = false;
			f->t[which].cb(f->t[which].ctx);
			continue;
		}
		struct fake_q *q = &f->q[which];
		if (kind == 4) {
			struct fake_server *s = fake_find_q(f, &q->server, q->wire, q->len);
			if (s->mode == FAKE_UNREACHABLE)
				s->queries++; /* FAKE_ICMP_THEN_AUTH counts it when it answers */
			q->icmp = true;
			f->head.stats.icmp_errors++;
			q->cb(q->ctx, VG_UP_UNREACHABLE, NULL, 0, 0); /* the query stays live */
			continue;
		}
		if (kind == 1) {
			struct fake_server *s = fake_find_q(f, &q->server, q->wire, q->len);
			s->queries++;
			size_t len = fake_reply(f, s, q, buf, sizeof(buf));
			/* The same acceptance rule as the daemon's transport. */
			enum vg_upstream_match mv =
			    len ? vg_upstream_match(q->wire, q->len, buf, len) : VG_MATCH_SHORT;
			if (mv == VG_MATCH_CASE && q->tcp)
				mv = VG_MATCH_OK; /* as the daemon's transport */
			if (mv == VG_MATCH_OK) {
				q->live = false;
				f->head.stats.replies++;
				q->cb(q->ctx, VG_UP_REPLY, buf, len,
				      (uint32_t)(f->now - q->sent_at));
				continue;
			}
			if (len) {
				f->unsolicited++;
				if (q->unwanted) { /* as the daemon's transport: from the server */
					struct vg_upstream_unwanted uw = {
					    vg_upstream_unwanted_kind_of(mv), q->server, q->tcp,
					    buf, len};
					unsigned gen = q->gen;
					q->unwanted(q->ctx, &uw);
					if (!q->live || q->gen != gen)
						continue; /* cancelled by the callback */
				}
			}
			if (mv == VG_MATCH_CASE && !q->tcp) {
				q->live = false;
				q->cb(q->ctx, VG_UP_CASE, NULL, 0, 0);
				continue;
			}
			/* Nothing acceptable: the query now waits for its timeout. */
			q->sent_at = q->deadline; /* makes the next due time the deadline */
			continue;
		}
		q->live = false;
		f->head.stats.timeouts++;
		q->cb(q->ctx, VG_UP_TIMEOUT, NULL, 0, 0);
	}
}

/* How many queries were sent for name (presentation, with trailing dot, case-insensitive). */
static unsigned fake_count(const struct fake_up *f, const char *server, const char *name,
			   uint16_t type)
{
	unsigned n = 0;
	for (size_t i = 0; i < f->n_log; i++)
		if ((!server || !strcmp(f->log[i].server, server)) &&
		    (!name || !strcasecmp(f->log[i].name, name)) &&
		    (!type || f->log[i].type == type))
			n++;
	return n;
}

#endif
