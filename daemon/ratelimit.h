/* Per-client limits: the token-bucket rate limiter, one table per worker thread (issue 2), and
 * the count of queries a client has waiting for the resolver, one table for all workers. */
#ifndef VIGIL_DAEMON_RATELIMIT_H
#define VIGIL_DAEMON_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum vg_rl_verdict {
	VG_RL_PASS = 0, /* answer normally */
	VG_RL_DROP = 1, /* over the limit: send nothing */
	VG_RL_SLIP = 2, /* over the limit: send a minimal reply with TC=1 (no answer records) so a
			 * real client retries over TCP, which a spoofed source cannot do */
};

struct vg_rl_slot;

/* One worker's table. Fields are private to ratelimit.c; the struct is public so that a worker
 * can embed it. Not thread-safe: each worker owns its own table (no locks on the query path). */
struct vg_ratelimit {
	uint32_t rate;  /* tokens per second, 0 = limiter off */
	uint32_t burst; /* bucket size in tokens */
	size_t mask;    /* slots - 1 (slots is a power of two) */
	struct vg_rl_slot *slots;
	uint64_t seed[2]; /* random hash key: an attacker cannot aim sources at one slot */
};

/* Prepares `rl`: `rate` queries/s per client (0 = every query passes and no memory is taken),
 * `burst` bucket size (0 = same as rate), `slots` table size (rounded up to a power of two,
 * at least 64; 0 = default 65536). Memory is fixed: slots * 40 bytes. Returns 0 or -ENOMEM. */
int vg_ratelimit_init(struct vg_ratelimit *rl, uint32_t rate, uint32_t burst, size_t slots);

/* Charges one query of client `sa` at monotonic time `now_ms` and says what to do with it.
 * Clients are bucketed by IPv4 address, or by IPv6 /56 prefix (one home/site allocation);
 * v4-mapped IPv6 counts as IPv4. Each slot holds one client; a new client whose slot is taken by
 * another evicts it (it starts with a full bucket), so memory stays bounded under a flood of
 * sources. Of the queries over the limit, every second one is VG_RL_SLIP, the others VG_RL_DROP. */
enum vg_rl_verdict vg_ratelimit_check(struct vg_ratelimit *rl, const struct sockaddr *sa,
				      uint64_t now_ms);

/* Frees the table; `rl` may be initialised again. */
void vg_ratelimit_free(struct vg_ratelimit *rl);

/* Queries waiting for the resolver per client (max-pending-per-client), shared by every worker:
 * a fixed array of atomic counters indexed by the keyed hash of the client (bucketed as by the
 * rate limiter: IPv4 address, IPv6 /56). Two clients whose keys land in one counter share it;
 * that only makes the limit stricter for both, and the random key keeps an attacker from
 * choosing whom he shares with. Memory is fixed: slots * 4 bytes. Thread-safe (relaxed atomics,
 * no locks). */
struct vg_pending;

/* Creates a table of `slots` counters (rounded up to a power of two, at least 64; 0 = default
 * 65536). Returns 0 and *out (free with vg_pending_free) or -ENOMEM. */
int vg_pending_new(size_t slots, struct vg_pending **out);

/* Counts one more query of `sa` if its count is below `limit`: returns the counter's index (pass
 * it to vg_pending_release when the query is answered), or -1 when the client already has
 * `limit` queries waiting (nothing counted). limit 0 = no limit: returns -2 and counts nothing
 * (releasing -2 does nothing). Families other than AF_INET/AF_INET6 are not counted (-2). */
long vg_pending_take(struct vg_pending *p, const struct sockaddr *sa, uint32_t limit);

/* Ends one query counted by vg_pending_take (`slot` < 0 is ignored). */
void vg_pending_release(struct vg_pending *p, long slot);

/* The current count for `sa` (tests and diagnostics). */
uint32_t vg_pending_count(const struct vg_pending *p, const struct sockaddr *sa);

void vg_pending_free(struct vg_pending *p);

#endif
