/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Run a BPF iterator (iter/tcp) in every network namespace the processes
 * of a cgroup tree use: such an iterator sees the sockets of the netns
 * it was created in, and a container's sockets live in its own. */
#ifndef __SCB_NSITER_H
#define __SCB_NSITER_H

#include <stddef.h>
#include "error.h"

typedef void (*nsiter_fn)(const void *rec, void *ctx);

/* fn gets each rec_size-byte record the iterator program prog_fd writes. */
int nsiter_cgroup(const char *cg_abs, int prog_fd, size_t rec_size, nsiter_fn fn, void *ctx,
		  struct scb_error **err);

#endif
