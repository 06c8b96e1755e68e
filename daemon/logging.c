/* vigild's log sink: stderr with a level tag when in the foreground, syslog otherwise. */
#include <pthread.h>
#include <stdio.h>
#include <syslog.h>
#include "daemon.h"

static pthread_mutex_t stderr_mu = PTHREAD_MUTEX_INITIALIZER;

static void sink_stderr(enum vg_log_level level, const char *line, void *ctx)
{
	/* one fprintf per line under a lock keeps lines from several workers whole */
	pthread_mutex_lock(&stderr_mu);
	fprintf(stderr, "vigild[%s]: %s\n", vg_log_level_name(level), line);
	pthread_mutex_unlock(&stderr_mu);
}

static void sink_syslog(enum vg_log_level level, const char *line, void *ctx)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	syslog((unsigned)level < 4 ? prio[level] : LOG_INFO, "%s", line);
}

void vg_logging_setup(bool foreground, enum vg_log_level level)
{
	vg_log_set_level(level);
	if (foreground) {
		vg_log_set_sink(sink_stderr, NULL);
	} else {
		openlog("vigild", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		vg_log_set_sink(sink_syslog, NULL);
	}
}
