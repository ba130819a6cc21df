// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "conntime.h"

#define CT_BITS	16
#define CT_SLOTS (1U << CT_BITS)
#define CT_MASK	(CT_SLOTS - 1)
#define CT_MAX	(CT_SLOTS / 4 * 3)	/* keep probes short */

struct conntime {
	uint64_t cookie[CT_SLOTS];
	uint64_t start[CT_SLOTS];
	uint32_t count;
};

static uint32_t home(uint64_t cookie)
{
	/* Fibonacci hashing: cookies are sequential. */
	return (uint32_t)((cookie * 0x9E3779B97F4A7C15ULL) >> (64 - CT_BITS));
}

struct conntime *conntime_new(void)
{
	return calloc(1, sizeof(struct conntime));
}

void conntime_free(struct conntime *t)
{
	free(t);
}

void conntime_start(struct conntime *t, uint64_t cookie, uint64_t ts_ns)
{
	uint32_t i;

	if (!cookie || t->count >= CT_MAX)
		return;
	for (i = home(cookie); t->cookie[i]; i = (i + 1) & CT_MASK)
		if (t->cookie[i] == cookie)
			return;
	t->cookie[i] = cookie;
	t->start[i] = ts_ns;
	t->count++;
}

/* Is slot k's entry (home h) still reachable if the hole at i is filled
 * by it? Only if i lies cyclically in [h, k). */
static bool movable(uint32_t h, uint32_t i, uint32_t k)
{
	return ((k - h) & CT_MASK) >= ((k - i) & CT_MASK);
}

/* Linear-probing deletion without tombstones: shift later entries of
 * the run back into the hole. */
static void remove_at(struct conntime *t, uint32_t i)
{
	uint32_t k = i;

	for (;;) {
		k = (k + 1) & CT_MASK;
		if (!t->cookie[k])
			break;
		if (movable(home(t->cookie[k]), i, k)) {
			t->cookie[i] = t->cookie[k];
			t->start[i] = t->start[k];
			i = k;
		}
	}
	t->cookie[i] = 0;
	t->count--;
}

bool conntime_end(struct conntime *t, uint64_t cookie, uint64_t *ts_ns)
{
	uint32_t i;

	if (!cookie)
		return false;
	for (i = home(cookie); t->cookie[i]; i = (i + 1) & CT_MASK)
		if (t->cookie[i] == cookie) {
			*ts_ns = t->start[i];
			remove_at(t, i);
			return true;
		}
	return false;
}
