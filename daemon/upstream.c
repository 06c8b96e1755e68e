/* The worker's upstream transport: one fresh connected socket per query to an authoritative server
 * or forwarder, strict reply matching, lingering sockets for late replies (injection-window),
 * timers and clocks, on the worker's libuv loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "upstream.h"

#define UP_UDP_BUF 65536
#define UP_TCP_MAX (2 + 65535)

struct up_impl;

/* One query in flight. Lives from send until its callback ran or cancel, then until libuv closed
 * its timer handle (freed in the close callback, which runs after every event of the current
 * loop pass, so a stale event for it in the same epoll batch only sees `done`). Its socket sits
 * in the worker's own epoll set (see up_impl.epfd) and is closed at release. */
struct vg_upstream_query {
	struct up_impl *up;
	uv_timer_t timer;
	int fd;
	bool tcp, connected, done;
	uint8_t *wire; /* query; for TCP prefixed with the 2-byte length */
	size_t wlen, woff;
	uint8_t *rbuf; /* TCP reassembly buffer */
	size_t roff;
	uint64_t started;
	uint64_t started_ns; /* uv_hrtime() at send: the RTT histogram */
	vg_upstream_reply_cb cb;
	vg_upstream_unwanted_cb unwanted; /* NULL: the sender does not want to know */
	void *ctx;
	struct vg_sockaddr server; /* the connected peer: the source of TCP messages */
	bool icmp_seen;		   /* VG_UP_UNREACHABLE was delivered */
	struct vg_upstream_query *prev, *next;
	/* Lingering (after a UDP reply, for linger_ms): cb is spent; datagrams go to late(). */
	uint32_t linger_ms;
	vg_upstream_late_cb late;
	void *late_ctx;
	bool lingering;
	uint8_t *accepted; /* the reply that answered the query */
	size_t accepted_len;
	struct vg_upstream_query *lprev, *lnext; /* up_impl.linger list, oldest first */
	/* UDP: sent at the end of the loop pass (see up_impl.unsent_head), not by up_send */
	bool unsent;
	struct vg_upstream_query *uprev, *unext;
};

struct vg_upstream_timer {
	struct up_impl *up;
	uv_timer_t timer;
	vg_upstream_timer_cb cb;
	void *ctx;
	struct vg_upstream_timer *prev, *next;
};

struct up_impl {
	struct vg_upstream head; /* first: the resolver sees only this */
	uv_loop_t *loop;
	/* Query sockets live in this epoll set, itself watched by one uv_poll_t: one epoll_ctl per
	 * query instead of libuv's check/add/delete/invalidate (five) plus an ioctl per uv_poll_t.
	 */
	int epfd;
	uv_poll_t ep_poll;
	struct vg_addr_policy addr; /* outgoing: source addresses */
	uint32_t max_sockets;	    /* max-upstream-sockets, 0 = no cap */
	int worker_id;
	struct vg_upstream_query *queries;		     /* every query, lingering ones too */
	struct vg_upstream_query *linger_head, *linger_tail; /* lingering, oldest first */
	/* UDP queries opened in this loop pass and not yet sent, oldest first. They leave
	 * together just before the loop next waits (`flush`, a prepare handle), back to back:
	 * a server on another CPU is woken once for the burst instead of once per query, which
	 * the sender pays for (an inter-processor interrupt per wake-up of a sleeping CPU; see
	 * docs/architecture.md "Upstream transport"). The delay is the rest of the pass. */
	struct vg_upstream_query *unsent_head, *unsent_tail;
	uv_prepare_t flush;
	uint64_t send_err_log_at, send_err_quiet; /* send_failed's log limit */
	size_t n_sockets; /* open query sockets, lingering ones too: at most max_sockets */
	struct vg_upstream_timer *timers;
	uint64_t wall_mono; /* loop time at which `wall` was read */
	int64_t wall;
	uint8_t rnd[4096];
	size_t rnd_off;
	uint8_t udp_buf[UP_UDP_BUF]; /* one receive buffer per worker: callbacks never nest */
	bool closing;
	int handles; /* handles still open, the impl is freed when 0 after close */
};

static struct up_impl *impl_of(struct vg_upstream *up)
{
	return (struct up_impl *)up;
}

static void impl_maybe_free(struct up_impl *u)
{
	if (u->closing && u->handles == 0)
		free(u);
}

static void query_handle_closed(uv_handle_t *h)
{
	struct vg_upstream_query *q = h->data;
	struct up_impl *u = q->up;
	free(q->wire);
	free(q->rbuf);
	free(q->accepted);
	free(q);
	u->handles--;
	impl_maybe_free(u);
}

static void unsent_unlink(struct vg_upstream_query *q)
{
	struct up_impl *u = q->up;
	if (q->uprev)
		q->uprev->unext = q->unext;
	else
		u->unsent_head = q->unext;
	if (q->unext)
		q->unext->uprev = q->uprev;
	else
		u->unsent_tail = q->uprev;
	q->uprev = q->unext = NULL;
	q->unsent = false;
}

/* Unlinks q and starts closing its handles; no callback will run for it afterwards. */
static void query_release(struct vg_upstream_query *q)
{
	struct up_impl *u = q->up;
	q->done = true;
	if (q->unsent)
		unsent_unlink(q);
	if (q->prev)
		q->prev->next = q->next;
	else
		u->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
	if (q->lingering) {
		if (q->lprev)
			q->lprev->lnext = q->lnext;
		else
			u->linger_head = q->lnext;
		if (q->lnext)
			q->lnext->lprev = q->lprev;
		else
			u->linger_tail = q->lprev;
		q->lprev = q->lnext = NULL;
		q->lingering = false;
	}
	if (q->fd >= 0) {
		close(q->fd); /* also leaves the epoll set: the fd is never duplicated */
		u->n_sockets--;
	}
	q->fd = -1;
	uv_timer_stop(&q->timer);
	uv_close((uv_handle_t *)&q->timer, query_handle_closed);
}

static void on_query_timeout(uv_timer_t *t);

/* After a UDP reply: keeps the socket listening for linger_ms instead of closing it, so a second
 * reply (an on-path injector's, or the real one after a forged first) is seen. False when the
 * query does not linger (TCP, not asked, no memory): the caller releases it. */
static bool query_linger(struct vg_upstream_query *q, const uint8_t *reply, size_t len)
{
	struct up_impl *u = q->up;
	if (q->tcp || !q->linger_ms || !q->late || u->closing || !(q->accepted = malloc(len)))
		return false;
	memcpy(q->accepted, reply, len);
	q->accepted_len = len;
	q->lingering = true;
	q->lprev = u->linger_tail;
	q->lnext = NULL;
	if (u->linger_tail)
		u->linger_tail->lnext = q;
	else
		u->linger_head = q;
	u->linger_tail = q;
	uv_timer_stop(&q->timer);
	uv_timer_start(&q->timer, on_query_timeout, q->linger_ms, 0);
	return true;
}

static void query_finish(struct vg_upstream_query *q, enum vg_upstream_status st,
			 const uint8_t *reply, size_t len)
{
	struct up_impl *u = q->up;
	uint64_t now = uv_now(u->loop);
	uint32_t rtt = (uint32_t)(now - q->started);
	vg_upstream_reply_cb cb = q->cb;
	void *ctx = q->ctx;
	if (st == VG_UP_REPLY) {
		u->head.stats.replies++;
		if (u->head.rtt_hist)
			vg_hist_add(u->head.rtt_hist, uv_hrtime() - q->started_ns, 1);
	} else if (st == VG_UP_TIMEOUT)
		u->head.stats.timeouts++;
	else if (st == VG_UP_ERROR)
		u->head.stats.errors++;
	/* Release (or turn into a lingering socket) first so the callback may send new queries or
	 * close the transport. */
	if (st != VG_UP_REPLY || !query_linger(q, reply, len))
		query_release(q);
	cb(ctx, st, reply, len, rtt);
}

static const uint8_t *query_msg(const struct vg_upstream_query *q, size_t *len)
{
	*len = q->tcp ? q->wlen - 2 : q->wlen;
	return q->tcp ? q->wire + 2 : q->wire;
}

enum vg_upstream_offer vg_upstream_judge(const uint8_t *query, size_t qlen, bool tcp,
					 const uint8_t *msg, size_t len,
					 enum vg_upstream_match *why)
{
	enum vg_upstream_match m = vg_upstream_match(query, qlen, msg, len);
	/* Over TCP the handshake proves the origin: the case of the name does not matter. */
	if (m == VG_MATCH_CASE && tcp)
		m = VG_MATCH_OK;
	if (why)
		*why = m;
	if (m == VG_MATCH_OK)
		return VG_OFFER_ACCEPT;
	/* A server that does not keep our 0x20 spelling (or a forger): TCP settles it either way,
	 * sooner than a timeout would. */
	return m == VG_MATCH_CASE ? VG_OFFER_CASE : VG_OFFER_IGNORE;
}

/* Returns true when the message answered the query (and finished it) or the query went away
 * while its unwanted message was reported. `from` is the message's source. */
static bool query_offer(struct vg_upstream_query *q, const uint8_t *msg, size_t len,
			const struct vg_sockaddr *from)
{
	size_t qlen;
	const uint8_t *qw = query_msg(q, &qlen);
	enum vg_upstream_match m;
	enum vg_upstream_offer o = vg_upstream_judge(qw, qlen, q->tcp, msg, len, &m);
	if (o != VG_OFFER_ACCEPT) {
		q->up->head.stats.unsolicited++;
		vg_debug("upstream: ignored unsolicited message (match verdict %d)", (int)m);
		if (q->unwanted) {
			struct vg_upstream_unwanted uw = {vg_upstream_unwanted_kind_of(m), *from,
							  q->tcp, msg, len};
			q->unwanted(q->ctx, &uw);
			if (q->done)
				return true; /* cancelled by the callback */
		}
	}
	if (o == VG_OFFER_IGNORE)
		return false;
	query_finish(q, o == VG_OFFER_CASE ? VG_UP_CASE : VG_UP_REPLY,
		     o == VG_OFFER_CASE ? NULL : msg, o == VG_OFFER_CASE ? 0 : len);
	return true;
}

/* A datagram on a lingering socket: handed to the late callback with the query's identity. */
static void linger_offer(struct vg_upstream_query *q, const uint8_t *msg, size_t len,
			 const struct vg_sockaddr *from)
{
	struct up_impl *u = q->up;
	u->head.stats.late++;
	struct vg_upstream_late l = {
	    .server = &q->server,
	    .query = q->wire,
	    .query_len = q->wlen,
	    .accepted = q->accepted,
	    .accepted_len = q->accepted_len,
	    .match = vg_upstream_match(q->wire, q->wlen, msg, len),
	    .msg = {VG_UNWANTED_LATE, *from, false, msg, len},
	};
	q->late(q->late_ctx, &l);
}

static void udp_readable(struct vg_upstream_query *q)
{
	struct up_impl *u = q->up;
	for (int i = 0; i < 16 && !q->done; i++) {
		/* Connected socket: the kernel only delivers datagrams from the server's address
		 * and port, so source matching is done by connect(). */
		struct vg_sockaddr from = {.len = sizeof(from.u)};
		socklen_t fl = sizeof(from.u);
		ssize_t n = recvfrom(q->fd, u->udp_buf, sizeof(u->udp_buf), 0, &from.u.sa, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* An ICMP error (port/host/net unreachable...) queued on the socket;
			 * reading it cleared it. Anyone on the path can forge one, so it ends
			 * nothing: the socket keeps listening until the reply or the timeout. The
			 * resolver hears of it once, to try another server meanwhile. */
			u->head.stats.icmp_errors++;
			vg_debug("upstream: ICMP error on a query socket: %s", strerror(errno));
			if (q->lingering)
				continue; /* answered already: nothing to tell */
			if (!q->icmp_seen) {
				q->icmp_seen = true;
				q->cb(q->ctx, VG_UP_UNREACHABLE, NULL, 0, 0);
				return; /* the callback may have cancelled q */
			}
			continue;
		}
		from.len = fl;
		if (q->lingering)
			linger_offer(q, u->udp_buf, (size_t)n, &from);
		else if (query_offer(q, u->udp_buf, (size_t)n, &from))
			return;
	}
}

static void tcp_io(struct vg_upstream_query *q, uint32_t events)
{
	if (events & EPOLLOUT) {
		if (!q->connected) {
			int err = 0;
			socklen_t el = sizeof(err);
			if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
				query_finish(q, VG_UP_ERROR, NULL, 0);
				return;
			}
			q->connected = true;
		}
		while (q->woff < q->wlen) {
			ssize_t n = send(q->fd, q->wire + q->woff, q->wlen - q->woff, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					break;
				query_finish(q, VG_UP_ERROR, NULL, 0);
				return;
			}
			q->woff += (size_t)n;
		}
		if (q->woff == q->wlen) {
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = q};
			epoll_ctl(q->up->epfd, EPOLL_CTL_MOD, q->fd, &ev);
		}
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	for (;;) {
		ssize_t n = recv(q->fd, q->rbuf + q->roff, UP_TCP_MAX - q->roff, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			query_finish(q, VG_UP_ERROR, NULL, 0);
			return;
		}
		if (n == 0) {
			query_finish(q, VG_UP_ERROR, NULL, 0);
			return;
		}
		q->roff += (size_t)n;
		/* A server may send several messages on one connection; match each in turn. */
		while (q->roff >= 2) {
			size_t mlen = vg_get_u16(q->rbuf);
			if (q->roff < 2 + mlen)
				break;
			if (query_offer(q, q->rbuf + 2, mlen, &q->server))
				return;
			memmove(q->rbuf, q->rbuf + 2 + mlen, q->roff - 2 - mlen);
			q->roff -= 2 + mlen;
		}
	}
}

static void on_epoll(uv_poll_t *h, int status, int events)
{
	struct up_impl *u = h->data;
	struct epoll_event ev[64];
	int n = epoll_wait(u->epfd, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		struct vg_upstream_query *q = ev[i].data.ptr;
		if (q->done)
			continue; /* released by an earlier event of this batch */
		if (q->tcp)
			tcp_io(q, ev[i].events);
		else
			udp_readable(q); /* EPOLLERR too: recv reports the ICMP error */
	}
}

static void on_query_timeout(uv_timer_t *t)
{
	struct vg_upstream_query *q = t->data;
	if (q->done)
		return;
	if (q->lingering)
		query_release(q); /* the injection window is over */
	else
		query_finish(q, VG_UP_TIMEOUT, NULL, 0);
}

static const struct vg_sockaddr *outgoing_for(const struct up_impl *u, int family)
{
	for (size_t i = 0; i < u->addr.n_outgoing; i++)
		if (u->addr.outgoing[i].u.sa.sa_family == family)
			return &u->addr.outgoing[i];
	return NULL;
}

static int open_socket(struct up_impl *u, const struct vg_sockaddr *server, bool tcp)
{
	int family = server->u.sa.sa_family;
	int fd = socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	const struct vg_sockaddr *src = outgoing_for(u, family);
	if (src) {
		struct vg_sockaddr b = *src;
		/* Port 0: the kernel picks a random ephemeral source port for every socket. */
		if (family == AF_INET)
			b.u.sin.sin_port = 0;
		else
			b.u.sin6.sin6_port = 0;
		if (bind(fd, &b.u.sa, b.len) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
	}
	if (connect(fd, &server->u.sa, server->len) < 0 && errno != EINPROGRESS) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* A send refused on this host (a local firewall's EPERM, no buffer): nothing left, so nothing is
 * held against the server, but the operator hears of it, as of a socket or connect that fails
 * in up_send (the resolver's local-error line): at most one line per SEND_ERR_LOG_MS. */
#define SEND_ERR_LOG_MS 10000
static void send_failed(struct up_impl *u, const struct vg_upstream_query *q, int err)
{
	uint64_t now = uv_now(u->loop);
	u->send_err_quiet++;
	if (u->send_err_log_at && now < u->send_err_log_at)
		return;
	char a[64];
	vg_warn("upstream %d: cannot send to %s: %s (a local error, not held against the server; "
		"%llu such since the last message)",
		u->worker_id, vg_sockaddr_str(&q->server, a, sizeof(a)), strerror(err),
		(unsigned long long)u->send_err_quiet);
	u->send_err_quiet = 0;
	u->send_err_log_at = now + SEND_ERR_LOG_MS;
}

/* Sends the UDP queries of this loop pass, oldest first. A failed send (the socket is connected,
 * so rare: no buffer, a firewall) ends its query with VG_UP_ERROR, as a TCP error does; the
 * callback may queue new queries, which go out in the same burst. */
static void on_flush(uv_prepare_t *h)
{
	struct up_impl *u = h->data;
	struct vg_upstream_query *q;
	while ((q = u->unsent_head)) {
		unsent_unlink(q);
		q->started = uv_now(u->loop);
		q->started_ns = uv_hrtime();
		ssize_t n;
		do
			n = send(q->fd, q->wire, q->wlen, 0);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)q->wlen) {
			u->head.stats.sent_udp++;
			continue;
		}
		send_failed(u, q, n < 0 ? errno : EIO);
		query_finish(q, VG_UP_ERROR, NULL, 0);
	}
	uv_prepare_stop(&u->flush);
}

static int up_send(struct vg_upstream *head, const struct vg_upstream_req *req,
		   vg_upstream_reply_cb cb, void *ctx, struct vg_upstream_query **out)
{
	struct up_impl *u = impl_of(head);
	if (vg_fails(req->len >= 12 && req->len <= 65535) || u->closing)
		return -EINVAL;
	/* A lingering socket only watches for injections: a query in need of a socket comes
	 * first, oldest lingering one closed first. */
	while (u->max_sockets && u->n_sockets >= u->max_sockets && u->linger_head) {
		u->head.stats.linger_closed++;
		query_release(u->linger_head);
	}
	if (u->max_sockets && u->n_sockets >= u->max_sockets) {
		u->head.stats.socket_cap++;
		return VG_ELIMIT;
	}
	struct vg_upstream_query *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->up = u;
	q->tcp = req->tcp;
	q->cb = cb;
	q->unwanted = req->unwanted;
	q->linger_ms = req->linger_ms;
	q->late = req->late;
	q->late_ctx = req->late_ctx;
	q->ctx = ctx;
	q->server = *req->server;
	q->wlen = req->len + (req->tcp ? 2 : 0);
	q->wire = malloc(q->wlen);
	if (!q->wire || (req->tcp && !(q->rbuf = malloc(UP_TCP_MAX)))) {
		free(q->wire);
		free(q);
		return -ENOMEM;
	}
	if (req->tcp) {
		vg_put_u16(q->wire, (uint16_t)req->len);
		memcpy(q->wire + 2, req->wire, req->len);
	} else {
		memcpy(q->wire, req->wire, req->len);
	}
	q->fd = open_socket(u, req->server, req->tcp);
	if (q->fd < 0) {
		int e = q->fd;
		free(q->wire);
		free(q->rbuf);
		free(q);
		return e;
	}
	if (req->tcp)
		u->head.stats.sent_tcp++;
	struct epoll_event ev = {.events = req->tcp ? EPOLLIN | EPOLLOUT : EPOLLIN, .data.ptr = q};
	if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, q->fd, &ev) < 0) {
		int e = -errno;
		close(q->fd);
		free(q->wire);
		free(q->rbuf);
		free(q);
		return e;
	}
	uv_timer_init(u->loop, &q->timer);
	q->timer.data = q;
	u->handles += 1;
	u->n_sockets++;
	if (req->tcp) { /* a UDP query's clock starts at its send (on_flush) */
		q->started = uv_now(u->loop);
		q->started_ns = uv_hrtime();
	}
	q->next = u->queries;
	if (u->queries)
		u->queries->prev = q;
	u->queries = q;
	if (!req->tcp) {
		q->unsent = true;
		q->uprev = u->unsent_tail;
		if (u->unsent_tail)
			u->unsent_tail->unext = q;
		else
			u->unsent_head = q;
		u->unsent_tail = q;
		uv_prepare_start(&u->flush, on_flush);
	}
	uv_timer_start(&q->timer, on_query_timeout, req->timeout_ms ? req->timeout_ms : 1, 0);
	*out = q;
	return 0;
}

static void up_cancel(struct vg_upstream *head, struct vg_upstream_query *q)
{
	if (q && !q->done)
		query_release(q);
}

static void timer_closed(uv_handle_t *h)
{
	struct vg_upstream_timer *t = h->data;
	struct up_impl *u = t->up;
	free(t);
	u->handles--;
	impl_maybe_free(u);
}

static void timer_release(struct vg_upstream_timer *t)
{
	struct up_impl *u = t->up;
	if (t->prev)
		t->prev->next = t->next;
	else
		u->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, timer_closed);
}

static void on_timer(uv_timer_t *h)
{
	struct vg_upstream_timer *t = h->data;
	vg_upstream_timer_cb cb = t->cb;
	void *ctx = t->ctx;
	timer_release(t);
	cb(ctx);
}

static int up_timer_start(struct vg_upstream *head, uint64_t ms, vg_upstream_timer_cb cb, void *ctx,
			  struct vg_upstream_timer **out)
{
	struct up_impl *u = impl_of(head);
	if (u->closing)
		return -EINVAL;
	struct vg_upstream_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->up = u;
	t->cb = cb;
	t->ctx = ctx;
	uv_timer_init(u->loop, &t->timer);
	t->timer.data = t;
	u->handles++;
	t->next = u->timers;
	if (u->timers)
		u->timers->prev = t;
	u->timers = t;
	uv_timer_start(&t->timer, on_timer, ms, 0);
	*out = t;
	return 0;
}

static void up_timer_stop(struct vg_upstream *head, struct vg_upstream_timer *t)
{
	if (t)
		timer_release(t);
}

static uint64_t up_now_ms(struct vg_upstream *head)
{
	return uv_now(impl_of(head)->loop);
}

static int64_t up_wall_now(struct vg_upstream *head)
{
	struct up_impl *u = impl_of(head);
	/* uv_now() advances once per loop pass, so re-reading the wall clock only when it moved
	 * gives one wall-clock reading per pass. */
	uint64_t mono = uv_now(u->loop);
	if (u->wall == 0 || mono != u->wall_mono) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		u->wall = ts.tv_sec;
		u->wall_mono = mono;
	}
	return u->wall;
}

static void up_random(struct vg_upstream *head, void *buf, size_t len)
{
	struct up_impl *u = impl_of(head);
	uint8_t *p = buf;
	while (len > 0) {
		if (u->rnd_off >= sizeof(u->rnd)) {
			size_t got = 0;
			while (got < sizeof(u->rnd)) {
				ssize_t n = getrandom(u->rnd + got, sizeof(u->rnd) - got, 0);
				if (n < 0 && errno != EINTR)
					vg_require(!"getrandom failed");
				if (n > 0)
					got += (size_t)n;
			}
			u->rnd_off = 0;
		}
		size_t take = sizeof(u->rnd) - u->rnd_off;
		if (take > len)
			take = len;
		memcpy(p, u->rnd + u->rnd_off, take);
		/* Used bytes are wiped so a later memory disclosure cannot reveal past IDs. */
		memset(u->rnd + u->rnd_off, 0, take);
		u->rnd_off += take;
		p += take;
		len -= take;
	}
}

static const struct vg_upstream_ops up_ops = {
    .send = up_send,
    .cancel = up_cancel,
    .timer_start = up_timer_start,
    .timer_stop = up_timer_stop,
    .now_ms = up_now_ms,
    .wall_now = up_wall_now,
    .random = up_random,
};

int vg_upstream_new(uv_loop_t *loop, const struct vg_resolver_opts *opts, int worker_id,
		    struct vg_upstream **out)
{
	struct up_impl *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->head.ops = &up_ops;
	u->loop = loop;
	u->addr = opts->addr;
	u->max_sockets = opts->max_upstream_sockets;
	u->worker_id = worker_id;
	u->rnd_off = sizeof(u->rnd);
	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (u->epfd < 0) {
		int e = -errno;
		free(u);
		return e;
	}
	if (uv_poll_init(loop, &u->ep_poll, u->epfd) < 0) {
		close(u->epfd);
		free(u);
		return VG_ELIBUV;
	}
	u->ep_poll.data = u;
	uv_prepare_init(loop, &u->flush);
	u->flush.data = u;
	u->handles = 2;
	uv_poll_start(&u->ep_poll, UV_READABLE, on_epoll);
	*out = &u->head;
	return 0;
}

static void ep_poll_closed(uv_handle_t *h)
{
	struct up_impl *u = h->data;
	close(u->epfd);
	u->handles--;
	impl_maybe_free(u);
}

static void flush_closed(uv_handle_t *h)
{
	struct up_impl *u = h->data;
	u->handles--;
	impl_maybe_free(u);
}

void vg_upstream_close(struct vg_upstream *head)
{
	if (!head)
		return;
	struct up_impl *u = impl_of(head);
	u->closing = true;
	while (u->queries)
		query_release(u->queries);
	while (u->timers)
		timer_release(u->timers);
	uv_poll_stop(&u->ep_poll);
	uv_close((uv_handle_t *)&u->ep_poll, ep_poll_closed);
	uv_prepare_stop(&u->flush);
	uv_close((uv_handle_t *)&u->flush, flush_closed);
}
