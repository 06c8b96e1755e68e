/* Server selection: smoothed RTT per server address, timeouts with backoff, hold-down of
 * unresponsive servers, lame (server, zone) pairs, and the address policy for upstream queries. */
#include <stdlib.h>
#include <string.h>
#include <vigil/config.h>
#include <vigil/name.h>
#include "internal.h"

struct srv_key {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

struct srv_entry {
	bool used;
	struct srv_key key;
	struct vg_srv_info info;
};

struct lame_entry {
	bool used;
	struct srv_key key;
	uint64_t zone_hash;
	uint64_t until;
};

struct vg_select {
	struct srv_entry *srv;
	size_t cap, n; /* cap is a power of two */
	struct lame_entry *lame;
	size_t lame_cap, lame_n;
};

static void key_of(const struct vg_sockaddr *a, struct srv_key *k)
{
	memset(k, 0, sizeof(*k));
	if (a->u.sa.sa_family == AF_INET) {
		k->family = 4;
		memcpy(k->addr, &a->u.sin.sin_addr, 4);
		k->port = a->u.sin.sin_port;
	} else {
		k->family = 6;
		memcpy(k->addr, &a->u.sin6.sin6_addr, 16);
		k->port = a->u.sin6.sin6_port;
	}
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull; /* FNV-1a */
	return h;
}

static uint64_t key_hash(const struct srv_key *k)
{
	return hash_bytes(k, sizeof(*k), 0xcbf29ce484222325ull);
}

static uint64_t zone_hash(const uint8_t *zone)
{
	uint8_t low[VG_NAME_MAX];
	int n = vg_name_len(zone, VG_NAME_MAX);
	if (n < 0)
		return 0;
	memcpy(low, zone, (size_t)n);
	vg_name_lower(low);
	return hash_bytes(low, (size_t)n, 0xcbf29ce484222325ull);
}

static size_t pow2(size_t n)
{
	size_t c = 64;
	while (c < n * 2)
		c <<= 1;
	return c;
}

struct vg_select *vg_select_new(size_t max)
{
	struct vg_select *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cap = pow2(max);
	s->lame_cap = pow2(max / 4 + 16);
	s->srv = calloc(s->cap, sizeof(*s->srv));
	s->lame = calloc(s->lame_cap, sizeof(*s->lame));
	if (!s->srv || !s->lame) {
		vg_select_free(s);
		return NULL;
	}
	return s;
}

void vg_select_free(struct vg_select *s)
{
	if (!s)
		return;
	free(s->srv);
	free(s->lame);
	free(s);
}

struct vg_srv_info *vg_select_get(struct vg_select *s, const struct vg_sockaddr *a)
{
	struct srv_key k;
	key_of(a, &k);
	size_t mask = s->cap - 1;
	size_t i = key_hash(&k) & mask;
	for (;; i = (i + 1) & mask) {
		if (!s->srv[i].used)
			break;
		if (memcmp(&s->srv[i].key, &k, sizeof(k)) == 0)
			return &s->srv[i].info;
	}
	if (s->n + 1 > s->cap / 2) {
		/* Full: forget everything. Measurements rebuild within a few queries, and a
		 * bounded table keeps memory flat however many servers the world has. */
		memset(s->srv, 0, s->cap * sizeof(*s->srv));
		s->n = 0;
		i = key_hash(&k) & mask;
	}
	s->srv[i].used = true;
	s->srv[i].key = k;
	memset(&s->srv[i].info, 0, sizeof(s->srv[i].info));
	s->n++;
	return &s->srv[i].info;
}

void vg_select_rtt(struct vg_select *s, const struct vg_sockaddr *a, uint32_t rtt_ms)
{
	struct vg_srv_info *in = vg_select_get(s, a);
	if (!in)
		return;
	if (rtt_ms == 0)
		rtt_ms = 1;
	if (in->srtt_ms == 0) {
		in->srtt_ms = rtt_ms;
		in->rttvar_ms = rtt_ms / 2;
	} else {
		/* RFC 6298 smoothing (alpha 1/8, beta 1/4). */
		uint32_t diff = in->srtt_ms > rtt_ms ? in->srtt_ms - rtt_ms : rtt_ms - in->srtt_ms;
		in->rttvar_ms = (3 * in->rttvar_ms + diff) / 4;
		in->srtt_ms = (7 * in->srtt_ms + rtt_ms) / 8;
	}
	in->timeouts = 0;
	in->held_until = 0;
	in->holddowns = 0;
}

void vg_select_timeout(struct vg_select *s, const struct vg_sockaddr *a, uint64_t now)
{
	struct vg_srv_info *in = vg_select_get(s, a);
	if (!in)
		return;
	in->timeouts++;
	if (in->timeouts >= VG_HOLDDOWN_AFTER) {
		uint64_t hold = (uint64_t)VG_HOLDDOWN_MS << (in->holddowns < 5 ? in->holddowns : 5);
		if (hold > VG_HOLDDOWN_MAX_MS)
			hold = VG_HOLDDOWN_MAX_MS;
		in->held_until = now + hold;
		in->holddowns++;
		in->timeouts = 0;
	}
}

uint32_t vg_select_rto(struct vg_select *s, const struct vg_sockaddr *a)
{
	struct vg_srv_info *in = vg_select_get(s, a);
	if (!in)
		return VG_RTO_INITIAL_MS;
	uint64_t rto = in->srtt_ms ? in->srtt_ms + 4 * (uint64_t)in->rttvar_ms : VG_RTO_INITIAL_MS;
	if (rto < VG_RTO_MIN_MS)
		rto = VG_RTO_MIN_MS;
	rto <<= in->timeouts < 4 ? in->timeouts : 4; /* backoff per consecutive timeout */
	if (rto > VG_RTO_MAX_MS)
		rto = VG_RTO_MAX_MS;
	return (uint32_t)rto;
}

bool vg_select_held(struct vg_select *s, const struct vg_sockaddr *a, uint64_t now)
{
	struct vg_srv_info *in = vg_select_get(s, a);
	return in && in->held_until > now;
}

static struct lame_entry *lame_slot(struct vg_select *s, const struct vg_sockaddr *a,
				    const uint8_t *zone, bool create)
{
	struct srv_key k;
	key_of(a, &k);
	uint64_t zh = zone_hash(zone);
	size_t mask = s->lame_cap - 1;
	size_t i = hash_bytes(&zh, sizeof(zh), key_hash(&k)) & mask;
	for (;; i = (i + 1) & mask) {
		struct lame_entry *e = &s->lame[i];
		if (!e->used)
			break;
		if (e->zone_hash == zh && memcmp(&e->key, &k, sizeof(k)) == 0)
			return e;
	}
	if (!create)
		return NULL;
	if (s->lame_n + 1 > s->lame_cap / 2) {
		memset(s->lame, 0, s->lame_cap * sizeof(*s->lame));
		s->lame_n = 0;
		i = hash_bytes(&zh, sizeof(zh), key_hash(&k)) & mask;
	}
	s->lame[i].used = true;
	s->lame[i].key = k;
	s->lame[i].zone_hash = zh;
	s->lame_n++;
	return &s->lame[i];
}

void vg_select_lame_set(struct vg_select *s, const struct vg_sockaddr *a, const uint8_t *zone,
			uint64_t now)
{
	struct lame_entry *e = lame_slot(s, a, zone, true);
	if (e)
		e->until = now + VG_LAME_MS;
}

bool vg_select_is_lame(struct vg_select *s, const struct vg_sockaddr *a, const uint8_t *zone,
		       uint64_t now)
{
	struct lame_entry *e = lame_slot(s, a, zone, false);
	return e && e->until > now;
}

int vg_select_pick(struct vg_select *s, const struct vg_sockaddr *cand, size_t n, const bool *tried,
		   const uint8_t *zone, uint64_t now, uint32_t rnd)
{
	int best = -1, usable = 0, probe = -1;
	bool any_up = false; /* some candidate (tried or not) is neither held down nor lame */
	bool probed = false; /* a held-down candidate was already tried in this pass */
	uint32_t best_rto = 0;
	uint64_t probe_until = 0;
	for (size_t i = 0; i < n; i++) {
		if (zone && vg_select_is_lame(s, &cand[i], zone, now))
			continue;
		struct vg_srv_info *in = vg_select_get(s, &cand[i]);
		if (in && in->held_until > now) {
			probed |= tried[i];
			if (!tried[i] && (probe < 0 || in->held_until < probe_until)) {
				probe = (int)i;
				probe_until = in->held_until;
			}
			continue;
		}
		any_up = true;
		if (tried[i])
			continue;
		usable++;
		uint32_t rto = vg_select_rto(s, &cand[i]);
		if (best < 0 || rto < best_rto) {
			best = (int)i;
			best_rto = rto;
		}
	}
	/* Every address of the zone is held down: probe the one whose hold-down ends first, so
	 * the zone comes back as soon as one server answers again instead of staying dark for
	 * the whole hold-down. One probe per pass over the zone: a dead zone costs one timeout
	 * per pass, not one per address. */
	if (!any_up)
		return probed ? -1 : probe;
	if (usable > 1 && (rnd & 1023) < VG_EXPLORE_PER_1024) {
		/* Exploration: a random usable server, so a slow server that got faster is seen. */
		int k = (int)((rnd >> 10) % (uint32_t)usable);
		for (size_t i = 0; i < n; i++) {
			if (tried[i] || vg_select_held(s, &cand[i], now) ||
			    (zone && vg_select_is_lame(s, &cand[i], zone, now)))
				continue;
			if (k-- == 0)
				return (int)i;
		}
	}
	return best;
}

static bool v4_local(const uint8_t *b)
{
	return b[0] == 127 || b[0] == 0 || b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
	       (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
	       (b[0] == 100 && (b[1] & 0xc0) == 64) || b[0] >= 224;
}

bool vg_addr_allowed(const struct vg_config *cfg, const struct vg_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET) {
		if (!cfg->do_ip4)
			return false;
		const uint8_t *b = (const uint8_t *)&a->u.sin.sin_addr;
		return cfg->query_local_addresses || !v4_local(b);
	}
	if (a->u.sa.sa_family != AF_INET6 || !cfg->do_ip6)
		return false;
	const struct in6_addr *in6 = &a->u.sin6.sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(in6))
		return cfg->do_ip4 && (cfg->query_local_addresses || !v4_local(in6->s6_addr + 12));
	if (cfg->query_local_addresses)
		return true;
	const uint8_t *b = in6->s6_addr;
	/* loopback, unspecified, link-local fe80::/10, unique-local fc00::/7, multicast ff00::/8 */
	return !(IN6_IS_ADDR_LOOPBACK(in6) || IN6_IS_ADDR_UNSPECIFIED(in6) ||
		 (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || (b[0] & 0xfe) == 0xfc || b[0] == 0xff);
}
