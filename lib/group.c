// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "counters.h"
#include "group.h"
#include "target.h"
#include "text.h"

#define MIN_ID_PREFIX 12	/* what `podman ps` shows of an id */

struct keyed {
	uint64_t key;
	struct scb_target t;
};

static int by_id(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->t.id, y->t.id);

	/* Within an id, the target shown first: live, then cgroup kind. */
	if (!c)
		c = (x->t.removed_ns != 0) - (y->t.removed_ns != 0);
	if (!c)
		c = (int)x->t.kind - (int)y->t.kind;
	return c;
}

static int read_targets(struct scb_node *n, struct keyed **out, int *count)
{
	struct target_iter it = { 0 };
	struct keyed *xs = NULL, *grown;
	struct scb_target t;
	int cap = 0;

	*count = 0;
	while (target_next(n, &it, &t)) {
		if (*count == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(xs, cap * sizeof(*xs));
			if (!grown) {
				free(xs);
				return -1;
			}
			xs = grown;
		}
		xs[*count].key = it.key;
		xs[(*count)++].t = t;
	}
	*out = xs;
	return 0;
}

static void group_add(struct scb_group *g, const struct keyed *x)
{
	uint32_t i;

	if (!g->n_keys) {
		g->t = x->t;
		g->key = x->key;
		g->removed = true;
	} else if (!g->alt_name[0] && strcmp(x->t.name, g->t.name))
		snprintf(g->alt_name, sizeof(g->alt_name), "%s", x->t.name);
	if (g->n_keys < SCB_GROUP_KEYS)
		g->keys[g->n_keys++] = x->key;
	for (i = 0; i < x->t.n_attach && i < SCB_MAX_ATTACH && g->n_attach < SCB_MAX_ATTACH; i++)
		g->attach[g->n_attach++] = x->t.attach[i];
	g->kinds |= 1U << x->t.kind;
	g->origins |= 1U << x->t.origin;
	g->removed &= x->t.removed_ns != 0;
}

int group_list_read(struct scb_node *n, struct group_list *l, struct scb_error **err)
{
	struct keyed *xs = NULL;
	int count, i;

	l->g = NULL;
	l->n = 0;
	if (read_targets(n, &xs, &count))
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	qsort(xs, count, sizeof(*xs), by_id);
	l->g = calloc(count ? count : 1, sizeof(*l->g));
	if (!l->g) {
		free(xs);
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	}
	for (i = 0; i < count; i++) {
		if (!l->n || strcmp(l->g[l->n - 1].t.id, xs[i].t.id))
			l->n++;
		group_add(&l->g[l->n - 1], &xs[i]);
	}
	free(xs);
	return 0;
}

void group_list_free(struct group_list *l)
{
	free(l->g);
	l->g = NULL;
	l->n = 0;
}

int group_stats(struct scb_node *n, const struct scb_group *g, struct scb_stats *out)
{
	int i, found = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < g->n_keys; i++)
		found += !counters_add(n, g->keys[i], out);
	return found ? 0 : -1;
}

bool group_has_key(const struct scb_group *g, uint64_t key)
{
	int i;

	for (i = 0; i < g->n_keys; i++)
		if (g->keys[i] == key)
			return true;
	return false;
}

static const char *join_bits(uint32_t bits, const char *const *names, int count, char *buf,
			     size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < count; i++)
		if ((bits & (1U << i)) && names[i] && off < len)
			off += snprintf(buf + off, len - off, "%s%s", off ? "+" : "", names[i]);
	return buf;
}

const char *group_origins(const struct scb_group *g, char *buf, size_t len)
{
	static const char *const names[] = {
		[SCB_ORIGIN_HOOK] = "hook", [SCB_ORIGIN_CNI] = "cni", [SCB_ORIGIN_MANUAL] = "manual",
	};

	return join_bits(g->origins, names, 4, buf, len);
}

const char *group_kinds(const struct scb_group *g, char *buf, size_t len)
{
	static const char *const names[] = {
		[SCB_KIND_CGROUP] = "cgroup", [SCB_KIND_NETNS] = "netns",
	};

	return join_bits(g->kinds, names, 3, buf, len);
}

static bool group_named(const struct scb_group *g, const char *name)
{
	return (g->t.name[0] && !strcmp(g->t.name, name)) ||
	       (g->alt_name[0] && !strcmp(g->alt_name, name));
}

/* "a, b, c" of the containers' labels, for an error that says what
 * exists. */
static void known_names(const struct group_list *l, char *buf, size_t len)
{
	size_t off = 0;
	char esc[96];
	int i;

	buf[0] = 0;
	for (i = 0; i < l->n && off + 4 < len; i++) {
		const struct scb_target *t = &l->g[i].t;

		off += snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
				text_escape(t->name[0] ? t->name : t->id, esc, sizeof(esc)));
		if (off >= len)
			snprintf(buf + len - 4, 4, "...");
	}
	if (!off)
		snprintf(buf, len, "none");
}

static bool hex_prefix(const char *ref)
{
	size_t len = strlen(ref);

	return len >= MIN_ID_PREFIX && strspn(ref, "0123456789abcdef") == len;
}

/* Exact id first; else the containers named ref, else (when allowed)
 * those whose id starts with ref. Returns how many matched; *g is one. */
static int match(const struct group_list *l, const char *ref,
		 bool prefixes, struct scb_group *g)
{
	int i, named = 0, prefix = 0;
	size_t len = strlen(ref);

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->g[i].t.id, ref)) {
			*g = l->g[i];
			return 1;
		}
	for (i = 0; i < l->n; i++)
		if (group_named(&l->g[i], ref) && ++named)
			*g = l->g[i];
	if (named || !prefixes || !len)
		return named;
	for (i = 0; i < l->n; i++)
		if (!strncmp(l->g[i].t.id, ref, len) && ++prefix)
			*g = l->g[i];
	return prefix;
}

int group_find(struct scb_node *n, const char *ref, struct scb_group *g,
	       struct scb_error **err)
{
	struct group_list l;
	char esc[96];
	int found;

	if (group_list_read(n, &l, err))
		return -1;
	found = match(&l, ref, true, g);
	group_list_free(&l);
	if (found == 1)
		return 0;
	if (found > 1)
		return scb_error_set(err, SCB_ERR_INPUT,
				     "\"%s\" matches %d traced containers; give more of the id",
				     text_escape(ref, esc, sizeof(esc)), found);
	return scb_error_set(err, SCB_ERR_NOT_FOUND,
			     "no traced container \"%s\" (see `sockops-cb list`)",
			     text_escape(ref, esc, sizeof(esc)));
}

int group_find_exact(struct scb_node *n, const char *ref, struct scb_group *g,
		     struct scb_error **err)
{
	char esc[96], names[512];
	struct group_list l;
	int found;

	if (group_list_read(n, &l, err))
		return -1;
	found = match(&l, ref, hex_prefix(ref), g);
	if (found != 1)
		known_names(&l, names, sizeof(names));
	group_list_free(&l);
	if (found == 1)
		return 0;
	if (found > 1)
		return scb_error_set(err, SCB_ERR_INPUT,
				     "\"%s\" names %d traced containers; give the full id",
				     text_escape(ref, esc, sizeof(esc)), found);
	return scb_error_set(err, SCB_ERR_NOT_FOUND,
			     "no traced container is named \"%s\" exactly (an id prefix needs %d hex characters); traced: %s",
			     text_escape(ref, esc, sizeof(esc)), MIN_ID_PREFIX, names);
}
