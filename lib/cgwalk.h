/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Visit a cgroup directory and every cgroup below it. Subdirectories only,
 * found by readdir's d_type: no stat of the ~30 control files of each
 * cgroup, which would fill the kernel's dentry and inode caches (~14 KiB
 * per cgroup, measured by bench/scale.sh with nftw). */
#ifndef __SCB_CGWALK_H
#define __SCB_CGWALK_H

/* fn returns non-zero to stop the walk; depth is 0 for abs itself. */
typedef int (*cgwalk_fn)(const char *path, int depth, void *ctx);

/* Returns what fn stopped with, or 0. */
int cgwalk(const char *abs, cgwalk_fn fn, void *ctx);

#endif
