/* Unit tests of the trust anchors: built-in root DS, anchor files (DS and DNSKEY, islands of
 * trust), negative trust anchors, closest-enclosing lookup, and errors with file and line. */
#include <criterion/criterion.h>
#include <string.h>
#include <vigil/anchor.h>
#include <vigil/resolver.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/roothints.h>
#include "anchor.h"

static struct vg_anchors *T;
static char err[512];

static void setup(void)
{
	cr_assert_eq(vg_anchors_new(&T), 0);
	err[0] = 0;
}

static void teardown(void)
{
	vg_anchors_free(T);
}

TestSuite(anchor, .init = setup, .fini = teardown);

static const uint8_t *w(const char *text)
{
	static uint8_t buf[4][VG_NAME_MAX];
	static int k;
	uint8_t *b = buf[k++ & 3];
	cr_assert_gt(vg_name_from_text(text, b), 0);
	return b;
}

#define ROOT_DS                                                                                    \
	". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
static const char CORP_KEY[] =
    "; an island of trust\n"
    "$ORIGIN example.\n"
    "corp 3600 IN DNSKEY 257 3 13 (\n"
    "\tGojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n"
    "\tkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== ) ; RFC 6605's example key\n";

Test(anchor, builtin_root_anchors_come_from_dns_root_data)
{
	cr_assert_eq(vg_anchors_add_builtin(T), 0);
	const struct vg_anchor_point *p = vg_anchors_lookup(T, w("www.example.com."));
	cr_assert_not_null(p);
	cr_assert_eq(p->zone[0], 0, "the root");
	cr_assert_not(p->nta);
	cr_assert_eq(p->ds.type, 43);
	cr_assert_geq(p->ds.n_rd, 1);
	/* every DS line of the embedded file, KSK-2017 (20326) among them */
	size_t lines = 0;
	for (const char *s = vg_builtin_root_ds; (s = strstr(s, " DS ")); s++)
		lines++;
	cr_assert_eq(p->ds.n_rd, lines);
	bool k2017 = false;
	for (size_t i = 0; i < p->ds.n_rd; i++)
		k2017 |= vg_get_u16(p->ds.rd[i].data) == 20326;
	cr_assert(k2017);
	cr_assert_eq(p->dnskey.n_rd, 0);
}

Test(anchor, islands_of_trust_and_closest_lookup)
{
	cr_assert_eq(vg_anchors_add_text(T, "root.ds", ROOT_DS, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vg_anchors_add_text(T, "corp.key", CORP_KEY, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vg_anchors_count(T), 2);
	const struct vg_anchor_point *p = vg_anchors_lookup(T, w("Host.CORP.example."));
	cr_assert_not_null(p);
	cr_assert(vg_name_eq(p->zone, w("corp.example.")));
	cr_assert_eq(p->dnskey.n_rd, 1);
	cr_assert_eq(p->ds.n_rd, 0);
	cr_assert_eq(vg_dnssec_keytag(p->dnskey.rd[0].data, p->dnskey.rd[0].len), 55648);
	p = vg_anchors_lookup(T, w("example."));
	cr_assert_eq(p->zone[0], 0, "example. itself is under the root anchor only");
	cr_assert(vg_name_eq(vg_anchors_lookup(T, w("corp.example."))->zone, w("corp.example.")));
}

Test(anchor, an_island_alone_leaves_other_names_without_anchor)
{
	cr_assert_eq(vg_anchors_add_text(T, "corp.key", CORP_KEY, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(vg_anchors_lookup(T, w("www.example.")));
	cr_assert_not_null(vg_anchors_lookup(T, w("a.corp.example.")));
}

Test(anchor, negative_trust_anchors)
{
	cr_assert_eq(vg_anchors_add_builtin(T), 0);
	cr_assert_eq(vg_anchors_add_text(T, "corp.key", CORP_KEY, err, sizeof(err)), 0);
	cr_assert_eq(vg_anchors_add_nta(T, w("example.")), 0);
	cr_assert_eq(vg_anchors_add_nta(T, w("Broken.TEST.")), 0);
	const struct vg_anchor_point *p = vg_anchors_lookup(T, w("www.example."));
	cr_assert(p && p->nta);
	p = vg_anchors_lookup(T, w("x.corp.example."));
	cr_assert(p && !p->nta, "an anchor below an NTA still applies");
	p = vg_anchors_lookup(T, w("a.broken.test."));
	cr_assert(p && p->nta);
	p = vg_anchors_lookup(T, w("ok.test."));
	cr_assert(p && !p->nta && p->zone[0] == 0);
	/* an NTA at an anchor's own zone wins */
	cr_assert_eq(vg_anchors_add_nta(T, w("corp.example.")), 0);
	cr_assert(vg_anchors_lookup(T, w("x.corp.example."))->nta);
}

static void bad(const char *text, const char *want)
{
	int rc = vg_anchors_add_text(T, "ta.conf", text, err, sizeof(err));
	cr_assert_eq(rc, VG_ECONFIG, "%s", text);
	cr_assert_str_eq(err, want);
	err[0] = 0;
	cr_assert_eq(vg_anchor_text_check("ta.conf", text, err, sizeof(err)), VG_ECONFIG);
	cr_assert_str_eq(err, want);
}

Test(anchor, bad_files_name_file_line_and_reason)
{
	bad("; nothing\n\n", "ta.conf: no DS or DNSKEY record");
	bad(ROOT_DS "\nexample. IN NS ns.example.\n",
	    "ta.conf:3: NS record: a trust anchor is a DS or DNSKEY record");
	bad(". IN DS 20326 8 2 E06D44B80B8F1D39\n",
	    "ta.conf:1: DS digest has 8 bytes, digest type 2 needs 32");
	bad("example. IN DNSKEY 0 3 13 "
	    "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+"
	    "KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n",
	    "ta.conf:1: DNSKEY is not a zone key (flags need bit 7, protocol 3)");
	int rc = vg_anchors_add_text(T, "ta.conf", "\n\n. IN DS 20326 8 2 zz-not-hex\n", err,
				     sizeof(err));
	cr_assert_eq(rc, VG_ECONFIG);
	cr_assert(strncmp(err, "ta.conf:3: ", 11) == 0, "%s", err);
}

Test(anchor, unsupported_algorithms_are_accepted_as_anchors)
{
	/* RFC 6840 5.2: such an anchor makes its zone insecure, it is not an error */
	cr_assert_eq(vg_anchors_add_text(T, "ta",
					 "example. IN DS 1 253 2 "
					 "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC6834"
					 "57104237C7F8EC8D\n",
					 err, sizeof(err)),
		     0, "%s", err);
}

Test(anchor, from_opts_uses_files_or_the_builtin_root)
{
	struct vg_dnssec_opts o = {.enabled = true};
	cr_assert_eq(vg_anchors_from_opts(T, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vg_anchors_lookup(T, w("com."))->zone[0], 0);
	vg_anchors_free(T);
	cr_assert_eq(vg_anchors_new(&T), 0);
	const char *files[] = {"corp.key"}, *texts[] = {CORP_KEY};
	uint8_t nta[1][256];
	memcpy(nta[0], w("a.corp.example."), 17);
	o.anchor_names = files;
	o.anchor_texts = texts;
	o.n_anchors = 1;
	o.nta = (const uint8_t(*)[256])nta;
	o.n_nta = 1;
	cr_assert_eq(vg_anchors_from_opts(T, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(vg_anchors_lookup(T, w("com.")), "files replace the built-in anchors");
	cr_assert_not(vg_anchors_lookup(T, w("b.corp.example."))->nta);
	cr_assert(vg_anchors_lookup(T, w("x.a.corp.example."))->nta);
}
