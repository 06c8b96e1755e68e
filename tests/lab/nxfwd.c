/* nxfwd: the lab's lying forwarder (docs/lab.md "A forwarder that rewrites NXDOMAIN"). It relays
 * each UDP query to a recursive resolver (-u) and its reply back, except that an NXDOMAIN reply
 * to an A question becomes NOERROR with one made-up address (-r, an ISP's "search page" server),
 * as NXDOMAIN-rewriting ISP resolvers do. Each query's name and type go to the log (-L), one line
 * each (" CD" appended when the query had CD=1), so a test can tell which questions reached it.
 * -R relays NXDOMAIN unchanged; -s strips every RRSIG from the replies, as the DNS proxies of many
 * home routers do (docs/lab.md). UDP only; one thread per query. */
#include <errno.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vigil/addr.h"

#define MAX_MSG 65535
#define UPSTREAM_TIMEOUT_MS 4000

static int listen_fd = -1;
static struct vg_sockaddr upstream;
static const char *rewrite_addr = "198.51.100.77";
static FILE *qlog;
static bool no_rewrite, strip_sigs;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

struct job {
	struct vg_sockaddr from;
	uint8_t msg[MAX_MSG];
	size_t len;
};

static void log_query(const ldns_pkt *q)
{
	const ldns_rr_list *ql = ldns_pkt_question(q);
	if (!qlog || ldns_rr_list_rr_count(ql) != 1)
		return;
	const ldns_rr *rr = ldns_rr_list_rr(ql, 0);
	char *name = ldns_rdf2str(ldns_rr_owner(rr));
	char *type = ldns_rr_type2str(ldns_rr_get_type(rr));
	pthread_mutex_lock(&log_lock);
	fprintf(qlog, "%s %s%s\n", name ? name : "?", type ? type : "?",
		ldns_pkt_cd(q) ? " CD" : "");
	fflush(qlog);
	pthread_mutex_unlock(&log_lock);
	free(name);
	free(type);
}

/* The upstream's reply to `msg`, or 0 bytes after the timeout. */
static size_t ask_upstream(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
	int fd = socket(upstream.u.sa.sa_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return 0;
	size_t n = 0;
	if (connect(fd, &upstream.u.sa, upstream.len) == 0 &&
	    send(fd, msg, len, 0) == (ssize_t)len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, UPSTREAM_TIMEOUT_MS) == 1) {
			ssize_t r = recv(fd, out, cap, 0);
			n = r > 0 ? (size_t)r : 0;
		}
	}
	close(fd);
	return n;
}

/* Packet f into out (at most cap bytes) with the question's bytes of `reply` kept exactly as
 * asked (0x20 letter case); its length, 0 when it does not fit. */
static size_t to_wire(const ldns_pkt *f, const uint8_t *reply, size_t len, uint8_t *out, size_t cap)
{
	uint8_t *w = NULL;
	size_t wl = 0, n = 0;
	if (ldns_pkt2wire(&w, f, &wl) == LDNS_STATUS_OK && wl <= cap) {
		memcpy(out, w, wl);
		n = wl;
		size_t qend = 12;
		while (qend < len && reply[qend])
			qend += reply[qend] + 1u;
		qend += 5;
		if (qend <= wl && qend <= len)
			memcpy(out + 12, reply + 12, qend - 12);
	}
	free(w);
	return n;
}

/* NXDOMAIN to an A question -> NOERROR with rewrite_addr, like an ISP's resolver. Returns the
 * new length in out, or 0 to relay the reply unchanged. */
static size_t rewrite(const uint8_t *reply, size_t len, uint8_t *out, size_t cap)
{
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK)
		return 0;
	size_t n = 0;
	const ldns_rr_list *ql = ldns_pkt_question(p);
	if (ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN && ldns_rr_list_rr_count(ql) == 1 &&
	    ldns_rr_get_type(ldns_rr_list_rr(ql, 0)) == LDNS_RR_TYPE_A) {
		ldns_pkt *f = ldns_pkt_new();
		ldns_pkt_set_id(f, ldns_pkt_id(p));
		ldns_pkt_set_qr(f, true);
		ldns_pkt_set_rd(f, ldns_pkt_rd(p));
		ldns_pkt_set_ra(f, true);
		ldns_pkt_set_rcode(f, LDNS_RCODE_NOERROR);
		ldns_rr *q = ldns_rr_clone(ldns_rr_list_rr(ql, 0));
		ldns_pkt_push_rr(f, LDNS_SECTION_QUESTION, q);
		ldns_rr *a = ldns_rr_new();
		ldns_rr_set_type(a, LDNS_RR_TYPE_A);
		ldns_rr_set_class(a, LDNS_RR_CLASS_IN);
		ldns_rr_set_owner(a, ldns_rdf_clone(ldns_rr_owner(q)));
		ldns_rr_set_ttl(a, 60);
		ldns_rdf *addr = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, rewrite_addr);
		if (addr) {
			ldns_rr_push_rdf(a, addr);
			ldns_pkt_push_rr(f, LDNS_SECTION_ANSWER, a);
		} else {
			ldns_rr_free(a);
		}
		if (ldns_pkt_edns(p)) {
			ldns_pkt_set_edns_udp_size(f, 1232);
			ldns_pkt_set_edns_data(f,
					       ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, 0, ""));
		}
		n = to_wire(f, reply, len, out, cap);
		ldns_pkt_free(f);
	}
	ldns_pkt_free(p);
	return n;
}

/* The reply without its RRSIG records (-s); the length in out, or 0 to relay it unchanged. */
static size_t strip(const uint8_t *reply, size_t len, uint8_t *out, size_t cap)
{
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK)
		return 0;
	ldns_rr_list *(*get[3])(const ldns_pkt *) = {ldns_pkt_answer, ldns_pkt_authority,
						     ldns_pkt_additional};
	void (*set[3])(ldns_pkt *, ldns_rr_list *) = {ldns_pkt_set_answer, ldns_pkt_set_authority,
						      ldns_pkt_set_additional};
	for (int s = 0; s < 3; s++) {
		ldns_rr_list *old = get[s](p), *kept = ldns_rr_list_new();
		for (size_t i = 0; i < ldns_rr_list_rr_count(old); i++) {
			ldns_rr *rr = ldns_rr_list_rr(old, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG)
				ldns_rr_free(rr);
			else
				ldns_rr_list_push_rr(kept, rr);
		}
		ldns_rr_list_free(old); /* the list only: its records moved or freed */
		set[s](p, kept);
	}
	ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(p)));
	ldns_pkt_set_nscount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(p)));
	ldns_pkt_set_arcount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(p)));
	size_t n = to_wire(p, reply, len, out, cap);
	ldns_pkt_free(p);
	return n;
}

static void *serve(void *arg)
{
	struct job *j = arg;
	ldns_pkt *q = NULL;
	if (ldns_wire2pkt(&q, j->msg, j->len) == LDNS_STATUS_OK) {
		log_query(q);
		ldns_pkt_free(q);
		uint8_t *reply = malloc(MAX_MSG), *forged = malloc(MAX_MSG);
		size_t n = reply && forged ? ask_upstream(j->msg, j->len, reply, MAX_MSG) : 0;
		if (n) {
			size_t fn = strip_sigs	 ? strip(reply, n, forged, MAX_MSG)
				    : no_rewrite ? 0
						 : rewrite(reply, n, forged, MAX_MSG);
			const uint8_t *out = fn ? forged : reply;
			if (sendto(listen_fd, out, fn ? fn : n, 0, &j->from.u.sa, j->from.len) < 0)
				perror("nxfwd: sendto");
		}
		free(reply);
		free(forged);
	}
	free(j);
	return NULL;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: nxfwd -a ADDR@PORT -u UPSTREAM@PORT [-r REWRITE_ADDR] [-R] [-s] [-L LOG]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *listen_s = NULL, *up_s = NULL, *log_s = NULL;
	int c;
	while ((c = getopt(argc, argv, "a:u:r:L:Rs")) != -1) {
		switch (c) {
		case 'R':
			no_rewrite = true;
			break;
		case 's':
			strip_sigs = true;
			break;
		case 'a':
			listen_s = optarg;
			break;
		case 'u':
			up_s = optarg;
			break;
		case 'r':
			rewrite_addr = optarg;
			break;
		case 'L':
			log_s = optarg;
			break;
		default:
			usage();
		}
	}
	struct vg_sockaddr la;
	if (!listen_s || !up_s || vg_sockaddr_parse(listen_s, 53, &la) != 0 ||
	    vg_sockaddr_parse(up_s, 53, &upstream) != 0)
		usage();
	if (log_s && !(qlog = fopen(log_s, "a"))) {
		perror(log_s);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	listen_fd = socket(la.u.sa.sa_family, SOCK_DGRAM, 0);
	if (listen_fd < 0 || bind(listen_fd, &la.u.sa, la.len) != 0) {
		perror("nxfwd: bind");
		return 1;
	}
	for (;;) {
		struct job *j = malloc(sizeof(*j));
		if (!j)
			return 1;
		socklen_t sl = sizeof(j->from.u);
		ssize_t n = recvfrom(listen_fd, j->msg, sizeof(j->msg), 0, &j->from.u.sa, &sl);
		if (n < 12) {
			free(j);
			if (n < 0 && errno != EINTR)
				return 1;
			continue;
		}
		j->from.len = sl;
		j->len = (size_t)n;
		pthread_t t;
		if (pthread_create(&t, NULL, serve, j) != 0) {
			free(j);
			continue;
		}
		pthread_detach(t);
	}
}
