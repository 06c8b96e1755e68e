/* TCP listener and connections of one worker: 2-byte framing, pipelined queries answered out of
 * order as each completes (RFC 7766), idle timeout, per-worker connection limit, and bounds on
 * what one client may hold (buffered bytes, queries in flight, unread answers). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vigil/err.h>
#include "daemon.h"

#define TCP_MAX_INFLIGHT 64	    /* pipelined queries waiting for the resolver */
#define TCP_MAX_UNSENT (256 * 1024) /* answer bytes queued to a slow reader */
#define TCP_RBUF_INIT 1024
#define TCP_RBUF_MAX (2 + 65535)
#define TCP_STOP_LINGER_MS 1000 /* at stop, how long unread answers may wait */

struct vg_tcp_listener {
	uv_tcp_t h;
	struct vg_worker *w;
	struct vg_sockaddr addr;
};

struct vg_tcp_conn {
	uv_tcp_t h;
	uv_timer_t idle;
	struct vg_worker *w;
	struct vg_tcp_conn *prev, *next; /* worker's list, least recently active first */
	int refs; /* 1 until both handles closed + requests in flight + writes queued */
	int handles_open;
	unsigned inflight; /* queries handed to the resolver */
	size_t unsent;	   /* bytes in queued writes */
	bool closing, reading, eof, in_frames;
	struct vg_sockaddr peer;
	uint8_t *rbuf;
	size_t rlen, rcap;
};

struct tcp_write {
	uv_write_t req;
	struct vg_tcp_conn *c;
	size_t len;
	uint8_t data[];
};

static void process_frames(struct vg_tcp_conn *c);

const struct vg_sockaddr *vg_tcp_listener_addr(const struct vg_tcp_listener *l)
{
	return &l->addr;
}

static void conn_unref(struct vg_tcp_conn *c)
{
	if (--c->refs > 0)
		return;
	free(c->rbuf);
	free(c);
}

static void list_remove(struct vg_worker *w, struct vg_tcp_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conn_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		w->conn_tail = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct vg_worker *w, struct vg_tcp_conn *c)
{
	c->prev = w->conn_tail;
	c->next = NULL;
	if (w->conn_tail)
		w->conn_tail->next = c;
	else
		w->conn_head = c;
	w->conn_tail = c;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct vg_tcp_conn *c = h->data;
	if (--c->handles_open == 0)
		conn_unref(c);
}

static void conn_close(struct vg_tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	list_remove(c->w, c);
	c->w->n_conns--;
	uv_close((uv_handle_t *)&c->h, on_handle_closed);
	uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

/* A query completed or an answer was written: the client is active. */
static void touch(struct vg_tcp_conn *c)
{
	if (c->closing)
		return;
	list_remove(c->w, c);
	list_append(c->w, c);
	uv_timer_again(&c->idle);
}

static bool finished(const struct vg_tcp_conn *c)
{
	return (c->eof || c->w->stopping) && c->inflight == 0 && c->unsent == 0;
}

static void on_idle(uv_timer_t *t)
{
	struct vg_tcp_conn *c = t->data;
	if (c->inflight > 0 && !c->w->stopping)
		return; /* waiting for our own answers is not the client idling (timer repeats) */
	VG_STAT_ADD(c->w, tcp_idle_closed, 1);
	conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct vg_tcp_conn *c = h->data;
	if (c->rlen == c->rcap && c->rcap < TCP_RBUF_MAX) {
		uint8_t *n = realloc(c->rbuf, TCP_RBUF_MAX);
		if (n) {
			c->rbuf = n;
			c->rcap = TCP_RBUF_MAX;
		}
	}
	buf->base = (char *)c->rbuf + c->rlen;
	buf->len = c->rcap - c->rlen;
}

static void update_reading(struct vg_tcp_conn *c);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct vg_tcp_conn *c = s->data;
	if (nread < 0) {
		/* EOF or error: a frame cut short is discarded, answers in flight still go out */
		c->eof = true;
		uv_read_stop(s);
		c->reading = false;
		if (nread != UV_EOF || finished(c))
			conn_close(c);
		return;
	}
	c->rlen += (size_t)nread;
	process_frames(c);
}

/* Answers every complete frame in the buffer, within the per-connection bounds. */
static void process_frames(struct vg_tcp_conn *c)
{
	if (c->in_frames || c->closing)
		return;
	c->in_frames = true; /* a synchronous answer must not re-enter this loop */
	size_t off = 0;
	/* times its answers as a batch, unless called inside another (a UDP batch's resolver
	 * callback finishing a request of this connection) */
	bool own_batch = !c->w->batch_ns && c->rlen >= 2;
	if (own_batch)
		vg_worker_batch_received(c->w);
	while (!c->closing && c->rlen - off >= 2 && c->inflight < TCP_MAX_INFLIGHT &&
	       c->unsent < TCP_MAX_UNSENT) {
		size_t len = vg_get_u16(c->rbuf + off);
		if (len == 0) {
			/* no DNS message is empty: the framing is broken, nothing after it is safe
			 */
			VG_STAT_ADD(c->w, tcp_bad_frame, 1);
			conn_close(c);
			break;
		}
		if (c->rlen - off < 2 + len) {
			if (c->rcap < 2 + len) {
				uint8_t *n = realloc(c->rbuf, TCP_RBUF_MAX);
				if (!n) {
					conn_close(c);
					break;
				}
				c->rbuf = n;
				c->rcap = TCP_RBUF_MAX;
			}
			break;
		}
		VG_STAT_ADD(c->w, tcp_queries, 1);
		struct vg_reply_to to = {.udp = NULL, .conn = c, .client = c->peer};
		vg_worker_query(c->w, c->rbuf + off + 2, len, &to);
		off += 2 + len;
		touch(c);
	}
	if (off > 0 && !c->closing) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	c->in_frames = false;
	if (own_batch)
		vg_worker_batch_sent(c->w); /* the answers are queued on the socket */
	update_reading(c);
}

/* Reads only while the client stays inside its bounds; a stuck reader stops being read. */
static void update_reading(struct vg_tcp_conn *c)
{
	if (c->closing)
		return;
	bool want = !c->eof && !c->w->stopping && c->inflight < TCP_MAX_INFLIGHT &&
		    c->unsent < TCP_MAX_UNSENT;
	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) == 0)
			c->reading = true;
		process_frames(c); /* frames that arrived while we were not reading */
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->h);
		c->reading = false;
	}
	if (finished(c))
		conn_close(c);
}

static void on_write(uv_write_t *req, int status)
{
	struct tcp_write *tw = (struct tcp_write *)req;
	struct vg_tcp_conn *c = tw->c;
	c->unsent -= tw->len;
	free(tw);
	if (status < 0) {
		if (status != UV_ECANCELED)
			VG_STAT_ADD(c->w, send_errors, 1);
		conn_close(c);
	} else {
		touch(c);
		update_reading(c);
	}
	conn_unref(c);
}

void vg_tcp_send(struct vg_tcp_conn *c, const uint8_t *msg, size_t len)
{
	if (c->closing || len > 65535)
		return;
	uint8_t hdr[2];
	vg_put_u16(hdr, (uint16_t)len);
	size_t done = 0, total = len + 2;
	if (c->unsent == 0) {
		/* nothing queued: try to write at once, without copying */
		uv_buf_t bufs[2] = {uv_buf_init((char *)hdr, 2),
				    uv_buf_init((char *)msg, (unsigned)len)};
		int n = uv_try_write((uv_stream_t *)&c->h, bufs, 2);
		if (n > 0)
			done = (size_t)n;
		else if (n != UV_EAGAIN) {
			conn_close(c);
			return;
		}
		if (done == total)
			return;
	}
	size_t rest = total - done;
	struct tcp_write *tw = malloc(sizeof(*tw) + rest);
	if (!tw) {
		conn_close(c);
		return;
	}
	tw->c = c;
	tw->len = rest;
	size_t i = 0;
	if (done < 2) {
		memcpy(tw->data, hdr + done, 2 - done);
		i = 2 - done;
		done = 2;
	}
	memcpy(tw->data + i, msg + (done - 2), len - (done - 2));
	uv_buf_t b = uv_buf_init((char *)tw->data, (unsigned)rest);
	if (uv_write(&tw->req, (uv_stream_t *)&c->h, &b, 1, on_write) < 0) {
		free(tw);
		conn_close(c);
		return;
	}
	c->refs++;
	c->unsent += rest;
	update_reading(c);
}

void vg_tcp_conn_ref(struct vg_tcp_conn *c)
{
	c->refs++;
	c->inflight++;
}

void vg_tcp_conn_done(struct vg_tcp_conn *c)
{
	c->inflight--;
	if (!c->closing) {
		touch(c);
		update_reading(c);
	}
	conn_unref(c);
}

/* Over the limit: close the least recently active idle connection, or refuse the new one. */
static bool make_room(struct vg_worker *w)
{
	for (struct vg_tcp_conn *c = w->conn_head; c; c = c->next) {
		if (c->inflight == 0 && c->unsent == 0) {
			VG_STAT_ADD(w, tcp_evicted, 1);
			conn_close(c);
			return true;
		}
	}
	return false;
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct vg_tcp_listener *l = server->data;
	struct vg_worker *w = l->w;
	if (status < 0 || w->stopping)
		return;
	if (w->n_conns >= w->policy->cfg.tcp_max_clients && !make_room(w)) {
		uv_tcp_t *t = malloc(sizeof(*t));
		if (!t)
			return;
		uv_tcp_init(&w->loop, t);
		uv_accept(server, (uv_stream_t *)t);
		uv_close((uv_handle_t *)t, free_handle);
		VG_STAT_ADD(w, tcp_refused, 1);
		return;
	}
	struct vg_tcp_conn *c = calloc(1, sizeof(*c));
	if (!c || !(c->rbuf = malloc(TCP_RBUF_INIT))) {
		free(c);
		return;
	}
	c->rcap = TCP_RBUF_INIT;
	c->w = w;
	c->refs = 1;
	c->handles_open = 2;
	uv_tcp_init(&w->loop, &c->h);
	uv_timer_init(&w->loop, &c->idle);
	c->h.data = c;
	c->idle.data = c;
	list_append(w, c);
	w->n_conns++;
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0) {
		conn_close(c);
		return;
	}
	int nl = sizeof(c->peer.u.ss);
	uv_tcp_getpeername(&c->h, &c->peer.u.sa, &nl);
	c->peer.len = (socklen_t)nl;
	uv_tcp_nodelay(&c->h, 1);
	uint64_t idle = w->policy->cfg.tcp_idle_timeout_ms;
	uv_timer_start(&c->idle, on_idle, idle, idle);
	VG_STAT_ADD(w, tcp_accepted, 1);
	update_reading(c);
}

int vg_tcp_listen(struct vg_worker *w, int fd, const struct vg_sockaddr *addr,
		  struct vg_tcp_listener **out)
{
	struct vg_tcp_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	l->w = w;
	l->addr = *addr;
	uv_tcp_init(&w->loop, &l->h);
	l->h.data = l;
	int rc = uv_tcp_open(&l->h, fd);
	if (rc < 0)
		close(fd); /* not the handle's yet: uv_close below would not close it */
	else
		rc = uv_listen((uv_stream_t *)&l->h, 256, on_connection);
	if (rc < 0) {
		vg_err("tcp listener: %s", uv_strerror(rc));
		uv_close((uv_handle_t *)&l->h, free_handle);
		return VG_ELIBUV;
	}
	*out = l;
	return 0;
}

void vg_tcp_listener_close(struct vg_tcp_listener *l)
{
	uv_close((uv_handle_t *)&l->h, free_handle);
}

void vg_tcp_close_all(struct vg_worker *w)
{
	struct vg_tcp_conn *c = w->conn_head;
	while (c) {
		struct vg_tcp_conn *next = c->next;
		if (c->unsent == 0 && c->inflight == 0) {
			conn_close(c);
		} else {
			/* let queued answers drain briefly; a client that does not read is cut off
			 */
			uv_read_stop((uv_stream_t *)&c->h);
			c->reading = false;
			uv_timer_start(&c->idle, on_idle, TCP_STOP_LINGER_MS, 0);
		}
		c = next;
	}
}
