// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The CNI plugin's actions (SPEC.md 0.4.0, 1.0.0, 1.1.0), chained after
 * the interface plugins; cniskel.c runs the protocol around them. ADD
 * registers the pod: by cgroup when the runtime
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
#include "cniskel.h"
#include "kfeatures.h"
#include "config.h"
#include "netns.h"
#include "target.h"
#include "text.h"

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
	if (!target_link_alive(t))
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
	target_init(t, e->container_id, r->pod_name, SCB_ORIGIN_CNI, q);
	snprintf(t->pod_ns, sizeof(t->pod_ns), "%s", r->pod_ns);
	snprintf(t->pod_name, sizeof(t->pod_name), "%s", r->pod_name);
	attachment_of(&t->attach[0], r, e);
	t->n_attach = 1;
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
	struct scb_node *n;
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
		ret = attach_cgroup(n, &t, cg->valuestring, err);
	else
		ret = target_attach_netns(n, &t, cookie, err);
	node_close(n);
	return ret;
}




static void print_prev(const struct cni_req *r)
{
	cJSON *out = cJSON_Duplicate(r->prev, 1);

	/* The result speaks the version the runtime asked for. */
	cJSON_DeleteItemFromObjectCaseSensitive(out, "cniVersion");
	cJSON_AddStringToObject(out, "cniVersion", cni_version_spoken());
	json_print_line(out);
}

static int cni_add(const struct cni_env *e, struct cni_req *r, struct scb_error **err)
{
	struct scb_request q;

	if (cni_need_env("CNI_CONTAINERID", e->container_id, err) ||
	    cni_need_env("CNI_NETNS", e->netns, err) || cni_need_env("CNI_IFNAME", e->ifname, err))
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
	struct scb_node *n;
	uint64_t *keys = NULL, *grown;
	int ret, count = 0, cap = 0, i;

	ret = node_open(&n, NODE_WRITE, err);
	if (ret)
		return ret > 0 ? 0 : -1;
	/* A DEL killed before it removed the node-wide link: this one does. */
	if (target_netns_link_gc(n, err))
		goto out;
	/* Keys first: changing a hash map while walking it skips entries. */
	while (target_next(n, &it, &t)) {
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
		if (remove_one(n, keys[i], r, err))
			break;
out:
	free(keys);
	node_close(n);
	return *err ? -1 : 0;
}

static int cni_del(const struct cni_env *e, struct cni_req *r, struct scb_error **err)
{
	struct scb_attachment a;

	if (cni_need_env("CNI_CONTAINERID", e->container_id, err) ||
	    cni_need_env("CNI_IFNAME", e->ifname, err))
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
	struct scb_node *n;
	bool seen = false;
	int ret;

	if (cni_need_env("CNI_CONTAINERID", e->container_id, err) ||
	    cni_need_env("CNI_NETNS", e->netns, err) || cni_need_env("CNI_IFNAME", e->ifname, err))
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
	while (!ret && target_next(n, &it, &t))
		if (t.origin == SCB_ORIGIN_CNI && !strcmp(t.id, e->container_id) &&
		    attachment_index(&t, a.network, a.ifname) >= 0)
			seen = true, ret = cni_check_link(&t, err);
	node_close(n);
	if (!ret && !seen)
		ret = scb_error_set(err, SCB_ERR_NOT_FOUND,
				    "container %.12s should be traced but has no sockops-cb attachment",
				    e->container_id);
	return ret;
}



static int cni_gc(struct cni_req *r, struct scb_error **err)
{
	const cJSON *keep = cJSON_GetObjectItemCaseSensitive(r->conf, CNI_VALID_ATTACHMENTS);

	if (keep && !cJSON_IsArray(keep))
		return scb_error_set(err, SCB_ERR_CONFIG, "%s must be an array",
				     CNI_VALID_ATTACHMENTS);
	return remove_targets(&(struct removal){ .network = r->name, .keep = keep }, err);
}

const struct cni_plugin cni_plugin = {
	.add = cni_add,
	.del = cni_del,
	.check = cni_check,
	.gc = cni_gc,
};
