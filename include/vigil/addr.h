/* Socket addresses and CIDR prefixes: parsing, printing, matching (base library, libc only;
 * implemented in resolver/base/addr.c). */
#ifndef VIGIL_ADDR_H
#define VIGIL_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address with port, IPv4 or IPv6 (sockaddr_in or sockaddr_in6 inside). */
struct vg_sockaddr {
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
		struct sockaddr_storage ss;
	} u;
	socklen_t len;
};

/* A CIDR prefix for allow/deny. family AF_INET or AF_INET6, addr in network order. */
struct vg_cidr {
	int family;
	uint8_t addr[16];
	uint8_t prefix; /* bits */
};

/* Parses "ADDR" or "ADDR@PORT" (IPv4 or IPv6) with `defport`. Returns 0 or VG_EFORMAT. */
int vg_sockaddr_parse(const char *s, uint16_t defport, struct vg_sockaddr *out);

/* Formats as "ADDR@PORT" into buf. */
const char *vg_sockaddr_str(const struct vg_sockaddr *a, char *buf, size_t cap);

/* True when a and b are the same family, address and port (AF_INET or AF_INET6; IPv6 scope and
 * flow label ignored). Pure, thread-safe. */
bool vg_sockaddr_eq(const struct vg_sockaddr *a, const struct vg_sockaddr *b);

/* Parses "ADDR/BITS" (or a bare address = host prefix). Returns 0 or VG_EFORMAT. */
int vg_cidr_parse(const char *s, struct vg_cidr *out);

/* True if `sa` (AF_INET or AF_INET6, v4-mapped v6 treated as v4) falls in `c`. */
bool vg_cidr_match(const struct vg_cidr *c, const struct sockaddr *sa);

#endif
