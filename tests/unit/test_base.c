/* Unit tests of the base library: names (decompression rules, lookup format, text), arena, errors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <vigil/addr.h>
#include <vigil/base.h>
#include <vigil/dns.h>
#include <vigil/file.h>
#include <vigil/hash.h>

static size_t wire(const char *text, uint8_t *out)
{
	int n = vg_name_from_text(text, out);
	cr_assert_gt(n, 0, "bad test name %s", text);
	return (size_t)n;
}

Test(name, text_roundtrip)
{
	uint8_t w[VG_NAME_MAX];
	char t[VG_NAME_TEXT_MAX];
	cr_assert_eq(wire("www.Example.COM.", w), 17);
	cr_assert_eq(vg_name_to_text(w, t, sizeof(t)), 16);
	cr_assert_str_eq(t, "www.Example.COM.");
	cr_assert_eq(wire("relative", w), 10);
	vg_name_to_text(w, t, sizeof(t));
	cr_assert_str_eq(t, "relative.");
	cr_assert_eq(wire(".", w), 1);
	cr_assert_eq(w[0], 0);
	cr_assert_eq(wire("a\\.b.c", w), 7);
	vg_name_to_text(w, t, sizeof(t));
	cr_assert_str_eq(t, "a\\.b.c.");
	cr_assert_eq(wire("\\000x.", w), 4);
	vg_name_to_text(w, t, sizeof(t));
	cr_assert_str_eq(t, "\\000x.");
}

Test(name, rejects_bad_text)
{
	uint8_t w[VG_NAME_MAX];
	char label[80];
	memset(label, 'a', 64);
	label[64] = 0;
	cr_assert_lt(vg_name_from_text(label, w), 0, "label of 64 accepted");
	label[63] = 0;
	cr_assert_gt(vg_name_from_text(label, w), 0);
	cr_assert_lt(vg_name_from_text("a..b", w), 0);
	cr_assert_lt(vg_name_from_text("", w), 0);
	char longname[400] = "";
	for (int i = 0; i < 64; i++)
		strcat(longname, "abc.");
	cr_assert_lt(vg_name_from_text(longname, w), 0, "name over 255 accepted");
}

Test(name, lookup_format_reverses_and_lowercases)
{
	uint8_t w[VG_NAME_MAX], k[VG_NAME_MAX], back[VG_NAME_MAX];
	wire("www.Example.COM.", w);
	int n = vg_name_to_lookup(w, k, sizeof(k));
	cr_assert_eq(n, 16);
	cr_assert(memcmp(k, "com\0example\0www\0", 16) == 0);
	cr_assert_eq(vg_name_from_lookup(k, (size_t)n, back), 17);
	uint8_t lower[VG_NAME_MAX];
	wire("www.example.com.", lower);
	cr_assert(memcmp(back, lower, 17) == 0);
	wire(".", w);
	cr_assert_eq(vg_name_to_lookup(w, k, sizeof(k)), 0);
	cr_assert_eq(vg_name_from_lookup(k, 0, back), 1);
	cr_assert_eq(vg_name_to_lookup(lower, k, 5), VG_ESPACE);
}

Test(name, lookup_order_follows_tree)
{
	/* A parent's key is a prefix of its children's keys and sorts before them. */
	uint8_t a[VG_NAME_MAX], b[VG_NAME_MAX], ka[VG_NAME_MAX], kb[VG_NAME_MAX];
	wire("example.com.", a);
	wire("zzz.example.com.", b);
	int la = vg_name_to_lookup(a, ka, sizeof(ka)), lb = vg_name_to_lookup(b, kb, sizeof(kb));
	cr_assert_lt(la, lb);
	cr_assert(memcmp(ka, kb, (size_t)la) == 0);
	wire("example-a.com.", b);
	lb = vg_name_to_lookup(b, kb, sizeof(kb));
	/* "example\0" < "example-a\0": siblings never sort inside another's subtree */
	cr_assert_lt(memcmp(ka, kb, (size_t)(la < lb ? la : lb)), 0);
}

Test(name, lookup_lowercases_every_byte_value_at_every_offset)
{
	/* Labels of 1..63 bytes holding every byte value 1..255 in turn, at each alignment: only
	 * A-Z change (the key builder works eight bytes at a time). */
	uint8_t w[VG_NAME_MAX], k[VG_NAME_MAX];
	for (int len = 1; len <= 63; len++) {
		for (int start = 1; start <= 255; start += len) {
			w[0] = (uint8_t)len;
			for (int i = 0; i < len; i++)
				w[1 + i] = (uint8_t)((start + i - 1) % 255 + 1);
			w[1 + len] = 0;
			cr_assert_eq(vg_name_to_lookup(w, k, sizeof(k)), len + 1);
			for (int i = 0; i < len; i++) {
				uint8_t c = w[1 + i];
				uint8_t want = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
				cr_assert_eq(k[i], want, "len %d byte %d: 0x%02x -> 0x%02x", len, i,
					     c, k[i]);
			}
			cr_assert_eq(k[len], 0);
		}
	}
	/* A 0x00 anywhere in a long label is still refused. */
	for (int at = 0; at < 20; at++) {
		w[0] = 20;
		memset(w + 1, 'A', 20);
		w[1 + at] = 0;
		w[21] = 0;
		cr_assert_eq(vg_name_to_lookup(w, k, sizeof(k)), VG_EFORMAT, "0x00 at %d", at);
	}
}

Test(name, lookup_rejects_nul_in_label)
{
	uint8_t w[] = {3, 'a', 0, 'b', 0}, k[VG_NAME_MAX];
	cr_assert_eq(vg_name_to_lookup(w, k, sizeof(k)), VG_EFORMAT);
	uint8_t bad[] = {'a', 'b'}; /* no terminating 0 */
	cr_assert_eq(vg_name_from_lookup(bad, 2, w), VG_EFORMAT);
	uint8_t empty[] = {'a', 0, 0};
	cr_assert_eq(vg_name_from_lookup(empty, 3, w), VG_EFORMAT);
}

Test(name, eq_and_zone)
{
	uint8_t a[VG_NAME_MAX], b[VG_NAME_MAX], z[VG_NAME_MAX], r[VG_NAME_MAX];
	wire("WWW.example.com", a);
	wire("www.EXAMPLE.com.", b);
	wire("example.com.", z);
	wire(".", r);
	cr_assert(vg_name_eq(a, b));
	cr_assert(vg_name_in_zone(a, z));
	cr_assert(vg_name_in_zone(z, z));
	cr_assert(vg_name_in_zone(a, r));
	cr_assert_not(vg_name_in_zone(z, a));
	wire("badexample.com.", b);
	cr_assert_not(vg_name_in_zone(b, z), "suffix match on a partial label");
	cr_assert_eq(vg_name_labels(a), 3);
	cr_assert_eq(vg_name_labels(r), 0);
	vg_name_lower(a);
	cr_assert(memcmp(a, "\3www\7example\3com", 17) == 0);
}

Test(name, unpack_follows_backward_pointer)
{
	/* 12 bytes header, then "example.com" at 12, then "www" + pointer to 12 at 25. */
	uint8_t pkt[64] = {0};
	size_t off = 12;
	memcpy(pkt + off, "\7example\3com\0", 13);
	off += 13;
	memcpy(pkt + off, "\3www\xc0\x0c", 6);
	uint8_t out[VG_NAME_MAX];
	size_t pos = 25;
	cr_assert_eq(vg_name_unpack(pkt, 31, &pos, out), 17);
	cr_assert_eq(pos, 31);
	cr_assert(memcmp(out, "\3www\7example\3com", 17) == 0);
}

Test(name, unpack_rejects_forward_self_and_loop_pointers)
{
	uint8_t pkt[64] = {0};
	size_t pos;
	/* forward pointer: at 12 points to 20 */
	memcpy(pkt + 12, "\xc0\x14", 2);
	memcpy(pkt + 20, "\1a\0", 3);
	pos = 12;
	cr_assert_eq(vg_name_unpack(pkt, 23, &pos, NULL), VG_ELOOP);
	/* self pointer */
	memcpy(pkt + 12, "\xc0\x0c", 2);
	pos = 12;
	cr_assert_eq(vg_name_unpack(pkt, 14, &pos, NULL), VG_ELOOP);
	/* two-step loop: 12 -> label then pointer to 12 */
	memcpy(pkt + 12, "\1a\xc0\x0c", 4);
	pos = 12;
	cr_assert_eq(vg_name_unpack(pkt, 16, &pos, NULL), VG_ELOOP);
	/* truncated */
	memcpy(pkt + 12, "\5ab", 3);
	pos = 12;
	cr_assert_eq(vg_name_unpack(pkt, 15, &pos, NULL), VG_ETRUNC);
	/* 0x40 label type */
	pkt[12] = 0x41;
	pos = 12;
	cr_assert_eq(vg_name_unpack(pkt, 20, &pos, NULL), VG_EFORMAT);
}

Test(name, unpack_rejects_long_name)
{
	uint8_t pkt[400] = {0};
	size_t off = 0;
	for (int i = 0; i < 5; i++) {
		pkt[off] = 63;
		memset(pkt + off + 1, 'x', 63);
		off += 64;
	}
	pkt[off++] = 0;
	size_t pos = 0;
	cr_assert_eq(vg_name_unpack(pkt, off, &pos, NULL), VG_EFORMAT);
}

Test(arena, allocates_aligned_and_resets)
{
	struct vg_arena a;
	vg_arena_init(&a, 1024, 0);
	char *p = vg_arena_alloc(&a, 3), *q = vg_arena_alloc(&a, 5);
	cr_assert_not_null(p);
	cr_assert_eq(((uintptr_t)q) % 16, 0);
	cr_assert_neq(p, q);
	void *big = vg_arena_zalloc(&a, 5000);
	cr_assert_not_null(big);
	cr_assert_eq(((char *)big)[4999], 0);
	cr_assert_geq(a.used, 5000);
	vg_arena_reset(&a);
	cr_assert_eq(a.used, 0);
	cr_assert_not_null(vg_arena_memdup(&a, "abc", 4));
	vg_arena_free(&a);
}

Test(arena, respects_limit)
{
	struct vg_arena a;
	vg_arena_init(&a, 1024, 256);
	cr_assert_not_null(vg_arena_alloc(&a, 200));
	cr_assert_null(vg_arena_alloc(&a, 100));
	vg_arena_free(&a);
}

Test(err, strerror_covers_codes)
{
	cr_assert_str_eq(vg_strerror(VG_ELOOP), "loop detected");
	cr_assert_str_eq(vg_strerror(-ENOENT), "No such file or directory");
	cr_assert_str_eq(vg_strerror(-99999), "unknown error");
}

Test(log, parses_levels)
{
	enum vg_log_level l;
	cr_assert_eq(vg_log_level_parse("debug", &l), 0);
	cr_assert_eq(l, VG_LOG_DEBUG);
	cr_assert_eq(vg_log_level_parse("loud", &l), VG_EFORMAT);
}

Test(addr, parses_addr_and_port)
{
	struct vg_sockaddr a;
	char buf[64];
	cr_assert_eq(vg_sockaddr_parse("127.0.0.1@5300", 53, &a), 0);
	cr_assert_str_eq(vg_sockaddr_str(&a, buf, sizeof(buf)), "127.0.0.1@5300");
	cr_assert_eq(vg_sockaddr_parse("::1", 53, &a), 0);
	cr_assert_str_eq(vg_sockaddr_str(&a, buf, sizeof(buf)), "::1@53");
	cr_assert_lt(vg_sockaddr_parse("127.0.0.1@99999", 53, &a), 0);
	cr_assert_lt(vg_sockaddr_parse("127.0.0.1@", 53, &a), 0);
	cr_assert_lt(vg_sockaddr_parse("localhost", 53, &a), 0);
	cr_assert_lt(vg_sockaddr_parse("300.1.1.1", 53, &a), 0);
}

Test(addr, cidr_matches_prefix)
{
	struct vg_cidr c;
	struct vg_sockaddr a;
	cr_assert_eq(vg_cidr_parse("10.1.2.3/8", &c), 0);
	vg_sockaddr_parse("10.200.0.1", 53, &a);
	cr_assert(vg_cidr_match(&c, &a.u.sa));
	vg_sockaddr_parse("11.0.0.1", 53, &a);
	cr_assert_not(vg_cidr_match(&c, &a.u.sa));
	vg_sockaddr_parse("::ffff:10.9.9.9", 53, &a);
	cr_assert(vg_cidr_match(&c, &a.u.sa), "v4-mapped address not matched");
	cr_assert_eq(vg_cidr_parse("fe80::/10", &c), 0);
	vg_sockaddr_parse("febf::1", 53, &a);
	cr_assert(vg_cidr_match(&c, &a.u.sa));
	vg_sockaddr_parse("fec0::1", 53, &a);
	cr_assert_not(vg_cidr_match(&c, &a.u.sa));
	cr_assert_lt(vg_cidr_parse("10.0.0.0/33", &c), 0);
	cr_assert_lt(vg_cidr_parse("10.0.0.0/", &c), 0);
	cr_assert_lt(vg_cidr_parse("nonsense/8", &c), 0);
	cr_assert_eq(vg_cidr_parse("0.0.0.0/0", &c), 0);
	vg_sockaddr_parse("1.2.3.4", 53, &a);
	cr_assert(vg_cidr_match(&c, &a.u.sa));
}

Test(addr, sockaddr_eq_compares_family_address_and_port)
{
	struct vg_sockaddr a, b;
	cr_assert_eq(vg_sockaddr_parse("127.0.0.1@5300", 53, &a), 0);
	cr_assert_eq(vg_sockaddr_parse("127.0.0.1@5300", 53, &b), 0);
	cr_assert(vg_sockaddr_eq(&a, &b));
	vg_sockaddr_parse("127.0.0.1@5301", 53, &b);
	cr_assert_not(vg_sockaddr_eq(&a, &b), "port differs");
	vg_sockaddr_parse("127.0.0.2@5300", 53, &b);
	cr_assert_not(vg_sockaddr_eq(&a, &b), "address differs");
	vg_sockaddr_parse("::ffff:127.0.0.1@5300", 53, &b);
	cr_assert_not(vg_sockaddr_eq(&a, &b), "family differs");
	vg_sockaddr_parse("::1@53", 53, &a);
	vg_sockaddr_parse("::1", 53, &b);
	cr_assert(vg_sockaddr_eq(&a, &b));
	vg_sockaddr_parse("::2", 53, &b);
	cr_assert_not(vg_sockaddr_eq(&a, &b));
}

Test(file, reads_whole_file_cuts_at_max_and_reports_errors)
{
	char path[] = "/tmp/vigil-test-file-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	char big[10000];
	memset(big, 'x', sizeof(big));
	cr_assert_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	close(fd);
	char *text;
	size_t len;
	cr_assert_eq(vg_file_read(path, SIZE_MAX - 1, &text, &len), 0);
	cr_assert_eq(len, sizeof(big), "grows past the first 4 KiB");
	cr_assert_eq(text[len], 0);
	free(text);
	cr_assert_eq(vg_file_read(path, 100, &text, &len), 0);
	cr_assert_eq(len, 100);
	cr_assert_eq(strlen(text), 100);
	free(text);
	unlink(path);
	cr_assert_eq(vg_file_read(path, 100, &text, &len), -ENOENT);
	cr_assert_null(text);
	cr_assert_eq(vg_file_read("/", 100, &text, &len), -EISDIR);
	cr_assert_null(text);
}

Test(hash, siphash_depends_on_key_bytes_and_length)
{
	uint64_t k1[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}, k2[2] = {k1[0], k1[1] ^ 1};
	uint8_t in[24];
	for (int i = 0; i < 24; i++)
		in[i] = (uint8_t)i;
	uint64_t seen[25];
	for (size_t n = 0; n <= 24; n++) {
		seen[n] = vg_siphash13(k1, in, n);
		cr_assert_eq(seen[n], vg_siphash13(k1, in, n), "a pure function");
		cr_assert_neq(seen[n], vg_siphash13(k2, in, n), "keyed (length %zu)", n);
		for (size_t m = 0; m < n; m++)
			cr_assert_neq(seen[m], seen[n], "lengths %zu and %zu", m, n);
	}
	uint8_t flip[24];
	memcpy(flip, in, sizeof(flip));
	flip[23] ^= 0x80;
	cr_assert_neq(vg_siphash13(k1, flip, 24), seen[24], "the tail bytes count");
}

Test(arena, a_shared_pool_bounds_every_arena_together_and_is_given_back)
{
	struct vg_arena_pool pool = {.used = 0, .limit = 0};
	struct vg_arena a, b;
	vg_arena_init(&a, 1024, 0);
	vg_arena_init(&b, 1024, 0);
	a.pool = b.pool = &pool;
	cr_assert_not_null(vg_arena_alloc(&a, 100));
	size_t one = pool.used; /* a chunk of 1024 and its header */
	cr_assert_gt(one, 1024);
	pool.limit = 2 * one;
	cr_assert_not_null(vg_arena_alloc(&b, 100), "the second chunk fits the pool exactly");
	cr_assert_eq(pool.used, 2 * one);
	cr_assert_not_null(vg_arena_alloc(&a, 100), "room left in a's chunk costs nothing");
	cr_assert_null(vg_arena_alloc(&a, 1000), "a third chunk is over the pool");
	cr_assert_null(vg_arena_alloc(&b, 5000), "so is a big block");
	vg_arena_free(&a);
	cr_assert_eq(pool.used, one, "a freed arena gives its chunks back");
	cr_assert_not_null(vg_arena_alloc(&b, 1000));
	vg_arena_reset(&b);
	cr_assert_eq(pool.used, one, "reset keeps one chunk charged");
	vg_arena_free(&b);
	cr_assert_eq(pool.used, 0);
}

Test(dns, rr_reader_follows_compression_and_refuses_rdata_past_the_end)
{
	/* header, then "a." at 12, then an RR whose owner points at it: type A, class IN, TTL 300,
	 * rdlength 4, 192.0.2.1 */
	uint8_t p[] = {0,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,   1, 'a', 0, 0xC0,
		       12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2,   1};
	uint8_t owner[VG_NAME_MAX];
	struct vg_dns_rr rr;
	size_t pos = 15;
	cr_assert_eq(vg_dns_rr_read(p, sizeof(p), &pos, owner, &rr), 3);
	cr_expect_eq(rr.owner, 15);
	cr_expect_eq(rr.type, VG_TYPE_A);
	cr_expect_eq(rr.rclass, VG_CLASS_IN);
	cr_expect_eq(rr.ttl, 300);
	cr_expect_eq(rr.rdlen, 4);
	cr_expect_eq(rr.rdata, 27);
	cr_expect_eq(pos, 27);
	cr_expect_eq(memcmp(owner, "\1a", 3), 0);
	pos = 15;
	cr_expect_eq(vg_dns_rr_read(p, sizeof(p) - 1, &pos, NULL, &rr), VG_ETRUNC, "rdata cut");
	pos = 15;
	cr_expect_eq(vg_dns_rr_read(p, 20, &pos, NULL, &rr), VG_ETRUNC, "fixed fields cut");
	pos = 17;
	cr_expect_eq(vg_dns_rr_fixed(p, sizeof(p), &pos, &rr), 0);
	cr_expect_eq(rr.rdlen, 4);
}

Test(dns, rdata_layout_decompresses_only_rfc1035_era_names)
{
	cr_expect_eq(vg_dns_rdata_layout(VG_TYPE_NS), VG_RD_NAME);
	cr_expect_eq(vg_dns_rdata_layout(VG_TYPE_SOA), VG_RD_SOA);
	cr_expect_eq(vg_dns_rdata_layout(VG_TYPE_MX), VG_RD_U16_NAME);
	cr_expect_eq(vg_dns_rdata_layout(VG_TYPE_SRV), VG_RD_SRV);
	cr_expect_eq(vg_dns_rdata_layout(VG_TYPE_RRSIG), VG_RD_RRSIG);
	cr_expect_eq(vg_dns_rdata_layout(VG_TYPE_NSEC), VG_RD_NAME_REST);
	cr_expect_eq(vg_dns_rdata_layout(VG_TYPE_A), VG_RD_OPAQUE);
	cr_expect(vg_dns_rdata_compressible(VG_RD_SOA));
	cr_expect(!vg_dns_rdata_compressible(VG_RD_RRSIG));
	cr_expect(!vg_dns_rdata_compressible(VG_RD_NAME_REST));
}
