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
#include "loader.h"
#include "sockops.h"

/* Zeroed hash entries for key (netns targets, before they are live). */
int counters_create(struct scb_node *n, uint64_t key, struct scb_error **err);
void counters_delete(struct scb_node *n, uint64_t key);
/* Write key and flags into the storage of the link just made on cgroup
 * cg_id, every CPU's copy: until then the program ignores the link.
 * fresh: a new target, counters from zero; else only the flags change. */
int counters_ready(struct scb_node *n, uint64_t cg_id, uint32_t flags, bool fresh,
		   struct scb_error **err);
/* Copy a live cgroup target's storage into the hashes, before its link
 * goes (retainStats). */
int counters_retain(struct scb_node *n, uint64_t key, struct scb_error **err);
/* Sum of the per-CPU counters, from wherever they live. */
int counters_read(struct scb_node *n, uint64_t key, struct scb_stats *out);

#endif
