// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb detach`: stop tracing one container (all its targets). */
#include <argp.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "group.h"
#include "target.h"
#include "text.h"

static const char detach_doc[] =
	"Stop tracing a target and remove its link, pins and map entries.\n"
	"\n"
	"NAME is the name given to attach, a container name, a full container id,\n"
	"or a unique id prefix of at least 12 hex characters: never a shorter\n"
	"prefix, so that one detach cannot remove a neighbour's tracing. It says\n"
	"what it removed; a NAME that matches nothing is an error listing what is\n"
	"traced.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb detach nginx\n"
	"    sockops-cb detach 4f2a9c0e1b7d";

static error_t one_arg_parse(int key, char *arg, struct argp_state *state)
{
	const char **name = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		if (*name)
			argp_usage(state);
		*name = arg;
		break;
	case ARGP_KEY_END:
		if (!*name)
			argp_error(state, "missing NAME");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_detach(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = { {} };
	const struct argp argp = { .options = opts, .parser = one_arg_parse,
				   .args_doc = "NAME", .doc = detach_doc };
	const char *name = NULL;
	struct scb_group g = { 0 };
	struct scb_node *n;
	struct scb_error *lookup = NULL;
	bool found;
	int ret, i;

	argp_parse(&argp, argc, argv, 0, NULL, &name);
	ret = node_open(&n, NODE_WRITE, err);
	if (ret)
		return ret > 0 ? 0 : -1;
	/* Exact names only: a prefix could remove a neighbour's tracing. An
	 * id with no entry still gets its stale pin removed, if any. */
	if (!group_find_exact(n, name, &g, &lookup))
		name = g.t.id;
	else if (!target_link_exists(name) || !text_valid_id(name)) {
		*err = lookup;
		node_close(n);
		return -1;
	}
	scb_error_free(&lookup);
	/* The whole container: the hook's cgroup target and CNI's. */
	ret = target_detach(n, name, false, &found, err);
	for (i = 0; !ret && i < g.n_keys; i++)
		ret = target_drop(n, g.keys[i], err);
	if (!ret && g.t.name[0] && strcmp(g.t.name, name))
		printf("detached %s (%s)\n", name, g.t.name);
	else if (!ret)
		printf("detached %s\n", name);
	node_close(n);
	return ret;
}
