/* Helpers for integration tests: start the built vigild (path in $VIGILD) with a generated
 * config on a random high loopback port, and talk DNS to it over real UDP and TCP sockets.
 * Single-threaded test code; every wait is bounded by a timeout. */
#ifndef VIGIL_ITEST_H
#define VIGIL_ITEST_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct itest_vigild {
	pid_t pid;
	uint16_t port;
	char dir[256];	/* temporary directory: config, cache, log */
	char conf[320]; /* dir/vigild.conf */
	char log[320];	/* dir/vigild.log (vigild's stderr) */
	uint32_t wait_ms; /* how long itest_start/itest_stop wait for vigild; 0 = 5 s (kept by start) */
	int port_lock;	  /* fd + 1 of the lock that reserves `port` among test processes; 0 = none */
};

/* True when this host has IPv6 loopback (::1 can be bound). */
bool itest_have_ipv6(void);

/* Writes dir/vigild.conf: listen 127.0.0.1@port and (if the host has it) ::1@port, user "",
 * workers 1, a cache-dir inside dir, log-level debug, then `extra` (more config lines, may be
 * NULL). */
int itest_write_config(struct itest_vigild *v, const char *extra);

/* Picks a free port, writes the config, starts `vigild -f -c conf` and waits (at most 5 s) until
 * it answers "localhost. A" over UDP. Returns 0, or -1 (with vigild's log on stderr). */
int itest_start(struct itest_vigild *v, const char *extra);

/* itest_start with RLIMIT_NOFILE (soft and hard, like `ulimit -n`) set to `nofile` in vigild's
 * process before exec; 0 leaves the limit alone. */
int itest_start_nofile(struct itest_vigild *v, const char *extra, unsigned nofile);

/* SIGTERM, then waits at most 5 s (SIGKILL after). Returns vigild's exit status, 128+signal if
 * killed by one, -1 if it had to be killed, 0 when nothing was running. Removes the temp
 * directory. Idempotent. */
int itest_stop(struct itest_vigild *v);

/* Runs the shell command `cmd` to completion, capturing its stdout into out (NUL-terminated).
 * Returns the exit status or -1. */
int itest_run(const char *cmd, char *out, size_t cap);
/* Runs argv (argv[0] a path) as uid/gid with the supplementary groups given (root only), 5 s
 * max, capturing stdout+stderr into out. Returns the exit status or -1. */
int itest_run_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n, char *const argv[], char *out,
		 size_t cap);

/* Runs `$VIGILD args...` to completion (5 s max), capturing stdout+stderr into out. Returns the
 * exit status or -1. */
int itest_run_vigild(char *out, size_t cap, const char *args);

/* Runs `$VIGILCTL -s socket args` (5 s max), output (stdout and stderr) into out. Returns its
 * exit status, or -1. */
int itest_vigilctl(const char *socket, const char *args, char *out, size_t cap);
/* The counter `name` of `vigilctl -s SOCKET stats` (its "name: value" lines). A criterion
 * assertion fails the test when vigilctl fails or lists no such counter. */
long long itest_stat(const char *socket, const char *name);

/* Builds a query (RD set) in wire form; edns_size 0 = no OPT. Returns the length. */
size_t itest_query(const char *name, ldns_rr_type type, uint16_t id, uint16_t edns_size,
		   bool do_bit, uint8_t *out, size_t cap);

/* Sends `q` over UDP to dst@port (from address src, or any when NULL) and waits up to
 * timeout_ms for one reply. Returns the reply length, 0 when nothing came. */
int itest_udp(const char *dst, uint16_t port, const char *src, const uint8_t *q, size_t len,
	      uint8_t *out, size_t cap, int timeout_ms);

/* Parses a reply (NULL if it does not parse). Free with ldns_pkt_free. */
ldns_pkt *itest_parse(const uint8_t *wire, size_t len);

/* UDP query for name/type; returns the parsed reply or NULL on timeout. */
ldns_pkt *itest_ask(const struct itest_vigild *v, const char *name, ldns_rr_type type);
/* The same with a random ID and a timeout of the caller's choice. */
ldns_pkt *itest_ask_within(const struct itest_vigild *v, const char *name, ldns_rr_type type,
			   int timeout_ms);
/* itest_ask_within that fails the test (criterion assertion) when no reply comes. */
ldns_pkt *itest_ask_answered(const struct itest_vigild *v, const char *name, ldns_rr_type type,
			     int timeout_ms);
/* Asks v (name, type) over UDP with EDNS 1232 and DO, with CD when `cd`, a random ID; the parsed
 * reply, NULL on silence (12 s) or an unparsable one. */
ldns_pkt *itest_ask_dnssec(const struct itest_vigild *v, const char *name, ldns_rr_type type,
			   bool cd);
/* True when `name` A resolves with NOERROR and an A record `addr` for `name` in the answer. */
bool itest_resolves_a(const struct itest_vigild *v, const char *name, const char *addr,
		      int timeout_ms);

/* The Extended DNS Error (RFC 8914) of a reply: its info-code, or -1 when there is none; its
 * text (NUL-terminated, cut to cap) into `text`. */
int itest_ede(const ldns_pkt *p, char *text, size_t cap);

/* TCP: connect (blocking, 2 s timeout), write everything, read one framed message. */
int itest_tcp_connect(const char *dst, uint16_t port);
int itest_write_all(int fd, const uint8_t *buf, size_t len);
/* Returns the message length, 0 when the server closed the connection, -1 on timeout/error. */
int itest_tcp_read(int fd, uint8_t *out, size_t cap, int timeout_ms);
/* True when the peer closes the connection within timeout_ms (reads and discards data). */
bool itest_tcp_closed_within(int fd, int timeout_ms);

/* Binds a UDP socket to addr@port (IPv4; port 0 = any) and returns it with the bound port in
 * *bound (may be NULL), or -1: for holding an address vigild then cannot bind. */
int itest_hold_udp(const char *addr, uint16_t port, uint16_t *bound);

/* A port free for UDP and TCP on 127.0.0.1 and ::1, reserved among concurrent test processes
 * for the life of this process (the lock itest_start uses). 0 when none was found. */
uint16_t itest_free_port(void);

/* Starts the lab's faultd ($VIGIL_FAULTD) in mode "ok" serving `zone_text` (a zone file) for
 * `origin` on 127.0.0.1@port, and waits (at most 5 s) until it answers the origin's SOA. The
 * zone file goes in a new temporary directory, whose path is written to dir (remove it with
 * `rm -rf`). Returns faultd's pid (stop it with SIGTERM), or -1 after printing why. */
pid_t itest_start_faultd(const char *origin, const char *zone_text, uint16_t port, char *dir,
			 size_t dircap);

/* Monotonic milliseconds. */
uint64_t itest_now_ms(void);

#endif
