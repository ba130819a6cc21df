/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finding cgroup v2 directories: the mount from mountinfo (hybrid or pure
 * v2 hosts alike), a process's cgroup, and a cgroup's id. */
#ifndef __SCB_CGROUP_H
#define __SCB_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* Mount point of the first cgroup2 mount in mountinfo text. */
int cgroup_parse_mountinfo(const char *text, char *out, size_t len);
/* The "0::/path" line of /proc/PID/cgroup text. */
int cgroup_parse_proc(const char *text, char *out, size_t len);

int cgroup2_mount(char *out, size_t len, struct scb_error **err);
/* Path relative to the cgroup2 root of PID's cgroup. */
int cgroup_of_pid(pid_t pid, char *out, size_t len, struct scb_error **err);
/* Absolute directory of a cgroup given relative to the cgroup2 root;
 * refuses "..", and anything that is not an existing directory below. */
int cgroup_resolve(const char *rel, char *abs, size_t len, struct scb_error **err);
/* Is abs (from cgroup_resolve) the cgroup2 root itself? Tracing it
 * counts every socket on the node to one target. */
bool cgroup_is_root(const char *abs);
/* systemd slice notation ("kubepods-besteffort-pod1.slice") to its path
 * ("/kubepods.slice/kubepods-besteffort.slice/..."); other paths as is. */
int cgroup_expand_slice(const char *in, char *out, size_t len);
int cgroup_id(const char *abs, uint64_t *id, struct scb_error **err);

#endif
