/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which sock_ops callback flags the running kernel has: the value of
 * BPF_SOCK_OPS_ALL_CB_FLAGS in its own BTF (the uapi enum compiled into
 * it). `flags` shows them, `check` compares the config with them. */
#ifndef __SCB_KFLAGS_H
#define __SCB_KFLAGS_H

#include <stdint.h>
#include "error.h"

struct btf;

int kernel_cb_flags(uint32_t *mask, struct scb_error **err);
/* The value of enumerator name in btf, or -ENOENT. */
long long btf_enum_value(const struct btf *btf, const char *name);

#endif
