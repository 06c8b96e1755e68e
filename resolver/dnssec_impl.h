/* Shared by dnssec.c and dnssec_denial.c only: the validator's state and RRSIG parsing. */
#ifndef VIGIL_RESOLVER_DNSSEC_IMPL_H
#define VIGIL_RESOLVER_DNSSEC_IMPL_H

#include <ldns/ldns.h>
#include "dnssec.h"
#include "internal.h"

#define VG_DNSSEC_RRS_MAX VG_MAX_RRSET_RRS    /* records of one RRset looked at */
#define VG_DNSSEC_SIGS_MAX VG_MAX_RRSET_SIGS  /* RRSIGs tried per RRset */
#define VG_DNSSEC_PROOF_MAX VG_MAX_PROOF_NSEC /* NSEC/NSEC3 records used per proof */

struct vg_canon_ix {
	uint32_t off;
	uint16_t len;
};

struct vg_validator {
	struct vg_dnssec_limits lim;
	ldns_buffer *data;   /* the signed data of one RRSIG check */
	ldns_buffer *sigbuf; /* DER form of a DSA/ECDSA signature */
	uint8_t *canon;	     /* canonical rdatas of the RRset being checked */
	size_t canon_cap;
	struct vg_canon_ix ix[VG_DNSSEC_RRS_MAX];
	size_t n_ix;
};

struct vg_rrsig {
	uint16_t covered;
	uint8_t alg, labels;
	uint32_t orig_ttl, expire, incept;
	uint16_t tag;
	const uint8_t *signer;
	size_t signer_len;
	const uint8_t *sig;
	size_t sig_len;
};

/* Fills every field of `res` (ttl 0, opt_out false). */
void vg_dnssec_set_result(struct vg_dnssec_result *res, enum vg_dnssec_status st, uint16_t ede,
			  const char *why);

/* Parses an RRSIG rdata (signer name validated, signature non-empty). */
bool vg_dnssec_parse_rrsig(const struct vg_rdata_ref *r, struct vg_rrsig *s);

/* vg_dnssec_verify_rrset, trusting only the key `only` of `keys` when it is not NULL. */
void vg_dnssec_verify_with(struct vg_validator *v, struct vg_dnssec_work *w,
			   const struct vg_rrset_view *set, const struct vg_rrset_view *keys,
			   const struct vg_rdata_ref *only, struct vg_dnssec_result *res);

#endif
