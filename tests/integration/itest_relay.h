/* A relay forwarder in front of a second vigild, for integration tests of forwarding: the lab's
 * nxfwd ($VIGIL_NXFWD) on 127.0.0.1, relaying to a vigild that iterates the lab and logging each
 * question it relays. Criterion asserts inside, so call these from a test. */
#ifndef VIGIL_ITEST_RELAY_H
#define VIGIL_ITEST_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct itest_relay {
	pid_t pid;     /* 0 when not running */
	uint16_t port; /* where it listens (127.0.0.1) */
	char log[400]; /* its query log: one line per relayed question, "NAME TYPE[ CD]" */
};

/* Starts nxfwd on a free port of 127.0.0.1, relaying to 127.0.0.1@upstream and logging to `log`
 * (copied into r), with the further options opts[0..] (NULL-terminated, may be NULL: "-R", "-s",
 * "-r ADDR" as two strings...). Waits (at most 5 s) until it relays an answer, then empties the
 * log, so it holds only the questions asked from then on. */
void itest_relay_start(struct itest_relay *r, uint16_t upstream, const char *log,
		       const char *const *opts);

/* SIGTERM and waits for it; nothing when it is not running. The log is left in place. */
void itest_relay_stop(struct itest_relay *r);

/* The lines of r's log that start with `prefix` (case-insensitive; NULL: every line); with
 * `whole`, only the lines that are exactly `prefix`. */
size_t itest_relay_count(const struct itest_relay *r, const char *prefix, bool whole);

#endif
