// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdint.h>
#include "existing.h"
#include "loader.h"
#include "nsiter.h"
#include "sockops.h"

struct enable_ctx {
	uint64_t key;
	uint32_t enabled;
	int kerr;
};

static void count(const void *rec, void *ctx)
{
	const struct scb_enable_rec *r = rec;
	struct enable_ctx *c = ctx;

	if (r->target != c->key)
		return;
	if (r->err)
		c->kerr = r->err;
	else
		c->enabled++;
}

int existing_enable(const char *cg_abs, uint64_t key, uint32_t *enabled, int *kerr,
		    struct scb_error **err)
{
	struct enable_ctx c = { .key = key };
	int ret;

	ret = nsiter_cgroup(cg_abs, SCB_ENABLE_PIN, sizeof(struct scb_enable_rec), count, &c,
			    err);
	*enabled = c.enabled;
	*kerr = c.kerr;
	return ret;
}
