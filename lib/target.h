/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Targets: traced containers/pods. A target is an entry in the `targets`
 * and `stats` maps plus, for cgroup targets, a link pinned by id. */
#ifndef __SCB_TARGET_H
#define __SCB_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "sockops.h"
#include "node.h"

#define SCB_NETNS_LINK SCB_PIN_DIR "/netns-link"

/* Attach t (id, names, flags filled in) to the cgroup directory cg_abs.
 * Idempotent for the same id; fails when another id traces the cgroup. */
int target_attach_cgroup(struct scb_node *n, struct scb_target *t,
			 const char *cg_abs, struct scb_error **err);
/* Register a pod by its netns cookie; the first such target attaches
 * the program node-wide (cgroup2 root) where it matches only registered
 * netns. */
int target_attach_netns(struct scb_node *n, struct scb_target *t, uint64_t cookie,
			struct scb_error **err);
/* Detach the cgroup target(s) of id (its pinned link); *found tells
 * whether anything was there. With retain, the counters stay readable
 * (the target is marked removed). Netns targets stay: target_drop. */
int target_detach(struct scb_node *n, const char *id, bool retain, bool *found,
		  struct scb_error **err);
/* Remove the target of key, whatever its kind; 0 when it is not there. */
int target_drop(struct scb_node *n, uint64_t key, struct scb_error **err);
/* The entry of key; -1 when there is none. */
int target_get(struct scb_node *n, uint64_t key, struct scb_target *t);
/* Rewrite the entry of key (metadata; the program reads only flags). */
int target_update(struct scb_node *n, uint64_t key, const struct scb_target *t,
		  struct scb_error **err);

/* Iterate: fills key and t; returns false at the end. */
struct target_iter {
	uint64_t key;
	bool started;
};
bool target_next(struct scb_node *n, struct target_iter *it, struct scb_target *t);
struct scb_request;
/* A new target: its id and display name, who made it, and the flags the
 * request resolved; the caller adds where it lives. */
void target_init(struct scb_target *t, const char *id, const char *name, enum scb_origin origin,
		 const struct scb_request *req);
/* The first target with id (of any kind) into *t. */
bool target_find_id(struct scb_node *n, const char *id, struct scb_target *t);
/* Sum of the per-CPU counters. */
int target_stats(struct scb_node *n, uint64_t key, struct scb_stats *out);
bool target_link_exists(const char *id);
/* Whether t's link (its own, or the node-wide one of netns targets) is pinned. */
bool target_link_alive(const struct scb_target *t);
/* The id a pin in SCB_LINK_DIR stands for (pins spell '.' as '~'). */
void target_pin_id(const char *pin, char *id, size_t len);
/* The cgroup id links/<id> is attached to; 0 when missing or detached. */
uint64_t target_link_key(const char *id);
/* Detach and remove links/<id>; *found (may be NULL) set when it was there. */
int target_unpin_link(const char *id, bool *found, struct scb_error **err);
/* Remove the node-wide netns link once no netns target is left. */
int target_netns_link_gc(struct scb_node *n, struct scb_error **err);

#endif
