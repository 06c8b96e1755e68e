/* Test helper for criterion binaries that need the DNS lab (docs/lab.md): a shared, reference-
 * counted bring-up of tests/lab/lab.sh, paths of its root hints and trust anchor, and small
 * functions that send one query to one server and return the parsed reply.
 *
 * Link with `vg_lab_dep` (tests/lab/meson.build). The lab needs root (port 53) and nsd.
 * Thread-safety: vg_lab_up/vg_lab_down are process-wide (call them from one thread, e.g. a
 * criterion ReportHook(PRE_ALL)/ReportHook(POST_ALL) or a suite init/fini); the query functions are
 * thread-safe.
 * Cost: joining a running lab takes ~0.15 s; when the last user leaves the lab stops (~2 s) and the
 * next join starts it again (~2-3 s). Calling up/down from the PRE_ALL/POST_ALL hooks (below) keeps
 * one lab for the whole binary; a suite .init/.fini pair also works (each test process is a user)
 * but may restart the lab between tests that do not overlap.
 */
#ifndef VIGIL_TESTS_LAB_H
#define VIGIL_TESTS_LAB_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Brings the lab up, or joins it if another test binary already did. Several binaries may call
 * this at the same time (meson test runs them in parallel): users are recorded by PID in
 * RUN/lab.users under flock(RUN/lab.lock); users whose process is gone are dropped, so a crashed
 * binary never keeps the lab up forever nor makes the next one fail. Idempotent within a process
 * (a second call only returns 0). Returns 0, or -1 after printing why on stderr (not root, nsd
 * missing, port taken: lab.sh's own message). RUN is $VIGIL_LAB_DIR or tests/lab/run. Sets
 * VIGIL_FAULTD to this build's faultd unless already set. */
int vg_lab_up(void);

/* For criterion binaries: criterion runs each test in a fresh process (re-executed, not forked), so
 * a static set by a hook in the runner is not visible in tests; the environment is. Use:
 *
 *	ReportHook(PRE_ALL)(struct criterion_test_set *set) { (void)set; vg_lab_up_for_tests(); }
 *	ReportHook(POST_ALL)(struct criterion_global_stats *st) { (void)st; vg_lab_down(); }
 *	static void need_lab(void) { cr_assert(vg_lab_ready(), "lab not up: needs root and nsd"); }
 *	TestSuite(mysuite, .init = need_lab);
 *
 * vg_lab_up_for_tests() calls vg_lab_up() and records the result in the environment variable
 * VG_LAB_READY ("yes"/"no"); vg_lab_ready() reads it back in the test process. Never skip a test
 * because the lab is missing: fail it with the reason (CI runs as root with nsd installed). */
int vg_lab_up_for_tests(void);
bool vg_lab_ready(void);

/* Optional, before vg_lab_up: moves this process (and every process it starts afterwards: lab
 * servers, criterion's test processes, a vigild under test) into a new network namespace with its
 * own loopback, and uses a fresh private run directory, so this binary gets a lab of its own that
 * no other test binary shares or disturbs (and that always matches the current lab.sh). Needs
 * CAP_SYS_ADMIN (root). Returns 0, or a negative errno (then nothing changed: use the shared lab).
 * vg_lab_down removes the private run directory after stopping the lab. */
int vg_lab_isolate(void);

/* Leaves the lab; the last user (by PID) stops it with `lab.sh down`, unless the lab was started
 * by hand (`lab.sh up` outside this helper, recorded in RUN/started-by: then it is left running).
 * A lab the helper started or restarted is always stopped by its last user, so a test run leaves
 * no process behind. Safe to call without up. */
void vg_lab_down(void);

/* Stops one NSD server of a running lab (TERM, KILL after 3 s) or starts it again from the
 * nsd.conf `lab.sh up` wrote, and waits (at most 15 s) until it answers. For outage tests: the
 * address then refuses queries (ICMP port unreachable) until it is started again. `addr` is one
 * of the NSD addresses of docs/lab.md ("127.53.2.1"); fault servers are not handled. A lab with
 * a stopped server counts as partly running: the next `lab.sh up` restarts it all. Returns 0 or
 * -1 after printing why on stderr. */
int vg_lab_server_stop(const char *addr);
int vg_lab_server_start(const char *addr);

/* Run directory and generated files. The strings are static, valid for the process lifetime. */
const char *vg_lab_run_dir(void);
const char *vg_lab_root_hints(void);	      /* RUN/root.hints */
const char *vg_lab_trust_anchor(void);	      /* RUN/root.ds (DS form) */
const char *vg_lab_trust_anchor_dnskey(void); /* RUN/root.key (DNSKEY form) */
const char *vg_lab_island_anchor(void);	      /* RUN/island.ds: island.com.'s own DS anchor */

/* Query flags. */
#define VG_LAB_RD 0x1u	 /* set RD (default: off, as a resolver asks an authority) */
#define VG_LAB_EDNS 0x2u /* add OPT with a 1232-byte buffer */
#define VG_LAB_DO 0x4u	 /* EDNS with the DO bit (implies VG_LAB_EDNS) */
#define VG_LAB_CD 0x8u	 /* set CD */

/* Sends one query for `name`/`type` (class IN) to `server` ("ADDR" = port 53, or "ADDR@PORT"),
 * over UDP or TCP, and waits up to `timeout_ms` for the reply with the same ID (other datagrams
 * are ignored). On success returns 0 and stores the parsed reply in *reply (caller frees with
 * ldns_pkt_free). Returns -ETIMEDOUT, -ECONNREFUSED (no server at that address: loopback
 * answers ICMP port unreachable at once), -EINVAL (bad server or name), -EPROTO (unparsable
 * reply) or another negative errno. */
int vg_lab_query_udp(const char *server, const char *name, ldns_rr_type type, unsigned flags,
		     int timeout_ms, ldns_pkt **reply);
int vg_lab_query_tcp(const char *server, const char *name, ldns_rr_type type, unsigned flags,
		     int timeout_ms, ldns_pkt **reply);

/* Builds the wire form of a query (random ID) into buf; returns its length or a negative errno. */
int vg_lab_build_query(const char *name, ldns_rr_type type, unsigned flags, uint8_t *buf,
		       size_t cap);

/* Raw exchange over UDP: sends `q` from a fresh socket and returns the first datagram received
 * within `timeout_ms` (whatever it is: no ID check) in buf; returns its length or a negative
 * errno. If `from_port` is not NULL, stores the reply's source port. */
int vg_lab_udp_raw(const char *server, const uint8_t *q, size_t qlen, uint8_t *buf, size_t cap,
		   int timeout_ms, uint16_t *from_port);

/* Counts the RRs of `type` in `section` of `p` (e.g. LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A). */
size_t vg_lab_count(const ldns_pkt *p, ldns_pkt_section section, ldns_rr_type type);

/* True if `section` of `p` holds an RR of `type` owned by `owner` whose rdata, printed by ldns,
 * equals `rdata` (e.g. "192.0.2.1", "www.example.com.") or any rdata if `rdata` is NULL. */
bool vg_lab_has(const ldns_pkt *p, ldns_pkt_section section, const char *owner, ldns_rr_type type,
		const char *rdata);

#endif
