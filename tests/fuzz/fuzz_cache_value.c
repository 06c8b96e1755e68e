/* Fuzz target: the cache's value and key decoders (cache/key.c, rrset.c, answer.c), which read
 * bytes back from the cache file: those bytes are untrusted (STYLE pitfall 3). Also the answer
 * encoder, whose input is a reply message from the network. Input: one stored value / message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include "fuzz.h"
#include "impl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	return 0;
}

static uint8_t buf[1 << 17];

/* A decoded positive view must describe exactly the bytes it points to. */
static void check_rdata_seq(const uint8_t *p, size_t len, unsigned count)
{
	size_t pos = 0;
	for (unsigned i = 0; i < count; i++) {
		VG_FUZZ_CHECK(pos + 2 <= len);
		pos += 2 + (size_t)vg_get_u16(p + pos);
	}
	VG_FUZZ_CHECK(pos == len);
}

static void fuzz_rrset(const uint8_t *v, size_t len)
{
	struct vg_cval_hdr h;
	struct vg_cache_rrset_view view;
	int rc = vg_rrset_decode(v, len, &h, NULL, 0, &view);
	VG_FUZZ_CHECK(rc == 0 || rc == VG_ECORRUPT);
	int rc2 = vg_rrset_decode(v, len, &h, buf, sizeof(buf), &view);
	VG_FUZZ_CHECK(rc2 == rc || rc2 == VG_ESPACE);
	if (rc2 != 0)
		return;
	if (view.kind == VG_CACHE_POSITIVE) {
		check_rdata_seq(view.rdata, view.rdata_len, view.rr_count);
		check_rdata_seq(view.sigs, view.sigs_len, view.sig_count);
	} else {
		int ol = vg_name_len(view.soa_owner, VG_NAME_MAX);
		VG_FUZZ_CHECK(ol > 0);
		VG_FUZZ_CHECK(view.soa_rdata + view.soa_rdlen <= view.proof);
	}
	/* A small buffer must be refused, never overrun (ASan watches the heap copy). */
	size_t need = len - VG_CVAL_HDR - VG_CRS_BODY;
	if (need > 0) {
		uint8_t *small = malloc(need - 1 ? need - 1 : 1);
		if (small) {
			VG_FUZZ_CHECK(vg_rrset_decode(v, len, &h, small, need - 1, &view) ==
				      VG_ESPACE);
			free(small);
		}
	}
}

static void fuzz_answer_encode(const uint8_t *wire, size_t len)
{
	uint8_t qname[VG_NAME_MAX];
	size_t pos = 12;
	if (len < 12 || vg_name_unpack(wire, len, &pos, qname) <= 0)
		return;
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.min_ttl = len & 0x0F; /* vary the clamps a little */
	uint8_t *val = NULL;
	size_t vlen = 0;
	uint32_t now = 1700000000u;
	int rc = vg_answer_encode(&o, wire, len, qname, VG_RANK_AUTH_ANSWER, VG_SEC_INSECURE, 0,
				  now, &val, &vlen);
	if (rc != 0)
		return;
	/* What the encoder writes, the reader's validator must accept. */
	VG_FUZZ_CHECK(vg_answer_valid(val, vlen));
	struct vg_cval_hdr h;
	VG_FUZZ_CHECK(vg_cval_hdr_decode(val, vlen, &h) == 0 && h.ttl > 0);
	free(val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65535 + 4096)
		return 0;
	fuzz_rrset(data, size);
	(void)vg_answer_valid(data, size);
	uint8_t name[VG_NAME_MAX], dob;
	uint16_t type;
	if (vg_ckey_parse(data, size, false, name, &type, &dob) == 0)
		VG_FUZZ_CHECK(vg_name_len(name, VG_NAME_MAX) > 0 && dob == 0);
	if (vg_ckey_parse(data, size, true, name, &type, &dob) == 0) {
		VG_FUZZ_CHECK(vg_name_len(name, VG_NAME_MAX) > 0);
		/* the key built from the parsed parts is the same key */
		uint8_t key[VG_CKEY_MAX];
		int kl = vg_ckey_answer(key, name, type, dob & VG_CKEY_DO, dob & VG_CKEY_CD);
		VG_FUZZ_CHECK(kl == (int)size);
	}
	if (size <= 65535)
		fuzz_answer_encode(data, size);
	return 0;
}
