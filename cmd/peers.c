// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb peers CONTAINER`: whom a traced container talks to, by the
 * identity its peers announced in the handshake (docs/identity.md), and
 * how those connections fare. A peer that announced nothing is its
 * address, named "?". */
#include <argp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "args.h"
#include "cmd.h"
#include "display.h"
#include "group.h"
#include "identity.h"
#include "peers.h"
#include "target.h"
#include "text.h"

struct peers_args {
	const char *ref;
	bool json;
};

static const char peers_doc[] =
	"List the peers of a traced container that learns identities (identity\n"
	"enabled in the config and PARSE_ALL_HDR_OPT or PARSE_UNKNOWN_HDR_OPT in\n"
	"its flags): one row per (peer identity, peer address as seen here), with\n"
	"connections opened (ACT), accepted (PAS), failed connects, retransmitted\n"
	"segments, RTOs and the RTT median and 99th percentile (µs, upper bound\n"
	"of a log2 slot). PEER is node:pod in hex, NAME the pod it is on this\n"
	"node, '?' for an identity of another node (join sockops_cb_identity_info\n"
	"in Prometheus) or for a peer that sent none (untraced, or its option was\n"
	"stripped). The identity is a hint, not authentication: docs/security.md.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb peers web\n"
	"    sockops-cb peers web --json | jq 'select(.name == \"?\")'";

static error_t peers_parse(int key, char *arg, struct argp_state *state)
{
	struct peers_args *a = state->input;

	return view_parse_one(key, arg, state, &a->json, NULL, &a->ref);
}

static const char *peer_address(const struct scb_peer_key *k, char *buf, size_t len)
{
	char same[INET6_ADDRSTRLEN];

	/* Both sides the peer's: a v4-mapped address prints as IPv4. */
	format_addrs(k->family, k->addr, k->addr, same, buf, len);
	return buf;
}

static void print_json(const struct scb_peer *p, const char *target, const char *idt,
		       const char *name, const char *addr)
{
	cJSON *o = cJSON_CreateObject(), *h = cJSON_CreateArray();
	const struct scb_peer_counters *c = &p->c;
	int i;

	cJSON_AddStringToObject(o, "target", target);
	cJSON_AddStringToObject(o, "identity", idt);
	cJSON_AddStringToObject(o, "name", name ? name : "?");
	cJSON_AddStringToObject(o, "address", addr);
	cJSON_AddNumberToObject(o, "active", (double)c->active);
	cJSON_AddNumberToObject(o, "passive", (double)c->passive);
	cJSON_AddNumberToObject(o, "failed", (double)c->failed);
	cJSON_AddNumberToObject(o, "closed", (double)c->closed);
	cJSON_AddNumberToObject(o, "retrans", (double)c->retrans);
	cJSON_AddNumberToObject(o, "rto", (double)c->rto);
	cJSON_AddNumberToObject(o, "rtt_samples", (double)peers_rtt_samples(c));
	cJSON_AddNumberToObject(o, "rtt_sum_us", (double)c->rtt_sum_us);
	cJSON_AddNumberToObject(o, "rtt_p50_us", (double)peers_rtt_quantile(c, 0.5));
	cJSON_AddNumberToObject(o, "rtt_p99_us", (double)peers_rtt_quantile(c, 0.99));
	for (i = 0; i < SCB_PEER_RTT_SLOTS; i++)
		cJSON_AddItemToArray(h, cJSON_CreateNumber((double)c->rtt_hist[i]));
	cJSON_AddItemToObject(o, "rtt_hist_log2_us", h);
	json_print_line(o);
}

static void print_row(const struct scb_peer *p, const char *idt, const char *name,
		      const char *addr)
{
	const struct scb_peer_counters *c = &p->c;
	char ncut[24], acut[24];

	printf("%-17s %-20s %-15s %5llu %5llu %4llu %6llu %4llu %7llu %7llu\n", idt,
	       text_fit(name ? name : "?", 20, ncut), text_fit(addr, 15, acut),
	       (unsigned long long)c->active, (unsigned long long)c->passive,
	       (unsigned long long)c->failed, (unsigned long long)c->retrans,
	       (unsigned long long)c->rto, (unsigned long long)peers_rtt_quantile(c, 0.5),
	       (unsigned long long)peers_rtt_quantile(c, 0.99));
}

/* What the container's targets did with identities, under the table. */
static void print_footer(struct scb_node *n, const struct scb_group *g)
{
	struct scb_stats s;

	if (group_stats(n, g, &s))
		return;
	printf("identity: sent %llu, not sent %llu; peers' learned %llu, absent %llu, "
	       "malformed %llu, no saved SYN %llu; peers %llu (cap %u each), overflow %llu\n",
	       (unsigned long long)s.id_sent, (unsigned long long)s.id_not_sent,
	       (unsigned long long)s.id_learned, (unsigned long long)s.id_absent,
	       (unsigned long long)s.id_malformed, (unsigned long long)s.id_no_syn,
	       (unsigned long long)s.peers, g->t.identity.max_peers,
	       (unsigned long long)s.peer_overflow);
}

static int show(struct scb_node *n, const struct scb_group *g, bool json)
{
	char idt[SCB_ID_TEXT_LEN], name[2 * SCB_NAME_LEN + 2], addr[INET6_ADDRSTRLEN];
	struct peer_list l;
	struct scb_error *err = NULL;
	int i;

	if (peers_read(n, g->keys, g->n_keys, &l, &err))
		return -1;
	if (!json)
		printf("%-17s %-20s %-15s %5s %5s %4s %6s %4s %7s %7s\n", "PEER", "NAME", "ADDRESS",
		       "ACT", "PAS", "FAIL", "RETRAN", "RTO", "RTT_P50", "RTT_P99");
	for (i = 0; i < l.n; i++) {
		const struct scb_peer_key *k = &l.p[i].key;
		const char *nm = peers_local_name(n, k->node, k->pod, name, sizeof(name));

		identity_format(k->node, k->pod, idt, sizeof(idt));
		peer_address(k, addr, sizeof(addr));
		if (json)
			print_json(&l.p[i], g->t.id, idt, nm, addr);
		else
			print_row(&l.p[i], idt, nm, addr);
	}
	peers_free(&l);
	if (!json)
		print_footer(n, g);
	return 0;
}

int cmd_peers(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "json", 'j', NULL, 0, "One JSON object per peer", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = peers_parse,
				   .args_doc = "CONTAINER", .doc = peers_doc };
	struct peers_args a = { 0 };
	struct scb_group g;
	struct scb_node *n;
	int ret;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	if (node_open_traced(&n, err))
		return -1;
	ret = group_find(n, a.ref, &g, err);
	if (!ret && !(g.t.identity.mode & SCB_ID_LEARN))
		ret = scb_error_set(err, SCB_ERR_INPUT,
				    "%s does not learn peer identities: enable identity in the config and give it PARSE_ALL_HDR_OPT or PARSE_UNKNOWN_HDR_OPT",
				    target_label(&g.t));
	if (!ret && show(n, &g, a.json))
		ret = scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	node_close(n);
	return ret ? -1 : 0;
}
