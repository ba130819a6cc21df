// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb gc`: remove what no container owns any more (lib/gc.c
 * finds it), saying what and why. */
#include <argp.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "args.h"
#include "cmd.h"
#include "gc.h"

struct gc_args {
	bool json;
	bool dry_run;
};

static const char gc_doc[] =
	"Remove state that no container owns any more: links whose cgroup is gone,\n"
	"links or map entries without their counterpart, netns targets whose netns\n"
	"is gone. Prints what it removed; --dry-run only prints.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb gc\n"
	"    sockops-cb gc --dry-run --json";

static error_t gc_parse(int key, char *arg, struct argp_state *state)
{
	struct gc_args *a = state->input;

	if (key != 'n')
		return view_parse(key, arg, state, &a->json, NULL, NULL);
	a->dry_run = true;
	return 0;
}

static void print_removal(void *ctx, const char *what, const char *id, const char *why)
{
	const struct gc_args *a = ctx;
	cJSON *o;

	if (!a->json) {
		printf("%s %s %s: %s\n", a->dry_run ? "would remove" : "removed", what, id, why);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "removed", what);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "reason", why);
	cJSON_AddBoolToObject(o, "dry_run", a->dry_run);
	json_print_line(o);
}

int cmd_gc(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "json", 'j', NULL, 0, "One JSON object per removal", 0 },
		{ "dry-run", 'n', NULL, 0, "Only say what would be removed", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = gc_parse, .doc = gc_doc };
	struct gc_args a = { 0 };
	struct scb_node *n;
	int ret, found;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	ret = node_open(&n, NODE_WRITE, err);
	if (ret)
		return ret > 0 ? 0 : -1;
	ret = node_gc(n, a.dry_run, print_removal, &a, &found, err);
	node_close(n);
	if (!ret && !a.json && !found)
		printf("nothing to remove\n");
	return ret;
}
