/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Percentiles from the RTT histogram (bpf/rtthist.h). */
#ifndef __SCB_PERCENTILE_H
#define __SCB_PERCENTILE_H

#include <stdint.h>
#include "sockops.h"

/* The q-quantile (0 < q <= 1) in µs, interpolated linearly inside its
 * bucket (at most 12.5% of its lower bound wide) and never above the
 * largest value seen; 0 without samples. */
double rtt_percentile(const struct scb_stats *s, double q);
/* The fine buckets summed per power of two (out[k]: [2^k, 2^(k+1)),
 * out[0] also holds 0), for a log2 view like libbpf-tools'. */
void rtt_octaves(const struct scb_stats *s, __u64 out[32]);

#endif
