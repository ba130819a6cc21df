/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What this kernel offers the product, probed (never by version number),
 * and what each missing piece costs: `flags` and `check` print the table,
 * the commands that need a feature refuse with its line. */
#ifndef __SCB_KFEATURES_H
#define __SCB_KFEATURES_H

#include <stdbool.h>
#include "error.h"

enum scb_feature {
	SCB_FEAT_KERNEL_CORE,	/* the light skeleton: fast first container */
	SCB_FEAT_SOCK_CGROUP,	/* a socket's cgroup, readable by BPF */
	SCB_FEAT_NETNS_COOKIE,	/* netns cookies in sock_ops and SO_NETNS_COOKIE */
	SCB_FEAT_RINGBUF,	/* trace's event ring */
	SCB_FEAT_TCP_ITER,	/* `conns` of a cgroup target */
	SCB_FEAT_ITER_SETSOCKOPT,	/* enabling connections opened before attach */
	SCB_FEAT_MEMCG,		/* BPF memory charged to cgroups, not RLIMIT_MEMLOCK */
	SCB_N_FEATURES,
};

struct scb_feature_info {
	const char *name;
	const char *needs;	/* the kernel mechanism, and where it appeared */
	const char *without;	/* what the product does without it */
};

const struct scb_feature_info *feature_info(enum scb_feature f);
/* Probed once per process. */
bool feature_has(enum scb_feature f);
/* 0 when the kernel has f; else SCB_ERR_UNSUPPORTED with a line naming
 * what, what the kernel lacks, and what still works. */
int feature_require(enum scb_feature f, const char *what, struct scb_error **err);

#endif
