/* Client access control: allow/deny CIDR lists with longest-prefix match (issue 2). */
#ifndef VIGIL_DAEMON_ACL_H
#define VIGIL_DAEMON_ACL_H

#include <stdbool.h>
#include <sys/socket.h>
#include <vigil/config.h>

struct vg_acl;

/* Builds an ACL from cfg->allow / cfg->deny. When no `allow:` line was given (cfg->allow_set
 * false and n_allow 0) the allowed set is loopback only: 127.0.0.0/8 and ::1/128 (v4-mapped
 * loopback ::ffff:127.0.0.0/104 matches 127.0.0.0/8). The ACL copies what it needs; cfg may be
 * freed afterwards. Returns 0 and *out (free with vg_acl_free), or -ENOMEM. */
int vg_acl_new(const struct vg_config *cfg, struct vg_acl **out);

/* Decision for a client address: the longest matching prefix among allow and deny wins; on a tie
 * deny wins; no match at all = refused (false). A v4-mapped IPv6 address is judged as its IPv4
 * address. Families other than AF_INET/AF_INET6 are refused. No allocation, no locks: the ACL is
 * immutable after vg_acl_new, so any number of threads may call this concurrently. */
bool vg_acl_allows(const struct vg_acl *acl, const struct sockaddr *sa);

/* Frees the ACL (NULL is fine). */
void vg_acl_free(struct vg_acl *acl);

#endif
