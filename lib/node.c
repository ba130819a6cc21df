// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The node: its pins under bpffs opened, locked, closed and removed.
 * node_load.c loads what is pinned, node_progs.c the programs loaded for
 * one command on the pinned maps. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sockops.h"
#include "bpf_id.h"
#include "node_internal.h"

bool node_verbose;

void node_map_pin_path(size_t i, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", SCB_PIN_DIR, node_maps[i].name);
}

/* Every pin but the program's and the links: what a load or unload
 * killed half-way leaves (with no program pinned, no link uses them),
 * and the maps of other builds. */
void node_unlink_pins(void)
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


#define MOUNT_LOCK "/run/sockops-cb.mount.lock"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* libbpf's warnings always; its debug output (verifier log) with -v. */
static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	/* Our own message says what failed and what to do; libbpf's (such
	 * as "try raising ulimit -l") would come first and mislead. */
	if (!node_verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

void loader_init(bool v)
{
	node_verbose = v;
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
	__u32 zero = 0;
	__u64 lost = 0;

	bpf_map_lookup_elem(n->trace_lost_fd, &zero, &lost);
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
	for (i = 0; i < n_node_maps; i++)
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

	if (get_pin("build_id", &fd, err))
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
	for (i = 0; i < n_node_maps; i++)
		if (map_fd(n, i) && get_pin(node_maps[i].name, map_fd(n, i), err))
			return -1;
	return check_build(err);
}

/* Before 5.11 every BPF allocation (a link's cgroup storage, a map
 * entry) counts against the user's RLIMIT_MEMLOCK, which the node's maps
 * alone exceed: a writer lifts its own limit, as libbpf does for loads.
 * One syscall, cheaper than probing for memcg accounting on every hook
 * call; where the kernel charges memcg instead the limit is unused. */
static void lift_memlock(void)
{
	const struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };

	setrlimit(RLIMIT_MEMLOCK, &inf);
}

static void node_close_fds(struct scb_node *n);

static int open_node(struct scb_node *n, enum node_mode mode, struct scb_error **err)
{
	if (mode == NODE_CREATE) {
		lift_memlock();
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
		if (node_load_and_pin(err))
			goto fail;
	}
	if (open_pins(n, err))
		goto fail;
	return 0;
fail:
	node_close_fds(n);
	return -1;
}

int node_open(struct scb_node **np, enum node_mode mode, struct scb_error **err)
{
	struct scb_node *n = malloc(sizeof(*n));
	int ret;

	*np = NULL;
	if (!n)
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	node_init(n);
	ret = open_node(n, mode, err);
	if (ret)
		free(n);
	else
		*np = n;
	return ret;
}

int node_open_traced(struct scb_node **n, struct scb_error **err)
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

static void node_close_fds(struct scb_node *n)
{
	size_t i;

	for (i = 0; i < n_node_maps; i++)
		if (map_fd(n, i))
			close_fd(map_fd(n, i));
	close_fd(&n->prog_fd);
	close_fd(&n->dir_fd);
}

void node_close(struct scb_node *n)
{
	if (!n)
		return;
	node_close_fds(n);
	free(n);
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
	node_unlink_pins();
	rmdir(SCB_LINK_DIR);
	node_close_fds(&n);
	if (rmdir(SCB_PIN_DIR) && errno != ENOENT)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot remove %s: %s",
				     SCB_PIN_DIR, strerror(errno));
	return 0;
fail:
	node_close_fds(&n);
	return -1;
}

bool node_loaded(void)
{
	return !access(SCB_PROG_PIN, F_OK) || errno != ENOENT;
}
