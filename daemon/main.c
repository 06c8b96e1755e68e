/* vigild: arguments, configuration, binding, privilege drop, workers, signals (stop, reload). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vigil/cache.h>
#include <vigil/err.h>
#include <vigil_build.h>
#include "daemon.h"
#include "http.h"
#include "querylog.h"
#include "suspect.h"
#include "opts.h"

#define ERRLEN 512

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigild [-c FILE] [-t] [-f] [-v] [-h]\n"
		"  -c FILE  configuration file (default: " VIGIL_DEFAULT_CONFIG " if it\n"
		"           exists, else built-in defaults: listen on 127.0.0.1@53 and ::1@53)\n"
		"  -t       check the configuration, the user and its directories; exit\n"
		"           (0 ok, 1 error)\n"
		"  -f       stay in the foreground and log to stderr (otherwise: daemon, syslog)\n"
		"  -v       print the version and exit\n"
		"  -h       this help\n");
}

static const char *addr_str(const struct vg_sockaddr *a, char *buf, size_t cap)
{
	return vg_sockaddr_str(a, buf, cap);
}

/* Creates one listening socket. reuseport: share the address between workers (SO_REUSEPORT);
 * without it the bind fails if anyone else holds the address, which is how we detect a port in
 * use even by a process that set SO_REUSEPORT itself. Returns the fd or -errno. */
static int bind_socket(const struct vg_sockaddr *a, int type, bool reuseport, bool freebind)
{
	int fd = socket(a->u.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (a->u.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		/* An address that is not up yet (a router's LAN bridge at boot): bind anyway, and
		 * receive once it appears. IP_FREEBIND covers IPv6 sockets too; IPV6_FREEBIND
		 * (Linux 4.15) is the IPv6 spelling, set when the headers have it. */
#ifdef IPV6_FREEBIND
	if (freebind && a->u.sa.sa_family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0)
			goto fail;
	} else
#endif
	    if (freebind && setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0)
		goto fail;
	if (type == SOCK_DGRAM) {
		int sz = 1 << 20; /* absorbs bursts between two loop passes */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (bind(fd, &a->u.sa, a->len) < 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	close(fd);
	return -e;
}

/* What usually causes a failed bind and how to fix it, for the error message. */
static const char *bind_hint(const struct vg_sockaddr *addr, int e)
{
	uint16_t port =
	    ntohs(addr->u.sa.sa_family == AF_INET6 ? addr->u.sin6.sin6_port : addr->u.sin.sin_port);
	bool wildcard = addr->u.sa.sa_family == AF_INET6
			    ? IN6_IS_ADDR_UNSPECIFIED(&addr->u.sin6.sin6_addr)
			    : addr->u.sin.sin_addr.s_addr == htonl(INADDR_ANY);
	if (e == EACCES && port < 1024)
		return " (ports below 1024 need root or CAP_NET_BIND_SERVICE: start vigild as "
		       "root, or through its systemd unit)";
	if (e != EADDRINUSE || port != 53)
		return "";
	if (wildcard)
		return " (another DNS server holds port 53 on some address: on a wildcard this is "
		       "usually systemd-resolved's stub on 127.0.0.53 and 127.0.0.54; set "
		       "DNSStubListener=no in /etc/systemd/resolved.conf, or listen on specific "
		       "addresses instead; `ss -lunp sport = 53` shows who holds it)";
	return " (another DNS server holds it: usually dnsmasq, unbound, named, nsd or a second "
	       "vigild; `ss -lunp sport = 53` shows which; stop it with `systemctl disable --now "
	       "NAME`, or give vigild other `listen:` addresses)";
}

static bool is_loopback(const struct vg_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&a->u.sin6.sin6_addr);
	return (ntohl(a->u.sin.sin_addr.s_addr) >> 24) == 127;
}

/* Binds `addr` for every worker (UDP and TCP). fds[w].udp_fd/tcp_fd receive the sockets. */
static int bind_address(const struct vg_sockaddr *addr, int n_workers, struct vg_listen_fds *fds,
			char *err, size_t errlen)
{
	char as[128];
	static const int types[2] = {SOCK_DGRAM, SOCK_STREAM};
	bool freebind = false;
	for (int t = 0; t < 2; t++) {
		int probe = bind_socket(addr, types[t], false, freebind);
		/* Not for loopback: 127/8 is always up, and a missing ::1 means no IPv6 at all
		 * (the default listen set skips it then). */
		if (probe == -EADDRNOTAVAIL && !freebind && !is_loopback(addr)) {
			freebind = true;
			vg_warn(
			    "listen %s: the address is on no interface (yet); listening anyway, "
			    "queries arrive once it is up (IP_FREEBIND)",
			    addr_str(addr, as, sizeof(as)));
			probe = bind_socket(addr, types[t], false, freebind);
		}
		if (probe < 0) {
			snprintf(err, errlen, "cannot listen on %s (%s): %s%s",
				 addr_str(addr, as, sizeof(as)), t ? "tcp" : "udp",
				 strerror(-probe), bind_hint(addr, -probe));
			return probe;
		}
		close(probe);
	}
	for (int i = 0; i < n_workers; i++) {
		fds[i].addr = *addr;
		fds[i].udp_fd = bind_socket(addr, SOCK_DGRAM, true, freebind);
		fds[i].tcp_fd =
		    fds[i].udp_fd < 0 ? -1 : bind_socket(addr, SOCK_STREAM, true, freebind);
		if (fds[i].udp_fd < 0 || fds[i].tcp_fd < 0) {
			int e = fds[i].udp_fd < 0 ? fds[i].udp_fd : fds[i].tcp_fd;
			snprintf(err, errlen, "cannot listen on %s: %s",
				 addr_str(addr, as, sizeof(as)), strerror(-e));
			for (int j = 0; j <= i; j++) {
				if (fds[j].udp_fd >= 0)
					close(fds[j].udp_fd);
				if (fds[j].tcp_fd >= 0)
					close(fds[j].tcp_fd);
			}
			return e;
		}
	}
	return 0;
}

/* True for the built-in listen set (no listen: line): there, an address family the host lacks
 * (no IPv6 on lo) is skipped with a warning instead of failing the start. */
static bool is_default_listen(const struct vg_config *cfg)
{
	struct vg_config def;
	if (vg_config_defaults(&def) != 0)
		return false;
	bool same = cfg->n_listen == def.n_listen;
	for (size_t i = 0; same && i < cfg->n_listen; i++)
		same = vg_sockaddr_eq(&cfg->listen[i], &def.listen[i]);
	vg_config_free(&def);
	return same;
}

/* Listen plan: plan[w * n + i] for worker w and address i. `old` (may be NULL) lists addresses
 * already bound: they get fd -1 (keep). Returns the number of addresses in *n_out. */
static int bind_all(const struct vg_config *cfg, int n_workers, const struct vg_config *old,
		    struct vg_listen_fds **plan_out, size_t *n_out, char *err, size_t errlen)
{
	size_t n = cfg->n_listen;
	struct vg_listen_fds *plan = calloc(n * (size_t)n_workers + 1, sizeof(*plan));
	struct vg_listen_fds *tmp = calloc((size_t)n_workers, sizeof(*tmp));
	if (!plan || !tmp) {
		free(plan);
		free(tmp);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	bool lenient = is_default_listen(cfg);
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		bool kept = false;
		for (size_t j = 0; old && j < old->n_listen; j++)
			kept = kept || vg_sockaddr_eq(&old->listen[j], &cfg->listen[i]);
		if (kept) {
			for (int w = 0; w < n_workers; w++)
				tmp[w] = (struct vg_listen_fds){cfg->listen[i], -1, -1};
		} else if ((rc = bind_address(&cfg->listen[i], n_workers, tmp, err, errlen)) < 0) {
			if (lenient && (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT)) {
				vg_warn("%s: skipped", err);
				rc = 0;
				continue;
			}
			break;
		}
		for (int w = 0; w < n_workers; w++)
			plan[(size_t)w * n + k] = tmp[w];
		k++;
	}
	free(tmp);
	if (rc == 0 && k == 0) {
		snprintf(err, errlen, "no address to listen on");
		rc = VG_ECONFIG;
	}
	if (rc < 0) {
		for (size_t x = 0; x < n * (size_t)n_workers; x++) {
			if (plan[x].udp_fd > 0)
				close(plan[x].udp_fd);
			if (plan[x].tcp_fd > 0)
				close(plan[x].tcp_fd);
		}
		free(plan);
		return rc;
	}
	/* compact the per-worker rows to k entries */
	for (int w = 0; w < n_workers; w++)
		memmove(plan + (size_t)w * k, plan + (size_t)w * n, k * sizeof(*plan));
	*plan_out = plan;
	*n_out = k;
	return 0;
}

/* path NULL: built-in defaults. */
static int load_config(const char *path, struct vg_config *cfg, char *err, size_t errlen)
{
	int rc = vg_config_defaults(cfg);
	if (rc < 0) {
		snprintf(err, errlen, "built-in defaults: %s", vg_strerror(rc));
		return rc;
	}
	return path ? vg_config_load(cfg, path, err, errlen) : 0;
}

/* Forks into the background; the parent waits until the child reports it is serving, so the
 * exit status of `vigild` tells whether the start worked. Returns the fd to report on. */
static int daemonize(void)
{
	int p[2];
	if (pipe(p) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		char c = 0;
		ssize_t n;
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1 && c == 'k')
			_exit(0);
		fprintf(stderr, "vigild: start failed (details in syslog)\n");
		_exit(1);
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0)
		vg_warn("chdir /: %s", strerror(errno));
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	return p[1];
}

int vg_daemon_log_reopen(struct vg_daemon *d, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	/* every log writer that keeps a file open reopens it here (logrotate) */
	bool any = false;
	if (vg_suspect_log_reopen(d->suspect) == 0) {
		vg_info("suspicious-log reopened");
		any = true;
	}
	if (vg_querylog_reopen(d->qlog) == 0) {
		vg_info("query-log reopened");
		any = true;
	}
	if (!any)
		vg_info("log files reopened (none open)");
	return 0;
}

/* Keys read at start only: a reload that changes them says so instead of ignoring them quietly. */
static void warn_restart_only(const struct vg_config *old, const struct vg_config *cfg)
{
	bool same_http = old->n_http_listen == cfg->n_http_listen;
	for (size_t i = 0; same_http && i < cfg->n_http_listen; i++)
		same_http = vg_sockaddr_eq(&old->http_listen[i], &cfg->http_listen[i]);
	if (!same_http)
		vg_warn("reload: http-listen changed; it takes effect at the next start");
	const char *a = old->query_log ? old->query_log : "",
		   *b = cfg->query_log ? cfg->query_log : "";
	if (strcmp(a, b) || old->query_log_rate != cfg->query_log_rate)
		vg_warn("reload: query-log or query-log-rate changed; they take effect at the next "
			"start");
}

int vg_daemon_reload(struct vg_daemon *d, char *err, size_t errlen)
{
	char why[ERRLEN];
	struct vg_config cfg;
	vg_info("reloading %s", d->config_path ? d->config_path : "built-in defaults");
	vg_notify("RELOADING=1\nMONOTONIC_USEC=%llu", vg_notify_monotonic_usec());
	int rc = load_config(d->config_path, &cfg, why, sizeof(why));
	struct vg_policy *p = NULL;
	if (rc == 0)
		rc = vg_policy_new(&cfg, &p, why, sizeof(why));
	struct vg_listen_fds *plan = NULL;
	size_t n = 0;
	if (rc == 0 && (rc = bind_all(&p->cfg, d->n_workers, &d->policy->cfg, &plan, &n, why,
				      sizeof(why))) < 0)
		vg_policy_unref(p);
	if (rc < 0) {
		vg_err("reload refused, old configuration kept: %s", why);
		vg_notify("READY=1\nSTATUS=reload refused, old configuration kept: %s", why);
		snprintf(err, errlen, "%s", why);
		return rc;
	}
	for (int i = 0; i < d->n_workers; i++) {
		struct vg_listen_fds *mine = malloc((n ? n : 1) * sizeof(*mine));
		if (mine) {
			memcpy(mine, plan + (size_t)i * n, n * sizeof(*mine));
		} else {
			/* this worker keeps its listeners; the sockets bound for it are closed */
			for (size_t j = 0; j < n; j++) {
				if (plan[(size_t)i * n + j].udp_fd >= 0)
					close(plan[(size_t)i * n + j].udp_fd);
				if (plan[(size_t)i * n + j].tcp_fd >= 0)
					close(plan[(size_t)i * n + j].tcp_fd);
			}
		}
		vg_worker_post_reload(&d->workers[i], p, mine, mine ? n : 0);
	}
	free(plan);
	vg_log_set_level((enum vg_log_level)p->cfg.log_level);
	warn_restart_only(&d->policy->cfg, &p->cfg);
	vg_policy_unref(d->policy);
	d->policy = p;
	vg_info("reloaded");
	vg_notify("READY=1\nSTATUS=serving (reloaded)");
	return 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct vg_daemon *d = s->data;
	if (signum == SIGHUP) {
		char err[ERRLEN];
		vg_daemon_reload(d, err, sizeof(err));	   /* logs its own errors */
		vg_daemon_log_reopen(d, err, sizeof(err)); /* logrotate */
		return;
	}
	vg_info("signal %d: stopping", signum);
	uv_stop(&d->loop);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool check = false, foreground = false;
	int opt;
	vg_worker_malloc_setup();
	while ((opt = getopt(argc, argv, "c:tfvh")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'v':
			printf("vigild %s\n", VIGIL_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 1;
	}

	/* the installed configuration when there is one, else the built-in defaults */
	if (!path && access(VIGIL_DEFAULT_CONFIG, F_OK) == 0)
		path = VIGIL_DEFAULT_CONFIG;
	char err[ERRLEN];
	struct vg_config cfg;
	struct vg_policy *policy;
	if (load_config(path, &cfg, err, sizeof(err)) < 0 ||
	    vg_policy_new(&cfg, &policy, err, sizeof(err)) < 0) {
		vg_logging_fatal(err);
		return 1;
	}
	if (check && vg_runas_check(&policy->cfg, err, sizeof(err)) < 0) {
		char msg[ERRLEN + 300];
		snprintf(msg, sizeof(msg), "%s: %s", path ? path : "(built-in defaults)", err);
		vg_logging_fatal(msg);
		vg_policy_unref(policy);
		return 1;
	}
	if (check) {
		printf("vigild: configuration %s OK\n", path ? path : "(built-in defaults)");
		vg_policy_unref(policy);
		return 0;
	}
	vg_logging_setup(true, (enum vg_log_level)policy->cfg.log_level);
	signal(SIGPIPE, SIG_IGN);

	/* reload re-reads the file after the daemon's chdir("/"): remember it absolutely */
	char *abs_path = path ? realpath(path, NULL) : NULL;
	struct vg_daemon d = {
	    .policy = policy, .foreground = foreground, .config_path = abs_path ? abs_path : path};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	d.n_workers = policy->cfg.workers > 0 ? policy->cfg.workers : (cpus > 0 ? (int)cpus : 1);

	struct vg_listen_fds *plan;
	size_t n_listen;
	if (bind_all(&policy->cfg, d.n_workers, NULL, &plan, &n_listen, err, sizeof(err)) < 0) {
		vg_logging_fatal(err);
		vg_policy_unref(policy);
		return 1;
	}
	int ready_fd = -1;
	if (!foreground) {
		vg_logging_setup(false, (enum vg_log_level)policy->cfg.log_level);
		ready_fd = daemonize();
	}
	int status = 1;
	uv_loop_init(&d.loop);
	d.started_at = time(NULL);
	vg_inflight_raise_nofile(&policy->cfg, d.n_workers);
	if (vg_pending_new(0, &d.pending) < 0)
		vg_warn("out of memory: max-pending-per-client is not applied");
	bool automatic;
	const char *user = vg_runas_user(&policy->cfg, &automatic);
	if (policy->cfg.control_socket && *policy->cfg.control_socket) {
		/* bound before dropping privileges (its directory may be root's), owned by the user
		 * vigild becomes so that user can still remove it at stop */
		uid_t uid = (uid_t)-1;
		gid_t gid = (gid_t)-1;
		struct passwd *pw = user ? getpwnam(user) : NULL;
		/* already that user (systemd unit): no chown, which its syscall filter denies */
		if (pw && (pw->pw_uid != geteuid() || pw->pw_gid != getegid())) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
		if (vg_control_start(&d, policy->cfg.control_socket, uid, gid, err, sizeof(err)) <
		    0) {
			vg_err("%s", err);
			goto out_plan;
		}
	}
	/* bound before dropping privileges too, so a taken port is reported at start */
	if (vg_http_bind(&policy->cfg, &d.http, err, sizeof(err)) < 0) {
		vg_err("%s", err);
		goto out_plan;
	}
	if (vg_runas_drop(user, err, sizeof(err)) < 0) {
		vg_err("%s", err);
		goto out_plan;
	}
	if (automatic)
		vg_info("started as root without user: in the configuration: running as user '%s'",
			user);
	else if (!user && !policy->cfg.user && geteuid() == 0)
		vg_warn("running as root: no user: in the configuration and no user '%s' to switch "
			"to (create it with systemd-sysusers, or set user: \"\" to silence this)",
			VIGIL_DEFAULT_USER);
	/* After the drop, like the cache: the file belongs to the user that reopens it. */
	if (vg_suspect_log_new(policy->cfg.suspicious_log, &d.suspect) < 0)
		goto out_plan;
	if (policy->cfg.query_log && *policy->cfg.query_log &&
	    vg_querylog_new(policy->cfg.query_log, policy->cfg.query_log_rate, &d.qlog) < 0)
		goto out_plan;
	if (policy->cfg.cache_dir && *policy->cfg.cache_dir) {
		struct vg_cache_opts co;
		vg_cache_opts_default(&co);
		vg_cache_opts_from_config(&co, &policy->cfg);
		co.maxreaders = (unsigned)d.n_workers * 2 + 16;
		int rc = vg_cache_open(&co, &d.cache, err, sizeof(err));
		if (rc < 0) {
			vg_err("cache %s: %s", policy->cfg.cache_dir, err);
			goto out_plan;
		}
		if ((rc = vg_cache_start_writer(d.cache)) < 0) {
			vg_err("cache writer: %s", vg_strerror(rc));
			goto out_cache;
		}
	}

	uv_signal_t sigs[3];
	const int signums[3] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		uv_signal_init(&d.loop, &sigs[i]);
		sigs[i].data = &d;
		uv_signal_start(&sigs[i], on_signal, signums[i]);
	}

	d.workers = calloc((size_t)d.n_workers, sizeof(*d.workers));
	if (!d.workers) {
		vg_err("out of memory");
		goto out_loop;
	}
	int started = 0;
	for (int i = 0; i < d.n_workers; i++) {
		d.workers[i].id = i;
		d.workers[i].d = &d;
		int rc =
		    vg_worker_start(&d.workers[i], policy, plan + (size_t)i * n_listen, n_listen);
		if (rc < 0) {
			vg_err("worker %d: %s", i, vg_strerror(rc));
			break;
		}
		started++;
	}
	free(plan);
	plan = NULL;
	bool serving = started == d.n_workers;
	if (serving && d.http && vg_http_start(d.http, &d, err, sizeof(err)) < 0) {
		vg_err("%s", err);
		serving = false; /* stop the workers, exit 1 */
	}
	if (serving) {
		char as[128];
		for (size_t i = 0; i < n_listen; i++)
			vg_info("listening on %s (udp, tcp)",
				addr_str(&policy->cfg.listen[i], as, sizeof(as)));
		vg_info("vigild %s started with %d workers", VIGIL_VERSION, d.n_workers);
		vg_notify("READY=1\nSTATUS=serving with %d workers\nMAINPID=%ld", d.n_workers,
			  (long)getpid());
		if (ready_fd >= 0) {
			if (write(ready_fd, "k", 1) != 1)
				vg_warn("cannot report readiness: %s", strerror(errno));
			close(ready_fd);
			ready_fd = -1;
		}
		uv_run(&d.loop, UV_RUN_DEFAULT);
		vg_notify("STOPPING=1");
		status = 0;
	}
	for (int i = 0; i < started; i++)
		vg_worker_post_stop(&d.workers[i]);
	for (int i = 0; i < started; i++)
		vg_worker_join(&d.workers[i]);
	/* the HTTP threads read the workers' counters: stopped before they are freed */
	vg_http_stop(d.http);
	d.http = NULL;
	vg_stats_log(&d);
	free(d.workers);
out_loop:
	for (int i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&sigs[i], NULL);
	uv_run(&d.loop, UV_RUN_NOWAIT);
out_cache:
	vg_cache_close(d.cache);
out_plan:
	vg_control_close(&d);
	vg_http_stop(d.http); /* bound but not started */
	vg_querylog_close(d.qlog);
	vg_suspect_log_close(d.suspect);
	uv_run(&d.loop, UV_RUN_NOWAIT);
	uv_loop_close(&d.loop);
	free(plan);
	vg_policy_unref(d.policy);
	vg_pending_free(d.pending);
	if (status == 0)
		vg_info("stopped");
	free(abs_path);
	return status;
}
