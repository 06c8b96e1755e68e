/* Per-client token bucket (stub while being written). */
#include <string.h>
#include "ratelimit.h"

int vg_ratelimit_init(struct vg_ratelimit *rl, uint32_t rate, uint32_t burst, size_t slots)
{
	memset(rl, 0, sizeof(*rl));
	return 0;
}

enum vg_rl_verdict vg_ratelimit_check(struct vg_ratelimit *rl, const struct sockaddr *sa,
				      uint64_t now_ms)
{
	return VG_RL_PASS;
}

void vg_ratelimit_free(struct vg_ratelimit *rl)
{
	memset(rl, 0, sizeof(*rl));
}
