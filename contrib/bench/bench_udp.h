/* A UDP socket on ADDR PORT for the bench helpers (fixed_answer.c, qlat.c): bound for a server,
 * connected for a client. Header-only: each helper is one file and links nothing. */
#ifndef VIGIL_BENCH_UDP_H
#define VIGIL_BENCH_UDP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Returns the socket, or -1 after a message on stderr naming prog. */
static inline int bench_udp_socket(const char *prog, const char *addr, const char *port,
				   bool bind_it)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "%s: bad IPv4 address %s\n", prog, addr);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || (bind_it ? bind(fd, (struct sockaddr *)&sa, sizeof(sa))
			       : connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0) {
		fprintf(stderr, "%s: socket on %s@%s: %s\n", prog, addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

#endif
