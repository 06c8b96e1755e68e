/* Per-reply work: parse + scrub + store (and the answer list) of crafted worst-case replies, for
 * callgrind (docs/benchmarks.md "Per-reply work"). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

#include <vigil/err.h>
#include <vigil/name.h>
#include "iter.h"

#define T0 1700000000

static uint64_t up_now(struct vg_upstream *up)
{
	(void)up;
	return 0;
}

static int64_t up_wall(struct vg_upstream *up)
{
	(void)up;
	return T0;
}

static const struct vg_upstream_ops ops = {.now_ms = up_now, .wall_now = up_wall};

static uint8_t pkt[65536];

static size_t put_rr(size_t p, uint16_t type, uint16_t rdlen)
{
	pkt[p] = 0xC0; /* the owner: a pointer to the question name */
	pkt[p + 1] = 12;
	vg_put_u16(pkt + p + 2, type);
	vg_put_u16(pkt + p + 4, VG_CLASS_IN);
	vg_put_u32(pkt + p + 6, 300);
	vg_put_u16(pkt + p + 10, rdlen);
	return p + 12;
}

/* Header and question; qname is `labels` labels of `llen` bytes under "example." */
static size_t put_head(uint8_t rcode, uint16_t an, uint16_t ns, int labels, int llen,
		       size_t *zone_off)
{
	memset(pkt, 0, 12);
	pkt[2] = 0x84; /* QR AA */
	pkt[3] = rcode;
	vg_put_u16(pkt + 4, 1);
	vg_put_u16(pkt + 6, an);
	vg_put_u16(pkt + 8, ns);
	size_t p = 12;
	for (int i = 0; i < labels; i++) {
		pkt[p++] = (uint8_t)llen;
		memset(pkt + p, 'a' + i, (size_t)llen);
		p += (size_t)llen;
	}
	*zone_off = p;
	memcpy(pkt + p, "\7example\0", 9);
	p += 9;
	vg_put_u16(pkt + p, VG_TYPE_A);
	vg_put_u16(pkt + p + 2, VG_CLASS_IN);
	return p + 4;
}

/* NXDOMAIN with an SOA and `pairs` NSEC + RRSIG pairs, all owned by a 250-byte name written
 * once (compression). */
static size_t nsec_reply(unsigned pairs)
{
	size_t zone_off;
	size_t p = put_head(VG_RCODE_NXDOMAIN, 0, (uint16_t)(1 + 2 * pairs), 4, 59, &zone_off);
	/* SOA at the zone: owner, MNAME and RNAME all point at "example." */
	pkt[p] = (uint8_t)(0xC0 | (zone_off >> 8));
	pkt[p + 1] = (uint8_t)zone_off;
	p = put_rr(p, VG_TYPE_SOA, 24);
	pkt[p - 12] = (uint8_t)(0xC0 | (zone_off >> 8));
	pkt[p - 11] = (uint8_t)zone_off;
	for (int i = 0; i < 2; i++) {
		pkt[p++] = (uint8_t)(0xC0 | (zone_off >> 8));
		pkt[p++] = (uint8_t)zone_off;
	}
	for (int i = 0; i < 5; i++, p += 4)
		vg_put_u32(pkt + p, 300);
	for (unsigned i = 0; i < pairs; i++) {
		p = put_rr(p, VG_TYPE_NSEC, 1);
		pkt[p++] = 0; /* next name: the root; no type bitmap */
		p = put_rr(p, VG_TYPE_RRSIG, 2);
		vg_put_u16(pkt + p, VG_TYPE_NSEC); /* type covered; nothing more */
		p += 2;
	}
	return p;
}

/* One A RRset of `n` records at big.example (distinct addresses). */
static size_t rrset_reply(unsigned n)
{
	size_t zone_off;
	size_t p = put_head(0, (uint16_t)n, 0, 1, 3, &zone_off);
	for (unsigned i = 0; i < n; i++) {
		p = put_rr(p, VG_TYPE_A, 4);
		vg_put_u32(pkt + p, 0xC0000200u + i);
		p += 4;
	}
	return p;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	unsigned runs = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
	size_t len;
	if (!strcmp(what, "nsec"))
		len = nsec_reply(2400);
	else if (!strcmp(what, "rrset"))
		len = rrset_reply(4000);
	else if (!strcmp(what, "rrset256"))
		len = rrset_reply(256);
	else {
		fprintf(stderr, "usage: reply_bench nsec|rrset|rrset256 [RUNS]\n");
		return 2;
	}
	char dir[] = "/tmp/vg-reply-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct vg_cache_opts o;
	vg_cache_opts_default(&o);
	o.dir = dir;
	o.map_size = 64 << 20;
	o.queue_max = 1 << 20;
	char err[256];
	struct vg_cache *cache = NULL;
	if (vg_cache_open(&o, &cache, err, sizeof(err)) < 0) {
		fprintf(stderr, "cache: %s\n", err);
		return 1;
	}
	struct vg_upstream up = {.ops = &ops};
	/* options all zero, as the bench has always run */
	struct vg_resolver *r = calloc(1, sizeof(*r));
	r->cache = cache;
	r->up = &up;
	uint8_t zone[VG_NAME_MAX];
	vg_name_from_text("example.", zone);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int last = 0;
	size_t kept = 0;
	for (unsigned run = 0; run < runs; run++) {
		struct vg_req *req = calloc(1, sizeof(*req));
		req->r = r;
		vg_arena_init(&req->arena, 0, VG_ARENA_LIMIT);
		struct vg_iq *iq = vg_iq_new(req, (const uint8_t *)"", VG_TYPE_A, VG_CLASS_IN);
		memcpy(iq->zone, zone, sizeof(zone));
		CALLGRIND_TOGGLE_COLLECT;
		/* What IQ_REPLY, IQ_STORE and IQ_FOLLOW do with one reply. */
		int rc = vg_msg_parse(&req->arena, pkt, len, &iq->msg);
		if (rc == 0) {
			memcpy(iq->asked, iq->msg.qname, sizeof(iq->msg.qname));
			vg_name_lower(iq->asked);
			iq->asked_type = VG_TYPE_A;
			rc = vg_scrub(&iq->msg, iq->zone, iq->asked, iq->asked_type, false,
				      &iq->verdict);
		}
		if (rc == 0)
			rc = vg_rrsets_group(&req->arena, &iq->msg, false);
		if (rc == 0) {
			vg_store_reply(iq);
			for (size_t i = 0; i < iq->msg.n_rr; i++)
				if (!iq->msg.rr[i].drop && iq->msg.rr[i].section == VG_SEC_ANSWER)
					vg_iq_ans_add(iq, &iq->msg.rr[i]);
		}
		CALLGRIND_TOGGLE_COLLECT;
		last = rc;
		kept = iq->n_ans;
		vg_arena_free(&req->arena);
		free(req);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms =
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	printf("%s: %zu-byte reply, %u run(s), %.3f ms per run, result %s, %zu answer records\n",
	       what, len, runs, ms / runs, last == 0 ? "accepted" : vg_strerror(last), kept);
	free(r);
	vg_cache_close(cache);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
