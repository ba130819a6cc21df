// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb hook STAGE`: the OCI runtime hook. createRuntime attaches
 * the container's cgroup, poststop removes every trace of it. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cgroup.h"
#include "args.h"
#include "cmd.h"
#include "config.h"
#include "ocistate.h"
#include "target.h"
#include "text.h"

struct hook_args {
	const char *stage;
	const char *config;
};

static const char hook_doc[] =
	"Run as an OCI runtime hook: read the container state on stdin.\n"
	"\n"
	"STAGE is createRuntime (or prestart) to attach the container's cgroup, or\n"
	"poststop to detach it and remove its pins and map entries.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb hook createRuntime --config /etc/sockops-cb/config.json\n"
	"    sockops-cb hook poststop";

static const struct argp_option hook_opts[] = {
	ARGS_OPT_CONFIG,
	ARGS_OPT_VERBOSE,
	{},
};

static error_t hook_parse(int key, char *arg, struct argp_state *state)
{
	struct hook_args *a = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		if (a->stage)
			argp_usage(state);
		a->stage = arg;
		break;
	case ARGP_KEY_END:
		if (!a->stage)
			argp_error(state, "missing STAGE (createRuntime or poststop)");
		break;
	default:
		return load_parse(key, arg, &a->config);
	}
	return 0;
}

static void fill_target(struct scb_target *t, const struct oci_state *st,
			const struct scb_request *req, const char *cg_rel, bool retain)
{
	target_init(t, st->id, "", SCB_ORIGIN_HOOK, req);
	oci_state_names(st, t->name, t->pod_ns, t->pod_name);
	/* Runtimes remove the cgroup, and the kernel its link's storage,
	 * before poststop: counters to keep must live elsewhere from the
	 * start. */
	t->store = retain ? SCB_STORE_HASH : SCB_STORE_LINK;
	text_label(t->cgroup, sizeof(t->cgroup), cg_rel);
}

static int attach_container(const struct oci_state *st, const struct scb_request *req,
			    bool retain, struct scb_error **err)
{
	char rel[4096], abs[4096];
	struct scb_target t;
	struct scb_node *n;
	int ret;

	if (!st->pid)
		return scb_error_set(err, SCB_ERR_INPUT,
				     "the OCI state has no pid: run this hook at createRuntime, not %s",
				     "a later stage");
	if (cgroup_of_pid(st->pid, rel, sizeof(rel), err) ||
	    cgroup_resolve(rel, abs, sizeof(abs), err))
		return -1;
	if (cgroup_is_root(abs))
		return scb_error_set(err, SCB_ERR_CGROUP,
				     "pid %d is in the cgroup2 root: tracing it would count every socket on the node; not attaching",
				     (int)st->pid);
	fill_target(&t, st, req, rel, retain);
	if (node_open(&n, NODE_CREATE, err))
		return -1;
	ret = target_attach_cgroup(n, &t, abs, err);
	node_close(n);
	return ret;
}

/* Did the container ask for tracing itself (an annotation of ours)? */
static bool asks_for_tracing(const struct oci_state *st)
{
	return st->annotations &&
	       (cJSON_GetObjectItemCaseSensitive(st->annotations, SCB_ANN_FLAG_SET) ||
		cJSON_GetObjectItemCaseSensitive(st->annotations, SCB_ANN_FLAGS));
}

static int hook_create(const struct scb_config *cfg, const struct oci_state *st,
		       struct scb_error **err)
{
	struct scb_request req;

	/* A bad annotation is the tenant's mistake: always refuse it, so the
	 * container does not silently run with other tracing than asked. */
	if (st->has_nul && asks_for_tracing(st))
		return scb_error_set(err, SCB_ERR_INPUT,
				     "the OCI state has a NUL (\\u0000) in a string: an annotation value cut there would not be what was asked; annotation values must be text");
	if (config_resolve(cfg, st->annotations, &req, err))
		return -1;
	if (!req.traced)
		return 0;
	if (attach_container(st, &req, cfg->retain_stats, err) && config_runs_untraced(cfg, *err)) {
		scb_error_wrap(err, "container %.12s runs untraced%s", st->id,
			       config_why_untraced(cfg, *err));
		scb_warn(*err);
		scb_error_free(err);
		return 0;
	}
	return *err ? -1 : 0;
}

/* retain: keep the counters (retainStats); -1: as the target was
 * attached (its counters in the hashes mean it was with retainStats). */
static int hook_poststop(const struct oci_state *st, int retain, struct scb_error **err)
{
	struct scb_target t;
	struct scb_node *n;
	bool found;
	int ret;

	ret = node_open(&n, NODE_WRITE, err);
	if (ret)
		return ret > 0 ? 0 : -1;	/* nothing pinned: nothing to do */
	if (retain < 0)	/* as it was attached */
		retain = !target_get(n, target_link_key(st->id), &t) &&
			 t.store == SCB_STORE_HASH;
	ret = target_detach(n, st->id, retain, &found, err);
	node_close(n);
	return ret;
}

/* The node's config; a --config that does not exist means the built-in
 * defaults, as docs/config.md says. */
static int hook_config(const char *path, struct scb_config *cfg, struct scb_error **err)
{
	if (path && access(path, F_OK) && errno == ENOENT) {
		fprintf(stderr, "sockops-cb: config %s does not exist: built-in defaults apply\n",
			path);
		config_defaults(cfg);
		return 0;
	}
	return config_load(path, cfg, err);
}

/* A config that cannot be read must not stop a container that asked for
 * nothing: it runs untraced, with one line saying why. One that asked is
 * refused, as a bad annotation is: onError itself is in the broken file. */
static int create_without_config(const struct oci_state *st, struct scb_error **err)
{
	struct scb_error *cause = *err;

	if (asks_for_tracing(st)) {
		*err = NULL;
		scb_error_set(err, SCB_ERR_CONFIG,
			      "%s; the container asks for tracing: fix the config or remove the annotation",
			      cause->msg);
		scb_error_free(&cause);
		return -1;
	}
	fprintf(stderr, "sockops-cb: %s; container %.12s asked for no tracing and runs untraced: fix the config\n",
		(*err)->msg, st->id);
	scb_error_free(err);
	return 0;
}

/* poststop with an unreadable config: remove the container's tracing,
 * keeping its counters if it was attached with retainStats. */
static int poststop_without_config(const struct oci_state *st, struct scb_error **err)
{
	fprintf(stderr, "sockops-cb: %s; removing container %.12s's tracing anyway\n",
		(*err)->msg, st->id);
	scb_error_free(err);
	return hook_poststop(st, -1, err);
}

static bool is_create_stage(const char *stage)
{
	return !strcmp(stage, "createRuntime") || !strcmp(stage, "prestart");
}

int cmd_hook(int argc, char **argv, struct scb_error **err)
{
	const struct argp argp = { .options = hook_opts, .parser = hook_parse,
				   .args_doc = "STAGE", .doc = hook_doc };
	struct hook_args a = { 0 };
	struct scb_config cfg;
	struct oci_state st;
	int ret;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	if (!is_create_stage(a.stage) && strcmp(a.stage, "poststop"))
		return scb_error_set(err, SCB_ERR_INPUT,
				     "hook stage \"%s\" is not supported: use createRuntime (or prestart) and poststop; createContainer and startContainer run inside the container",
				     a.stage);
	if (oci_state_read(stdin, &st, err))
		return -1;
	if (hook_config(a.config, &cfg, err))
		ret = is_create_stage(a.stage) ? create_without_config(&st, err) :
						 poststop_without_config(&st, err);
	else if (is_create_stage(a.stage))
		ret = hook_create(&cfg, &st, err);
	else
		ret = hook_poststop(&st, cfg.retain_stats, err);
	if (ret)
		scb_error_wrap(err, "hook %s for container %.12s", a.stage, st.id);
	oci_state_free(&st);
	return ret;
}
