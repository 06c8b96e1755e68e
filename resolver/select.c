/* Server selection: smoothed RTT per server address, timeouts with backoff, hold-down of
 * unresponsive servers, lame (server, zone) pairs, and the address policy for upstream queries. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <vigil/hash.h>
#include <vigil/name.h>
#include <vigil/resolver.h>
#include "internal.h"

struct srv_key {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

/* A table key: the server, and for the lame table the keyed hash of the zone (0 for servers). */
struct tkey {
	struct srv_key srv;
	uint64_t zone;
};

#define NIL UINT32_MAX

/* One entry of a bounded LRU table: chained in its hash bucket and in the recency list. */
struct slot {
	uint32_t prev, next; /* recency list, most recently used first */
	uint32_t chain;	     /* next slot of the same bucket */
	uint64_t hash;
	struct tkey key;
	union {
		struct vg_srv_info srv;
		uint64_t lame_until;
	} v;
};

/* At most `max` slots; when full, a new key takes the least recently used slot. Slots are never
 * freed otherwise, so slot[0..n) are the live ones. */
struct table {
	struct slot *slot;
	uint32_t *bucket;
	uint32_t max, n, mask, head, tail;
};

struct vg_select {
	struct table srv, lame;
	uint64_t key[2]; /* SipHash key, random per table */
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

/* Buckets come from a keyed hash: server addresses and zone names come from zones anyone can
 * publish, so without the table's key nobody can aim them at one bucket (one zone's glue making
 * the chains that every lookup of other servers walks). */
static uint64_t siphash(const struct vg_select *s, const void *p, size_t n)
{
	return vg_siphash13(s->key, p, n);
}

static uint64_t zone_hash(const struct vg_select *s, const uint8_t *zone)
{
	uint8_t low[VG_NAME_MAX];
	int n = vg_name_len(zone, VG_NAME_MAX);
	if (n < 0)
		return 0;
	memcpy(low, zone, (size_t)n);
	vg_name_lower(low);
	return siphash(s, low, (size_t)n);
}

static int table_init(struct table *t, size_t max)
{
	if (max < 1)
		max = 1;
	if (max > UINT32_MAX / 4)
		max = UINT32_MAX / 4;
	size_t nb = 16;
	while (nb < max)
		nb <<= 1;
	t->slot = calloc(max, sizeof(*t->slot));
	t->bucket = malloc(nb * sizeof(*t->bucket));
	if (!t->slot || !t->bucket)
		return -1;
	for (size_t i = 0; i < nb; i++)
		t->bucket[i] = NIL;
	t->max = (uint32_t)max;
	t->mask = (uint32_t)(nb - 1);
	t->n = 0;
	t->head = t->tail = NIL;
	return 0;
}

static void list_unlink(struct table *t, uint32_t i)
{
	struct slot *e = &t->slot[i];
	if (e->prev != NIL)
		t->slot[e->prev].next = e->next;
	else
		t->head = e->next;
	if (e->next != NIL)
		t->slot[e->next].prev = e->prev;
	else
		t->tail = e->prev;
}

static void list_push_front(struct table *t, uint32_t i)
{
	struct slot *e = &t->slot[i];
	e->prev = NIL;
	e->next = t->head;
	if (t->head != NIL)
		t->slot[t->head].prev = i;
	t->head = i;
	if (t->tail == NIL)
		t->tail = i;
}

static void bucket_unlink(struct table *t, uint32_t i)
{
	uint32_t *p = &t->bucket[t->slot[i].hash & t->mask];
	while (*p != i)
		p = &t->slot[*p].chain;
	*p = t->slot[i].chain;
}

/* The slot of `k`, made the most recently used; with `create`, a fresh zeroed one when absent (the
 * least recently used slot is taken when the table is full). NULL when absent and !create. */
static struct slot *table_find(struct vg_select *s, struct table *t, const struct tkey *k,
			       bool create)
{
	uint64_t h = siphash(s, k, sizeof(*k));
	uint32_t i = t->bucket[h & t->mask];
	while (i != NIL && (t->slot[i].hash != h || memcmp(&t->slot[i].key, k, sizeof(*k))))
		i = t->slot[i].chain;
	if (i != NIL) {
		list_unlink(t, i);
		list_push_front(t, i);
		return &t->slot[i];
	}
	if (!create)
		return NULL;
	if (t->n < t->max) {
		i = t->n++;
	} else {
		i = t->tail; /* evict the least recently used entry, and only that one */
		list_unlink(t, i);
		bucket_unlink(t, i);
	}
	struct slot *e = &t->slot[i];
	memset(e, 0, sizeof(*e));
	e->hash = h;
	memcpy(&e->key, k, sizeof(*k)); /* with its (zero) padding: compared with memcmp */
	e->chain = t->bucket[h & t->mask];
	t->bucket[h & t->mask] = i;
	list_push_front(t, i);
	return e;
}

static void tkey_of(const struct vg_sockaddr *a, uint64_t zone, struct tkey *k)
{
	memset(k, 0, sizeof(*k)); /* padding too: keys are hashed and compared as bytes */
	key_of(a, &k->srv);
	k->zone = zone;
}

static struct vg_srv_info *srv_find(struct vg_select *s, const struct vg_sockaddr *a, bool create)
{
	struct tkey k;
	tkey_of(a, 0, &k);
	struct slot *e = table_find(s, &s->srv, &k, create);
	return e ? &e->v.srv : NULL;
}

static void random_key(struct vg_select *s)
{
	uint64_t k[2] = {0, 0};
	if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		/* Only before the kernel's pool is ready (early boot; not worth blocking a worker
		 * for): a key nobody outside this process sees is still better than none. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)s;
		k[1] ^= (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4full ^ (uint64_t)getpid();
	}
	s->key[0] = k[0];
	s->key[1] = k[1];
}

struct vg_select *vg_select_new(size_t max)
{
	struct vg_select *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	random_key(s);
	if (table_init(&s->srv, max) < 0 || table_init(&s->lame, max / 4 + 16) < 0) {
		vg_select_free(s);
		return NULL;
	}
	return s;
}

void vg_select_free(struct vg_select *s)
{
	if (!s)
		return;
	free(s->srv.slot);
	free(s->srv.bucket);
	free(s->lame.slot);
	free(s->lame.bucket);
	free(s);
}

struct vg_srv_info *vg_select_get(struct vg_select *s, const struct vg_sockaddr *a)
{
	return srv_find(s, a, true);
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

void vg_select_timeout(struct vg_select *s, const struct vg_sockaddr *a, uint64_t now,
		       uint64_t sent_ms)
{
	struct vg_srv_info *in = vg_select_get(s, a);
	if (!in)
		return;
	if (sent_ms < in->silence_at)
		return; /* in flight when the last silence was counted: the same silence */
	in->silence_at = now;
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

/* The RTO of a server whose entry is `in` (NULL: none yet). */
static uint32_t rto_of(const struct vg_srv_info *in)
{
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

uint32_t vg_select_rto(struct vg_select *s, const struct vg_sockaddr *a)
{
	return rto_of(srv_find(s, a, false));
}

bool vg_select_held(struct vg_select *s, const struct vg_sockaddr *a, uint64_t now)
{
	struct vg_srv_info *in = srv_find(s, a, false);
	return in && in->held_until > now;
}

void vg_select_lame_set(struct vg_select *s, const struct vg_sockaddr *a, const uint8_t *zone,
			uint64_t now)
{
	struct tkey k;
	tkey_of(a, zone_hash(s, zone), &k);
	struct slot *e = table_find(s, &s->lame, &k, true);
	e->v.lame_until = now + VG_LAME_MS;
}

/* vg_select_is_lame with the zone's hash (zone_hash) already computed. */
static bool lame_hashed(struct vg_select *s, const struct vg_sockaddr *a, uint64_t zh, uint64_t now)
{
	struct tkey k;
	tkey_of(a, zh, &k);
	struct slot *e = table_find(s, &s->lame, &k, false);
	return e && e->v.lame_until > now;
}

bool vg_select_is_lame(struct vg_select *s, const struct vg_sockaddr *a, const uint8_t *zone,
		       uint64_t now)
{
	return lame_hashed(s, a, zone_hash(s, zone), now);
}

int vg_select_pick(struct vg_select *s, const struct vg_sockaddr *cand, size_t n, const bool *tried,
		   const uint8_t *zone, uint64_t now, uint32_t rnd)
{
	int best = -1, usable = 0, probe = -1;
	bool any_up = false; /* some candidate (tried or not) is neither held down nor lame */
	bool probed = false; /* a held-down candidate was already tried in this pass */
	uint32_t best_rto = 0;
	uint64_t probe_until = 0;
	/* One zone hash, one lookup per candidate: a pick runs once per upstream query. */
	uint64_t zh = zone ? zone_hash(s, zone) : 0;
	for (size_t i = 0; i < n; i++) {
		if (zone && lame_hashed(s, &cand[i], zh, now))
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
		uint32_t rto = rto_of(in);
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
			    (zone && lame_hashed(s, &cand[i], zh, now)))
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

bool vg_addr_allowed(const struct vg_addr_policy *ap, const struct vg_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET) {
		if (!ap->do_ip4)
			return false;
		const uint8_t *b = (const uint8_t *)&a->u.sin.sin_addr;
		return ap->query_local_addresses || !v4_local(b);
	}
	if (a->u.sa.sa_family != AF_INET6 || !ap->do_ip6)
		return false;
	const struct in6_addr *in6 = &a->u.sin6.sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(in6))
		return ap->do_ip4 && (ap->query_local_addresses || !v4_local(in6->s6_addr + 12));
	if (ap->query_local_addresses)
		return true;
	const uint8_t *b = in6->s6_addr;
	/* loopback, unspecified, link-local fe80::/10, unique-local fc00::/7, multicast ff00::/8 */
	return !(IN6_IS_ADDR_LOOPBACK(in6) || IN6_IS_ADDR_UNSPECIFIED(in6) ||
		 (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || (b[0] & 0xfe) == 0xfc || b[0] == 0xff);
}
