/* Logging interface of the base library: levels, a replaceable sink, printf-style calls. */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdarg.h>

enum vg_log_level { VG_LOG_ERROR = 0, VG_LOG_WARN = 1, VG_LOG_INFO = 2, VG_LOG_DEBUG = 3 };

/* A sink receives one formatted line without trailing newline. It must be thread-safe. */
typedef void (*vg_log_sink)(enum vg_log_level level, const char *line, void *ctx);

/* Installs the sink (NULL = stderr). Call before threads start. */
void vg_log_set_sink(vg_log_sink sink, void *ctx);

/* Sets the threshold; messages above it are dropped cheaply. Thread-safe (atomic). */
void vg_log_set_level(enum vg_log_level level);
enum vg_log_level vg_log_get_level(void);

/* Parses "error|warn|info|debug"; returns 0 and sets *out, or VG_EFORMAT. */
int vg_log_level_parse(const char *s, enum vg_log_level *out);
const char *vg_log_level_name(enum vg_log_level level);

void vg_log(enum vg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vg_logv(enum vg_log_level level, const char *fmt, va_list ap);

#define vg_err(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)
#define vg_warn(...) vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_info(...) vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)

/* Recoverable check (STYLE habit 2): logs the failed condition and evaluates to true, so the caller
 * returns an error; never compiled out. Use: if (vg_fails(p != NULL)) return -EINVAL; */
#define vg_fails(cond) \
	(!(cond) ? (vg_log(VG_LOG_ERROR, "check failed: %s (%s:%d)", #cond, __FILE__, __LINE__), 1) : 0)

/* Fatal check for true invariants: logs and aborts, in every build type. */
#define vg_require(cond) \
	do { \
		if (!(cond)) { \
			vg_log(VG_LOG_ERROR, "invariant failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

#endif
