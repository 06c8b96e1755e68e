/* Placeholder resolver until iteration lands (issue 5): answers every question with SERVFAIL.
 * Replaced by resolver/request.c; kept only so the front end can build and be tested. */
#include <stdlib.h>
#include <string.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/resolver.h>

struct vg_resolver {
	int worker_id;
};

int vg_resolver_new(const struct vg_resolver_env *env, struct vg_resolver **out)
{
	struct vg_resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return -12; /* ENOMEM */
	r->worker_id = env->worker_id;
	*out = r;
	return 0;
}

int vg_resolver_resolve(struct vg_resolver *r, const struct vg_question *q, vg_resolve_cb cb,
			void *ctx)
{
	uint8_t buf[12 + VG_NAME_MAX + 4];
	if (q->qname_len > VG_NAME_MAX)
		return VG_EFORMAT;
	memset(buf, 0, 12);
	buf[2] = 0x80 | (q->rd_bit ? 0x01 : 0); /* QR, RD copied */
	buf[3] = 0x80 | 2;                       /* RA, SERVFAIL */
	vg_put_u16(buf + 4, 1);
	memcpy(buf + 12, q->qname, q->qname_len);
	vg_put_u16(buf + 12 + q->qname_len, q->qtype);
	vg_put_u16(buf + 14 + q->qname_len, q->qclass);
	struct vg_answer a = {.wire = buf, .len = 16 + q->qname_len, .ede = 0 /* Other */,
			      .ede_text = "iterative resolution not available"};
	cb(ctx, &a);
	return 0;
}

void vg_resolver_close(struct vg_resolver *r)
{
	free(r);
}
