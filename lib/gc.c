// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What a crash, a lost poststop or a removed cgroup left behind: links
 * whose cgroup is gone, links with no target, targets with no link,
 * netns targets whose netns is gone, counters with no target, an unused
 * node-wide link. `gc` removes them, `check` counts them. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "gc.h"
#include "netns.h"
#include "target.h"
#include "text.h"
#include "node_internal.h"

#define GC_MAX_NETNS 65536

struct gc_ctx {
	struct scb_node *n;
	bool dry_run;
	gc_report_fn report;
	void *report_ctx;
	int found;
	uint64_t *live;		/* cookies of live network namespaces */
	int n_live;
	bool live_known;
};

static void report(struct gc_ctx *c, const char *what, const char *id, const char *why)
{
	c->found++;
	if (c->report)
		c->report(c->report_ctx, what, id, why);
}

static int drop_target(struct gc_ctx *c, const char *id, struct scb_error **err)
{
	bool found;

	if (c->dry_run)
		return 0;
	return target_detach(c->n, id, false, &found, err);
}

static int gc_links(struct gc_ctx *c, struct scb_error **err)
{
	DIR *d = opendir(SCB_LINK_DIR);
	struct scb_target t;
	struct dirent *de;
	char esc[160], id[SCB_ID_LEN];
	int ret = 0;

	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		text_escape(de->d_name, esc, sizeof(esc));
		target_pin_id(de->d_name, id, sizeof(id));
		if (strchr(de->d_name, '.') || !text_valid_id(id)) {
			report(c, "pin", esc, "not a name sockops-cb makes");
			continue;
		}
		if (!target_find_id(c->n, id, &t)) {
			report(c, "link", esc, "no target entry (an attach or detach was interrupted)");
			ret = c->dry_run ? 0 : target_unpin_link(id, NULL, err);
		} else if (!target_link_key(id)) {
			report(c, "link", esc, "detached: its cgroup was removed without a poststop, or a detach was interrupted");
			ret = drop_target(c, id, err);
		}
	}
	closedir(d);
	return ret;
}

static void add_live(struct gc_ctx *c, const char *path, struct stat *seen, int *n_seen)
{
	struct stat st;
	uint64_t cookie;
	struct scb_error *err = NULL;
	int i;

	if (stat(path, &st) || c->n_live >= GC_MAX_NETNS)
		return;
	for (i = 0; i < *n_seen; i++)
		if (seen[i].st_ino == st.st_ino && seen[i].st_dev == st.st_dev)
			return;
	seen[(*n_seen)++] = st;
	if (!netns_cookie(path, &cookie, &err))
		c->live[c->n_live++] = cookie;
	scb_error_free(&err);
}

static void scan_dir(struct gc_ctx *c, const char *dir, const char *suffix,
		     struct stat *seen, int *n_seen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d)) && *n_seen < GC_MAX_NETNS) {
		if (de->d_name[0] == '.')
			continue;
		if (suffix && (de->d_name[0] < '0' || de->d_name[0] > '9'))
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix ? suffix : "");
		add_live(c, path, seen, n_seen);
	}
	closedir(d);
}

/* Cookies of every netns a process or a bind mount keeps alive. */
static void collect_live(struct gc_ctx *c)
{
	struct stat *seen = calloc(GC_MAX_NETNS, sizeof(*seen));
	int n_seen = 0;

	c->live = calloc(GC_MAX_NETNS, sizeof(*c->live));
	c->live_known = seen && c->live;
	if (c->live_known) {
		scan_dir(c, "/run/netns", NULL, seen, &n_seen);
		scan_dir(c, "/proc", "/ns/net", seen, &n_seen);
	}
	free(seen);
}

static bool cookie_live(struct gc_ctx *c, uint64_t cookie)
{
	int i;

	if (!c->live_known)
		collect_live(c);
	if (!c->live_known)
		return true;	/* cannot tell: keep */
	for (i = 0; i < c->n_live; i++)
		if (c->live[i] == cookie)
			return true;
	return false;
}

static int gc_targets(struct gc_ctx *c, struct scb_error **err)
{
	struct target_iter it = { 0 };
	struct scb_target t;
	char esc[160];

	while (target_next(c->n, &it, &t)) {
		if (t.removed_ns)
			continue;
		text_escape(t.id, esc, sizeof(esc));
		if (t.kind == SCB_KIND_CGROUP && !target_link_exists(t.id))
			report(c, "target", esc, "its link is gone");
		else if (t.kind == SCB_KIND_NETNS && !cookie_live(c, it.key & ~SCB_NETNS_BIT))
			report(c, "target", esc, "its network namespace is gone (no CNI DEL)");
		else
			continue;
		if (!c->dry_run && target_drop(c->n, it.key, err))
			return -1;
		if (!c->dry_run)
			it.started = false;
	}
	return 0;
}

/* Counter entries (stats, trans) whose target entry is gone. */
static void gc_counters(struct gc_ctx *c, int fd, const char *what)
{
	struct scb_target t;
	uint64_t key, next;
	bool started = false;
	char id[32];

	while (!bpf_map_get_next_key(fd, started ? &key : NULL, &next)) {
		key = next;
		started = true;
		if (!bpf_map_lookup_elem(c->n->targets_fd, &key, &t))
			continue;
		snprintf(id, sizeof(id), "0x%llx", (unsigned long long)key);
		report(c, what, id, "no target entry");
		if (!c->dry_run && !bpf_map_delete_elem(fd, &key))
			started = false;
	}
}

static int gc_stats(struct gc_ctx *c, struct scb_error **err)
{
	gc_counters(c, c->n->stats_fd, "counters");
	gc_counters(c, c->n->trans_fd, "transitions");
	return 0;
}

int node_gc(struct scb_node *n, bool dry_run, gc_report_fn fn, void *ctx, int *found,
	    struct scb_error **err)
{
	struct gc_ctx c = { .n = n, .dry_run = dry_run, .report = fn, .report_ctx = ctx };
	int ret;

	ret = gc_links(&c, err);
	if (!ret)
		ret = gc_targets(&c, err);
	if (!ret)
		ret = gc_stats(&c, err);
	if (!ret && !dry_run)
		ret = target_netns_link_gc(n, err);
	free(c.live);
	*found = c.found;
	return ret;
}

int gc_leftovers(struct scb_node *n, int *count, struct scb_error **err)
{
	return node_gc(n, true, NULL, NULL, count, err);
}
