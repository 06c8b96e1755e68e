/* One home for DNS protocol constants (RR types, classes, rcodes, EDE codes) and the base
 * library's RR header reader and rdata name layout table (resolver/base/dns.c, libc only). */
#ifndef VIGIL_DNS_H
#define VIGIL_DNS_H

#include <stddef.h>
#include <stdint.h>

#define VG_DNS_HEADER 12   /* bytes of the fixed message header */
#define VG_DNS_RR_FIXED 10 /* type, class, TTL, rdlength after an RR's owner */

/* RR types (IANA "Resource Record (RR) TYPEs"). */
enum {
	VG_TYPE_A = 1,
	VG_TYPE_NS = 2,
	VG_TYPE_CNAME = 5,
	VG_TYPE_SOA = 6,
	VG_TYPE_PTR = 12,
	VG_TYPE_HINFO = 13,
	VG_TYPE_MX = 15,
	VG_TYPE_TXT = 16,
	VG_TYPE_AAAA = 28,
	VG_TYPE_SRV = 33,
	VG_TYPE_DNAME = 39,
	VG_TYPE_OPT = 41,
	VG_TYPE_DS = 43,
	VG_TYPE_RRSIG = 46,
	VG_TYPE_NSEC = 47,
	VG_TYPE_DNSKEY = 48,
	VG_TYPE_NSEC3 = 50,
	VG_TYPE_IXFR = 251,
	VG_TYPE_AXFR = 252,
	VG_TYPE_MAILB = 253,
	VG_TYPE_MAILA = 254,
	VG_TYPE_ANY = 255,
};

/* Classes. */
enum {
	VG_CLASS_IN = 1,
	VG_CLASS_CH = 3,
	VG_CLASS_HS = 4,
};

/* Response codes (the extended ones, >= 16, need an OPT record). */
enum {
	VG_RCODE_NOERROR = 0,
	VG_RCODE_FORMERR = 1,
	VG_RCODE_SERVFAIL = 2,
	VG_RCODE_NXDOMAIN = 3,
	VG_RCODE_NOTIMP = 4,
	VG_RCODE_REFUSED = 5,
	VG_RCODE_BADVERS = 16,
};

/* Extended DNS Errors (RFC 8914): the option code and the info-codes vigil sends. */
#define VG_EDNS_OPT_EDE 15
#define VG_EDE_NONE 0xFFFF /* no EDE option */
enum {
	VG_EDE_OTHER = 0,
	VG_EDE_UNSUPPORTED_DNSKEY_ALG = 1,
	VG_EDE_UNSUPPORTED_DS_DIGEST = 2,
	VG_EDE_STALE_ANSWER = 3,
	VG_EDE_FORGED_ANSWER = 4,
	VG_EDE_DNSSEC_INDETERMINATE = 5,
	VG_EDE_DNSSEC_BOGUS = 6,
	VG_EDE_SIGNATURE_EXPIRED = 7,
	VG_EDE_SIGNATURE_NOT_YET_VALID = 8,
	VG_EDE_DNSKEY_MISSING = 9,
	VG_EDE_RRSIGS_MISSING = 10,
	VG_EDE_NO_ZONE_KEY_BIT = 11,
	VG_EDE_NSEC_MISSING = 12,
	VG_EDE_BLOCKED = 15,
	VG_EDE_PROHIBITED = 18,
	VG_EDE_STALE_NXDOMAIN_ANSWER = 19,
	VG_EDE_NOT_AUTHORITATIVE = 20,
	VG_EDE_NO_REACHABLE_AUTHORITY = 22,
	VG_EDE_NETWORK_ERROR = 23,
	VG_EDE_UNSUPPORTED_NSEC3_ITERATIONS = 27,
};

/* The fixed part of one resource record, as vg_dns_rr_read found it. */
struct vg_dns_rr {
	size_t owner; /* offset of the owner name in the packet (maybe compressed) */
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata; /* offset of the rdata; rdata + rdlen <= the packet's length */
};

/* Reads the RR header at pkt[*pos] in pkt[0..len): the owner name (compression allowed, as
 * vg_name_unpack; copied uncompressed into `owner` when not NULL, VG_NAME_MAX bytes), type,
 * class, TTL and rdlength, and checks the rdata lies inside the packet. On success fills `rr`,
 * sets *pos to the rdata (rr->rdata) and returns the owner's uncompressed length (> 0); the
 * caller skips the rdata itself (*pos += rr->rdlen). Returns vg_name_unpack's error for a bad
 * owner, VG_ETRUNC when the fixed fields or the rdata run past `len`. Thread-safe. */
int vg_dns_rr_read(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *owner,
		   struct vg_dns_rr *rr);

/* vg_dns_rr_read without the owner: reads the fixed fields at pkt[*pos] (just after an owner the
 * caller skipped itself). Returns 0, or VG_ETRUNC. */
int vg_dns_rr_fixed(const uint8_t *pkt, size_t len, size_t *pos, struct vg_dns_rr *rr);

/* Where a type's rdata holds domain names (RFC 3597 4: only the RFC 1035 types, and the ones
 * listed with them, may be compressed on the wire; the DNSSEC ones never are). */
enum vg_rdata_layout {
	VG_RD_OPAQUE,	 /* no name */
	VG_RD_NAME,	 /* one name: NS CNAME PTR DNAME MD MF MB MG MR */
	VG_RD_SOA,	 /* two names, then 20 bytes */
	VG_RD_U16_NAME,	 /* 2 bytes, then a name: MX AFSDB RT KX */
	VG_RD_SRV,	 /* 6 bytes, then a name (not compressible, RFC 2782) */
	VG_RD_2NAMES,	 /* two names: MINFO RP */
	VG_RD_RRSIG,	 /* 18 bytes, the signer's name, the signature (never compressed) */
	VG_RD_NAME_REST, /* a name, then bytes: NSEC next name (never compressed) */
};

/* The rdata layout of `type`. Thread-safe. */
enum vg_rdata_layout vg_dns_rdata_layout(uint16_t type);

/* True when a name in `type`'s rdata may be compressed on the wire, so a parser must decompress
 * it and may lowercase it (the names of VG_RD_NAME, SOA, U16_NAME, SRV and 2NAMES layouts). */
static inline int vg_dns_rdata_compressible(enum vg_rdata_layout l)
{
	return l != VG_RD_OPAQUE && l != VG_RD_RRSIG && l != VG_RD_NAME_REST;
}

#endif
