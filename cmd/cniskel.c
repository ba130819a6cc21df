// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The CNI protocol around the plugin's actions, as the CNI project's
 * pkg/skel does for its plugins: the environment, stdin, VERSION and
 * STATUS, the spec's version gates, and errors as the spec's JSON on
 * stdout (SPEC.md "Error") with the message on stderr too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cgroup.h"
#include "cniskel.h"
#include "output.h"
#include "readall.h"

#define CNI_STDIN_MAX		(16 << 20)

static int read_stdin(char **buf, size_t *len, struct scb_error **err)
{
	if (!read_all(stdin, CNI_STDIN_MAX, buf, len))
		return 0;
	if (errno == EFBIG)
		return scb_error_set(err, SCB_ERR_DECODE, "stdin is over %d MiB",
				     CNI_STDIN_MAX >> 20);
	return scb_error_set(err, SCB_ERR_DECODE, "cannot read stdin: %s", strerror(errno));
}

int cni_need_env(const char *name, const char *val, struct scb_error **err)
{
	if (!val || !*val)
		return scb_error_set(err, SCB_ERR_ENV, "environment variable %s is required", name);
	return 0;
}

static int cni_version_cmd(struct cni_req *r)
{
	cJSON *o = cJSON_CreateObject(), *arr;

	cJSON_AddStringToObject(o, "cniVersion", cni_version_spoken());
	arr = cJSON_AddArrayToObject(o, "supportedVersions");
	for (const char *const *p = cni_versions; *p; p++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(*p));
	json_print_line(o);
	return 0;
}

static int cni_status(struct scb_error **err)
{
	char mnt[4096];

	if (cgroup2_mount(mnt, sizeof(mnt), err))
		return scb_error_wrap(err, "not available");
	if (access("/sys/fs/bpf", F_OK)) {
		scb_error_set(err, 50, "not available: no /sys/fs/bpf to pin BPF objects in");
		return -1;
	}
	return 0;
}

static void read_env(struct cni_env *e)
{
	e->command = getenv("CNI_COMMAND");
	e->container_id = getenv("CNI_CONTAINERID");
	e->netns = getenv("CNI_NETNS");
	e->ifname = getenv("CNI_IFNAME");
	e->args = getenv("CNI_ARGS");
}

/* The spec's gates: CHECK came with 0.4.0, STATUS and GC with 1.1.0. A
 * command older configs cannot have asked for is the spec's error 1. */
static int command_allowed(const char *cmd, struct scb_error **err)
{
	static const struct {
		const char *cmd;
		const char *since;
	} gates[] = { { "CHECK", "0.4.0" }, { "STATUS", "1.1.0" }, { "GC", "1.1.0" } };
	size_t i;

	for (i = 0; i < sizeof(gates) / sizeof(gates[0]); i++)
		if (!strcmp(cmd, gates[i].cmd) &&
		    cni_version_rank(cni_version_spoken()) < cni_version_rank(gates[i].since))
			return scb_error_set(err, 1,
					     "incompatible CNI version: %s needs cniVersion %s or later, not %s",
					     cmd, gates[i].since, cni_version_spoken());
	return 0;
}

static int dispatch(const struct cni_plugin *p, const struct cni_env *e, struct cni_req *r,
		    struct scb_error **err)
{
	if (command_allowed(e->command, err))
		return -1;
	/* DEL is best effort, whatever the config (docs/cni.md). */
	if (!r->name[0] && strcmp(e->command, "STATUS") && strcmp(e->command, "DEL"))
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "the network configuration has no \"name\" (the spec requires one)");
	if (!strcmp(e->command, "ADD"))
		return p->add(e, r, err);
	if (!strcmp(e->command, "DEL"))
		return p->del(e, r, err);
	if (!strcmp(e->command, "CHECK"))
		return p->check(e, r, err);
	if (!strcmp(e->command, "STATUS"))
		return cni_status(err);
	if (!strcmp(e->command, "GC"))
		return p->gc(r, err);
	return scb_error_set(err, SCB_ERR_ENV,
			     "CNI_COMMAND \"%s\" is not one of ADD DEL CHECK VERSION STATUS GC",
			     e->command);
}

static int run(const struct cni_plugin *p, struct scb_error **err)
{
	struct cni_req r = { 0 };
	struct cni_env e;
	char *buf = NULL;
	size_t len;
	int ret;

	read_env(&e);
	ret = read_stdin(&buf, &len, err);
	if (!ret && !strcmp(e.command, "VERSION")) {
		/* VERSION must answer even for a config it cannot use. */
		scb_error_free(err);
		cni_parse(buf, len, &r, false, err);
		scb_error_free(err);
		ret = cni_version_cmd(&r);
	} else if (!ret) {
		ret = cni_parse(buf, len, &r, true, err);
		if (!ret) {
			cni_arg(e.args, "K8S_POD_NAMESPACE", r.pod_ns, sizeof(r.pod_ns));
			cni_arg(e.args, "K8S_POD_NAME", r.pod_name, sizeof(r.pod_name));
			ret = dispatch(p, &e, &r, err);
		}
	}
	cni_req_free(&r);
	free(buf);
	return ret;
}

int cni_skel_main(const struct cni_plugin *p)
{
	struct scb_error *err = NULL;
	cJSON *o;

	if (!run(p, &err))
		return 0;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cniVersion", cni_version_spoken());
	cJSON_AddNumberToObject(o, "code", err ? err->code : SCB_ERR_INTERNAL);
	cJSON_AddStringToObject(o, "msg", err && err->msg ? err->msg : "failed");
	cJSON_AddStringToObject(o, "details", "sockops-cb CNI plugin");
	json_print_line(o);
	fprintf(stderr, "sockops-cb: %s\n", err && err->msg ? err->msg : "failed");
	scb_error_free(&err);
	return 1;
}
