/* Client access control (stub while being written). */
#include <errno.h>
#include <stdlib.h>
#include "acl.h"

struct vg_acl {
	int dummy;
};

int vg_acl_new(const struct vg_config *cfg, struct vg_acl **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

bool vg_acl_allows(const struct vg_acl *acl, const struct sockaddr *sa)
{
	return false;
}

void vg_acl_free(struct vg_acl *acl)
{
	free(acl);
}
