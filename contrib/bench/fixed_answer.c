/* Fixed-answer UDP DNS server for contrib/bench/frontend.sh: the floor a real server is compared
 * with. One thread, blocking recvmmsg (MSG_WAITFORONE: sleeps for the first datagram, then takes
 * whatever else is queued) and one sendmmsg per batch; every query gets its own question back with
 * one A record (10.0.0.1, TTL 300). No parsing beyond finding the end of the question.
 *
 *   fixed_answer ADDR PORT [MAX_SECONDS]     (exits after MAX_SECONDS, default 3600, or on SIGTERM)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bench_udp.h"

#define BATCH 64
#define QCAP 512
#define ACAP (QCAP + 16)

static const uint8_t answer_rr[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 10, 0, 0, 1};

/* Writes the reply to q (len bytes) into a; returns its length, or 0 to drop the query. */
static size_t make_reply(const uint8_t *q, size_t len, uint8_t *a)
{
	if (len < 12 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
		return 0;
	size_t off = 12;
	while (off < len && q[off] != 0) {
		if (q[off] > 63)
			return 0;
		off += (size_t)q[off] + 1;
	}
	off += 5; /* root label, type, class */
	if (off > len)
		return 0;
	memcpy(a, q, off);
	a[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode and RD kept */
	a[3] = 0x80;				/* RA, NOERROR */
	memset(a + 6, 0, 6);
	a[7] = 1; /* ANCOUNT */
	memcpy(a + off, answer_rr, sizeof(answer_rr));
	return off + sizeof(answer_rr);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fixed_answer ADDR PORT [MAX_SECONDS]\n");
		return 2;
	}
	int fd = bench_udp_socket("fixed_answer", argv[1], argv[2], true);
	if (fd < 0)
		return 1;
	alarm(argc > 3 ? (unsigned)atoi(argv[3])
		       : 3600); /* a forgotten server does not run forever */

	static uint8_t qbuf[BATCH][QCAP], abuf[BATCH][ACAP];
	static struct sockaddr_in from[BATCH];
	static struct iovec qiov[BATCH], aiov[BATCH];
	static struct mmsghdr qmsg[BATCH], amsg[BATCH];
	for (int i = 0; i < BATCH; i++) {
		qiov[i] = (struct iovec){.iov_base = qbuf[i], .iov_len = QCAP};
		qmsg[i].msg_hdr = (struct msghdr){.msg_iov = &qiov[i], .msg_iovlen = 1};
		aiov[i].iov_base = abuf[i];
		amsg[i].msg_hdr = (struct msghdr){.msg_iov = &aiov[i], .msg_iovlen = 1};
	}
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			qmsg[i].msg_hdr.msg_name = &from[i];
			qmsg[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		int n = recvmmsg(fd, qmsg, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("fixed_answer: recvmmsg");
			return 1;
		}
		int k = 0;
		for (int i = 0; i < n; i++) {
			size_t len = make_reply(qbuf[i], qmsg[i].msg_len, abuf[k]);
			if (!len)
				continue;
			aiov[k].iov_len = len;
			amsg[k].msg_hdr.msg_name = &from[i];
			amsg[k].msg_hdr.msg_namelen = qmsg[i].msg_hdr.msg_namelen;
			k++;
		}
		for (int sent = 0; sent < k;) {
			int r = sendmmsg(fd, amsg + sent, (unsigned)(k - sent), 0);
			if (r < 0 && errno == EINTR)
				continue;
			sent += r > 0 ? r : 1; /* a failed message is skipped */
		}
	}
}
