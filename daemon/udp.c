/* UDP listener of one worker: batched receive (libuv recvmmsg mode) and replies queued per loop
 * pass and sent with one sendmmsg on the socket (uv_udp_send only when the kernel says EAGAIN). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vigil/err.h>
#include "daemon.h"

/* libuv 1.44 hands recvmmsg one 64 KiB chunk per datagram and at most 20 chunks per call. */
#define RECV_CHUNK (64 * 1024)
#define RECV_CHUNKS 20
#define SLOT_CAP 4096 /* largest UDP answer we send: edns-buffer-size is at most 4096 */
#define SEND_SLOTS 64 /* replies queued before a flush is forced */

struct vg_udp {
	uv_udp_t h;
	struct vg_worker *w;
	struct vg_sockaddr addr;
	int fd;
	int refs; /* 1 while open + one per request waiting for the resolver + fallback sends */
	bool closed;
	uint8_t *rbuf;
	unsigned nq;
	struct mmsghdr msgs[SEND_SLOTS];
	struct iovec iov[SEND_SLOTS];
	struct vg_sockaddr to[SEND_SLOTS];
	uint8_t *slots; /* SEND_SLOTS * SLOT_CAP */
};

/* A reply the kernel could not take at once, sent through libuv instead. */
struct fallback_send {
	uv_udp_send_t req;
	struct vg_udp *u;
	size_t len;
	uint8_t data[];
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

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct vg_udp *u = h->data;
	buf->base = (char *)u->rbuf;
	buf->len = RECV_CHUNK * RECV_CHUNKS;
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned flags)
{
	struct vg_udp *u = h->data;
	if (flags & UV_UDP_MMSG_FREE)
		return; /* the receive buffer is ours and reused */
	if (nread < 0) {
		vg_debug("udp receive: %s", uv_strerror((int)nread));
		return;
	}
	if (!addr || u->closed || u->w->stopping)
		return;
	struct vg_worker *w = u->w;
	VG_STAT_ADD(w, udp_queries, 1);
	if (flags & UV_UDP_PARTIAL) {
		VG_STAT_ADD(w, dropped, 1);
		return;
	}
	struct vg_reply_to to = {.udp = u, .conn = NULL};
	if (addr->sa_family == AF_INET) {
		memcpy(&to.client.u.sin, addr, sizeof(struct sockaddr_in));
		to.client.len = sizeof(struct sockaddr_in);
	} else {
		memcpy(&to.client.u.sin6, addr, sizeof(struct sockaddr_in6));
		to.client.len = sizeof(struct sockaddr_in6);
	}
	vg_worker_query(w, (const uint8_t *)buf->base, (size_t)nread, &to);
}

uint8_t *vg_udp_reply_buf(struct vg_udp *u, size_t *cap)
{
	if (u->nq == SEND_SLOTS)
		vg_udp_flush(u);
	*cap = SLOT_CAP;
	return u->slots + (size_t)u->nq * SLOT_CAP;
}

void vg_udp_reply_commit(struct vg_udp *u, const struct vg_sockaddr *client, size_t len)
{
	if (u->closed || len > SLOT_CAP)
		return;
	unsigned i = u->nq++;
	u->to[i] = *client;
	u->iov[i].iov_base = u->slots + (size_t)i * SLOT_CAP;
	u->iov[i].iov_len = len;
	memset(&u->msgs[i], 0, sizeof(u->msgs[i]));
	u->msgs[i].msg_hdr.msg_name = &u->to[i].u.sa;
	u->msgs[i].msg_hdr.msg_namelen = client->len;
	u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
	u->msgs[i].msg_hdr.msg_iovlen = 1;
}

static void on_fallback_sent(uv_udp_send_t *req, int status)
{
	struct fallback_send *fs = (struct fallback_send *)req;
	if (status < 0 && status != UV_ECANCELED)
		VG_STAT_ADD(fs->u->w, send_errors, 1);
	vg_udp_unref(fs->u);
	free(fs);
}

static void send_fallback(struct vg_udp *u, unsigned i)
{
	struct fallback_send *fs = malloc(sizeof(*fs) + u->iov[i].iov_len);
	if (!fs || u->closed) {
		free(fs);
		VG_STAT_ADD(u->w, send_errors, 1);
		return;
	}
	fs->u = u;
	fs->len = u->iov[i].iov_len;
	memcpy(fs->data, u->iov[i].iov_base, fs->len);
	uv_buf_t b = uv_buf_init((char *)fs->data, (unsigned)fs->len);
	if (uv_udp_send(&fs->req, &u->h, &b, 1, &u->to[i].u.sa, on_fallback_sent) < 0) {
		VG_STAT_ADD(u->w, send_errors, 1);
		free(fs);
		return;
	}
	u->refs++;
}

void vg_udp_flush(struct vg_udp *u)
{
	unsigned i = 0;
	while (i < u->nq) {
		int r = sendmmsg(u->fd, u->msgs + i, u->nq - i, 0);
		if (r > 0) {
			i += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* socket buffer full: let libuv wait for writability */
			for (; i < u->nq; i++)
				send_fallback(u, i);
			break;
		}
		/* this one message failed (e.g. unreachable destination): skip it */
		VG_STAT_ADD(u->w, send_errors, 1);
		i++;
	}
	u->nq = 0;
}

static void on_closed(uv_handle_t *h)
{
	vg_udp_unref(h->data);
}

int vg_udp_open(struct vg_worker *w, int fd, const struct vg_sockaddr *addr, struct vg_udp **out)
{
	struct vg_udp *u = calloc(1, sizeof(*u));
	if (!u)
		goto nomem;
	u->rbuf = malloc(RECV_CHUNK * RECV_CHUNKS);
	u->slots = malloc((size_t)SEND_SLOTS * SLOT_CAP);
	if (!u->rbuf || !u->slots)
		goto nomem;
	u->w = w;
	u->addr = *addr;
	u->fd = fd;
	u->refs = 1;
	int rc = uv_udp_init_ex(&w->loop, &u->h, AF_UNSPEC | UV_UDP_RECVMMSG);
	if (rc < 0)
		goto uverr;
	u->h.data = u;
	if ((rc = uv_udp_open(&u->h, fd)) < 0 ||
	    (rc = uv_udp_recv_start(&u->h, on_alloc, on_recv)) < 0) {
		uv_close((uv_handle_t *)&u->h, on_closed);
		vg_err("udp listener: %s", uv_strerror(rc));
		return VG_ELIBUV;
	}
	*out = u;
	return 0;
uverr:
	vg_err("udp listener: %s", uv_strerror(rc));
	close(fd);
	vg_udp_unref(u);
	return VG_ELIBUV;
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
	uv_udp_recv_stop(&u->h);
}

void vg_udp_close(struct vg_udp *u)
{
	if (u->closed)
		return;
	vg_udp_flush(u);
	u->closed = true;
	uv_close((uv_handle_t *)&u->h, on_closed);
}
