// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cgroup.h"
#include "cgwalk.h"
#include "kfeatures.h"
#include "nesting.h"
#include "sockops.h"
#include "target.h"
#include "node_internal.h"

static bool nested_on(struct scb_node *n)
{
	__u32 zero = 0;
	__u64 on = 0;

	return !bpf_map_lookup_elem(n->nested_fd, &zero, &on) && on;
}

static bool traced(struct scb_node *n, const char *dir)
{
	struct scb_target t;
	uint64_t id;

	return !cgroup_id(dir, &id, NULL) && !bpf_map_lookup_elem(n->targets_fd, &id, &t) &&
	       t.kind == SCB_KIND_CGROUP && !t.removed_ns;
}

/* Any traced cgroup above cg_abs, up to the cgroup2 root. */
static bool traced_above(struct scb_node *n, const char *cg_abs, const char *root)
{
	char dir[PATH_MAX], *slash;
	size_t rlen = strlen(root);

	snprintf(dir, sizeof(dir), "%s", cg_abs);
	while ((slash = strrchr(dir, '/')) && (size_t)(slash - dir) >= rlen) {
		*slash = '\0';
		if (strlen(dir) < rlen)
			break;
		if (traced(n, dir))
			return true;
	}
	return false;
}

static int visit(const char *path, int depth, void *ctx)
{
	return depth > 0 && traced(ctx, path);
}

static bool traced_below(struct scb_node *n, const char *cg_abs)
{
	return cgwalk(cg_abs, visit, n) != 0;
}

int nesting_update(struct scb_node *n, const char *cg_abs, struct scb_error **err)
{
	__u32 zero = 0;
	__u64 on = 1;
	char root[PATH_MAX];

	if (nested_on(n))
		return 0;
	if (cgroup2_mount(root, sizeof(root), err))
		return -1;
	if (!traced_above(n, cg_abs, root) && !traced_below(n, cg_abs))
		return 0;
	/* Without the socket's cgroup the outer link cannot tell its own
	 * sockets from the inner target's: both would count them. */
	if (feature_require(SCB_FEAT_SOCK_CGROUP,
			    "a target inside (or around) another traced target", err))
		return -1;
	if (bpf_map_update_elem(n->nested_fd, &zero, &on, BPF_ANY))
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot switch on nested targets: %s",
				     strerror(errno));
	return 0;
}
