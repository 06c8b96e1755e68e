/* The control socket (main thread): a Unix stream socket taking one command line per
 * connection and answering with text, then closing. Used by vigilctl. Commands: status, stats,
 * reload, stop, log-reopen, verbosity [LEVEL], flush, flush-name NAME [TYPE], flush-zone NAME,
 * flush-negative, flush-suspicious, dump, lookup NAME [TYPE]. The first line of a text answer is
 * "ok ..." or "error: ..."; a command line starting with "json" gets one JSON object instead, with
 * "ok" true or false and "error" when false. Only root, vigild's own user and members of
 * control-group may use it (checked on the peer's credentials). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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
#include <vigil/roothints.h>
#include <vigil_build.h>
#include "daemon.h"

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

/* A command's result: {"ok": true, ...fields} or {"ok": false, "error": "..."}. It is sent as
 * one JSON line (the command line began with "json") or as text: "ok[ MESSAGE]" or "error: ..."
 * on the first line, then the command's fields. */
static json_t *ok_msg(const char *message)
{
	json_t *o = json_pack("{s:b}", "ok", 1);
	if (o && message)
		json_object_set_new(o, "message", json_string(message));
	return o;
}

static json_t *err_msg(const char *f, ...) __attribute__((format(printf, 1, 2)));
static json_t *err_msg(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	json_t *o = s ? json_pack("{s:b,s:s}", "ok", 0, "error", s) : NULL;
	free(s);
	return o;
}

static json_t *done(int rc)
{
	return rc < 0 ? err_msg("%s", vg_strerror(rc)) : ok_msg(NULL);
}

/* Adds each DS or DNSKEY record of `text` (zone-file lines) to `list` as {owner, type, key_tag,
 * algorithm}; other lines (comments, blank lines, $-directives) are passed over. */
static void add_anchors(json_t *list, const char *anchors)
{
	char *text = strdup(anchors);
	for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK || !rr)
			continue; /* comments, blank lines, $-directives */
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_DS || t == LDNS_RR_TYPE_DNSKEY) {
			char *owner = ldns_rdf2str(ldns_rr_owner(rr));
			json_int_t tag = t == LDNS_RR_TYPE_DS
					     ? ldns_rdf2native_int16(ldns_rr_rdf(rr, 0))
					     : ldns_calc_keytag(rr);
			json_int_t alg =
			    ldns_rdf2native_int8(ldns_rr_rdf(rr, t == LDNS_RR_TYPE_DS ? 1 : 2));
			json_array_append_new(
			    list, json_pack("{s:s,s:s,s:I,s:I}", "owner", owner ? owner : "?",
					    "type", t == LDNS_RR_TYPE_DS ? "DS" : "DNSKEY",
					    "key_tag", tag, "algorithm", alg));
			free(owner);
		}
		ldns_rr_free(rr);
	}
	free(text);
}

/* The root trust anchors vigild validates with, as its configuration loaded them: the files of
 * trust-anchor-file (their names joined as "source"), or the built-in set. */
static json_t *trust_anchors(const struct vg_config *cfg)
{
	json_t *list = json_array();
	char *src = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&src, &len);
	for (size_t i = 0; f && i < cfg->n_trust_anchor_files; i++) {
		fprintf(f, "%s%s", i ? ", " : "", cfg->trust_anchor_files[i]);
		if (cfg->trust_anchor_texts && cfg->trust_anchor_texts[i])
			add_anchors(list, cfg->trust_anchor_texts[i]);
	}
	if (f)
		fclose(f);
	if (cfg->n_trust_anchor_files == 0)
		add_anchors(list, vg_builtin_root_ds);
	json_t *o = json_pack("{s:s,s:o}", "source",
			      cfg->n_trust_anchor_files && src ? src : "built-in (dns-root-data)",
			      "anchors", list);
	free(src);
	return o;
}

static json_t *cmd_status(struct vg_daemon *d)
{
	const struct vg_config *cfg = &d->policy->cfg;
	json_t *o =
	    json_pack("{s:b,s:s,s:I,s:i,s:s?,s:s}", "ok", 1, "version", VIGIL_VERSION, "uptime",
		      (json_int_t)(time(NULL) - d->started_at), "workers", d->n_workers, "config",
		      d->config_path, "validation", cfg->dnssec ? "on" : "off");
	json_t *listen = json_array();
	for (size_t i = 0; i < cfg->n_listen; i++) {
		char as[128];
		json_array_append_new(
		    listen, json_string(vg_sockaddr_str(&cfg->listen[i], as, sizeof(as))));
	}
	json_object_set_new(o, "listen", listen);
	struct vg_cache_stats cs;
	if (d->cache && vg_cache_stats(d->cache, &cs) == 0)
		json_object_set_new(
		    o, "cache",
		    json_pack("{s:s,s:I,s:I,s:I,s:I}", "path", cfg->cache_dir, "used_bytes",
			      (json_int_t)cs.used_bytes, "map_size", (json_int_t)cs.map_size,
			      "rrsets", (json_int_t)cs.rrsets, "answers", (json_int_t)cs.answers));
	else
		json_object_set_new(o, "cache", json_null());
	json_object_set_new(o, "log_level", json_string(vg_log_level_name(vg_log_get_level())));
	json_object_set_new(o, "trust_anchors", trust_anchors(cfg));
	return o;
}

static void text_status(const json_t *o, FILE *f)
{
	fprintf(f, "ok vigild %s\n", json_string_value(json_object_get(o, "version")));
	fprintf(f, "uptime: %" JSON_INTEGER_FORMAT " s\n",
		json_integer_value(json_object_get(o, "uptime")));
	fprintf(f, "workers: %" JSON_INTEGER_FORMAT "\n",
		json_integer_value(json_object_get(o, "workers")));
	const char *conf = json_string_value(json_object_get(o, "config"));
	fprintf(f, "config: %s\n", conf ? conf : "(built-in defaults)");
	const json_t *listen = json_object_get(o, "listen");
	for (size_t i = 0; i < json_array_size(listen); i++)
		fprintf(f, "listen: %s\n", json_string_value(json_array_get(listen, i)));
	json_t *c = json_object_get(o, "cache");
	if (json_is_object(c))
		fprintf(f,
			"cache: %s\ncache-use: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
			" bytes\n",
			json_string_value(json_object_get(c, "path")),
			json_integer_value(json_object_get(c, "used_bytes")),
			json_integer_value(json_object_get(c, "map_size")));
	else
		fprintf(f, "cache: none\n");
	fprintf(f, "validation: %s\n", json_string_value(json_object_get(o, "validation")));
	const json_t *ta = json_object_get(o, "trust_anchors");
	const json_t *anchors = json_object_get(ta, "anchors");
	fprintf(f, "trust-anchors: %s", json_string_value(json_object_get(ta, "source")));
	for (size_t i = 0; i < json_array_size(anchors); i++) {
		const json_t *a = json_array_get(anchors, i);
		fprintf(f, "%s %s %s %" JSON_INTEGER_FORMAT " (algorithm %" JSON_INTEGER_FORMAT ")",
			i ? "," : ":", json_string_value(json_object_get(a, "owner")),
			json_string_value(json_object_get(a, "type")),
			json_integer_value(json_object_get(a, "key_tag")),
			json_integer_value(json_object_get(a, "algorithm")));
	}
	if (json_object_get(ta, "error"))
		fprintf(f, " (unreadable: %s)", json_string_value(json_object_get(ta, "error")));
	fputc('\n', f);
	fprintf(f, "log-level: %s\n", json_string_value(json_object_get(o, "log_level")));
}

/* vg_stats_json: every counter in the order of the lists in vigil/stats.h, and the histograms. */
static json_t *cmd_stats(struct vg_daemon *d)
{
	return vg_stats_json(d);
}

static void text_stats(const json_t *o, FILE *f)
{
	fprintf(f, "ok\n");
	json_t *st = json_object_get(o, "stats");
	for (void *it = json_object_iter(st); it; it = json_object_iter_next(st, it))
		fprintf(f, "%s: %" JSON_INTEGER_FORMAT "\n", json_object_iter_key(it),
			json_integer_value(json_object_iter_value(it)));
	/* histograms: NAME_count, NAME_sum_seconds, then NAME_le_BOUND (cumulative) */
	json_t *hs = json_object_get(o, "histograms");
	for (void *it = json_object_iter(hs); it; it = json_object_iter_next(hs, it)) {
		const char *name = json_object_iter_key(it);
		json_t *h = json_object_iter_value(it);
		fprintf(f, "%s_count: %" JSON_INTEGER_FORMAT "\n", name,
			json_integer_value(json_object_get(h, "count")));
		fprintf(f, "%s_sum_seconds: %.6f\n", name,
			json_real_value(json_object_get(h, "sum_seconds")));
		json_t *le = json_object_get(h, "le");
		for (void *b = json_object_iter(le); b; b = json_object_iter_next(le, b))
			fprintf(f, "%s_le_%s: %" JSON_INTEGER_FORMAT "\n", name,
				json_object_iter_key(b),
				json_integer_value(json_object_iter_value(b)));
	}
}

/* Cache rdata in ldns' presentation format (what dig prints), for dump and lookup. */
static int rdata_text(void *fp, uint16_t type, const uint8_t *rd, size_t len, void *arg)
{
	(void)arg;
	uint8_t wire[11 + 65535];
	if (len > 65535)
		return -1;
	wire[0] = 0; /* owner: the root; only the rdata is printed */
	vg_put_u16(wire + 1, type);
	vg_put_u16(wire + 3, LDNS_RR_CLASS_IN);
	vg_put_u32(wire + 5, 0);
	vg_put_u16(wire + 9, (uint16_t)len);
	memcpy(wire + 11, rd, len);
	ldns_rr *rr = NULL;
	size_t pos = 0;
	if (ldns_wire2rr(&rr, wire, 11 + len, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
		return -1;
	ldns_buffer *b = ldns_buffer_new(256);
	int rc = b ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < ldns_rr_rd_count(rr); i++) {
		if (i)
			ldns_buffer_printf(b, " ");
		if (ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, i)) != LDNS_STATUS_OK)
			rc = -1;
	}
	if (rc == 0 && ldns_buffer_status_ok(b))
		fwrite(ldns_buffer_begin(b), 1, ldns_buffer_position(b), fp);
	else
		rc = -1;
	ldns_buffer_free(b);
	ldns_rr_free(rr);
	return rc;
}

/* dump (only == NULL) or lookup: the cache's text lines in "dump" or "lookup". */
static json_t *cmd_dump(struct vg_daemon *d, const char *key, const uint8_t *only, uint16_t type)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	if (!f)
		return NULL;
	int rc =
	    vg_cache_dump_select(d->cache, f, (uint32_t)time(NULL), only, type, rdata_text, NULL);
	fclose(f);
	json_t *o;
	if (rc == VG_ENOTFOUND)
		o = json_pack("{s:b,s:s,s:s}", "ok", 1, key, "", "message", "not in the cache");
	else if (rc < 0)
		o = err_msg("%s", vg_strerror(rc));
	else
		o = json_pack("{s:b,s:s}", "ok", 1, key, s);
	free(s);
	return o;
}

static json_t *cmd_verbosity(int argc, char **argv)
{
	enum vg_log_level l;
	if (argc < 2)
		return ok_msg(vg_log_level_name(vg_log_get_level()));
	if (vg_log_level_parse(argv[1], &l) != 0)
		return err_msg("unknown level '%s' (error, warn, info, debug)", argv[1]);
	vg_log_set_level(l);
	vg_info("log level set to %s on the control socket", vg_log_level_name(l));
	return ok_msg(vg_log_level_name(l));
}

#define COMMANDS                                                                                   \
	"status, stats, reload, stop, log-reopen, verbosity, flush, flush-name, flush-zone, "      \
	"flush-negative, flush-suspicious, dump, lookup"

static json_t *run_command(struct ctl_conn *c, int argc, char **argv)
{
	struct vg_daemon *d = c->ctl->d;
	if (argc == 0)
		return err_msg("empty command");
	const char *cmd = argv[0];
	char err[512];
	if (!strcmp(cmd, "status"))
		return cmd_status(d);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(d);
	if (!strcmp(cmd, "reload"))
		return vg_daemon_reload(d, err, sizeof(err)) < 0 ? err_msg("%s", err)
								 : ok_msg("reloaded");
	if (!strcmp(cmd, "log-reopen"))
		return vg_daemon_log_reopen(d, err, sizeof(err)) < 0 ? err_msg("%s", err)
								     : ok_msg("reopened");
	if (!strcmp(cmd, "verbosity"))
		return cmd_verbosity(argc, argv);
	if (!strcmp(cmd, "stop")) {
		c->stop_after = true;
		vg_info("stop requested on the control socket");
		return ok_msg("stopping");
	}
	if (!d->cache && !strncmp(cmd, "flush", 5))
		return err_msg("no cache");
	if (!d->cache && (!strcmp(cmd, "dump") || !strcmp(cmd, "lookup")))
		return err_msg("no cache");
	if (!strcmp(cmd, "flush"))
		return done(vg_cache_flush_all(d->cache));
	if (!strcmp(cmd, "flush-negative"))
		return done(vg_cache_flush_negative(d->cache));
	if (!strcmp(cmd, "flush-suspicious"))
		return done(vg_cache_flush_suspicious(d->cache));
	if (!strcmp(cmd, "dump"))
		return cmd_dump(d, "dump", NULL, 0);
	if (!strcmp(cmd, "lookup")) {
		uint8_t name[VG_NAME_MAX];
		uint16_t type = 0;
		if (argc < 2 || vg_name_from_text(argv[1], name) <= 0)
			return err_msg("usage: lookup NAME [TYPE]");
		if (argc >= 3 && !(type = ldns_get_rr_type_by_name(argv[2])))
			return err_msg("unknown type '%s'", argv[2]);
		return cmd_dump(d, "lookup", name, type);
	}
	if (!strcmp(cmd, "flush-name") || !strcmp(cmd, "flush-zone")) {
		uint8_t name[VG_NAME_MAX];
		if (argc < 2 || vg_name_from_text(argv[1], name) <= 0)
			return err_msg("usage: %s NAME%s", cmd, cmd[6] == 'n' ? " [TYPE]" : "");
		if (cmd[6] == 'z')
			return done(vg_cache_flush_zone(d->cache, name));
		uint16_t type = 0;
		if (argc >= 3 && !(type = ldns_get_rr_type_by_name(argv[2])))
			return err_msg("unknown type '%s'", argv[2]);
		return done(vg_cache_flush_name(d->cache, name, type));
	}
	return err_msg("unknown command '%s' (" COMMANDS ")", cmd);
}

/* Renders a command's result for the wire (heap string, NULL on OOM). */
static char *render(const char *cmd, json_t *o, bool json)
{
	if (!o)
		return NULL;
	char *s = NULL;
	size_t n = 0;
	if (json) {
		char *j = json_dumps(o, JSON_COMPACT);
		if (j && asprintf(&s, "%s\n", j) < 0)
			s = NULL;
		free(j);
		return s;
	}
	FILE *f = open_memstream(&s, &n);
	if (!f)
		return NULL;
	const char *msg = json_string_value(json_object_get(o, "message"));
	if (!json_is_true(json_object_get(o, "ok")))
		fprintf(f, "error: %s\n", json_string_value(json_object_get(o, "error")));
	else if (!strcmp(cmd, "status"))
		text_status(o, f);
	else if (!strcmp(cmd, "stats"))
		text_stats(o, f);
	else if (!strcmp(cmd, "dump") || !strcmp(cmd, "lookup"))
		fprintf(f, "ok%s%s\n%s", msg ? " " : "", msg ? msg : "",
			json_string_value(json_object_get(o, cmd)));
	else
		fprintf(f, "ok%s%s\n", msg ? " " : "", msg ? msg : "");
	fclose(f);
	return s;
}

/* One command line: [json] COMMAND [ARGS]. */
static char *answer(struct ctl_conn *c, char *line)
{
	char *argv[5] = {NULL};
	int argc = 0;
	for (char *t = strtok(line, " \t\r"); t && argc < 5; t = strtok(NULL, " \t\r"))
		argv[argc++] = t;
	bool json = argc > 0 && !strcmp(argv[0], "json");
	char **args = json ? argv + 1 : argv;
	int nargs = json ? argc - 1 : argc;
	json_t *o = run_command(c, nargs, args);
	char *s = render(nargs ? args[0] : "", o, json);
	json_decref(o);
	return s;
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
		json_t *o = err_msg("permission denied: uid %u is not root, vigild's user or a "
				    "member of control-group%s%s",
				    (unsigned)c->peer.uid, c->ctl->have_group ? " " : " (none set)",
				    c->ctl->have_group ? c->ctl->group_name : "");
		reply(c, render("", o, !strncmp(c->buf, "json ", 5)));
		json_decref(o);
		return;
	}
	reply(c, answer(c, c->buf));
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
