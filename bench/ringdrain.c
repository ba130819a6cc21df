// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ringdrain: the reader of the streaming floor (bench/floor.bpf.c built
 * with -DFLOOR_STREAM). Drains a pinned BPF ring buffer every 10 ms, as
 * `sockops-cb trace` does, and throws the records away; on SIGTERM or
 * SIGINT prints how many it read.
 *
 *   ringdrain /sys/fs/bpf/PIN
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define POLL_MS 10	/* sockops-cb's TRACE_POLL_MS */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int discard(void *ctx, void *data, size_t size)
{
	(*(unsigned long long *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long n = 0;
	struct ring_buffer *rb;
	int fd, ret = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: ringdrain PINNED_RINGBUF\n");
		return 2;
	}
	fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "ringdrain: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rb = ring_buffer__new(fd, discard, &n, NULL);
	if (!rb) {
		fprintf(stderr, "ringdrain: cannot open the ring buffer: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("draining\n");
	fflush(stdout);
	while (!stop) {
		ret = ring_buffer__poll(rb, POLL_MS);
		if (ret >= 0)
			ret = ring_buffer__consume(rb);
		if (ret < 0 && ret != -EINTR)
			break;
		ret = 0;
	}
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	printf("records=%llu\n", n);
	return ret < 0;
}
