/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The node: one program and its maps, loaded once and pinned under
 * bpffs so that every later hook call only attaches. */
#ifndef __SCB_NODE_H
#define __SCB_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"

#define SCB_BPFFS		"/sys/fs/bpf"
#define SCB_PIN_DIR		SCB_BPFFS "/sockops-cb"
#define SCB_LINK_DIR		SCB_PIN_DIR "/links"
#define SCB_PROG_PIN		SCB_PIN_DIR "/prog"
#define SCB_NETNS_PROG_PIN	SCB_PIN_DIR "/prog-netns"

enum node_mode {
	NODE_READ,	/* readers: list, stats, trace; no lock */
	NODE_WRITE,	/* detach: lock, never load */
	NODE_CREATE,	/* attach: mount bpffs, load and pin if needed, lock */
};

/* The node, opened: its pins' descriptors, which only the library reads. */
struct scb_node;

/* 0 and *n open; 1 and *n NULL when NODE_READ/WRITE finds nothing
 * pinned (nothing is traced on this node); -1 and *n NULL on error. */
int node_open(struct scb_node **n, enum node_mode mode, struct scb_error **err);
/* NODE_READ for commands about traced targets: an empty node is an error. */
int node_open_traced(struct scb_node **n, struct scb_error **err);
/* Closes and frees n (NULL: nothing). */
void node_close(struct scb_node *n);
/* Records trace readers dropped on this node since it was loaded. */
uint64_t node_trace_lost(struct scb_node *n);
/* Remove the program and maps once no link is left; force detaches
 * every link first, whatever version pinned it. */
int node_unload(bool force, struct scb_error **err);
/* verbose: libbpf's debug output and the verifier's log on stderr. */
void loader_init(bool verbose);
/* fd of the netns entry point for the node-wide link, pinned with the
 * program by the first load. */
int node_netns_prog(struct scb_error **err);

/* Whether the node's program is pinned (false once `unload` ran). */
bool node_loaded(void);

enum scb_iter {
	SCB_ITER_CONNS,		/* iter/tcp: a cgroup target's connections */
	SCB_ITER_CONNS_NETNS,	/* iter/bpf_sk_storage_map: a netns target's */
	SCB_ITER_ENABLE,	/* iter/tcp: flags for connections made before attach */
};

/* fd of an iterator program, loaded for this call beside the pinned
 * node (which must exist) and sharing its maps; the caller closes it.
 * Only `conns` and `attach` need them, and some kernels refuse some
 * iterator types (the error says what is lost). A negative errno on
 * failure. */
int node_iter_prog(enum scb_iter which, struct scb_error **err);

/* The trace program (bpf/trace.bpf.c), loaded on the node's pinned maps
 * for one reader: events of the n_only targets in only (none: all), of
 * the types in mask (1 << enum scb_event_type). The caller attaches it and destroys it. */
struct trace_bpf;
struct trace_bpf *node_trace_prog(const uint64_t *only, int n_only, uint32_t mask,
				  struct scb_error **err);
/* Attach it node-wide, on the cgroup2 root: it sees every traced
 * socket, wherever its target's link is. */
struct bpf_link;
struct bpf_link *node_trace_attach(struct trace_bpf *skel, struct scb_error **err);
/* Run iterator which in every netns of the cgroup tree cg_abs; fn gets
 * each rec_size-byte record (nsiter.h). */
int node_iter_cgroup(enum scb_iter which, const char *cg_abs, size_t rec_size,
		     void (*fn)(const void *rec, void *ctx), void *ctx, struct scb_error **err);
/* The trace program's ring, read with ring_buffer__poll(). */
struct ring_buffer;
struct ring_buffer *node_trace_ring(struct trace_bpf *skel,
				    int (*fn)(void *ctx, void *data, size_t size), void *ctx,
				    struct scb_error **err);
/* An iterator fd over the node's socket records (`conns` of netns
 * targets); -1 on error. */
int node_socks_iter(struct scb_error **err);

#endif
