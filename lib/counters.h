/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where a target's counters live. A live cgroup target: the cgroup
 * storage of its link (`cgstats`, `cgtrans`), which the kernel creates
 * with the first link on the cgroup and frees with the cgroup, and which
 * the program reaches without a lookup. A netns target, or a retained one: entries of the `stats` and
 * `trans` hashes, keyed by the target's key. */
#ifndef __SCB_COUNTERS_H
#define __SCB_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>
#include "node.h"
#include "sockops.h"

/* Zeroed hash entries for key (netns targets, before they are live). */
int counters_create(struct scb_node *n, uint64_t key, struct scb_error **err);
void counters_delete(struct scb_node *n, uint64_t key);
/* Write key and store (enum scb_store) into every CPU's copy of the
 * storage of the link just made on cgroup cg_id, counters from zero:
 * until then the program ignores the link. Once only: a rewrite would
 * lose what the program adds meanwhile. SCB_STORE_HASH also creates the
 * hash entries, where the counters then live. */
int counters_ready(struct scb_node *n, uint64_t cg_id, uint32_t store, uint32_t id_mode,
		   struct scb_error **err);
/* Copy a cgroup target's storage into the hashes after its link was
 * detached (the kernel keeps the storage until the cgroup is gone);
 * nothing to do for SCB_STORE_HASH targets. */
int counters_retain(struct scb_node *n, uint64_t key, struct scb_error **err);
/* Sum of the per-CPU counters, from wherever they live. */
int counters_read(struct scb_node *n, uint64_t key, struct scb_stats *out);
/* The same, added to what out holds (maxima kept): one container's
 * targets summed. -1, with out untouched, when key has no counters. */
int counters_add(struct scb_node *n, uint64_t key, struct scb_stats *out);

#endif
