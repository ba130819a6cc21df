// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cgwalk.h"
#include "nsiter.h"

#define MAX_NETNS 256
#define MAX_REC 256

/* The distinct netns of a cgroup tree's processes. */
struct netns_set {
	int fds[MAX_NETNS];
	ino_t inos[MAX_NETNS];
	int n;
};

static void add_pid_netns(struct netns_set *walk, pid_t pid)
{
	char path[64];
	struct stat st;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || walk->n >= MAX_NETNS) {
		close(fd);
		return;
	}
	for (i = 0; i < walk->n; i++)
		if (walk->inos[i] == st.st_ino) {
			close(fd);
			return;
		}
	walk->inos[walk->n] = st.st_ino;
	walk->fds[walk->n++] = fd;
}

static int visit(const char *path, int depth, void *ctx)
{
	char procs[PATH_MAX];
	FILE *f;
	int pid;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	f = fopen(procs, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1)
		add_pid_netns(ctx, pid);
	fclose(f);
	return 0;
}

/* Run the iterator in one netns: bpf_iter_create binds it to ours. */
static int run_in(int ns_fd, int self_fd, int link_fd, size_t rec_size, nsiter_fn fn,
		  void *ctx, struct scb_error **err)
{
	char rec[MAX_REC];
	int iter_fd;

	if (setns(ns_fd, CLONE_NEWNET))
		return scb_error_set(err, SCB_ERR_INTERNAL, "cannot enter a netns: %s",
				     strerror(errno));
	iter_fd = bpf_iter_create(link_fd);
	if (setns(self_fd, CLONE_NEWNET))
		return scb_error_set(err, SCB_ERR_INTERNAL, "cannot return to our netns: %s",
				     strerror(errno));
	if (iter_fd < 0)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot start the tcp iterator: %s",
				     strerror(errno));
	while (read(iter_fd, rec, rec_size) == (ssize_t)rec_size)
		fn(rec, ctx);
	close(iter_fd);
	return 0;
}

int nsiter_cgroup(const char *cg_abs, int prog_fd, size_t rec_size, nsiter_fn fn, void *ctx,
		  struct scb_error **err)
{
	int link_fd = -1, self_fd = -1, ret = -1, i;
	struct netns_set set = { .n = 0 };

	if (rec_size > MAX_REC)
		return scb_error_set(err, SCB_ERR_INTERNAL, "iterator record too large");
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, NULL);
	self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (link_fd < 0 || self_fd < 0) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot create the tcp iterator: %s",
			      strerror(errno));
		goto out;
	}
	cgwalk(cg_abs, visit, &set);
	ret = 0;
	for (i = 0; i < set.n && !ret; i++)
		ret = run_in(set.fds[i], self_fd, link_fd, rec_size, fn, ctx, err);
out:
	for (i = 0; i < set.n; i++)
		close(set.fds[i]);
	if (self_fd >= 0)
		close(self_fd);
	if (link_fd >= 0)
		close(link_fd);
	return ret;
}
