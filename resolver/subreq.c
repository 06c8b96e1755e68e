/* Sub-requests: an iterator query started on behalf of another (glue addresses, DS/DNSKEY for the
 * chain of trust, servers-disagree cross-checks), its bounds, and the hand-over of its result to
 * the parent's continuation when it ends. */
#include <errno.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/log.h>
#include <vigil/name.h>
#include "iter.h"

/* Whether parent may start a sub-request for (name, qtype): within the nesting depth and not a
 * question an ancestor is already asking (a loop). */
static bool sub_allowed(const struct vg_iq *parent, const uint8_t *name, uint16_t qtype)
{
	if (parent->depth >= VG_MAX_SUB_DEPTH)
		return false;
	for (const struct vg_iq *a = parent; a; a = a->parent)
		if (a->qtype == qtype && vg_name_eq(a->sname, name))
			return false;
	return true;
}

/* Makes sub a sub-request of parent whose end calls cb(parent, res, ctx). */
static void sub_link(struct vg_iq *parent, struct vg_iq *sub, vg_sub_cb cb, void *ctx)
{
	sub->parent = parent;
	sub->sub_cb = cb;
	sub->sub_ctx = ctx;
	sub->depth = parent->depth + 1;
	parent->req->r->stats.sub_requests++;
}

/* Links sub to parent as its sub-request, makes the parent wait and runs sub (which may end,
 * and call cb, before this returns). */
static void sub_run(struct vg_iq *parent, struct vg_iq *sub, vg_sub_cb cb, void *ctx)
{
	sub_link(parent, sub, cb, ctx);
	parent->subs_started++;
	parent->state = IQ_WAIT_SUB;
	vg_iq_run(sub);
}

int vg_iq_sub_start(struct vg_iq *parent, const uint8_t *name, uint16_t qtype, vg_sub_cb cb,
		    void *ctx)
{
	if (!sub_allowed(parent, name, qtype))
		return VG_ELIMIT;
	struct vg_iq *sub = vg_iq_new(parent->req, name, qtype, VG_CLASS_IN);
	if (!sub)
		return -ENOMEM;
	/* A DS the chain asks a forwarder for: a cached denial of it no longer shows whether it
	 * was an unsigned delegation or a name inside a zone (validate_fwd.c). */
	sub->refresh = qtype == VG_TYPE_DS && vg_validate_fwd_cd(parent);
	sub_run(parent, sub, cb, ctx);
	return 0;
}

int vg_iq_xcheck_sub(struct vg_iq *parent, const struct vg_sockaddr *server, bool tcp, vg_sub_cb cb,
		     void *ctx, struct vg_iq **out)
{
	struct vg_iq *sub = vg_iq_new(parent->req, parent->sname, parent->qtype, VG_CLASS_IN);
	if (!sub)
		return -ENOMEM;
	vg_iq_make_xcheck(sub, parent->zone, server, tcp);
	*out = sub; /* before it runs: its continuation reads it */
	sub_run(parent, sub, cb, ctx);
	return 0;
}

int vg_iq_sub_spawn(struct vg_iq *parent, const uint8_t *name, uint16_t qtype, vg_sub_cb cb,
		    void *ctx, const uint8_t *zone, const struct vg_ns *ns, size_t n_ns)
{
	if (n_ns == 0 || n_ns > VG_MAX_NS || !sub_allowed(parent, name, qtype))
		return VG_ELIMIT;
	struct vg_iq *sub = vg_iq_new(parent->req, name, qtype, VG_CLASS_IN);
	struct vg_ns *copy = sub ? vg_arena_alloc(&parent->req->arena, n_ns * sizeof(*copy)) : NULL;
	if (!copy)
		return -ENOMEM;
	memcpy(copy, ns, n_ns * sizeof(*copy));
	for (size_t i = 0; i < n_ns; i++)
		memset(copy[i].tried, 0, sizeof(copy[i].tried));
	memcpy(sub->zone, zone, (size_t)vg_name_len(zone, VG_NAME_MAX));
	sub->ns = copy;
	sub->n_ns = n_ns;
	sub->cut_until = UINT32_MAX;
	sub->cut_given = true;
	sub->detached = true;
	sub_link(parent, sub, cb, ctx);
	vg_iq_run(sub);
	return 0;
}

/* The distinct RRsets of sub's answer in order, into the request's arena. */
static size_t answer_sets(struct vg_iq *sub, struct vg_rrset ***out)
{
	struct vg_rrset **sets = vg_arena_alloc(&sub->req->arena, (sub->n_ans + 1) * sizeof(*sets));
	size_t n = 0;
	*out = sets;
	for (size_t i = 0; sets && i < sub->n_ans; i++) {
		struct vg_rrset *rs = sub->ans[i]->rrset;
		bool seen = !rs;			/* an orphan RRSIG belongs to no set */
		for (size_t k = n; !seen && k > 0; k--) /* the last one first: sets are adjacent */
			seen = sets[k - 1] == rs;
		if (!seen)
			sets[n++] = rs;
	}
	return n;
}

/* A sub-request ended (called by vg_iq_run): its continuation interprets the result for the parent,
 * which resumes unless the continuation started another sub-request (that one's end resumes it). */
void vg_iq_sub_finished(struct vg_iq *sub)
{
	struct vg_iq *p = sub->parent;
	bool waiting = p->state == IQ_WAIT_SUB;
	unsigned started = p->subs_started;
	struct vg_sub_result res = {.qname = sub->sname,
				    .qtype = sub->qtype,
				    .answered = sub->state == IQ_DONE,
				    .rcode = sub->state == IQ_DONE ? sub->rcode : VG_RCODE_SERVFAIL,
				    .soa = sub->state == IQ_DONE ? sub->soa : NULL,
				    .ede = sub->ede,
				    .ede_text = sub->ede_text};
	struct vg_rrset **sets = NULL;
	if (res.answered)
		res.n_sets = answer_sets(sub, &sets);
	res.sets = sets;
	if (res.answered && !sets)
		res = (struct vg_sub_result){.qname = sub->sname,
					     .qtype = sub->qtype,
					     .rcode = VG_RCODE_SERVFAIL,
					     .ede = VG_EDE_OTHER,
					     .ede_text = "out of memory"};
	sub->sub_cb(p, &res, sub->sub_ctx);
	if (sub->detached)
		return; /* its continuation woke whoever waited */
	if (!waiting || p->subs_started != started)
		return;
	if (vg_fails(p->state != IQ_WAIT_SUB)) { /* the continuation said nothing */
		p->ede = VG_EDE_OTHER;
		p->ede_text = "sub-request result not handled";
		p->state = IQ_FAIL;
	}
	vg_iq_run(p);
}
