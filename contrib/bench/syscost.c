/* What one system call costs on this machine (run-all.sh prints it beside the hit-path rows: at
 * 30k qps every query is its own wake-up, and a server's CPU per query is mostly its system calls
 * and the wake-ups). Times getppid (the cheapest call there is) and epoll_wait on an empty set
 * with timeout 0 (what a libuv loop pass costs at least), each ROUNDS times over N calls; prints
 * the fastest round of each in microseconds per call, which is the least disturbed by others. */
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define N 100000
#define ROUNDS 5

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	int ep = epoll_create1(0);
	if (ep < 0) {
		perror("epoll_create1");
		return 1;
	}
	struct epoll_event ev[4];
	double best_pid = 1e9, best_ep = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now();
		for (int i = 0; i < N; i++)
			syscall(SYS_getppid);
		double t1 = now();
		for (int i = 0; i < N; i++)
			epoll_wait(ep, ev, 4, 0);
		double t2 = now();
		if ((t1 - t0) < best_pid)
			best_pid = t1 - t0;
		if ((t2 - t1) < best_ep)
			best_ep = t2 - t1;
	}
	printf("getppid_us %.3f\nepoll_wait_us %.3f\n", best_pid * 1e6 / N, best_ep * 1e6 / N);
	close(ep);
	return 0;
}
