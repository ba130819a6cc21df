/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What node.c, node_load.c and node_progs.c share; no command sees it. */
#ifndef __SCB_NODE_INTERNAL_H
#define __SCB_NODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "node.h"

/* What node_open() opened; the lib/ files that read the maps include this. */
struct scb_node {
	int dir_fd;	/* holds the flock for writers */
	int prog_fd;
	int targets_fd;
	int stats_fd;
	int trans_fd;
	int cgstats_fd;	/* live cgroup targets' counters: cgroup storage */
	int cgtrans_fd;
	int nested_fd;		/* [0]: targets were nested on this node */
	int trace_lost_fd;	/* [0]: trace records every reader dropped */
	int peers_fd;		/* (target, peer) counters: identity */
};

/* The node's maps: pinned by name, found in the light skeleton by offset,
 * and, where struct scb_node has a descriptor for it, opened by
 * node_open() into that field. This table (node_load.c) drives load,
 * open, close and unlink. */
#define NO_FD ((size_t)-1)
#define SCB_NODE_MAPS 11	/* entries of node_maps */
struct node_map {
	const char *name;
	size_t off;		/* in the light skeleton */
	size_t fd;		/* in struct scb_node, or NO_FD */
};
extern const struct node_map node_maps[];
extern const size_t n_node_maps;

/* -v: libbpf's debug output and the verifier's log on stderr. */
extern bool node_verbose;

void node_map_pin_path(size_t i, char *path, size_t size);
/* Every pin but the program's and the links (node.c). */
void node_unlink_pins(void);
/* Load and pin the program and its maps; the program's pin last. */
int node_load_and_pin(struct scb_error **err);

#endif
