/* JSON helpers for integration tests that read vigild's JSON output (the suspicious-answer log,
 * the HTTP pages): criterion asserts inside, so call them from a test. */
#ifndef VIGIL_ITEST_JSON_H
#define VIGIL_ITEST_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The lines of the JSON Lines file `path`, at most `max`, each parsed (a line that is not JSON
 * fails the test), waiting up to 5 s for at least `min` of them (vigild's writer thread writes
 * shortly after the answer). With `echo` each line goes to stderr as "suspicious-log: LINE"
 * (docs/suspicious-log.md takes its examples from the test output). Returns the count; the
 * caller owns out[0..count). */
size_t itest_json_lines(const char *path, json_t **out, size_t max, size_t min, bool echo);

/* Releases the lines l[0..n) itest_json_lines returned. */
void itest_json_free(json_t **l, size_t n);

/* The string member `key` of `o`, or "" when there is none. */
const char *itest_json_str(json_t *o, const char *key);

#endif
