/* vigild's log sink: stderr (journal, terminal or plain form) in the foreground, syslog otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "daemon.h"

enum form { FORM_PLAIN, FORM_JOURNAL, FORM_TERMINAL };

static pthread_mutex_t stderr_mu = PTHREAD_MUTEX_INITIALIZER;
static enum form stderr_form;

static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

static int prio_of(enum vg_log_level level)
{
	return (unsigned)level < 4 ? syslog_prio[level] : LOG_INFO;
}

/* systemd sets JOURNAL_STREAM=DEV:INO for the stream it connects; stderr may have been
 * redirected since (then it is not the journal's). */
static enum form detect_form(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	if (js && fstat(2, &st) == 0) {
		unsigned long long dev, ino;
		if (sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
		    dev == (unsigned long long)st.st_dev && ino == (unsigned long long)st.st_ino)
			return FORM_JOURNAL;
	}
	return isatty(2) ? FORM_TERMINAL : FORM_PLAIN;
}

static void write_line(enum vg_log_level level, const char *line)
{
	/* one fprintf per line under a lock keeps lines from several workers whole */
	pthread_mutex_lock(&stderr_mu);
	switch (stderr_form) {
	case FORM_JOURNAL:
		/* the journal reads the priority and adds time and identifier itself */
		fprintf(stderr, "<%d>%s\n", prio_of(level), line);
		break;
	case FORM_TERMINAL: {
		struct timeval tv;
		struct tm tm;
		char ts[32];
		gettimeofday(&tv, NULL);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime_r(&tv.tv_sec, &tm));
		fprintf(stderr, "%s.%03ld vigild[%s]: %s\n", ts, (long)(tv.tv_usec / 1000),
			vg_log_level_name(level), line);
		break;
	}
	case FORM_PLAIN:
		fprintf(stderr, "vigild[%s]: %s\n", vg_log_level_name(level), line);
		break;
	}
	pthread_mutex_unlock(&stderr_mu);
}

static void sink_stderr(enum vg_log_level level, const char *line, void *ctx)
{
	write_line(level, line);
}

static void sink_syslog(enum vg_log_level level, const char *line, void *ctx)
{
	syslog(prio_of(level), "%s", line);
}

void vg_logging_setup(bool foreground, enum vg_log_level level)
{
	vg_log_set_level(level);
	if (foreground) {
		stderr_form = detect_form();
		vg_log_set_sink(sink_stderr, NULL);
	} else {
		openlog("vigild", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		vg_log_set_sink(sink_syslog, NULL);
	}
}

void vg_logging_fatal(const char *msg)
{
	enum form form = detect_form();
	if (form == FORM_PLAIN) {
		fprintf(stderr, "vigild: %s\n", msg); /* the form scripts and tests already read */
		return;
	}
	stderr_form = form;
	write_line(VG_LOG_ERROR, msg);
}
