/* Fuzz target: name decompression (vg_name_unpack) and the conversions a decoded name goes through
 * (lookup format, presentation form, comparison). Input: a packet; the first byte picks where
 * in it the name starts, so pointers can target earlier bytes. */
#include <stdint.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vg_fuzz_init_log();
	return 0;
}

static bool has_zero_byte_label(const uint8_t *name)
{
	for (const uint8_t *p = name; *p; p += 1 + *p)
		if (memchr(p + 1, 0, *p))
			return true;
	return false;
}

/* Properties every successfully decoded name must have. */
static void check_name(const uint8_t *name, int n)
{
	VG_FUZZ_CHECK(n > 0 && n <= VG_NAME_MAX);
	VG_FUZZ_CHECK(vg_name_len(name, (size_t)n) == n);
	VG_FUZZ_CHECK(vg_name_eq(name, name));
	int labels = vg_name_labels(name);
	VG_FUZZ_CHECK(labels >= 0 && labels <= 127);
	for (int k = 0; k <= labels; k++)
		VG_FUZZ_CHECK(vg_name_in_zone(name, vg_name_suffix(name, k)));

	uint8_t low[VG_NAME_MAX];
	memcpy(low, name, (size_t)n);
	vg_name_lower(low);
	VG_FUZZ_CHECK(vg_name_eq(low, name));

	/* Lookup format round trip (labels holding 0x00 are refused: they would be ambiguous). */
	uint8_t key[VG_NAME_MAX], back[VG_NAME_MAX];
	int kl = vg_name_to_lookup(name, key, sizeof(key));
	if (has_zero_byte_label(name)) {
		VG_FUZZ_CHECK(kl == VG_EFORMAT);
	} else {
		VG_FUZZ_CHECK(kl == n - 1);
		VG_FUZZ_CHECK(vg_name_from_lookup(key, (size_t)kl, back) == n);
		VG_FUZZ_CHECK(memcmp(back, low, (size_t)n) == 0);
	}

	/* Presentation form round trip, keeping case. */
	char text[VG_NAME_TEXT_MAX];
	int tl = vg_name_to_text(name, text, sizeof(text));
	VG_FUZZ_CHECK(tl > 0 && (size_t)tl < sizeof(text) && strlen(text) == (size_t)tl);
	int bl = vg_name_from_text(text, back);
	VG_FUZZ_CHECK(bl == n);
	VG_FUZZ_CHECK(memcmp(back, name, (size_t)n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65535)
		return 0;
	const uint8_t *pkt = data + 1;
	size_t len = size - 1;
	size_t start = len ? data[0] % len : 0;
	uint8_t name[VG_NAME_MAX];

	size_t pos = start;
	int n = vg_name_unpack(pkt, len, &pos, name);
	VG_FUZZ_CHECK(n > 0 || n == VG_EFORMAT || n == VG_ETRUNC || n == VG_ELOOP);
	if (n > 0) {
		VG_FUZZ_CHECK(pos > start && pos <= len);
		size_t pos2 = start;
		VG_FUZZ_CHECK(vg_name_unpack(pkt, len, &pos2, NULL) == n && pos2 == pos);
		check_name(name, n);
	}

	/* The same bytes as an uncompressed name, as lookup-format key and as text. */
	n = vg_name_len(pkt, len);
	if (n > 0)
		check_name(pkt, n);
	uint8_t out[VG_NAME_MAX];
	n = vg_name_from_lookup(pkt, len, out);
	if (n > 0)
		check_name(out, n);
	char text[VG_NAME_TEXT_MAX + 1];
	size_t tl = len < VG_NAME_TEXT_MAX ? len : VG_NAME_TEXT_MAX;
	memcpy(text, pkt, tl);
	text[tl] = 0;
	n = vg_name_from_text(text, out);
	if (n > 0)
		check_name(out, n);
	return 0;
}
