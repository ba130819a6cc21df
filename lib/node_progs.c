// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Programs loaded for one command beside the pinned node, on its maps:
 * the iterators (`conns`, enabling existing connections) and `trace`'s
 * program. Nothing of theirs is pinned, so a command killed or racing
 * with `unload` leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sockops.h"
#include "iters.skel.h"
#include "trace.skel.h"
#include "cgroup.h"
#include "kfeatures.h"
#include "nsiter.h"
#include "node_internal.h"

/* The node's maps, by the fds of their pins, for an iterator loaded
 * beside the pinned program: nothing is pinned by it, so a reader racing
 * with `unload` can leave nothing behind. */
static bool node_map(const char *name)
{
	size_t i;

	for (i = 0; i < n_node_maps; i++)
		if (!strcmp(node_maps[i].name, name))
			return true;
	return false;
}

/* The object's maps that are the node's, by the fds of their pins; the
 * object's own (a trace ring, .bss) are its own. */
static int reuse_pinned_maps(struct bpf_object *obj, struct scb_error **err)
{
	struct bpf_map *map;
	char path[256];
	int fd, ret;

	bpf_object__for_each_map(map, obj) {
		if (!node_map(bpf_map__name(map)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", SCB_PIN_DIR, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0)
			return scb_error_set(err, SCB_ERR_NOT_FOUND, "cannot open %s: %s",
					     path, strerror(errno));
		ret = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (ret)
			return scb_error_set(err, SCB_ERR_KERNEL, "cannot reuse %s: %s",
					     path, strerror(-ret));
	}
	return 0;
}

static const struct {
	const char *name;	/* the program in the object */
	const char *what;	/* what a refusal costs the user */
	bool by_cgroup;		/* finds targets from the socket's cgroup */
	enum scb_feature needs;
} iters[] = {
	[SCB_ITER_CONNS] = { "scb_conns", "`conns` of a cgroup target", true, SCB_FEAT_TCP_ITER },
	[SCB_ITER_CONNS_NETNS] = { "scb_conns_netns", "`conns` of a netns-registered pod", false,
				   SCB_FEAT_NETNS_COOKIE },
	[SCB_ITER_ENABLE] = { "scb_enable", "enabling connections opened before an attach", true,
			      SCB_FEAT_ITER_SETSOCKOPT },
};


int node_iter_prog(enum scb_iter which, struct scb_error **err)
{
	struct bpf_program *prog, *p;
	struct iters_bpf *skel;
	int ret, fd = -ENOENT;

	if ((iters[which].by_cgroup &&
	     feature_require(SCB_FEAT_SOCK_CGROUP, iters[which].what, err)) ||
	    feature_require(iters[which].needs, iters[which].what, err))
		return -EOPNOTSUPP;
	skel = iters_bpf__open();
	if (!skel) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot open the BPF object: %s",
			      strerror(errno));
		return -EINVAL;
	}
	prog = bpf_object__find_program_by_name(skel->obj, iters[which].name);
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == prog);
	if (reuse_pinned_maps(skel->obj, err))
		goto out;
	ret = iters_bpf__load(skel);
	if (ret) {
		scb_error_set(err, SCB_ERR_KERNEL,
			      "this kernel refuses the BPF iterator %s (%s): %s is not available on this node; counters and trace are not affected",
			      iters[which].name, strerror(-ret), iters[which].what);
		fd = ret;
		goto out;
	}
	fd = dup(bpf_program__fd(prog));
	if (fd < 0) {
		fd = -errno;
		scb_error_set(err, SCB_ERR_INTERNAL, "dup: %s", strerror(-fd));
	}
out:
	iters_bpf__destroy(skel);
	return fd;
}

struct trace_bpf *node_trace_prog(const uint64_t *only, int n_only, uint32_t mask,
				  struct scb_error **err)
{
	struct trace_bpf *skel;
	int ret, i;

	if (feature_require(SCB_FEAT_RINGBUF, "`trace`", err) ||
	    feature_require(SCB_FEAT_SOCK_CGROUP, "`trace`", err))
		return NULL;
	skel = trace_bpf__open();
	if (!skel) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot open the BPF object: %s",
			      strerror(errno));
		return NULL;
	}
	for (i = 0; i < n_only && i < SCB_GROUP_KEYS; i++)
		skel->rodata->only_targets[i] = only[i];
	skel->rodata->event_mask = mask;
	if (reuse_pinned_maps(skel->obj, err))
		goto fail;
	ret = trace_bpf__load(skel);
	if (ret) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot load the trace program: %s (-v shows why)",
			      strerror(-ret));
		goto fail;
	}
	return skel;
fail:
	trace_bpf__destroy(skel);
	return NULL;
}

int node_netns_prog(struct scb_error **err)
{
	int fd;

	if (feature_require(SCB_FEAT_NETNS_COOKIE, "registering a pod by its network namespace", err))
		return -1;
	fd = bpf_obj_get(SCB_NETNS_PROG_PIN);
	if (fd < 0)
		scb_error_set(err, SCB_ERR_KERNEL,
			      "cannot open %s: %s (pinned by an older sockops-cb? `unload --force` and re-attach)",
			      SCB_NETNS_PROG_PIN, strerror(errno));
	return fd;
}

/* The iterator over the node's socket records (netns targets). */
int node_socks_iter(struct scb_error **err)
{
	union bpf_iter_link_info linfo = { 0 };
	LIBBPF_OPTS(bpf_link_create_opts, opts, .iter_info = &linfo,
		    .iter_info_len = sizeof(linfo));
	int prog_fd, socks_fd, link_fd = -1, iter_fd = -1;

	prog_fd = node_iter_prog(SCB_ITER_CONNS_NETNS, err);
	if (prog_fd < 0)
		return -1;
	socks_fd = bpf_obj_get(SCB_PIN_DIR "/socks");
	if (socks_fd < 0) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot open %s/socks: %s", SCB_PIN_DIR,
			      strerror(errno));
		goto out;
	}
	linfo.map.map_fd = socks_fd;
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, &opts);
	if (link_fd < 0 || (iter_fd = bpf_iter_create(link_fd)) < 0)
		scb_error_set(err, SCB_ERR_KERNEL, "cannot start the connection iterator: %s",
			      strerror(errno));
out:
	if (link_fd >= 0)
		close(link_fd);
	if (prog_fd >= 0)
		close(prog_fd);
	if (socks_fd >= 0)
		close(socks_fd);
	return iter_fd;
}

/* The reader's own program, node-wide on the cgroup2 root: it sees
 * every traced socket, wherever its target's link is. */
struct bpf_link *node_trace_attach(struct trace_bpf *skel, struct scb_error **err)
{
	struct bpf_link *link;
	char mnt[4096];
	int cg_fd;

	if (cgroup2_mount(mnt, sizeof(mnt), err))
		return NULL;
	cg_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		scb_error_set(err, SCB_ERR_CGROUP, "cannot open %s: %s", mnt, strerror(errno));
		return NULL;
	}
	link = bpf_program__attach_cgroup(skel->progs.scb_trace, cg_fd);
	if (!link)
		scb_error_set(err, SCB_ERR_KERNEL, "cannot attach the trace program to %s: %s",
			      mnt, strerror(errno));
	close(cg_fd);
	return link;
}

int node_iter_cgroup(enum scb_iter which, const char *cg_abs, size_t rec_size, nsiter_fn fn,
		     void *ctx, struct scb_error **err)
{
	int prog_fd, ret;

	prog_fd = node_iter_prog(which, err);
	if (prog_fd < 0)
		return -1;
	ret = nsiter_cgroup(cg_abs, prog_fd, rec_size, fn, ctx, err);
	close(prog_fd);
	return ret;
}

struct ring_buffer *node_trace_ring(struct trace_bpf *skel, ring_buffer_sample_fn fn, void *ctx,
				    struct scb_error **err)
{
	struct ring_buffer *rb;

	rb = ring_buffer__new(bpf_map__fd(skel->maps.trace_events), fn, ctx, NULL);
	if (!rb)
		scb_error_set(err, SCB_ERR_KERNEL, "cannot open the ring buffer: %s",
			      strerror(errno));
	return rb;
}
