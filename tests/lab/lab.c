/* Test helper for criterion binaries: shared lab bring-up with a PID-checked reference count, and
 * one-shot DNS queries to lab servers (see lab.h). */
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vigil/addr.h"

#define MAX_USERS 256

static char run_dir[PATH_MAX];
static char path_hints[PATH_MAX + 32];
static char path_ds[PATH_MAX + 32];
static char path_key[PATH_MAX + 32];
static char path_island[PATH_MAX + 32];
static bool joined;   /* this process is a recorded user */
static bool isolated; /* run_dir is a private temporary directory (vg_lab_isolate) */

/* The paths of the generated files in run_dir. */
static void set_paths(void)
{
	snprintf(path_hints, sizeof(path_hints), "%s/root.hints", run_dir);
	snprintf(path_ds, sizeof(path_ds), "%s/root.ds", run_dir);
	snprintf(path_key, sizeof(path_key), "%s/root.key", run_dir);
	snprintf(path_island, sizeof(path_island), "%s/island.ds", run_dir);
}

const char *vg_lab_run_dir(void)
{
	if (run_dir[0] == '\0') {
		const char *env = getenv("VIGIL_LAB_DIR");
		snprintf(run_dir, sizeof(run_dir), "%s",
			 env != NULL && env[0] != '\0' ? env : VG_LAB_DEFAULT_RUN_DIR);
		set_paths();
	}
	return run_dir;
}

const char *vg_lab_root_hints(void)
{
	vg_lab_run_dir();
	return path_hints;
}

const char *vg_lab_trust_anchor(void)
{
	vg_lab_run_dir();
	return path_ds;
}

const char *vg_lab_trust_anchor_dnskey(void)
{
	vg_lab_run_dir();
	return path_key;
}

const char *vg_lab_island_anchor(void)
{
	vg_lab_run_dir();
	return path_island;
}

/* Runs lab.sh with one argument; its stdout goes to /dev/null (the paths are known), stderr is
 * kept so the reason of a failure reaches the test log. Returns the exit status or -1. */
static int run_lab_sh(const char *arg)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 1);
		setenv("VIGIL_LAB_DIR", vg_lab_run_dir(), 1);
		execl("/bin/bash", "bash", VG_LAB_SH, arg, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The users file: line 1 "owned 0|1" (did a user start the lab?), then one PID per line. */
struct users {
	int owned;
	int n;
	pid_t pid[MAX_USERS];
};

static void users_read(FILE *f, struct users *u)
{
	long v;

	u->owned = 0;
	u->n = 0;
	rewind(f);
	if (fscanf(f, "owned %d", &u->owned) != 1)
		return;
	while (u->n < MAX_USERS && fscanf(f, "%ld", &v) == 1)
		if (v > 0 && (kill((pid_t)v, 0) == 0 || errno == EPERM))
			u->pid[u->n++] = (pid_t)v; /* dead users (crashed tests) are dropped here */
}

static void users_write(FILE *f, const struct users *u)
{
	if (ftruncate(fileno(f), 0) != 0)
		return;
	rewind(f);
	fprintf(f, "owned %d\n", u->owned);
	for (int i = 0; i < u->n; i++)
		fprintf(f, "%ld\n", (long)u->pid[i]);
	fflush(f);
}

/* Opens RUN/lab.users under an exclusive flock on RUN/lab.lock. */
static FILE *users_open(int *lockfd)
{
	char path[PATH_MAX + 32];
	FILE *f;

	mkdir(vg_lab_run_dir(), 0755);
	snprintf(path, sizeof(path), "%s/lab.lock", vg_lab_run_dir());
	*lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*lockfd < 0) {
		fprintf(stderr, "lab: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while (flock(*lockfd, LOCK_EX) != 0)
		if (errno != EINTR) {
			close(*lockfd);
			return NULL;
		}
	snprintf(path, sizeof(path), "%s/lab.users", vg_lab_run_dir());
	f = fopen(path, "a+e");
	if (f == NULL) {
		fprintf(stderr, "lab: cannot open %s: %s\n", path, strerror(errno));
		close(*lockfd);
	}
	return f;
}

static void users_close(FILE *f, int lockfd)
{
	fclose(f);
	flock(lockfd, LOCK_UN);
	close(lockfd);
}

/* True if the running lab was started by hand (lab.sh up without the helper): the helper then
 * leaves it running when its last user goes. */
static bool lab_started_by_hand(void)
{
	char path[PATH_MAX + 64], who[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/started-by", vg_lab_run_dir());
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fscanf(f, "%15s", who) != 1)
		who[0] = '\0';
	fclose(f);
	return strcmp(who, "manual") == 0;
}

int vg_lab_up(void)
{
	struct users u;
	int lockfd, rc;
	FILE *f;

	if (joined)
		return 0;
	if (getenv("VIGIL_FAULTD") == NULL)
		setenv("VIGIL_FAULTD", VG_LAB_FAULTD, 1);
	f = users_open(&lockfd);
	if (f == NULL)
		return -1;
	users_read(f, &u);
	/* Always run up: it is idempotent and restarts a lab a crashed user left half-broken.
	 * With no live user, a lab from an older lab.sh or faultd may be restarted too. */
	if (u.n == 0)
		setenv("VIGIL_LAB_RESTART_STALE", "1", 1);
	setenv("VIGIL_LAB_HELPER", "1", 1);
	rc = run_lab_sh("up");
	unsetenv("VIGIL_LAB_RESTART_STALE");
	unsetenv("VIGIL_LAB_HELPER");
	/* The last user stops the lab unless someone started it by hand. */
	if (rc == 0 && u.n == 0)
		u.owned = !lab_started_by_hand();
	if (rc != 0) {
		fprintf(stderr,
			"lab: '%s up' failed (exit %d); the lab needs root and nsd, see "
			"docs/lab.md\n",
			VG_LAB_SH, rc);
		users_write(f, &u);
		users_close(f, lockfd);
		return -1;
	}
	if (u.n < MAX_USERS)
		u.pid[u.n++] = getpid();
	users_write(f, &u);
	users_close(f, lockfd);
	joined = true;
	return 0;
}

int vg_lab_isolate(void)
{
	struct ifreq ifr = {0};
	char dir[] = "/tmp/vg-lab-XXXXXX";
	int fd, r = 0;

	if (isolated)
		return 0;
	if (joined)
		return -EBUSY;
	if (unshare(CLONE_NEWNET) != 0)
		return -errno;
	/* A new namespace's loopback is down; up, it routes all of 127.0.0.0/8 again. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		r = -errno;
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
			r = -errno;
	}
	if (fd >= 0)
		close(fd);
	if (r == 0 && mkdtemp(dir) == NULL)
		r = -errno;
	if (r != 0) {
		fprintf(stderr, "lab: cannot set up a private network namespace: %s\n",
			strerror(-r));
		return r; /* the namespace stays, but without a lab: vg_lab_up fails loudly */
	}
	snprintf(run_dir, sizeof(run_dir), "%s", dir);
	set_paths();
	/* Test processes and helpers started later find the same directory. */
	setenv("VIGIL_LAB_DIR", run_dir, 1);
	isolated = true;
	return 0;
}

int vg_lab_up_for_tests(void)
{
	int rc = vg_lab_up();

	setenv("VG_LAB_READY", rc == 0 ? "yes" : "no", 1);
	return rc;
}

bool vg_lab_ready(void)
{
	const char *v = getenv("VG_LAB_READY");

	return v != NULL && strcmp(v, "yes") == 0;
}

void vg_lab_down(void)
{
	struct users u;
	int lockfd, k = 0;
	FILE *f;

	if (!joined)
		return;
	f = users_open(&lockfd);
	if (f == NULL)
		return;
	users_read(f, &u);
	for (int i = 0; i < u.n; i++)
		if (u.pid[i] != getpid())
			u.pid[k++] = u.pid[i];
	u.n = k;
	if (u.n == 0 && u.owned) {
		run_lab_sh("down");
		u.owned = 0;
	}
	users_write(f, &u);
	users_close(f, lockfd);
	joined = false;
	if (isolated && u.n == 0) {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "lab: could not remove %s\n", run_dir);
	}
}

/* The PID in RUN/srv-ADDR/pid when that process runs and its command line names the server's
 * directory (a recycled PID is never taken for ours), else 0. */
static pid_t server_pid(const char *addr)
{
	char path[PATH_MAX + 64], mark[PATH_MAX + 64], cmd[PATH_MAX + 64];
	long pid = 0;
	snprintf(path, sizeof(path), "%s/srv-%s/pid", vg_lab_run_dir(), addr);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || kill((pid_t)pid, 0) != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	snprintf(mark, sizeof(mark), "%s/srv-%s/", vg_lab_run_dir(), addr);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	cmd[n] = '\0';
	return strstr(cmd, mark) ? (pid_t)pid : 0;
}

int vg_lab_server_stop(const char *addr)
{
	pid_t pid = server_pid(addr);
	if (pid == 0) {
		fprintf(stderr, "lab: no server of ours runs at %s\n", addr);
		return -1;
	}
	kill(pid, SIGTERM);
	for (int i = 0; i < 60 && kill(pid, 0) == 0; i++)
		usleep(50 * 1000);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
	for (int i = 0; i < 20 && kill(pid, 0) == 0; i++)
		usleep(50 * 1000);
	return 0;
}

int vg_lab_server_start(const char *addr)
{
	char cmd[2 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "nsd -c '%s/srv-%s/nsd.conf' >/dev/null 2>&1", vg_lab_run_dir(),
		 addr);
	if (system(cmd) != 0) {
		fprintf(stderr, "lab: '%s' failed\n", cmd);
		return -1;
	}
	/* Any reply (NOERROR, REFUSED...) means it serves. NSD needs about 0.5 s, much more on a
	 * loaded machine. */
	for (int i = 0; i < 150; i++) {
		ldns_pkt *p = NULL;
		if (vg_lab_query_udp(addr, ".", LDNS_RR_TYPE_SOA, 0, 100, &p) == 0) {
			ldns_pkt_free(p);
			return 0;
		}
		usleep(100 * 1000);
	}
	fprintf(stderr, "lab: %s did not answer within 15 s after start\n", addr);
	return -1;
}

int vg_lab_build_query(const char *name, ldns_rr_type type, unsigned flags, uint8_t *buf,
		       size_t cap)
{
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	uint16_t id;

	if (ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
		return -EINVAL;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)rand();
	ldns_pkt_set_id(q, id);
	ldns_pkt_set_rd(q, (flags & VG_LAB_RD) != 0);
	ldns_pkt_set_cd(q, (flags & VG_LAB_CD) != 0);
	if (flags & (VG_LAB_EDNS | VG_LAB_DO)) {
		ldns_pkt_set_edns_udp_size(q, 1232);
		ldns_pkt_set_edns_do(q, (flags & VG_LAB_DO) != 0);
	}
	if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK) {
		ldns_pkt_free(q);
		return -EINVAL;
	}
	ldns_pkt_free(q);
	if (len > cap) {
		free(wire);
		return -ENOSPC;
	}
	memcpy(buf, wire, len);
	free(wire);
	return (int)len;
}

static long ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

static void deadline(struct timespec *end, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += timeout_ms / 1000;
	end->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end->tv_nsec >= 1000000000) {
		end->tv_sec++;
		end->tv_nsec -= 1000000000;
	}
}

static int wait_fd(int fd, short ev, const struct timespec *end)
{
	struct pollfd p = {.fd = fd, .events = ev};
	long left = ms_left(end);
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)left);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int udp_socket_to(const char *server, struct vg_sockaddr *sa)
{
	int fd;

	if (vg_sockaddr_parse(server, 53, sa) != 0)
		return -EINVAL;
	fd = socket(sa->u.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

int vg_lab_udp_raw(const char *server, const uint8_t *q, size_t qlen, uint8_t *buf, size_t cap,
		   int timeout_ms, uint16_t *from_port)
{
	struct vg_sockaddr sa, from;
	struct timespec end;
	ssize_t n;
	int fd = udp_socket_to(server, &sa), r;

	if (fd < 0)
		return fd;
	deadline(&end, timeout_ms);
	if (sendto(fd, q, qlen, 0, &sa.u.sa, sa.len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = wait_fd(fd, POLLIN, &end);
	if (r == 0) {
		from.len = sizeof(from.u.ss);
		n = recvfrom(fd, buf, cap, 0, &from.u.sa, &from.len);
		r = n < 0 ? -errno : (int)n;
		if (n >= 0 && from_port != NULL)
			*from_port = ntohs(from.u.sin.sin_port);
	}
	close(fd);
	return r;
}

static int parse_reply(const uint8_t *buf, size_t len, ldns_pkt **reply)
{
	if (ldns_wire2pkt(reply, buf, len) != LDNS_STATUS_OK)
		return -EPROTO;
	return 0;
}

int vg_lab_query_udp(const char *server, const char *name, ldns_rr_type type, unsigned flags,
		     int timeout_ms, ldns_pkt **reply)
{
	uint8_t q[512], buf[65535];
	struct vg_sockaddr sa;
	struct timespec end;
	int qlen = vg_lab_build_query(name, type, flags, q, sizeof(q));
	int fd, r;

	if (qlen < 0)
		return qlen;
	fd = udp_socket_to(server, &sa);
	if (fd < 0)
		return fd;
	/* connect() so only the server's address and port can reach this socket. */
	if (connect(fd, &sa.u.sa, sa.len) != 0 || send(fd, q, (size_t)qlen, 0) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	deadline(&end, timeout_ms);
	for (;;) {
		ssize_t n;
		r = wait_fd(fd, POLLIN, &end);
		if (r != 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n >= 12 && buf[0] == q[0] && buf[1] == q[1]) {
			r = parse_reply(buf, (size_t)n, reply);
			break;
		}
	}
	close(fd);
	return r;
}

static int write_all(int fd, const uint8_t *b, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, b, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, uint8_t *b, size_t len, const struct timespec *end)
{
	while (len > 0) {
		ssize_t n;
		int r = wait_fd(fd, POLLIN, end);
		if (r != 0)
			return r;
		n = read(fd, b, len);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int vg_lab_query_tcp(const char *server, const char *name, ldns_rr_type type, unsigned flags,
		     int timeout_ms, ldns_pkt **reply)
{
	uint8_t q[514], *buf;
	struct vg_sockaddr sa;
	struct timespec end;
	int qlen = vg_lab_build_query(name, type, flags, q + 2, sizeof(q) - 2);
	int fd, r;
	size_t len;

	if (qlen < 0)
		return qlen;
	q[0] = (uint8_t)(qlen >> 8);
	q[1] = (uint8_t)qlen;
	if (vg_sockaddr_parse(server, 53, &sa) != 0)
		return -EINVAL;
	fd = socket(sa.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	deadline(&end, timeout_ms);
	if (connect(fd, &sa.u.sa, sa.len) != 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	r = wait_fd(fd, POLLOUT, &end);
	if (r == 0) {
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		r = err != 0 ? -err : 0;
	}
	if (r == 0) {
		fcntl(fd, F_SETFL, 0);
		r = write_all(fd, q, (size_t)qlen + 2);
	}
	if (r == 0) {
		uint8_t l[2];
		r = read_all(fd, l, 2, &end);
		len = (size_t)l[0] << 8 | l[1];
		if (r == 0) {
			buf = malloc(len > 0 ? len : 1);
			r = read_all(fd, buf, len, &end);
			if (r == 0)
				r = parse_reply(buf, len, reply);
			free(buf);
		}
	}
	close(fd);
	return r;
}

size_t vg_lab_count(const ldns_pkt *p, ldns_pkt_section section, ldns_rr_type type)
{
	ldns_rr_list *l = ldns_pkt_get_section_clone(p, section);
	size_t n = 0;

	for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type)
			n++;
	ldns_rr_list_deep_free(l);
	return n;
}

bool vg_lab_has(const ldns_pkt *p, ldns_pkt_section section, const char *owner, ldns_rr_type type,
		const char *rdata)
{
	ldns_rr_list *l = ldns_pkt_get_section_clone(p, section);
	ldns_rdf *o = ldns_dname_new_frm_str(owner);
	bool found = false;

	for (size_t i = 0; l != NULL && o != NULL && !found && i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) != type || ldns_dname_compare(ldns_rr_owner(rr), o) != 0)
			continue;
		if (rdata == NULL) {
			found = true;
		} else if (ldns_rr_rd_count(rr) > 0) {
			char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
			/* Multi-field rdata (MX, SOA): compare the whole rdata text. */
			if (ldns_rr_rd_count(rr) > 1) {
				ldns_buffer *b = ldns_buffer_new(256);
				for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
					if (k > 0)
						ldns_buffer_printf(b, " ");
					ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, k));
				}
				free(s);
				s = ldns_buffer_export2str(b);
				ldns_buffer_free(b);
			}
			found = s != NULL && strcmp(s, rdata) == 0;
			free(s);
		}
	}
	ldns_rdf_deep_free(o);
	ldns_rr_list_deep_free(l);
	return found;
}
