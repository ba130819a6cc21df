/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What list, stats and trace share when they show a target. */
#ifndef __SCB_DISPLAY_H
#define __SCB_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "sockops.h"

struct cJSON;

const char *tcp_state_name(unsigned int state);
/* libbpf-tools' print_log2_hist: "usecs : count distribution" */
void print_log2_hist(FILE *out, const __u64 *vals, int n, const char *unit);
/* id, name, pod, cgroup and flags of a target as JSON fields. */
void target_json_fields(struct cJSON *obj, const struct scb_target *t);
/* The label a person reads: name, else the 12-char short id. */
const char *target_label(const struct scb_target *t);

/* What the RTT histogram of s holds: "samples" (the kernel's measured
 * RTTs, Linux >= 6.10), "smoothed" (the smoothed RTT of each window:
 * older kernels pass no sample), or "none" yet. */
const char *rtt_values_name(const struct scb_stats *s);

/* Both addresses as text; returns the family shown (AF_INET for
 * v4-mapped IPv6). */
int format_addrs(int family, const __u32 *saddr, const __u32 *daddr, char *s, char *d,
		 size_t len);

#endif
