/* Config file grammar and parser for vigild (the one owner of the config format). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vigil/anchor.h>
#include <vigil/config.h>
#include <vigil/file.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil/suspect.h>
#include <vigil_build.h>

/* Grammar (documented in docs/configuration.md):
 *   line    = ws* ( key ws* ':' ws* value )? ws* ( '#' any* )?
 *   value   = '"' ( [^"\\] | '\"' | '\\' | '\' other )* '"'   -- a quoted value
 *           | [^#]*                                            -- trimmed of surrounding spaces
 * A key may repeat only when it names a list. Lines have no length limit. */

/* Parser state for one file. `reason` is filled by a setter that refuses a value. */
struct pstate {
	struct vg_config *cfg;
	const char *name;
	int line;
	bool listen_seen; /* the first listen: replaces the built-in listen set */
	bool oom;
	bool quoted; /* the value being applied was written in quotes */
	char reason[256];
	int key_line[128]; /* last line each key (index in keys[]) was set on, for cross-key errors */
};

/* K_STR_EMPTY: "" resets to NULL (unset); K_STR_KEEP: "" is a value of its own (user: "" = stay
 * as started, while unset lets vigild pick its default user). */
/* K_LIST_EMPTY: a list key set by its function, "" empties the list. */
enum ktype { K_BOOL, K_U32, K_SECS, K_MS, K_STR, K_STR_EMPTY, K_STR_KEEP, K_FUNC, K_LIST_EMPTY };

typedef int (*setter)(struct pstate *ps, const char *v);

struct key {
	const char *name;
	enum ktype type;
	size_t off;       /* offset of the field for generic types */
	uint64_t min, max; /* range for numbers (after unit conversion) */
	setter fn;        /* K_FUNC */
};

static int fail(struct pstate *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct pstate *ps, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->reason, sizeof(ps->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct pstate *ps)
{
	ps->oom = true;
	return fail(ps, "out of memory");
}

/* Appends one zeroed element to a growable array; returns it or NULL. The capacity is implied by
 * the count (the next power of two, reallocated when the count is one), so lists stay linear. */
static void *grow(void **arr, size_t *n, size_t size)
{
	if ((*n & (*n - 1)) == 0) {
		size_t ncap = *n ? *n * 2 : 1;
		void *p = realloc(*arr, ncap * size);
		if (!p)
			return NULL;
		*arr = p;
	}
	void *el = (char *)*arr + *n * size;
	memset(el, 0, size);
	(*n)++;
	return el;
}

/* Decimal unsigned number with an optional unit suffix from `units` ({suffix, multiplier}, the
 * first entry with suffix "" is the unit of a bare number). */
struct unit {
	const char *suffix;
	uint64_t mult;
};

static int parse_num(const char *v, const struct unit *units, uint64_t *out)
{
	if (!isdigit((unsigned char)v[0]))
		return -1;
	uint64_t n = 0;
	const char *p = v;
	while (isdigit((unsigned char)*p)) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p++ - '0');
	}
	for (const struct unit *u = units; u->suffix; u++) {
		if (strcasecmp(p, u->suffix) == 0) {
			if (u->mult && n > UINT64_MAX / u->mult)
				return -1;
			*out = n * u->mult;
			return 0;
		}
	}
	return -1;
}

static const struct unit plain_units[] = {{"", 1}, {NULL, 0}};
static const struct unit secs_units[] = {
	{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}, {NULL, 0}};
static const struct unit ms_units[] = {
	{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {NULL, 0}};

/* The numeric key kinds: one parsing rule, their units and the wording of their errors. */
struct numeric_kind {
	const struct unit *units;
	const char *what, *expect, *suffixes;
};
static const struct numeric_kind numeric_kinds[] = {
    [K_U32] = {plain_units, "value", "a number", ""},
    [K_SECS] = {secs_units, "duration", "seconds", ", or with suffix s, m, h, d, w"},
    [K_MS] = {ms_units, "duration", "milliseconds", ", or with suffix ms, s, m, h"},
};
static const struct unit size_units[] = {{"", 1},
					 {"k", 1024},
					 {"m", 1024 * 1024},
					 {"g", 1024ull * 1024 * 1024},
					 {"t", 1024ull * 1024 * 1024 * 1024},
					 {"kb", 1024},
					 {"mb", 1024 * 1024},
					 {"gb", 1024ull * 1024 * 1024},
					 {"tb", 1024ull * 1024 * 1024 * 1024},
					 {NULL, 0}};

static int set_string(struct pstate *ps, char **field, const char *v)
{
	char *s = strdup(v);
	if (!s)
		return oom(ps);
	free(*field);
	*field = s;
	return 0;
}

static int add_addr(struct pstate *ps, struct vg_sockaddr **arr, size_t *n, const char *v,
		    uint16_t defport, bool allow_port, const char *what)
{
	struct vg_sockaddr a;
	if (!allow_port && strchr(v, '@'))
		return fail(ps, "'%s': a port is not allowed here", v);
	if (vg_sockaddr_parse(v, defport, &a) != 0)
		return fail(ps, "bad address '%s' (expected %s)", v,
			    allow_port ? "IPv4 or IPv6 address with optional @PORT"
				       : "IPv4 or IPv6 address");
	for (size_t i = 0; i < *n; i++)
		if (vg_sockaddr_eq(&(*arr)[i], &a))
			return fail(ps, "duplicate %s address '%s'", what, v);
	struct vg_sockaddr *el = grow((void **)arr, n, sizeof(**arr));
	if (!el)
		return oom(ps);
	*el = a;
	return 0;
}

static int set_listen(struct pstate *ps, const char *v)
{
	struct vg_config *cfg = ps->cfg;
	if (!ps->listen_seen) {
		/* The file's listen lines replace the built-in set instead of adding to it. */
		free(cfg->listen);
		cfg->listen = NULL;
		cfg->n_listen = 0;
		ps->listen_seen = true;
	}
	return add_addr(ps, &cfg->listen, &cfg->n_listen, v, VG_DEFAULT_PORT, true, "listen");
}

static int set_http_listen(struct pstate *ps, const char *v)
{
	if (add_addr(ps, &ps->cfg->http_listen, &ps->cfg->n_http_listen, v, VG_HTTP_DEFAULT_PORT,
		     true, "http-listen") != 0)
		return -1;
	if (ps->cfg->n_http_listen > VG_HTTP_LISTEN_MAX)
		return fail(ps, "at most %d http-listen addresses", VG_HTTP_LISTEN_MAX);
	return 0;
}

static int set_outgoing(struct pstate *ps, const char *v)
{
	return add_addr(ps, &ps->cfg->outgoing, &ps->cfg->n_outgoing, v, 0, false,
			"outgoing-address");
}

static int set_forward(struct pstate *ps, const char *v)
{
	return add_addr(ps, &ps->cfg->forward, &ps->cfg->n_forward, v, VG_DEFAULT_PORT, true,
			"forward");
}

static int add_cidr(struct pstate *ps, struct vg_cidr **arr, size_t *n, const char *v)
{
	struct vg_cidr c;
	if (vg_cidr_parse(v, &c) != 0)
		return fail(ps, "bad CIDR '%s' (expected ADDR/BITS or ADDR)", v);
	struct vg_cidr *el = grow((void **)arr, n, sizeof(**arr));
	if (!el)
		return oom(ps);
	*el = c;
	return 0;
}

/* allow: PREFIX [trusted] -- a trusted range is also exempt from max-pending-per-client. */
static int set_allow(struct pstate *ps, const char *v)
{
	char prefix[128];
	size_t n = strcspn(v, " \t");
	const char *rest = v + n + strspn(v + n, " \t");
	if (n >= sizeof(prefix))
		return fail(ps, "bad CIDR '%s' (expected ADDR/BITS or ADDR)", v);
	memcpy(prefix, v, n);
	prefix[n] = 0;
	if (*rest && strcmp(rest, "trusted") != 0)
		return fail(ps, "unexpected '%s' after the prefix (expected nothing or 'trusted')",
			    rest);
	ps->cfg->allow_set = true;
	if (add_cidr(ps, &ps->cfg->allow, &ps->cfg->n_allow, prefix) != 0)
		return -1;
	return *rest ? add_cidr(ps, &ps->cfg->trusted, &ps->cfg->n_trusted, prefix) : 0;
}

static int set_deny(struct pstate *ps, const char *v)
{
	return add_cidr(ps, &ps->cfg->deny, &ps->cfg->n_deny, v);
}

static int set_workers(struct pstate *ps, const char *v)
{
	uint64_t n;
	if (strcmp(v, "auto") == 0) {
		ps->cfg->workers = 0;
		return 0;
	}
	if (parse_num(v, plain_units, &n) != 0 || n < 1 || n > 256)
		return fail(ps, "bad value '%s' (expected auto or 1..256)", v);
	ps->cfg->workers = (int)n;
	return 0;
}

static int set_log_level(struct pstate *ps, const char *v)
{
	enum vg_log_level l;
	if (vg_log_level_parse(v, &l) != 0)
		return fail(ps, "bad value '%s' (expected error, warn, info or debug)", v);
	ps->cfg->log_level = (int)l;
	return 0;
}

static int set_cache_size(struct pstate *ps, const char *v)
{
	uint64_t n;
	if (parse_num(v, size_units, &n) != 0)
		return fail(ps, "bad size '%s' (expected bytes with optional K, M, G or T)", v);
	if (n < 1024 * 1024 || n > (1ull << 44))
		return fail(ps, "size '%s' out of range (1M..16T)", v);
	ps->cfg->cache_size = n;
	return 0;
}

static int set_edns_size(struct pstate *ps, const char *v)
{
	uint64_t n;
	if (parse_num(v, plain_units, &n) != 0 || n < 512 || n > 4096)
		return fail(ps, "bad value '%s' (expected 512..4096)", v);
	ps->cfg->edns_buffer_size = (uint16_t)n;
	return 0;
}

/* local-data is checked here so a bad record is reported with its file and line; the local-data
 * module parses it again when it builds its answers. */
static int set_local_data(struct pstate *ps, const char *v)
{
	ldns_rr *rr = NULL;
	ldns_rdf *origin = ldns_dname_new_frm_str(".");
	if (!origin)
		return oom(ps);
	ldns_status st = ldns_rr_new_frm_str(&rr, v, 3600, origin, NULL);
	ldns_rdf_deep_free(origin);
	if (st != LDNS_STATUS_OK)
		return fail(ps, "bad record \"%s\": %s", v, ldns_get_errorstr_by_id(st));
	ldns_rr_class cls = ldns_rr_get_class(rr);
	ldns_rr_free(rr);
	if (cls != LDNS_RR_CLASS_IN)
		return fail(ps, "bad record \"%s\": only class IN is served", v);
	struct vg_local_rr *el =
		grow((void **)&ps->cfg->local_data, &ps->cfg->n_local_data, sizeof(*el));
	if (!el)
		return oom(ps);
	el->line = ps->line;
	el->text = strdup(v);
	if (!el->text) {
		ps->cfg->n_local_data--;
		return oom(ps);
	}
	return 0;
}

/* "ZONE ADDR [ADDR...]". A zone of "." adds its servers to `forward:` (same meaning), so the
 * forward_zones list never holds the root. */
static int set_forward_zone(struct pstate *ps, const char *v)
{
	struct vg_config *cfg = ps->cfg;
	char *copy = strdup(v), *save = NULL;
	if (!copy)
		return oom(ps);
	int rc = 0;
	char *zone = strtok_r(copy, " \t", &save);
	uint8_t wire[VG_NAME_MAX];
	if (!zone || vg_name_from_text(zone, wire) < 0) {
		rc = fail(ps, "bad zone name in '%s' (expected \"ZONE ADDR [ADDR...]\")", v);
		goto out;
	}
	vg_name_lower(wire);
	char *tok = strtok_r(NULL, " \t", &save);
	if (!tok) {
		rc = fail(ps, "no server address in '%s' (expected \"ZONE ADDR [ADDR...]\")", v);
		goto out;
	}
	if (wire[0] == 0) {
		for (; tok && rc == 0; tok = strtok_r(NULL, " \t", &save))
			rc = add_addr(ps, &cfg->forward, &cfg->n_forward, tok, VG_DEFAULT_PORT, true,
				      "forward");
		goto out;
	}
	for (size_t i = 0; i < cfg->n_forward_zones; i++) {
		if (vg_name_eq(cfg->forward_zones[i].zone, wire)) {
			rc = fail(ps, "duplicate forward-zone '%s'", zone);
			goto out;
		}
	}
	struct vg_forward_zone *fz = grow((void **)&cfg->forward_zones, &cfg->n_forward_zones,
					  sizeof(*fz));
	if (!fz) {
		rc = oom(ps);
		goto out;
	}
	memcpy(fz->zone, wire, (size_t)vg_name_len(wire, VG_NAME_MAX));
	for (; tok && rc == 0; tok = strtok_r(NULL, " \t", &save))
		rc = add_addr(ps, &fz->addrs, &fz->n_addrs, tok, VG_DEFAULT_PORT, true,
			      "forward-zone");
out:
	free(copy);
	return rc;
}

/* A detection's `block|log|off` setting (enum vg_detect_mode, same values as rebinding's). */
static int set_mode(struct pstate *ps, const char *v, int *out)
{
	static const char *const modes[] = {
	    [VG_DETECT_BLOCK] = "block", [VG_DETECT_LOG] = "log", [VG_DETECT_OFF] = "off"};
	for (int i = 0; i < 3; i++) {
		if (!strcmp(v, modes[i])) {
			*out = i;
			return 0;
		}
	}
	return fail(ps, "bad value '%s' (expected block, log or off)", v);
}

static int set_rebinding(struct pstate *ps, const char *v)
{
	return set_mode(ps, v, &ps->cfg->rebinding);
}

static int set_second_answer(struct pstate *ps, const char *v)
{
	return set_mode(ps, v, &ps->cfg->second_answer);
}

static int set_spoof_attempt(struct pstate *ps, const char *v)
{
	return set_mode(ps, v, &ps->cfg->spoof_attempt);
}

static int set_out_of_bailiwick(struct pstate *ps, const char *v)
{
	return set_mode(ps, v, &ps->cfg->out_of_bailiwick);
}

static int set_nxdomain_rewrite(struct pstate *ps, const char *v)
{
	return set_mode(ps, v, &ps->cfg->nxdomain_rewrite);
}

static int set_forward_fallback(struct pstate *ps, const char *v)
{
	if (!strcmp(v, "none"))
		ps->cfg->forward_fallback = VG_FALLBACK_NONE;
	else if (!strcmp(v, "iterate"))
		ps->cfg->forward_fallback = VG_FALLBACK_ITERATE;
	else
		return fail(ps, "bad value '%s' (expected none or iterate)", v);
	return 0;
}

/* pin: "NAME TYPE VALUE" (repeatable), checked here so a bad pin is reported with its line. */
static int set_pin(struct pstate *ps, const char *v)
{
	struct vg_pin p;
	char why[200];
	if (!ps->quoted)
		return fail(ps, "the value must be quoted: pin: \"NAME TYPE VALUE\"");
	if (vg_pin_parse(v, &p, why, sizeof(why)) != 0)
		return fail(ps, "%s", why);
	struct vg_pin *el = grow((void **)&ps->cfg->pins, &ps->cfg->n_pins, sizeof(*el));
	if (!el)
		return oom(ps);
	*el = p;
	return 0;
}

static int set_pin_action(struct pstate *ps, const char *v)
{
	return set_mode(ps, v, &ps->cfg->pin_action);
}

/* Appends a domain name (wire, lowercase) to a list of names. */
static int add_domain(struct pstate *ps, uint8_t (**arr)[256], size_t *n, const char *v)
{
	uint8_t wire[VG_NAME_MAX];
	if (vg_name_from_text(v, wire) < 0)
		return fail(ps, "bad domain name '%s'", v);
	vg_name_lower(wire);
	uint8_t(*el)[256] = grow((void **)arr, n, sizeof(*el));
	if (!el)
		return oom(ps);
	memcpy(*el, wire, (size_t)vg_name_len(wire, VG_NAME_MAX));
	return 0;
}

static int set_private_domain(struct pstate *ps, const char *v)
{
	return add_domain(ps, &ps->cfg->private_domains, &ps->cfg->n_private_domains, v);
}

static int set_servers_disagree(struct pstate *ps, const char *v)
{
	return set_mode(ps, v, &ps->cfg->servers_disagree);
}

static int set_watch(struct pstate *ps, const char *v)
{
	return add_domain(ps, &ps->cfg->watch, &ps->cfg->n_watch, v);
}

/* Resolved now, so `vigild -t` reports a group that does not exist with its line. */
static int set_control_group(struct pstate *ps, const char *v)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int e = getgrnam_r(v, &gr, buf, sizeof(buf), &res);
	if (e == ERANGE)
		return fail(ps, "group '%s' has too many members to look up", v);
	if (!res)
		return fail(ps, "unknown group '%s'%s%s", v, e ? ": " : "", e ? strerror(e) : "");
	char *name = strdup(v);
	if (!name)
		return oom(ps);
	free(ps->cfg->control_group);
	ps->cfg->control_group = name;
	ps->cfg->control_gid = (uint32_t)gr.gr_gid;
	return 0;
}

/* trust-anchor-file: FILE (repeatable; the files together replace the built-in root anchors).
 * The file is read and checked by vg_config_load. */
static int set_trust_anchor_file(struct pstate *ps, const char *v)
{
	struct vg_config *cfg = ps->cfg;
	if (!v[0]) { /* "": back to the built-in anchors */
		for (size_t i = 0; i < cfg->n_trust_anchor_files; i++)
			free(cfg->trust_anchor_files[i]);
		free(cfg->trust_anchor_files);
		cfg->trust_anchor_files = NULL;
		cfg->n_trust_anchor_files = 0;
		return 0;
	}
	for (size_t i = 0; i < cfg->n_trust_anchor_files; i++)
		if (!strcmp(cfg->trust_anchor_files[i], v))
			return fail(ps, "duplicate file '%s'", v);
	char *copy = strdup(v);
	char **el =
	    copy ? grow((void **)&cfg->trust_anchor_files, &cfg->n_trust_anchor_files, sizeof(*el))
		 : NULL;
	if (!el) {
		free(copy);
		return oom(ps);
	}
	*el = copy;
	return 0;
}

static int set_negative_trust_anchor(struct pstate *ps, const char *v)
{
	return add_domain(ps, &ps->cfg->negative_trust_anchors, &ps->cfg->n_negative_trust_anchors,
			  v);
}

#define F(field) offsetof(struct vg_config, field)
#define DAY 86400ull
#define YEAR (365 * DAY)

/* Every key of struct vg_config. Keep docs/configuration.md and contrib/vigil.conf in step. */
static const struct key keys[] = {
	/* front end */
	{"listen", K_FUNC, 0, 0, 0, set_listen},
	{"workers", K_FUNC, 0, 0, 0, set_workers},
	{"user", K_STR_KEEP, F(user), 0, 0, NULL},
	{"allow", K_FUNC, 0, 0, 0, set_allow},
	{"deny", K_FUNC, 0, 0, 0, set_deny},
	{"rate-limit", K_U32, F(rate_limit), 0, 10000000, NULL},
	{"rate-limit-burst", K_U32, F(rate_limit_burst), 0, 10000000, NULL},
	{"local-data", K_FUNC, 0, 0, 0, set_local_data},
	{"log-level", K_FUNC, 0, 0, 0, set_log_level},
	{"control-socket", K_STR_EMPTY, F(control_socket), 0, 0, NULL},
	{"control-group", K_STR_EMPTY, F(control_group), 0, 0, set_control_group},
	{"suspicious-log", K_STR_EMPTY, F(suspicious_log), 0, 0, NULL},
	{"query-log", K_STR_EMPTY, F(query_log), 0, 0, NULL},
	{"query-log-rate", K_U32, F(query_log_rate), 0, 10000000, NULL},
	{"http-listen", K_FUNC, 0, 0, 0, set_http_listen},
	{"tcp-idle-timeout", K_MS, F(tcp_idle_timeout_ms), 100, 3600000, NULL},
	{"tcp-max-clients", K_U32, F(tcp_max_clients), 1, 1000000, NULL},
	{"edns-buffer-size", K_FUNC, 0, 0, 0, set_edns_size},
	/* cache */
	{"cache-dir", K_STR, F(cache_dir), 0, 0, NULL},
	{"cache-size", K_FUNC, 0, 0, 0, set_cache_size},
	{"cache-min-ttl", K_SECS, F(cache_min_ttl), 0, YEAR, NULL},
	{"cache-max-ttl", K_SECS, F(cache_max_ttl), 1, YEAR, NULL},
	{"cache-max-negative-ttl", K_SECS, F(cache_max_negative_ttl), 0, YEAR, NULL},
	{"serve-stale-max", K_SECS, F(serve_stale_max), 0, YEAR, NULL},
	{"cache-rebuild-on-error", K_BOOL, F(cache_rebuild_on_error), 0, 0, NULL},
	/* resolver */
	{"root-hints", K_STR_EMPTY, F(root_hints), 0, 0, NULL},
	{"dnssec", K_BOOL, F(dnssec), 0, 0, NULL},
	{"trust-anchor-file", K_LIST_EMPTY, 0, 0, 0, set_trust_anchor_file},
	{"negative-trust-anchor", K_FUNC, 0, 0, 0, set_negative_trust_anchor},
	{"nsec3-max-iterations", K_U32, F(nsec3_max_iterations), 0, 150, NULL},
	{"aggressive-nsec", K_BOOL, F(aggressive_nsec), 0, 0, NULL},
	{"outgoing-address", K_FUNC, 0, 0, 0, set_outgoing},
	{"qname-minimisation", K_BOOL, F(qname_minimisation), 0, 0, NULL},
	{"case-randomisation", K_BOOL, F(case_randomisation), 0, 0, NULL},
	{"do-ip4", K_BOOL, F(do_ip4), 0, 0, NULL},
	{"do-ip6", K_BOOL, F(do_ip6), 0, 0, NULL},
	{"query-local-addresses", K_BOOL, F(query_local_addresses), 0, 0, NULL},
	{"prefetch", K_BOOL, F(prefetch), 0, 0, NULL},
	{"forward", K_FUNC, 0, 0, 0, set_forward},
	{"forward-zone", K_FUNC, 0, 0, 0, set_forward_zone},
	{"max-upstream-queries", K_U32, F(max_upstream_queries), 1, 10000, NULL},
	{"max-glueless-per-referral", K_U32, F(max_glueless_per_referral), 0, 100, NULL},
	{"max-cname-chain", K_U32, F(max_cname_chain), 0, 100, NULL},
	{"max-referral-depth", K_U32, F(max_referral_depth), 1, 255, NULL},
	{"request-timeout", K_MS, F(request_timeout_ms), 100, 600000, NULL},
	/* work in flight */
	{"max-requests", K_U32, F(max_requests), 1, 1000000, NULL},
	{"max-pending-per-client", K_U32, F(max_pending_per_client), 0, 1000000, NULL},
	{"max-upstream-sockets", K_U32, F(max_upstream_sockets), 16, 1000000, NULL},
	{"discard-timeout", K_MS, F(discard_timeout_ms), 0, 600000, NULL},
	/* hijack detection */
	{"hijack-checks", K_BOOL, F(hijack_checks), 0, 0, NULL},
	{"rebinding", K_FUNC, 0, 0, 0, set_rebinding},
	{"private-domain", K_FUNC, 0, 0, 0, set_private_domain},
	{"second-answer", K_FUNC, 0, 0, 0, set_second_answer},
	{"injection-window", K_MS, F(injection_window_ms), 0, 10000, NULL},
	{"injection-strict", K_BOOL, F(injection_strict), 0, 0, NULL},
	{"spoof-attempt", K_FUNC, 0, 0, 0, set_spoof_attempt},
	{"spoof-tcp-after", K_U32, F(spoof_tcp_after), 1, 1000, NULL},
	{"out-of-bailiwick", K_FUNC, 0, 0, 0, set_out_of_bailiwick},
	{"nxdomain-rewrite", K_FUNC, 0, 0, 0, set_nxdomain_rewrite},
	{"forward-fallback", K_FUNC, 0, 0, 0, set_forward_fallback},
	{"pin", K_FUNC, 0, 0, 0, set_pin},
	{"pin-action", K_FUNC, 0, 0, 0, set_pin_action},
	{"servers-disagree", K_FUNC, 0, 0, 0, set_servers_disagree},
	{"servers-disagree-budget", K_U32, F(servers_disagree_budget), 0, 1000, NULL},
	{"watch", K_FUNC, 0, 0, 0, set_watch},
};

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= 128, "grow pstate.key_line");

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

static int apply(struct pstate *ps, const struct key *k, const char *v)
{
	char *base = (char *)ps->cfg;
	uint64_t n;
	if (v[0] == 0 && k->type == K_STR_EMPTY) {
		char **field = (char **)(base + k->off);
		free(*field);
		*field = NULL;
		return 0;
	}
	if (v[0] == 0 && k->type != K_STR_KEEP && k->type != K_LIST_EMPTY)
		return fail(ps, "missing value");
	if (k->fn)
		return k->fn(ps, v);
	switch (k->type) {
	case K_BOOL:
		if (strcmp(v, "yes") == 0)
			*(bool *)(base + k->off) = true;
		else if (strcmp(v, "no") == 0)
			*(bool *)(base + k->off) = false;
		else
			return fail(ps, "bad value '%s' (expected yes or no)", v);
		return 0;
	case K_U32:
	case K_SECS:
	case K_MS: {
		const struct numeric_kind *nk = &numeric_kinds[k->type];
		if (parse_num(v, nk->units, &n) != 0 || n < k->min || n > k->max)
			return fail(ps, "bad %s '%s' (expected %s %" PRIu64 "..%" PRIu64 "%s)",
				    nk->what, v, nk->expect, k->min, k->max, nk->suffixes);
		*(uint32_t *)(base + k->off) = (uint32_t)n;
		return 0;
	}
	case K_STR:
	case K_STR_EMPTY:
	case K_STR_KEEP:
		return set_string(ps, (char **)(base + k->off), v);
	case K_FUNC:
	case K_LIST_EMPTY:
		return 0;
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parses one line [p, end) into key/value and applies it. `buf` holds at least end-p+1 bytes. */
static int parse_line(struct pstate *ps, const char *p, const char *end, char *buf, char *err,
		      size_t errlen)
{
	while (p < end && is_space(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	const char *key = p;
	while (p < end && *p != ':' && !is_space(*p) && *p != '#')
		p++;
	int keylen = (int)(p - key);
	while (p < end && is_space(*p))
		p++;
	if (p == end || *p != ':') {
		snprintf(err, errlen, "%s:%d: key '%.*s': missing ':' after the key", ps->name,
			 ps->line, keylen > 64 ? 64 : keylen, key);
		return VG_ECONFIG;
	}
	if (keylen == 0) {
		snprintf(err, errlen, "%s:%d: key '': missing key before ':'", ps->name, ps->line);
		return VG_ECONFIG;
	}
	p++;
	const struct key *k = find_key(key, (size_t)keylen);
	int kl = keylen > 64 ? 64 : keylen;
	if (!k) {
		snprintf(err, errlen, "%s:%d: key '%.*s': unknown key", ps->name, ps->line, kl,
			 key);
		return VG_ECONFIG;
	}
	while (p < end && is_space(*p))
		p++;
	size_t o = 0;
	ps->quoted = p < end && *p == '"';
	if (ps->quoted) {
		p++;
		bool closed = false;
		while (p < end) {
			if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\')) {
				buf[o++] = p[1];
				p += 2;
			} else if (*p == '"') {
				closed = true;
				p++;
				break;
			} else {
				buf[o++] = *p++;
			}
		}
		if (!closed) {
			snprintf(err, errlen, "%s:%d: key '%s': unterminated quote", ps->name,
				 ps->line, k->name);
			return VG_ECONFIG;
		}
		while (p < end && is_space(*p))
			p++;
		if (p < end && *p != '#') {
			snprintf(err, errlen, "%s:%d: key '%s': text after the closing quote",
				 ps->name, ps->line, k->name);
			return VG_ECONFIG;
		}
	} else {
		const char *v = p;
		while (p < end && *p != '#')
			p++;
		while (p > v && is_space(p[-1]))
			p--;
		o = (size_t)(p - v);
		memcpy(buf, v, o);
	}
	buf[o] = 0;
	if (memchr(buf, 0, o)) {
		snprintf(err, errlen, "%s:%d: key '%s': value contains a NUL byte", ps->name,
			 ps->line, k->name);
		return VG_ECONFIG;
	}
	ps->reason[0] = 0;
	ps->key_line[k - keys] = ps->line;
	if (apply(ps, k, buf) != 0) {
		snprintf(err, errlen, "%s:%d: key '%s': %s", ps->name, ps->line, k->name,
			 ps->reason);
		return ps->oom ? -ENOMEM : VG_ECONFIG;
	}
	return 0;
}

int vg_config_defaults(struct vg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = calloc(2, sizeof(*cfg->listen));
	cfg->cache_dir = strdup(VIGIL_DEFAULT_CACHE_DIR);
	if (!cfg->listen || !cfg->cache_dir) {
		vg_config_free(cfg);
		return -ENOMEM;
	}
	if (vg_sockaddr_parse("127.0.0.1", VG_DEFAULT_PORT, &cfg->listen[0]) != 0 ||
	    vg_sockaddr_parse("::1", VG_DEFAULT_PORT, &cfg->listen[1]) != 0) {
		vg_config_free(cfg);
		return VG_EFORMAT;
	}
	cfg->n_listen = 2;
	cfg->workers = 0;
	cfg->rate_limit = 0;
	cfg->rate_limit_burst = 0;
	cfg->log_level = VG_LOG_INFO;
	cfg->tcp_idle_timeout_ms = 10000;
	cfg->tcp_max_clients = 512;
	cfg->edns_buffer_size = 1232;
	cfg->cache_size = 512ull * 1024 * 1024;
	cfg->cache_min_ttl = 0;
	cfg->cache_max_ttl = 86400;
	cfg->cache_max_negative_ttl = 3600;
	cfg->serve_stale_max = 86400;
	cfg->cache_rebuild_on_error = false;
	cfg->qname_minimisation = true;
	cfg->case_randomisation = true;
	cfg->do_ip4 = true;
	cfg->do_ip6 = true;
	cfg->query_local_addresses = false;
	cfg->prefetch = true;
	cfg->max_upstream_queries = 100;
	cfg->max_glueless_per_referral = 4;
	cfg->max_cname_chain = 12;
	cfg->max_referral_depth = 30;
	cfg->request_timeout_ms = 10000;
	cfg->max_requests = 1000;
	cfg->max_pending_per_client = 100;
	cfg->max_upstream_sockets = 1024;
	cfg->discard_timeout_ms = 1900;
	cfg->dnssec = true;
	cfg->nsec3_max_iterations = 50;
	cfg->aggressive_nsec = true;
	cfg->hijack_checks = true;
	cfg->query_log_rate = 1000;
	cfg->rebinding = VG_REBIND_BLOCK;
	cfg->second_answer = VG_DETECT_BLOCK;
	cfg->spoof_attempt = VG_DETECT_BLOCK;
	cfg->spoof_tcp_after = 3;
	cfg->out_of_bailiwick = VG_DETECT_LOG;
	cfg->injection_window_ms = 200;
	cfg->nxdomain_rewrite = VG_DETECT_BLOCK;
	cfg->forward_fallback = VG_FALLBACK_NONE;
	cfg->pin_action = VG_DETECT_LOG;
	cfg->servers_disagree = VG_DETECT_LOG;
	cfg->servers_disagree_budget = 3;
	return 0;
}

/* Checks between keys, once the whole file is read. */
/* The later of two keys' lines, and that key's name, for an error about both. */
static const char *later_key(struct pstate *ps, const char *a, const char *b, int *line)
{
	int la = ps->key_line[find_key(a, strlen(a)) - keys];
	int lb = ps->key_line[find_key(b, strlen(b)) - keys];
	*line = la >= lb ? la : lb;
	return la >= lb ? a : b;
}

static int check_whole(struct pstate *ps, char *err, size_t errlen)
{
	struct vg_config *cfg = ps->cfg;
	int line;
	const char *k;
	if (cfg->cache_min_ttl > cfg->cache_max_ttl) {
		k = later_key(ps, "cache-min-ttl", "cache-max-ttl", &line);
		snprintf(err, errlen, "%s:%d: key '%s': cache-min-ttl (%u) is above cache-max-ttl (%u)",
			 ps->name, line, k, cfg->cache_min_ttl, cfg->cache_max_ttl);
		return VG_ECONFIG;
	}
	if (!cfg->do_ip4 && !cfg->do_ip6) {
		k = later_key(ps, "do-ip4", "do-ip6", &line);
		snprintf(err, errlen, "%s:%d: key '%s': do-ip4 and do-ip6 are both no", ps->name,
			 line, k);
		return VG_ECONFIG;
	}
	return 0;
}

int vg_config_parse(struct vg_config *cfg, const char *name, const char *text, char *err,
		    size_t errlen)
{
	struct pstate ps = {.cfg = cfg, .name = name};
	size_t len = strlen(text), bufcap = 256;
	char *buf = malloc(bufcap);
	int rc = 0;
	if (err && errlen)
		err[0] = 0;
	free(cfg->path);
	cfg->path = strdup(name);
	if (!buf || !cfg->path) {
		snprintf(err, errlen, "%s: out of memory", name);
		rc = -ENOMEM;
		goto out;
	}
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		ps.line++;
		if ((size_t)(le - p) + 1 > bufcap) {
			while ((size_t)(le - p) + 1 > bufcap)
				bufcap *= 2;
			char *nb = realloc(buf, bufcap);
			if (!nb) {
				snprintf(err, errlen, "%s:%d: out of memory", name, ps.line);
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		rc = parse_line(&ps, p, le, buf, err, errlen);
		if (rc != 0)
			goto out;
		p = nl ? nl + 1 : end;
	}
	rc = check_whole(&ps, err, errlen);
out:
	free(buf);
	if (rc != 0)
		vg_config_free(cfg);
	return rc;
}

/* Reads the root-hints file named by the config now, so that `vigild -t` reports an unreadable
 * file and the workers, which start after privileges are dropped, need not open it. */
static int read_root_hints(struct vg_config *cfg, const char *path, char *err, size_t errlen)
{
	if (!cfg->root_hints || !cfg->root_hints[0])
		return 0;
	size_t n;
	int rc = vg_file_read(cfg->root_hints, VG_ROOT_HINTS_MAX, &cfg->root_hints_text, &n);
	if (rc < 0) {
		snprintf(err, errlen, "%s: key 'root-hints': cannot read %s: %s", path,
			 cfg->root_hints, strerror(-rc));
		vg_config_free(cfg);
		return VG_ECONFIG;
	}
	return 0;
}

/* Reads and checks the trust-anchor files now, for the same reasons as the root hints. */
static int read_trust_anchors(struct vg_config *cfg, const char *path, char *err, size_t errlen)
{
	if (cfg->n_trust_anchor_files == 0)
		return 0;
	cfg->trust_anchor_texts = calloc(cfg->n_trust_anchor_files, sizeof(char *));
	if (!cfg->trust_anchor_texts) {
		vg_config_free(cfg);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_trust_anchor_files; i++) {
		const char *f = cfg->trust_anchor_files[i];
		size_t n;
		int rc = vg_file_read(f, VG_ANCHOR_FILE_MAX, &cfg->trust_anchor_texts[i], &n);
		if (rc < 0) {
			snprintf(err, errlen, "%s: key 'trust-anchor-file': cannot read %s: %s",
				 path, f, strerror(-rc));
			vg_config_free(cfg);
			return VG_ECONFIG;
		}
		if ((rc = vg_anchor_text_check(f, cfg->trust_anchor_texts[i], err, errlen)) != 0) {
			vg_config_free(cfg);
			return rc;
		}
	}
	return 0;
}

int vg_config_load(struct vg_config *cfg, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc = vg_file_read(path, SIZE_MAX - 1, &text, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		vg_config_free(cfg);
		return rc;
	}
	if (strlen(text) != len) {
		snprintf(err, errlen, "%s: cannot read: file contains a NUL byte", path);
		free(text);
		vg_config_free(cfg);
		return VG_ECONFIG;
	}
	rc = vg_config_parse(cfg, path, text, err, errlen);
	free(text);
	if (rc == 0)
		rc = read_root_hints(cfg, path, err, errlen);
	if (rc == 0)
		rc = read_trust_anchors(cfg, path, err, errlen);
	return rc;
}

void vg_config_free(struct vg_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->listen);
	free(cfg->user);
	free(cfg->allow);
	free(cfg->deny);
	for (size_t i = 0; i < cfg->n_local_data; i++)
		free(cfg->local_data[i].text);
	free(cfg->local_data);
	free(cfg->control_socket);
	free(cfg->control_group);
	free(cfg->suspicious_log);
	free(cfg->query_log);
	free(cfg->http_listen);
	free(cfg->cache_dir);
	free(cfg->root_hints);
	free(cfg->root_hints_text);
	for (size_t i = 0; i < cfg->n_trust_anchor_files; i++) {
		free(cfg->trust_anchor_files[i]);
		if (cfg->trust_anchor_texts)
			free(cfg->trust_anchor_texts[i]);
	}
	free(cfg->trust_anchor_files);
	free(cfg->trust_anchor_texts);
	free(cfg->negative_trust_anchors);
	free(cfg->outgoing);
	free(cfg->forward);
	for (size_t i = 0; i < cfg->n_forward_zones; i++)
		free(cfg->forward_zones[i].addrs);
	free(cfg->forward_zones);
	free(cfg->trusted);
	free(cfg->private_domains);
	free(cfg->pins);
	free(cfg->watch);
	memset(cfg, 0, sizeof(*cfg));
}
