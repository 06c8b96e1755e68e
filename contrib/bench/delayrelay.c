/* A delaying IP relay between two network namespaces, for the cold-resolution benchmark
 * (contrib/bench/coldlat.sh): this kernel has no netem qdisc, so a path with round trips of a
 * chosen length is built from two TUN devices, one in each namespace, and this process copying
 * packets between them. Packets from the far side (the authorities' namespace, -b) wait `delay`
 * ms before they are written to the near side (the resolver's, -a); packets the other way go at
 * once. So every authoritative reply arrives `delay` ms late, as over a link with that RTT.
 *
 *   delayrelay -a NETNS_PATH:TUN_A -b NETNS_PATH:TUN_B -d DELAY_MS -t MAX_SECONDS
 *
 * NETNS_PATH is a network namespace file (/proc/PID/ns/net). The devices are created here and
 * live as long as this process; the caller sets their addresses and routes once both exist. The
 * process ends by itself after MAX_SECONDS (every bench loop is bounded), or on SIGTERM. At most
 * QCAP packets wait at once; more are dropped (and counted on stderr at exit). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define QCAP 4096
#define PKT_MAX 65536

struct pkt {
	uint64_t due_us;
	size_t len;
	uint8_t *data;
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Opens TUN device `name` in the namespace of file `ns` (the process returns to `home`). */
static int tun_open_in(const char *ns, const char *name, int home)
{
	int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
		fprintf(stderr, "delayrelay: namespace %s: %s\n", ns, strerror(errno));
		return -1;
	}
	close(nsfd);
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
		fprintf(stderr, "delayrelay: tun %s: %s\n", name, strerror(errno));
		return -1;
	}
	if (setns(home, CLONE_NEWNET) != 0) {
		fprintf(stderr, "delayrelay: back home: %s\n", strerror(errno));
		return -1;
	}
	return fd;
}

/* Splits "PATH:NAME" in place. */
static int split(char *arg, char **ns, char **name)
{
	char *c = strrchr(arg, ':');
	if (!c || c == arg || !c[1] || strlen(c + 1) >= IFNAMSIZ)
		return -1;
	*c = 0;
	*ns = arg;
	*name = c + 1;
	return 0;
}

int main(int argc, char **argv)
{
	char *a_ns = NULL, *a_name = NULL, *b_ns = NULL, *b_name = NULL;
	long delay_ms = -1, max_s = -1;
	int opt;
	while ((opt = getopt(argc, argv, "a:b:d:t:")) != -1) {
		if (opt == 'a' && split(optarg, &a_ns, &a_name) == 0)
			continue;
		if (opt == 'b' && split(optarg, &b_ns, &b_name) == 0)
			continue;
		if (opt == 'd' && (delay_ms = atol(optarg)) >= 0)
			continue;
		if (opt == 't' && (max_s = atol(optarg)) > 0)
			continue;
		delay_ms = -1;
		break;
	}
	if (!a_ns || !b_ns || delay_ms < 0 || max_s <= 0) {
		fprintf(stderr,
			"usage: delayrelay -a NETNS:TUN -b NETNS:TUN -d DELAY_MS -t SECONDS\n");
		return 2;
	}
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int fa = home < 0 ? -1 : tun_open_in(a_ns, a_name, home);
	int fb = fa < 0 ? -1 : tun_open_in(b_ns, b_name, home);
	if (fb < 0)
		return 1;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("ready\n");
	fflush(stdout);

	static struct pkt q[QCAP]; /* a ring: packets in arrival order, so in due order too */
	size_t head = 0, n = 0;
	unsigned long dropped = 0, relayed = 0;
	uint8_t buf[PKT_MAX];
	uint64_t end = now_us() + (uint64_t)max_s * 1000000u;
	while (!stop && now_us() < end) {
		uint64_t t = now_us();
		while (n > 0 && q[head].due_us <= t) {
			if (write(fa, q[head].data, q[head].len) > 0)
				relayed++;
			free(q[head].data);
			head = (head + 1) % QCAP;
			n--;
		}
		int timeout = 100;
		if (n > 0)
			timeout = (int)((q[head].due_us - t + 999) / 1000);
		struct pollfd p[2] = {{.fd = fa, .events = POLLIN}, {.fd = fb, .events = POLLIN}};
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < 64 && (p[0].revents & POLLIN); k++) { /* near -> far: at once */
			ssize_t len = read(fa, buf, sizeof(buf));
			if (len <= 0)
				break;
			if (write(fb, buf, (size_t)len) > 0)
				relayed++;
		}
		for (int k = 0; k < 64 && (p[1].revents & POLLIN); k++) { /* far -> near: later */
			ssize_t len = read(fb, buf, sizeof(buf));
			if (len <= 0)
				break;
			uint8_t *d = n < QCAP ? malloc((size_t)len) : NULL;
			if (!d) {
				dropped++;
				continue;
			}
			memcpy(d, buf, (size_t)len);
			q[(head + n) % QCAP] =
			    (struct pkt){now_us() + (uint64_t)delay_ms * 1000u, (size_t)len, d};
			n++;
		}
	}
	fprintf(stderr, "delayrelay: %lu packets relayed, %lu dropped\n", relayed, dropped);
	return 0;
}
