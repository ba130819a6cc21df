// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "identity.h"
#include "node_internal.h"
#include "peers.h"
#include "target.h"

static bool wanted(const uint64_t *keys, int n_keys, uint64_t key)
{
	int i;

	if (!n_keys)
		return true;
	for (i = 0; i < n_keys; i++)
		if (keys[i] == key)
			return true;
	return false;
}

static uint64_t conns_of(const struct scb_peer *p)
{
	return p->c.active + p->c.passive + p->c.failed;
}

static int by_target_then_conns(const void *a, const void *b)
{
	const struct scb_peer *x = a, *y = b;

	if (x->key.target != y->key.target)
		return x->key.target < y->key.target ? -1 : 1;
	if (conns_of(x) != conns_of(y))
		return conns_of(x) > conns_of(y) ? -1 : 1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

static int append(struct peer_list *l, int *cap, const struct scb_peer *p)
{
	struct scb_peer *np;

	if (l->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		np = realloc(l->p, *cap * sizeof(*np));
		if (!np)
			return -1;
		l->p = np;
	}
	l->p[l->n++] = *p;
	return 0;
}

int peers_read(struct scb_node *n, const uint64_t *keys, int n_keys, struct peer_list *l,
	       struct scb_error **err)
{
	struct scb_peer_key k, next;
	struct scb_peer p;
	void *prev = NULL;
	int cap = 0;

	memset(l, 0, sizeof(*l));
	while (!bpf_map_get_next_key(n->peers_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!wanted(keys, n_keys, k.target))
			continue;
		p.key = k;
		if (bpf_map_lookup_elem(n->peers_fd, &k, &p.c))
			continue;	/* removed meanwhile */
		if (append(l, &cap, &p)) {
			peers_free(l);
			return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
		}
	}
	if (l->n)
		qsort(l->p, l->n, sizeof(*l->p), by_target_then_conns);
	return 0;
}

void peers_free(struct peer_list *l)
{
	free(l->p);
	memset(l, 0, sizeof(*l));
}

/* Collect first, then delete: deleting while walking a hash skips keys. */
void peers_delete_target(struct scb_node *n, uint64_t key)
{
	struct peer_list l;
	int i;

	if (n->peers_fd < 0 || peers_read(n, &key, 1, &l, NULL))
		return;
	for (i = 0; i < l.n; i++)
		bpf_map_delete_elem(n->peers_fd, &l.p[i].key);
	peers_free(&l);
}

const char *peers_local_name(struct scb_node *n, uint32_t node, uint32_t pod, char *buf,
			     size_t len)
{
	struct target_iter it = { 0 };
	struct scb_target t;

	if (!node && !pod)
		return NULL;
	while (target_next(n, &it, &t)) {
		if (t.removed_ns || t.identity.node != node || identity_pod(it.key) != pod)
			continue;
		if (t.pod_name[0])
			snprintf(buf, len, "%s/%s", t.pod_ns, t.pod_name);
		else
			snprintf(buf, len, "%s", t.name[0] ? t.name : t.id);
		return buf;
	}
	return NULL;
}

uint64_t peers_rtt_samples(const struct scb_peer_counters *c)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < SCB_PEER_RTT_SLOTS; i++)
		sum += c->rtt_hist[i];
	return sum;
}

uint64_t peers_rtt_quantile(const struct scb_peer_counters *c, double q)
{
	uint64_t total = peers_rtt_samples(c), seen = 0;
	int i;

	if (!total)
		return 0;
	for (i = 0; i < SCB_PEER_RTT_SLOTS; i++) {
		seen += c->rtt_hist[i];
		if ((double)seen >= q * (double)total)
			return 2ULL << i;
	}
	return 2ULL << (SCB_PEER_RTT_SLOTS - 1);
}
