// SPDX-License-Identifier: GPL-2.0
/* bench/btfparse.c: how long libbpf takes to read and parse the running
 * kernel's BTF (/sys/kernel/btf/vmlinux), in process, in ms. Every load of
 * an object with CO-RE relocations pays this once, the first container's
 * hook included: bench/attach.sh prints it beside that hook's time. */
#include <stdio.h>
#include <time.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void)
{
	double start = now_ms();
	struct btf *btf = btf__load_vmlinux_btf();
	double took = now_ms() - start;

	if (libbpf_get_error(btf)) {
		fprintf(stderr, "btfparse: cannot load the kernel's BTF\n");
		return 1;
	}
	printf("%.3f\n", took);
	btf__free(btf);
	return 0;
}
