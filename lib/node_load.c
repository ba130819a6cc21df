// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Loading the node's program and maps, and pinning them: through the
 * light skeleton where the kernel does CO-RE itself, through libbpf's
 * skeleton elsewhere (probed: kfeatures.c). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sockops.h"
#include "sockops.lskel.h"
#include "sockops_core.skel.h"
#include "bpf_id.h"
#include "kfeatures.h"
#include "node_internal.h"

/* The node's maps: pinned by name, found in the light skeleton by offset,
 * and, where struct scb_node has a descriptor for it, opened by
 * node_open() into that field. This table drives load, open, close and
 * unlink. */
#define NODE_MAP(m, fd) { #m, offsetof(struct sockops_bpf, maps.m), fd }
const struct node_map node_maps[] = {
	NODE_MAP(targets, offsetof(struct scb_node, targets_fd)),
	NODE_MAP(stats, offsetof(struct scb_node, stats_fd)),
	NODE_MAP(trans, offsetof(struct scb_node, trans_fd)),
	NODE_MAP(cgstats, offsetof(struct scb_node, cgstats_fd)),
	NODE_MAP(cgtrans, offsetof(struct scb_node, cgtrans_fd)),
	NODE_MAP(socks, NO_FD),
	NODE_MAP(nested, offsetof(struct scb_node, nested_fd)),
	NODE_MAP(trace_lost, offsetof(struct scb_node, trace_lost_fd)),
	NODE_MAP(build_id, NO_FD),
	NODE_MAP(peers, offsetof(struct scb_node, peers_fd)),
	NODE_MAP(peer_conns, NO_FD),
};

const size_t n_node_maps = sizeof(node_maps) / sizeof(node_maps[0]);
_Static_assert(sizeof(node_maps) / sizeof(node_maps[0]) == SCB_NODE_MAPS, "SCB_NODE_MAPS");


/* What -v shows of a failed load: the verifier's log. */
#define LOAD_LOG_SIZE (1 << 20)
static int pin_prog(int fd, const char *path, struct scb_error **err)
{
	if (bpf_obj_pin(fd, path))
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot pin the program at %s: %s",
				     path, strerror(errno));
	return 0;
}

/* What a load leaves for pinning; the skeleton it came from owns the
 * descriptors until it is destroyed. */
struct loaded {
	int prog_fd;
	int netns_prog_fd;	/* -1: the kernel cannot run it */
	int map_fd[SCB_NODE_MAPS];
};


static int load_failed(const char *how, int ret, const char *log, struct scb_error **err)
{
	if (log && log[0])
		fprintf(stderr, "%s\n", log);
	return scb_error_set(err, SCB_ERR_KERNEL,
			     "cannot load the BPF program (%s): %s (-v shows the verifier log)",
			     how, strerror(-ret));
}

/* Through the light skeleton the kernel itself relocates the CO-RE
 * accesses, so libbpf never reads the kernel's BTF here (most of the
 * first container's time otherwise, docs/performance.md). */
static int load_light(struct sockops_bpf *skel, struct loaded *l, struct scb_error **err)
{
	char *log = NULL;
	size_t i;
	int ret;

	if (node_verbose && (log = calloc(1, LOAD_LOG_SIZE))) {
		skel->ctx.log_level = 1;
		skel->ctx.log_size = LOAD_LOG_SIZE;
		skel->ctx.log_buf = (__u64)(unsigned long)log;
	}
	ret = sockops_bpf__load(skel);
	if (ret) {
		load_failed("light skeleton", ret, log, err);
		free(log);
		return -1;
	}
	free(log);
	l->prog_fd = skel->progs.scb_sockops.prog_fd;
	l->netns_prog_fd = skel->progs.scb_sockops_netns.prog_fd;
	for (i = 0; i < n_node_maps; i++)
		l->map_fd[i] = ((const struct bpf_map_desc *)((const char *)skel +
							     node_maps[i].off))->map_fd;
	return 0;
}

/* Kernels before 5.17: libbpf relocates from the kernel's BTF. The netns
 * entry point is left out where sock_ops cannot read a netns cookie. */
static int load_core(struct sockops_core *skel, struct loaded *l, struct scb_error **err)
{
	bool netns = feature_has(SCB_FEAT_NETNS_COOKIE);
	struct bpf_map *map;
	size_t i;
	int ret;

	bpf_program__set_autoload(skel->progs.scb_sockops_netns, netns);
	ret = sockops_core__load(skel);
	if (ret)
		return load_failed("libbpf CO-RE", ret, NULL, err);
	l->prog_fd = bpf_program__fd(skel->progs.scb_sockops);
	l->netns_prog_fd = netns ? bpf_program__fd(skel->progs.scb_sockops_netns) : -1;
	for (i = 0; i < n_node_maps; i++) {
		map = bpf_object__find_map_by_name(skel->obj, node_maps[i].name);
		l->map_fd[i] = map ? bpf_map__fd(map) : -1;
	}
	return 0;
}

static int pin_loaded(const struct loaded *l, struct scb_error **err)
{
	__u64 id = SCB_BPF_ID;
	__u32 zero = 0;
	char path[256];
	size_t i;

	for (i = 0; i < n_node_maps; i++) {
		if (!strcmp(node_maps[i].name, "build_id") &&
		    bpf_map_update_elem(l->map_fd[i], &zero, &id, BPF_ANY))
			return scb_error_set(err, SCB_ERR_KERNEL, "cannot write the build id: %s",
					     strerror(errno));
		node_map_pin_path(i, path, sizeof(path));
		if (bpf_obj_pin(l->map_fd[i], path))
			return scb_error_set(err, SCB_ERR_KERNEL, "cannot pin %s: %s", path,
					     strerror(errno));
	}
	if (l->netns_prog_fd >= 0 && pin_prog(l->netns_prog_fd, SCB_NETNS_PROG_PIN, err))
		return -1;
	/* Last: the program's pin means "node ready". */
	return pin_prog(l->prog_fd, SCB_PROG_PIN, err);
}

/* Load both entry points and the maps, and pin them, by whichever way
 * the kernel supports (probed, not read from its version). Pins that a
 * load killed half-way left are removed first. */
int node_load_and_pin(struct scb_error **err)
{
	struct sockops_core *core = NULL;
	struct sockops_bpf *light = NULL;
	struct loaded l = { .prog_fd = -1, .netns_prog_fd = -1 };
	int ret;

	node_unlink_pins();
	if (node_verbose)
		fprintf(stderr, "sockops-cb: loading the program through %s\n",
			feature_has(SCB_FEAT_KERNEL_CORE) ? "the light skeleton (kernel CO-RE)"
							  : "libbpf (CO-RE from the kernel's BTF)");
	if (feature_has(SCB_FEAT_KERNEL_CORE)) {
		light = sockops_bpf__open();
		ret = light ? load_light(light, &l, err) : -1;
	} else {
		core = sockops_core__open();
		ret = core ? load_core(core, &l, err) : -1;
	}
	if (!light && !core)
		scb_error_set(err, SCB_ERR_KERNEL, "cannot open the BPF object: %s",
			      strerror(errno));
	if (!ret)
		ret = pin_loaded(&l, err);
	if (ret)
		node_unlink_pins();
	sockops_bpf__destroy(light);
	sockops_core__destroy(core);
	return ret ? -1 : 0;
}
