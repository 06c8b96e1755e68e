/* vigilctl: sends one command to vigild's control socket and prints the answer, as text or (with
 * --json) as the JSON object vigild sends. Exit codes: see EXIT_* and usage(). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vigil/config.h>

enum {
	EXIT_OK = 0,	     /* vigild answered ok */
	EXIT_REFUSED = 1,    /* vigild answered with an error (bad config on reload, unknown
				command, not allowed to control it...) */
	EXIT_USAGE = 2,	     /* bad options, no command, no socket path, -c config unreadable */
	EXIT_NO_CONNECT = 3, /* no socket at the path, nobody listening, or no answer */
	EXIT_DENIED = 4,     /* the socket file's mode keeps us out (EACCES) */
};

static bool json_mode;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigilctl [--json] [-s SOCKET | -c CONFIG] COMMAND [ARGS]\n"
		"  -s SOCKET  vigild's control socket\n"
		"  -c CONFIG  read the socket path (control-socket:) from vigild's config\n"
		"  -j, --json print vigild's answer as one JSON object (\"ok\": true or false)\n"
		"commands:\n"
		"  status                  version, uptime, workers, listeners, cache, validation,\n"
		"                          trust anchors\n"
		"  stats                   every counter (front end, resolver, upstream, cache) and the\n"
		"                          latency histograms\n"
		"  reload                  re-read the configuration (as SIGHUP)\n"
		"  log-reopen              reopen vigild's log files (after rotating them)\n"
		"  verbosity [LEVEL]       show or set the log level: error, warn, info, debug\n"
		"                          (until the next reload, which applies log-level:)\n"
		"  stop                    graceful stop (as SIGTERM)\n"
		"  flush                   empty the cache\n"
		"  flush-name NAME [TYPE]  forget one name (all types, or one)\n"
		"  flush-zone NAME         forget a name and everything below it\n"
		"  flush-negative          forget NXDOMAIN/NODATA entries\n"
		"  flush-suspicious        forget entries the validator flagged\n"
		"  dump                    print the cache as text (rdata as dig prints it)\n"
		"  lookup NAME [TYPE]      what the cache holds for NAME: TTL left, rank,\n"
		"                          DNSSEC status, suspect flag, where it came from\n"
		"exit status:\n"
		"  0  ok\n"
		"  1  vigild refused the command (its error is printed)\n"
		"  2  usage: bad option, no command, no socket path, unreadable config\n"
		"  3  cannot connect: no socket at the path, vigild not running, no answer\n"
		"  4  permission denied on the socket file\n");
}

/* Reports a local failure on stderr (and as JSON on stdout with --json); returns code. */
static int fail(int code, const char *f, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *f, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	fprintf(stderr, "vigilctl: %s\n", msg);
	if (json_mode) {
		json_t *o = json_pack("{s:b,s:s,s:i}", "ok", 0, "error", msg, "exit", code);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	}
	return code;
}

static int connect_to(const char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sa.sun_path))
		return fail(EXIT_USAGE, "socket path too long: %s", sock);
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(EXIT_NO_CONNECT, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	int e = errno;
	close(fd);
	if (e == EACCES || e == EPERM)
		return -fail(EXIT_DENIED,
			     "permission denied on %s: only root, vigild's user and members of its "
			     "control-group may use it",
			     sock);
	if (e == ENOENT)
		return -fail(EXIT_NO_CONNECT,
			     "no control socket at %s: is vigild running, with `control-socket: "
			     "%s` in its config?",
			     sock, sock);
	if (e == ECONNREFUSED)
		return -fail(EXIT_NO_CONNECT,
			     "nobody listens on %s: vigild is not running (a stale socket file)",
			     sock);
	return -fail(EXIT_NO_CONNECT, "cannot connect to %s: %s", sock, strerror(e));
}

/* Reads vigild's whole answer (it closes the connection after it). NULL on error. */
static char *read_all(int fd)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

/* --json: vigild's object, pretty-printed; the exit status follows its "ok". */
static int print_json(const char *answer)
{
	json_error_t je;
	json_t *o = json_loads(answer, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return fail(EXIT_NO_CONNECT, "vigild's answer is not JSON (%s): %.80s", je.text,
			    answer);
	}
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	bool ok = json_is_true(json_object_get(o, "ok"));
	const char *why = json_string_value(json_object_get(o, "error"));
	if (!ok)
		fprintf(stderr, "vigilctl: %s\n", why ? why : "refused");
	json_decref(o);
	return ok ? EXIT_OK : EXIT_REFUSED;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *sock = NULL, *conf = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "+s:c:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'j':
			json_mode = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	char line[1024] = "";
	if (json_mode)
		strcat(line, "json ");
	for (int i = optind; i < argc; i++) {
		if (strlen(line) + strlen(argv[i]) + 2 >= sizeof(line))
			return fail(EXIT_USAGE, "command too long");
		strcat(line, argv[i]);
		strcat(line, i + 1 < argc ? " " : "\n");
	}
	struct vg_config cfg;
	bool have_cfg = false;
	if (!sock && conf) {
		char err[512];
		if (vg_config_defaults(&cfg) < 0 ||
		    vg_config_load(&cfg, conf, err, sizeof(err)) < 0)
			return fail(EXIT_USAGE, "%s", err);
		have_cfg = true;
		sock = cfg.control_socket;
	}
	if (!sock || !*sock)
		return fail(EXIT_USAGE, "no control socket: use -s PATH, or -c with a config that "
					"sets control-socket: PATH");
	int fd = connect_to(sock);
	if (have_cfg)
		vg_config_free(&cfg);
	if (fd < 0)
		return -fd;
	signal(SIGPIPE, SIG_IGN); /* a refusal closes the socket: report, do not die */
	size_t len = strlen(line);
	if (write(fd, line, len) != (ssize_t)len) {
		int e = errno;
		close(fd);
		return fail(EXIT_NO_CONNECT, "write: %s", strerror(e));
	}
	char *answer = read_all(fd);
	close(fd);
	if (!answer || !*answer) {
		free(answer);
		return fail(EXIT_NO_CONNECT, "vigild closed the connection without an answer");
	}
	int rc;
	if (json_mode) {
		rc = print_json(answer);
	} else {
		fputs(answer, stdout);
		rc = !strncmp(answer, "ok", 2) ? EXIT_OK : EXIT_REFUSED;
	}
	free(answer);
	return rc;
}
