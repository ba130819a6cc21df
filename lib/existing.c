// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdint.h>
#include <unistd.h>
#include "existing.h"
#include "node.h"
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
	struct scb_error *ierr = NULL;
	int ret, prog_fd;

	*enabled = 0;
	prog_fd = node_iter_prog(SCB_ITER_ENABLE, &ierr);
	if (prog_fd < 0) {
		/* Like a kernel without TCP_BPF_SOCK_OPS_CB_FLAGS: new
		 * connections are traced, old ones cannot be. */
		*kerr = prog_fd;
		scb_error_free(&ierr);
		return 0;
	}
	ret = nsiter_cgroup(cg_abs, prog_fd, sizeof(struct scb_enable_rec), count, &c, err);
	close(prog_fd);
	*enabled = c.enabled;
	*kerr = c.kerr;
	return ret;
}
