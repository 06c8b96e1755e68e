/* Shared by the fuzz targets that start from a damaged cache file: writes raw entries, read from
 * the input, straight into the LMDB DBs (bypassing every encoder), under realistic keys. */
#ifndef VIGIL_TESTS_FUZZ_CACHE_LOAD_H
#define VIGIL_TESTS_FUZZ_CACHE_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "fuzz.h"
#include "impl.h"

/* The names the slots refer to (wire format). */
static const uint8_t n_root[] = {0};
static const uint8_t n_com[] = {3, 'c', 'o', 'm', 0};
static const uint8_t n_ex[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
/* clang-format off */
static const uint8_t n_www[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
				'o', 'm', 0};
static const uint8_t n_ns1[] = {3, 'n', 's', '1', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
				'o', 'm', 0};
/* clang-format on */

struct slot {
	bool answer;
	const uint8_t *name;
	uint16_t type; /* rrset DB: 0 = the name's NXDOMAIN entry; the NS cuts are delegations */
	bool do_bit, cd_bit;
};

static const struct slot slots[] = {
    {false, n_www, 1, false, false},
    {false, n_www, 0, false, false},
    {false, n_ex, VG_CKEY_T_DELEG, false, false},
    {false, n_com, VG_CKEY_T_DELEG, false, false},
    {false, n_root, VG_CKEY_T_DELEG, false, false},
    {false, n_ex, 43, false, false},
    {false, n_www, 28, false, false},
    {false, n_www, 5, false, false},
    {true, n_www, 1, false, false},
    {true, n_www, 1, true, false},
    {true, n_ex, 28, false, true},
    {true, n_com, 2, true, true},
    {false, n_ns1, 1, false, false},
    {false, n_ex, 6, false, false},
    {false, n_ex, 0, false, false},
    {false, n_ex, 39, false, false},
};
#define N_SLOTS (sizeof(slots) / sizeof(slots[0]))

/* Empties the rrset and answer DBs, then writes entries from in->p[in->pos .. end):
 *   { u8 slot, [u8 klen, klen bytes,] u16 vlen, vlen bytes }*
 * slot < 0x80 picks one of the keys above; otherwise the key follows (klen 1..255: a damaged
 * key), into the answer DB when bit 0x40 is set. Aborts on LMDB errors (the harness is broken). */
static inline void vg_fuzz_cache_load(struct vg_cache *c, struct vg_fuzz_in *in, size_t end)
{
	MDB_txn *txn;
	if (end > in->len)
		end = in->len;
	if (mdb_txn_begin(c->env, NULL, 0, &txn) != 0)
		abort();
	mdb_drop(txn, c->dbi_rrset, 0);
	mdb_drop(txn, c->dbi_answer, 0);
	while (in->pos < end) {
		uint8_t sel = vg_fuzz_u8(in);
		uint8_t key[256];
		int kl;
		bool answer;
		if (sel & 0x80) {
			answer = sel & 0x40;
			kl = vg_fuzz_u8(in);
			if (kl == 0)
				kl = 1;
			for (int i = 0; i < kl; i++)
				key[i] = vg_fuzz_u8(in);
		} else {
			const struct slot *s = &slots[sel % N_SLOTS];
			answer = s->answer;
			kl = s->answer ? vg_ckey_answer(key, s->name, s->type, s->do_bit, s->cd_bit)
				       : vg_ckey_rrset(key, s->name, s->type);
		}
		size_t vlen = vg_fuzz_u16(in);
		if (in->pos > end || vlen > end - in->pos)
			vlen = in->pos > end ? 0 : end - in->pos;
		MDB_val k = {.mv_size = (size_t)kl, .mv_data = key};
		MDB_val v = {.mv_size = vlen, .mv_data = (void *)(in->p + in->pos)};
		if (vlen == 0)
			v.mv_data = (void *)"";
		in->pos += vlen;
		if (mdb_put(txn, answer ? c->dbi_answer : c->dbi_rrset, &k, &v, 0) != 0) {
			/* Map full (a small map is how the targets reach eviction): start from an
			 * empty cache instead, so the run stays deterministic. */
			mdb_txn_abort(txn);
			if (mdb_txn_begin(c->env, NULL, 0, &txn) != 0)
				abort();
			mdb_drop(txn, c->dbi_rrset, 0);
			mdb_drop(txn, c->dbi_answer, 0);
			break;
		}
	}
	if (in->pos < end)
		in->pos = end;
	if (mdb_txn_commit(txn) != 0)
		abort();
}

#endif
