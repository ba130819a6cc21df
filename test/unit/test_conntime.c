// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* conntime.c: connection starts by cookie, for trace's CLOSE durations. */
#include "tap.h"
#include "conntime.h"

static int test_start_end(void)
{
	struct conntime *t = conntime_new();
	uint64_t ts = 0;

	CHECK(t);
	conntime_start(t, 42, 1000);
	conntime_start(t, 42, 2000);	/* first sighting wins */
	CHECK(conntime_end(t, 42, &ts));
	CHECK(ts == 1000);
	CHECK(!conntime_end(t, 42, &ts));	/* forgotten once ended */
	CHECK(!conntime_end(t, 7, &ts));
	conntime_start(t, 0, 5);		/* no socket has cookie 0 */
	CHECK(!conntime_end(t, 0, &ts));
	conntime_free(t);
	return 0;
}

/* Many live entries, removed in an order that makes deletions shift
 * entries of colliding runs: every one must stay findable. */
static int test_many_interleaved(void)
{
	struct conntime *t = conntime_new();
	uint64_t c, ts;
	int bad = 0;

	for (c = 1; c <= 40000; c++)
		conntime_start(t, c * 65536, c);	/* same low bits: collisions */
	for (c = 1; c <= 40000; c += 2)
		if (!conntime_end(t, c * 65536, &ts) || ts != c)
			bad++;
	for (c = 2; c <= 40000; c += 2)
		if (!conntime_end(t, c * 65536, &ts) || ts != c)
			bad++;
	CHECK(bad == 0);
	conntime_free(t);
	return 0;
}

/* A full table refuses new starts instead of growing without bound,
 * and takes them again once connections end. */
static int test_bounded(void)
{
	struct conntime *t = conntime_new();
	uint64_t c, ts, last = 0;

	for (c = 1; c <= 100000; c++)
		conntime_start(t, c, c);
	for (c = 1; c <= 100000; c++)
		if (conntime_end(t, c, &ts))
			last = c;
	CHECK(last > 40000 && last < 100000);
	conntime_start(t, 123456789, 9);
	CHECK(conntime_end(t, 123456789, &ts) && ts == 9);
	conntime_free(t);
	return 0;
}

int main(void)
{
	RUN_TEST(test_start_end);
	RUN_TEST(test_many_interleaved);
	RUN_TEST(test_bounded);
	return tap_done();
}
