/* Fuzz target: the cache's read, write, dump and eviction paths over damaged values in a real
 * LMDB file (every cache/ source). Input: a list of (slot, value) pairs written raw into the DBs,
 * as a crash, a disk error or another version could leave them; then every reader of those keys
 * runs.
 *   input := { u8 slot, [u8 klen, klen bytes,] u16 vlen, vlen bytes }*   (see cache_load.h) */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "fuzz.h"
#include "cache_load.h"
#include "impl.h"

#define T0 1700000000u

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_cache *cache;
static struct vg_cache_reader *reader;
static FILE *devnull;
static char dir[64];
static uint32_t fake_now = T0;

static uint32_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	vg_cache_reader_free(reader);
	vg_cache_close(cache);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/vgfuzz-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.dir = dir;
	o.map_size = 96u << 10; /* tiny: a few entries take the usage over the watermarks */
	o.stale_max = 3600;
	o.clock = fake_clock;
	char err[256];
	if (vg_cache_open(&o, &cache, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_cache_db: %s\n", err);
		abort();
	}
	reader = vg_cache_reader_new(cache);
	devnull = fopen("/dev/null", "w");
	if (!reader || !devnull)
		abort();
	atexit(cleanup);
	return 0;
}

static uint8_t out[65536];
static uint8_t rbuf[1 << 17];

static void read_all(uint32_t now)
{
	if (vg_cache_read_begin(reader) != 0)
		abort();
	for (size_t i = 0; i < N_SLOTS; i++) {
		const struct slot *s = &slots[i];
		size_t outlen = 0;
		unsigned flags = 0;
		int nl = vg_name_len(s->name, VG_NAME_MAX);
		if (s->answer) {
			int rc = vg_cache_answer_get(reader, s->name, (size_t)nl, s->type,
						     s->do_bit, s->cd_bit, 0x1234, now, out,
						     sizeof(out), &outlen, &flags, 600);
			VG_FUZZ_CHECK(rc <= 0);
			if (rc == 0)
				VG_FUZZ_CHECK(outlen >= 12 && outlen <= sizeof(out));
			/* a buffer too small must be refused, not overrun */
			rc = vg_cache_answer_get(reader, s->name, (size_t)nl, s->type, s->do_bit,
						 s->cd_bit, 0x1234, now, out, 40, &outlen, &flags,
						 600);
			if (rc == 0)
				VG_FUZZ_CHECK(outlen <= 40);
		} else if (s->type != 0) {
			struct vg_cache_rrset_view view;
			int rc = vg_cache_rrset_get(reader, s->name, s->type, now, 600, rbuf,
						    sizeof(rbuf), &view);
			VG_FUZZ_CHECK(rc <= 0);
			rc =
			    vg_cache_rrset_get(reader, s->name, s->type, now, 600, rbuf, 30, &view);
			VG_FUZZ_CHECK(rc <= 0);
		}
	}
	uint8_t zone[VG_NAME_MAX];
	struct vg_cache_rrset_view view;
	bool ds = false;
	(void)vg_cache_zonecut_find(reader, n_www, now, zone, rbuf, sizeof(rbuf), &view, &ds);
	vg_cache_read_end(reader);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 18)
		return 0;
	struct vg_fuzz_in in = {.p = data, .len = size};
	vg_fuzz_cache_load(cache, &in, size);
	/* Fresh, then late enough to touch (recency stamps are queued) and to be stale. */
	read_all(T0);
	read_all(T0 + 100);
	read_all(T0 + 100000);
	(void)vg_cache_dump(cache, devnull, T0 + 50);
	struct vg_cache_stats st;
	(void)vg_cache_stats(cache, &st);

	/* Well-formed writes over the damaged entries: the writer reads the old value for the rank
	 * rule. Then the queued touches and a forced eviction pass. */
	fake_now = T0 + 200;
	static const uint8_t rd_a[] = {0, 4, 192, 0, 2, 1};
	struct vg_cache_rrset rs = {.owner = n_www,
				    .type = 1,
				    .rclass = 1,
				    .ttl = 300,
				    .rank = VG_RANK_AUTH_ANSWER,
				    .rr_count = 1,
				    .rdata = rd_a,
				    .rdata_len = sizeof(rd_a)};
	(void)vg_cache_rrset_put(cache, &rs, fake_now);
	/* clang-format off */
	static const uint8_t ans[] = {
		0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 1};
	/* clang-format on */
	(void)vg_cache_answer_put(cache, n_www, 1, false, false, ans, sizeof(ans),
				  VG_RANK_AUTH_ANSWER, VG_SEC_INSECURE, 0, fake_now);
	(void)vg_cache_sync(cache);
	vg_cache_evict(cache, T0 + 100000, true);
	read_all(T0 + 250);
	/* The management flushes walk (and decode) whatever is left. */
	(void)vg_cache_flush_negative(cache);
	(void)vg_cache_flush_suspicious(cache);
	(void)vg_cache_flush_name(cache, n_www, 0);
	(void)vg_cache_flush_zone(cache, n_ex);
	(void)vg_cache_sync(cache);
	(void)vg_cache_dump(cache, devnull, T0 + 50);
	fake_now = T0;
	return 0;
}
