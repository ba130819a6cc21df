// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The identity series of `metrics`: sockops_cb_identity_info, which names
 * each identity this node hands out, and the per-peer families of
 * learning targets. Prometheus joins the two across nodes:
 *
 *   sockops_cb_peer_connections_total
 *     * on (peer_identity) group_left (namespace, pod)
 *     label_replace(sockops_cb_identity_info, "peer_identity", "$1", "identity", "(.*)")
 *
 * Cardinality: at most identity.maxPeersPerTarget peer series of each
 * family per target (16384 per node); identity.peerSeries false leaves
 * them out. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "display.h"
#include "identity.h"
#include "peers.h"
#include "prometheus.h"
#include "target.h"

#define PFX "sockops_cb_"

static void target_labels(const struct scb_target *t, char *buf, size_t len)
{
	char id[300], name[160], ns[160], pod[160];

	prom_label_value(id, sizeof(id), t->id);
	prom_label_value(name, sizeof(name), t->name);
	prom_label_value(ns, sizeof(ns), t->pod_ns);
	prom_label_value(pod, sizeof(pod), t->pod_name);
	snprintf(buf, len, "container_id=\"%s\",container_name=\"%s\",pod_namespace=\"%s\",pod_name=\"%s\"",
		 id, name, ns, pod);
}

static void write_info(FILE *out, struct scb_node *n)
{
	char idt[SCB_ID_TEXT_LEN], node[160], ns[160], pod[160], ctr[160];
	struct target_iter it = { 0 };
	struct scb_target t;

	fprintf(out, "# HELP " PFX "identity_info The identity (node:pod, hex) each traced target "
		     "announces in its TCP handshakes, with its names: join it on peer_identity to "
		     "name the peers of any node.\n# TYPE " PFX "identity_info gauge\n");
	while (target_next(n, &it, &t)) {
		if (!(t.identity.mode & SCB_ID_ANNOUNCE) || t.removed_ns)
			continue;
		identity_format(t.identity.node, identity_pod(it.key), idt, sizeof(idt));
		prom_label_value(node, sizeof(node), t.identity.node_name);
		prom_label_value(ns, sizeof(ns), t.pod_ns);
		prom_label_value(pod, sizeof(pod), t.pod_name[0] ? t.pod_name : t.name);
		prom_label_value(ctr, sizeof(ctr), t.id);
		fprintf(out, PFX "identity_info{identity=\"%s\",node=\"%s\",namespace=\"%s\",pod=\"%s\",container=\"%s\"} 1\n",
			idt, node, ns, pod, ctr);
	}
}

/* The labels of one (target, peer); false when its target is gone or
 * asked for no peer series. */
static bool peer_labels(struct scb_node *n, const struct scb_peer *p, char *buf, size_t len)
{
	char tl[1024], idt[SCB_ID_TEXT_LEN], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	struct scb_target t;

	if (target_get(n, p->key.target, &t) || (t.identity.mode & SCB_ID_NO_SERIES))
		return false;
	target_labels(&t, tl, sizeof(tl));
	identity_format(p->key.node, p->key.pod, idt, sizeof(idt));
	format_addrs(p->key.family, p->key.addr, p->key.addr, s, d, sizeof(s));
	snprintf(buf, len, "%s,peer_identity=\"%s\",peer_address=\"%s\"", tl, idt, d);
	return true;
}

static void write_peer(FILE *out, const char *l, const struct scb_peer_counters *c, int family)
{
	unsigned long long cum = 0;
	int i;

	switch (family) {
	case 0:
		fprintf(out, PFX "peer_connections_total{%s,direction=\"active\"} %llu\n", l,
			(unsigned long long)c->active);
		fprintf(out, PFX "peer_connections_total{%s,direction=\"passive\"} %llu\n", l,
			(unsigned long long)c->passive);
		break;
	case 1:
		fprintf(out, PFX "peer_connect_failures_total{%s} %llu\n", l,
			(unsigned long long)c->failed);
		break;
	case 2:
		fprintf(out, PFX "peer_retransmits_total{%s} %llu\n", l,
			(unsigned long long)c->retrans);
		break;
	case 3:
		fprintf(out, PFX "peer_rto_total{%s} %llu\n", l, (unsigned long long)c->rto);
		break;
	default:
		for (i = 0; i < SCB_PEER_RTT_SLOTS; i++) {
			cum += c->rtt_hist[i];
			fprintf(out, PFX "peer_rtt_seconds_bucket{%s,le=\"%g\"} %llu\n", l,
				(double)(2ULL << i) / 1e6, cum);
		}
		fprintf(out, PFX "peer_rtt_seconds_bucket{%s,le=\"+Inf\"} %llu\n", l, cum);
		fprintf(out, PFX "peer_rtt_seconds_sum{%s} %.6f\n", l, (double)c->rtt_sum_us / 1e6);
		fprintf(out, PFX "peer_rtt_seconds_count{%s} %llu\n", l, cum);
	}
}

static const struct {
	const char *name, *type, *help;
} peer_families[] = {
	{ "peer_connections_total", "counter",
	  "Connections of a learning target with one peer (its identity, or '?' and its address), by direction." },
	{ "peer_connect_failures_total", "counter",
	  "Connects of a learning target that failed (SYN_SENT -> CLOSE), by the address connected to." },
	{ "peer_retransmits_total", "counter", "Retransmitted segments, per peer (needs RETRANS)." },
	{ "peer_rto_total", "counter", "Retransmission timeouts, per peer (needs RTO)." },
	{ "peer_rtt_seconds", "histogram",
	  "RTT per peer, log2 buckets (needs RTT; samples on Linux >= 6.10, the smoothed RTT before)." },
};

void prom_peers_write(FILE *out, struct scb_node *n)
{
	struct peer_list l;
	char **labels;
	size_t f;
	int i;

	write_info(out, n);
	if (peers_read(n, NULL, 0, &l, NULL))
		return;
	labels = calloc(l.n ? l.n : 1, sizeof(*labels));
	for (i = 0; labels && i < l.n; i++) {
		labels[i] = malloc(1536);
		if (labels[i] && !peer_labels(n, &l.p[i], labels[i], 1536)) {
			free(labels[i]);
			labels[i] = NULL;
		}
	}
	for (f = 0; labels && f < sizeof(peer_families) / sizeof(peer_families[0]); f++) {
		fprintf(out, "# HELP " PFX "%s %s\n# TYPE " PFX "%s %s\n", peer_families[f].name,
			peer_families[f].help, peer_families[f].name, peer_families[f].type);
		for (i = 0; i < l.n; i++)
			if (labels[i])
				write_peer(out, labels[i], &l.p[i].c, (int)f);
	}
	for (i = 0; labels && i < l.n; i++)
		free(labels[i]);
	free(labels);
	peers_free(&l);
}
