/* Local answers that are never sent upstream: RFC 6761/6303 names, built-in local zones and the
 * user's local-data, with precomputed wire answers (issue 2). */
#ifndef VIGIL_DAEMON_LOCALDATA_H
#define VIGIL_DAEMON_LOCALDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/config.h>

struct vg_localdata;

/* Builds the local answer table from the built-in zones and cfg->local_data; each of
 * cfg->forward_zones takes its names out of any built-in zone equal to or above it (the closest
 * enclosing zone wins; local-data still answers its own names). Every answer is
 * precomputed in wire form here, so the query path does no parsing and no allocation.
 * Returns 0 and *out (free with vg_localdata_free), VG_ECONFIG with a message
 * "FILE:LINE: key 'local-data': reason" in err when a record does not parse, or -ENOMEM.
 * The table is immutable afterwards: any number of threads may answer from it concurrently. */
int vg_localdata_new(const struct vg_config *cfg, struct vg_localdata **out, char *err,
		     size_t errlen);

/* Answers a question from local data.
 * qname: uncompressed wire name as the client spelled it (qname_len bytes, validated by the
 * caller); the answer's question section keeps that spelling, matching is case-insensitive.
 * Returns 1 when answered: out[0..*outlen) is a complete DNS response with ID 0 (the caller writes
 * the query ID), QR=1, AA=1, RA=1, RD copied from `rd`, the rcode (NOERROR or NXDOMAIN), the
 * question, answer records (owner = compression pointer to the question name), and for NXDOMAIN
 * or NODATA the zone's SOA in the authority section; it never holds an OPT record (ARCOUNT 0, the
 * caller appends OPT). Returns 0 when the name is not local (the resolver handles it), VG_ESPACE
 * when `cap` is too small, VG_EFORMAT for an invalid qname. qtype ANY gets one RRset (RFC 8482).
 * Classes other than IN are not local (0). Thread-safe, no allocation. */
int vg_localdata_answer(const struct vg_localdata *ld, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, uint16_t qclass, bool rd, uint8_t *out, size_t cap,
			size_t *outlen);

/* Number of precomputed (name, type) answers, for stats and tests. */
size_t vg_localdata_count(const struct vg_localdata *ld);

/* Frees the table (NULL is fine). */
void vg_localdata_free(struct vg_localdata *ld);

#endif
