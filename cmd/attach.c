// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb attach`: tracing by hand on hosts with no runtime hook,
 * for a cgroup v2 directory the admin names. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cgroup.h"
#include "args.h"
#include "cmd.h"
#include "config.h"
#include "existing.h"
#include "flagnames.h"
#include "group.h"
#include "target.h"
#include "text.h"

struct attach_args {
	const char *cgroup;
	const char *name;
	const char *flags;
	const char *set;
	const char *config;
	bool force;
};

static const char attach_doc[] =
	"Trace the TCP connections of a cgroup v2 directory.\n"
	"\n"
	"The cgroup is given relative to the cgroup2 mount (or as an absolute path\n"
	"below it). NAME identifies it in list, stats, trace and detach.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb attach --cgroup /system.slice/nginx.service --name nginx --flags RTT,STATE\n"
	"    sockops-cb attach --cgroup /mypod --name mypod --flag-set full";

static const struct argp_option attach_opts[] = {
	{ "cgroup", 'g', "PATH", 0, "cgroup v2 directory to trace", 0 },
	{ "name", 'n', "NAME", 0, "Name of the target: 1-128 of [A-Za-z0-9_.-]", 0 },
	{ "flags", 'f', "LIST", 0, "Flags, e.g. RTT,STATE,RETRANS,RTO", 0 },
	{ "flag-set", 's', "SET", 0, "A flag set named in the config", 0 },
	ARGS_OPT_CONFIG,
	ARGS_OPT_VERBOSE,
	{ "force", 'F', NULL, 0, "Trace even the cgroup2 root (every socket of the node)", 0 },
	{},
};

static error_t attach_parse(int key, char *arg, struct argp_state *state)
{
	struct attach_args *a = state->input;

	switch (key) {
	case 'g':
		a->cgroup = arg;
		break;
	case 'n':
		a->name = arg;
		break;
	case 'f':
		a->flags = arg;
		break;
	case 's':
		a->set = arg;
		break;
	case 'F':
		a->force = true;
		break;
	case ARGP_KEY_END:
		if (!a->cgroup || !a->name)
			argp_error(state, "--cgroup and --name are required");
		break;
	default:
		return load_parse(key, arg, &a->config);
	}
	return 0;
}

/* A running workload's open connections get the flags too, where the
 * kernel allows it; list shows how many, or why none. */
static int enable_existing(struct scb_node *n, struct scb_target *t, const char *abs,
			   struct scb_error **err)
{
	uint32_t enabled;
	int kerr;

	if (!t->flags)
		return 0;
	if (existing_enable(abs, t->cgroup_id, &enabled, &kerr, err))
		return -1;
	t->existing_enabled = enabled;
	t->existing_err = kerr;
	if (kerr)
		fprintf(stderr,
			"sockops-cb: this kernel cannot enable connections opened before the attach (%s); only new connections of %s are traced\n",
			strerror(-kerr), t->id);
	else if (enabled)
		fprintf(stderr, "sockops-cb: enabled %u existing connection(s) of %s\n",
			enabled, t->id);
	return target_update(n, t->cgroup_id, t, err);
}

int cmd_attach(int argc, char **argv, struct scb_error **err)
{
	const struct argp argp = { .options = attach_opts, .parser = attach_parse,
				   .doc = attach_doc };
	struct attach_args a = { 0 };
	struct scb_request req;
	struct scb_config cfg;
	struct scb_target t = { 0 };
	struct scb_node *n;
	char abs[4096], mnt[4096], esc[96];
	int ret;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	if (!text_valid_id(a.name))
		return scb_error_set(err, SCB_ERR_INPUT,
				     "name \"%s\" is not 1-128 characters of [A-Za-z0-9_.-]",
				     text_escape(a.name, esc, sizeof(esc)));
	if (config_load(a.config, &cfg, err) ||
	    config_request(&cfg, a.flags, a.set, &req, err) ||
	    cgroup_resolve(a.cgroup, abs, sizeof(abs), err) ||
	    cgroup2_mount(mnt, sizeof(mnt), err))
		return -1;
	if (req.requested & ~req.effective)
		fprintf(stderr, "sockops-cb: %s above the config's maxFlags: not asked of the kernel\n",
			flags_format(req.requested & ~req.effective, esc, sizeof(esc)));
	if (cgroup_is_root(abs) && !a.force)
		return scb_error_set(err, SCB_ERR_INPUT,
				     "%s is the cgroup2 root: every socket on the node would count for %s; add --force if that is what you want",
				     a.cgroup, a.name);
	target_init(&t, a.name, a.name, SCB_ORIGIN_MANUAL, &req);
	text_label(t.cgroup, sizeof(t.cgroup), abs + strlen(mnt));
	if (!t.cgroup[0])
		snprintf(t.cgroup, sizeof(t.cgroup), "/");
	if (node_open(&n, NODE_CREATE, err))
		return -1;
	ret = target_attach_cgroup(n, &t, abs, err);
	if (!ret)
		ret = enable_existing(n, &t, abs, err);
	node_close(n);
	return ret ? scb_error_wrap(err, "attach %s", a.name) : 0;
}
