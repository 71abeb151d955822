// SPDX-License-Identifier: GPL-2.0
/*
 * tap_fwd GUEST_TAP HOST_TAP: the network backend of a pretend VM, for the benchmark (make
 * bench). Creates the two taps, prints "ready" on stdout once both exist, then copies every
 * frame read from one to the other, in both directions (a thread each), until SIGINT or
 * SIGTERM; the taps vanish when it exits. scripts/bench/bench.py moves GUEST_TAP into a network
 * namespace, the pretend guest, and puts HOST_TAP on its bridge: HOST_TAP is then what a VM's
 * tap is to the host. Started under a VMM's name (a copy named qemu-system-x86_64), it is a VM
 * to kvmtrace-bpf's discovery, which then counts the frames on HOST_TAP. Needs CAP_NET_ADMIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_tun.h>

/* Frames are at most the MTU plus the Ethernet header: no offloads are asked for. */
#define FRAME_MAX	65536

struct direction {
	int from;
	int to;
};

/* A tap of this name, with Ethernet frames and no packet information header. Returns its fd. */
static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd;

	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "tap_fwd: tap name too long: %s\n", name);
		return -1;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tap_fwd: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tap_fwd: cannot create tap %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void *copy_frames(void *arg)
{
	const struct direction *d = arg;
	char frame[FRAME_MAX];
	ssize_t len;

	for (;;) {
		len = read(d->from, frame, sizeof(frame));
		if (len < 0 && errno == EINTR)
			continue;
		/* The tap is gone (its namespace was deleted, say): nothing more to copy. */
		if (len < 0)
			break;
		/* A frame the other tap cannot take (it is down) is dropped, as a wire would. */
		if (write(d->to, frame, len) < 0 && errno != EIO && errno != EINTR)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct direction dirs[2];
	pthread_t threads[2];
	sigset_t stop;
	int fds[2], sig, i, err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s GUEST_TAP HOST_TAP\n(creates both taps, prints \"ready\", "
			"copies frames between them until SIGINT or SIGTERM)\n", argv[0]);
		return 2;
	}
	/* Blocked in every thread; the main thread takes them with sigwait(). */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	fds[0] = tap_open(argv[1]);
	if (fds[0] < 0)
		return 1;
	fds[1] = tap_open(argv[2]);
	if (fds[1] < 0)
		return 1;
	for (i = 0; i < 2; i++) {
		dirs[i].from = fds[i];
		dirs[i].to = fds[1 - i];
		err = pthread_create(&threads[i], NULL, copy_frames, &dirs[i]);
		if (err) {
			fprintf(stderr, "tap_fwd: cannot start a thread: %s\n", strerror(err));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);

	do {
		err = sigwait(&stop, &sig);
	} while (err == EINTR);
	/* Exiting ends the threads and closes the taps, which removes them. */
	return 0;
}
