/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Connections that existed before an attach: set their flags through
 * the enable iterator, in every netns the cgroup's processes use. */
#ifndef __SCB_EXISTING_H
#define __SCB_EXISTING_H

#include <stdint.h>
#include "error.h"

/* *enabled: sockets now traced; *kerr: the kernel's refusal (0 if none),
 * e.g. -EINVAL before Linux 6.12. */
int existing_enable(const char *cg_abs, uint64_t key, uint32_t *enabled, int *kerr,
		    struct scb_error **err);

#endif
