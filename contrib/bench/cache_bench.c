/* Cache micro-benchmarks: answer-cache hit/miss lookups, inserts, and Zipf hit rate vs plain LRU.
 */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_TOGGLE_COLLECT
#endif

#include <vigil/base.h>
#include <vigil/cache.h>

#define T0 1700000000u
#define BATCH 32 /* lookups per read txn, like a worker's recvmmsg batch */

static uint32_t sim_now = T0;

static uint32_t sim_clock(void *ctx)
{
	(void)ctx;
	return sim_now;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
	uint64_t x = rng_state; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

struct names {
	uint8_t (*w)[32];
	uint8_t *len;
	size_t n;
};

/* "n<i>.bench.example." in wire form; the first letter upper case as a 0x20 client would. */
static void names_make(struct names *nm, size_t n, const char *prefix)
{
	nm->w = malloc(n * sizeof(*nm->w));
	nm->len = malloc(n);
	nm->n = n;
	char t[64];
	for (size_t i = 0; i < n; i++) {
		snprintf(t, sizeof(t), "%s%zu.bench.example.", prefix, i);
		nm->len[i] = (uint8_t)vg_name_from_text(t, nm->w[i]);
	}
}

static void names_free(struct names *nm)
{
	free(nm->w);
	free(nm->len);
}

static size_t make_answer(uint8_t *b, const uint8_t *q, size_t ql)
{
	memset(b, 0, 12);
	b[2] = 0x81;
	b[3] = 0x80;
	vg_put_u16(b + 4, 1);
	vg_put_u16(b + 6, 1);
	memcpy(b + 12, q, ql);
	size_t p = 12 + ql;
	vg_put_u16(b + p, 1);
	vg_put_u16(b + p + 2, 1);
	p += 4;
	b[p++] = 0xC0; /* pointer to the question name */
	b[p++] = 12;
	vg_put_u16(b + p, 1);
	vg_put_u16(b + p + 2, 1);
	vg_put_u32(b + p + 4, 86400);
	vg_put_u16(b + p + 8, 4);
	b[p + 10] = 192;
	b[p + 11] = 0;
	b[p + 12] = 2;
	b[p + 13] = 1;
	return p + 14;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static struct vg_cache *open_cache(char *dir, uint64_t map)
{
	strcpy(dir, "/tmp/vg-cache-bench-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.dir = dir;
	o.map_size = map;
	o.clock = sim_clock;
	o.queue_max = 1u << 22;
	struct vg_cache *c;
	char err[256];
	int rc = vg_cache_open(&o, &c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "open: %s %s\n", vg_strerror(rc), err);
		exit(1);
	}
	vg_cache_start_writer(c);
	return c;
}

static void close_cache(struct vg_cache *c, const char *dir)
{
	vg_cache_close(c);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void fill(struct vg_cache *c, const struct names *nm, size_t n)
{
	uint8_t b[512];
	double t = now_s();
	for (size_t j = 0; j < n; j++) {
		/* a fixed permutation (odd multiplier coprime to 10^k sizes): random key order */
		size_t i = (size_t)((j * 2654435761ull) % n);
		size_t l = make_answer(b, nm->w[i], nm->len[i]);
		if (vg_cache_answer_put(c, nm->w[i], 1, false, false, b, l, 0x15, 1, 0, T0) < 0) {
			fprintf(stderr, "put failed at %zu\n", i);
			exit(1);
		}
	}
	vg_cache_sync(c);
	t = now_s() - t;
	printf("inserts: %zu entries in %.3f s = %.0f inserts/s (queue + writer commit)\n", n, t,
	       (double)n / t);
}

/* Looks up `count` names drawn from nm (hits) or from a disjoint set (misses). */
static double lookups(struct vg_cache *c, const struct names *nm, size_t lo, size_t hi,
		      size_t count, bool hit)
{
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	uint8_t out[512];
	size_t len;
	unsigned fl;
	size_t found = 0;
	double t = now_s();
	for (size_t i = 0; i < count; i += BATCH) {
		vg_cache_read_begin(rd);
		for (size_t j = 0; j < BATCH; j++) {
			size_t k = lo + (size_t)(rng() % (hi - lo));
			if (vg_cache_answer_get(rd, nm->w[k], nm->len[k], 1, false, false,
						(uint16_t)j, T0 + 10, out, sizeof(out), &len, &fl,
						0) == 0)
				found++;
		}
		vg_cache_read_end(rd);
	}
	t = now_s() - t;
	vg_cache_reader_free(rd);
	if ((hit && found != count) || (!hit && found != 0)) {
		fprintf(stderr, "unexpected: %zu of %zu found\n", found, count);
		exit(1);
	}
	return (double)count / t;
}

static void run_rates(size_t entries, size_t count)
{
	char dir[64];
	struct names nm;
	/* misses are names of the same shape that were never stored, so their keys fall between
	 * stored ones all over the tree, like real misses */
	names_make(&nm, entries + 100000, "n");
	struct vg_cache *c = open_cache(dir, entries > 200000 ? (4ull << 30) : (1ull << 30));
	fill(c, &nm, entries);
	double h = lookups(c, &nm, 0, entries, count, true);
	double m = lookups(c, &nm, entries, entries + 100000, count, false);
	printf("entries=%zu hits/s=%.0f misses/s=%.0f (one thread, %d lookups per read txn)\n",
	       entries, h, m, BATCH);
	/* reopen: the cost of the full-file check at open (warm page cache) */
	vg_cache_close(c);
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.dir = dir;
	o.map_size = entries > 200000 ? (4ull << 30) : (1ull << 30);
	char err[256];
	double t = now_s();
	if (vg_cache_open(&o, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "reopen: %s\n", err);
		exit(1);
	}
	t = now_s() - t;
	struct stat sb;
	char path[96];
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	stat(path, &sb);
	printf("reopen with full-file check: %.3f s for %lld MB\n", t, (long long)sb.st_size >> 20);
	close_cache(c, dir);
	names_free(&nm);
}

/* For callgrind: instructions of `count` hits, toggled around the loop only. */
static void run_callgrind(size_t count)
{
	char dir[64];
	struct names nm;
	names_make(&nm, 10000, "n");
	struct vg_cache *c = open_cache(dir, 1ull << 28);
	fill(c, &nm, nm.n);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	uint8_t out[512];
	size_t len, found = 0;
	unsigned fl;
	count = (count + BATCH - 1) / BATCH * BATCH; /* whole batches */
	CALLGRIND_ZERO_STATS;
	CALLGRIND_TOGGLE_COLLECT;
	for (size_t i = 0; i < count; i += BATCH) {
		vg_cache_read_begin(rd);
		for (size_t j = 0; j < BATCH; j++) {
			size_t k = (i + j) * 7919 % nm.n;
			found += vg_cache_answer_get(rd, nm.w[k], nm.len[k], 1, false, false, 1,
						     T0 + 10, out, sizeof(out), &len, &fl, 0) == 0;
		}
		vg_cache_read_end(rd);
	}
	CALLGRIND_TOGGLE_COLLECT;
	vg_cache_reader_free(rd);
	printf("callgrind: %zu hits of %zu\n", found, count);
	close_cache(c, dir);
	names_free(&nm);
}

/* ---- Zipf hit rate: our eviction vs plain LRU of the same capacity ---- */

static double *zipf_cdf(size_t n, double s)
{
	double *cdf = malloc(n * sizeof(double));
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum += 1.0 / pow((double)(i + 1), s);
		cdf[i] = sum;
	}
	for (size_t i = 0; i < n; i++)
		cdf[i] /= sum;
	return cdf;
}

static size_t zipf_draw(const double *cdf, size_t n)
{
	double u = (double)(rng() >> 11) / (double)(1ull << 53);
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* scatter ranks over the key space so popularity is unrelated to key order */
	return (lo * 2654435761u) % n;
}

struct lru {
	size_t cap, size;
	int64_t *prev, *next; /* per key, -1 = none */
	bool *in;
	int64_t head, tail; /* head = most recent */
};

static void lru_init(struct lru *l, size_t keys, size_t cap)
{
	l->cap = cap;
	l->size = 0;
	l->prev = malloc(keys * sizeof(int64_t));
	l->next = malloc(keys * sizeof(int64_t));
	l->in = calloc(keys, 1);
	l->head = l->tail = -1;
}

static void lru_unlink(struct lru *l, int64_t k)
{
	if (l->prev[k] >= 0)
		l->next[l->prev[k]] = l->next[k];
	else
		l->head = l->next[k];
	if (l->next[k] >= 0)
		l->prev[l->next[k]] = l->prev[k];
	else
		l->tail = l->prev[k];
}

static void lru_front(struct lru *l, int64_t k)
{
	l->prev[k] = -1;
	l->next[k] = l->head;
	if (l->head >= 0)
		l->prev[l->head] = k;
	l->head = k;
	if (l->tail < 0)
		l->tail = k;
}

static bool lru_access(struct lru *l, int64_t k)
{
	if (l->in[k]) {
		lru_unlink(l, k);
		lru_front(l, k);
		return true;
	}
	if (l->size == l->cap) {
		int64_t t = l->tail;
		lru_unlink(l, t);
		l->in[t] = false;
		l->size--;
	}
	lru_front(l, k);
	l->in[k] = true;
	l->size++;
	return false;
}

static void run_zipf(size_t keys, size_t queries, double s, uint64_t map)
{
	char dir[64];
	struct names nm;
	names_make(&nm, keys, "z");
	double *cdf = zipf_cdf(keys, s);
	size_t *seq = malloc(queries * sizeof(size_t));
	for (size_t i = 0; i < queries; i++)
		seq[i] = zipf_draw(cdf, keys);

	struct vg_cache *c = open_cache(dir, map);
	struct vg_cache_reader *rd = vg_cache_reader_new(c);
	uint8_t out[512], b[512];
	size_t len, hits = 0, counted = 0;
	unsigned fl;
	double entries_sum = 0;
	size_t entries_n = 0;
	size_t warm = queries / 5;
	/* Simulated time: 200 queries per second, so recency stamps (30 s grain) matter. */
	for (size_t i = 0; i < queries; i++) {
		sim_now = T0 + (uint32_t)(i / 200);
		size_t k = seq[i];
		if (i % BATCH == 0)
			vg_cache_read_begin(rd);
		int rc = vg_cache_answer_get(rd, nm.w[k], nm.len[k], 1, false, false, 1, sim_now,
					     out, sizeof(out), &len, &fl, 0);
		if (i >= warm) {
			counted++;
			hits += rc == 0;
		}
		if (rc != 0) {
			size_t l = make_answer(b, nm.w[k], nm.len[k]);
			vg_cache_answer_put(c, nm.w[k], 1, false, false, b, l, 0x15, 1, 0, sim_now);
		}
		if (i % BATCH != BATCH - 1)
			continue;
		vg_cache_read_end(rd);
		if (i % 4096 == 4095) {
			vg_cache_sync(c); /* a miss is resolved and stored before it repeats much */
			if (i >= warm) {
				struct vg_cache_stats st;
				vg_cache_stats(c, &st);
				entries_sum += (double)st.answers;
				entries_n++;
			}
		}
	}
	vg_cache_read_end(rd);
	vg_cache_reader_free(rd);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	size_t cap = (size_t)(entries_sum / (double)(entries_n ? entries_n : 1));
	close_cache(c, dir);

	struct lru l;
	lru_init(&l, keys, cap ? cap : 1);
	size_t lhits = 0;
	for (size_t i = 0; i < queries; i++) {
		bool h = lru_access(&l, (int64_t)seq[i]);
		if (i >= warm)
			lhits += h;
	}
	printf("zipf s=%.2f keys=%zu queries=%zu map=%llu KiB: mean entries %zu (%.1f%% of keys), "
	       "evicted %llu, map-full events %llu, dropped writes %llu\n",
	       s, keys, queries, (unsigned long long)(map >> 10), cap,
	       100.0 * (double)cap / (double)keys, (unsigned long long)st.evicted,
	       (unsigned long long)st.map_full, (unsigned long long)st.dropped);
	printf("  hit rate vigil eviction %.2f%%, plain LRU same capacity %.2f%%\n",
	       100.0 * (double)hits / (double)counted, 100.0 * (double)lhits / (double)counted);
	printf("  recency touches written: %llu (%.2f per 100 queries)\n",
	       (unsigned long long)st.touches, 100.0 * (double)st.touches / (double)queries);
	free(seq);
	free(cdf);
	free(l.prev);
	free(l.next);
	free(l.in);
	names_free(&nm);
}

int main(int argc, char **argv)
{
	vg_log_set_level(VG_LOG_WARN);
	if (argc >= 2 && !strcmp(argv[1], "rates")) {
		size_t entries = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
		size_t count = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000000;
		run_rates(entries, count);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "callgrind")) {
		run_callgrind(argc > 2 ? strtoul(argv[2], NULL, 10) : 100000);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "zipf")) {
		size_t keys = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
		size_t q = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000000;
		double s = argc > 4 ? atof(argv[4]) : 0.9;
		uint64_t map = argc > 5 ? strtoull(argv[5], NULL, 10) << 10 : 4ull << 20;
		run_zipf(keys, q, s, map);
		return 0;
	}
	fprintf(stderr,
		"usage: %s rates [ENTRIES [LOOKUPS]] | callgrind [HITS] | "
		"zipf [KEYS [QUERIES [S [MAP_KIB]]]]\n",
		argv[0]);
	return 2;
}
