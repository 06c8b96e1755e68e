/* vigild configuration: the parsed form of the config file (grammar owned by daemon/config.c).
 * The daemon's alone: it hands the resolver and the cache their own options (daemon/opts.c).
 * Adding a key: add the field here, parse it in daemon/config.c, document it in
 * docs/configuration.md and contrib/vigil.conf. */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vigil/addr.h>
#include <vigil/resolver.h> /* struct vg_forward_zone */

#define VG_DEFAULT_PORT 53
#define VG_HTTP_DEFAULT_PORT 8053 /* http-listen without @PORT */
#define VG_HTTP_LISTEN_MAX 4	  /* http-listen addresses */

/* One local-data record as written ("router.lan. 300 A 192.168.1.1"); parsed by the daemon's
 * local-data module, which reports errors with the line it came from. */
struct vg_local_rr {
	char *text;
	int line;
};

struct vg_config {
	char *path; /* file it came from, NULL for built-in defaults */

	/* front end */
	struct vg_sockaddr *listen;
	size_t n_listen;
	int workers; /* 0 = auto (number of CPUs) */
	/* NULL = unset: started as root, become VIGIL_DEFAULT_USER if it exists; "" = stay */
	char *user;
	struct vg_cidr *allow, *deny;
	size_t n_allow, n_deny;
	bool allow_set; /* an allow: line was given (otherwise default: loopback only) */
	uint32_t rate_limit; /* queries/s per client, 0 = off */
	uint32_t rate_limit_burst; /* tokens; 0 = same as rate_limit */
	struct vg_local_rr *local_data;
	size_t n_local_data;
	int log_level;  /* enum vg_log_level */
	char *control_socket;
	/* control-group: its members may use the control socket (besides root and vigild's own
	 * user); the gid is resolved when the file is read. NULL = no such group. */
	char *control_group;
	uint32_t control_gid;
	char *suspicious_log;
	char *query_log;	 /* query-log: FILE; NULL = off */
	uint32_t query_log_rate; /* query-log lines per second, 0 = no limit */
	/* http-listen: /metrics, the live page (daemon/http.c); none = off */
	struct vg_sockaddr *http_listen;
	size_t n_http_listen;
	uint32_t tcp_idle_timeout_ms;
	uint32_t tcp_max_clients;   /* per worker */
	uint16_t edns_buffer_size;  /* advertised and used for our answers, default 1232 */

	/* cache */
	char *cache_dir;
	uint64_t cache_size; /* bytes */
	uint32_t cache_min_ttl, cache_max_ttl, cache_max_negative_ttl; /* seconds */
	uint32_t serve_stale_max; /* seconds past expiry that may be served stale, 0 = off */
	bool cache_rebuild_on_error; /* corrupted/foreign file: start a fresh cache instead of failing */

	/* resolver */
	char *root_hints;        /* NULL = built in */
	char *root_hints_text;   /* its contents, read by vg_config_load while vigild still has
				  * its starting privileges; NULL = read root_hints when needed */
	/* DNSSEC (docs/configuration.md "DNSSEC validation") */
	bool dnssec;		   /* validate (default yes) */
	char **trust_anchor_files; /* trust-anchor-file: none = the built-in root DS */
	char **trust_anchor_texts; /* their contents, read by vg_config_load (like
				    * root_hints_text); NULL until then */
	size_t n_trust_anchor_files;
	uint8_t (*negative_trust_anchors)[256]; /* wire, lowercase */
	size_t n_negative_trust_anchors;
	uint32_t nsec3_max_iterations; /* above: insecure, EDE 27 (RFC 9276); at most 150 */
	bool aggressive_nsec;	       /* RFC 8198 and RFC 8020 answers from the cache */
	struct vg_sockaddr *outgoing; /* source addresses (port 0) of upstream queries */
	size_t n_outgoing;
	bool qname_minimisation;
	bool case_randomisation;
	bool do_ip4, do_ip6;
	bool query_local_addresses;
	bool prefetch;
	struct vg_sockaddr *forward; /* forward: all questions */
	size_t n_forward;
	struct vg_forward_zone *forward_zones;
	size_t n_forward_zones;
	uint32_t max_upstream_queries;   /* per client request (NXNS bound) */
	uint32_t max_glueless_per_referral;
	uint32_t max_cname_chain;
	uint32_t max_referral_depth;
	uint32_t request_timeout_ms;     /* lifetime of one client request */

	/* work in flight (DNSBomb, memory, descriptors; docs/configuration.md "Work in flight") */
	uint32_t max_requests;		 /* per worker: client queries waiting for the resolver */
	uint32_t max_pending_per_client; /* per client address, all workers together; 0 = off */
	uint32_t max_upstream_sockets;	 /* per worker: upstream UDP and TCP sockets open */
	uint32_t discard_timeout_ms;	 /* UDP answers later than this are not sent; 0 = off */
	struct vg_cidr *trusted;	 /* `allow: PREFIX trusted`: exempt from
					  * max-pending-per-client */
	size_t n_trusted;

	/* hijack detection (docs/suspicious-log.md) */
	bool hijack_checks; /* no: every detection off */
	int rebinding; /* enum vg_rebinding_mode (vigil/suspect.h): block (default), log, off */
	uint8_t (*private_domains)[256]; /* wire, lowercase: may answer private addresses */
	size_t n_private_domains;
	/* enum vg_detect_mode (vigil/suspect.h): block, log, off */
	int second_answer;	      /* default block */
	int spoof_attempt;	      /* default block */
	uint32_t spoof_tcp_after;     /* wrong-ID messages that move a query to TCP, default 3 */
	int out_of_bailiwick;	      /* default log */
	uint32_t injection_window_ms; /* default 200, 0 = off */
	bool injection_strict;	      /* hold answers for the window (default no) */
	/* nxdomain-rewrite, forward-fallback, pin, pin-action (docs/configuration.md) */
	int nxdomain_rewrite; /* enum vg_detect_mode, default block */
	int forward_fallback; /* enum vg_forward_fallback, default none */
	struct vg_pin *pins;  /* pin: lines in order */
	size_t n_pins;
	int pin_action; /* enum vg_detect_mode, default log */
	/* servers-disagree (resolver/disagree.c) */
	int servers_disagree;  /* enum vg_detect_mode, default log */
	uint8_t (*watch)[256]; /* watch: wire, lowercase, repeatable */
	size_t n_watch;
	uint32_t servers_disagree_budget; /* names per zone per hour, default 3 */
};

/* Fills `cfg` with the built-in defaults (listen 127.0.0.1 and ::1 port 53, ...). Returns 0 or
 * -ENOMEM. Free with vg_config_free. */
int vg_config_defaults(struct vg_config *cfg);

/* Reads `path` over the defaults: `cfg` must hold a config from vg_config_defaults (the file's
 * values replace or, for list keys, extend it; its listen: lines replace the default listen set).
 * On error returns VG_ECONFIG (or negative errno; unreadable file: "FILE: cannot read: REASON")
 * and writes a message "FILE:LINE: key 'KEY': reason" into err (NUL-terminated, truncated to
 * errlen). On error `cfg` is left freed (freeing it again is harmless). Not thread-safe with
 * respect to `cfg`. */
int vg_config_load(struct vg_config *cfg, const char *path, char *err, size_t errlen);

/* Parses config text held in memory; `name` is used in messages as the file name. */
int vg_config_parse(struct vg_config *cfg, const char *name, const char *text, char *err,
		    size_t errlen);

void vg_config_free(struct vg_config *cfg);

#endif
