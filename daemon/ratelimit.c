/* Per-client limits in fixed, randomly keyed hash tables: the token bucket (one table per worker,
 * no locks) and the count of queries waiting for the resolver (one table of atomics). */
#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <vigil/hash.h>
#include "ratelimit.h"

/* Tokens are kept in thousandths so that refill needs no division: elapsed_ms * rate. */
#define MILLI 1000u
#define DEFAULT_SLOTS 65536u

struct vg_rl_slot {
	uint8_t key[16];   /* client: IPv4 as v4-mapped, IPv6 as its /56 prefix; all zero = empty */
	uint64_t last_ms;  /* last refill */
	uint64_t tokens;   /* milli-tokens */
	uint32_t limited;  /* queries limited in a row (drives the slip pattern) */
	uint32_t used;
};

/* A random hash key; `salt` (any address) adds a little when the kernel has no entropy yet. */
static void seed_key(uint64_t seed[2], const void *salt)
{
	if (getrandom(seed, 2 * sizeof(seed[0]), GRND_NONBLOCK) != (ssize_t)(2 * sizeof(seed[0]))) {
		/* No entropy yet (early boot): a weaker key still beats a fixed one. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)seed;
		seed[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)salt;
	}
}

/* Table size: a power of two, at least 64 (0 = DEFAULT_SLOTS). */
static size_t table_size(size_t slots)
{
	if (slots == 0)
		slots = DEFAULT_SLOTS;
	size_t n = 64;
	while (n < slots && n < ((size_t)1 << 30))
		n <<= 1;
	return n;
}

int vg_ratelimit_init(struct vg_ratelimit *rl, uint32_t rate, uint32_t burst, size_t slots)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst ? burst : rate;
	if (rate == 0)
		return 0;
	size_t n = table_size(slots);
	rl->slots = calloc(n, sizeof(struct vg_rl_slot));
	if (!rl->slots)
		return -ENOMEM;
	rl->mask = n - 1;
	seed_key(rl->seed, rl->slots);
	return 0;
}

/* Client key: v4 (also v4-mapped) as ::ffff:a.b.c.d; v6 truncated to /56, so one customer's
 * allocation shares one bucket and cannot multiply its allowance by changing the low bits. */
static bool client_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xFF;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
		if (memcmp(a, mapped, 12) == 0)
			memcpy(key, a, 16);
		else
			memcpy(key, a, 7);
		return true;
	}
	return false;
}

enum vg_rl_verdict vg_ratelimit_check(struct vg_ratelimit *rl, const struct sockaddr *sa,
				      uint64_t now_ms)
{
	uint8_t key[16];
	if (rl->rate == 0 || !rl->slots || !client_key(sa, key))
		return VG_RL_PASS;
	/* Two candidate slots (a pair): the client's own if present, else an empty one, else the
	 * one idle the longest is taken over. */
	size_t i = (size_t)vg_siphash13(rl->seed, key, 16) & rl->mask;
	struct vg_rl_slot *a = &rl->slots[i], *b = &rl->slots[i ^ 1], *s;
	uint64_t cap = (uint64_t)rl->burst * MILLI;
	if (a->used && memcmp(a->key, key, 16) == 0) {
		s = a;
	} else if (b->used && memcmp(b->key, key, 16) == 0) {
		s = b;
	} else {
		s = !a->used ? a : !b->used ? b : a->last_ms <= b->last_ms ? a : b;
		memcpy(s->key, key, 16);
		s->used = 1;
		s->last_ms = now_ms;
		s->tokens = cap;
		s->limited = 0;
	}
	if (now_ms > s->last_ms) {
		uint64_t add = (now_ms - s->last_ms) * rl->rate;
		s->tokens = add >= cap - s->tokens ? cap : s->tokens + add;
		s->last_ms = now_ms;
	}
	if (s->tokens >= MILLI) {
		s->tokens -= MILLI;
		s->limited = 0;
		return VG_RL_PASS;
	}
	/* Over the limit: the 1st, 3rd, 5th... limited query gets a TC=1 reply (a real client then
	 * retries over TCP, which a spoofed source cannot), the others are dropped. */
	return (s->limited++ & 1) == 0 ? VG_RL_SLIP : VG_RL_DROP;
}

void vg_ratelimit_free(struct vg_ratelimit *rl)
{
	free(rl->slots);
	memset(rl, 0, sizeof(*rl));
}

/* ---- queries waiting for the resolver, per client (max-pending-per-client) ---- */

struct vg_pending {
	size_t mask;
	uint64_t seed[2];
	atomic_uint count[];
};

int vg_pending_new(size_t slots, struct vg_pending **out)
{
	size_t n = table_size(slots);
	struct vg_pending *p = calloc(1, sizeof(*p) + n * sizeof(p->count[0]));
	if (!p)
		return -ENOMEM;
	p->mask = n - 1;
	seed_key(p->seed, p);
	*out = p;
	return 0;
}

static long pending_slot(const struct vg_pending *p, const struct sockaddr *sa)
{
	uint8_t key[16];
	if (!client_key(sa, key))
		return -2;
	return (long)(vg_siphash13(p->seed, key, 16) & p->mask);
}

long vg_pending_take(struct vg_pending *p, const struct sockaddr *sa, uint32_t limit)
{
	long i = limit ? pending_slot(p, sa) : -2;
	if (i < 0)
		return i;
	/* Increment first, undo when over: the check and the count are one atomic step, so
	 * workers racing for the last place never let limit + 1 through. */
	unsigned old = atomic_fetch_add_explicit(&p->count[i], 1, memory_order_relaxed);
	if (old >= limit) {
		atomic_fetch_sub_explicit(&p->count[i], 1, memory_order_relaxed);
		return -1;
	}
	return i;
}

void vg_pending_release(struct vg_pending *p, long slot)
{
	if (p && slot >= 0 && (size_t)slot <= p->mask)
		atomic_fetch_sub_explicit(&p->count[slot], 1, memory_order_relaxed);
}

uint32_t vg_pending_count(const struct vg_pending *p, const struct sockaddr *sa)
{
	long i = pending_slot(p, sa);
	return i < 0 ? 0 : atomic_load_explicit(&p->count[i], memory_order_relaxed);
}

void vg_pending_free(struct vg_pending *p)
{
	free(p);
}
