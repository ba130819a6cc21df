/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The (target, peer) counters of learning targets (`peers`), read for
 * `sockops-cb peers` and the Prometheus series, and removed with their
 * target. */
#ifndef __SCB_PEERS_H
#define __SCB_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include "node.h"
#include "sockops.h"

struct scb_peer {
	struct scb_peer_key key;
	struct scb_peer_counters c;
};

struct peer_list {
	struct scb_peer *p;
	int n;
};

/* The entries of the targets in keys (n_keys 0: every target), ordered
 * by target, then by connections (most first). */
int peers_read(struct scb_node *n, const uint64_t *keys, int n_keys, struct peer_list *l,
	       struct scb_error **err);
void peers_free(struct peer_list *l);
/* Remove every entry of target key (it is gone). */
void peers_delete_target(struct scb_node *n, uint64_t key);
/* The name of identity (node, pod) on this node: "pod/container" of the
 * live target whose identity it is, NULL when it is not one of ours. */
const char *peers_local_name(struct scb_node *n, uint32_t node, uint32_t pod, char *buf,
			     size_t len);
/* RTT percentile q (0..1) of a peer's log2 histogram, µs; 0 when empty:
 * the upper bound of the slot that holds it. */
uint64_t peers_rtt_quantile(const struct scb_peer_counters *c, double q);
uint64_t peers_rtt_samples(const struct scb_peer_counters *c);

#endif
