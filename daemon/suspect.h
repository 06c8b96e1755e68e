/* The suspicious-answer log writer (daemon side of include/vigil/suspect.h): events become JSON
 * lines on the worker that found them, a queue hands them to one writer thread, so workers never
 * block on the file. Format: docs/suspicious-log.md. */
#ifndef VIGIL_DAEMON_SUSPECT_H
#define VIGIL_DAEMON_SUSPECT_H

#include <stdint.h>
#include <stdio.h>
#include <vigil/suspect.h>

#define VG_SUSPECT_RATE 10	  /* lines per reason per second; the rest are summarised */
#define VG_SUSPECT_QUEUE_MAX 4096 /* lines waiting for the writer; more are dropped (counted) */

struct vg_suspect_log;

/* Creates the log. `path` NULL: events are only counted. Starts the writer thread when there is
 * a file. Returns 0 or a negative code (the file cannot be opened: -errno, message logged).
 * Main thread. */
int vg_suspect_log_new(const char *path, struct vg_suspect_log **out);
/* A second consumer of the encoded lines (the live page's event feed): called on the worker
 * thread with each line that passes the rate limit, file or not; it must copy what it keeps and
 * not block. Set before the workers start (not synchronised); NULL removes it. */
typedef void (*vg_suspect_tap_fn)(void *ctx, const char *line);
void vg_suspect_log_set_tap(struct vg_suspect_log *l, vg_suspect_tap_fn tap, void *ctx);
/* The sink to put in the resolver's environment; lives as long as the log. */
const struct vg_suspect_sink *vg_suspect_log_sink(struct vg_suspect_log *l);
/* Asks the writer to reopen the file (logrotate moved it): the next line goes to the file now
 * at the path. Returns 0, or -ENOENT when the log has no file. Any thread. */
int vg_suspect_log_reopen(struct vg_suspect_log *l);
/* Detections per reason since start (every event, also those not written). Any thread. */
uint64_t vg_suspect_log_count(struct vg_suspect_log *l, enum vg_suspect_reason r);
/* Writes what is queued, stops the writer and frees the log. NULL is a no-op. */
void vg_suspect_log_close(struct vg_suspect_log *l);

/* Shared by the JSON Lines writers (this log and the query log): */
/* Unix time in milliseconds as RFC 3339 UTC with milliseconds ("2026-12-07T06:40:46.066Z"). */
void vg_log_rfc3339(int64_t ms, char *buf, size_t cap);
/* Opens a log file for appending (close-on-exec); NULL with "KEY: cannot open PATH: REASON"
 * logged and errno set. */
FILE *vg_log_file_open(const char *key, const char *path);
/* Reopens a log file (after rotation): *f becomes PATH opened anew and the old stream is closed;
 * when PATH cannot be opened (logged as above), *f stays the old stream, still writable. */
void vg_log_file_reopen(const char *key, const char *path, FILE **f);

/* One event as a JSON object without newline (malloc'd; NULL without memory). `time_ms`: Unix
 * time in milliseconds. Thread-safe. */
char *vg_suspect_encode(const struct vg_suspect_event *ev, int64_t time_ms);

#endif
