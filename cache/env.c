/* LMDB environment lifecycle: open with format/corruption checks, readers, stats, recency touches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "impl.h"
#include "vigil/err.h"
#include "vigil/hash.h"
#include "vigil/log.h"

static const char META_FORMAT[] = "format";
static const char META_MAGIC[] = "vigil-cache";

void vg_cache_opts_default(struct vg_cache_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->map_size = 512ull << 20;
	o->max_ttl = 86400;
	o->max_neg_ttl = 3600;
	o->stale_max = 86400;
	o->maxreaders = 126;
	o->high_water_pct = 85;
	o->low_water_pct = 70;
	o->sync_interval_ms = 5000;
	o->queue_max = 65536;
	o->queue_max_bytes = 32u << 20;
}

uint32_t vg_cache_now(struct vg_cache *c)
{
	if (c->o.clock)
		return c->o.clock(c->o.clock_ctx);
	return (uint32_t)time(NULL);
}

int vg_cache_mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return VG_ENOTFOUND;
	case MDB_MAP_FULL:
		return VG_ESPACE;
	case MDB_CORRUPTED:
	case MDB_INVALID:
	case MDB_PAGE_NOTFOUND:
	case MDB_INCOMPATIBLE:
		return VG_ECORRUPT;
	case MDB_VERSION_MISMATCH:
		return VG_EVERSION;
	default:
		return rc < 0 && rc > -4096 ? rc : (rc > 0 && rc < 4096 ? -rc : VG_ELMDB);
	}
}

static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Opens the env and DBIs, checks the file against what LMDB says it should hold, and the format
 * key. Returns 0, VG_ECORRUPT (bad/foreign file: err says why) or another error. */
static int try_open(struct vg_cache *c, char *err, size_t errlen)
{
	int rc = mdb_env_create(&c->env);
	if (rc)
		return vg_cache_mdb_err(rc);
	mdb_env_set_mapsize(c->env, c->o.map_size);
	mdb_env_set_maxdbs(c->env, 4);
	mdb_env_set_maxreaders(c->env, c->o.maxreaders);
	rc = mdb_env_open(c->env, c->o.dir, MDB_NOTLS | MDB_NOSYNC | MDB_NORDAHEAD, 0600);
	if (rc) {
		fmt_err(err, errlen, "%s: not a usable LMDB file: %s", c->path, mdb_strerror(rc));
		goto fail;
	}
	int dead = 0;
	mdb_reader_check(c->env, &dead);
	if (dead)
		vg_info("cache %s: cleared %d stale reader slot(s)", c->path, dead);

	/* A truncated file still has valid meta pages; pages past EOF would SIGBUS on access. */
	MDB_envinfo info;
	MDB_stat est;
	struct stat sb;
	mdb_env_info(c->env, &info);
	mdb_env_stat(c->env, &est);
	if (stat(c->path, &sb) != 0 ||
	    (uint64_t)sb.st_size < (uint64_t)(info.me_last_pgno + 1) * est.ms_psize) {
		rc = MDB_CORRUPTED;
		fmt_err(err, errlen, "%s: truncated (%lld bytes, LMDB expects %llu)", c->path,
			(long long)sb.st_size,
			(unsigned long long)(info.me_last_pgno + 1) * est.ms_psize);
		goto fail;
	}

	MDB_txn *txn;
	rc = mdb_txn_begin(c->env, NULL, 0, &txn);
	if (rc) {
		fmt_err(err, errlen, "%s: %s", c->path, mdb_strerror(rc));
		goto fail;
	}
	MDB_dbi main;
	MDB_stat ms;
	rc = mdb_dbi_open(txn, NULL, 0, &main);
	if (!rc)
		rc = mdb_stat(txn, main, &ms);
	if (rc) {
		mdb_txn_abort(txn);
		fmt_err(err, errlen, "%s: %s", c->path, mdb_strerror(rc));
		goto fail;
	}
	bool fresh = ms.ms_entries == 0;
	rc = mdb_dbi_open(txn, "meta", fresh ? MDB_CREATE : 0, &c->dbi_meta);
	MDB_val k = {.mv_size = sizeof(META_MAGIC) - 1, .mv_data = (void *)META_MAGIC}, v;
	if (!rc && !fresh) {
		rc = mdb_get(txn, c->dbi_meta, &k, &v);
		if (rc == MDB_NOTFOUND)
			rc = MDB_INCOMPATIBLE;
	}
	if (rc) {
		mdb_txn_abort(txn);
		fmt_err(err, errlen, "%s: an LMDB file that is not a vigil cache (%s)", c->path,
			mdb_strerror(rc));
		rc = MDB_INCOMPATIBLE;
		goto fail;
	}
	rc = mdb_dbi_open(txn, "rrset", MDB_CREATE, &c->dbi_rrset);
	if (!rc)
		rc = mdb_dbi_open(txn, "answer", MDB_CREATE, &c->dbi_answer);
	if (!rc)
		rc = mdb_dbi_open(txn, "nsec", MDB_CREATE, &c->dbi_nsec);
	if (rc) {
		mdb_txn_abort(txn);
		fmt_err(err, errlen, "%s: %s", c->path, mdb_strerror(rc));
		goto fail;
	}
	/* Format version: another version means every value may be laid out differently. */
	MDB_val fk = {.mv_size = sizeof(META_FORMAT) - 1, .mv_data = (void *)META_FORMAT}, fv;
	uint32_t have = 0;
	rc = mdb_get(txn, c->dbi_meta, &fk, &fv);
	if (rc == 0 && fv.mv_size == 4)
		have = vg_get_u32(fv.mv_data);
	if (have != VG_CACHE_FORMAT) {
		if (!fresh)
			vg_warn(
			    "cache %s: format version %u, this build uses %u: rebuilding the cache",
			    c->path, have, VG_CACHE_FORMAT);
		mdb_drop(txn, c->dbi_rrset, 0);
		mdb_drop(txn, c->dbi_answer, 0);
		mdb_drop(txn, c->dbi_nsec, 0);
		uint8_t b[4];
		vg_put_u32(b, VG_CACHE_FORMAT);
		fv.mv_size = 4;
		fv.mv_data = b;
		rc = mdb_put(txn, c->dbi_meta, &fk, &fv, 0);
		v.mv_size = 1;
		v.mv_data = "1";
		if (!rc)
			rc = mdb_put(txn, c->dbi_meta, &k, &v, 0);
		if (rc) {
			mdb_txn_abort(txn);
			fmt_err(err, errlen, "%s: %s", c->path, mdb_strerror(rc));
			goto fail;
		}
	}
	/* Touch the first and last entries: a damaged tree shows up here as an error. */
	MDB_dbi dbis[3] = {c->dbi_rrset, c->dbi_answer, c->dbi_nsec};
	for (int i = 0; i < 3 && !rc; i++) {
		MDB_cursor *cur;
		rc = mdb_cursor_open(txn, dbis[i], &cur);
		if (rc)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		mdb_cursor_close(cur);
	}
	if (!rc)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc) {
		fmt_err(err, errlen, "%s: %s", c->path, mdb_strerror(rc));
		goto fail;
	}
	return 0;
fail:
	mdb_env_close(c->env);
	c->env = NULL;
	return vg_cache_mdb_err(rc) == VG_ECORRUPT || vg_cache_mdb_err(rc) == VG_EVERSION
		   ? VG_ECORRUPT
		   : vg_cache_mdb_err(rc);
}

/* Some foreign or damaged files make LMDB itself misbehave: check the header bytes before
 * handing the file to it. LMDB's meta page carries its magic at a fixed place. */
static int precheck_file(struct vg_cache *c, char *err, size_t errlen)
{
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	uint8_t hdr[32];
	ssize_t n = read(fd, hdr, sizeof(hdr));
	struct stat sb;
	int st = fstat(fd, &sb);
	close(fd);
	if (st == 0 && sb.st_size == 0)
		return 0; /* an empty file is what LMDB creates first */
	/* Page header is 16 bytes (pgno u64, pad u16, flags u16, lower/upper); the meta's magic
	 * 0xBEEFC0DE follows as a host-order u32. */
	uint32_t magic = 0;
	if (n >= 20)
		memcpy(&magic, hdr + 16, 4);
	if (n < 20 || magic != 0xBEEFC0DEu) {
		fmt_err(err, errlen, "%s: not an LMDB file (corrupted, truncated or foreign)",
			c->path);
		return VG_ECORRUPT;
	}
	return 0;
}

enum vg_cache_check_verdict vg_cache_check_verdict(int report, int status)
{
	if (report == VG_CHECK_REPORT_OK)
		return VG_CHECK_OK;
	if (report == VG_CHECK_REPORT_DAMAGED)
		return VG_CHECK_DAMAGED;
	if (WIFSIGNALED(status)) {
		switch (WTERMSIG(status)) {
		case SIGSEGV:
		case SIGBUS:
		case SIGILL:
		case SIGFPE:
		case SIGABRT:
		case SIGALRM: /* the watchdog: a cycle of page pointers */
			return VG_CHECK_DAMAGED;
		default:
			break;
		}
	}
	return VG_CHECK_UNKNOWN;
}

/* The check child's work: returns its report byte. */
static char check_pages(const struct vg_cache *c, off_t file_size)
{
	MDB_env *env;
	MDB_txn *txn = NULL;
	MDB_dbi main;
	MDB_cursor *cur;
	char report = VG_CHECK_REPORT_OK; /* errors LMDB reports cleanly are left to try_open */
	if (mdb_env_create(&env))
		return report;
	if (mdb_env_set_maxdbs(env, 4) ||
	    mdb_env_open(env, c->o.dir, MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD, 0600))
		goto out;
	MDB_envinfo info;
	MDB_stat est;
	mdb_env_info(env, &info);
	mdb_env_stat(env, &est);
	if ((uint64_t)file_size < (uint64_t)(info.me_last_pgno + 1) * est.ms_psize)
		goto out; /* truncated: try_open says so */
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, NULL, 0, &main))
		goto out;
	/* the freelist too: the writer allocates from it */
	static const char *names[] = {NULL, "meta", "rrset", "answer", "nsec"};
	volatile uint8_t sink = 0;
	for (int i = 0; i < 5 && report == VG_CHECK_REPORT_OK; i++) {
		MDB_dbi dbi = 0; /* FREE_DBI */
		if (names[i] && mdb_dbi_open(txn, names[i], 0, &dbi))
			continue;
		if (mdb_cursor_open(txn, dbi, &cur))
			continue;
		MDB_val k, v;
		int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		while (rc == 0) {
			if (k.mv_size)
				sink ^= ((const uint8_t *)k.mv_data)[k.mv_size - 1];
			if (v.mv_size)
				sink ^= ((const uint8_t *)v.mv_data)[0] ^
					((const uint8_t *)v.mv_data)[v.mv_size - 1];
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		if (rc != MDB_NOTFOUND)
			report = VG_CHECK_REPORT_DAMAGED; /* LMDB noticed damage itself */
		mdb_cursor_close(cur);
	}
	(void)sink;
out:
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return report;
}

/* Reads every page of every DB in a child process. LMDB has no page checksums: a damaged branch or
 * leaf header makes it read wild pointers (SIGSEGV/SIGBUS) instead of returning MDB_CORRUPTED, and
 * a crash in the daemon is what this check exists to avoid. The child opens its own env (an env
 * must not cross fork) before the parent opens one.
 *
 * The child's verdict travels as one byte over a pipe, not as its exit status: under a tool such
 * as valgrind (contrib/bench runs vigild under callgrind; memcheck with --error-exitcode reports
 * the parent's heap the child inherited as leaked) the status is the tool's, not ours. Only the
 * byte, or a crash signal with no byte, decides; anything else is inconclusive and logged, and the
 * open goes on (try_open still reports what LMDB detects). */
static int deep_check(struct vg_cache *c, char *err, size_t errlen)
{
	struct stat sb;
	if (c->o.skip_verify || stat(c->path, &sb) != 0 || sb.st_size == 0)
		return 0;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return 0; /* cannot check: open as usual */
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return 0;
	}
	if (pid == 0) {
		close(pfd[0]);
		alarm(120); /* a cycle of page pointers must not hang startup */
		char report = check_pages(c, sb.st_size);
		ssize_t wn;
		do
			wn = write(pfd[1], &report, 1);
		while (wn < 0 && errno == EINTR);
		_exit(0);
	}
	close(pfd[1]);
	char byte = 0;
	ssize_t n;
	do
		n = read(pfd[0], &byte, 1);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	switch (vg_cache_check_verdict(n == 1 ? byte : -1, status)) {
	case VG_CHECK_OK:
		return 0;
	case VG_CHECK_UNKNOWN:
		vg_warn("cache %s: the full-file check ended without a verdict (status 0x%x): "
			"opening without it",
			c->path, (unsigned)status);
		return 0;
	case VG_CHECK_DAMAGED:
		break;
	}
	if (n == 1)
		fmt_err(err, errlen, "%s: damaged B-tree (LMDB reported it during the full read)",
			c->path);
	else if (WIFSIGNALED(status))
		fmt_err(err, errlen, "%s: damaged B-tree (reading it crashed a check process: %s)",
			c->path, strsignal(WTERMSIG(status)));
	else
		fmt_err(err, errlen, "%s: damaged B-tree (check process status %d)", c->path,
			WEXITSTATUS(status));
	return VG_ECORRUPT;
}

static int rebuild(struct vg_cache *c)
{
	char bad[sizeof(c->path) + 40];
	snprintf(bad, sizeof(bad), "%s.bad-%ld", c->path, (long)time(NULL));
	if (rename(c->path, bad) != 0)
		return -errno;
	char lock[sizeof(c->path) + 8];
	snprintf(lock, sizeof(lock), "%s/lock.mdb", c->o.dir);
	unlink(lock);
	vg_warn("cache %s: unusable, moved aside to %s; starting an empty cache", c->path, bad);
	return 0;
}

int vg_cache_open(const struct vg_cache_opts *opts, struct vg_cache **out, char *err, size_t errlen)
{
	if (!opts || !opts->dir || !out)
		return -EINVAL;
	struct vg_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = *opts;
	struct vg_cache_opts d;
	vg_cache_opts_default(&d);
	if (!c->o.map_size)
		c->o.map_size = d.map_size;
	if (!c->o.max_ttl)
		c->o.max_ttl = d.max_ttl;
	if (!c->o.max_neg_ttl)
		c->o.max_neg_ttl = d.max_neg_ttl;
	/* what is stored must pass vg_cval_hdr_decode's bound when read back */
	if (c->o.max_ttl > VG_CACHE_TTL_LIMIT)
		c->o.max_ttl = VG_CACHE_TTL_LIMIT;
	if (c->o.max_neg_ttl > VG_CACHE_TTL_LIMIT)
		c->o.max_neg_ttl = VG_CACHE_TTL_LIMIT;
	if (c->o.min_ttl > VG_CACHE_TTL_LIMIT)
		c->o.min_ttl = VG_CACHE_TTL_LIMIT;
	if (!c->o.maxreaders)
		c->o.maxreaders = d.maxreaders;
	if (!c->o.high_water_pct || c->o.high_water_pct > 98)
		c->o.high_water_pct = d.high_water_pct;
	if (!c->o.low_water_pct || c->o.low_water_pct >= c->o.high_water_pct)
		c->o.low_water_pct = c->o.high_water_pct * 4 / 5;
	if (!c->o.sync_interval_ms)
		c->o.sync_interval_ms = d.sync_interval_ms;
	if (!c->o.queue_max)
		c->o.queue_max = d.queue_max;
	if (!c->o.queue_max_bytes)
		c->o.queue_max_bytes = d.queue_max_bytes;
	snprintf(c->path, sizeof(c->path), "%s/data.mdb", c->o.dir);
	if (mkdir(c->o.dir, 0700) != 0 && errno != EEXIST) {
		int e = -errno;
		fmt_err(err, errlen, "%s: cannot create cache directory: %s", c->o.dir,
			strerror(errno));
		free(c);
		return e;
	}
	int rc = precheck_file(c, err, errlen);
	if (rc == 0)
		rc = deep_check(c, err, errlen);
	if (rc == 0)
		rc = try_open(c, err, errlen);
	if (rc == VG_ECORRUPT && c->o.rebuild_on_error) {
		vg_warn("cache: %s", err ? err : c->path);
		rc = rebuild(c);
		if (rc == 0)
			rc = try_open(c, err, errlen);
	}
	if (rc) {
		if (rc == VG_ECORRUPT)
			vg_err("cache: %s", err ? err : c->path);
		free(c);
		return rc;
	}
	MDB_stat es;
	mdb_env_stat(c->env, &es);
	vg_cache_evict_init(c, es.ms_psize);
	if (vg_cache_queue_init(c) < 0) {
		mdb_env_close(c->env);
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->apply_mu, NULL);
	pthread_cond_init(&c->wake_cv, NULL);
	pthread_cond_init(&c->done_cv, NULL);
	*out = c;
	return 0;
}

void vg_cache_close(struct vg_cache *c)
{
	if (!c)
		return;
	vg_cache_writer_stop(c);
	vg_cache_drain(c);
	mdb_env_sync(c->env, 1);
	mdb_env_close(c->env);
	free(c->stub);
	pthread_cond_destroy(&c->wake_cv);
	pthread_cond_destroy(&c->done_cv);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->apply_mu);
	free(c);
}

struct vg_cache_reader *vg_cache_reader_new(struct vg_cache *c)
{
	struct vg_cache_reader *rd = calloc(1, sizeof(*rd));
	if (!rd)
		return NULL;
	rd->c = c;
	if (getrandom(rd->touch_key, sizeof(rd->touch_key), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(rd->touch_key)) {
		/* No entropy yet (early boot): the address of the reader still differs per run. */
		rd->touch_key[0] = (uint64_t)(uintptr_t)rd;
		rd->touch_key[1] = (uint64_t)time(NULL);
	}
	int rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &rd->txn);
	if (rc) {
		vg_err("cache: cannot create a reader: %s", mdb_strerror(rc));
		free(rd);
		return NULL;
	}
	mdb_txn_reset(rd->txn);
	return rd;
}

void vg_cache_reader_free(struct vg_cache_reader *rd)
{
	if (!rd)
		return;
	mdb_txn_abort(rd->txn);
	free(rd);
}

int vg_cache_read_begin(struct vg_cache_reader *rd)
{
	if (vg_fails(!rd->active))
		return -EINVAL;
	/* Loaded first: a flush committed after this load raises the generation past it. */
	rd->gen = atomic_load(&rd->c->flush_gen);
	int rc = mdb_txn_renew(rd->txn);
	if (rc)
		return vg_cache_mdb_err(rc);
	rd->active = true;
	return 0;
}

uint64_t vg_cache_read_gen(const struct vg_cache_reader *rd)
{
	return rd->active ? rd->gen : 0;
}

uint64_t vg_cache_flush_gen(struct vg_cache *c)
{
	return atomic_load(&c->flush_gen);
}

void vg_cache_read_end(struct vg_cache_reader *rd)
{
	if (!rd->active)
		return;
	mdb_txn_reset(rd->txn);
	rd->active = false;
}

/* Keyed (the project's one hash, vigil/hash.h): the names come from clients, and a chosen
 * collision would suppress another entry's touch and so hasten its eviction. */
static uint32_t key_hash(const struct vg_cache_reader *rd, const uint8_t *k, size_t n, bool answer)
{
	uint64_t h = vg_siphash13(rd->touch_key, k, n);
	return ((uint32_t)(h >> 32) ^ (answer ? 0x2u : 0)) | 1;
}

void vg_cache_touch(struct vg_cache_reader *rd, bool answer, const uint8_t *key, size_t klen,
		    const struct vg_cval_hdr *h, uint32_t now)
{
	/* The stored stamp stays old until the writer commits the touch; the slot table keeps this
	 * worker from queueing the same touch on every hit meanwhile. */
	uint32_t hh = key_hash(rd, key, klen, answer);
	unsigned slot = hh % VG_CACHE_TOUCH_SLOTS;
	if (rd->touch_hash[slot] == hh && now - rd->touch_at[slot] < VG_CACHE_TOUCH_SECS)
		return;
	rd->touch_hash[slot] = hh;
	rd->touch_at[slot] = now;
	struct vg_cop *op = vg_cop_new(answer ? VG_COP_TOUCH_ANSWER : VG_COP_TOUCH_RRSET, klen, 0);
	if (!op)
		return;
	op->now = now;
	memcpy(op->data, key, klen);
	vg_cache_enqueue(rd->c, op);
}

int vg_cache_stats(struct vg_cache *c, struct vg_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	MDB_txn *txn;
	int rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return vg_cache_mdb_err(rc);
	MDB_stat s;
	MDB_envinfo info;
	mdb_env_info(c->env, &info);
	st->map_size = info.me_mapsize;
	uint64_t pages = 0;
	size_t psize = 4096;
	if (mdb_stat(txn, c->dbi_answer, &s) == 0) {
		st->answers = s.ms_entries;
		pages += s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages;
		psize = s.ms_psize;
	}
	MDB_cursor *cur;
	if (mdb_stat(txn, c->dbi_rrset, &s) == 0) {
		pages += s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages;
		if (mdb_cursor_open(txn, c->dbi_rrset, &cur) == 0) {
			MDB_val k, v;
			int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
			while (r == 0) {
				const uint8_t *p = v.mv_data;
				if (v.mv_size >= VG_CVAL_HDR && p[1] != VG_CACHE_POSITIVE)
					st->negatives++;
				else
					st->rrsets++;
				r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			}
			mdb_cursor_close(cur);
		}
	}
	mdb_txn_abort(txn);
	st->used_bytes = pages * psize;
	st->queued = atomic_load(&c->queued);
	st->queued_bytes = atomic_load(&c->queued_bytes);
	st->dropped = atomic_load(&c->st_dropped);
	st->committed = atomic_load(&c->st_committed);
	st->refused_rank = atomic_load(&c->st_refused);
	st->evicted = atomic_load(&c->st_evicted);
	st->evict_rounds = atomic_load(&c->st_rounds);
	st->corrupt = atomic_load(&c->st_corrupt);
	st->map_full = atomic_load(&c->st_map_full);
	st->touches = atomic_load(&c->st_touches);
	return 0;
}
