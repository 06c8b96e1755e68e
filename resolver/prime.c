/* Root priming (RFC 8109) and the root hints it starts from (hints.c parses them). */
#include <stdlib.h>
#include <vigil/err.h>
#include <vigil/file.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil/roothints.h>
#include "iter.h"

/* Priming never holds a query back: a question that arrives meanwhile iterates from the hints'
 * addresses. A failed priming is tried again by the first question after a short wait that
 * doubles per failure (1 s .. 60 s), so a resolver started before its network (or its lab) was
 * up primes within a second of the roots answering. */
void vg_prime_maybe(struct vg_resolver *r)
{
	if (r->priming || r->opts.n_forward)
		return;
	if (r->primed_until && r->up->ops->wall_now(r->up) < r->primed_until)
		return;
	if (r->prime_retry_at && r->up->ops->now_ms(r->up) < r->prime_retry_at)
		return;
	vg_req_start_background(r, (const uint8_t *)"", VG_TYPE_NS, true);
}

/* The priming request ended: back off after a failure, start over after a success. */
void vg_prime_done(struct vg_resolver *r, bool ok)
{
	r->priming = false;
	if (ok) {
		r->prime_backoff_ms = 0;
		r->prime_retry_at = 0;
		return;
	}
	uint32_t wait = r->prime_backoff_ms ? r->prime_backoff_ms : VG_PRIME_RETRY_MIN_MS;
	r->prime_retry_at = r->up->ops->now_ms(r->up) + wait;
	r->prime_backoff_ms = wait * 2 > VG_PRIME_RETRY_MAX_MS ? VG_PRIME_RETRY_MAX_MS : wait * 2;
	vg_info("resolver %d: root priming failed, next try in %u ms at the earliest", r->worker_id,
		wait);
}

/* Reads the root hints (root-hints file, text read by the config loader, or built in). */
int vg_prime_load_hints(struct vg_resolver *r)
{
	const char *text = vg_builtin_root_hints;
	char *buf = NULL;
	if (r->opts.root_hints_text) {
		/* read by the config loader before the privilege drop */
		text = r->opts.root_hints_text;
	} else if (r->opts.root_hints && r->opts.root_hints[0]) {
		size_t n;
		int rc = vg_file_read(r->opts.root_hints, VG_ROOT_HINTS_MAX, &buf, &n);
		if (rc < 0) {
			vg_err("resolver: cannot read root-hints %s", r->opts.root_hints);
			return rc;
		}
		text = buf;
	}
	int n = vg_roothints_parse(text, r->hints, VG_MAX_HINTS);
	free(buf);
	if (n < 0) {
		vg_err("resolver: no root server address in %s",
		       r->opts.root_hints ? r->opts.root_hints : "the built-in root hints");
		return n;
	}
	r->n_hints = (size_t)n;
	return 0;
}
