/* The daemon's libuv transport behind the ops table of include/vigil/upstream.h (daemon/upstream.c,
 * library vg_upstream_dep): private to the daemon, so the resolver and tests see only the table. */
#ifndef VIGIL_DAEMON_UPSTREAM_H
#define VIGIL_DAEMON_UPSTREAM_H

#include <vigil/resolver.h>
#include <vigil/upstream.h>

struct uv_loop_s;

/* What the transport does with a message that arrived for a query in flight (from the server's
 * address and port: connected sockets leave the rest to the kernel). */
enum vg_upstream_offer {
	VG_OFFER_ACCEPT = 0, /* the reply: the query ends with VG_UP_REPLY and this message */
	VG_OFFER_IGNORE = 1, /* unsolicited: counted and reported; the query keeps waiting */
	VG_OFFER_CASE = 2,   /* UDP, question differs only in case: reported as unwanted, then the
			      * query ends with VG_UP_CASE */
};

/* The transport's rule for one message `msg` offered to the query `query` (sent over TCP when
 * `tcp`): vg_upstream_match, with a case-only difference accepted over TCP. The match verdict
 * goes to *why when not NULL. Pure function, thread-safe; the fuzz target fuzz_upstream drives
 * the resolver through it. */
enum vg_upstream_offer vg_upstream_judge(const uint8_t *query, size_t qlen, bool tcp,
					 const uint8_t *msg, size_t len,
					 enum vg_upstream_match *why);

/* Creates the transport for one worker on `loop`: fresh connected UDP socket per query (kernel-
 * chosen random source port), TCP on request, at most opts->max_upstream_sockets open at once (0:
 * no cap), source address from opts->addr.outgoing (per family), IDs and case from getrandom().
 * `opts` is copied; the outgoing array it points to is borrowed and must outlive the transport.
 * Returns 0 and *out or a negative code. Loop thread only. */
int vg_upstream_new(struct uv_loop_s *loop, const struct vg_resolver_opts *opts, int worker_id,
		    struct vg_upstream **out);

/* Cancels every query and timer (no callbacks) and frees the transport once libuv has closed its
 * handles; the loop must run afterwards (uv_run) for the memory to be released. */
void vg_upstream_close(struct vg_upstream *up);

#endif
