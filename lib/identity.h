/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Identity in the handshake (docs/identity.md): the config's `identity`
 * section, what each target gets from it, and how an identity is
 * written and named. */
#ifndef __SCB_IDENTITY_H
#define __SCB_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "sockops.h"

#define SCB_ID_DEFAULT_KIND	253
#define SCB_ID_DEFAULT_EXID	0x5343	/* "SC"; not registered with IANA: configurable */
#define SCB_ID_DEFAULT_PEERS	256
#define SCB_ID_TEXT_LEN		18	/* "xxxxxxxx:xxxxxxxx" */

struct cJSON;

struct scb_identity_config {
	bool enabled;
	bool peer_series;	/* per-peer Prometheus series */
	uint8_t kind;
	uint16_t exid;
	uint32_t node;		/* 0 until resolved: from nodeName */
	uint32_t max_peers;	/* per target */
	char node_name[SCB_NAME_LEN];	/* for sockops_cb_identity_info */
};

void identity_defaults(struct scb_identity_config *ic);
/* The `identity` object of a config; fills in the node's id and name
 * (the host name, and its FNV-1a hash) when the config leaves them out. */
int identity_parse(const struct cJSON *v, struct scb_identity_config *ic,
		   struct scb_error **err);
/* The node id a name stands for when the config gives none: never 0. */
uint32_t identity_node_hash(const char *name);
/* What a target whose effective flags are `flags` does: WRITE_HDR_OPT
 * announces, either PARSE flag learns; nothing while identity is off. */
void identity_for(const struct scb_identity_config *ic, uint32_t flags,
		  struct scb_identity *out);
/* A target's own pod id: the low 32 bits of its key. */
static inline uint32_t identity_pod(uint64_t key)
{
	return (uint32_t)key;
}
/* "node:pod", both as 8 hex digits: the `identity` label. */
const char *identity_format(uint32_t node, uint32_t pod, char *buf, size_t len);

#endif
