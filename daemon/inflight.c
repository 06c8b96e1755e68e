/* Work in flight, the process-wide part: the descriptor limit the caps need (RLIMIT_NOFILE) and
 * the stop-log line of the caps' counters. The caps themselves are applied where the work is:
 * worker.c (max-requests, max-pending-per-client, discard-timeout), upstream.c
 * (max-upstream-sockets). */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include "daemon.h"

/* Descriptors a worker holds besides its upstream sockets and TCP clients: its loop (epoll,
 * eventfd, signal pipe), the upstream epoll set, a cache reader, and some slack. */
#define FDS_PER_WORKER 16
/* The process: stdio, syslog, the control socket and its clients, the LMDB files, the cache
 * writer's loop, probe sockets at reload. */
#define FDS_PROCESS 64

unsigned long vg_inflight_raise_nofile(const struct vg_config *cfg, int workers)
{
	unsigned long per_worker = (unsigned long)cfg->max_upstream_sockets + cfg->tcp_max_clients +
				   2 * cfg->n_listen + FDS_PER_WORKER;
	unsigned long need = (unsigned long)(workers > 0 ? workers : 1) * per_worker + FDS_PROCESS;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		vg_warn("descriptors: cannot read RLIMIT_NOFILE: %s", strerror(errno));
		return need;
	}
	rlim_t old = rl.rlim_cur;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			vg_warn("descriptors: cannot raise RLIMIT_NOFILE to %lu: %s",
				(unsigned long)rl.rlim_cur, strerror(errno));
			rl.rlim_cur = old;
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		vg_warn("descriptors: the caps need %lu, the limit is %lu (hard limit %lu): lower "
			"max-upstream-sockets or tcp-max-clients, or raise the hard limit "
			"(LimitNOFILE=)",
			need, (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
	else
		vg_info("descriptors: the caps need %lu; limit %lu (was %lu, hard limit %lu)", need,
			(unsigned long)rl.rlim_cur, (unsigned long)old, (unsigned long)rl.rlim_max);
	return need;
}
