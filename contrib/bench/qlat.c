/* One-query-in-flight latency client for contrib/bench/frontend.sh: sends a query, waits for its
 * answer, sends the next one at once. Names host<i>.bench.lan A, i cycling over 1..NAMES.
 * Reports the mean, median and 99th percentile of the answer times in microseconds.
 *
 *   qlat ADDR PORT QUERIES MAX_SECONDS [NAMES]
 *
 * Bounded in count and time: stops after QUERIES queries or MAX_SECONDS, whichever comes first; a
 * query unanswered for 1 s is counted as lost and the next one is sent. Output, one line:
 *   answered N lost L mean_us M p50_us P p99_us Q */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "bench_udp.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static size_t make_query(uint8_t *q, uint16_t id, unsigned host)
{
	size_t n = 0;
	q[n++] = (uint8_t)(id >> 8);
	q[n++] = (uint8_t)id;
	q[n++] = 0x01; /* RD */
	q[n++] = 0;
	memcpy(q + n, "\0\1\0\0\0\0\0\0", 8);
	n += 8;
	char label[16];
	int l = snprintf(label, sizeof(label), "host%u", host);
	q[n++] = (uint8_t)l;
	memcpy(q + n, label, (size_t)l);
	n += (size_t)l;
	memcpy(q + n, "\5bench\3lan\0\0\1\0\1", 15);
	return n + 15;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: qlat ADDR PORT QUERIES MAX_SECONDS [NAMES]\n");
		return 2;
	}
	long total = atol(argv[3]);
	double max_us = atof(argv[4]) * 1e6;
	unsigned names = argc > 5 ? (unsigned)atoi(argv[5]) : 100;
	if (total <= 0 || names == 0) {
		fprintf(stderr, "qlat: QUERIES and NAMES must be positive\n");
		return 2;
	}
	int fd = bench_udp_socket("qlat", argv[1], argv[2], false);
	if (fd < 0)
		return 1;
	double *lat = malloc((size_t)total * sizeof(*lat));
	if (!lat)
		return 1;
	long answered = 0, lost = 0;
	double start = now_us();
	for (long i = 0; i < total && now_us() - start < max_us; i++) {
		uint8_t q[64], a[512];
		uint16_t id = (uint16_t)(i * 7919 + 1);
		size_t qn = make_query(q, id, (unsigned)(i % names) + 1);
		double t0 = now_us();
		if (send(fd, q, qn, 0) < 0) {
			perror("qlat: send");
			return 1;
		}
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int left = 1000 - (int)((now_us() - t0) / 1000);
			if (left <= 0 || poll(&p, 1, left) == 0) {
				lost++;
				break;
			}
			ssize_t n = recv(fd, a, sizeof(a), MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n >= 12 && a[0] == q[0] && a[1] == q[1]) {
				lat[answered++] = now_us() - t0;
				break;
			}
		}
	}
	if (answered == 0) {
		printf("answered 0 lost %ld mean_us 0 p50_us 0 p99_us 0\n", lost);
		return 1;
	}
	double sum = 0;
	for (long i = 0; i < answered; i++)
		sum += lat[i];
	qsort(lat, (size_t)answered, sizeof(*lat), cmp_double);
	printf("answered %ld lost %ld mean_us %.1f p50_us %.1f p99_us %.1f\n", answered, lost,
	       sum / (double)answered, lat[answered / 2], lat[(answered * 99) / 100]);
	free(lat);
	return 0;
}
