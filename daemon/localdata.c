/* Local answers (stub while being written). */
#include <errno.h>
#include <stdlib.h>
#include "localdata.h"

struct vg_localdata {
	size_t n;
};

int vg_localdata_new(const struct vg_config *cfg, struct vg_localdata **out, char *err,
		     size_t errlen)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

int vg_localdata_answer(const struct vg_localdata *ld, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, uint16_t qclass, bool rd, uint8_t *out, size_t cap,
			size_t *outlen)
{
	return 0;
}

size_t vg_localdata_count(const struct vg_localdata *ld)
{
	return ld->n;
}

void vg_localdata_free(struct vg_localdata *ld)
{
	free(ld);
}
