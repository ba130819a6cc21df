/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A traced container as users name it: every target with its id. One
 * podman container traced by the hook (its cgroup) and by CNI (its
 * netns) is two targets and one container; commands show, select and
 * sum containers, so no part of one is ever hidden. */
#ifndef __SCB_GROUP_H
#define __SCB_GROUP_H

#include <stdbool.h>
#include <stdint.h>
#include "node.h"
#include "sockops.h"

struct scb_group {
	struct scb_target t;	/* shown: a live cgroup target if any */
	uint64_t key;		/* t's key */
	uint64_t keys[SCB_GROUP_KEYS];
	int n_keys;
	uint32_t kinds;		/* 1 << enum scb_kind */
	uint32_t origins;	/* 1 << enum scb_origin */
	bool removed;		/* every target retained after removal */
	char alt_name[SCB_NAME_LEN];	/* another target's name, if it differs */
	struct scb_attachment attach[SCB_MAX_ATTACH];	/* CNI's, of every target */
	int n_attach;
};

struct group_list {
	struct scb_group *g;
	int n;
};

/* Every container on the node, ordered by id. */
int group_list_read(struct scb_node *n, struct group_list *l, struct scb_error **err);
void group_list_free(struct group_list *l);
/* Counters summed over the container's targets; -1 when none is left. */
int group_stats(struct scb_node *n, const struct scb_group *g, struct scb_stats *out);
bool group_has_key(const struct scb_group *g, uint64_t key);
/* "hook+cni", "cgroup+netns": what the container's targets are. */
const char *group_origins(const struct scb_group *g, char *buf, size_t len);
const char *group_kinds(const struct scb_group *g, char *buf, size_t len);
/* A user's name for a container: full id, podman/k8s name, or a unique
 * id prefix. */
int group_find(struct scb_node *n, const char *ref, struct scb_group *g,
	       struct scb_error **err);
/* For commands that remove state: the full id, a name, or a unique id
 * prefix of at least 12 hex characters; never a shorter prefix. */
int group_find_exact(struct scb_node *n, const char *ref, struct scb_group *g,
		     struct scb_error **err);

#endif
