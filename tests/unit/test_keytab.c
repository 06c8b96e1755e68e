/* The per-worker key table (resolver/keytab.c): entries live until their wall-clock end and
 * while the cache's flush generation is unchanged; bogus outcomes and oversized sets are never
 * kept; a bucket that is full gives up the entry that ends first. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <vigil/arena.h>
#include <vigil/cache.h>
#include <vigil/name.h>
#include "keytab.h"

static const uint64_t KEY[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};

static const uint8_t *w(const char *text)
{
	static uint8_t buf[8][VG_NAME_MAX];
	static int i;
	uint8_t *out = buf[i++ % 8];
	cr_assert_gt(vg_name_from_text(text, out), 0, "%s", text);
	return out;
}

/* A DNSKEY-like set of two records and one RRSIG expiring at `sig_expire` (validator clock). */
struct fixture {
	uint8_t k1[36], k2[68], sig[40];
	struct vg_rdata_ref rd[2], sg[1];
	struct vg_rrset_view v;
};

static void fixture(struct fixture *f, const uint8_t *owner, uint32_t sig_expire)
{
	memset(f, 0, sizeof(*f));
	memset(f->k1, 0x11, sizeof(f->k1));
	memset(f->k2, 0x22, sizeof(f->k2));
	memset(f->sig, 0x33, sizeof(f->sig));
	f->sig[8] = (uint8_t)(sig_expire >> 24);
	f->sig[9] = (uint8_t)(sig_expire >> 16);
	f->sig[10] = (uint8_t)(sig_expire >> 8);
	f->sig[11] = (uint8_t)sig_expire;
	f->rd[0] = (struct vg_rdata_ref){f->k1, sizeof(f->k1)};
	f->rd[1] = (struct vg_rdata_ref){f->k2, sizeof(f->k2)};
	f->sg[0] = (struct vg_rdata_ref){f->sig, sizeof(f->sig)};
	f->v = (struct vg_rrset_view){.owner = owner,
				      .type = 48,
				      .rclass = 1,
				      .ttl = 3600,
				      .rd = f->rd,
				      .n_rd = 2,
				      .sig = f->sg,
				      .n_sig = 1};
}

Test(keytab, secure_entry_holds_its_keys_until_its_end_on_the_wall_clock)
{
	struct vg_keytab *t = vg_keytab_new(KEY);
	cr_assert_not_null(t);
	struct fixture f;
	fixture(&f, w("Example.ORG."), (uint32_t)time(NULL) + 86400);
	uint32_t now = 1000000;
	cr_assert_eq(vg_keytab_put(t, w("Example.ORG."), VG_SEC_SECURE, 0, "cached DNSKEY", &f.v,
				   now, now + 300, 7),
		     0);
	memset(f.k1, 0, sizeof(f.k1)); /* the entry holds its own copy */
	const struct vg_keytab_entry *e = vg_keytab_get(t, w("example.org."), now + 299, 7);
	cr_assert_not_null(e, "found in any case, one second before its end");
	cr_expect_eq(e->sec, VG_SEC_SECURE);
	cr_expect(vg_name_eq(e->keys.owner, w("example.org.")));
	cr_assert_eq(e->keys.n_rd, 2);
	cr_assert_eq(e->keys.n_sig, 1);
	cr_expect_eq(e->keys.rd[0].len, 36);
	cr_expect_eq(e->keys.rd[0].data[0], 0x11);
	cr_expect_eq(e->keys.rd[1].data[67], 0x22);
	cr_expect_eq(e->keys.sig[0].data[0], 0x33);
	cr_expect_str_eq(e->why, "cached DNSKEY");

	/* A copy into a request's arena outlives the entry. */
	struct vg_arena a;
	vg_arena_init(&a, 4096, 0);
	struct vg_rrset_view copy;
	cr_assert(vg_keytab_copy_keys(e, &a, &copy));
	vg_keytab_clear(t);
	cr_expect_eq(vg_keytab_count(t), 0);
	cr_expect_eq(copy.n_rd, 2);
	cr_expect_eq(copy.rd[1].len, 68);
	cr_expect_eq(copy.rd[1].data[0], 0x22);
	cr_expect_eq(copy.sig[0].data[1], 0x33);
	cr_expect(vg_name_eq(copy.owner, w("example.org.")));
	vg_arena_free(&a);

	/* At its end (the wall clock moved on: a harness fakes it) it is gone, and dropped. */
	cr_assert_eq(
	    vg_keytab_put(t, w("example.org."), VG_SEC_SECURE, 0, "x", &f.v, now, now + 300, 7), 0);
	cr_expect_eq(vg_keytab_count(t), 1);
	cr_expect_null(vg_keytab_get(t, w("example.org."), now + 300, 7));
	cr_expect_eq(vg_keytab_count(t), 0);
	cr_expect_null(vg_keytab_get(t, w("example.org."), now, 7), "dropped, not hidden");
	vg_keytab_free(t);
}

Test(keytab, a_name_inside_a_zone_keeps_its_zones_keys_and_owner)
{
	/* The walk found no delegation at www.example.org.: its keys are example.org.'s, and the
	 * RRSIGs they check name example.org. as signer, so the owner must stay the zone's. */
	struct vg_keytab *t = vg_keytab_new(KEY);
	struct fixture f;
	fixture(&f, w("example.org."), (uint32_t)time(NULL) + 86400);
	vg_keytab_put(t, w("www.example.org."), VG_SEC_SECURE, 0, "inside", &f.v, 10, 100, 0);
	const struct vg_keytab_entry *e = vg_keytab_get(t, w("WWW.example.org."), 10, 0);
	cr_assert_not_null(e);
	cr_expect(vg_name_eq(e->name, w("www.example.org.")));
	cr_expect(vg_name_eq(e->keys.owner, w("example.org.")));
	vg_keytab_free(t);
}

Test(keytab, a_flush_of_the_cache_outdates_every_entry)
{
	struct vg_keytab *t = vg_keytab_new(KEY);
	uint32_t now = 5000;
	cr_assert_eq(
	    vg_keytab_put(t, w("plain.org."), VG_SEC_INSECURE, 0, "no DS", NULL, now, now + 600, 3),
	    0);
	const struct vg_keytab_entry *e = vg_keytab_get(t, w("plain.org."), now, 3);
	cr_assert_not_null(e);
	cr_expect_eq(e->sec, VG_SEC_INSECURE);
	cr_expect_eq(e->keys.n_rd, 0);
	cr_expect_null(vg_keytab_get(t, w("plain.org."), now, 4), "the cache was flushed since");
	cr_expect_null(vg_keytab_get(t, w("plain.org."), now, 3));
	vg_keytab_free(t);
}

Test(keytab, bogus_indeterminate_expired_and_oversized_outcomes_are_not_kept)
{
	struct vg_keytab *t = vg_keytab_new(KEY);
	struct fixture f;
	fixture(&f, w("org."), (uint32_t)time(NULL) + 86400);
	uint32_t now = 100;
	vg_keytab_put(t, w("bogus.org."), VG_SEC_BOGUS, 6, "bad", NULL, now, now + 60, 0);
	vg_keytab_put(t, w("x.org."), VG_SEC_INDETERMINATE, 0, "?", NULL, now, now + 60, 0);
	vg_keytab_put(t, w("y.org."), VG_SEC_INSECURE, 0, "no DS", NULL, now, now, 0);
	vg_keytab_put(t, w("z.org."), VG_SEC_SECURE, 0, "no keys", NULL, now, now + 60, 0);
	cr_expect_eq(vg_keytab_count(t), 0);
	/* A set larger than VG_KEYTAB_ENTRY_MAX: the chain is rebuilt from the cache for it. */
	static uint8_t big[VG_KEYTAB_ENTRY_MAX];
	f.rd[1] = (struct vg_rdata_ref){big, sizeof(big)};
	vg_keytab_put(t, w("org."), VG_SEC_SECURE, 0, "big", &f.v, now, now + 60, 0);
	cr_expect_eq(vg_keytab_count(t), 0);
	vg_keytab_free(t);
}

Test(keytab, signatures_that_end_before_the_ttl_end_the_entry)
{
	struct fixture f;
	uint32_t vnow = vg_dnssec_now();
	fixture(&f, w("org."), vnow + 120);
	/* On another timeline (the cache's wall clock, faked): the seconds left count. */
	cr_expect_eq(vg_keytab_sig_until(&f.v, 1000, 1000 + 3600), 1000 + 120, "%u",
		     vg_keytab_sig_until(&f.v, 1000, 1000 + 3600));
	fixture(&f, w("org."), vnow + 7200);
	cr_expect_eq(vg_keytab_sig_until(&f.v, 1000, 1000 + 3600), 1000 + 3600);
	fixture(&f, w("org."), vnow - 1);
	cr_expect_eq(vg_keytab_sig_until(&f.v, 1000, 1000 + 3600), 1000, "expired: ends now");
}

Test(keytab, a_full_bucket_gives_up_the_entry_that_ends_first)
{
	struct vg_keytab *t = vg_keytab_new(KEY);
	uint32_t now = 1;
	char name[64];
	/* More names than slots: the table stays bounded and keeps working. */
	for (int i = 0; i < 3 * VG_KEYTAB_SLOTS; i++) {
		snprintf(name, sizeof(name), "z%d.example.", i);
		vg_keytab_put(t, w(name), VG_SEC_INSECURE, 0, "no DS", NULL, now, now + 10 + i, 0);
	}
	cr_expect_leq(vg_keytab_count(t), VG_KEYTAB_SLOTS);
	cr_expect_gt(vg_keytab_count(t), VG_KEYTAB_SLOTS / 2);
	/* The last name put is always there: it replaced the entry ending first in its bucket. */
	cr_expect_not_null(vg_keytab_get(t, w(name), now, 0));
	/* Putting the same name again replaces it in place. */
	size_t n = vg_keytab_count(t);
	vg_keytab_put(t, w(name), VG_SEC_INSECURE, 0, "again", NULL, now, now + 5, 0);
	cr_expect_eq(vg_keytab_count(t), n);
	cr_expect_str_eq(vg_keytab_get(t, w(name), now, 0)->why, "again");
	vg_keytab_free(t);
}
