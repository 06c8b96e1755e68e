/* Unit tests of the cache against faults: persistence across close/open, format versions,
 * corrupted, truncated, foreign or damaged files, damaged values, kill -9 during writes. */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "cache_test.h"
#include "impl.h" /* vg_cache_check_verdict */

TestSuite(cache_faults, .init = mkdir_tmp, .fini = rm_tmp);

Test(cache_faults, entries_survive_close_and_reopen)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "keep.example.", 600, 0x15, 0, T0);
	put_rrset(c, "keep.example.", 1, 600, 0x15, 0, A1, 4, T0);
	vg_cache_start_writer(c);
	vg_cache_close(c); /* close drains the queue */
	c = open_default();
	uint8_t out[4096], buf[4096];
	size_t len;
	unsigned fl;
	struct vg_cache_rrset_view v;
	cr_assert_eq(get_answer(c, "keep.example.", 1, T0 + 10, out, &len, &fl, 0), 0);
	cr_assert_eq(get_rrset(c, "keep.example.", 1, T0 + 10, 0, &v, buf), 0);
	cr_assert_eq(v.ttl, 590);
	vg_cache_close(c);
}

Test(cache_faults, other_format_version_is_rebuilt)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "v.example.", 600, 0x15, 0, T0);
	vg_cache_close(c);
	/* rewrite the format key as a future version would */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 4);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	uint8_t b[4] = {0, 0, 0, 99};
	MDB_val k = {.mv_size = 6, .mv_data = "format"}, v = {.mv_size = 4, .mv_data = b};
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);

	c = open_default();
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "v.example.", 1, T0, out, &len, &fl, 0), VG_ENOTFOUND,
		     "entries of another format version were kept");
	put_a_answer(c, "v.example.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	cr_assert_eq(get_answer(c, "v.example.", 1, T0, out, &len, &fl, 0), 0);
	vg_cache_close(c);
}

static int count_bad_files(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c 'data.mdb.bad-'", dir);
	FILE *p = popen(cmd, "r");
	int n = 0;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

static void expect_open_error_then_rebuild(void)
{
	struct vg_cache_opts o;
	opts_init(&o);
	struct vg_cache *c = NULL;
	char err[512] = "";
	char path[128];
	path_of(path, sizeof(path), "data.mdb");
	vg_log_set_level(VG_LOG_ERROR);
	cr_assert_eq(vg_cache_open(&o, &c, err, sizeof(err)), VG_ECORRUPT);
	cr_assert_null(c);
	cr_assert(strstr(err, path) != NULL, "error does not name the file: %s", err);
	o.rebuild_on_error = true;
	c = open_with(&o);
	cr_assert_eq(count_bad_files(), 1, "bad file not moved aside");
	put_a_answer(c, "fresh.example.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "fresh.example.", 1, T0, out, &len, &fl, 0), 0);
	vg_cache_close(c);
}

Test(cache_faults, garbage_file_fails_with_path_and_rebuilds_on_option)
{
	char path[128];
	path_of(path, sizeof(path), "data.mdb");
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 20000; i++)
		fputc((i * 7919) & 0xFF, f);
	fclose(f);
	expect_open_error_then_rebuild();
}

Test(cache_faults, truncated_file_fails_with_path_and_rebuilds_on_option)
{
	struct vg_cache *c = open_default();
	char name[64];
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "n%d.example.", i);
		put_a_answer(c, name, 600, 0x15, 0, T0);
	}
	vg_cache_close(c);
	char path[128];
	path_of(path, sizeof(path), "data.mdb");
	struct stat sb;
	stat(path, &sb);
	cr_assert_eq(truncate(path, sb.st_size / 2), 0);
	expect_open_error_then_rebuild();
}

Test(cache_faults, foreign_lmdb_file_fails_with_path_and_rebuilds_on_option)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	mdb_env_create(&env);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	MDB_val k = {.mv_size = 3, .mv_data = "foo"}, v = {.mv_size = 3, .mv_data = "bar"};
	mdb_put(txn, dbi, &k, &v, 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);
	expect_open_error_then_rebuild();
}

/* Rewrites every value of DB `name` (raw LMDB, cache closed): edit() builds the new value in nb
 * from the old one and returns its length. */
typedef size_t (*value_edit_fn)(uint8_t *nb, const MDB_val *old, const void *ctx);

static void edit_values(const char *name, value_edit_fn edit, const void *ctx)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 4);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	cr_assert_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
	mdb_cursor_open(txn, dbi, &cur);
	MDB_val k, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		uint8_t nb[4096], kb[512];
		MDB_val nv = {.mv_size = edit(nb, &v, ctx), .mv_data = nb};
		/* A put of another size moves nodes: copy the key, put, and seek back to it before
		 * stepping on (a cursor put with MDB_CURRENT could skip the next entry). */
		memcpy(kb, k.mv_data, k.mv_size);
		MDB_val kk = {.mv_size = k.mv_size, .mv_data = kb};
		cr_assert_eq(mdb_put(txn, dbi, &kk, &nv, 0), 0);
		rc = mdb_cursor_get(cur, &kk, &v, MDB_SET_KEY);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_commit(txn);
	mdb_env_close(env);
}

struct scribble {
	const uint8_t *bytes;
	size_t n;
	bool keep_header;
};

static size_t scribble_one(uint8_t *nb, const MDB_val *old, const void *ctx)
{
	const struct scribble *s = ctx;
	if (!s->keep_header) {
		memcpy(nb, s->bytes, s->n);
		return s->n;
	}
	/* valid header, damaged body: keep 20 bytes, then scribble */
	memcpy(nb, old->mv_data, 20);
	memcpy(nb + 20, s->bytes, s->n);
	return 20 + s->n;
}

/* Overwrites every value in DB `name` with `bytes` (after the 20-byte header if keep_header). */
static void scribble_values(const char *name, const uint8_t *bytes, size_t n, bool keep_header)
{
	struct scribble s = {.bytes = bytes, .n = n, .keep_header = keep_header};
	edit_values(name, scribble_one, &s);
}

Test(cache_faults, corrupted_values_are_misses_not_crashes)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "x1.example.", 600, 0x15, 0, T0);
	put_rrset(c, "x1.example.", 1, 600, 0x15, 0, A1, 4, T0);
	put_neg(c, "x2.example.com.", 1, true, 600, 600, T0);
	vg_cache_close(c);
	const uint8_t junk[] = {0xFF, 0xFF, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
				0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x10, 0x41, 0x41};
	scribble_values("answer", junk, sizeof(junk), true);
	scribble_values("rrset", junk, sizeof(junk), true);
	c = open_default();
	uint8_t out[4096], buf[4096];
	size_t len;
	unsigned fl;
	struct vg_cache_rrset_view v;
	cr_assert_eq(get_answer(c, "x1.example.", 1, T0, out, &len, &fl, 0), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "x1.example.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "x2.example.com.", 1, T0, 0, &v, buf), VG_ENOTFOUND);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_geq(st.corrupt, 3);
	/* a damaged value does not block a fresh store either */
	put_a_answer(c, "x1.example.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	cr_assert_eq(get_answer(c, "x1.example.", 1, T0, out, &len, &fl, 0), 0);
	vg_cache_close(c);

	/* whole value replaced by short garbage */
	scribble_values("answer", junk, 5, false);
	c = open_default();
	cr_assert_eq(get_answer(c, "x1.example.", 1, T0, out, &len, &fl, 0), VG_ENOTFOUND);
	vg_cache_close(c);
}

Test(cache_faults, kill_9_during_write_burst_then_reopen_is_consistent_and_serves)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		struct vg_cache_opts o;
		opts_init(&o);
		o.map_size = 8u << 20; /* small: eviction runs during the burst too */
		struct vg_cache *c = NULL;
		if (vg_cache_open(&o, &c, NULL, 0) != 0)
			_exit(2);
		vg_cache_start_writer(c);
		char name[64];
		for (unsigned i = 0;; i++) {
			snprintf(name, sizeof(name), "k%u.example.", i);
			uint8_t q[VG_NAME_MAX];
			struct msg m;
			vg_name_from_text(name, q);
			msg_init(&m, name, 1, 0);
			msg_rr(&m, 1, name, 1, 3600, A1, 4);
			vg_cache_answer_put(c, q, 1, false, false, m.b, m.len, 0x15, 0, 0, T0);
			if (i == 2000) {
				vg_cache_sync(c);
				if (write(pfd[1], "x", 1) != 1)
					_exit(3);
			}
		}
	}
	close(pfd[1]);
	char x;
	cr_assert_eq(read(pfd[0], &x, 1), 1, "child did not start writing");
	close(pfd[0]);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFSIGNALED(status));

	struct vg_cache *c = open_default();
	struct vg_cache_stats st;
	cr_assert_eq(vg_cache_stats(c, &st), 0);
	cr_assert_gt(st.answers, 0);
	/* every stored entry decodes */
	FILE *devnull = fopen("/dev/null", "w");
	cr_assert_eq(vg_cache_dump(c, devnull, T0), 0);
	fclose(devnull);
	vg_cache_stats(c, &st);
	cr_assert_eq(st.corrupt, 0);
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	put_a_answer(c, "after.example.", 600, 0x15, 0, T0);
	vg_cache_sync(c);
	cr_assert_eq(get_answer(c, "after.example.", 1, T0, out, &len, &fl, 0), 0);
	cr_assert_eq(get_answer(c, "k2000.example.", 1, T0, out, &len, &fl, 0), 0,
		     "synced entry lost");
	vg_cache_close(c);
}

Test(cache_faults, damaged_btree_pages_fail_open_with_path_and_rebuild_on_option)
{
	struct vg_cache *c = open_default();
	char name[64];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "b%d.example.", i);
		put_a_answer(c, name, 600, 0x15, 0, T0);
	}
	vg_cache_close(c);
	/* keep both meta pages (LMDB opens fine), damage every other page's header */
	char path[128];
	path_of(path, sizeof(path), "data.mdb");
	struct stat sb;
	stat(path, &sb);
	int fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	uint8_t junk[64];
	memset(junk, 0xA5, sizeof(junk));
	for (off_t off = 2 * 4096; off < sb.st_size; off += 4096)
		cr_assert_eq(pwrite(fd, junk, sizeof(junk), off), (ssize_t)sizeof(junk));
	close(fd);
	expect_open_error_then_rebuild();
}

/* Under valgrind (memcheck with --error-exitcode, or callgrind for contrib/bench) the check child's
 * exit status is the tool's: only its report byte, or a crash with no report, may fail the open. */
Test(cache_faults, full_file_check_trusts_its_report_not_the_exit_status)
{
	cr_assert_eq(vg_cache_check_verdict(VG_CHECK_REPORT_OK, 9 << 8), VG_CHECK_OK,
		     "a tool's error exit code after a clean report is not damage");
	cr_assert_eq(vg_cache_check_verdict(VG_CHECK_REPORT_OK, 0), VG_CHECK_OK);
	cr_assert_eq(vg_cache_check_verdict(VG_CHECK_REPORT_DAMAGED, 0), VG_CHECK_DAMAGED);
	cr_assert_eq(vg_cache_check_verdict(-1, SIGSEGV), VG_CHECK_DAMAGED, "crash, no report");
	cr_assert_eq(vg_cache_check_verdict(-1, SIGBUS), VG_CHECK_DAMAGED);
	cr_assert_eq(vg_cache_check_verdict(-1, SIGALRM), VG_CHECK_DAMAGED, "hang: watchdog");
	cr_assert_eq(vg_cache_check_verdict(-1, 3 << 8), VG_CHECK_UNKNOWN,
		     "an exit without a report is inconclusive, not damage");
	cr_assert_eq(vg_cache_check_verdict(-1, SIGKILL), VG_CHECK_UNKNOWN);
}

/* The real check child, reporting through its pipe, passes a healthy file on every reopen. */
Test(cache_faults, full_file_check_passes_a_healthy_file)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "ok.example.", 600, 0x15, 0, T0);
	vg_cache_close(c);
	for (int i = 0; i < 2; i++) {
		c = open_default(); /* skip_verify is off: the child reads every page */
		uint8_t out[4096];
		size_t len;
		unsigned fl;
		cr_assert_eq(get_answer(c, "ok.example.", 1, T0 + 1, out, &len, &fl, 0), 0);
		vg_cache_close(c);
	}
}

static size_t set_ttl_one(uint8_t *nb, const MDB_val *old, const void *ctx)
{
	cr_assert_leq(old->mv_size, 4096);
	memcpy(nb, old->mv_data, old->mv_size);
	vg_put_u32(nb + 12, *(const uint32_t *)ctx);
	return old->mv_size;
}

/* Sets the stored TTL field (header bytes 12..15) of every value in DB `name`. */
static void patch_stored_ttl(const char *name, uint32_t ttl)
{
	edit_values(name, set_ttl_one, &ttl);
}

/* A TTL near 2^32 read back from the file would keep an entry live (and rank-protected) for
 * a century: it is damage, a miss, and a fresh store of the same rank replaces it. */
Test(cache_faults, stored_ttl_beyond_a_year_is_damage_not_a_century_of_life)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "big.example.", 600, 0x15, 0, T0);
	put_rrset(c, "big.example.", 1, 600, 0x15, 0, A1, 4, T0);
	vg_cache_close(c);
	patch_stored_ttl("answer", 0xFFFFFFF0u);
	patch_stored_ttl("rrset", 0x80000000u);
	c = open_default();
	uint8_t out[4096], buf[4096];
	size_t len;
	unsigned fl;
	struct vg_cache_rrset_view v;
	cr_assert_eq(get_answer(c, "big.example.", 1, T0 + 700, out, &len, &fl, 0), VG_ENOTFOUND);
	cr_assert_eq(get_rrset(c, "big.example.", 1, T0 + 700, 0, &v, buf), VG_ENOTFOUND);
	put_a_answer(c, "big.example.", 300, 0x15, 0, T0 + 700);
	put_rrset(c, "big.example.", 1, 300, 0x15, 0, A2, 4, T0 + 700);
	vg_cache_sync(c);
	cr_assert_eq(get_answer(c, "big.example.", 1, T0 + 701, out, &len, &fl, 0), 0);
	cr_assert_eq(get_rrset(c, "big.example.", 1, T0 + 701, 0, &v, buf), 0);
	cr_assert_eq(memcmp(v.rdata + 2, A2, 4), 0, "the fresh equal-rank RRset replaced it");
	vg_cache_close(c);
}

static size_t set_first_rr_ttl_one(uint8_t *nb, const MDB_val *old, const void *ctx)
{
	/* answer value: header (20), wire length, qname length, TTL offsets, wire */
	cr_assert_leq(old->mv_size, 4096);
	memcpy(nb, old->mv_data, old->mv_size);
	size_t n = vg_get_u16(nb + 6);
	cr_assert_gt(n, 0);
	size_t off = vg_get_u16(nb + 24);
	vg_put_u32(nb + 24 + 2 * n + off, *(const uint32_t *)ctx);
	return old->mv_size;
}

/* A record TTL in a stored answer is handed to clients after the age is subtracted: one beyond
 * what was ever stored (damage) is a miss, never a TTL with the top bit set on the wire. */
Test(cache_faults, stored_answer_rr_ttl_beyond_a_year_is_a_miss)
{
	struct vg_cache *c = open_default();
	put_a_answer(c, "rr.example.", 600, 0x15, 0, T0);
	vg_cache_close(c);
	uint32_t bad = 0xFFFFFF00u;
	edit_values("answer", set_first_rr_ttl_one, &bad);
	c = open_default();
	uint8_t out[4096];
	size_t len;
	unsigned fl;
	cr_assert_eq(get_answer(c, "rr.example.", 1, T0 + 1, out, &len, &fl, 0), VG_ENOTFOUND);
	struct vg_cache_stats st;
	vg_cache_stats(c, &st);
	cr_assert_geq(st.corrupt, 1);
	vg_cache_close(c);
}
