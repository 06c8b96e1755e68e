/* UDP listener of one worker: batched receive with recvmmsg and replies queued and sent with one
 * sendmmsg per batch (and once per loop pass for answers that came later).
 *
 * Why not uv_udp_t: libuv 1.44's recvmmsg mode always calls recvmmsg again until EAGAIN (one
 * wasted syscall per wake-up at moderate load) and hands out one 64 KiB chunk per datagram.
 * Driving the socket with uv_poll_t and our own recvmmsg/sendmmsg saves that syscall. A wake-up
 * answers what it read before it reads again, and reads again only after a full batch (the socket
 * may hold more), at most DRAIN_ROUNDS batches (docs/architecture.md, Daemon).
 *
 * A wildcard listener (0.0.0.0, ::) asks for each datagram's destination address (IP_PKTINFO,
 * IPV6_RECVPKTINFO) and sends each reply from it with the same control message, still in one
 * recvmmsg/sendmmsg per batch; a listener on one address carries no control messages at all. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vigil/err.h>
#include "daemon.h"

#define RECV_BATCH 32 /* datagrams per recvmmsg */
#define RECV_CAP 4096 /* larger queries are dropped (MSG_TRUNC): no real query needs more */
#define SLOT_CAP 4096 /* largest UDP answer we send: edns-buffer-size is at most 4096 */
#define SEND_SLOTS 64 /* replies queued before a flush is forced */
/* Full batches read per wake-up before the loop's other handles (TCP, upstream replies, timers)
 * get a turn; the poll is level-triggered, so what is left wakes the next loop pass at once. */
#define DRAIN_ROUNDS 8

/* One control message with the larger of the two pktinfo structures. */
union udp_ctl {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	size_t align; /* struct cmsghdr's alignment (its flexible array rules it out here) */
};

struct vg_udp {
	uv_poll_t h;
	struct vg_worker *w;
	struct vg_sockaddr addr;
	int fd;
	int refs; /* 1 while open + one per request waiting for the resolver */
	bool closed, stopped, want_write, overflow;
	bool pktinfo; /* wildcard address: control messages carry each datagram's destination */
	/* receive batch */
	struct mmsghdr rmsg[RECV_BATCH];
	struct iovec riov[RECV_BATCH];
	struct sockaddr_storage rfrom[RECV_BATCH];
	union udp_ctl rctl[RECV_BATCH]; /* pktinfo only */
	uint8_t *rbuf;			/* RECV_BATCH * RECV_CAP */
	/* send queue: replies [qhead, nq) are waiting */
	unsigned qhead, nq;
	struct mmsghdr msgs[SEND_SLOTS];
	struct iovec iov[SEND_SLOTS];
	struct vg_sockaddr to[SEND_SLOTS];
	struct vg_udp_dst from[SEND_SLOTS]; /* pktinfo only: source of each reply */
	union udp_ctl sctl[SEND_SLOTS];	    /* pktinfo only */
	uint8_t *slots; /* (SEND_SLOTS + 1) * SLOT_CAP; the last one takes replies we must drop */
};

const struct vg_sockaddr *vg_udp_addr(const struct vg_udp *u)
{
	return &u->addr;
}

void vg_udp_ref(struct vg_udp *u)
{
	u->refs++;
}

void vg_udp_unref(struct vg_udp *u)
{
	if (--u->refs > 0)
		return;
	free(u->rbuf);
	free(u->slots);
	free(u);
}

static void set_events(struct vg_udp *u);

/* The destination of a received datagram, from its IP_PKTINFO / IPV6_PKTINFO message. */
static void read_dst(struct msghdr *m, struct vg_udp_dst *d)
{
	d->family = 0;
	if (m->msg_flags & MSG_CTRUNC)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			d->family = AF_INET;
			d->ifindex = (unsigned)pi.ipi_ifindex;
			d->a.v4 = pi.ipi_spec_dst; /* the local address to answer from */
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			d->family = AF_INET6;
			d->ifindex = pi.ipi6_ifindex;
			d->a.v6 = pi.ipi6_addr;
		}
	}
}

/* Points send message i at a control message that makes its source from[i] (none when the
 * destination was not known). */
static void set_source(struct vg_udp *u, unsigned i)
{
	struct msghdr *m = &u->msgs[i].msg_hdr;
	const struct vg_udp_dst *d = &u->from[i];
	m->msg_control = NULL;
	m->msg_controllen = 0;
	if (d->family == 0)
		return;
	struct cmsghdr *c = (struct cmsghdr *)u->sctl[i].buf;
	if (d->family == AF_INET) {
		struct in_pktinfo pi = {.ipi_ifindex = 0, .ipi_spec_dst = d->a.v4};
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		/* the interface matters only for a link-local source; elsewhere routing picks it */
		struct in6_pktinfo pi = {.ipi6_addr = d->a.v6, .ipi6_ifindex = 0};
		if (IN6_IS_ADDR_LINKLOCAL(&d->a.v6))
			pi.ipi6_ifindex = d->ifindex;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
	}
	m->msg_control = c;
}

/* Returns the number of datagrams read. */
static int receive_batch(struct vg_udp *u)
{
	struct vg_worker *w = u->w;
	for (unsigned i = 0; i < RECV_BATCH; i++) {
		u->rmsg[i].msg_hdr.msg_namelen = sizeof(u->rfrom[i]);
		u->rmsg[i].msg_hdr.msg_flags = 0;
	}
	if (u->pktinfo)
		for (unsigned i = 0; i < RECV_BATCH; i++)
			u->rmsg[i].msg_hdr.msg_controllen = sizeof(u->rctl[i]);
	int n;
	do
		n = recvmmsg(u->fd, u->rmsg, RECV_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0; /* EAGAIN (another worker's wake-up took it) or a transient error */
	VG_STAT_ADD(w, udp_queries, (unsigned)n);
	vg_worker_batch_received(w);
	for (int i = 0; i < n && !w->stopping; i++) {
		struct msghdr *m = &u->rmsg[i].msg_hdr;
		if ((m->msg_flags & MSG_TRUNC) || (m->msg_namelen != sizeof(struct sockaddr_in) &&
						   m->msg_namelen != sizeof(struct sockaddr_in6))) {
			VG_STAT_ADD(w, dropped, 1);
			continue;
		}
		struct vg_reply_to to = {.udp = u, .conn = NULL};
		memcpy(&to.client.u.ss, &u->rfrom[i], m->msg_namelen);
		to.client.len = m->msg_namelen;
		if (u->pktinfo)
			read_dst(m, &to.dst);
		vg_worker_query(w, u->riov[i].iov_base, u->rmsg[i].msg_len, &to);
	}
	return n;
}

/* Answers what is queued now: nothing is held back to make a bigger batch (issue 13: holding
 * reads for 1 ms under load made a client that waits for each answer wait ~0.6 ms per query, and
 * capped a client with 100 queries in flight at ~100 per ms). Batches form by themselves when
 * datagrams arrive faster than they are answered. */
static void on_readable(struct vg_udp *u)
{
	for (unsigned round = 0; round < DRAIN_ROUNDS; round++) {
		int n = receive_batch(u);
		vg_worker_batch_end(u->w); /* the cache snapshot lives for one batch */
		if (n > 0) {
			vg_udp_flush(u); /* this batch's answers leave before the next read */
			vg_worker_batch_sent(u->w);
		}
		if (n < RECV_BATCH || u->nq > 0 || u->stopped)
			return; /* drained, replies stuck (we wait for writability), or stopping */
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct vg_udp *u = h->data;
	if (status < 0) {
		vg_debug("udp poll: %s", uv_strerror(status));
		return;
	}
	if (events & UV_READABLE)
		on_readable(u);
	vg_udp_flush(u);
}

uint8_t *vg_udp_reply_buf(struct vg_udp *u, size_t *cap)
{
	*cap = SLOT_CAP;
	if (u->nq == SEND_SLOTS)
		vg_udp_flush(u);
	if (u->nq == SEND_SLOTS) {
		u->overflow = true; /* socket full and queue full: this reply is dropped */
		return u->slots + (size_t)SEND_SLOTS * SLOT_CAP;
	}
	u->overflow = false;
	return u->slots + (size_t)u->nq * SLOT_CAP;
}

void vg_udp_reply_commit(struct vg_udp *u, const struct vg_reply_to *rt, size_t len)
{
	const struct vg_sockaddr *client = &rt->client;
	if (u->overflow) {
		u->overflow = false;
		VG_STAT_ADD(u->w, send_errors, 1);
		return;
	}
	if (u->closed || len > SLOT_CAP)
		return;
	unsigned i = u->nq++;
	u->to[i] = *client;
	u->iov[i].iov_len = len;
	u->msgs[i].msg_hdr.msg_namelen = client->len;
	if (u->pktinfo) {
		u->from[i] = rt->dst;
		set_source(u, i);
	}
}

/* Moves the waiting replies [qhead, nq) to the front of the queue (rare: after EAGAIN). */
static void compact(struct vg_udp *u)
{
	if (u->qhead == 0)
		return;
	unsigned k = 0;
	for (unsigned i = u->qhead; i < u->nq; i++, k++) {
		memcpy(u->slots + (size_t)k * SLOT_CAP, u->slots + (size_t)i * SLOT_CAP,
		       u->iov[i].iov_len);
		u->iov[k].iov_len = u->iov[i].iov_len;
		u->to[k] = u->to[i];
		u->msgs[k].msg_hdr.msg_namelen = u->msgs[i].msg_hdr.msg_namelen;
		if (u->pktinfo) {
			u->from[k] = u->from[i];
			set_source(u, k);
		}
	}
	u->qhead = 0;
	u->nq = k;
}

void vg_udp_flush(struct vg_udp *u)
{
	if (u->closed)
		return; /* the fd is closed (or soon): it may already be another socket's number */
	while (u->qhead < u->nq) {
		int r = sendmmsg(u->fd, u->msgs + u->qhead, u->nq - u->qhead, MSG_DONTWAIT);
		if (r > 0) {
			u->qhead += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* socket buffer full: wait until it is writable */
		/* this one message failed (e.g. unreachable destination): skip it */
		VG_STAT_ADD(u->w, send_errors, 1);
		u->qhead++;
	}
	if (u->qhead == u->nq)
		u->qhead = u->nq = 0;
	else
		compact(u);
	set_events(u);
}

/* Reads while we can answer; waits for writability while replies are stuck in the queue. */
static void set_events(struct vg_udp *u)
{
	if (u->closed)
		return;
	bool want_write = u->nq > 0;
	if (want_write == u->want_write && !u->stopped)
		return;
	bool reading = !u->stopped && !want_write; /* no room to answer */
	if (!reading && !want_write) {
		uv_poll_stop(&u->h);
		u->want_write = false;
		return;
	}
	u->want_write = want_write;
	int ev = (reading ? UV_READABLE : 0) | (want_write ? UV_WRITABLE : 0);
	uv_poll_start(&u->h, ev, on_poll);
}

static void on_closed(uv_handle_t *h)
{
	struct vg_udp *u = h->data;
	close(u->fd); /* uv_poll_t never owns the fd */
	vg_udp_unref(u);
}

/* A wildcard address gets each datagram's destination (true); a specific one needs none. */
static bool want_pktinfo(int fd, const struct vg_sockaddr *addr)
{
	int one = 1;
	if (addr->u.sa.sa_family == AF_INET6) {
		if (!IN6_IS_ADDR_UNSPECIFIED(&addr->u.sin6.sin6_addr))
			return false;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == 0)
			return true;
	} else {
		if (addr->u.sin.sin_addr.s_addr != htonl(INADDR_ANY))
			return false;
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0)
			return true;
	}
	vg_warn("udp listener on a wildcard address: no IP_PKTINFO (%s); replies may leave from "
		"another address than the client asked",
		strerror(errno));
	return false;
}

int vg_udp_open(struct vg_worker *w, int fd, const struct vg_sockaddr *addr, struct vg_udp **out)
{
	struct vg_udp *u = calloc(1, sizeof(*u));
	if (!u)
		goto nomem;
	u->rbuf = malloc((size_t)RECV_BATCH * RECV_CAP);
	u->slots = malloc((size_t)(SEND_SLOTS + 1) * SLOT_CAP);
	if (!u->rbuf || !u->slots)
		goto nomem;
	u->w = w;
	u->addr = *addr;
	u->fd = fd;
	u->refs = 1;
	u->pktinfo = want_pktinfo(fd, addr);
	for (unsigned i = 0; i < RECV_BATCH; i++) {
		u->riov[i].iov_base = u->rbuf + (size_t)i * RECV_CAP;
		u->riov[i].iov_len = RECV_CAP;
		u->rmsg[i].msg_hdr.msg_name = &u->rfrom[i];
		u->rmsg[i].msg_hdr.msg_iov = &u->riov[i];
		u->rmsg[i].msg_hdr.msg_iovlen = 1;
		if (u->pktinfo)
			u->rmsg[i].msg_hdr.msg_control = u->rctl[i].buf;
	}
	for (unsigned i = 0; i < SEND_SLOTS; i++) {
		u->iov[i].iov_base = u->slots + (size_t)i * SLOT_CAP;
		u->msgs[i].msg_hdr.msg_name = &u->to[i].u.sa;
		u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
		u->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	int rc = uv_poll_init_socket(&w->loop, &u->h, fd);
	if (rc < 0) {
		vg_err("udp listener: %s", uv_strerror(rc));
		close(fd);
		vg_udp_unref(u);
		return VG_ELIBUV;
	}
	u->h.data = u;
	uv_poll_start(&u->h, UV_READABLE, on_poll);
	*out = u;
	return 0;
nomem:
	if (u) {
		free(u->rbuf);
		free(u->slots);
	}
	free(u);
	close(fd);
	return -ENOMEM;
}

void vg_udp_stop(struct vg_udp *u)
{
	u->stopped = true;
	u->want_write = !u->want_write; /* force set_events to apply the new mask */
	set_events(u);
}

void vg_udp_close(struct vg_udp *u)
{
	if (u->closed)
		return;
	vg_udp_flush(u);
	/* what the socket would not take now is dropped: a closed listener never sends again, and
	 * a late answer's vg_udp_reply_buf must not find a full queue to flush */
	if (u->nq > u->qhead)
		VG_STAT_ADD(u->w, send_errors, u->nq - u->qhead);
	u->qhead = u->nq = 0;
	u->closed = true;
	uv_close((uv_handle_t *)&u->h, on_closed);
}
