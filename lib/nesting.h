/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Nested targets: a traced cgroup below another traced one (a container
 * inside a traced pod). Until the first such pair, the program skips the
 * nearest-link check on every callback; the attach that makes a pair
 * switches it on for good (the `nested` map), before its link
 * exists, so no callback counts twice. `unload` resets it. */
#ifndef __SCB_NESTING_H
#define __SCB_NESTING_H

#include "node.h"

/* Called by an attach of cgroup cg_abs before its link is made. */
int nesting_update(struct scb_node *n, const char *cg_abs, struct scb_error **err);

#endif
