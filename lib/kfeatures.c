// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Each probe asks the kernel itself: a BPF_PROG_LOAD it accepts or
 * refuses, libbpf's helper probe, or a type in its BTF. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kfeatures.h"
#include "kflags.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static const struct scb_feature_info infos[SCB_N_FEATURES] = {
	[SCB_FEAT_KERNEL_CORE] = {
		"kernel CO-RE",
		"BPF_PROG_LOAD with CO-RE relocations (Linux 5.17)",
		"libbpf relocates the program from the kernel's BTF: the first container costs a BTF parse more",
	},
	[SCB_FEAT_SOCK_CGROUP] = {
		"socket cgroup",
		"sock_cgroup_data.cgroup, a pointer BPF can follow (Linux 5.15)",
		"no nested targets (a container inside a traced pod is refused, the pod counts it), no `trace`, no `conns` of cgroup targets",
	},
	[SCB_FEAT_NETNS_COOKIE] = {
		"netns registration",
		"bpf_get_netns_cookie in sock_ops and SO_NETNS_COOKIE (Linux 5.15)",
		"CNI without runtimeConfig.cgroupPath leaves the pod untraced, with a warning",
	},
	[SCB_FEAT_RINGBUF] = {
		"ring buffer",
		"BPF_MAP_TYPE_RINGBUF (Linux 5.8)",
		"no `trace`",
	},
	[SCB_FEAT_TCP_ITER] = {
		"TCP iterator",
		"iter/tcp (Linux 5.9)",
		"no `conns`",
	},
	[SCB_FEAT_MEMCG] = {
		"memcg accounting",
		"BPF memory charged to memory cgroups (Linux 5.11)",
		"BPF memory counts against RLIMIT_MEMLOCK: each attach raises its own limit (root)",
	},
	[SCB_FEAT_ITER_SETSOCKOPT] = {
		"existing connections",
		"TCP_BPF_SOCK_OPS_CB_FLAGS for bpf_setsockopt (Linux 6.12)",
		"an attach traces only connections opened after it",
	},
};

const struct scb_feature_info *feature_info(enum scb_feature f)
{
	return &infos[f];
}

/* A kernel that knows attr.core_relo_rec_size accepts a program with
 * no relocations; an older one refuses the unknown non-zero attribute
 * with E2BIG, as it refuses the light skeleton's loader. */
static bool probe_kernel_core(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(unsigned long)"GPL";
	attr.core_relo_rec_size = sizeof(struct bpf_core_relo);
	fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static const struct btf *kernel_btf(void)
{
	static struct btf *btf;
	static bool tried;

	if (!tried) {
		tried = true;
		btf = btf__load_vmlinux_btf();
	}
	return btf;
}

/* Whether the kernel has struct type, with member (NULL: any). */
static bool btf_has_member(const char *type, const char *member)
{
	const struct btf *btf = kernel_btf();
	const struct btf_type *t;
	const struct btf_member *m;
	int id, i;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	if (id < 0)
		return false;
	if (!member)
		return true;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, m[i].name_off), member))
			return true;
	return false;
}

static bool btf_has_enum_value(const char *name)
{
	const struct btf *btf = kernel_btf();

	return btf && btf_enum_value(btf, name) >= 0;
}

static bool probe_netns_cookie(void)
{
	uint64_t cookie;
	socklen_t len = sizeof(cookie);
	int sock, ok;

	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_get_netns_cookie, NULL) != 1)
		return false;
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return false;
	ok = !getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
	close(sock);
	return ok;
}

/* SOCKOPS_CB_LOADER=libbpf takes the older kernels' path here: to test
 * it and to measure what it costs (bench/). */
static bool light_skeleton_allowed(void)
{
	const char *v = getenv("SOCKOPS_CB_LOADER");

	return !v || strcmp(v, "libbpf");
}

static bool probe(enum scb_feature f)
{
	switch (f) {
	case SCB_FEAT_KERNEL_CORE:
		return light_skeleton_allowed() && probe_kernel_core();
	case SCB_FEAT_SOCK_CGROUP:
		return btf_has_member("sock_cgroup_data", "cgroup");
	case SCB_FEAT_NETNS_COOKIE:
		return probe_netns_cookie();
	case SCB_FEAT_RINGBUF:
		return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	case SCB_FEAT_TCP_ITER:
		return btf_has_member("bpf_iter__tcp", NULL);
	case SCB_FEAT_ITER_SETSOCKOPT:
		return btf_has_enum_value("TCP_BPF_SOCK_OPS_CB_FLAGS");
	case SCB_FEAT_MEMCG:
		/* libbpf's probe: the helper came in the same release. */
		return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCKET_FILTER,
					       BPF_FUNC_ktime_get_coarse_ns, NULL) == 1;
	default:
		return false;
	}
}

bool feature_has(enum scb_feature f)
{
	static signed char known[SCB_N_FEATURES];	/* 0 unknown, 1 yes, -1 no */

	if (f >= SCB_N_FEATURES)
		return false;
	if (!known[f])
		known[f] = probe(f) ? 1 : -1;
	return known[f] > 0;
}

int feature_require(enum scb_feature f, const char *what, struct scb_error **err)
{
	if (feature_has(f))
		return 0;
	return scb_error_set(err, SCB_ERR_UNSUPPORTED, "%s needs %s, which this kernel lacks: %s",
			     what, infos[f].needs, infos[f].without);
}
