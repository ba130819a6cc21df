/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* State no container owns any more (lib/gc.c says what). */
#ifndef __SCB_GC_H
#define __SCB_GC_H

#include <stdbool.h>
#include "node.h"

/* Called for each thing found: what it is, its id, why it is left over. */
typedef void (*gc_report_fn)(void *ctx, const char *what, const char *id, const char *why);

/* Find (and unless dry_run remove) the leftovers on n; *found counts them. */
int node_gc(struct scb_node *n, bool dry_run, gc_report_fn fn, void *ctx, int *found,
	    struct scb_error **err);
/* What `gc` would remove, counted without removing or printing. */
int gc_leftovers(struct scb_node *n, int *count, struct scb_error **err);

#endif
