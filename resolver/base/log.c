/* Base logging: level threshold, replaceable sink, default sink writes to stderr. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <vigil/err.h>
#include <vigil/log.h>

static _Atomic int log_level = VG_LOG_INFO;
static vg_log_sink log_sink;
static void *log_sink_ctx;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void vg_log_set_sink(vg_log_sink sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

void vg_log_set_level(enum vg_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum vg_log_level vg_log_get_level(void)
{
	return (enum vg_log_level)atomic_load(&log_level);
}

int vg_log_level_parse(const char *s, enum vg_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum vg_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = VG_LOG_WARN;
		return 0;
	}
	return VG_EFORMAT;
}

const char *vg_log_level_name(enum vg_log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

void vg_logv(enum vg_log_level level, const char *fmt, va_list ap)
{
	if ((int)level > atomic_load(&log_level))
		return;
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_sink) {
		log_sink(level, line, log_sink_ctx);
		return;
	}
	/* One fprintf call per line: stdio locks the stream, so lines from threads do not interleave. */
	fprintf(stderr, "vigild[%s]: %s\n", vg_log_level_name(level), line);
}

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vg_logv(level, fmt, ap);
	va_end(ap);
}
