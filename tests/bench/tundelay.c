/*
 * tundelay: a delayed point-to-point link made of two TUN devices, for
 * nacre's round-trip benchmark (tests/bench/rtt.sh).
 *
 *   tundelay [-d MS] [-q PACKETS] [-f PRIO] [-r READY_FILE] TUN_A TUN_B
 *
 * It creates TUN_A and TUN_B (IFF_TUN | IFF_NO_PI), and every IP packet the
 * kernel sends out of one is written into the other D milliseconds later, so
 * a link's round trip is 2 x D plus the time to wake up twice. This stands in
 * for the netem qdisc, which the benchmark's kernel does not have.
 *
 * The devices are made in the namespace tundelay runs in; the caller then
 * moves each into its own namespace (`ip link set TUN_A netns NS`) and
 * addresses them there (`ip addr add A peer B dev TUN_A`). The descriptors
 * keep working after a move. The devices are not persistent: they go away
 * when tundelay exits, or when their namespace is deleted (then tundelay's
 * reads fail and it exits).
 *
 * Each direction is a FIFO of at most PACKETS packets (default 4096), each
 * stamped with the time it was read; a packet that finds its queue full is
 * dropped and counted. The loop sleeps in ppoll() until the oldest queued
 * packet is due or a device has more to read, with the timer slack set to
 * 1 ns so the wake-up is not rounded up by the default 50 us.
 *
 * On two busy cores a woken process may wait milliseconds for a CPU, and a
 * link would then be late by that much for a packet now and then (netem does
 * its work in the kernel and has no such wait). -f PRIO asks for SCHED_FIFO
 * at that priority so the link keeps its time whatever else runs; tundelay
 * sleeps between packets, so it takes little CPU even so. If the request is
 * refused it says so and runs as an ordinary process.
 *
 * SIGTERM or SIGINT: print the counters to stderr and exit 0.
 *
 * Built on its own, outside automake, so it has no config.h:
 *   cc -O2 -std=c11 -D_GNU_SOURCE -o tundelay tundelay.c
 */
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
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* Larger than any packet on a link whose MTU is at most 1500 (rtt.sh keeps
 * the default); a longer packet is cut to this by the read and so dropped. */
#define PKT_MAX      2048
#define QLEN_DEFAULT 4096
#define QLEN_MAX     65536
#define DELAY_MAX_MS 10000.0
/* Reads per device per wake-up before due packets are sent again. */
#define READ_BURST 64

struct pkt {
	int64_t due_ns;
	uint16_t len;
	uint8_t data[PKT_MAX];
};

/* One direction: packets read from fd_in, written to fd_out when due. */
struct dir {
	const char *name; /* "A->B" */
	int fd_in, fd_out;
	struct pkt *q;
	uint32_t cap, head, count;
	uint64_t forwarded, dropped_full, dropped_long, write_errors;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int tun_open(const char *name)
{
	struct ifreq ifr;
	int fd;

	if (strlen(name) >= IFNAMSIZ) {
		fprintf(stderr, "tundelay: device name too long: %s\n", name);
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tundelay: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tundelay: TUNSETIFF %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what fd_in has (at most READ_BURST packets). Returns -1 when the
 * device is gone or broken. */
static int dir_read(struct dir *d, int64_t delay_ns)
{
	static uint8_t scratch[PKT_MAX];
	int i;

	for (i = 0; i < READ_BURST; i++) {
		struct pkt *p = NULL;
		uint8_t *buf = scratch;
		ssize_t n;

		if (d->count < d->cap) {
			p = &d->q[(d->head + d->count) % d->cap];
			buf = p->data;
		}
		n = read(d->fd_in, buf, PKT_MAX);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			fprintf(stderr, "tundelay: %s: read: %s\n", d->name, strerror(errno));
			return -1;
		}
		if (n == 0)
			return -1;
		if (n >= PKT_MAX) {
			d->dropped_long++;
			continue;
		}
		if (p == NULL) {
			d->dropped_full++;
			continue;
		}
		p->len = (uint16_t)n;
		p->due_ns = now_ns() + delay_ns;
		d->count++;
	}
	return 0;
}

/* Writes every packet due by now. */
static void dir_send_due(struct dir *d, int64_t now)
{
	while (d->count > 0) {
		struct pkt *p = &d->q[d->head];

		if (p->due_ns > now)
			break;
		if (write(d->fd_out, p->data, p->len) == (ssize_t)p->len)
			d->forwarded++;
		else
			d->write_errors++;
		d->head = (d->head + 1) % d->cap;
		d->count--;
	}
}

static void dir_report(const struct dir *d)
{
	fprintf(stderr,
	        "tundelay: %s forwarded=%llu dropped_full=%llu dropped_long=%llu "
	        "write_errors=%llu queued=%u\n",
	        d->name, (unsigned long long)d->forwarded, (unsigned long long)d->dropped_full,
	        (unsigned long long)d->dropped_long, (unsigned long long)d->write_errors, d->count);
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: tundelay [-d MS] [-q PACKETS] [-f PRIO] [-r READY_FILE] TUN_A TUN_B\n"
	        "  -d MS       one-way delay in milliseconds, fractions allowed (default 5)\n"
	        "  -q PACKETS  queue length per direction (default 4096)\n"
	        "  -f PRIO     run under SCHED_FIFO at PRIO (1..99)\n"
	        "  -r FILE     create FILE once both devices exist\n");
}

int main(int argc, char **argv)
{
	double delay_ms = 5.0;
	unsigned long qlen = QLEN_DEFAULT;
	const char *ready = NULL;
	long fifo = 0;
	struct dir dirs[2];
	struct sigaction sa;
	sigset_t block, waitmask;
	char *end;
	int fa, fb, opt, rc = 0, i;
	int64_t delay_ns;

	while ((opt = getopt(argc, argv, "d:q:f:r:h")) != -1) {
		switch (opt) {
		case 'd':
			delay_ms = strtod(optarg, &end);
			if (*end != '\0' || !(delay_ms >= 0.0 && delay_ms <= DELAY_MAX_MS)) {
				fprintf(stderr, "tundelay: -d wants 0..%g ms\n", DELAY_MAX_MS);
				return 2;
			}
			break;
		case 'q':
			qlen = strtoul(optarg, &end, 10);
			if (*end != '\0' || qlen < 1 || qlen > QLEN_MAX) {
				fprintf(stderr, "tundelay: -q wants 1..%d packets\n", QLEN_MAX);
				return 2;
			}
			break;
		case 'f':
			fifo = strtol(optarg, &end, 10);
			if (*end != '\0' || fifo < 1 || fifo > 99) {
				fprintf(stderr, "tundelay: -f wants a priority 1..99\n");
				return 2;
			}
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2) {
		usage();
		return 2;
	}
	delay_ns = (int64_t)(delay_ms * 1e6);

	/* SIGTERM and SIGINT are taken only inside ppoll(): no wake-up is lost
	 * between the check of `stop` and the sleep. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (fifo > 0) {
		struct sched_param sp = {.sched_priority = (int)fifo};

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			fprintf(stderr,
			        "tundelay: SCHED_FIFO refused (%s): running unprioritised\n",
			        strerror(errno));
	}

	fa = tun_open(argv[optind]);
	if (fa < 0)
		return 1;
	fb = tun_open(argv[optind + 1]);
	if (fb < 0)
		return 1;

	dirs[0] = (struct dir){.name = "A->B", .fd_in = fa, .fd_out = fb, .cap = (uint32_t)qlen};
	dirs[1] = (struct dir){.name = "B->A", .fd_in = fb, .fd_out = fa, .cap = (uint32_t)qlen};
	for (i = 0; i < 2; i++) {
		dirs[i].q = calloc(qlen, sizeof(struct pkt));
		if (dirs[i].q == NULL) {
			fprintf(stderr, "tundelay: out of memory\n");
			return 1;
		}
	}
	if (ready != NULL) {
		FILE *f = fopen(ready, "w");

		if (f == NULL || fclose(f) != 0) {
			fprintf(stderr, "tundelay: %s: %s\n", ready, strerror(errno));
			return 1;
		}
	}

	while (!stop) {
		struct pollfd pfd[2] = {{.fd = fa, .events = POLLIN}, {.fd = fb, .events = POLLIN}};
		struct timespec ts, *tsp = NULL;
		int64_t now = now_ns(), next = INT64_MAX;
		int n;

		for (i = 0; i < 2; i++) {
			dir_send_due(&dirs[i], now);
			if (dirs[i].count > 0 && dirs[i].q[dirs[i].head].due_ns < next)
				next = dirs[i].q[dirs[i].head].due_ns;
		}
		if (next != INT64_MAX) {
			int64_t wait = next - now;

			ts.tv_sec = wait / 1000000000;
			ts.tv_nsec = wait % 1000000000;
			tsp = &ts;
		}
		n = ppoll(pfd, 2, tsp, &waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tundelay: ppoll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents & (POLLERR | POLLNVAL)) {
				fprintf(stderr, "tundelay: %s: device gone\n", argv[optind + i]);
				stop = 1;
				rc = 1;
			} else if ((pfd[i].revents & (POLLIN | POLLHUP)) &&
			           dir_read(&dirs[i], delay_ns) < 0) {
				stop = 1;
				rc = 1;
			}
		}
	}
	dir_report(&dirs[0]);
	dir_report(&dirs[1]);
	close(fa);
	close(fb);
	free(dirs[0].q);
	free(dirs[1].q);
	return rc;
}
