/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The RTT histogram's buckets, shared by the program (which counts) and
 * user space (which reads them as bounds and percentiles).
 *
 * Log-linear, in µs: 0..7 one bucket each, then each power of two
 * [2^k, 2^(k+1)) in 8 equal buckets of 2^(k-3). A bucket is at most
 * 12.5% as wide as its lower bound, so a percentile read from it is
 * within 12.5% of the true value. 192 buckets reach 2^26 µs (67 s);
 * longer RTTs count in the last one. */
#ifndef __SCB_RTTHIST_H
#define __SCB_RTTHIST_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define SCB_RTT_SUB_BITS	3
#define SCB_RTT_SLOTS		192

/* floor(log2(v)) for v > 0, in integer steps the verifier accepts. */
static __always_inline __u32 scb_log2(__u32 v)
{
	__u32 r = 0;

	if (v >= (1U << 16)) { v >>= 16; r += 16; }
	if (v >= (1U << 8)) { v >>= 8; r += 8; }
	if (v >= (1U << 4)) { v >>= 4; r += 4; }
	if (v >= (1U << 2)) { v >>= 2; r += 2; }
	if (v >= (1U << 1)) r += 1;
	return r;
}

static __always_inline __u32 scb_rtt_slot(__u32 us)
{
	__u32 k, slot;

	if (us < (1U << SCB_RTT_SUB_BITS))
		return us;
	k = scb_log2(us);
	slot = ((k - SCB_RTT_SUB_BITS + 1) << SCB_RTT_SUB_BITS) +
	       ((us >> (k - SCB_RTT_SUB_BITS)) & ((1U << SCB_RTT_SUB_BITS) - 1));
	return slot < SCB_RTT_SLOTS ? slot : SCB_RTT_SLOTS - 1;
}

/* The bucket's bounds: [low, high) µs. */
static __always_inline __u64 scb_rtt_low(__u32 slot)
{
	__u32 k, j;

	if (slot < (1U << SCB_RTT_SUB_BITS))
		return slot;
	k = (slot >> SCB_RTT_SUB_BITS) + SCB_RTT_SUB_BITS - 1;
	j = slot & ((1U << SCB_RTT_SUB_BITS) - 1);
	return (1ULL << k) + ((__u64)j << (k - SCB_RTT_SUB_BITS));
}

static __always_inline __u64 scb_rtt_high(__u32 slot)
{
	__u32 k = (slot >> SCB_RTT_SUB_BITS) + SCB_RTT_SUB_BITS - 1;

	if (slot < (1U << SCB_RTT_SUB_BITS))
		return slot + 1;
	return scb_rtt_low(slot) + (1ULL << (k - SCB_RTT_SUB_BITS));
}

#endif
