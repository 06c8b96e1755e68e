/* The relay forwarder of itest_relay.h: nxfwd started, waited for, stopped, its log counted. */
#include "itest_relay.h"
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include "itest.h"

#define RELAY_MAX_OPTS 8

void itest_relay_start(struct itest_relay *r, uint16_t upstream, const char *log,
		       const char *const *opts)
{
	const char *bin = getenv("VIGIL_NXFWD");
	cr_assert_not_null(bin, "VIGIL_NXFWD is not set");
	r->port = itest_free_port();
	cr_assert_neq(r->port, 0);
	snprintf(r->log, sizeof(r->log), "%s", log);
	char listen_s[64], up_s[64];
	snprintf(listen_s, sizeof(listen_s), "127.0.0.1@%u", r->port);
	snprintf(up_s, sizeof(up_s), "127.0.0.1@%u", upstream);
	const char *argv[7 + RELAY_MAX_OPTS + 1] = {bin, "-a", listen_s, "-u", up_s, "-L", r->log};
	size_t n = 7;
	for (size_t i = 0; opts && opts[i]; i++) {
		cr_assert_lt(i, RELAY_MAX_OPTS, "too many nxfwd options");
		argv[n++] = opts[i];
	}
	argv[n] = NULL;
	r->pid = fork();
	cr_assert_geq(r->pid, 0);
	if (r->pid == 0) {
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	uint8_t q[512], reply[4096];
	size_t ql =
	    itest_query("www.example.com.", LDNS_RR_TYPE_A, 4242, 1232, false, q, sizeof(q));
	for (int i = 0; i < 50; i++) {
		if (itest_udp("127.0.0.1", r->port, NULL, q, ql, reply, sizeof(reply), 500) > 0) {
			/* from here on only the test's questions (nxfwd appends to the file) */
			cr_assert_eq(truncate(r->log, 0), 0);
			return;
		}
		usleep(100000); /* not bound yet: the port is refused at once */
	}
	cr_assert_fail("nxfwd does not answer");
}

void itest_relay_stop(struct itest_relay *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

size_t itest_relay_count(const struct itest_relay *r, const char *prefix, bool whole)
{
	FILE *f = fopen(r->log, "r");
	char buf[512];
	size_t n = 0, l = prefix ? strlen(prefix) : 0;
	while (f && fgets(buf, sizeof(buf), f))
		n += !prefix || (strncasecmp(buf, prefix, l) == 0 &&
				 (!whole || buf[l] == '\n' || buf[l] == 0));
	if (f)
		fclose(f);
	return n;
}
