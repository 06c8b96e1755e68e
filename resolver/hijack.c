/* Hijack heuristics run in IQ_VALIDATE on the reply's RRsets: the rebinding check (private
 * addresses for public names) and the address classifier it uses. Each finding sets its reason on
 * the RRset and goes to the suspicious-answer sink. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <vigil/base.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include <vigil/suspect.h>
#include "internal.h"
#include "iter.h"

enum vg_addr_class vg_addr_class4(const uint8_t a[4])
{
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
		return VG_ADDR_PRIVATE;
	if (a[0] == 127)
		return VG_ADDR_LOOPBACK;
	if (a[0] == 169 && a[1] == 254)
		return VG_ADDR_LINKLOCAL;
	if (a[0] == 0)
		return VG_ADDR_UNSPECIFIED;
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return VG_ADDR_CGNAT;
	return VG_ADDR_PUBLIC;
}

enum vg_addr_class vg_addr_class6(const uint8_t a[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const uint8_t zero[15] = {0};
	if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12))
		return vg_addr_class4(a + 12);
	if (!memcmp(a, zero, 15))
		return a[15] == 1   ? VG_ADDR_LOOPBACK
		       : a[15] == 0 ? VG_ADDR_UNSPECIFIED
				    : VG_ADDR_PUBLIC;
	if ((a[0] & 0xfe) == 0xfc)
		return VG_ADDR_PRIVATE;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return VG_ADDR_LINKLOCAL;
	return VG_ADDR_PUBLIC;
}

enum vg_addr_class vg_addr_class_sa(const struct vg_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return vg_addr_class4((const uint8_t *)&a->u.sin.sin_addr);
	if (a->u.sa.sa_family == AF_INET6)
		return vg_addr_class6(a->u.sin6.sin6_addr.s6_addr);
	return VG_ADDR_PUBLIC;
}

const char *vg_addr_class_name(enum vg_addr_class c)
{
	static const char *const names[] = {
	    [VG_ADDR_PUBLIC] = "public",	   [VG_ADDR_PRIVATE] = "private",
	    [VG_ADDR_LOOPBACK] = "loopback",	   [VG_ADDR_LINKLOCAL] = "link-local",
	    [VG_ADDR_UNSPECIFIED] = "unspecified", [VG_ADDR_CGNAT] = "cgnat",
	};
	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

const char *vg_suspect_reason_name(enum vg_suspect_reason r)
{
	static const char *const names[] = {
#define VG_SUSPECT_NAME(id, name) [VG_SUSPECT_##id] = name,
	    VG_SUSPECT_REASONS(VG_SUSPECT_NAME)
#undef VG_SUSPECT_NAME
	};
	return (unsigned)r < VG_SUSPECT_N_REASONS ? names[r] : "?";
}

const char *vg_suspect_action_name(enum vg_suspect_action a)
{
	static const char *const names[] = {
	    [VG_SUSPECT_LOGGED] = "logged",
	    [VG_SUSPECT_BLOCKED] = "blocked",
	    [VG_SUSPECT_RETRIED] = "retried",
	    [VG_SUSPECT_QUARANTINED] = "quarantined",
	};
	return (unsigned)a <= VG_SUSPECT_QUARANTINED ? names[a] : "?";
}

/* The class of an A or AAAA rdata; public for anything else. */
static enum vg_addr_class rdata_class(const struct vg_rr *rr)
{
	if (rr->type == VG_TYPE_A && rr->rdlen == 4)
		return vg_addr_class4(rr->rdata);
	if (rr->type == VG_TYPE_AAAA && rr->rdlen == 16)
		return vg_addr_class6(rr->rdata);
	return VG_ADDR_PUBLIC;
}

static bool private_domain(const struct vg_hijack_opts *o, const uint8_t *owner)
{
	for (size_t i = 0; i < o->n_private_domains; i++)
		if (vg_name_in_zone(owner, o->private_domains[i]))
			return true;
	return false;
}

/* "www.example. 300 IN A 192.168.1.1" into the arena; NULL without memory. */
static const char *rr_text(struct vg_arena *a, const struct vg_rr *rr)
{
	char owner[VG_NAME_TEXT_MAX], addr[INET6_ADDRSTRLEN];
	if (vg_name_to_text(rr->owner, owner, sizeof(owner)) < 0)
		snprintf(owner, sizeof(owner), "?");
	inet_ntop(rr->type == VG_TYPE_A ? AF_INET : AF_INET6, rr->rdata, addr, sizeof(addr));
	size_t cap = strlen(owner) + sizeof(addr) + 40;
	char *s = vg_arena_alloc(a, cap);
	if (s)
		snprintf(s, cap, "%s %u IN %s %s", owner, rr->ttl,
			 rr->type == VG_TYPE_A ? "A" : "AAAA", addr);
	return s;
}

void vg_hijack_rebinding(struct vg_iq *iq)
{
	struct vg_req *req = iq->req;
	struct vg_resolver *r = req->r;
	const struct vg_hijack_opts *o = r->hijack;
	if (!o || !o->enabled || o->rebinding == VG_REBIND_OFF)
		return;
	/* A name server's own address (glueless sub-query) is no client's answer: whether a
	 * private one may be asked is query-local-addresses' decision. */
	if (iq != req->root)
		return;
	/* A forwarder that is itself private (a LAN's DHCP server) may name private hosts. */
	if (iq->forward && vg_addr_class_sa(&iq->server) != VG_ADDR_PUBLIC)
		return;
	struct vg_msg *m = &iq->msg;
	const char **texts = NULL;
	size_t n = 0;
	bool block = o->rebinding == VG_REBIND_BLOCK;
	for (size_t k = 0; k < m->n_rrsets; k++) {
		struct vg_rrset *rs = &m->rrsets[k];
		if ((rs->type != VG_TYPE_A && rs->type != VG_TYPE_AAAA) ||
		    private_domain(o, rs->owner))
			continue;
		for (uint16_t i = 0; i < rs->n_rrs;) {
			const struct vg_rr *rr = rs->rrs[i];
			if (rr->section != VG_SEC_ANSWER || rdata_class(rr) == VG_ADDR_PUBLIC) {
				i++;
				continue;
			}
			if (!texts &&
			    !(texts = vg_arena_alloc(&req->arena, m->n_rr * sizeof(*texts))))
				return;
			const char *t = rr_text(&req->arena, rr);
			if (t)
				texts[n++] = t;
			rs->suspect |= 1u << VG_SUSPECT_REBINDING;
			if (block)
				vg_rrset_remove(rs, i); /* its signatures go with it */
			else
				i++;
		}
	}
	if (!texts)
		return;
	if (block) {
		req->suspect_ede = VG_EDE_BLOCKED;
		req->suspect_text = "rebinding: private address for a public name removed";
	}
	struct vg_suspect_event ev = {
	    .reason = VG_SUSPECT_REBINDING,
	    .action = block ? VG_SUSPECT_BLOCKED : VG_SUSPECT_LOGGED,
	    .qname = req->qname,
	    .qtype = req->qtype,
	    .client = req->waiters && req->waiters->has_client ? &req->waiters->client : NULL,
	    .server = &iq->server,
	    .tcp = iq->tcp,
	    .records = texts,
	    .n_records = n,
	    .served = block ? "answer without the private addresses, EDE 15 (Blocked)"
			    : "the answer as received",
	    .reply = iq->reply,
	    .reply_len = iq->reply_len,
	};
	if (r->suspect && r->suspect->emit)
		r->suspect->emit(r->suspect->ctx, &ev);
}
