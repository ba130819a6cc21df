// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "counters.h"
#include "nesting.h"
#include "config.h"
#include "target.h"
#include "text.h"
#include "node_internal.h"

/* bpffs refuses a '.' in a name; a valid id has no '~', so '.' -> '~'
 * names every id's pin without a collision (target_pin_id undoes it). */
static void link_path(const char *id, char *buf, size_t len)
{
	char *p;

	snprintf(buf, len, "%s/%s", SCB_LINK_DIR, id);
	for (p = buf + strlen(SCB_LINK_DIR) + 1; *p; p++)
		if (*p == '.')
			*p = '~';
}

void target_pin_id(const char *pin, char *id, size_t len)
{
	char *p;

	snprintf(id, len, "%s", pin);
	for (p = id; *p; p++)
		if (*p == '~')
			*p = '.';
}

bool target_link_exists(const char *id)
{
	char path[512];

	link_path(id, path, sizeof(path));
	return !access(path, F_OK);
}

static uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool has_attachment(const struct scb_target *t, const struct scb_attachment *a)
{
	uint32_t i;

	for (i = 0; i < t->n_attach && i < SCB_MAX_ATTACH; i++)
		if (!strcmp(t->attach[i].network, a->network) &&
		    !strcmp(t->attach[i].ifname, a->ifname))
			return true;
	return false;
}

/* A second network of the same pod (multus) adds its attachment to the
 * pod's target: each DEL then removes only its own. */
static void merge_attachments(struct scb_target *t, const struct scb_target *old)
{
	struct scb_attachment add = t->attach[0];
	bool adding = t->n_attach > 0;

	memcpy(t->attach, old->attach, sizeof(t->attach));
	t->n_attach = old->n_attach;
	if (!adding || has_attachment(t, &add))
		return;
	if (t->n_attach >= SCB_MAX_ATTACH) {
		fprintf(stderr, "sockops-cb: %s already has %d traced networks: %s/%s not recorded (its DEL leaves tracing on until the others' DEL)\n",
			t->id, SCB_MAX_ATTACH, add.network, add.ifname);
		return;
	}
	t->attach[t->n_attach++] = add;
}

/* The same id again (a repeated createRuntime) only refreshes the entry;
 * another live id on the cgroup is a conflict. */
static int check_existing(struct scb_node *n, uint64_t key, struct scb_target *t,
			  bool *again, struct scb_error **err)
{
	struct scb_target old;

	*again = false;
	if (bpf_map_lookup_elem(n->targets_fd, &key, &old))
		return 0;
	if (!strcmp(old.id, t->id) && !old.removed_ns) {
		*again = true;
		t->store = old.store;	/* where its counters already are */
		merge_attachments(t, &old);
		return 0;
	}
	if (!old.removed_ns)
		return scb_error_set(err, SCB_ERR_INPUT, "cgroup %s is already traced as %s",
				     t->cgroup, old.id);
	return 0;	/* a retained, removed target: replaced */
}

/* The cgroup id a pinned cgroup link is on: 0 once it was detached, or
 * auto-detached because its cgroup was removed. */
static uint64_t link_cgroup(const char *path)
{
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.cgroup.cgroup_id = 0;
	close(fd);
	return info.cgroup.cgroup_id;
}

static bool link_alive(const char *path)
{
	return link_cgroup(path) != 0;
}

/* The key of a cgroup target is its link's cgroup id: poststop finds it
 * without scanning every target. */
uint64_t target_link_key(const char *id)
{
	char path[512];

	link_path(id, path, sizeof(path));
	return link_cgroup(path);
}

/* Link, then its storage written (the program ignores the link until
 * then), then the pin: killed before the pin, the link goes with us. */
static int pin_link(struct scb_node *n, int cg_fd, const struct scb_target *t,
		    struct scb_error **err)
{
	char path[512];
	int link_fd;

	link_fd = bpf_link_create(n->prog_fd, cg_fd, BPF_CGROUP_SOCK_OPS, NULL);
	if (link_fd < 0)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot attach to the cgroup: %s",
				     strerror(errno));
	if (counters_ready(n, t->cgroup_id, t->store, t->identity.mode, err)) {
		close(link_fd);
		return -1;
	}
	link_path(t->id, path, sizeof(path));
	if (bpf_obj_pin(link_fd, path)) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot pin the link at %s: %s", path,
			      strerror(errno));
		close(link_fd);	/* the last reference: detaches */
		return -1;
	}
	close(link_fd);
	return 0;
}

/* A pin of this id whose link is gone (a detach killed half-way) or on
 * another cgroup (a restart after a poststop that never ran) is stale:
 * remove it and its entries, or the attach would keep a dead link. */
static int drop_stale(struct scb_node *n, const char *id, uint64_t key,
		      struct scb_error **err)
{
	bool found;

	if (!target_link_exists(id) || target_link_key(id) == key)
		return 0;
	return target_detach(n, id, false, &found, err);
}

int target_attach_cgroup(struct scb_node *n, struct scb_target *t, const char *cg_abs,
			 struct scb_error **err)
{
	uint64_t key;
	bool again;
	int cg_fd, ret = -1;

	if (!text_valid_id(t->id))
		return scb_error_set(err, SCB_ERR_INPUT, "invalid id");
	cg_fd = open(cg_abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return scb_error_set(err, SCB_ERR_CGROUP, "cannot open cgroup %s: %s", cg_abs,
				     strerror(errno));
	if (cgroup_id(cg_abs, &key, err) || drop_stale(n, t->id, key, err) ||
	    check_existing(n, key, t, &again, err))
		goto out;
	t->kind = SCB_KIND_CGROUP;
	t->cgroup_id = key;
	t->attached_ns = now_realtime_ns();
	t->removed_ns = 0;
	/* Again: only the entry (flags for new connections) changes; the
	 * counters are never rewritten. */
	if (again && target_link_key(t->id) == key) {
		if (bpf_map_update_elem(n->targets_fd, &key, t, BPF_EXIST))
			scb_error_set(err, SCB_ERR_KERNEL, "cannot update the target: %s",
				      strerror(errno));
		else
			ret = 0;
		goto out;
	}
	if (t->store != SCB_STORE_HASH)
		t->store = SCB_STORE_LINK;
	/* The target entry first, the link last. A retained target's
	 * counters are replaced: the new link has its own. */
	if (nesting_update(n, cg_abs, err))
		goto out;
	counters_delete(n, key);
	if (bpf_map_update_elem(n->targets_fd, &key, t, BPF_ANY)) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot add the target: %s", strerror(errno));
		goto out;
	}
	if (pin_link(n, cg_fd, t, err))
		goto undo_target;
	ret = 0;
	goto out;
undo_target:
	bpf_map_delete_elem(n->targets_fd, &key);
out:
	close(cg_fd);
	return ret;
}

static int pin_root_link(struct scb_node *n, struct scb_error **err)
{
	char mnt[4096];
	int cg_fd, link_fd, prog_fd, ret = 0;

	if (!access(SCB_NETNS_LINK, F_OK)) {
		if (link_alive(SCB_NETNS_LINK))
			return 0;
		/* Detached by a process killed before it unpinned it. */
		unlink(SCB_NETNS_LINK);
	}
	if (cgroup2_mount(mnt, sizeof(mnt), err))
		return -1;
	cg_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return scb_error_set(err, SCB_ERR_CGROUP, "cannot open %s: %s", mnt,
				     strerror(errno));
	prog_fd = node_netns_prog(err);
	if (prog_fd < 0) {
		close(cg_fd);
		return -1;
	}
	link_fd = bpf_link_create(prog_fd, cg_fd, BPF_CGROUP_SOCK_OPS, NULL);
	close(prog_fd);
	if (link_fd < 0)
		ret = scb_error_set(err, SCB_ERR_KERNEL, "cannot attach to %s: %s", mnt,
				    strerror(errno));
	else if (bpf_obj_pin(link_fd, SCB_NETNS_LINK))
		ret = scb_error_set(err, SCB_ERR_KERNEL, "cannot pin %s: %s", SCB_NETNS_LINK,
				    strerror(errno));
	if (link_fd >= 0)
		close(link_fd);
	close(cg_fd);
	return ret;
}

int target_attach_netns(struct scb_node *n, struct scb_target *t, uint64_t cookie,
			struct scb_error **err)
{
	uint64_t key = cookie | SCB_NETNS_BIT;
	bool again;

	if (!text_valid_id(t->id))
		return scb_error_set(err, SCB_ERR_INPUT, "invalid id");
	if (check_existing(n, key, t, &again, err))
		return -1;
	t->kind = SCB_KIND_NETNS;
	t->cgroup_id = 0;
	t->attached_ns = now_realtime_ns();
	t->removed_ns = 0;
	if (!again && counters_create(n, key, err))
		return -1;
	if (bpf_map_update_elem(n->targets_fd, &key, t, BPF_ANY)) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot add the target: %s", strerror(errno));
		goto undo;
	}
	if (pin_root_link(n, err))
		goto undo;
	return 0;
undo:
	if (!again) {
		bpf_map_delete_elem(n->targets_fd, &key);
		counters_delete(n, key);
	}
	return -1;
}

static int unpin(const char *path, bool *found, struct scb_error **err)
{
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 :
		       scb_error_set(err, SCB_ERR_KERNEL, "cannot open %s: %s", path,
				     strerror(errno));
	if (found)
		*found = true;
	/* Detach now even if someone else holds the link open. */
	bpf_link_detach(fd);
	close(fd);
	if (unlink(path) && errno != ENOENT)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot remove %s: %s", path,
				     strerror(errno));
	return 0;
}

int target_unpin_link(const char *id, bool *found, struct scb_error **err)
{
	char path[512];

	link_path(id, path, sizeof(path));
	return unpin(path, found, err);
}

/* The node-wide link lives while a netns target does. */
int target_netns_link_gc(struct scb_node *n, struct scb_error **err)
{
	struct target_iter it = { 0 };
	struct scb_target t;

	if (access(SCB_NETNS_LINK, F_OK))
		return 0;

	while (target_next(n, &it, &t))
		if (t.kind == SCB_KIND_NETNS && !t.removed_ns)
			return 0;
	return unpin(SCB_NETNS_LINK, NULL, err);
}

/* Retain (removed, counters kept) or delete one target's entries. */
static int remove_entry(struct scb_node *n, uint64_t key, struct scb_target *t, bool retain,
			struct scb_error **err)
{
	if (retain) {
		/* Kept until `detach`, also through a repeated poststop. */
		if (!t->removed_ns) {
			t->flags = 0;
			t->removed_ns = now_realtime_ns();
			bpf_map_update_elem(n->targets_fd, &key, t, BPF_EXIST);
		}
		return 0;
	}
	counters_delete(n, key);
	if (bpf_map_delete_elem(n->targets_fd, &key) && errno != ENOENT)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot remove the target: %s",
				     strerror(errno));
	return 0;
}

#define DETACH_MAX 16	/* entries one id can have: one per kind, at most */

/* Remove id's cgroup entries: found through its live link, else by a
 * scan (netns targets are CNI's: target_drop). */
static int remove_entries(struct scb_node *n, const char *id, uint64_t key, bool retain,
			  bool *found, struct scb_error **err)
{
	struct target_iter it = { 0 };
	uint64_t keys[DETACH_MAX];
	int n_keys = 0, i;
	struct scb_target t;

	if (key && !bpf_map_lookup_elem(n->targets_fd, &key, &t) && !strcmp(t.id, id)) {
		*found = true;
		return remove_entry(n, key, &t, retain, err);
	}
	/* No live link: netns targets, retained ones, a cgroup gone. Collect
	 * first: deleting while iterating a hash map skips entries. */
	while (target_next(n, &it, &t))
		if (!strcmp(t.id, id) && t.kind == SCB_KIND_CGROUP && n_keys < DETACH_MAX)
			keys[n_keys++] = it.key;
	for (i = 0; i < n_keys; i++) {
		if (bpf_map_lookup_elem(n->targets_fd, &keys[i], &t))
			continue;
		*found = true;
		if (remove_entry(n, keys[i], &t, retain, err))
			return -1;
	}
	return 0;
}

/* Detach the link first (no more callbacks), then the entries, and the
 * pin last: a detach killed half-way leaves a dead pin, which the next
 * attach of that id or `gc` finds and finishes. */
int target_detach(struct scb_node *n, const char *id, bool retain, bool *found,
		  struct scb_error **err)
{
	uint64_t key = target_link_key(id);
	char path[512];
	int fd;

	*found = false;
	link_path(id, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	/* After the detach: nothing is added to the storage any more. */
	if (retain && key && counters_retain(n, key, err))
		return -1;
	if (remove_entries(n, id, key, retain, found, err))
		return -1;
	return target_unpin_link(id, found, err);
}

int target_drop(struct scb_node *n, uint64_t key, struct scb_error **err)
{
	struct scb_target t;
	bool found;

	if (bpf_map_lookup_elem(n->targets_fd, &key, &t))
		return 0;
	/* Its id's pin is its link unless another cgroup of the same id
	 * holds it. */
	if (t.kind == SCB_KIND_CGROUP) {
		uint64_t linked = target_link_key(t.id);

		if (!linked || linked == key)
			return target_detach(n, t.id, false, &found, err);
		return remove_entry(n, key, &t, false, err);
	}
	if (remove_entry(n, key, &t, false, err))
		return -1;
	return target_netns_link_gc(n, err);
}

int target_get(struct scb_node *n, uint64_t key, struct scb_target *t)
{
	return bpf_map_lookup_elem(n->targets_fd, &key, t) ? -1 : 0;
}

int target_update(struct scb_node *n, uint64_t key, const struct scb_target *t,
		  struct scb_error **err)
{
	if (bpf_map_update_elem(n->targets_fd, &key, t, BPF_EXIST))
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot update the target: %s",
				     strerror(errno));
	return 0;
}

bool target_next(struct scb_node *n, struct target_iter *it, struct scb_target *t)
{
	uint64_t next;

	while (!bpf_map_get_next_key(n->targets_fd, it->started ? &it->key : NULL, &next)) {
		it->key = next;
		it->started = true;
		if (!bpf_map_lookup_elem(n->targets_fd, &next, t))
			return true;
	}
	return false;
}

int target_stats(struct scb_node *n, uint64_t key, struct scb_stats *out)
{
	return counters_read(n, key, out);
}

bool target_link_alive(const struct scb_target *t)
{
	return t->kind == SCB_KIND_NETNS ? !access(SCB_NETNS_LINK, F_OK) : target_link_exists(t->id);
}

bool target_find_id(struct scb_node *n, const char *id, struct scb_target *t)
{
	struct target_iter it = { 0 };

	while (target_next(n, &it, t))
		if (!strcmp(t->id, id))
			return true;
	return false;
}

void target_init(struct scb_target *t, const char *id, const char *name, enum scb_origin origin,
		 const struct scb_request *req)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->flag_set, sizeof(t->flag_set), "%s", req->flag_set);
	t->requested = req->requested;
	t->flags = req->effective;
	t->identity = req->identity;
	t->origin = origin;
}
