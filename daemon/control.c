/* The control socket (main thread): a Unix stream socket taking one command line per
 * connection and answering with text, then closing. Used by vigilctl. Commands: status, stats,
 * reload, log-reopen, stop, flush, flush-name NAME [TYPE], flush-zone NAME, flush-negative,
 * flush-suspicious, dump. The first line of an answer is "ok ..." or "error: ...". Only root,
 * vigild's own user and members of control-group may use it (checked on the peer's credentials). */
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vigil/cache.h>
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil_build.h>
#include "daemon.h"
#include "suspect.h"

#define CMD_MAX 1024

struct vg_control {
	uv_pipe_t server;
	struct vg_daemon *d;
	char *path;
	bool have_group; /* control-group, read at start like control-socket */
	gid_t group;
	char group_name[64];
};

struct ctl_conn {
	uv_pipe_t h;
	struct vg_control *ctl;
	char buf[CMD_MAX];
	size_t len;
	bool answered;
	bool stop_after;
	bool refused; /* the peer may not control vigild: its command is read, then refused */
	struct ucred peer;
};

struct ctl_write {
	uv_write_t req;
	struct ctl_conn *c;
	char *text;
};

static void on_conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_written(uv_write_t *req, int status)
{
	struct ctl_write *cw = (struct ctl_write *)req;
	struct ctl_conn *c = cw->c;
	free(cw->text);
	free(cw);
	if (c->stop_after)
		uv_stop(&c->ctl->d->loop);
	uv_close((uv_handle_t *)&c->h, on_conn_closed);
}

/* Sends `text` (taken) and closes the connection once written. */
static void reply(struct ctl_conn *c, char *text)
{
	struct ctl_write *cw = malloc(sizeof(*cw));
	if (!cw || !text) {
		free(cw);
		free(text);
		uv_close((uv_handle_t *)&c->h, on_conn_closed);
		return;
	}
	cw->c = c;
	cw->text = text;
	uv_buf_t b = uv_buf_init(text, (unsigned)strlen(text));
	if (uv_write(&cw->req, (uv_stream_t *)&c->h, &b, 1, on_written) < 0) {
		free(text);
		free(cw);
		uv_close((uv_handle_t *)&c->h, on_conn_closed);
	}
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Runs a command that writes a multi-line reply; returns it as a heap string (NULL on OOM). */
static char *reply_of(struct vg_daemon *d, void (*cmd)(struct vg_daemon *, FILE *))
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	if (!f)
		return NULL;
	cmd(d, f);
	fclose(f);
	return s;
}

static void cmd_status(struct vg_daemon *d, FILE *f)
{
	fprintf(f, "ok vigild %s\n", VIGIL_VERSION);
	fprintf(f, "uptime: %ld s\n", (long)(time(NULL) - d->started_at));
	fprintf(f, "workers: %d\n", d->n_workers);
	fprintf(f, "config: %s\n", d->config_path ? d->config_path : "(built-in defaults)");
	for (size_t i = 0; i < d->policy->cfg.n_listen; i++) {
		char as[128];
		fprintf(f, "listen: %s\n",
			vg_sockaddr_str(&d->policy->cfg.listen[i], as, sizeof(as)));
	}
	fprintf(f, "cache: %s\n", d->cache ? d->policy->cfg.cache_dir : "none");
}

static void cmd_stats(struct vg_daemon *d, FILE *f)
{
	fprintf(f, "ok\n");
#define SUM(field)                                                                                 \
	do {                                                                                       \
		uint64_t t = 0;                                                                    \
		for (int i = 0; i < d->n_workers; i++)                                             \
			t += atomic_load_explicit(&d->workers[i].stats.field,                      \
						  memory_order_relaxed);                           \
		fprintf(f, "%s: %lu\n", #field, (unsigned long)t);                                 \
	} while (0)
	SUM(udp_queries);
	SUM(tcp_queries);
	SUM(answers);
	SUM(local);
	SUM(cached);
	SUM(prefetch);
	SUM(resolved);
	SUM(servfail);
	SUM(any_minimal);
	SUM(truncated);
	SUM(dropped);
	SUM(refused_acl);
	SUM(ratelimited);
	SUM(formerr);
	SUM(notimp);
	SUM(badvers);
	SUM(refused);
	SUM(tcp_accepted);
	SUM(tcp_idle_closed);
	SUM(tcp_evicted);
	SUM(tcp_refused);
	SUM(tcp_bad_frame);
	SUM(send_errors);
	SUM(over_max_requests);
	SUM(over_max_pending);
	SUM(late_discarded);
	SUM(upstream_socket_cap);
#undef SUM
	for (int r = 0; r < VG_SUSPECT_N_REASONS; r++)
		fprintf(f, "suspect_%s: %lu\n", vg_suspect_reason_name((enum vg_suspect_reason)r),
			(unsigned long)vg_suspect_log_count(d->suspect, (enum vg_suspect_reason)r));
	struct vg_cache_stats cs;
	if (d->cache && vg_cache_stats(d->cache, &cs) == 0) {
		fprintf(f, "cache_rrsets: %lu\ncache_negatives: %lu\ncache_answers: %lu\n",
			(unsigned long)cs.rrsets, (unsigned long)cs.negatives,
			(unsigned long)cs.answers);
		fprintf(f, "cache_map_size: %lu\ncache_used_bytes: %lu\ncache_evicted: %lu\n",
			(unsigned long)cs.map_size, (unsigned long)cs.used_bytes,
			(unsigned long)cs.evicted);
	}
}

static void cmd_dump(struct vg_daemon *d, FILE *f)
{
	fprintf(f, "ok\n");
	int rc = vg_cache_dump(d->cache, f, (uint32_t)time(NULL));
	if (rc < 0)
		fprintf(f, "error: %s\n", vg_strerror(rc));
}

static char *done(int rc)
{
	return rc < 0 ? fmt("error: %s\n", vg_strerror(rc)) : fmt("ok\n");
}

static char *run_command(struct ctl_conn *c, char *line)
{
	struct vg_daemon *d = c->ctl->d;
	char *argv[4] = {NULL};
	int argc = 0;
	for (char *t = strtok(line, " \t\r"); t && argc < 4; t = strtok(NULL, " \t\r"))
		argv[argc++] = t;
	if (argc == 0)
		return fmt("error: empty command\n");
	const char *cmd = argv[0];
	if (!strcmp(cmd, "status"))
		return reply_of(d, cmd_status);
	if (!strcmp(cmd, "stats"))
		return reply_of(d, cmd_stats);
	if (!strcmp(cmd, "reload")) {
		char err[512];
		return vg_daemon_reload(d, err, sizeof(err)) < 0 ? fmt("error: %s\n", err)
								 : fmt("ok reloaded\n");
	}
	if (!strcmp(cmd, "log-reopen")) {
		if (vg_suspect_log_reopen(d->suspect) < 0)
			return fmt("error: vigild started without suspicious-log\n");
		return fmt("ok reopening the suspicious-log\n");
	}
	if (!strcmp(cmd, "stop")) {
		c->stop_after = true;
		vg_info("stop requested on the control socket");
		return fmt("ok stopping\n");
	}
	if (!d->cache && !strncmp(cmd, "flush", 5))
		return fmt("error: no cache\n");
	if (!d->cache && !strcmp(cmd, "dump"))
		return fmt("error: no cache\n");
	if (!strcmp(cmd, "flush"))
		return done(vg_cache_flush_all(d->cache));
	if (!strcmp(cmd, "flush-negative"))
		return done(vg_cache_flush_negative(d->cache));
	if (!strcmp(cmd, "flush-suspicious"))
		return done(vg_cache_flush_suspicious(d->cache));
	if (!strcmp(cmd, "dump"))
		return reply_of(d, cmd_dump);
	if (!strcmp(cmd, "flush-name") || !strcmp(cmd, "flush-zone")) {
		uint8_t name[VG_NAME_MAX];
		if (argc < 2 || vg_name_from_text(argv[1], name) <= 0)
			return fmt("error: usage: %s NAME%s\n", cmd,
				   cmd[6] == 'n' ? " [TYPE]" : "");
		if (cmd[6] == 'z')
			return done(vg_cache_flush_zone(d->cache, name));
		uint16_t type = 0;
		if (argc >= 3 && !(type = ldns_get_rr_type_by_name(argv[2])))
			return fmt("error: unknown type '%s'\n", argv[2]);
		return done(vg_cache_flush_name(d->cache, name, type));
	}
	return fmt("error: unknown command '%s' (status, stats, reload, log-reopen, stop, flush, "
		   "flush-name, "
		   "flush-zone, flush-negative, flush-suspicious, dump)\n",
		   cmd);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_conn *c = h->data;
	buf->base = c->buf + c->len;
	buf->len = sizeof(c->buf) - 1 - c->len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *c = s->data;
	if (c->answered)
		return;
	if (nread < 0) {
		if (c->len == 0) {
			uv_close((uv_handle_t *)&c->h, on_conn_closed);
			return;
		}
		nread = 0; /* a command without newline, then EOF: take it */
	} else {
		c->len += (size_t)nread;
		c->buf[c->len] = 0;
		if (!strchr(c->buf, '\n') && c->len < sizeof(c->buf) - 1)
			return;
	}
	c->buf[c->len] = 0;
	char *nl = strchr(c->buf, '\n');
	if (nl)
		*nl = 0;
	c->answered = true;
	uv_read_stop(s);
	if (c->refused) {
		vg_warn("control socket: refused '%.64s' from uid %u (pid %d)", c->buf,
			(unsigned)c->peer.uid, (int)c->peer.pid);
		reply(c, fmt("error: permission denied: uid %u is not root, vigild's user or a "
			     "member of control-group%s%s\n",
			     (unsigned)c->peer.uid, c->ctl->have_group ? " " : " (none set)",
			     c->ctl->have_group ? c->ctl->group_name : ""));
		return;
	}
	reply(c, run_command(c, c->buf));
}

static bool peer_in_group(int fd, const struct ucred *cr, gid_t group)
{
	if (cr->gid == group)
		return true;
	/* the peer's supplementary groups as they were at connect() */
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false; /* ERANGE: more than 256 groups; refused, which is the safe side */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == group)
			return true;
	return false;
}

/* Root, the user vigild runs as (after dropping privileges), or a member of control-group. The
 * kernel fills in SO_PEERCRED at connect(): a client cannot claim someone else's. */
static bool peer_allowed(const struct vg_control *ctl, int fd, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) < 0 || len != sizeof(*cr)) {
		memset(cr, 0, sizeof(*cr));
		cr->uid = (uid_t)-1;
		return false;
	}
	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	return ctl->have_group && peer_in_group(fd, cr, ctl->group);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct vg_control *ctl = server->data;
	if (status < 0)
		return;
	struct ctl_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->ctl = ctl;
	uv_pipe_init(&ctl->d->loop, &c->h, 0);
	c->h.data = c;
	uv_os_fd_t fd;
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0 ||
	    uv_fileno((uv_handle_t *)&c->h, &fd) < 0 ||
	    uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) < 0) {
		uv_close((uv_handle_t *)&c->h, on_conn_closed);
		return;
	}
	c->refused = !peer_allowed(ctl, fd, &c->peer);
}

/* Gives the bound socket file to uid/gid. Not fchown(sockfd): on a socket fd that changes the
 * socket's own inode, not the file bind() created. Not chown(path) either: if the path was
 * swapped for a symlink since bind(), that would hand the link's target to vigild's user. The
 * file is opened without following a link, checked to be a socket, and changed through that fd. */
static int chown_socket_file(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control socket %s: replaced by something else after bind",
			 path);
		rc = -EEXIST;
	} else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket %s: chown: %s", path, strerror(errno));
	}
	close(fd);
	return rc;
}

int vg_control_start(struct vg_daemon *d, const char *path, uid_t uid, gid_t gid, char *err,
		     size_t errlen)
{
	struct vg_control *ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(path))) {
		free(ctl);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ctl->d = d;
	uv_pipe_init(&d->loop, &ctl->server, 0);
	ctl->server.data = ctl;
	const struct vg_config *cfg = &d->policy->cfg;
	if (cfg->control_group) {
		ctl->have_group = true;
		ctl->group = (gid_t)cfg->control_gid;
		snprintf(ctl->group_name, sizeof(ctl->group_name), "%s", cfg->control_group);
		gid = ctl->group; /* members must be able to connect: the file's group is theirs */
	}
	struct stat st;
	int rc = 0;
	if (lstat(path, &st) == 0) {
		if (S_ISSOCK(st.st_mode)) {
			unlink(path); /* left by a vigild that did not stop cleanly */
		} else {
			snprintf(err, errlen,
				 "control socket %s: exists and is not a socket (left as it is)",
				 path);
			rc = -EEXIST;
		}
	}
	/* 0660: the owner and the file's group may connect; peer_allowed decides. */
	mode_t old = umask(0117);
	if (rc == 0 && (rc = uv_pipe_bind(&ctl->server, path)) < 0)
		snprintf(err, errlen, "control socket %s: %s", path, uv_strerror(rc));
	umask(old);
	if (rc == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1))
		rc = chown_socket_file(path, uid, gid, err, errlen);
	if (rc == 0 && (rc = uv_listen((uv_stream_t *)&ctl->server, 16, on_connection)) < 0)
		snprintf(err, errlen, "control socket %s: %s", path, uv_strerror(rc));
	if (rc < 0) {
		uv_close((uv_handle_t *)&ctl->server, NULL);
		free(ctl->path);
		ctl->path = NULL;
		d->control = ctl; /* freed by vg_control_close after the handle closed */
		return rc;
	}
	d->control = ctl;
	return 0;
}

void vg_control_close(struct vg_daemon *d)
{
	struct vg_control *ctl = d->control;
	if (!ctl)
		return;
	if (ctl->path) {
		uv_close((uv_handle_t *)&ctl->server, NULL);
		unlink(ctl->path);
		free(ctl->path);
	}
	uv_run(&d->loop, UV_RUN_NOWAIT); /* let the close callbacks run */
	free(ctl);
	d->control = NULL;
}
