// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpload: the TCP loads of the benches, IPv4, one connection at a time.
 *
 *   tcpload crr-server ADDR PORT      accept, close at once, forever
 *   tcpload crr ADDR PORT SECS        connect, read to EOF, close; repeat
 *   tcpload rr-server ADDR PORT       echo fixed-size messages, per client
 *   tcpload rr ADDR PORT SECS [SIZE]  one connection, SIZE-byte (64)
 *                                     request, wait for the response, repeat
 *
 * Clients print "n=N secs=S rate=R" (connections or transactions per
 * second).  crr: the server closes first, so TIME_WAIT stays on the
 * server's side and the client never runs out of ports; each connection
 * goes through the handshake, the FIN exchange and every state a traced
 * socket reports.  rr is sockperf's TCP ping-pong without its warm-up:
 * short runs can be interleaved finely. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG 65536

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int addr_of(const char *ip, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(atoi(port));
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static int listener(const struct sockaddr_in *sa)
{
	int one = 1, l;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (const struct sockaddr *)sa, sizeof(*sa)) || listen(l, 4096)) {
		perror("tcpload: listen");
		exit(1);
	}
	return l;
}

static int accept_one(int l)
{
	int c;

	for (;;) {
		c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			return c;
		if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE) {
			perror("tcpload: accept");
			exit(1);
		}
	}
}

static int crr_server(const struct sockaddr_in *sa)
{
	int l = listener(sa);

	for (;;)
		close(accept_one(l));
	return 0;
}

static int crr_client(const struct sockaddr_in *sa, double secs)
{
	double start = now(), end = start + secs, t = start;
	unsigned long n = 0, fail = 0, i = 0;
	char buf[64];
	int s;

	while (t < end) {
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0) {
			perror("tcpload: socket");
			return 1;
		}
		if (connect(s, (const struct sockaddr *)sa, sizeof(*sa))) {
			if (++fail > 1000) {
				perror("tcpload: connect");
				return 1;
			}
		} else {
			while (read(s, buf, sizeof(buf)) > 0)
				;
			n++;
		}
		close(s);
		/* The clock every 16 connections: cheap, but not free. */
		if (!(++i & 15))
			t = now();
	}
	t = now();
	printf("n=%lu secs=%.6f rate=%.1f fail=%lu\n", n, t - start, n / (t - start), fail);
	return 0;
}

static int full_io(int fd, char *buf, size_t len, int wr)
{
	size_t off = 0;
	ssize_t r;

	while (off < len) {
		r = wr ? write(fd, buf + off, len - off) : read(fd, buf + off, len - off);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		off += r;
	}
	return 0;
}

/* One process per client: a client sends its message size first. */
static int rr_server(const struct sockaddr_in *sa)
{
	static char buf[MAX_MSG];
	int l = listener(sa), c, one = 1;
	uint32_t size;

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		c = accept_one(l);
		if (fork() == 0) {
			close(l);
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (full_io(c, (char *)&size, sizeof(size), 0) || !size || size > MAX_MSG)
				_exit(1);
			while (!full_io(c, buf, size, 0) && !full_io(c, buf, size, 1))
				;
			_exit(0);
		}
		close(c);
	}
	return 0;
}

static int rr_client(const struct sockaddr_in *sa, double secs, uint32_t size)
{
	static char buf[MAX_MSG];
	double start, end, t;
	unsigned long n = 0;
	int s, one = 1;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (const struct sockaddr *)sa, sizeof(*sa))) {
		perror("tcpload: connect");
		return 1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (full_io(s, (char *)&size, sizeof(size), 1))
		return 1;
	memset(buf, 'x', size);
	start = t = now();
	end = start + secs;
	while (t < end) {
		if (full_io(s, buf, size, 1) || full_io(s, buf, size, 0)) {
			perror("tcpload: rr");
			return 1;
		}
		if (!(++n & 15))
			t = now();
	}
	t = now();
	close(s);
	printf("n=%lu secs=%.6f rate=%.1f fail=0\n", n, t - start, n / (t - start));
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	uint32_t size = 64;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 4 || addr_of(argv[2], argv[3], &sa))
		goto usage;
	if (!strcmp(argv[1], "crr-server"))
		return crr_server(&sa);
	if (!strcmp(argv[1], "rr-server"))
		return rr_server(&sa);
	if (argc < 5)
		goto usage;
	if (!strcmp(argv[1], "crr"))
		return crr_client(&sa, atof(argv[4]));
	if (argc > 5)
		size = atoi(argv[5]);
	if (!strcmp(argv[1], "rr") && size > 0 && size <= MAX_MSG)
		return rr_client(&sa, atof(argv[4]), size);
usage:
	fprintf(stderr, "usage: tcpload crr-server|rr-server ADDR PORT\n"
			"       tcpload crr ADDR PORT SECS\n"
			"       tcpload rr ADDR PORT SECS [SIZE]\n");
	return 2;
}
