// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CNI plugin role (SPEC.md 0.4.0, 1.0.0, 1.1.0), chained after the
 * interface plugins. ADD registers the pod: by cgroup when the runtime
 * passes runtimeConfig.cgroupPath (containerd, CRI-O), else by its netns
 * cookie (podman's CNI backend runs ADD before the cgroup exists). It
 * prints prevResult back unchanged. See docs/cni.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cgroup.h"
#include "cmd.h"
#include "cni.h"
#include "kfeatures.h"
#include "config.h"
#include "netns.h"
#include "readall.h"
#include "target.h"
#include "text.h"

#define CNI_STDIN_MAX		(16 << 20)
#define CNI_POD_ANNOTATIONS	"io.kubernetes.cri.pod-annotations"
#define CNI_VALID_ATTACHMENTS	"cni.dev/valid-attachments"

/* 0.3.x: what flannel, Calico and Cilium conflists still declare. */
static const char *const cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL };

struct cni_env {
	const char *command;
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *args;
};


/* Copied out of the request: the error JSON is printed after it is freed. */
static char cni_version[16] = "1.1.0";

/* The version error JSON answers in: the caller's when we know it. */
const char *cni_error_version(void)
{
	return cni_version;
}

static bool version_supported(const char *v)
{
	const char *const *p;

	for (p = cni_versions; *p; p++)
		if (!strcmp(v, *p))
			return true;
	return false;
}

static int read_stdin(char **buf, size_t *len, struct scb_error **err)
{
	if (!read_all(stdin, CNI_STDIN_MAX, buf, len))
		return 0;
	if (errno == EFBIG)
		return scb_error_set(err, SCB_ERR_DECODE, "stdin is over %d MiB",
				     CNI_STDIN_MAX >> 20);
	return scb_error_set(err, SCB_ERR_DECODE, "cannot read stdin: %s", strerror(errno));
}

static int need_env(const char *name, const char *val, struct scb_error **err)
{
	if (!val || !*val)
		return scb_error_set(err, SCB_ERR_ENV, "environment variable %s is required", name);
	return 0;
}

/* CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=name" */
void cni_arg(const char *args, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = args, *end;
	char val[256];
	size_t n;

	out[0] = '\0';
	while (p && *p) {
		end = strchr(p, ';');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			n -= klen + 1;
			if (n >= sizeof(val))
				n = sizeof(val) - 1;
			memcpy(val, p + klen + 1, n);
			val[n] = '\0';
			text_label(out, len, val);
			return;
		}
		p = end ? end + 1 : NULL;
	}
}

int cni_parse(const char *buf, size_t len, struct cni_req *r, bool need_version,
	      struct scb_error **err)
{
	const cJSON *v, *name;

	r->conf = cJSON_ParseWithLength(buf, len);
	if (!r->conf || !cJSON_IsObject(r->conf))
		return scb_error_set(err, SCB_ERR_DECODE,
				     "stdin is not a JSON object (the network configuration)");
	v = cJSON_GetObjectItemCaseSensitive(r->conf, "cniVersion");
	if (v && cJSON_IsString(v) && version_supported(v->valuestring))
		snprintf(cni_version, sizeof(cni_version), "%s", v->valuestring);
	if (need_version && (!cJSON_IsString(v) || !version_supported(v->valuestring)))
		return scb_error_set(err, 1, "incompatible CNI version %s (supported: 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0)",
				     cJSON_IsString(v) ? v->valuestring : "(missing)");
	name = cJSON_GetObjectItemCaseSensitive(r->conf, "name");
	r->name = cJSON_IsString(name) ? name->valuestring : "";
	r->prev = cJSON_GetObjectItemCaseSensitive(r->conf, "prevResult");
	r->rc = cJSON_GetObjectItemCaseSensitive(r->conf, "runtimeConfig");
	if (r->rc && !cJSON_IsObject(r->rc))
		return scb_error_set(err, SCB_ERR_CONFIG, "runtimeConfig must be an object");
	return 0;
}

/* GC keeps what the runtime lists in cni.dev/valid-attachments. */
static bool cni_attachment_valid(const cJSON *keep, const char *id,
				 const struct scb_attachment *att)
{
	const cJSON *a, *cid, *ifn;

	cJSON_ArrayForEach(a, keep) {
		cid = cJSON_GetObjectItemCaseSensitive(a, "containerID");
		ifn = cJSON_GetObjectItemCaseSensitive(a, "ifname");
		if (cJSON_IsString(cid) && !strcmp(cid->valuestring, id) &&
		    (!cJSON_IsString(ifn) || !strcmp(ifn->valuestring, att->ifname)))
			return true;
	}
	return false;
}

/* Index of (network, ifname) among t's attachments, -1 if absent. */
static int attachment_index(const struct scb_target *t, const char *network, const char *ifname)
{
	uint32_t i;

	for (i = 0; i < t->n_attach && i < SCB_MAX_ATTACH; i++)
		if (!strcmp(t->attach[i].network, network) && !strcmp(t->attach[i].ifname, ifname))
			return i;
	return -1;
}

static void attachment_remove(struct scb_target *t, int i)
{
	memmove(&t->attach[i], &t->attach[i + 1], (t->n_attach - i - 1) * sizeof(t->attach[0]));
	t->n_attach--;
}

static int cni_check_link(const struct scb_target *t, struct scb_error **err)
{
	bool ok = t->kind == SCB_KIND_NETNS ? !access(SCB_NETNS_LINK, F_OK) :
		  target_link_exists(t->id);

	if (!ok)
		return scb_error_set(err, SCB_ERR_NOT_FOUND,
				     "the sockops-cb link of container %.12s is gone; re-create the container",
				     t->id);
	return 0;
}

/* The attachment as stored: what DEL and CHECK compare is labelled the
 * same way. */
static void attachment_of(struct scb_attachment *a, const struct cni_req *r,
			  const struct cni_env *e)
{
	text_label(a->network, sizeof(a->network), r->name);
	text_label(a->ifname, sizeof(a->ifname), e->ifname);
}

static void fill_target(struct scb_target *t, const struct cni_env *e, const struct cni_req *r,
			const struct scb_request *q)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", e->container_id);
	snprintf(t->name, sizeof(t->name), "%s", r->pod_name);
	snprintf(t->pod_ns, sizeof(t->pod_ns), "%s", r->pod_ns);
	snprintf(t->pod_name, sizeof(t->pod_name), "%s", r->pod_name);
	snprintf(t->flag_set, sizeof(t->flag_set), "%s", q->flag_set);
	attachment_of(&t->attach[0], r, e);
	t->n_attach = 1;
	t->requested = q->requested;
	t->flags = q->effective;
	t->origin = SCB_ORIGIN_CNI;
}

static int attach_cgroup(struct scb_node *n, struct scb_target *t, const char *path,
			 struct scb_error **err)
{
	char rel[4096], abs[4096], mnt[4096];

	if (cgroup_expand_slice(path, rel, sizeof(rel)))
		return scb_error_set(err, SCB_ERR_CONFIG, "runtimeConfig.cgroupPath is too long");
	if (cgroup_resolve(rel, abs, sizeof(abs), err) || cgroup2_mount(mnt, sizeof(mnt), err))
		return -1;
	if (cgroup_is_root(abs))
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "runtimeConfig.cgroupPath is the cgroup2 root: tracing it would count every socket on the node");
	text_label(t->cgroup, sizeof(t->cgroup), abs + strlen(mnt));
	return target_attach_cgroup(n, t, abs, err);
}

static int attach_pod(const struct cni_env *e, struct cni_req *r, const struct scb_request *q,
		      struct scb_error **err)
{
	const cJSON *cg = cJSON_GetObjectItemCaseSensitive(r->rc, "cgroupPath");
	struct scb_target t;
	struct scb_node n;
	uint64_t cookie;
	int ret;

	if (cg && !cJSON_IsString(cg))
		return scb_error_set(err, SCB_ERR_CONFIG, "runtimeConfig.cgroupPath must be a string");
	fill_target(&t, e, r, q);
	/* Resolve untrusted inputs before touching any kernel state; the
	 * netns must be real even when the cgroup is what we attach to. */
	if (!cg && feature_require(SCB_FEAT_NETNS_COOKIE,
				   "registering a pod by its network namespace (no runtimeConfig.cgroupPath)",
				   err))
		return -1;
	if (netns_cookie(e->netns, cg ? NULL : &cookie, err))
		return -1;
	if (node_open(&n, NODE_CREATE, err))
		return -1;
	if (cg)
		ret = attach_cgroup(&n, &t, cg->valuestring, err);
	else
		ret = target_attach_netns(&n, &t, cookie, err);
	node_close(&n);
	return ret;
}

static const cJSON *pod_annotations(const struct cni_req *r, struct scb_error **err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->rc, CNI_POD_ANNOTATIONS);

	if (a && !cJSON_IsObject(a) && !cJSON_IsNull(a)) {
		scb_error_set(err, SCB_ERR_CONFIG, "runtimeConfig.%s must be an object",
			      CNI_POD_ANNOTATIONS);
		return NULL;
	}
	return cJSON_IsObject(a) ? a : NULL;
}

int cni_resolve(struct cni_req *r, struct scb_request *q, struct scb_error **err)
{
	const cJSON *ann;

	if (config_from_json(r->conf, &r->cfg, err))
		return -1;
	ann = pod_annotations(r, err);
	if (*err)
		return -1;
	return config_resolve(&r->cfg, ann, q, err);
}

void cni_req_free(struct cni_req *r)
{
	cJSON_Delete(r->conf);
	r->conf = NULL;
}

static void print_prev(const struct cni_req *r)
{
	cJSON *out = cJSON_Duplicate(r->prev, 1);

	/* The result speaks the version the runtime asked for. */
	cJSON_DeleteItemFromObjectCaseSensitive(out, "cniVersion");
	cJSON_AddStringToObject(out, "cniVersion", cni_version);
	json_print_line(out);
}

static int cni_add(const struct cni_env *e, struct cni_req *r, struct scb_error **err)
{
	struct scb_request q;

	if (need_env("CNI_CONTAINERID", e->container_id, err) ||
	    need_env("CNI_NETNS", e->netns, err) || need_env("CNI_IFNAME", e->ifname, err))
		return -1;
	if (!text_valid_id(e->container_id))
		return scb_error_set(err, SCB_ERR_ENV,
				     "CNI_CONTAINERID is not 1-128 characters of [A-Za-z0-9_.-]");
	if (!cJSON_IsObject(r->prev))
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "sockops-cb must be chained after an interface plugin: no prevResult");
	if (cni_resolve(r, &q, err))
		return -1;
	if (q.traced && attach_pod(e, r, &q, err)) {
		if (!config_runs_untraced(&r->cfg, *err))
			return -1;
		scb_error_wrap(err, "pod %s runs untraced%s", r->pod_name,
			       config_why_untraced(&r->cfg, *err));
		scb_warn(*err);
		scb_error_free(err);
	}
	print_prev(r);
	return 0;
}

/* What a DEL or GC removes: the attachment (network, ifname) of one
 * container (DEL), or of every container of network not in keep (GC). */
struct removal {
	const char *id;
	const char *network;
	const char *ifname;
	const cJSON *keep;
};

/* Whether r removes attachment a of t: DEL names its (network, ifname)
 * (without a network name, which the spec requires but DEL must not
 * fail on, the ifname on every network); GC takes this network's that
 * the runtime does not keep. */
static bool removes(const struct removal *r, const struct scb_target *t,
		    const struct scb_attachment *a)
{
	if (r->id)
		return (!r->network[0] || !strcmp(a->network, r->network)) &&
		       !strcmp(a->ifname, r->ifname);
	return !strcmp(a->network, r->network) && !cni_attachment_valid(r->keep, t->id, a);
}

/* Drop t's attachments that r removes; true when t had some. */
static bool remove_attachments(struct scb_target *t, const struct removal *r)
{
	bool changed = false;
	int i;

	for (i = (int)t->n_attach - 1; i >= 0; i--)
		if (removes(r, t, &t->attach[i])) {
			attachment_remove(t, i);
			changed = true;
		}
	return changed;
}

/* A target goes with its last attachment; until then only the entry
 * changes (its flags and counters stay). */
static int remove_one(struct scb_node *n, uint64_t key, const struct removal *r,
		      struct scb_error **err)
{
	struct scb_target t;

	if (target_get(n, key, &t) || !remove_attachments(&t, r))
		return 0;
	if (!t.n_attach)
		return target_drop(n, key, err);
	return target_update(n, key, &t, err);
}

static int remove_targets(const struct removal *r, struct scb_error **err)
{
	struct target_iter it = { 0 };
	struct scb_target t;
	struct scb_node n;
	uint64_t *keys = NULL, *grown;
	int ret, count = 0, cap = 0, i;

	ret = node_open(&n, NODE_WRITE, err);
	if (ret)
		return ret > 0 ? 0 : -1;
	/* A DEL killed before it removed the node-wide link: this one does. */
	if (target_netns_link_gc(&n, err))
		goto out;
	/* Keys first: changing a hash map while walking it skips entries. */
	while (target_next(&n, &it, &t)) {
		if (t.origin != SCB_ORIGIN_CNI || (r->id && strcmp(t.id, r->id)))
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(keys, cap * sizeof(*keys));
			if (!grown) {
				scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
				goto out;
			}
			keys = grown;
		}
		keys[count++] = it.key;
	}
	for (i = 0; i < count; i++)
		if (remove_one(&n, keys[i], r, err))
			break;
out:
	free(keys);
	node_close(&n);
	return *err ? -1 : 0;
}

static int cni_del(const struct cni_env *e, struct cni_req *r, struct scb_error **err)
{
	struct scb_attachment a;

	if (need_env("CNI_CONTAINERID", e->container_id, err) ||
	    need_env("CNI_IFNAME", e->ifname, err))
		return -1;
	/* Nothing of ours can carry an invalid id: nothing to remove. */
	if (!text_valid_id(e->container_id))
		return 0;
	attachment_of(&a, r, e);
	return remove_targets(&(struct removal){ .id = e->container_id, .network = a.network,
						 .ifname = a.ifname }, err);
}

static int cni_check(const struct cni_env *e, struct cni_req *r, struct scb_error **err)
{
	struct target_iter it = { 0 };
	struct scb_attachment a;
	struct scb_request q;
	struct scb_target t;
	struct scb_node n;
	bool seen = false;
	int ret;

	if (need_env("CNI_CONTAINERID", e->container_id, err) ||
	    need_env("CNI_NETNS", e->netns, err) || need_env("CNI_IFNAME", e->ifname, err))
		return -1;
	if (!cJSON_IsObject(r->prev))
		return scb_error_set(err, SCB_ERR_CONFIG, "CHECK needs prevResult");
	if (cni_resolve(r, &q, err))
		return -1;
	if (!q.traced)
		return 0;
	ret = node_open(&n, NODE_READ, err);
	if (ret < 0)
		return -1;
	attachment_of(&a, r, e);
	while (!ret && target_next(&n, &it, &t))
		if (t.origin == SCB_ORIGIN_CNI && !strcmp(t.id, e->container_id) &&
		    attachment_index(&t, a.network, a.ifname) >= 0)
			seen = true, ret = cni_check_link(&t, err);
	node_close(&n);
	if (!ret && !seen)
		ret = scb_error_set(err, SCB_ERR_NOT_FOUND,
				    "container %.12s should be traced but has no sockops-cb attachment",
				    e->container_id);
	return ret;
}

static int cni_version_cmd(struct cni_req *r)
{
	cJSON *o = cJSON_CreateObject(), *arr;

	cJSON_AddStringToObject(o, "cniVersion", cni_version);
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

static int cni_gc(struct cni_req *r, struct scb_error **err)
{
	const cJSON *keep = cJSON_GetObjectItemCaseSensitive(r->conf, CNI_VALID_ATTACHMENTS);

	if (keep && !cJSON_IsArray(keep))
		return scb_error_set(err, SCB_ERR_CONFIG, "%s must be an array",
				     CNI_VALID_ATTACHMENTS);
	return remove_targets(&(struct removal){ .network = r->name, .keep = keep }, err);
}

static void read_env(struct cni_env *e)
{
	e->command = getenv("CNI_COMMAND");
	e->container_id = getenv("CNI_CONTAINERID");
	e->netns = getenv("CNI_NETNS");
	e->ifname = getenv("CNI_IFNAME");
	e->args = getenv("CNI_ARGS");
}

/* Position of v in cni_versions, -1 if unknown: versions compare by it. */
static int version_rank(const char *v)
{
	int i;

	for (i = 0; cni_versions[i]; i++)
		if (!strcmp(cni_versions[i], v))
			return i;
	return -1;
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
		    version_rank(cni_version) < version_rank(gates[i].since))
			return scb_error_set(err, 1,
					     "incompatible CNI version: %s needs cniVersion %s or later, not %s",
					     cmd, gates[i].since, cni_version);
	return 0;
}

static int dispatch(const struct cni_env *e, struct cni_req *r, struct scb_error **err)
{
	if (command_allowed(e->command, err))
		return -1;
	/* DEL is best effort, whatever the config (docs/cni.md). */
	if (!r->name[0] && strcmp(e->command, "STATUS") && strcmp(e->command, "DEL"))
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "the network configuration has no \"name\" (the spec requires one)");
	if (!strcmp(e->command, "ADD"))
		return cni_add(e, r, err);
	if (!strcmp(e->command, "DEL"))
		return cni_del(e, r, err);
	if (!strcmp(e->command, "CHECK"))
		return cni_check(e, r, err);
	if (!strcmp(e->command, "STATUS"))
		return cni_status(err);
	if (!strcmp(e->command, "GC"))
		return cni_gc(r, err);
	return scb_error_set(err, SCB_ERR_ENV,
			     "CNI_COMMAND \"%s\" is not one of ADD DEL CHECK VERSION STATUS GC",
			     e->command);
}

int cni_main(struct scb_error **err)
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
			ret = dispatch(&e, &r, err);
		}
	}
	cni_req_free(&r);
	free(buf);
	return ret;
}
