/* Per-client token bucket in a fixed, randomly keyed hash table (one per worker, no locks). */
#include <errno.h>
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

int vg_ratelimit_init(struct vg_ratelimit *rl, uint32_t rate, uint32_t burst, size_t slots)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst ? burst : rate;
	if (rate == 0)
		return 0;
	if (slots == 0)
		slots = DEFAULT_SLOTS;
	size_t n = 64;
	while (n < slots && n < ((size_t)1 << 30))
		n <<= 1;
	rl->slots = calloc(n, sizeof(struct vg_rl_slot));
	if (!rl->slots)
		return -ENOMEM;
	rl->mask = n - 1;
	if (getrandom(rl->seed, sizeof(rl->seed), GRND_NONBLOCK) != (ssize_t)sizeof(rl->seed)) {
		/* No entropy yet (early boot): a weaker key still beats a fixed one. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		rl->seed[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)rl;
		rl->seed[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)rl->slots;
	}
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
