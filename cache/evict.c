/* Eviction under a full map: expired first, then the least valuable, zone-cut data last. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "impl.h"
#include "vigil/log.h"

/* Entries examined per DB per round (a sample in key order, which is unrelated to use, so it
 * behaves like a random sample), and the share of the sampled live entries removed per round. */
#define WINDOW 256 /* at most; c->window scales it to the map */
#define ROUNDS_MAX 256

struct cand {
	int64_t score;
	MDB_dbi dbi;
	uint16_t klen;
	uint8_t key[VG_CKEY_MAX];
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	return x->score < y->score ? -1 : x->score > y->score;
}

unsigned vg_cache_usage_pct(struct vg_cache *c)
{
	MDB_txn *txn;
	if (mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn))
		return 0;
	uint64_t pages = 0;
	MDB_stat s = {0};
	MDB_dbi dbis[5] = {0 /* freelist */, c->dbi_meta, c->dbi_rrset, c->dbi_answer, c->dbi_nsec};
	for (int i = 0; i < 5; i++)
		if (mdb_stat(txn, dbis[i], &s) == 0)
			pages += s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages;
	mdb_txn_abort(txn);
	uint64_t total = c->o.map_size / (s.ms_psize ? s.ms_psize : 4096);
	return total ? (unsigned)(pages * 100 / total) : 0;
}

/* Value of a live entry: lower is evicted first. Recency is the coarse used_at stamp (refreshed at
 * most every VG_CACHE_TOUCH_SECS by a queued touch), frequency the number of such refreshes;
 * rank breaks near-ties; delegation data (NS, DS, DNSKEY) outranks everything else. */
static int64_t score(const struct vg_cval_hdr *h, uint16_t type, bool rrset, uint32_t now,
		     uint32_t stale_max)
{
	int64_t s = h->used_at;
	s += (int64_t)h->uses * 2 * VG_CACHE_TOUCH_SECS;
	s += (int64_t)(h->rank & 0x0F) * 30 + ((h->rank & VG_RANK_ITERATED) ? 60 : 0);
	if (!vg_cval_live(h, now))
		s -= 1 << 24; /* only good for serve-stale now */
	if (rrset && (type == VG_TYPE_NS || type == VG_TYPE_DS || type == VG_TYPE_DNSKEY ||
		      type == VG_CKEY_T_DELEG))
		s += 1ll << 32;
	(void)stale_max;
	return s;
}

/* One round: sample up to WINDOW entries per DB from the sweep position, delete those past the
 * stale window, then the lowest-scored quarter of the live ones. Returns entries deleted. */
static size_t round_once(struct vg_cache *c, MDB_txn *txn, struct cand *cs, uint32_t now,
			 bool live_too, size_t *visited)
{
	size_t n = 0, deleted = 0;
	/* The NSEC index (d 2) holds copies of rrset entries, evicted on their own. */
	for (int d = 0; d < 3; d++) {
		MDB_dbi dbi = d == 0 ? c->dbi_answer : d == 1 ? c->dbi_rrset : c->dbi_nsec;
		MDB_cursor *cur;
		if (mdb_cursor_open(txn, dbi, &cur))
			continue;
		MDB_val k = {.mv_size = c->sweep_klen[d], .mv_data = c->sweep_key[d]}, v;
		int rc = c->sweep_klen[d] ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
					  : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		MDB_stat ms;
		/* the expired-only pass reads headers only: it can afford longer strides */
		size_t want = live_too ? c->window : 8 * (size_t)c->window;
		if (mdb_stat(txn, dbi, &ms) == 0 && ms.ms_entries < want)
			want = ms.ms_entries;
		bool wrapped = false;
		for (size_t i = 0; i < want && rc == 0; i++) {
			struct vg_cval_hdr h;
			(*visited)++;
			bool bad = vg_cval_hdr_decode(v.mv_data, v.mv_size, &h) < 0 ||
				   k.mv_size > VG_CKEY_MAX || k.mv_size < 3;
			uint64_t dead_at = (uint64_t)h.stored_at + h.ttl + c->o.stale_max;
			uint32_t age;
			if (bad || now >= dead_at || !vg_cval_age(&h, now, &age)) {
				if (bad)
					atomic_fetch_add(&c->st_corrupt, 1);
				if (mdb_cursor_del(cur, 0) == 0)
					deleted++;
			} else if (live_too) {
				uint16_t type =
				    vg_get_u16((uint8_t *)k.mv_data + k.mv_size - (d == 0 ? 3 : 2));
				struct cand *x = &cs[n++];
				x->score = score(&h, type, d == 1, now, c->o.stale_max);
				x->dbi = dbi;
				x->klen = (uint16_t)k.mv_size;
				memcpy(x->key, k.mv_data, k.mv_size);
			}
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			if (rc == MDB_NOTFOUND && !wrapped) {
				/* a sample cut short at the end of the DB would be too small to
				 * rank */
				wrapped = true;
				rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
			}
		}
		if (rc == 0 && k.mv_size <= VG_CKEY_MAX) {
			memcpy(c->sweep_key[d], k.mv_data, k.mv_size);
			c->sweep_klen[d] = k.mv_size;
		} else {
			c->sweep_klen[d] = 0; /* wrap around */
		}
		mdb_cursor_close(cur);
	}
	if (!live_too || !n)
		return deleted;
	/* Least valuable live entries. The cut is a global one: the 25th percentile of the scores
	 * of the last RING sampled entries, from every region the hand has passed. A local cut
	 * (a quarter of each sample) would take a quarter of a zone's names however hot they are,
	 * because key order clusters a zone's names into the same samples. */
	for (size_t i = 0; i < n; i++) {
		c->ring[c->ring_pos] = cs[i].score;
		c->ring_pos = (c->ring_pos + 1) % VG_CACHE_RING;
		if (c->ring_n < VG_CACHE_RING)
			c->ring_n++;
	}
	int64_t cut;
	qsort(cs, n, sizeof(*cs), cmp_cand);
	if (c->ring_n >= VG_CACHE_RING / 8) {
		memcpy(c->ring_tmp, c->ring, c->ring_n * sizeof(int64_t));
		qsort(c->ring_tmp, c->ring_n, sizeof(int64_t), cmp_i64);
		cut = c->ring_tmp[c->ring_n / 4];
	} else {
		cut = cs[n / 4].score; /* not enough history yet: a local quarter */
	}
	/* Below the cut goes; at the cut (ties: entries stored and used alike) up to a quarter of
	 * the sample, or equal scores would stall eviction. */
	size_t quota = n / 4 ? n / 4 : 1, live_del = 0;
	for (size_t i = 0; i < n && cs[i].score <= cut; i++) {
		if (cs[i].score == cut && live_del >= quota)
			break;
		MDB_val k = {.mv_size = cs[i].klen, .mv_data = cs[i].key};
		if (mdb_del(txn, cs[i].dbi, &k, NULL) == 0) {
			deleted++;
			live_del++;
		}
	}
	return deleted;
}

void vg_cache_evict_init(struct vg_cache *c, size_t psize)
{
	uint64_t pages = c->o.map_size / (psize ? psize : 4096);
	uint64_t b = pages / 64;
	c->batch_max = (unsigned)(b < 8 ? 8 : (b > 256 ? 256 : b));
	c->window = (unsigned)(pages / 32 < 16 ? 16 : (pages / 32 > WINDOW ? WINDOW : pages / 32));
	/* headroom: a batch and an eviction round, each dirtying pages plus their branch path */
	uint64_t head = 8ull * (c->batch_max + c->window) + 64;
	unsigned h = pages > head ? (unsigned)(100 - (head * 100 + pages - 1) / pages) : 10;
	c->high_pct = c->o.high_water_pct < h ? c->o.high_water_pct : h;
}

void vg_cache_evict(struct vg_cache *c, uint32_t now, bool force)
{
	unsigned pct = vg_cache_usage_pct(c);
	if (!force && pct < c->high_pct) {
		c->dead_pass_done = false; /* the next episode starts with an expired-only pass */
		c->dead_visited = 0;
		return;
	}
	unsigned target = c->o.low_water_pct;
	if (target + 10 > c->high_pct)
		target = c->high_pct > 20 ? c->high_pct - 10 : 10;
	if (force)
		target = target > 25 ? target - 15 : 10;
	struct cand *cs = malloc(sizeof(*cs) * 3 * WINDOW);
	if (!cs)
		return;
	size_t total = 0;
	int full_tries = 0;
	/* Small txns: each round commits on its own so readers see progress and a crash loses
	 * little; a full map still leaves room for a delete-only txn's few dirty pages. */
	for (int r = 0; r < ROUNDS_MAX && pct > target; r++) {
		MDB_txn *txn;
		if (mdb_txn_begin(c->env, NULL, 0, &txn))
			break;
		/* Expired first, globally: key order clusters names of one zone, so a sample may
		 * hold no expired entry while the rest of the DB holds many. Each episode above
		 * the high watermark first visits every entry deleting only expired ones (in
		 * bounded steps, across calls), then samples for the least valuable. A full map
		 * (force) cannot wait for that. */
		bool live = force || c->dead_pass_done;
		size_t visited = 0;
		size_t del = round_once(c, txn, cs, now, live, &visited);
		if (!live) {
			MDB_stat a = {0}, b = {0}, x = {0};
			mdb_stat(txn, c->dbi_answer, &a);
			mdb_stat(txn, c->dbi_rrset, &b);
			mdb_stat(txn, c->dbi_nsec, &x);
			c->dead_visited += visited;
			if (c->dead_visited >= a.ms_entries + b.ms_entries + x.ms_entries + del)
				c->dead_pass_done = true;
		}
		int rc = mdb_txn_commit(txn);
		if (rc == MDB_MAP_FULL && ++full_tries < 4) {
			/* the free pages are pinned by a reader's snapshot: let it move on */
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
			continue;
		}
		if (rc) {
			vg_debug("cache eviction: %s", mdb_strerror(rc));
			break;
		}
		total += del;
		atomic_fetch_add(&c->st_rounds, 1);
		pct = vg_cache_usage_pct(c);
	}
	free(cs);
	atomic_fetch_add(&c->st_evicted, total);
	if (total)
		vg_debug("cache eviction: %zu entries removed, map %u%% used", total, pct);
}
