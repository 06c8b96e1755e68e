/* vigilctl: sends one command to vigild's control socket and prints the answer. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vigil/config.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: vigilctl [-s SOCKET | -c CONFIG] COMMAND [ARGS]\n"
		   "  -s SOCKET  vigild's control socket\n"
		   "  -c CONFIG  read the socket path (control-socket:) from vigild's config\n"
		   "commands:\n"
		   "  status                  version, uptime, workers, listeners\n"
		   "  stats                   query and cache counters\n"
		   "  reload                  re-read the configuration (as SIGHUP)\n"
		   "  log-reopen              reopen the suspicious-log (after logrotate)\n"
		   "  stop                    graceful stop (as SIGTERM)\n"
		   "  flush                   empty the cache\n"
		   "  flush-name NAME [TYPE]  forget one name (all types, or one)\n"
		   "  flush-zone NAME         forget a name and everything below it\n"
		   "  flush-negative          forget NXDOMAIN/NODATA entries\n"
		   "  flush-suspicious        forget entries the validator flagged\n"
		   "  dump                    print the cache as text\n");
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *conf = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "+s:c:h")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	struct vg_config cfg;
	bool have_cfg = false;
	if (!sock && conf) {
		char err[512];
		if (vg_config_defaults(&cfg) < 0 ||
		    vg_config_load(&cfg, conf, err, sizeof(err)) < 0) {
			fprintf(stderr, "vigilctl: %s\n", err);
			return 1;
		}
		have_cfg = true;
		sock = cfg.control_socket;
	}
	if (!sock || !*sock) {
		fprintf(stderr,
			"vigilctl: no control socket (use -s, or -c with a config that sets "
			"control-socket)\n");
		return 1;
	}
	char line[1024] = "";
	for (int i = optind; i < argc; i++) {
		if (strlen(line) + strlen(argv[i]) + 2 >= sizeof(line)) {
			fprintf(stderr, "vigilctl: command too long\n");
			return 2;
		}
		strcat(line, argv[i]);
		strcat(line, i + 1 < argc ? " " : "\n");
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vigilctl: socket path too long: %s\n", sock);
		return 1;
	}
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EACCES)
			fprintf(stderr,
				"vigilctl: permission denied on %s: only root, vigild's user and "
				"members of its control-group may use it\n",
				sock);
		else
			fprintf(stderr, "vigilctl: cannot connect to %s: %s\n", sock,
				strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN); /* a refusal closes the socket: report, do not die */
	if (have_cfg)
		vg_config_free(&cfg);
	size_t len = strlen(line);
	if (write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "vigilctl: write: %s\n", strerror(errno));
		return 1;
	}
	char buf[65536];
	ssize_t n;
	bool first = true, ok = false;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first)
			ok = n >= 2 && !strncmp(buf, "ok", 2);
		first = false;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return ok ? 0 : 1;
}
