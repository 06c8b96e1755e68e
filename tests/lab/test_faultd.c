/* Tests of faultd, the lab's fault-injecting authoritative server: one test per misbehaviour
 * switch, each checking the bytes that arrive on the wire (faultd runs on 127.0.0.1, a high port).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "vigil/addr.h"

static const char zone_text[] = "$TTL 300\n"
				"f.test. 3600 IN SOA ns.f.test. h.f.test. 1 3600 900 604800 300\n"
				"f.test. IN NS ns.f.test.\n"
				"ns.f.test. IN A 127.0.0.1\n"
				"www.f.test. IN A 192.0.2.53\n"
				"www.f.test. IN AAAA 2001:db8::53\n"
				"alias.f.test. IN CNAME www.f.test.\n"
				"a.ent.f.test. IN A 192.0.2.4\n";

static pid_t faultd_pid;
static char server[64];
static uint16_t port;
static char tmpdir[] = "/tmp/vg-faultd-XXXXXX";

static void stop_faultd(void)
{
	char path[128];

	if (faultd_pid > 0) {
		struct timespec ts = {0, 10 * 1000000};
		kill(faultd_pid, SIGTERM);
		for (int i = 0; i < 200 && waitpid(faultd_pid, NULL, WNOHANG) == 0; i++)
			nanosleep(&ts, NULL);
		if (kill(faultd_pid, 0) == 0) {
			kill(faultd_pid, SIGKILL);
			waitpid(faultd_pid, NULL, 0);
		}
		faultd_pid = 0;
	}
	if (tmpdir[sizeof(tmpdir) - 2] != 'X') {
		snprintf(path, sizeof(path), "%s/zone", tmpdir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/pid", tmpdir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/mode", tmpdir);
		unlink(path);
		rmdir(tmpdir);
	}
}

static bool file_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* Starts faultd in the foreground with `mode` and extra arguments (NULL-terminated list); waits
 * until its pid file exists, which faultd writes only after binding UDP and TCP. */
static void start_faultd(const char *mode, ...)
{
	char zone[128], pidf[128], addr[64];
	const char *argv[32];
	int argc = 0;
	va_list ap;
	FILE *f;

	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
	snprintf(zone, sizeof(zone), "%s/zone", tmpdir);
	snprintf(pidf, sizeof(pidf), "%s/pid", tmpdir);
	f = fopen(zone, "w");
	cr_assert_not_null(f);
	fputs(zone_text, f);
	fclose(f);

	for (int attempt = 0; attempt < 20; attempt++) {
		struct timespec ts = {0, 5 * 1000000};
		port = (uint16_t)(20000 + (getpid() * 7 + attempt * 131) % 40000);
		snprintf(addr, sizeof(addr), "127.0.0.1@%u", port);
		argc = 0;
		argv[argc++] = VG_FAULTD_PATH;
		argv[argc++] = "-f";
		argv[argc++] = "-a";
		argv[argc++] = addr;
		argv[argc++] = "-z";
		argv[argc++] = zone;
		argv[argc++] = "-o";
		argv[argc++] = "f.test.";
		argv[argc++] = "-P";
		argv[argc++] = pidf;
		if (mode != NULL) {
			argv[argc++] = "-m";
			argv[argc++] = mode;
		}
		va_start(ap, mode);
		for (const char *a = va_arg(ap, const char *); a != NULL && argc < 30;
		     a = va_arg(ap, const char *))
			argv[argc++] = a;
		va_end(ap);
		argv[argc] = NULL;

		faultd_pid = fork();
		cr_assert(faultd_pid >= 0);
		if (faultd_pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a failed test */
			execv(argv[0], (char *const *)argv);
			_exit(127);
		}
		for (int i = 0; i < 1000; i++) {
			int st;
			if (file_exists(pidf)) {
				snprintf(server, sizeof(server), "127.0.0.1@%u", port);
				return;
			}
			if (waitpid(faultd_pid, &st, WNOHANG) == faultd_pid) {
				faultd_pid = 0;
				break; /* port taken: try another one */
			}
			nanosleep(&ts, NULL);
		}
		if (faultd_pid > 0)
			cr_assert_fail("faultd did not start within 5 s");
	}
	cr_assert_fail("faultd could not bind any port (is %s built?)", VG_FAULTD_PATH);
}

TestSuite(faultd, .fini = stop_faultd, .timeout = 30);

/* A datagram as received, with its source port. */
struct dgram {
	uint8_t buf[4096];
	int len;
	uint16_t from_port;
	long at_ms; /* since the query was sent: the kernel's arrival time (SO_TIMESTAMPNS) when it
		     * gives one, so a busy test process reading late cannot shrink a gap */
};

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Sends `q` from one unconnected socket and collects datagrams: waits up to 3 s for `want` of them
 * (a loaded machine may be slow), then 150 ms more for any extra ones, up to `max`. */
static int collect(const uint8_t *q, size_t qlen, struct dgram *out, int max, int want)
{
	struct vg_sockaddr sa, from;
	struct timespec t0, t0_real;
	int fd, n = 0, one = 1;
	long until = 3000;

	cr_assert_eq(vg_sockaddr_parse(server, 53, &sa), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(fd >= 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_REALTIME, &t0_real);
	cr_assert(sendto(fd, q, qlen, 0, &sa.u.sa, sa.len) == (ssize_t)qlen);
	while (n < max) {
		long left = until - elapsed_ms(&t0);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		union {
			char buf[CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {.iov_base = out[n].buf, .iov_len = sizeof(out[n].buf)};
		struct msghdr mh = {.msg_name = &from.u.sa,
				    .msg_namelen = sizeof(from.u.ss),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		out[n].len = (int)recvmsg(fd, &mh, 0);
		from.len = mh.msg_namelen;
		out[n].from_port = ntohs(from.u.sin.sin_port);
		out[n].at_ms = elapsed_ms(&t0);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec at;
				memcpy(&at, CMSG_DATA(c), sizeof(at));
				out[n].at_ms = (at.tv_sec - t0_real.tv_sec) * 1000L +
					       (at.tv_nsec - t0_real.tv_nsec) / 1000000L;
			}
		}
		n++;
		if (n == want)
			until = out[n - 1].at_ms + 150;
	}
	close(fd);
	return n;
}

static int build(const char *name, ldns_rr_type type, unsigned flags, uint8_t *q)
{
	int len = vg_lab_build_query(name, type, flags, q, 512);

	cr_assert(len > 12, "cannot build query");
	return len;
}

static ldns_pkt *parse(const struct dgram *d)
{
	ldns_pkt *p = NULL;

	cr_assert_eq(ldns_wire2pkt(&p, d->buf, (size_t)d->len), LDNS_STATUS_OK,
		     "reply does not parse");
	return p;
}

static uint16_t id_of(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void assert_real_answer(const ldns_pkt *p, const char *name)
{
	cr_assert(ldns_pkt_qr(p));
	cr_assert(ldns_pkt_aa(p), "real answer must be authoritative");
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, name, LDNS_RR_TYPE_A, "192.0.2.53"),
		  "real answer lacks %s A 192.0.2.53", name);
}

static void assert_forged(const ldns_pkt *p)
{
	cr_assert(vg_lab_has(p, LDNS_SECTION_ANSWER, "www.f.test.", LDNS_RR_TYPE_A, "192.0.2.66"),
		  "forged answer lacks 192.0.2.66");
}

Test(faultd, ok_mode_answers_like_an_authority)
{
	ldns_pkt *p = NULL;

	start_faultd("ok", NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, VG_LAB_EDNS, 1000, &p),
		     0);
	assert_real_answer(p, "www.f.test.");
	cr_assert(ldns_pkt_edns(p), "EDNS query must get OPT back");
	ldns_pkt_free(p);

	cr_assert_eq(vg_lab_query_udp(server, "nx.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(p);

	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_TXT, 0, 1000, &p), 0);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(p), 0, "NODATA has no answer");
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(p);

	cr_assert_eq(vg_lab_query_udp(server, "ent.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "empty non-terminal is NODATA");
	ldns_pkt_free(p);

	cr_assert_eq(vg_lab_query_udp(server, "alias.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "alias.f.test.", LDNS_RR_TYPE_CNAME, "www.f.test."));
	ldns_pkt_free(p);

	cr_assert_eq(vg_lab_query_udp(server, "www.other.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED, "out-of-zone names are refused");
	ldns_pkt_free(p);

	cr_assert_eq(vg_lab_query_tcp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
}

Test(faultd, silent_mode_never_answers_udp_nor_tcp)
{
	ldns_pkt *p = NULL;

	start_faultd("silent", NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 300, &p),
		     -ETIMEDOUT);
	cr_assert_eq(vg_lab_query_tcp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 300, &p),
		     -ETIMEDOUT);
}

Test(faultd, slow_mode_answers_after_the_delay)
{
	uint8_t q[512];
	struct dgram d[2];
	int qlen, n;
	ldns_pkt *p;

	start_faultd("slow", "-d", "300", NULL);
	qlen = build("www.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 2, 1);
	cr_assert_eq(n, 1, "one reply expected, got %d", n);
	cr_assert_geq(d[0].at_ms, 280, "reply came after %ld ms, expected >= 300", d[0].at_ms);
	p = parse(&d[0]);
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
}

Test(faultd, tc_mode_truncates_udp_and_answers_tcp)
{
	ldns_pkt *p = NULL;

	start_faultd("tc", NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert(ldns_pkt_tc(p), "TC must be set over UDP");
	cr_assert_eq(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	cr_assert_eq(vg_lab_query_tcp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert_not(ldns_pkt_tc(p));
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
}

Test(faultd, garbage_mode_sends_random_bytes_then_the_answer)
{
	uint8_t q[512];
	struct dgram d[3];
	int qlen, n;
	ldns_pkt *p;

	start_faultd("garbage", NULL);
	qlen = build("www.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 3, 2);
	cr_assert_eq(n, 2, "garbage then answer expected, got %d datagrams", n);
	cr_assert_eq(d[0].len, 64);
	cr_assert(memcmp(d[0].buf, q, 2) != 0 || (d[0].buf[2] & 0x80) == 0 ||
		      memcmp(d[0].buf + 12, q + 12, (size_t)qlen - 12) != 0,
		  "garbage must not look like the reply");
	p = parse(&d[1]);
	cr_assert_eq(ldns_pkt_id(p), id_of(q));
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
}

Test(faultd, garbage_mode_with_n_sends_only_garbage)
{
	uint8_t q[512];
	struct dgram d[3];
	int qlen, n;

	start_faultd("garbage", "-n", NULL);
	qlen = build("www.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 3, 1);
	cr_assert_eq(n, 1, "only the garbage expected, got %d datagrams", n);
	cr_assert_eq(d[0].len, 64);
}

Test(faultd, wrongid_mode_sends_forgery_with_another_id_then_the_answer)
{
	uint8_t q[512];
	struct dgram d[3];
	int qlen, n;
	ldns_pkt *p;

	start_faultd("wrongid", NULL);
	qlen = build("www.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 3, 2);
	cr_assert_eq(n, 2, "got %d datagrams", n);
	p = parse(&d[0]);
	cr_assert_eq(ldns_pkt_id(p), (uint16_t)(id_of(q) + 1));
	assert_forged(p);
	ldns_pkt_free(p);
	p = parse(&d[1]);
	cr_assert_eq(ldns_pkt_id(p), id_of(q));
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
}

Test(faultd, wrongid_mode_with_n_sends_only_the_forgery)
{
	uint8_t q[512];
	struct dgram d[3];
	int qlen, n;

	start_faultd("wrongid", "-n", NULL);
	qlen = build("www.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 3, 1);
	cr_assert_eq(n, 1, "got %d datagrams", n);
	cr_assert_neq(id_of(d[0].buf), id_of(q));
}

Test(faultd, wrongq_mode_sends_forgery_for_another_question_then_the_answer)
{
	uint8_t q[512];
	struct dgram d[3];
	int qlen, n;
	ldns_pkt *p;
	ldns_rdf *wrong = ldns_dname_new_frm_str("wrong.f.test.");

	start_faultd("wrongq", NULL);
	qlen = build("www.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 3, 2);
	cr_assert_eq(n, 2, "got %d datagrams", n);
	p = parse(&d[0]);
	cr_assert_eq(ldns_pkt_id(p), id_of(q), "same ID, only the question differs");
	cr_assert_eq(
	    ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)), wrong), 0,
	    "question must be wrong.f.test.");
	assert_forged(p);
	ldns_pkt_free(p);
	p = parse(&d[1]);
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
	ldns_rdf_deep_free(wrong);
}

Test(faultd, wrongport_mode_sends_forgery_from_another_port_then_the_answer)
{
	uint8_t q[512];
	struct dgram d[3];
	int qlen, n;
	ldns_pkt *p;

	start_faultd("wrongport", NULL);
	qlen = build("www.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 3, 2);
	cr_assert_eq(n, 2, "got %d datagrams", n);
	cr_assert_neq(d[0].from_port, port, "forgery must come from another port");
	p = parse(&d[0]);
	cr_assert_eq(ldns_pkt_id(p), id_of(q));
	assert_forged(p);
	ldns_pkt_free(p);
	cr_assert_eq(d[1].from_port, port);
	p = parse(&d[1]);
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
}

Test(faultd, oob_mode_adds_out_of_bailiwick_records)
{
	ldns_pkt *p = NULL;

	start_faultd("oob", NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	assert_real_answer(p, "www.f.test.");
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_AUTHORITY, "example.com.", LDNS_RR_TYPE_NS, "ns.f.test."));
	cr_assert(vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "www.example.com.", LDNS_RR_TYPE_A,
			     "192.0.2.66"));
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns.f.test.", LDNS_RR_TYPE_A, "127.0.0.1"));
	ldns_pkt_free(p);
}

Test(faultd, refloop_mode_refers_its_own_zone_to_the_peer)
{
	ldns_pkt *p = NULL;

	start_faultd("refloop", "-r", "ns2.f.test.@127.53.9.11", NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert_not(ldns_pkt_aa(p), "a referral is not authoritative");
	cr_assert_eq(ldns_pkt_ancount(p), 0);
	cr_assert(vg_lab_has(p, LDNS_SECTION_AUTHORITY, "f.test.", LDNS_RR_TYPE_NS, "ns2.f.test."),
		  "referral must be for the server's own zone (sideways)");
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "ns2.f.test.", LDNS_RR_TYPE_A, "127.53.9.11"));
	ldns_pkt_free(p);
}

Test(faultd, upward_mode_refers_to_the_root)
{
	ldns_pkt *p = NULL;

	start_faultd("upward", "-r", "a.root-servers.net.@127.53.0.1", NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert_not(ldns_pkt_aa(p));
	cr_assert_eq(ldns_pkt_ancount(p), 0);
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_AUTHORITY, ".", LDNS_RR_TYPE_NS, "a.root-servers.net."));
	cr_assert(vg_lab_has(p, LDNS_SECTION_ADDITIONAL, "a.root-servers.net.", LDNS_RR_TYPE_A,
			     "127.53.0.1"));
	ldns_pkt_free(p);
}

Test(faultd, formerr_mode_rejects_edns_and_answers_without)
{
	ldns_pkt *p = NULL;

	start_faultd("formerr", NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, VG_LAB_EDNS, 1000, &p),
		     0);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	cr_assert_not(ldns_pkt_edns(p), "FORMERR carries no OPT");
	cr_assert_eq(ldns_pkt_arcount(p), 0);
	ldns_pkt_free(p);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
}

Test(faultd, nxns_mode_refers_to_many_glueless_names)
{
	ldns_pkt *p = NULL;

	start_faultd("nxns", "-N", "40", NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert_not(ldns_pkt_aa(p));
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NS), 40);
	cr_assert(vg_lab_has(p, LDNS_SECTION_AUTHORITY, "www.f.test.", LDNS_RR_TYPE_NS,
			     "n40.victim.example.com."));
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_ADDITIONAL, LDNS_RR_TYPE_A), 0, "no glue");
	ldns_pkt_free(p);
	/* The apex still answers normally, so the delegation to this server can be followed. */
	cr_assert_eq(vg_lab_query_udp(server, "f.test.", LDNS_RR_TYPE_SOA, 0, 1000, &p), 0);
	cr_assert(ldns_pkt_aa(p));
	cr_assert_eq(vg_lab_count(p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(p);
}

Test(faultd, case_mode_inverts_the_qname_case)
{
	uint8_t q[512];
	struct dgram d[2];
	int qlen, n;
	ldns_pkt *p;

	start_faultd("case", NULL);
	qlen = build("wWw.F.tEsT.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 2, 1);
	cr_assert_eq(n, 1);
	cr_assert_eq(id_of(d[0].buf), id_of(q));
	/* The question starts at byte 12: "\3WwW\1f\4TeSt\0" */
	cr_assert_eq(memcmp(d[0].buf + 12, "\3WwW\1f\4TeSt", 12), 0, "question case not inverted");
	p = parse(&d[0]);
	assert_real_answer(p, "www.f.test."); /* names compare case-insensitively */
	ldns_pkt_free(p);
}

Test(faultd, twice_mode_sends_forgery_then_the_real_answer)
{
	uint8_t q[512];
	struct dgram d[3];
	int qlen, n;
	ldns_pkt *p;

	start_faultd("twice", NULL);
	qlen = build("www.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 3, 2);
	cr_assert_eq(n, 2, "got %d datagrams", n);
	cr_assert_eq(d[0].from_port, port);
	cr_assert_eq(d[1].from_port, port);
	p = parse(&d[0]);
	cr_assert_eq(ldns_pkt_id(p), id_of(q), "the forgery matches ID and question");
	assert_forged(p);
	ldns_pkt_free(p);
	p = parse(&d[1]);
	cr_assert_eq(ldns_pkt_id(p), id_of(q));
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
	cr_assert_geq(d[1].at_ms - d[0].at_ms, 10, "the real answer follows ~20 ms later");
}

Test(faultd, injection_modes_answer_correctly_over_tcp)
{
	ldns_pkt *p = NULL;

	start_faultd("twice", NULL);
	cr_assert_eq(vg_lab_query_tcp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	assert_real_answer(p, "www.f.test.");
	cr_assert_not(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "www.f.test.", LDNS_RR_TYPE_A, "192.0.2.66"));
	ldns_pkt_free(p);
}

Test(faultd, mode_file_is_reread_on_sighup)
{
	char mf[64];
	ldns_pkt *p = NULL;
	FILE *f;
	int r = 0;

	snprintf(mf, sizeof(mf), "/tmp/vg-faultd-mode-%d", (int)getpid());
	f = fopen(mf, "w");
	cr_assert_not_null(f);
	fputs("ok\n", f);
	fclose(f);
	start_faultd(NULL, "-M", mf, NULL);
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);

	f = fopen(mf, "w");
	fputs("silent\n", f);
	fclose(f);
	kill(faultd_pid, SIGHUP);
	/* The signal is handled asynchronously: allow a few answered queries before it lands. */
	for (int i = 0; i < 10; i++) {
		p = NULL;
		r = vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 200, &p);
		if (p != NULL)
			ldns_pkt_free(p);
		if (r == -ETIMEDOUT)
			break;
	}
	unlink(mf);
	cr_assert_eq(r, -ETIMEDOUT, "after SIGHUP the mode must be silent");
}

Test(faultd, label_mode_takes_the_mode_from_the_first_label)
{
	uint8_t q[512];
	struct dgram d[3];
	int qlen, n;
	ldns_pkt *p = NULL;

	start_faultd("ok", "-l", NULL);
	/* A mode label answers with www's data under the name asked. */
	cr_assert_eq(vg_lab_query_udp(server, "ok.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	assert_real_answer(p, "ok.f.test.");
	ldns_pkt_free(p);
	cr_assert_eq(vg_lab_query_udp(server, "TC.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	cr_assert(ldns_pkt_tc(p), "tc.f.test. must be truncated");
	ldns_pkt_free(p);
	cr_assert_eq(vg_lab_query_udp(server, "silent.f.test.", LDNS_RR_TYPE_A, 0, 300, &p),
		     -ETIMEDOUT);
	qlen = build("twice.f.test.", LDNS_RR_TYPE_A, 0, q);
	n = collect(q, (size_t)qlen, d, 3, 2);
	cr_assert_eq(n, 2, "got %d datagrams", n);
	p = parse(&d[0]);
	cr_assert(
	    vg_lab_has(p, LDNS_SECTION_ANSWER, "twice.f.test.", LDNS_RR_TYPE_A, "192.0.2.66"));
	ldns_pkt_free(p);
	/* Other names keep the instance's mode. */
	cr_assert_eq(vg_lab_query_udp(server, "www.f.test.", LDNS_RR_TYPE_A, 0, 1000, &p), 0);
	assert_real_answer(p, "www.f.test.");
	ldns_pkt_free(p);
}
