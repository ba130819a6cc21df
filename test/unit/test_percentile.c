// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* rtthist.h and percentile.c: the RTT buckets and the percentiles read
 * from them, against the exact values of known samples. */
#include <stdlib.h>
#include "tap.h"
#include "percentile.h"

/* Every value lands in the bucket whose bounds hold it; buckets tile
 * 0..2^26 without gaps and are at most 12.5% as wide as their low. */
static int test_buckets(void)
{
	__u32 v, slot, prev = 0;

	for (v = 0; v < (1U << 26); v = v < 4096 ? v + 1 : v + v / 97 + 1) {
		slot = scb_rtt_slot(v);
		CHECK(slot < SCB_RTT_SLOTS);
		CHECK(scb_rtt_low(slot) <= v && v < scb_rtt_high(slot));
		CHECK(slot >= prev);
		prev = slot;
	}
	for (slot = 0; slot + 1 < SCB_RTT_SLOTS; slot++) {
		CHECK(scb_rtt_high(slot) == scb_rtt_low(slot + 1));
		if (slot >= 8)
			CHECK((scb_rtt_high(slot) - scb_rtt_low(slot)) * 8 <= scb_rtt_low(slot));
	}
	CHECK(scb_rtt_high(SCB_RTT_SLOTS - 1) == 1ULL << 26);
	CHECK(scb_rtt_slot(0xffffffffU) == SCB_RTT_SLOTS - 1);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : *(const __u32 *)a > *(const __u32 *)b;
}

static void add(struct scb_stats *s, __u32 us)
{
	s->rtt_hist[scb_rtt_slot(us)]++;
	s->rtt_samples++;
	if (us > s->rtt_max_us)
		s->rtt_max_us = us;
}

/* A long-tailed mix: the estimate stays within 12.5% of the exact
 * nearest-rank percentile. */
static int test_percentiles_within_bound(void)
{
	static struct scb_stats s;
	static __u32 xs[20000];
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	double est, exact;
	int i, n = 20000;

	srand(7);
	for (i = 0; i < n; i++) {
		xs[i] = i % 10 ? 50 + rand() % 400 : 5000 + rand() % 200000;
		add(&s, xs[i]);
	}
	qsort(xs, n, sizeof(xs[0]), cmp_u32);
	for (i = 0; i < 4; i++) {
		exact = xs[(int)(qs[i] * n) - 1];
		est = rtt_percentile(&s, qs[i]);
		CHECK(est >= exact * 0.875 && est <= exact * 1.125);
	}
	CHECK(rtt_percentile(&s, 1.0) == s.rtt_max_us);
	return 0;
}

static int test_empty_and_single(void)
{
	static struct scb_stats s;
	__u64 oct[32];

	CHECK(rtt_percentile(&s, 0.99) == 0);
	add(&s, 100);
	CHECK(rtt_percentile(&s, 0.5) >= 96 && rtt_percentile(&s, 0.5) <= 100);
	rtt_octaves(&s, oct);
	CHECK(oct[6] == 1);	/* 100 is in [64, 128) */
	return 0;
}

int main(void)
{
	RUN_TEST(test_buckets);
	RUN_TEST(test_percentiles_within_bound);
	RUN_TEST(test_empty_and_single);
	return tap_done();
}
