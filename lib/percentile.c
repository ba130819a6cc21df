// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "percentile.h"

double rtt_percentile(const struct scb_stats *s, double q)
{
	double rank = q * (double)s->rtt_samples, cum = 0, low, high, v;
	int i;

	if (!s->rtt_samples)
		return 0;
	for (i = 0; i < SCB_RTT_SLOTS; i++) {
		if (!s->rtt_hist[i] || cum + (double)s->rtt_hist[i] < rank) {
			cum += (double)s->rtt_hist[i];
			continue;
		}
		low = (double)scb_rtt_low(i);
		high = (double)scb_rtt_high(i);
		v = low + (high - low) * (rank - cum) / (double)s->rtt_hist[i];
		/* The last bucket has no upper bound but the largest value. */
		if (s->rtt_max_us && (v > (double)s->rtt_max_us || i == SCB_RTT_SLOTS - 1))
			v = (double)s->rtt_max_us;
		return v;
	}
	return (double)s->rtt_max_us;
}

void rtt_octaves(const struct scb_stats *s, __u64 out[32])
{
	int i;

	memset(out, 0, 32 * sizeof(out[0]));
	for (i = 0; i < SCB_RTT_SLOTS; i++)
		out[scb_rtt_low(i) ? scb_log2((__u32)scb_rtt_low(i)) : 0] += s->rtt_hist[i];
}
