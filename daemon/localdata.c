/* Local answers: built-in RFC 6761/6303 zones and the user's local-data, precomputed in wire form
 * at build time so that answering is a hash lookup and two memcpy calls. */
#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <vigil/dns.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include "localdata.h"

/* Node flags. A node is one owner name; every node has at least one flag. */
#define F_DATA 1     /* has RRsets */
#define F_ENT 2      /* empty non-terminal below a static zone: NODATA, not NXDOMAIN */
#define F_STATIC 4   /* zone apex: names below that have no node are NXDOMAIN */
#define F_REDIRECT 8 /* zone apex: names below get the apex's A/AAAA (RFC 6761 localhost.) */
#define F_ZONE (F_STATIC | F_REDIRECT)

/* TTL and negative TTL of the locally made SOA records: RFC 6303 zones use the RFC's 10800;
 * names that only have user data use 3600, so a changed config is seen within an hour. */
#define ZONE_TTL 10800
#define USER_NEG_TTL 3600

#define NO_ZONE UINT32_MAX

enum origin { O_BUILTIN, O_USER, O_AUTO };

/* Build-time RRset: parsed records until serialised. */
struct brrset {
	uint16_t type;
	enum origin origin;
	ldns_rr **rrs;
	size_t n;
};

/* Serialised RRset: the answer section for one (name, type) in ld->blob, each owner written as a
 * compression pointer to the question name (offset 12). */
struct rrset {
	uint16_t type;
	uint16_t count;
	uint32_t off, len;
};

struct node {
	uint64_t hash;
	uint8_t name[VG_NAME_MAX]; /* lowercase wire */
	uint8_t len;
	uint8_t flags;
	uint8_t zone_len; /* length of the owner of the negative SOA, a suffix of this name */
	uint16_t n_rr;
	uint16_t soa_len; /* negative SOA record after its owner (type .. rdata) */
	uint32_t soa_off;
	uint32_t first_rr; /* index in ld->rrsets */
	uint32_t zone;     /* index of the nearest enclosing zone apex (itself if apex), NO_ZONE */
	struct brrset *b;  /* build time only */
	size_t nb;
};

struct vg_localdata {
	uint64_t seed;
	uint32_t *slots; /* node index + 1; 0 = empty; open addressing, linear probing */
	size_t mask;
	struct node *nodes;
	size_t n_nodes, cap_nodes;
	struct rrset *rrsets;
	size_t n_rrsets;
	uint8_t *blob;
	size_t blob_len, blob_cap;
};

/* Hash of a lowercase wire name, computed from its last byte to its first so that the query path
 * gets the hash of every suffix of the qname in one pass (see suffix_hashes). */
#define FNV_PRIME 0x100000001b3ull

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static uint64_t name_hash(uint64_t seed, const uint8_t *name, size_t len)
{
	uint64_t h = seed;
	for (size_t i = len; i-- > 0;)
		h = (h ^ name[i]) * FNV_PRIME;
	return mix(h);
}

static struct node *lookup(const struct vg_localdata *ld, uint64_t h, const uint8_t *name,
			   size_t len)
{
	if (!ld->slots)
		return NULL;
	for (size_t i = h & ld->mask;; i = (i + 1) & ld->mask) {
		uint32_t s = ld->slots[i];
		if (!s)
			return NULL;
		struct node *n = &ld->nodes[s - 1];
		if (n->hash == h && n->len == len && memcmp(n->name, name, len) == 0)
			return n;
	}
}

static int table_insert(struct vg_localdata *ld, uint32_t idx)
{
	/* Keep the load under one half so probes stay short. */
	if ((ld->n_nodes + 1) * 2 > ld->mask + 1 || !ld->slots) {
		size_t ncap = ld->slots ? (ld->mask + 1) * 2 : 64;
		uint32_t *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (size_t j = 0; ld->slots && j <= ld->mask; j++) {
			uint32_t s = ld->slots[j];
			if (!s)
				continue;
			size_t k = ld->nodes[s - 1].hash & (ncap - 1);
			while (ns[k])
				k = (k + 1) & (ncap - 1);
			ns[k] = s;
		}
		free(ld->slots);
		ld->slots = ns;
		ld->mask = ncap - 1;
	}
	size_t k = ld->nodes[idx].hash & ld->mask;
	while (ld->slots[k])
		k = (k + 1) & ld->mask;
	ld->slots[k] = idx + 1;
	return 0;
}

/* Finds or adds the node of a wire name (any case). Returns its index or a negative error.
 * Node pointers are invalidated by adding: callers keep indices. */
static long get_node(struct vg_localdata *ld, const uint8_t *wire, size_t len)
{
	uint8_t low[VG_NAME_MAX];
	if (len == 0 || len > VG_NAME_MAX)
		return VG_EFORMAT;
	memcpy(low, wire, len);
	vg_name_lower(low);
	uint64_t h = name_hash(ld->seed, low, len);
	struct node *n = lookup(ld, h, low, len);
	if (n)
		return n - ld->nodes;
	if (ld->n_nodes == ld->cap_nodes) {
		size_t ncap = ld->cap_nodes ? ld->cap_nodes * 2 : 64;
		struct node *nn = realloc(ld->nodes, ncap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		ld->nodes = nn;
		ld->cap_nodes = ncap;
	}
	n = &ld->nodes[ld->n_nodes];
	memset(n, 0, sizeof(*n));
	memcpy(n->name, low, len);
	n->len = (uint8_t)len;
	n->hash = h;
	n->zone = NO_ZONE;
	int rc = table_insert(ld, (uint32_t)ld->n_nodes);
	if (rc < 0)
		return rc;
	return (long)ld->n_nodes++;
}

static void brrset_clear(struct brrset *b)
{
	for (size_t i = 0; i < b->n; i++)
		ldns_rr_free(b->rrs[i]);
	free(b->rrs);
	b->rrs = NULL;
	b->n = 0;
}

/* Adds `rr` (ownership passes to the node, also on error) to node `idx`. A user record replaces
 * a built-in RRset of the same type; an identical record is freed and 1 returned. Returns 0 when
 * stored, or -ENOMEM. */
static int add_rr(struct vg_localdata *ld, long idx, ldns_rr *rr, enum origin origin)
{
	struct node *n = &ld->nodes[idx];
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);
	struct brrset *b = NULL;
	for (size_t i = 0; i < n->nb; i++)
		if (n->b[i].type == type)
			b = &n->b[i];
	if (!b) {
		struct brrset *nb = realloc(n->b, (n->nb + 1) * sizeof(*nb));
		if (!nb) {
			ldns_rr_free(rr);
			return -ENOMEM;
		}
		n->b = nb;
		b = &n->b[n->nb++];
		memset(b, 0, sizeof(*b));
		b->type = type;
		b->origin = origin;
	} else if (b->origin == O_BUILTIN && origin != O_BUILTIN) {
		brrset_clear(b);
		b->origin = origin;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (ldns_rr_compare(b->rrs[i], rr) == 0) {
			ldns_rr_free(rr);
			return 1;
		}
	}
	ldns_rr **nr = realloc(b->rrs, (b->n + 1) * sizeof(*nr));
	if (!nr) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	b->rrs = nr;
	b->rrs[b->n++] = rr;
	n->flags |= F_DATA;
	return 0;
}

static struct brrset *find_b(struct node *n, uint16_t type)
{
	for (size_t i = 0; i < n->nb; i++)
		if (n->b[i].type == type)
			return &n->b[i];
	return NULL;
}

static int parse_rr(const char *text, ldns_rr **rr)
{
	ldns_rdf *origin = ldns_dname_new_frm_str(".");
	if (!origin)
		return LDNS_STATUS_MEM_ERR;
	ldns_status st = ldns_rr_new_frm_str(rr, text, 3600, origin, NULL);
	ldns_rdf_deep_free(origin);
	return (int)st;
}

static int add_text(struct vg_localdata *ld, const char *text, enum origin origin)
{
	ldns_rr *rr = NULL;
	if (parse_rr(text, &rr) != LDNS_STATUS_OK)
		return VG_EFORMAT;
	ldns_rdf *owner = ldns_rr_owner(rr);
	long idx = get_node(ld, ldns_rdf_data(owner), ldns_rdf_size(owner));
	if (idx < 0) {
		ldns_rr_free(rr);
		return (int)idx;
	}
	int rc = add_rr(ld, idx, rr, origin);
	return rc < 0 ? rc : 0;
}

/* Built-in zones: RFC 6761 (localhost., invalid., test.), RFC 6303 (AS112 reverse zones),
 * RFC 8375 (home.arpa.), RFC 7686 (onion.), as Unbound serves them by default. */
static const char *const static_zones[] = {
	"test.",
	"invalid.",
	"onion.",
	"home.arpa.",
	"127.in-addr.arpa.",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
	"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
	"0.in-addr.arpa.",
	"10.in-addr.arpa.",
	"168.192.in-addr.arpa.",
	"254.169.in-addr.arpa.",
	"2.0.192.in-addr.arpa.",
	"100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.",
	"255.255.255.255.in-addr.arpa.",
	"d.f.ip6.arpa.",
	"8.e.f.ip6.arpa.",
	"9.e.f.ip6.arpa.",
	"a.e.f.ip6.arpa.",
	"b.e.f.ip6.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.",
};

static const char *const builtin_data[] = {
	"localhost. 10800 IN A 127.0.0.1",
	"localhost. 10800 IN AAAA ::1",
	"1.0.0.127.in-addr.arpa. 10800 IN PTR localhost.",
	/* the reverse name of ::1 */
	("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. 10800 IN PTR "
	 "localhost."),
};

static int add_zone(struct vg_localdata *ld, const char *zone, uint8_t flag)
{
	char text[512];
	uint8_t wire[VG_NAME_MAX];
	int len = vg_name_from_text(zone, wire);
	if (len < 0)
		return len;
	long idx = get_node(ld, wire, (size_t)len);
	if (idx < 0)
		return (int)idx;
	ld->nodes[idx].flags |= flag;
	snprintf(text, sizeof(text), "%s %d IN NS localhost.", zone, ZONE_TTL);
	int rc = add_text(ld, text, O_BUILTIN);
	if (rc < 0)
		return rc;
	snprintf(text, sizeof(text),
		 "%s %d IN SOA localhost. nobody.invalid. 1 3600 1200 604800 %d", zone, ZONE_TTL,
		 ZONE_TTL);
	return add_text(ld, text, O_BUILTIN);
}

static int add_builtins(struct vg_localdata *ld)
{
	char zone[64];
	int rc = add_zone(ld, "localhost.", F_REDIRECT);
	for (size_t i = 0; rc == 0 && i < sizeof(static_zones) / sizeof(static_zones[0]); i++)
		rc = add_zone(ld, static_zones[i], F_STATIC);
	for (int i = 16; rc == 0 && i <= 31; i++) {
		snprintf(zone, sizeof(zone), "%d.172.in-addr.arpa.", i);
		rc = add_zone(ld, zone, F_STATIC);
	}
	for (int i = 64; rc == 0 && i <= 127; i++) {
		snprintf(zone, sizeof(zone), "%d.100.in-addr.arpa.", i);
		rc = add_zone(ld, zone, F_STATIC);
	}
	for (size_t i = 0; rc == 0 && i < sizeof(builtin_data) / sizeof(builtin_data[0]); i++)
		rc = add_text(ld, builtin_data[i], O_BUILTIN);
	return rc;
}

/* The A/AAAA record `rr` gets a PTR at its reverse name unless that name already has a PTR
 * (a user's PTR, a built-in one, or one made for an earlier address line). */
static int add_auto_ptr(struct vg_localdata *ld, const ldns_rr *rr)
{
	ldns_rdf *rev = ldns_rdf_address_reverse(ldns_rr_rdf(rr, 0));
	if (!rev)
		return -ENOMEM;
	long idx = get_node(ld, ldns_rdf_data(rev), ldns_rdf_size(rev));
	int rc = (int)(idx < 0 ? idx : 0);
	if (rc == 0 && !find_b(&ld->nodes[idx], VG_TYPE_PTR)) {
		ldns_rr *ptr = ldns_rr_new();
		ldns_rdf *target = ldns_rdf_clone(ldns_rr_owner(rr));
		ldns_rdf *owner = ldns_rdf_clone(rev);
		if (!ptr || !target || !owner) {
			ldns_rr_free(ptr);
			ldns_rdf_deep_free(target);
			ldns_rdf_deep_free(owner);
			rc = -ENOMEM;
		} else {
			ldns_rr_set_owner(ptr, owner);
			ldns_rr_set_type(ptr, LDNS_RR_TYPE_PTR);
			ldns_rr_set_class(ptr, LDNS_RR_CLASS_IN);
			ldns_rr_set_ttl(ptr, ldns_rr_ttl(rr));
			ldns_rr_push_rdf(ptr, target);
			rc = add_rr(ld, idx, ptr, O_AUTO);
			rc = rc < 0 ? rc : 0;
		}
	}
	ldns_rdf_deep_free(rev);
	return rc;
}

/* Index of the nearest zone apex strictly above node `idx`, or NO_ZONE. `above` receives the
 * label count of that apex. */
static uint32_t zone_above(struct vg_localdata *ld, size_t idx)
{
	const uint8_t *name = ld->nodes[idx].name;
	size_t len = ld->nodes[idx].len, pos = 0;
	while (name[pos] != 0) {
		pos += (size_t)name[pos] + 1;
		uint64_t h = name_hash(ld->seed, name + pos, len - pos);
		struct node *z = lookup(ld, h, name + pos, len - pos);
		if (z && (z->flags & F_ZONE))
			return (uint32_t)(z - ld->nodes);
	}
	return NO_ZONE;
}

/* Sets each node's zone, and adds empty non-terminals between data and a static apex so that
 * they answer NODATA rather than NXDOMAIN. */
static int assign_zones(struct vg_localdata *ld)
{
	size_t n = ld->n_nodes; /* nodes added here are ENTs and get their zone when made */
	for (size_t i = 0; i < n; i++) {
		if (ld->nodes[i].flags & F_ZONE) {
			ld->nodes[i].zone = (uint32_t)i;
			continue;
		}
		uint32_t z = zone_above(ld, i);
		ld->nodes[i].zone = z;
		if (z == NO_ZONE || !(ld->nodes[z].flags & F_STATIC))
			continue;
		size_t zlen = ld->nodes[z].len;
		size_t pos = 0;
		for (;;) {
			struct node *cur = &ld->nodes[i];
			pos += (size_t)cur->name[pos] + 1;
			size_t slen = cur->len - pos;
			if (slen <= zlen)
				break;
			uint8_t suffix[VG_NAME_MAX];
			memcpy(suffix, cur->name + pos, slen);
			long e = get_node(ld, suffix, slen);
			if (e < 0)
				return (int)e;
			if (ld->nodes[e].flags == 0) {
				ld->nodes[e].flags = F_ENT;
				ld->nodes[e].zone = z;
			}
		}
	}
	return 0;
}

static int blob_reserve(struct vg_localdata *ld, size_t more)
{
	if (ld->blob_len + more <= ld->blob_cap)
		return 0;
	size_t ncap = ld->blob_cap ? ld->blob_cap : 4096;
	while (ncap < ld->blob_len + more)
		ncap *= 2;
	uint8_t *nb = realloc(ld->blob, ncap);
	if (!nb)
		return -ENOMEM;
	ld->blob = nb;
	ld->blob_cap = ncap;
	return 0;
}

/* Appends type, class, TTL, RDLENGTH and RDATA of `rr` (the owner is written by the caller). */
static int put_rr_body(struct vg_localdata *ld, const ldns_rr *rr, uint32_t ttl)
{
	ldns_buffer *buf = ldns_buffer_new(512);
	if (!buf)
		return -ENOMEM;
	int rc = 0;
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
		rc = -ENOMEM;
		goto out;
	}
	size_t rdlen = ldns_buffer_position(buf);
	if (rdlen > 65535) {
		rc = VG_EFORMAT;
		goto out;
	}
	rc = blob_reserve(ld, 10 + rdlen);
	if (rc < 0)
		goto out;
	uint8_t *p = ld->blob + ld->blob_len;
	vg_put_u16(p, (uint16_t)ldns_rr_get_type(rr));
	vg_put_u16(p + 2, VG_CLASS_IN);
	vg_put_u32(p + 4, ttl);
	vg_put_u16(p + 8, (uint16_t)rdlen);
	memcpy(p + 10, ldns_buffer_begin(buf), rdlen);
	ld->blob_len += 10 + rdlen;
out:
	ldns_buffer_free(buf);
	return rc;
}

static int serialise_rrset(struct vg_localdata *ld, struct node *n, const struct brrset *b)
{
	struct rrset *r = &ld->rrsets[ld->n_rrsets++];
	r->type = b->type;
	r->count = (uint16_t)b->n;
	r->off = (uint32_t)ld->blob_len;
	for (size_t i = 0; i < b->n; i++) {
		int rc = blob_reserve(ld, 2);
		if (rc < 0)
			return rc;
		vg_put_u16(ld->blob + ld->blob_len, 0xC00C); /* owner = the question name */
		ld->blob_len += 2;
		rc = put_rr_body(ld, b->rrs[i], ldns_rr_ttl(b->rrs[i]));
		if (rc < 0)
			return rc;
	}
	r->len = (uint32_t)(ld->blob_len - r->off);
	return 0;
}

/* Negative SOA of a node that owns a SOA RRset: its first SOA with TTL = min(TTL, MINIMUM)
 * (RFC 2308). */
static int serialise_soa(struct vg_localdata *ld, struct node *n, const ldns_rr *soa)
{
	uint32_t ttl = ldns_rr_ttl(soa);
	const ldns_rdf *min = ldns_rr_rdf(soa, 6);
	if (min && ldns_rdf_size(min) == 4 && ldns_rdf2native_int32(min) < ttl)
		ttl = ldns_rdf2native_int32(min);
	n->soa_off = (uint32_t)ld->blob_len;
	int rc = put_rr_body(ld, soa, ttl);
	n->soa_len = (uint16_t)(ld->blob_len - n->soa_off);
	n->zone_len = n->len;
	return rc;
}

static int serialise(struct vg_localdata *ld)
{
	size_t total = 0;
	for (size_t i = 0; i < ld->n_nodes; i++)
		total += ld->nodes[i].nb;
	ld->rrsets = calloc(total ? total : 1, sizeof(*ld->rrsets));
	if (!ld->rrsets)
		return -ENOMEM;
	/* The SOA written for a user name outside every zone: only its rdata and TTL matter here,
	 * its owner is a pointer to the name itself. */
	ldns_rr *user_soa = NULL;
	if (parse_rr(". 3600 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 3600",
		     &user_soa) != LDNS_STATUS_OK)
		return -ENOMEM;
	int rc = 0;
	uint32_t user_soa_off = UINT32_MAX;
	uint16_t user_soa_len = 0;
	/* Pass 1: RRsets, and the negative SOA of every node that has its own SOA. */
	for (size_t i = 0; rc == 0 && i < ld->n_nodes; i++) {
		struct node *n = &ld->nodes[i];
		n->first_rr = (uint32_t)ld->n_rrsets;
		n->n_rr = (uint16_t)n->nb;
		for (size_t j = 0; rc == 0 && j < n->nb; j++)
			rc = serialise_rrset(ld, n, &n->b[j]);
		struct brrset *soa = find_b(n, VG_TYPE_SOA);
		if (rc == 0 && soa && soa->n)
			rc = serialise_soa(ld, n, soa->rrs[0]);
	}
	/* Pass 2: every other node borrows its zone's SOA, or the made-up one for its own name. */
	for (size_t i = 0; rc == 0 && i < ld->n_nodes; i++) {
		struct node *n = &ld->nodes[i];
		if (n->soa_len)
			continue;
		if (n->zone != NO_ZONE && ld->nodes[n->zone].soa_len) {
			n->soa_off = ld->nodes[n->zone].soa_off;
			n->soa_len = ld->nodes[n->zone].soa_len;
			n->zone_len = ld->nodes[n->zone].len;
			continue;
		}
		if (user_soa_off == UINT32_MAX) {
			user_soa_off = (uint32_t)ld->blob_len;
			rc = put_rr_body(ld, user_soa, USER_NEG_TTL);
			user_soa_len = (uint16_t)(ld->blob_len - user_soa_off);
		}
		n->soa_off = user_soa_off;
		n->soa_len = user_soa_len;
		n->zone_len = n->len;
	}
	ldns_rr_free(user_soa);
	for (size_t i = 0; i < ld->n_nodes; i++) {
		struct node *n = &ld->nodes[i];
		for (size_t j = 0; j < n->nb; j++)
			brrset_clear(&n->b[j]);
		free(n->b);
		n->b = NULL;
		n->nb = 0;
	}
	return rc;
}

static void fill_seed(struct vg_localdata *ld)
{
	if (getrandom(&ld->seed, sizeof(ld->seed), GRND_NONBLOCK) != (ssize_t)sizeof(ld->seed)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ld->seed = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
	}
	ld->seed ^= 0xcbf29ce484222325ull;
}

int vg_localdata_new(const struct vg_config *cfg, struct vg_localdata **out, char *err,
		     size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	struct vg_localdata *ld = calloc(1, sizeof(*ld));
	const ldns_rr **addrs = NULL;
	size_t n_addrs = 0;
	if (!ld)
		return -ENOMEM;
	fill_seed(ld);
	int rc = add_builtins(ld);
	if (rc == 0 && cfg->n_local_data) {
		addrs = calloc(cfg->n_local_data, sizeof(*addrs));
		if (!addrs)
			rc = -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < cfg->n_local_data; i++) {
		const struct vg_local_rr *lr = &cfg->local_data[i];
		ldns_rr *rr = NULL;
		int st = parse_rr(lr->text, &rr);
		if (st == LDNS_STATUS_OK && ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			ldns_rr_free(rr);
			snprintf(err, errlen, "%s:%d: key 'local-data': bad record \"%s\": only class "
				 "IN is served", cfg->path ? cfg->path : "(config)", lr->line, lr->text);
			rc = VG_ECONFIG;
			break;
		}
		if (st == LDNS_STATUS_OK && ldns_rr_ttl(rr) > 0x7FFFFFFFu) {
			/* RFC 2181 8: a TTL is 31 bits; receivers treat a larger one as 0 */
			ldns_rr_free(rr);
			snprintf(err, errlen,
				 "%s:%d: key 'local-data': bad record \"%s\": TTL above 2147483647",
				 cfg->path ? cfg->path : "(config)", lr->line, lr->text);
			rc = VG_ECONFIG;
			break;
		}
		if (st != LDNS_STATUS_OK) {
			snprintf(err, errlen, "%s:%d: key 'local-data': bad record \"%s\": %s",
				 cfg->path ? cfg->path : "(config)", lr->line, lr->text,
				 ldns_get_errorstr_by_id((ldns_status)st));
			rc = VG_ECONFIG;
			break;
		}
		uint16_t type = (uint16_t)ldns_rr_get_type(rr);
		ldns_rdf *owner = ldns_rr_owner(rr);
		long idx = get_node(ld, ldns_rdf_data(owner), ldns_rdf_size(owner));
		if (idx < 0) {
			ldns_rr_free(rr);
			rc = (int)idx;
			break;
		}
		bool addr =
		    (type == VG_TYPE_A || type == VG_TYPE_AAAA) && ldns_rr_rd_count(rr) == 1;
		rc = add_rr(ld, idx, rr, O_USER);
		/* Remember stored addresses for their PTRs; the record stays owned by its RRset. */
		if (rc == 0 && addr)
			addrs[n_addrs++] = rr;
		rc = rc < 0 ? rc : 0;
	}
	for (size_t i = 0; rc == 0 && i < n_addrs; i++)
		rc = add_auto_ptr(ld, addrs[i]);
	free(addrs);
	if (rc == 0)
		rc = assign_zones(ld);
	if (rc == 0)
		rc = serialise(ld);
	if (rc != 0) {
		if (rc != VG_ECONFIG)
			snprintf(err, errlen, "local data: %s", vg_strerror(rc));
		vg_localdata_free(ld);
		return rc;
	}
	*out = ld;
	return 0;
}

static const struct rrset *find_rrset(const struct vg_localdata *ld, const struct node *n,
				      uint16_t type)
{
	const struct rrset *r = &ld->rrsets[n->first_rr];
	for (uint16_t i = 0; i < n->n_rr; i++)
		if (r[i].type == type)
			return &r[i];
	return NULL;
}

/* RFC 8482: ANY gets one RRset, preferably the addresses a client most likely wants. */
static const struct rrset *any_rrset(const struct vg_localdata *ld, const struct node *n)
{
	const struct rrset *r = find_rrset(ld, n, VG_TYPE_A);
	if (!r)
		r = find_rrset(ld, n, VG_TYPE_AAAA);
	if (!r && n->n_rr)
		r = &ld->rrsets[n->first_rr];
	return r;
}

/* Writes the response: header, question in the client's spelling, then either the answer RRset
 * or (ans == NULL) the negative SOA of `neg` in the authority section. */
static int emit(const struct vg_localdata *ld, const uint8_t *qname, size_t qlen, uint16_t qtype,
		uint16_t qclass, bool rd, int rcode, const struct rrset *ans, const struct node *neg,
		uint8_t *out, size_t cap, size_t *outlen)
{
	size_t need = 12 + qlen + 4 + (ans ? ans->len : 2u + neg->soa_len);
	if (need > cap)
		return VG_ESPACE;
	out[0] = out[1] = 0;
	out[2] = (uint8_t)(0x80 | 0x04 | (rd ? 0x01 : 0)); /* QR AA RD */
	out[3] = (uint8_t)(0x80 | rcode);                 /* RA */
	vg_put_u16(out + 4, 1);
	vg_put_u16(out + 6, ans ? ans->count : 0);
	vg_put_u16(out + 8, ans ? 0 : 1);
	vg_put_u16(out + 10, 0);
	memcpy(out + 12, qname, qlen);
	uint8_t *p = out + 12 + qlen;
	vg_put_u16(p, qtype);
	vg_put_u16(p + 2, qclass);
	p += 4;
	if (ans) {
		memcpy(p, ld->blob + ans->off, ans->len);
	} else {
		/* The SOA owner (the zone) is a suffix of the qname: point into the question. */
		vg_put_u16(p, (uint16_t)(0xC000 | (12 + qlen - neg->zone_len)));
		memcpy(p + 2, ld->blob + neg->soa_off, neg->soa_len);
	}
	*outlen = need;
	return 1;
}

int vg_localdata_answer(const struct vg_localdata *ld, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, uint16_t qclass, bool rd, uint8_t *out, size_t cap,
			size_t *outlen)
{
	uint8_t low[VG_NAME_MAX];
	uint8_t starts[128]; /* offset of each label */
	int nl = 0;
	if (qclass != VG_CLASS_IN)
		return 0;
	if (qname_len == 0 || qname_len > VG_NAME_MAX)
		return VG_EFORMAT;
	size_t pos = 0;
	while (qname[pos] != 0) {
		uint8_t l = qname[pos];
		if (l > 63 || pos + l + 1 >= qname_len || nl == 127)
			return VG_EFORMAT;
		starts[nl++] = (uint8_t)pos;
		low[pos] = l;
		for (size_t i = pos + 1; i <= pos + l; i++) {
			uint8_t c = qname[i];
			low[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
		pos += (size_t)l + 1;
	}
	if (pos + 1 != qname_len)
		return VG_EFORMAT;
	low[pos] = 0;
	/* Hash of every suffix in one backward pass (name_hash runs from the end too). */
	uint64_t hs[128];
	uint64_t h = (ld->seed ^ low[pos]) * FNV_PRIME;
	size_t end = pos; /* bytes [starts[k], end) are label k */
	for (int k = nl - 1; k >= 0; k--) {
		for (size_t i = end; i-- > starts[k];)
			h = (h ^ low[i]) * FNV_PRIME;
		hs[k] = mix(h);
		end = starts[k];
	}
	if (nl == 0)
		return 0; /* the root is never local */
	const struct node *n = lookup(ld, hs[0], low, qname_len);
	if (n) {
		const struct rrset *r = NULL;
		if (n->n_rr) {
			r = qtype == VG_TYPE_ANY ? any_rrset(ld, n) : find_rrset(ld, n, qtype);
			if (!r)
				r = find_rrset(ld, n, VG_TYPE_CNAME);
		}
		return emit(ld, qname, qname_len, qtype, qclass, rd, LDNS_RCODE_NOERROR, r, n, out,
			    cap, outlen);
	}
	for (int k = 1; k < nl; k++) {
		const uint8_t *s = low + starts[k];
		n = lookup(ld, hs[k], s, qname_len - starts[k]);
		if (!n || !(n->flags & F_ZONE))
			continue;
		if (n->flags & F_STATIC)
			return emit(ld, qname, qname_len, qtype, qclass, rd, LDNS_RCODE_NXDOMAIN, NULL,
				    n, out, cap, outlen);
		/* Redirect (localhost.): every name below answers like the apex for addresses. */
		const struct rrset *r = NULL;
		if (qtype == VG_TYPE_A || qtype == VG_TYPE_AAAA)
			r = find_rrset(ld, n, qtype);
		else if (qtype == VG_TYPE_ANY)
			r = find_rrset(ld, n, VG_TYPE_A);
		return emit(ld, qname, qname_len, qtype, qclass, rd, LDNS_RCODE_NOERROR, r, n, out,
			    cap, outlen);
	}
	return 0;
}

size_t vg_localdata_count(const struct vg_localdata *ld)
{
	return ld->n_rrsets;
}

void vg_localdata_free(struct vg_localdata *ld)
{
	if (!ld)
		return;
	for (size_t i = 0; i < ld->n_nodes; i++) {
		for (size_t j = 0; j < ld->nodes[i].nb; j++)
			brrset_clear(&ld->nodes[i].b[j]);
		free(ld->nodes[i].b);
	}
	free(ld->nodes);
	free(ld->slots);
	free(ld->rrsets);
	free(ld->blob);
	free(ld);
}
