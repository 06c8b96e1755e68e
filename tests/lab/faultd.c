/* faultd: the lab's small authoritative server that serves one zone file with a chosen misbehaviour
 * (silence, delay, TC, garbage, forged or mismatched replies, bad referrals...). See docs/lab.md.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vigil/addr.h"

enum fd_mode {
	M_OK,
	M_SILENT,
	M_SLOW,
	M_TC,
	M_GARBAGE,
	M_WRONGID,
	M_WRONGQ,
	M_WRONGPORT,
	M_OOB,
	M_REFLOOP,
	M_UPWARD,
	M_FORMERR,
	M_NXNS,
	M_CASE,
	M_TWICE,
	M_FLOOD,
	M_COUNT
};

static const char *const mode_names[M_COUNT] = {
    "ok",  "silent",  "slow",	"tc",	   "garbage", "wrongid", "wrongq", "wrongport",
    "oob", "refloop", "upward", "formerr", "nxns",    "case",	 "twice",  "flood",
};

#define FORGED_ADDR "192.0.2.66"
#define TWICE_GAP_MS 20
#define FLOOD_COUNT 16 /* forged datagrams per query in flood mode */
#define MAX_OUT (FLOOD_COUNT + 3)
#define MAX_PENDING 4096 /* 9 s of slow9.faults.net. at ~450 queries/s */
#define MAX_MSG 65535

/* A reply waiting for its send time (slow mode, the real answer after a forged one). */
struct pending {
	bool used;
	uint64_t due_ms;
	int fd;
	struct vg_sockaddr to;
	uint8_t *wire;
	size_t len;
};

/* Everything the server knows; zone data is read-only after start, so TCP threads share it. */
struct server {
	ldns_rr_list *rrs; /* all RRs of the zone, SOA included */
	ldns_rr *soa;
	ldns_rdf *origin;
	_Atomic int mode;
	int delay_ms;
	int nxns_count;
	bool no_followup;
	bool label_modes;   /* -l: a first label naming a mode selects it for that query */
	ldns_rdf *ref_name; /* referral target for refloop/upward */
	char ref_addr[64];
	char own_addr[64];
	const char *mode_file;
	int udp_fd, alt_fd, tcp_fd;
	struct pending pend[MAX_PENDING];
};

static volatile sig_atomic_t got_hup, got_term;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int mode_parse(const char *s)
{
	for (int i = 0; i < M_COUNT; i++)
		if (strcmp(s, mode_names[i]) == 0)
			return i;
	return -1;
}

/* Reads the first word of the mode file; keeps the current mode when the file is unusable. */
static void mode_reload(struct server *srv)
{
	char word[32] = "";
	FILE *f = fopen(srv->mode_file, "r");

	if (f == NULL) {
		fprintf(stderr, "faultd: cannot read mode file %s: %s\n", srv->mode_file,
			strerror(errno));
		return;
	}
	if (fscanf(f, "%31s", word) == 1) {
		int m = mode_parse(word);
		if (m >= 0)
			atomic_store(&srv->mode, m);
		else
			fprintf(stderr, "faultd: unknown mode '%s' in %s\n", word, srv->mode_file);
	}
	fclose(f);
}

static ldns_rr *rr_from_str(const char *s)
{
	ldns_rr *rr = NULL;

	if (ldns_rr_new_frm_str(&rr, s, 300, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	return rr;
}

static void push_str(ldns_pkt *p, ldns_pkt_section sec, const char *s)
{
	ldns_rr *rr = rr_from_str(s);

	if (rr != NULL)
		ldns_pkt_push_rr(p, sec, rr);
}

/* A reply skeleton: ID, flags and question copied from the query. */
static ldns_pkt *reply_new(const ldns_pkt *q)
{
	ldns_pkt *r = ldns_pkt_new();

	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(r, ldns_pkt_rd(q));
	ldns_pkt_set_cd(r, ldns_pkt_cd(q));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_question(q)); i++)
		ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION,
				 ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), i)));
	if (ldns_pkt_edns(q)) {
		ldns_pkt_set_edns_udp_size(r, 1232);
		ldns_pkt_set_edns_do(r, ldns_pkt_edns_do(q));
	}
	return r;
}

/* The answer a correct authoritative server gives from the zone data. */
static void answer_from_zone(const struct server *srv, const ldns_rdf *qname, ldns_rr_type qtype,
			     ldns_pkt *r)
{
	bool exists = false;
	bool answered = false;
	size_t n = ldns_rr_list_rr_count(srv->rrs);

	if (!ldns_dname_is_subdomain(qname, srv->origin) &&
	    ldns_dname_compare(qname, srv->origin) != 0) {
		ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
		return;
	}
	ldns_pkt_set_aa(r, true);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(srv->rrs, i);
		const ldns_rdf *owner = ldns_rr_owner(rr);

		if (ldns_dname_compare(owner, qname) == 0) {
			exists = true;
			if (ldns_rr_get_type(rr) == qtype ||
			    (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			     qtype != LDNS_RR_TYPE_CNAME)) {
				ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
				answered = true;
			}
		} else if (ldns_dname_is_subdomain(owner, qname)) {
			exists = true; /* empty non-terminal */
		}
	}
	if (answered)
		return;
	if (!exists)
		ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
	ldns_pkt_push_rr(r, LDNS_SECTION_AUTHORITY, ldns_rr_clone(srv->soa));
}

/* Answers `qname` with the zone data of `aname` (the same name unless label mode substituted
 * "www" for the mode label), renaming the answer's owners back to the name asked. */
static void answer_as(const struct server *srv, const ldns_rdf *qname, const ldns_rdf *aname,
		      ldns_rr_type qtype, ldns_pkt *r)
{
	answer_from_zone(srv, aname, qtype, r);
	if (aname == qname)
		return;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(r)); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), i);
		if (ldns_dname_compare(ldns_rr_owner(rr), aname) == 0) {
			ldns_rdf_deep_free(ldns_rr_owner(rr));
			ldns_rr_set_owner(rr, ldns_rdf_clone(qname));
		}
	}
}

/* Label mode: if the first label of `qname` (directly below the origin) names a mode, returns
 * that mode and stores www.<origin> in *aname (caller frees); else returns -1. */
static int label_mode(const struct server *srv, const ldns_rdf *qname, ldns_rdf **aname)
{
	ldns_rdf *first, *parent;
	char *label;
	int m = -1;

	if (ldns_dname_label_count(qname) != ldns_dname_label_count(srv->origin) + 1)
		return -1;
	parent = ldns_dname_left_chop(qname);
	if (parent == NULL || ldns_dname_compare(parent, srv->origin) != 0) {
		ldns_rdf_deep_free(parent);
		return -1;
	}
	ldns_rdf_deep_free(parent);
	first = ldns_dname_label(qname, 0);
	label = first != NULL ? ldns_rdf2str(first) : NULL;
	if (label != NULL) {
		size_t n = strlen(label);
		if (n > 0 && label[n - 1] == '.')
			label[n - 1] = '\0';
		for (char *c = label; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		/* Digits after the mode name (wrongid7) make distinct names of one mode: each is
		 * a cache miss for the resolver under test. */
		n = strlen(label);
		while (n > 1 && isdigit((unsigned char)label[n - 1]))
			label[--n] = '\0';
		m = mode_parse(label);
	}
	free(label);
	ldns_rdf_deep_free(first);
	if (m >= 0) {
		*aname = ldns_dname_new_frm_str("www");
		if (*aname == NULL || ldns_dname_cat(*aname, srv->origin) != LDNS_STATUS_OK) {
			ldns_rdf_deep_free(*aname);
			*aname = NULL;
			return -1;
		}
	}
	return m;
}

static ldns_pkt *forged_reply(const ldns_pkt *q, const ldns_rdf *qname)
{
	ldns_pkt *r = reply_new(q);
	char *name = ldns_rdf2str(qname);
	char buf[400];

	ldns_pkt_set_aa(r, true);
	snprintf(buf, sizeof(buf), "%s 300 IN A %s", name, FORGED_ADDR);
	push_str(r, LDNS_SECTION_ANSWER, buf);
	free(name);
	return r;
}

/* A referral to `ref_name` at `ref_addr` for zone `zone` (no AA). */
static void make_referral(const struct server *srv, const char *zone, ldns_pkt *r)
{
	char *target = ldns_rdf2str(srv->ref_name);
	char buf[600];

	ldns_pkt_set_aa(r, false);
	snprintf(buf, sizeof(buf), "%s 86400 IN NS %s", zone, target);
	push_str(r, LDNS_SECTION_AUTHORITY, buf);
	snprintf(buf, sizeof(buf), "%s 86400 IN A %s", target, srv->ref_addr);
	push_str(r, LDNS_SECTION_ADDITIONAL, buf);
	free(target);
}

static void flip_case(ldns_rdf *name)
{
	uint8_t *d = ldns_rdf_data(name);

	for (size_t i = 0; i < ldns_rdf_size(name); i++)
		if (isalpha(d[i]))
			d[i] ^= 0x20;
}

static int to_wire(ldns_pkt *p, uint8_t **wire, size_t *len)
{
	ldns_status st = ldns_pkt2wire(wire, p, len);

	ldns_pkt_free(p);
	return st == LDNS_STATUS_OK ? 0 : -1;
}

/* One packet to send: `delay_ms` after the query, from the alternate socket if `alt`. */
struct out {
	uint8_t *wire;
	size_t len;
	int delay_ms;
	bool alt;
};

static int add_out(struct out *o, int *n, ldns_pkt *p, int delay_ms, bool alt)
{
	if (to_wire(p, &o[*n].wire, &o[*n].len) != 0)
		return -1;
	o[*n].delay_ms = delay_ms;
	o[*n].alt = alt;
	(*n)++;
	return 0;
}

/* The packets for one query in `mode`; `aname` is the name whose data answers `qname`. */
static int plan_mode(struct server *srv, const ldns_pkt *q, bool tcp, struct out *o, int mode,
		     const ldns_rdf *qname, const ldns_rdf *aname)
{
	int n = 0;
	ldns_rr_type qtype = ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(q), 0));
	ldns_pkt *r;

	if (tcp && (mode == M_TC || mode == M_GARBAGE || mode == M_WRONGID || mode == M_WRONGQ ||
		    mode == M_WRONGPORT || mode == M_TWICE || mode == M_FLOOD))
		mode = M_OK;

	switch (mode) {
	case M_SILENT:
		return 0;
	case M_SLOW:
		r = reply_new(q);
		answer_as(srv, qname, aname, qtype, r);
		add_out(o, &n, r, srv->delay_ms, false);
		return n;
	case M_TC:
		r = reply_new(q);
		ldns_pkt_set_aa(r, true);
		ldns_pkt_set_tc(r, true);
		add_out(o, &n, r, 0, false);
		return n;
	case M_GARBAGE:
		o[n].len = 64;
		o[n].wire = malloc(o[n].len);
		if (getrandom(o[n].wire, o[n].len, 0) != (ssize_t)o[n].len)
			memset(o[n].wire, 0xa5, o[n].len);
		o[n].delay_ms = 0;
		o[n].alt = false;
		n++;
		break;
	case M_WRONGID:
		r = forged_reply(q, qname);
		ldns_pkt_set_id(r, (uint16_t)(ldns_pkt_id(q) + 1));
		add_out(o, &n, r, 0, false);
		break;
	case M_WRONGQ: {
		char *origin = ldns_rdf2str(srv->origin);
		char buf[300];
		ldns_rr *wq;
		r = forged_reply(q, qname);
		snprintf(buf, sizeof(buf), "wrong.%s", origin);
		free(origin);
		wq = ldns_rr_list_rr(ldns_pkt_question(r), 0);
		ldns_rdf_deep_free(ldns_rr_owner(wq));
		ldns_rr_set_owner(wq, ldns_dname_new_frm_str(buf));
		add_out(o, &n, r, 0, false);
		break;
	}
	case M_WRONGPORT:
		add_out(o, &n, forged_reply(q, qname), 0, true);
		break;
	case M_TWICE:
		add_out(o, &n, forged_reply(q, qname), 0, false);
		break;
	case M_FLOOD: {
		/* An off-path forger racing the server: guessed IDs (never the query's own: 4099 *
		 * i is not a multiple of 65536 for i <= 16) from the server's port and from
		 * another, then one with the right ID but the name's case unknown (0x20). */
		uint16_t id = ldns_pkt_id(q);
		for (int i = 1; i <= FLOOD_COUNT; i++) {
			r = forged_reply(q, qname);
			ldns_pkt_set_id(r, (uint16_t)(id + 4099 * i));
			add_out(o, &n, r, 0, i & 1);
		}
		r = forged_reply(q, qname);
		flip_case(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(r), 0)));
		add_out(o, &n, r, 0, false);
		break;
	}
	case M_OOB: {
		char *origin = ldns_rdf2str(srv->origin);
		char buf[400];
		r = reply_new(q);
		answer_as(srv, qname, aname, qtype, r);
		snprintf(buf, sizeof(buf), "example.com. 86400 IN NS ns.%s", origin);
		push_str(r, LDNS_SECTION_AUTHORITY, buf);
		push_str(r, LDNS_SECTION_ADDITIONAL, "www.example.com. 86400 IN A " FORGED_ADDR);
		snprintf(buf, sizeof(buf), "ns.%s 86400 IN A %s", origin, srv->own_addr);
		push_str(r, LDNS_SECTION_ADDITIONAL, buf);
		free(origin);
		add_out(o, &n, r, 0, false);
		return n;
	}
	case M_REFLOOP:
	case M_UPWARD: {
		char *origin = ldns_rdf2str(srv->origin);
		r = reply_new(q);
		if (srv->ref_name == NULL)
			answer_as(srv, qname, aname, qtype, r);
		else
			make_referral(srv, mode == M_UPWARD ? "." : origin, r);
		free(origin);
		add_out(o, &n, r, 0, false);
		return n;
	}
	case M_FORMERR:
		r = reply_new(q);
		if (ldns_pkt_edns(q)) {
			ldns_pkt_set_edns_udp_size(r, 0);
			ldns_pkt_set_edns_do(r, false);
			ldns_pkt_set_rcode(r, LDNS_RCODE_FORMERR);
		} else {
			answer_as(srv, qname, aname, qtype, r);
		}
		add_out(o, &n, r, 0, false);
		return n;
	case M_NXNS: {
		r = reply_new(q);
		if (ldns_dname_compare(qname, srv->origin) == 0 ||
		    !ldns_dname_is_subdomain(qname, srv->origin)) {
			answer_as(srv, qname, aname, qtype, r);
		} else {
			char *child = ldns_rdf2str(qname);
			char buf[600];
			for (int i = 1; i <= srv->nxns_count; i++) {
				snprintf(buf, sizeof(buf), "%s 86400 IN NS n%d.victim.example.com.",
					 child, i);
				push_str(r, LDNS_SECTION_AUTHORITY, buf);
			}
			free(child);
		}
		add_out(o, &n, r, 0, false);
		return n;
	}
	case M_CASE:
		r = reply_new(q);
		answer_as(srv, qname, aname, qtype, r);
		flip_case(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(r), 0)));
		for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(r)); i++) {
			ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), i);
			if (ldns_dname_compare(ldns_rr_owner(rr), qname) == 0) {
				ldns_rdf_deep_free(ldns_rr_owner(rr));
				ldns_rr_set_owner(rr, ldns_rdf_clone(qname));
				flip_case(ldns_rr_owner(rr));
			}
		}
		add_out(o, &n, r, 0, false);
		return n;
	default:
		r = reply_new(q);
		answer_as(srv, qname, aname, qtype, r);
		add_out(o, &n, r, 0, false);
		return n;
	}
	/* Injection modes: the bad packet is out; the correct answer follows unless -n. */
	if (!srv->no_followup) {
		r = reply_new(q);
		answer_as(srv, qname, aname, qtype, r);
		add_out(o, &n, r, mode == M_TWICE ? TWICE_GAP_MS : 0, false);
	}
	return n;
}

/* Decides what to send for one query; fills `o` (up to MAX_OUT packets) and returns how many. The
 * packet-injection modes only act over UDP: over TCP they answer correctly. */
static int plan_replies(struct server *srv, const ldns_pkt *q, bool tcp, struct out *o)
{
	ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	int mode = atomic_load(&srv->mode);
	ldns_rdf *owned_aname = NULL;
	const ldns_rdf *qname, *aname;
	int n;

	if (qrr == NULL || ldns_pkt_qr(q))
		return 0;
	qname = ldns_rr_owner(qrr);
	aname = qname;
	if (srv->label_modes) {
		int m = label_mode(srv, qname, &owned_aname);
		if (m >= 0) {
			mode = m;
			aname = owned_aname;
		}
	}
	n = plan_mode(srv, q, tcp, o, mode, qname, aname);
	ldns_rdf_deep_free(owned_aname);
	return n;
}

static void pending_add(struct server *srv, int fd, const struct vg_sockaddr *to, struct out *o)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &srv->pend[i];
		if (p->used)
			continue;
		p->used = true;
		p->due_ms = now_ms() + (uint64_t)o->delay_ms;
		p->fd = fd;
		p->to = *to;
		p->wire = o->wire;
		p->len = o->len;
		return;
	}
	free(o->wire); /* queue full: drop, as an overloaded server would */
}

static int pending_run(struct server *srv)
{
	uint64_t now = now_ms();
	int timeout = -1;

	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &srv->pend[i];
		if (!p->used)
			continue;
		if (p->due_ms <= now) {
			if (sendto(p->fd, p->wire, p->len, 0, &p->to.u.sa, p->to.len) < 0)
				fprintf(stderr, "faultd: sendto: %s\n", strerror(errno));
			free(p->wire);
			p->used = false;
		} else if (timeout < 0 || p->due_ms - now < (uint64_t)timeout) {
			timeout = (int)(p->due_ms - now);
		}
	}
	return timeout;
}

static void handle_udp(struct server *srv)
{
	uint8_t buf[MAX_MSG];
	struct vg_sockaddr from;
	struct out o[MAX_OUT];
	ldns_pkt *q = NULL;
	ssize_t len;
	int n;

	from.len = sizeof(from.u.ss);
	len = recvfrom(srv->udp_fd, buf, sizeof(buf), 0, &from.u.sa, &from.len);
	if (len <= 0)
		return;
	if (ldns_wire2pkt(&q, buf, (size_t)len) != LDNS_STATUS_OK)
		return;
	n = plan_replies(srv, q, false, o);
	ldns_pkt_free(q);
	for (int i = 0; i < n; i++)
		pending_add(srv, o[i].alt ? srv->alt_fd : srv->udp_fd, &from, &o[i]);
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

struct tcp_job {
	struct server *srv;
	int fd;
};

/* One TCP connection: queries answered in order, delays served by sleeping in this thread. */
static void *tcp_thread(void *arg)
{
	struct tcp_job *job = arg;
	struct timeval tv = {.tv_sec = 10};
	uint8_t hdr[2];
	uint8_t *buf = malloc(MAX_MSG);

	setsockopt(job->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (buf != NULL && read_full(job->fd, hdr, 2)) {
		size_t len = (size_t)hdr[0] << 8 | hdr[1];
		ldns_pkt *q = NULL;
		struct out o[MAX_OUT];
		int n;

		if (len == 0 || !read_full(job->fd, buf, len))
			break;
		if (ldns_wire2pkt(&q, buf, len) != LDNS_STATUS_OK)
			break;
		n = plan_replies(job->srv, q, true, o);
		ldns_pkt_free(q);
		for (int i = 0; i < n; i++) {
			uint8_t l[2] = {(uint8_t)(o[i].len >> 8), (uint8_t)o[i].len};
			if (o[i].delay_ms > 0)
				usleep((useconds_t)o[i].delay_ms * 1000);
			if (write(job->fd, l, 2) != 2 ||
			    write(job->fd, o[i].wire, o[i].len) != (ssize_t)o[i].len)
				fprintf(stderr, "faultd: tcp write failed\n");
			free(o[i].wire);
		}
	}
	free(buf);
	close(job->fd);
	free(job);
	return NULL;
}

static void handle_tcp(struct server *srv)
{
	pthread_t t;
	struct tcp_job *job;
	int fd = accept(srv->tcp_fd, NULL, NULL);

	if (fd < 0)
		return;
	job = malloc(sizeof(*job));
	job->srv = srv;
	job->fd = fd;
	if (pthread_create(&t, NULL, tcp_thread, job) != 0) {
		close(fd);
		free(job);
		return;
	}
	pthread_detach(t);
}

static int bind_sock(const struct vg_sockaddr *a, int type)
{
	int one = 1;
	int fd = socket(a->u.sa.sa_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &a->u.sa, a->len) != 0 || (type == SOCK_STREAM && listen(fd, 64) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int load_zone(struct server *srv, const char *file, const char *origin)
{
	FILE *f = fopen(file, "r");
	ldns_zone *z = NULL;
	int line = 0;
	ldns_status st;

	if (f == NULL) {
		fprintf(stderr, "faultd: cannot open zone file %s: %s\n", file, strerror(errno));
		return -1;
	}
	srv->origin = ldns_dname_new_frm_str(origin);
	if (srv->origin == NULL) {
		fprintf(stderr, "faultd: bad origin %s\n", origin);
		fclose(f);
		return -1;
	}
	st = ldns_zone_new_frm_fp_l(&z, f, srv->origin, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	if (st != LDNS_STATUS_OK || ldns_zone_soa(z) == NULL) {
		fprintf(stderr, "faultd: %s line %d: %s\n", file, line,
			st != LDNS_STATUS_OK ? ldns_get_errorstr_by_id(st) : "no SOA");
		return -1;
	}
	srv->soa = ldns_rr_clone(ldns_zone_soa(z));
	srv->rrs = ldns_rr_list_clone(ldns_zone_rrs(z));
	ldns_rr_list_push_rr(srv->rrs, ldns_rr_clone(srv->soa));
	ldns_zone_deep_free(z);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: faultd -a ADDR[@PORT] -z ZONEFILE -o ORIGIN -m MODE [-d DELAY_MS]\n"
			"              [-r NAME@ADDR] [-N COUNT] [-M MODEFILE] [-P PIDFILE]\n"
			"              [-L LOGFILE] [-n] [-l] [-f]\nmodes:");
	for (int i = 0; i < M_COUNT; i++)
		fprintf(stderr, " %s", mode_names[i]);
	fprintf(stderr, "\n");
}

static int serve(struct server *srv)
{
	struct pollfd pfd[2] = {{.fd = srv->udp_fd, .events = POLLIN},
				{.fd = srv->tcp_fd, .events = POLLIN}};

	while (!got_term) {
		int timeout = pending_run(srv);
		int r;

		/* A signal landing between the got_term check and poll() would otherwise be
		 * noticed only at the next datagram: wake up at least every 100 ms. */
		if (timeout < 0 || timeout > 100)
			timeout = 100;
		r = poll(pfd, 2, timeout);

		if (got_hup) {
			got_hup = 0;
			if (srv->mode_file != NULL)
				mode_reload(srv);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "faultd: poll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN)
			handle_udp(srv);
		if (pfd[1].revents & POLLIN)
			handle_tcp(srv);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv;
	const char *addr = NULL, *zonefile = NULL, *origin = NULL, *pidfile = NULL;
	const char *logfile = NULL;
	struct vg_sockaddr sa, alt;
	bool foreground = false;
	int c, m = -1;
	struct sigaction act = {.sa_handler = on_signal};

	srv.delay_ms = 600;
	srv.nxns_count = 40;
	while ((c = getopt(argc, argv, "a:z:o:m:d:r:N:M:P:L:nlfh")) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'z':
			zonefile = optarg;
			break;
		case 'o':
			origin = optarg;
			break;
		case 'm':
			m = mode_parse(optarg);
			if (m < 0) {
				fprintf(stderr, "faultd: unknown mode '%s'\n", optarg);
				usage();
				return 2;
			}
			break;
		case 'd':
			srv.delay_ms = atoi(optarg);
			break;
		case 'r': {
			char *at = strrchr(optarg, '@');
			if (at == NULL || (size_t)(strlen(at + 1)) >= sizeof(srv.ref_addr)) {
				fprintf(stderr, "faultd: -r wants NAME@ADDR\n");
				return 2;
			}
			*at = '\0';
			srv.ref_name = ldns_dname_new_frm_str(optarg);
			snprintf(srv.ref_addr, sizeof(srv.ref_addr), "%s", at + 1);
			break;
		}
		case 'N':
			srv.nxns_count = atoi(optarg);
			break;
		case 'M':
			srv.mode_file = optarg;
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'L':
			logfile = optarg;
			break;
		case 'n':
			srv.no_followup = true;
			break;
		case 'l':
			srv.label_modes = true;
			break;
		case 'f':
			foreground = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (addr == NULL || zonefile == NULL || origin == NULL ||
	    (m < 0 && srv.mode_file == NULL)) {
		usage();
		return 2;
	}
	atomic_store(&srv.mode, m < 0 ? M_OK : m);
	if (srv.mode_file != NULL)
		mode_reload(&srv);
	if (vg_sockaddr_parse(addr, 53, &sa) != 0) {
		fprintf(stderr, "faultd: bad address %s\n", addr);
		return 2;
	}
	{
		char *at = strchr(addr, '@');
		size_t l = at != NULL ? (size_t)(at - addr) : strlen(addr);
		snprintf(srv.own_addr, sizeof(srv.own_addr), "%.*s", (int)l, addr);
	}
	if (load_zone(&srv, zonefile, origin) != 0)
		return 1;

	srv.udp_fd = bind_sock(&sa, SOCK_DGRAM);
	srv.tcp_fd = bind_sock(&sa, SOCK_STREAM);
	alt = sa;
	alt.u.sin.sin_port = 0; /* same offset for sin6_port */
	srv.alt_fd = bind_sock(&alt, SOCK_DGRAM);
	if (srv.udp_fd < 0 || srv.tcp_fd < 0 || srv.alt_fd < 0) {
		fprintf(stderr, "faultd: cannot bind %s (UDP and TCP): %s\n", addr,
			strerror(errno));
		return 1;
	}

	sigaction(SIGHUP, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Daemonize only after binding, so a caller that sees us exit 0 knows the port is held. */
	if (!foreground) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0) {
			if (pidfile != NULL) {
				FILE *f = fopen(pidfile, "w");
				if (f == NULL || fprintf(f, "%d\n", (int)pid) < 0 ||
				    fclose(f) != 0) {
					kill(pid, SIGTERM);
					fprintf(stderr, "faultd: cannot write %s\n", pidfile);
					return 1;
				}
			}
			return 0;
		}
		setsid();
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			if (logfile == NULL)
				dup2(devnull, 2);
			close(devnull);
		}
	} else if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");
		if (f != NULL) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	if (logfile != NULL && freopen(logfile, "a", stderr) == NULL)
		return 1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	fprintf(stderr, "faultd: serving %s on %s in mode %s\n", origin, addr,
		mode_names[atomic_load(&srv.mode)]);
	return serve(&srv);
}
