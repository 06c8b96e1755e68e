/* Suspicious-answer events: what a hijack detection reports, the sink the daemon hands the
 * resolver to receive them (docs/suspicious-log.md), and the address classifier of the
 * rebinding check. The resolver fills events; it never opens files. */
#ifndef VIGIL_SUSPECT_H
#define VIGIL_SUSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/addr.h>

/* Reason codes: X(ID, log name, counter name). The log names (vg_suspect_reason_name) are the
 * log's "reason" values; the counter is `suspect_<counter name>` in vigilctl stats. Later
 * detections add theirs before VG_SUSPECT_N_REASONS. */
#define VG_SUSPECT_REASONS(X)                                                                      \
	X(REBINDING, "rebinding", rebinding)                                                       \
	X(SECOND_ANSWER, "second-answer", second_answer)                                           \
	X(SPOOF_ATTEMPT, "spoof-attempt", spoof_attempt)                                           \
	X(OUT_OF_BAILIWICK, "out-of-bailiwick", out_of_bailiwick)                                  \
	X(BOGUS, "bogus", bogus)                                                                   \
	X(NXDOMAIN_REWRITE, "nxdomain-rewrite", nxdomain_rewrite)                                  \
	X(PIN, "pin", pin)                                                                         \
	X(SERVERS_DISAGREE, "servers-disagree", servers_disagree)
enum vg_suspect_reason {
#define VG_SUSPECT_ENUM(id, name, stat) VG_SUSPECT_##id,
	VG_SUSPECT_REASONS(VG_SUSPECT_ENUM)
#undef VG_SUSPECT_ENUM
	    VG_SUSPECT_N_REASONS
};

enum vg_suspect_action {
	VG_SUSPECT_LOGGED,
	VG_SUSPECT_BLOCKED,
	VG_SUSPECT_RETRIED,
	VG_SUSPECT_QUARANTINED,
};

/* spoof-attempt's count of one kind of unwanted message. */
struct vg_suspect_count {
	const char *kind;
	unsigned n;
};

/* A sender of unwanted messages. */
struct vg_suspect_source {
	struct vg_sockaddr addr;
	bool tcp;
};

/* One detection. Every pointer is borrowed for the duration of the emit call only. */
struct vg_suspect_event {
	enum vg_suspect_reason reason;
	enum vg_suspect_action action;
	const uint8_t *qname; /* wire, the question asked (any bytes) */
	uint16_t qtype;
	const struct vg_sockaddr *client; /* NULL when no client asked (prefetch, sub-query) */
	const struct vg_sockaddr *server; /* who sent the reply (address and port) */
	bool tcp;			  /* the reply came over TCP */
	const char *const *records;	  /* offending records, presentation format */
	size_t n_records;
	const char *served;   /* what the client got instead, free text */
	const uint8_t *reply; /* the raw reply as received */
	size_t reply_len;
	uint16_t ede;	     /* the EDE the client got, 0 = none (not logged) */
	const uint8_t *zone; /* wire: the zone whose data failed validation, NULL = none */
	/* second-answer: the reply that was accepted first (`reply` is the second one) */
	const uint8_t *first_reply;
	size_t first_reply_len;
	/* spoof-attempt: unwanted messages per kind ("wrong-id", "wrong-question", "wrong-case",
	 * "wrong-source", "malformed") and who sent them */
	const struct vg_suspect_count *counts;
	size_t n_counts;
	const struct vg_suspect_source *sources;
	size_t n_sources;
};

/* Receives events. emit is called on a worker's loop thread and must not block (the daemon's
 * writer queues the line and returns); it must be thread-safe across workers. */
struct vg_suspect_sink {
	void (*emit)(void *ctx, const struct vg_suspect_event *ev);
	void *ctx;
};

/* `rebinding:` setting. */
enum vg_rebinding_mode { VG_REBIND_BLOCK = 0, VG_REBIND_LOG, VG_REBIND_OFF };
/* The same three settings of every other detection (second-answer:, spoof-attempt:,
 * out-of-bailiwick:); the values equal enum vg_rebinding_mode's so one parser serves all. */
enum vg_detect_mode { VG_DETECT_BLOCK = 0, VG_DETECT_LOG, VG_DETECT_OFF };

/* `forward-fallback:` none (default: keep asking the forwarder, rewrites become NXDOMAIN) or
 * iterate (resolve the forwarded zone from the root hints while its forwarder lies). */
enum vg_forward_fallback { VG_FALLBACK_NONE = 0, VG_FALLBACK_ITERATE };

/* One `pin: "NAME TYPE VALUE"` (docs/configuration.md): the data of NAME (exactly that name)
 * and TYPE must lie inside VALUE. Pins of one name and type together make one allowed set. */
struct vg_pin {
	uint8_t name[256];	/* wire, lowercase */
	uint16_t type;		/* A, AAAA, NS or DS */
	struct vg_cidr prefix;	/* A, AAAA: the allowed prefix */
	uint8_t ns_suffix[256]; /* NS: the target must be this name or below it (wire) */
	int32_t ds_keytag;	/* DS: the key tag, or -1 when a digest is given */
	uint8_t ds_digest[64];	/* DS: the digest (binary) */
	uint8_t ds_digest_len;
};

/* Parses the value of one pin: "NAME TYPE VALUE" (quotes already removed). Returns 0, or -1
 * with a message in err naming what is wrong. Pure. */
int vg_pin_parse(const char *text, struct vg_pin *out, char *err, size_t errlen);
/* Whether one record (rdata of the pin's type) lies inside the pin. Pure. */
bool vg_pin_match(const struct vg_pin *p, const uint8_t *rdata, uint16_t rdlen);

/* The resolver's hijack settings (read by resolver/hijack.c only). Borrowed; must outlive the
 * resolver. */
struct vg_hijack_opts {
	bool enabled; /* hijack-checks: no turns every detection off */
	enum vg_rebinding_mode rebinding;
	const uint8_t (*private_domains)[256]; /* wire, lowercase: exempt from rebinding */
	size_t n_private_domains;
	/* second-answer: block = quarantine the RRsets and re-fetch over TCP, log = event only */
	enum vg_detect_mode second_answer;
	/* spoof-attempt: block = move the query to TCP after spoof_tcp_after wrong-ID messages
	 * (and after a 0x20 mismatch, always), log = event only, off = neither event nor the
	 * wrong-ID move */
	enum vg_detect_mode spoof_attempt;
	uint32_t spoof_tcp_after; /* spoof-tcp-after: wrong-ID messages per query, >= 1 */
	/* out-of-bailiwick: records the scrubber removed are logged (block = log: the scrubber
	 * removes them whatever this says) */
	enum vg_detect_mode out_of_bailiwick;
	/* nxdomain-rewrite (forward mode): probe each forwarder with a name that cannot exist;
	 * block = answers that are exactly a learned rewrite address set become NXDOMAIN, log =
	 * event only, off = no probe at all (docs/configuration.md) */
	enum vg_detect_mode nxdomain_rewrite;
	/* forward-fallback: while a forwarder is known to rewrite NXDOMAIN, iterate its zone */
	enum vg_forward_fallback forward_fallback;
	/* pin: answers for pinned names outside the pin (pin-action: block|log|off) */
	const struct vg_pin *pins;
	size_t n_pins;
	enum vg_detect_mode pin_action;
	/* servers-disagree (resolver/disagree.c): an authoritative answer is asked again of a
	 * second server of the zone when its name is under a `watch` domain, is one of the
	 * first `disagree_budget` names of its zone this hour, or its zone disagreed lately.
	 * log = the client gets the first answer at once, the check runs on its own; block = the
	 * answer waits for the check, a disagreement is asked again over TCP and only a
	 * TCP-confirmed majority is served (else SERVFAIL, EDE 4). The watch array is borrowed. */
	enum vg_detect_mode servers_disagree;
	const uint8_t (*watch)[256]; /* wire, lowercase */
	size_t n_watch;
	uint32_t disagree_budget; /* servers-disagree-budget: names per zone per hour, 0 = none */
};

/* Address classes of the rebinding check. */
enum vg_addr_class {
	VG_ADDR_PUBLIC = 0,
	VG_ADDR_PRIVATE,     /* RFC 1918, fc00::/7 (ULA) */
	VG_ADDR_LOOPBACK,    /* 127/8, ::1 */
	VG_ADDR_LINKLOCAL,   /* 169.254/16, fe80::/10 */
	VG_ADDR_UNSPECIFIED, /* 0/8, :: */
	VG_ADDR_CGNAT,	     /* 100.64/10 */
};

/* Class of an IPv4 address (4 bytes, network order). Pure. */
enum vg_addr_class vg_addr_class4(const uint8_t a[4]);
/* Class of an IPv6 address (16 bytes): an IPv4-mapped (::ffff:0:0/96) or NAT64-embedded
 * (64:ff9b::/96) address has the class of the IPv4 address inside. Pure. */
enum vg_addr_class vg_addr_class6(const uint8_t a[16]);
/* Class of a sockaddr (AF_INET or AF_INET6; anything else is public). */
enum vg_addr_class vg_addr_class_sa(const struct vg_sockaddr *a);
const char *vg_addr_class_name(enum vg_addr_class c);

const char *vg_suspect_reason_name(enum vg_suspect_reason r);
const char *vg_suspect_action_name(enum vg_suspect_action a);

#endif
