/* The daemon's libuv transport behind the ops table of include/vigil/upstream.h (daemon/upstream.c,
 * library vg_upstream_dep): private to the daemon, so the resolver and tests see only the table. */
#ifndef VIGIL_DAEMON_UPSTREAM_H
#define VIGIL_DAEMON_UPSTREAM_H

#include <vigil/resolver.h>
#include <vigil/upstream.h>

struct uv_loop_s;

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
