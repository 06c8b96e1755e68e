/* Config -> resolver and cache options (daemon/opts.h). */
#include "opts.h"

void vg_cache_opts_from_config(struct vg_cache_opts *o, const struct vg_config *cfg)
{
	vg_cache_opts_default(o);
	o->dir = cfg->cache_dir;
	if (cfg->cache_size)
		o->map_size = cfg->cache_size;
	o->min_ttl = cfg->cache_min_ttl;
	if (cfg->cache_max_ttl)
		o->max_ttl = cfg->cache_max_ttl;
	if (cfg->cache_max_negative_ttl)
		o->max_neg_ttl = cfg->cache_max_negative_ttl;
	o->stale_max = cfg->serve_stale_max;
	o->rebuild_on_error = cfg->cache_rebuild_on_error;
	o->dnssec_off = !cfg->dnssec; /* unvalidated data may answer CD=0 from the rrset DB */
}

void vg_resolver_opts_from_config(struct vg_resolver_opts *o, const struct vg_config *cfg)
{
	vg_resolver_opts_default(o);
	o->root_hints = cfg->root_hints;
	o->root_hints_text = cfg->root_hints_text;
	o->forward = cfg->forward;
	o->n_forward = cfg->n_forward;
	o->forward_zones = cfg->forward_zones;
	o->n_forward_zones = cfg->n_forward_zones;
	o->addr.do_ip4 = cfg->do_ip4;
	o->addr.do_ip6 = cfg->do_ip6;
	o->addr.query_local_addresses = cfg->query_local_addresses;
	o->addr.outgoing = cfg->outgoing;
	o->addr.n_outgoing = cfg->n_outgoing;
	o->qname_minimisation = cfg->qname_minimisation;
	o->case_randomisation = cfg->case_randomisation;
	o->prefetch = cfg->prefetch;
	o->serve_stale_max = cfg->serve_stale_max;
	o->cache_min_ttl = cfg->cache_min_ttl;
	o->cache_max_ttl = cfg->cache_max_ttl;
	o->cache_max_negative_ttl = cfg->cache_max_negative_ttl;
	o->max_upstream_queries = cfg->max_upstream_queries;
	o->max_glueless_per_referral = cfg->max_glueless_per_referral;
	o->max_cname_chain = cfg->max_cname_chain;
	o->max_referral_depth = cfg->max_referral_depth;
	o->request_timeout_ms = cfg->request_timeout_ms;
	o->max_requests = cfg->max_requests;
	o->max_upstream_sockets = cfg->max_upstream_sockets;
	o->hijack.enabled = cfg->hijack_checks;
	o->hijack.rebinding = (enum vg_rebinding_mode)cfg->rebinding;
	o->hijack.private_domains = (const uint8_t(*)[256])cfg->private_domains;
	o->hijack.n_private_domains = cfg->n_private_domains;
	o->hijack.second_answer = (enum vg_detect_mode)cfg->second_answer;
	o->hijack.spoof_attempt = (enum vg_detect_mode)cfg->spoof_attempt;
	o->hijack.spoof_tcp_after = cfg->spoof_tcp_after;
	o->hijack.out_of_bailiwick = (enum vg_detect_mode)cfg->out_of_bailiwick;
	o->hijack.nxdomain_rewrite = (enum vg_detect_mode)cfg->nxdomain_rewrite;
	o->hijack.forward_fallback = (enum vg_forward_fallback)cfg->forward_fallback;
	o->hijack.pins = cfg->pins;
	o->hijack.n_pins = cfg->n_pins;
	o->hijack.pin_action = (enum vg_detect_mode)cfg->pin_action;
	o->hijack.servers_disagree = (enum vg_detect_mode)cfg->servers_disagree;
	o->hijack.watch = (const uint8_t(*)[256])cfg->watch;
	o->hijack.n_watch = cfg->n_watch;
	o->hijack.disagree_budget = cfg->servers_disagree_budget;
	o->injection_window_ms = cfg->injection_window_ms;
	o->injection_strict = cfg->injection_strict;
	o->dnssec.enabled = cfg->dnssec;
	o->dnssec.anchor_names = (const char *const *)cfg->trust_anchor_files;
	o->dnssec.anchor_texts = (const char *const *)cfg->trust_anchor_texts;
	o->dnssec.n_anchors = cfg->n_trust_anchor_files;
	o->dnssec.nta = (const uint8_t(*)[256])cfg->negative_trust_anchors;
	o->dnssec.n_nta = cfg->n_negative_trust_anchors;
	o->dnssec.nsec3_max_iterations = cfg->nsec3_max_iterations;
	o->dnssec.aggressive_nsec = cfg->aggressive_nsec;
}
