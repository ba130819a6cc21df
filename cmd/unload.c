// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb unload`: remove the node's program and maps. */
#include <argp.h>
#include <stdbool.h>
#include "cmd.h"
#include "node.h"

static const char unload_doc[] =
	"Remove the pinned program and maps from bpffs.\n"
	"\n"
	"Refuses while targets are attached, unless --force, which detaches them.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb unload\n"
	"    sockops-cb unload --force";

static error_t unload_parse(int key, char *arg, struct argp_state *state)
{
	bool *force = state->input;

	if (key != 'f')
		return ARGP_ERR_UNKNOWN;
	*force = true;
	return 0;
}

int cmd_unload(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "force", 'f', NULL, 0, "Detach every target first", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = unload_parse, .doc = unload_doc };
	bool force = false;

	argp_parse(&argp, argc, argv, 0, NULL, &force);
	return node_unload(force, err);
}
