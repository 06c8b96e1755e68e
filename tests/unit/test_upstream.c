/* Unit tests of the daemon's upstream transport (daemon/upstream.c) on a real libuv loop against a
 * scripted server socket on loopback: strict matching, unsolicited replies ignored, TCP framing,
 * timeouts, timers and the clocks. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "upstream.h"

static uv_loop_t loop;
static struct vg_resolver_opts opts;
static struct vg_upstream *up;
static int srv_udp = -1, srv_tcp = -1;
static struct vg_sockaddr srv_addr;

enum script {
	ANSWER,
	WRONG_ID_THEN_ANSWER,
	WRONG_CASE_THEN_ANSWER,
	MALFORMED_THEN_ANSWER,
	ALL_WRONG_THEN_ANSWER, /* wrong ID, wrong question, garbage, malformed, then the answer */
	ANSWER_THEN_SECOND,    /* the answer, a different one (rcode 3), one with a wrong ID */
	SILENT
};
static enum script script;
static struct sockaddr_in last_from; /* source of the last query the server saw */

struct got {
	int calls;
	enum vg_upstream_status st;
	uint8_t reply[512];
	size_t len;
	int n_unwanted; /* reports before the final callback */
	struct vg_upstream_unwanted unwanted[8];
	int unwanted_after_final;
};

static void on_unwanted(void *ctx, const struct vg_upstream_unwanted *u)
{
	struct got *g = ctx;
	if (g->calls)
		g->unwanted_after_final++;
	if (g->n_unwanted < 8) {
		g->unwanted[g->n_unwanted] = *u;
		g->unwanted[g->n_unwanted].msg = NULL; /* valid only during the call */
	}
	g->n_unwanted++;
}

static void on_reply(void *ctx, enum vg_upstream_status st, const uint8_t *reply, size_t len,
		     uint32_t rtt)
{
	struct got *g = ctx;
	g->calls++;
	g->st = st;
	g->len = len < sizeof(g->reply) ? len : sizeof(g->reply);
	if (reply)
		memcpy(g->reply, reply, g->len);
}

static void serve_udp(uv_poll_t *h, int status, int events)
{
	uint8_t b[512];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(srv_udp, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	if (n >= 0)
		memcpy(&last_from, &from, sizeof(last_from));
	if (n < 12 || script == SILENT)
		return;
	b[2] |= 0x80;
	if (script == WRONG_ID_THEN_ANSWER) {
		b[1] ^= 0x55;
		sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		b[1] ^= 0x55;
	} else if (script == MALFORMED_THEN_ANSWER) {
		/* Our ID and question, but an answer count with no record behind it. */
		b[7] = 1;
		sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		b[7] = 0;
	} else if (script == ALL_WRONG_THEN_ANSWER) {
		b[1] ^= 0x55;
		sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		b[1] ^= 0x55;
		b[n - 3] ^= 0x01; /* the question's type */
		sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		b[n - 3] ^= 0x01;
		sendto(srv_udp, "junk!", 5, 0, (struct sockaddr *)&from, fl);
		b[7] = 1;
		sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		b[7] = 0;
	} else if (script == WRONG_CASE_THEN_ANSWER) {
		b[13] ^= 0x20;
		sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		b[13] ^= 0x20;
	}
	sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
	if (script == ANSWER_THEN_SECOND) {
		b[3] = (uint8_t)((b[3] & 0xf0) | 3);
		sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		b[1] ^= 0x55;
		sendto(srv_udp, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static uv_poll_t srv_poll;

static void setup(void)
{
	cr_assert_eq(uv_loop_init(&loop), 0);
	vg_resolver_opts_default(&opts);
	/* A UDP server on a port the kernel picks and a TCP listener on the same port. The port
	 * may be taken for TCP (another test's connection got it as its ephemeral port): then
	 * try another one, a bounded number of times. */
	struct sockaddr_in a;
	int tcp_rc = -1;
	for (int tries = 0; tries < 50 && tcp_rc != 0; tries++) {
		if (tries) {
			close(srv_udp);
			close(srv_tcp);
		}
		a = (struct sockaddr_in){.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(0x7f000001)};
		srv_udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		cr_assert_eq(bind(srv_udp, (struct sockaddr *)&a, sizeof(a)), 0);
		socklen_t al = sizeof(a);
		getsockname(srv_udp, (struct sockaddr *)&a, &al);
		srv_tcp = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(srv_tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		tcp_rc = bind(srv_tcp, (struct sockaddr *)&a, sizeof(a));
	}
	cr_assert_eq(tcp_rc, 0, "no port free for both UDP and TCP in 50 tries");
	memset(&srv_addr, 0, sizeof(srv_addr));
	srv_addr.u.sin = a;
	srv_addr.len = sizeof(a);
	listen(srv_tcp, 4);
	uv_poll_init(&loop, &srv_poll, srv_udp);
	uv_poll_start(&srv_poll, UV_READABLE, serve_udp);
	cr_assert_eq(vg_upstream_new(&loop, &opts, 0, &up), 0);
}

/* A transport copies its options: one built again takes the test's changes. */
static void renew(void)
{
	vg_upstream_close(up);
	cr_assert_eq(vg_upstream_new(&loop, &opts, 0, &up), 0);
}

static void teardown(void)
{
	vg_upstream_close(up);
	uv_close((uv_handle_t *)&srv_poll, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0, "every handle closed");
	close(srv_udp);
	close(srv_tcp);
}

TestSuite(upstream, .init = setup, .fini = teardown, .timeout = 20);

static size_t query(uint8_t *q, const char *name)
{
	uint8_t n[VG_NAME_MAX];
	int nl = vg_name_from_text(name, n);
	memset(q, 0, 12);
	q[0] = 0x12;
	q[1] = 0x34;
	vg_put_u16(q + 4, 1);
	memcpy(q + 12, n, (size_t)nl);
	vg_put_u16(q + 12 + nl, 1);
	vg_put_u16(q + 14 + nl, 1);
	return 16 + (size_t)nl;
}

static void run_until(struct got *g)
{
	for (int i = 0; i < 2000 && g->calls == 0; i++)
		uv_run(&loop, UV_RUN_ONCE);
}

static void send_q(struct got *g, const char *name, bool tcp, uint32_t timeout)
{
	uint8_t q[512];
	size_t ql = query(q, name);
	struct vg_upstream_req req = {.server = &srv_addr,
				      .wire = q,
				      .len = ql,
				      .tcp = tcp,
				      .timeout_ms = timeout,
				      .unwanted = on_unwanted};
	struct vg_upstream_query *h;
	cr_assert_eq(up->ops->send(up, &req, on_reply, g, &h), 0);
	cr_assert_eq(g->calls, 0, "never called from inside send");
}

/* Plays the TCP server by hand: accepts the transport's connection and reads the framed query
 * into b (600 bytes); returns the connection, *n the bytes read. */
static int tcp_accept_query(uint8_t *b, ssize_t *n)
{
	int c = -1;
	for (int i = 0; i < 200 && c < 0; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		c = accept4(srv_tcp, NULL, NULL, SOCK_NONBLOCK);
		if (c < 0)
			usleep(1000);
	}
	cr_assert_geq(c, 0);
	*n = -1;
	for (int i = 0; i < 200 && *n <= 0; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		*n = recv(c, b, 600, 0);
		if (*n <= 0)
			usleep(1000);
	}
	cr_assert_gt(*n, 14);
	return c;
}

Test(upstream, delivers_the_matching_reply)
{
	script = ANSWER;
	struct got g = {0};
	send_q(&g, "wWw.Example.com.", false, 2000);
	run_until(&g);
	cr_assert_eq(g.calls, 1);
	cr_assert_eq(g.st, VG_UP_REPLY);
	cr_assert_eq(g.reply[0], 0x12);
	cr_assert_eq(up->stats.replies, 1);
	cr_assert_eq(up->stats.unsolicited, 0);
}

Test(upstream, ignores_a_reply_with_the_wrong_id_and_keeps_waiting)
{
	script = WRONG_ID_THEN_ANSWER;
	struct got g = {0};
	send_q(&g, "www.example.com.", false, 2000);
	run_until(&g);
	cr_assert_eq(g.st, VG_UP_REPLY);
	cr_assert_eq(g.reply[1], 0x34, "the real reply, not the forged one");
	cr_assert_eq(up->stats.unsolicited, 1);
}

Test(upstream, a_reply_with_changed_case_ends_the_query_with_case_status)
{
	script = WRONG_CASE_THEN_ANSWER;
	struct got g = {0};
	send_q(&g, "wWw.example.com.", false, 2000);
	run_until(&g);
	cr_assert_eq(g.calls, 1);
	cr_assert_eq(g.st, VG_UP_CASE, "nothing delivered: the resolver asks again over TCP");
	cr_assert_eq(up->stats.unsolicited, 1);
	cr_assert_eq(g.n_unwanted, 1, "reported before the query ended");
	cr_assert_eq(g.unwanted[0].kind, VG_UNWANTED_CASE);
	cr_assert(vg_sockaddr_eq(&g.unwanted[0].from, &srv_addr));
	cr_assert(!g.unwanted[0].tcp);
	cr_assert_eq(up->stats.replies, 0);
}

Test(upstream, each_unwanted_datagram_is_reported_with_kind_and_source_and_the_reply_still_comes)
{
	script = ALL_WRONG_THEN_ANSWER;
	struct got g = {0};
	send_q(&g, "wWw.example.com.", false, 2000);
	run_until(&g);
	cr_assert_eq(g.calls, 1);
	cr_assert_eq(g.st, VG_UP_REPLY);
	cr_assert_eq(g.reply[1], 0x34, "the real reply");
	cr_assert_eq(g.reply[7], 0);
	cr_assert_eq(up->stats.unsolicited, 4);
	cr_assert_eq(g.n_unwanted, 4);
	const enum vg_upstream_unwanted_kind want[4] = {
	    VG_UNWANTED_ID, VG_UNWANTED_QUESTION, VG_UNWANTED_MALFORMED, VG_UNWANTED_MALFORMED};
	const size_t want_len[4] = {g.len, g.len, 5, g.len};
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(g.unwanted[i].kind, want[i], "report %d", i);
		cr_assert(vg_sockaddr_eq(&g.unwanted[i].from, &srv_addr), "report %d: source", i);
		cr_assert_eq(g.unwanted[i].len, want_len[i], "report %d: length", i);
		cr_assert(!g.unwanted[i].tcp);
	}
	cr_assert_eq(g.unwanted_after_final, 0);
}

Test(upstream, a_matching_reply_that_does_not_parse_is_ignored_and_the_wait_goes_on)
{
	script = MALFORMED_THEN_ANSWER;
	struct got g = {0};
	send_q(&g, "www.example.com.", false, 2000);
	run_until(&g);
	cr_assert_eq(g.calls, 1);
	cr_assert_eq(g.st, VG_UP_REPLY);
	cr_assert_eq(g.reply[7], 0, "the well-formed reply, not the broken one");
	cr_assert_eq(up->stats.unsolicited, 1);
}

Test(upstream, an_icmp_error_is_a_notice_and_the_query_waits_until_its_timeout)
{
	/* A loopback port nobody listens on: the kernel answers ICMP port unreachable. */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	struct vg_sockaddr dead = {.len = sizeof(a)};
	dead.u.sin = a;
	uint8_t q[512];
	size_t ql = query(q, "www.example.com.");
	struct vg_upstream_req req = {.server = &dead, .wire = q, .len = ql, .timeout_ms = 200};
	struct vg_upstream_query *h;
	struct got g = {0};
	uint64_t t0 = up->ops->now_ms(up);
	cr_assert_eq(up->ops->send(up, &req, on_reply, &g, &h), 0);
	run_until(&g);
	cr_assert_eq(g.calls, 1);
	cr_assert_eq(g.st, VG_UP_UNREACHABLE, "the resolver hears of it at once");
	cr_assert_lt(up->ops->now_ms(up) - t0, 200);
	cr_assert_eq(up->stats.icmp_errors, 1);
	for (int i = 0; i < 2000 && g.calls < 2; i++)
		uv_run(&loop, UV_RUN_ONCE);
	cr_assert_eq(g.calls, 2);
	cr_assert_eq(g.st, VG_UP_TIMEOUT, "but the socket listened until the timeout");
	cr_assert_geq(up->ops->now_ms(up) - t0, 200);
}

Test(upstream, times_out_when_nothing_matches)
{
	script = SILENT;
	struct got g = {0};
	uint64_t t0 = up->ops->now_ms(up);
	send_q(&g, "www.example.com.", false, 100);
	run_until(&g);
	cr_assert_eq(g.st, VG_UP_TIMEOUT);
	cr_assert_geq(up->ops->now_ms(up) - t0, 100);
	cr_assert_eq(up->stats.timeouts, 1);
}

Test(upstream, cancel_suppresses_the_callback)
{
	script = ANSWER;
	struct got g = {0};
	uint8_t q[512];
	size_t ql = query(q, "www.example.com.");
	struct vg_upstream_req req = {.server = &srv_addr, .wire = q, .len = ql, .timeout_ms = 100};
	struct vg_upstream_query *h;
	cr_assert_eq(up->ops->send(up, &req, on_reply, &g, &h), 0);
	up->ops->cancel(up, h);
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(g.calls, 0);
}

Test(upstream, tcp_frames_the_query_and_reads_the_reply)
{
	struct got g = {0};
	send_q(&g, "www.example.com.", true, 2000);
	/* play the server by hand: accept, read the framed query, answer twice (first wrong ID) */
	uint8_t b[600];
	ssize_t n;
	int c = tcp_accept_query(b, &n);
	size_t len = vg_get_u16(b);
	cr_assert_eq((size_t)n, len + 2, "2-byte length framing");
	b[4] |= 0x80;
	uint8_t two[1200];
	memcpy(two, b, (size_t)n);
	two[3] ^= 1; /* wrong ID */
	memcpy(two + n, b, (size_t)n);
	cr_assert_eq(send(c, two, 2 * (size_t)n, 0), 2 * n);
	run_until(&g);
	cr_assert_eq(g.st, VG_UP_REPLY);
	cr_assert_eq(g.reply[1], 0x34);
	cr_assert_eq(up->stats.unsolicited, 1);
	cr_assert_eq(up->stats.sent_tcp, 1);
	close(c);
}

static int fired;
static void on_timer(void *ctx)
{
	fired++;
}

Test(upstream, timers_fire_once_and_stop_cancels)
{
	struct vg_upstream_timer *t1, *t2;
	cr_assert_eq(up->ops->timer_start(up, 10, on_timer, NULL, &t1), 0);
	cr_assert_eq(up->ops->timer_start(up, 10, on_timer, NULL, &t2), 0);
	up->ops->timer_stop(up, t2);
	for (int i = 0; i < 100 && fired == 0; i++)
		uv_run(&loop, UV_RUN_ONCE);
	cr_assert_eq(fired, 1);
}

Test(upstream, wall_clock_is_realtime_and_random_varies)
{
	int64_t w = up->ops->wall_now(up);
	cr_assert(w > 1700000000 && w - time(NULL) <= 1 && time(NULL) - w <= 1);
	uint8_t a[16], b[16];
	up->ops->random(up, a, sizeof(a));
	up->ops->random(up, b, sizeof(b));
	cr_assert(memcmp(a, b, sizeof(a)) != 0);
}

Test(upstream, sends_from_the_outgoing_address_with_a_fresh_port_each_time)
{
	struct vg_sockaddr src;
	cr_assert_eq(vg_sockaddr_parse("127.0.0.2", 0, &src), 0);
	opts.addr.outgoing = &src;
	opts.addr.n_outgoing = 1;
	renew();
	script = ANSWER;
	struct got g = {0};
	send_q(&g, "www.example.com.", false, 2000);
	run_until(&g);
	cr_assert_eq(g.st, VG_UP_REPLY);
	cr_assert_eq(ntohl(last_from.sin_addr.s_addr), 0x7f000002, "outgoing-address used");
	uint16_t p1 = ntohs(last_from.sin_port);
	struct got g2 = {0};
	send_q(&g2, "www.example.com.", false, 2000);
	run_until(&g2);
	cr_assert_neq(ntohs(last_from.sin_port), p1, "a new socket, a new source port");
}

Test(upstream, over_tcp_a_case_only_difference_is_accepted)
{
	struct got g = {0};
	send_q(&g, "www.example.com.", true, 2000);
	uint8_t b[600];
	ssize_t n;
	int c = tcp_accept_query(b, &n);
	b[4] |= 0x80;
	b[2 + 13] ^= 0x20; /* 'w' -> 'W' */
	cr_assert_eq(send(c, b, (size_t)n, 0), n);
	run_until(&g);
	cr_assert_eq(g.st, VG_UP_REPLY);
	close(c);
}

Test(upstream, refuses_a_socket_over_max_upstream_sockets_and_takes_one_when_freed)
{
	script = SILENT;
	opts.max_upstream_sockets = 16;
	renew();
	struct got g[17] = {{0}};
	struct vg_upstream_query *h[17];
	uint8_t q[512];
	size_t ql = query(q, "www.example.com.");
	struct vg_upstream_req req = {
	    .server = &srv_addr, .wire = q, .len = ql, .timeout_ms = 5000};
	for (int i = 0; i < 16; i++)
		cr_assert_eq(up->ops->send(up, &req, on_reply, &g[i], &h[i]), 0, "socket %d", i);
	cr_assert_eq(up->ops->send(up, &req, on_reply, &g[16], &h[16]), VG_ELIMIT,
		     "the 17th socket is over the cap");
	cr_assert_eq(up->stats.socket_cap, 1);
	uv_run(&loop, UV_RUN_NOWAIT); /* the pass's queries leave together */
	cr_assert_eq(up->stats.sent_udp, 16, "nothing was sent for the refused query");
	up->ops->cancel(up, h[3]);
	cr_assert_eq(up->ops->send(up, &req, on_reply, &g[16], &h[16]), 0,
		     "a cancelled query gives its socket back");
	cr_assert_eq(up->ops->send(up, &req, on_reply, &g[3], &h[3]), VG_ELIMIT);
	cr_assert_eq(up->stats.socket_cap, 2);
	for (int i = 0; i < 17; i++)
		up->ops->cancel(up, h[i]);
	for (int i = 0; i < 17; i++)
		cr_assert_eq(g[i].calls, 0);
}

/* What the late callback saw (injection-window). */
struct late_log {
	int n;
	enum vg_upstream_match match[4];
	uint8_t rcode[4];
	uint8_t accepted_rcode[4];
	size_t query_len[4];
	bool from_server[4];
	enum vg_upstream_unwanted_kind kind[4];
};

static void on_late(void *ctx, const struct vg_upstream_late *l)
{
	struct late_log *ll = ctx;
	if (ll->n < 4) {
		ll->match[ll->n] = l->match;
		ll->rcode[ll->n] = l->msg.len > 3 ? (l->msg.msg[3] & 0x0f) : 0xff;
		ll->accepted_rcode[ll->n] = l->accepted_len > 3 ? (l->accepted[3] & 0x0f) : 0xff;
		ll->query_len[ll->n] = l->query_len;
		ll->from_server[ll->n] =
		    vg_sockaddr_eq(&l->msg.from, &srv_addr) && vg_sockaddr_eq(l->server, &srv_addr);
		ll->kind[ll->n] = l->msg.kind;
	}
	ll->n++;
}

static void send_linger(struct got *g, struct late_log *ll, bool tcp, uint32_t linger,
			struct vg_upstream_query **h)
{
	uint8_t q[512];
	size_t ql = query(q, "wWw.example.com.");
	struct vg_upstream_req req = {.server = &srv_addr,
				      .wire = q,
				      .len = ql,
				      .tcp = tcp,
				      .timeout_ms = 2000,
				      .unwanted = on_unwanted,
				      .linger_ms = linger,
				      .late = on_late,
				      .late_ctx = ll};
	cr_assert_eq(up->ops->send(up, &req, on_reply, g, h), 0);
}

/* Runs the loop for about `ms` of real time (bounded in passes). */
static void run_for(uint64_t ms)
{
	uint64_t t0 = up->ops->now_ms(up);
	for (int i = 0; i < 2000 && up->ops->now_ms(up) - t0 < ms; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
		uv_update_time(&loop);
	}
}

Test(upstream, a_lingering_socket_hands_second_replies_to_the_late_callback)
{
	script = ANSWER_THEN_SECOND;
	struct got g = {0};
	struct late_log ll = {0};
	struct vg_upstream_query *h;
	send_linger(&g, &ll, false, 300, &h);
	run_until(&g);
	cr_assert_eq(g.calls, 1);
	cr_assert_eq(g.st, VG_UP_REPLY, "the first matching reply is delivered at once");
	cr_assert_eq(g.reply[3] & 0x0f, 0);
	for (int i = 0; i < 300 && ll.n < 2; i++)
		uv_run(&loop, UV_RUN_ONCE);
	cr_assert_eq(ll.n, 2, "the second reply and the wrong-ID one");
	cr_assert_eq(ll.match[0], VG_MATCH_OK, "matches ID and question: an injection sign");
	cr_assert_eq(ll.rcode[0], 3);
	cr_assert_eq(ll.accepted_rcode[0], 0, "the accepted reply comes along");
	cr_assert_eq(ll.match[1], VG_MATCH_ID);
	cr_assert(ll.from_server[0] && ll.from_server[1]);
	cr_assert_eq(ll.kind[0], VG_UNWANTED_LATE);
	cr_assert_eq(ll.query_len[0], 33, "the query as sent");
	cr_assert_eq(g.calls, 1, "the reply callback never runs again");
	cr_assert_eq(g.n_unwanted, 0, "late messages are not unwanted reports");
	cr_assert_eq(up->stats.late, 2);
	cr_assert_eq(up->stats.replies, 1);
}

Test(upstream, without_linger_the_socket_closes_with_the_reply)
{
	script = ANSWER_THEN_SECOND;
	struct got g = {0};
	struct late_log ll = {0};
	struct vg_upstream_query *h;
	send_linger(&g, &ll, false, 0, &h);
	run_until(&g);
	cr_assert_eq(g.st, VG_UP_REPLY);
	run_for(100);
	cr_assert_eq(ll.n, 0);
	cr_assert_eq(up->stats.late, 0);
}

Test(upstream, after_the_window_the_lingering_socket_is_closed)
{
	script = ANSWER;
	opts.max_upstream_sockets = 1;
	renew();
	struct got g = {0};
	struct late_log ll = {0};
	struct vg_upstream_query *h;
	send_linger(&g, &ll, false, 50, &h);
	run_until(&g);
	cr_assert_eq(g.st, VG_UP_REPLY);
	run_for(150);
	/* The one socket is free again without any query needing it. */
	struct got g2 = {0};
	send_linger(&g2, &ll, false, 50, &h);
	cr_assert_eq(up->stats.linger_closed, 0, "the window had closed it already");
	run_until(&g2);
	cr_assert_eq(g2.st, VG_UP_REPLY);
	cr_assert_eq(ll.n, 0);
}

Test(upstream, a_query_in_need_of_a_socket_closes_the_oldest_lingering_one)
{
	script = ANSWER;
	opts.max_upstream_sockets = 2;
	renew();
	struct got g[3] = {{0}};
	struct late_log ll = {0};
	struct vg_upstream_query *h[3];
	send_linger(&g[0], &ll, false, 5000, &h[0]);
	run_until(&g[0]);
	send_linger(&g[1], &ll, false, 5000, &h[1]);
	run_until(&g[1]);
	cr_assert_eq(up->stats.linger_closed, 0);
	send_linger(&g[2], &ll, false, 5000, &h[2]);
	cr_assert_eq(up->stats.linger_closed, 1, "a lingering socket made room");
	cr_assert_eq(up->stats.socket_cap, 0, "the query was not refused");
	run_until(&g[2]);
	cr_assert_eq(g[2].st, VG_UP_REPLY);
}

Test(upstream, tcp_queries_do_not_linger)
{
	struct got g = {0};
	struct late_log ll = {0};
	struct vg_upstream_query *h;
	send_linger(&g, &ll, true, 5000, &h);
	uint8_t b[600];
	ssize_t n;
	int c = tcp_accept_query(b, &n);
	b[4] |= 0x80;
	uint8_t two[1200];
	memcpy(two, b, (size_t)n);
	memcpy(two + n, b, (size_t)n);
	two[n + 5] |= 3; /* a different second reply on the same connection */
	cr_assert_eq(send(c, two, 2 * (size_t)n, 0), 2 * n);
	run_until(&g);
	cr_assert_eq(g.st, VG_UP_REPLY);
	run_for(50);
	cr_assert_eq(ll.n, 0, "TCP proves the origin: nothing lingers");
	cr_assert_eq(up->stats.late, 0);
	close(c);
}

/* A UDP socket the loop does not watch: what the transport sent is read by hand. */
static int quiet_server(struct vg_sockaddr *addr)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	memset(addr, 0, sizeof(*addr));
	addr->u.sin = a;
	addr->len = sizeof(a);
	return fd;
}

static struct vg_upstream_query *send_to(const struct vg_sockaddr *to, const char *name,
					 struct got *g)
{
	uint8_t q[512];
	size_t ql = query(q, name);
	struct vg_upstream_req req = {.server = to, .wire = q, .len = ql, .timeout_ms = 2000};
	struct vg_upstream_query *h;
	cr_assert_eq(up->ops->send(up, &req, on_reply, g, &h), 0);
	return h;
}

static int datagrams_waiting(int fd)
{
	uint8_t b[512];
	int n = 0;
	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

Test(upstream, udp_queries_of_one_loop_pass_leave_together_before_the_loop_waits)
{
	struct vg_sockaddr to;
	int fd = quiet_server(&to);
	struct got g[3] = {0};
	send_to(&to, "a.example.com.", &g[0]);
	send_to(&to, "b.example.com.", &g[1]);
	send_to(&to, "c.example.com.", &g[2]);
	cr_assert_eq(datagrams_waiting(fd), 0, "nothing leaves inside send");
	cr_assert_eq(up->stats.sent_udp, 0);
	uv_run(&loop, UV_RUN_NOWAIT); /* one pass: the prepare phase sends the burst */
	cr_assert_eq(up->stats.sent_udp, 3);
	cr_assert_eq(datagrams_waiting(fd), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(g[i].calls, 0, "the queries wait for their replies");
	close(fd);
}

Test(upstream, a_udp_query_cancelled_in_its_loop_pass_is_never_sent)
{
	struct vg_sockaddr to;
	int fd = quiet_server(&to);
	struct got g[2] = {0};
	struct vg_upstream_query *h = send_to(&to, "gone.example.com.", &g[0]);
	send_to(&to, "kept.example.com.", &g[1]);
	up->ops->cancel(up, h);
	for (int i = 0; i < 3; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(up->stats.sent_udp, 1);
	uint8_t b[512];
	ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	cr_assert_gt(n, 12);
	cr_assert_eq(b[13], 'k', "the query left is the one not cancelled");
	cr_assert_eq(datagrams_waiting(fd), 0);
	cr_assert_eq(g[0].calls, 0);
	close(fd);
}
