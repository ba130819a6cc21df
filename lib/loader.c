// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sockops.h"
#include "sockops.lskel.h"
#include "sockops_core.skel.h"
#include "iters.skel.h"
#include "trace.skel.h"
#include "bpf_id.h"
#include "cmd.h"
#include "kfeatures.h"
#include "loader.h"

#define MOUNT_LOCK "/run/sockops-cb.mount.lock"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* The node's maps: pinned by name, found in the light skeleton by offset,
 * and, where struct scb_node has a descriptor for it, opened by
 * node_open() into that field. This table drives load, open, close and
 * unlink. */
#define NO_FD ((size_t)-1)
#define NODE_MAP(m, fd) { #m, offsetof(struct sockops_bpf, maps.m), fd }
static const struct {
	const char *name;
	size_t off;		/* in the light skeleton */
	size_t fd;		/* in struct scb_node, or NO_FD */
} node_maps[] = {
	NODE_MAP(targets, offsetof(struct scb_node, targets_fd)),
	NODE_MAP(stats, offsetof(struct scb_node, stats_fd)),
	NODE_MAP(trans, offsetof(struct scb_node, trans_fd)),
	NODE_MAP(cgstats, offsetof(struct scb_node, cgstats_fd)),
	NODE_MAP(cgtrans, offsetof(struct scb_node, cgtrans_fd)),
	NODE_MAP(socks, NO_FD),
	NODE_MAP(control, offsetof(struct scb_node, control_fd)),
	NODE_MAP(meta, NO_FD),
};

#define N_NODE_MAPS (sizeof(node_maps) / sizeof(node_maps[0]))

static void map_pin_path(size_t i, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", SCB_PIN_DIR, node_maps[i].name);
}

/* Every pin but the program's and the links: what a load or unload
 * killed half-way leaves (with no program pinned, no link uses them),
 * and the maps of other builds. */
static void unlink_node_pins(void)
{
	DIR *d = opendir(SCB_PIN_DIR);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type == DT_DIR || !strcmp(de->d_name, "prog") ||
		    !strcmp(de->d_name, "netns-link"))
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* libbpf's warnings always; its debug output (verifier log) with -v. */
static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	/* Our own message says what failed and what to do; libbpf's (such
	 * as "try raising ulimit -l") would come first and mislead. */
	if (!scb_verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

void loader_init(void)
{
	libbpf_set_print(libbpf_print_fn);
}

/* Real hosts mount bpffs at boot; minimal VMs and some nodes do not. */
static bool bpffs_mounted(void)
{
	struct statfs sfs;

	return !statfs(SCB_BPFFS, &sfs) && sfs.f_type == BPF_FS_MAGIC;
}

static int ensure_bpffs(struct scb_error **err)
{
	int lock, ret = 0;

	if (bpffs_mounted())
		return 0;
	/* Parallel first calls would stack mounts: one mounts, the others
	 * see it after the lock. */
	lock = open(MOUNT_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	if (!bpffs_mounted() && mount("bpf", SCB_BPFFS, "bpf", 0, "mode=0700"))
		ret = scb_error_set(err, SCB_ERR_KERNEL,
				    "bpffs is not mounted at %s and mounting it failed: %s (mount -t bpf bpf %s)",
				    SCB_BPFFS, strerror(errno), SCB_BPFFS);
	if (lock >= 0)
		close(lock);
	return ret;
}

static int make_dirs(struct scb_error **err)
{
	if (mkdir(SCB_PIN_DIR, 0700) && errno != EEXIST)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot create %s: %s",
				     SCB_PIN_DIR, strerror(errno));
	if (mkdir(SCB_LINK_DIR, 0700) && errno != EEXIST)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot create %s: %s",
				     SCB_LINK_DIR, strerror(errno));
	return 0;
}

static int lock_dir(struct scb_node *n, struct scb_error **err)
{
	n->dir_fd = open(SCB_PIN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n->dir_fd < 0)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot open %s: %s",
				     SCB_PIN_DIR, strerror(errno));
	/* Serialises load, attach and detach across concurrent hooks. */
	if (flock(n->dir_fd, LOCK_EX))
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot lock %s: %s",
				     SCB_PIN_DIR, strerror(errno));
	return 0;
}

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
	int map_fd[N_NODE_MAPS];
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

	if (scb_verbose && (log = calloc(1, LOAD_LOG_SIZE))) {
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
	for (i = 0; i < N_NODE_MAPS; i++)
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
	for (i = 0; i < N_NODE_MAPS; i++) {
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

	for (i = 0; i < N_NODE_MAPS; i++) {
		if (!strcmp(node_maps[i].name, "meta") &&
		    bpf_map_update_elem(l->map_fd[i], &zero, &id, BPF_ANY))
			return scb_error_set(err, SCB_ERR_KERNEL, "cannot write the build id: %s",
					     strerror(errno));
		map_pin_path(i, path, sizeof(path));
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
static int load_and_pin(struct scb_error **err)
{
	struct sockops_core *core = NULL;
	struct sockops_bpf *light = NULL;
	struct loaded l = { .prog_fd = -1, .netns_prog_fd = -1 };
	int ret;

	unlink_node_pins();
	if (scb_verbose)
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
		unlink_node_pins();
	sockops_bpf__destroy(light);
	sockops_core__destroy(core);
	return ret ? -1 : 0;
}

/* The node's maps, by the fds of their pins, for an iterator loaded
 * beside the pinned program: nothing is pinned by it, so a reader racing
 * with `unload` can leave nothing behind. */
static bool node_map(const char *name)
{
	size_t i;

	for (i = 0; i < N_NODE_MAPS; i++)
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

static int get_pin(const char *name, int *fd, struct scb_error **err)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", SCB_PIN_DIR, name);
	*fd = bpf_obj_get(path);
	if (*fd < 0)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot open %s: %s",
				     path, strerror(errno));
	return 0;
}

uint64_t node_trace_lost(struct scb_node *n)
{
	__u32 slot = SCB_CONTROL_TRACE_LOST;
	__u64 lost = 0;

	bpf_map_lookup_elem(n->control_fd, &slot, &lost);
	return lost;
}

static int *map_fd(struct scb_node *n, size_t i)
{
	return node_maps[i].fd == NO_FD ? NULL : (int *)((char *)n + node_maps[i].fd);
}

static void node_init(struct scb_node *n)
{
	size_t i;

	n->dir_fd = n->prog_fd = -1;
	for (i = 0; i < N_NODE_MAPS; i++)
		if (map_fd(n, i))
			*map_fd(n, i) = -1;
}

/* Pins left by another build (other struct layouts, other code) would
 * be misread or run old code: refuse them with the way out. */
static int check_build(struct scb_error **err)
{
	__u64 id = 0;
	__u32 zero = 0;
	int fd;

	if (get_pin("meta", &fd, err))
		return scb_error_wrap(err, "pinned by an older sockops-cb? run `sockops-cb unload --force`");
	bpf_map_lookup_elem(fd, &zero, &id);
	close(fd);
	if (id != SCB_BPF_ID)
		return scb_error_set(err, SCB_ERR_KERNEL,
				     "%s holds a program of another sockops-cb build (%016llx, this one is %016llx): run `sockops-cb unload --force`, then restart the traced containers",
				     SCB_PIN_DIR, (unsigned long long)id, (unsigned long long)SCB_BPF_ID);
	return 0;
}

static int open_pins(struct scb_node *n, struct scb_error **err)
{
	size_t i;

	if (get_pin("prog", &n->prog_fd, err))
		return -1;
	for (i = 0; i < N_NODE_MAPS; i++)
		if (map_fd(n, i) && get_pin(node_maps[i].name, map_fd(n, i), err))
			return -1;
	return check_build(err);
}

int node_open(struct scb_node *n, enum node_mode mode, struct scb_error **err)
{
	node_init(n);
	if (mode == NODE_CREATE) {
		if (ensure_bpffs(err) || make_dirs(err))
			return -1;
	} else if (access(SCB_PROG_PIN, F_OK)) {
		if (errno != ENOENT)
			return scb_error_set(err, SCB_ERR_KERNEL,
					     "cannot read %s: %s (the node's BPF state is root's: run as root)",
					     SCB_PROG_PIN, strerror(errno));
		return 1;
	}
	if (mode != NODE_READ && lock_dir(n, err))
		goto fail;
	if (mode == NODE_CREATE && access(SCB_PROG_PIN, F_OK)) {
		if (load_and_pin(err))
			goto fail;
	}
	if (open_pins(n, err))
		goto fail;
	return 0;
fail:
	node_close(n);
	return -1;
}

int node_open_traced(struct scb_node *n, struct scb_error **err)
{
	int ret = node_open(n, NODE_READ, err);

	if (ret > 0)
		return scb_error_set(err, SCB_ERR_NOT_FOUND, "nothing is traced on this node");
	return ret;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void node_close(struct scb_node *n)
{
	size_t i;

	for (i = 0; i < N_NODE_MAPS; i++)
		if (map_fd(n, i))
			close_fd(map_fd(n, i));
	close_fd(&n->prog_fd);
	close_fd(&n->dir_fd);
}

static int count_links(void)
{
	DIR *d = opendir(SCB_LINK_DIR);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void detach_pin(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	unlink(path);
}

/* Whatever version pinned them: detach and remove every link pin. */
static void detach_all_links(void)
{
	DIR *d = opendir(SCB_LINK_DIR);
	struct dirent *de;
	char path[512];

	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", SCB_LINK_DIR, de->d_name);
			detach_pin(path);
		}
		closedir(d);
	}
	detach_pin(SCB_PIN_DIR "/netns-link");
}

int node_unload(bool force, struct scb_error **err)
{
	struct scb_node n;
	int links;

	node_init(&n);
	if (access(SCB_PIN_DIR, F_OK))
		return 0;
	if (lock_dir(&n, err))
		goto fail;
	if (force)
		detach_all_links();
	/* The node-wide netns link counts as one. */
	links = count_links() + !access(SCB_PIN_DIR "/netns-link", F_OK);
	if (links) {
		scb_error_set(err, SCB_ERR_INPUT,
			      "%d target(s) still attached; detach them first or use --force", links);
		goto fail;
	}
	unlink(SCB_PROG_PIN);
	unlink_node_pins();
	rmdir(SCB_LINK_DIR);
	node_close(&n);
	if (rmdir(SCB_PIN_DIR) && errno != ENOENT)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot remove %s: %s",
				     SCB_PIN_DIR, strerror(errno));
	return 0;
fail:
	node_close(&n);
	return -1;
}
