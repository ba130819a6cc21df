/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The maps both BPF objects use: sockops.bpf.c creates them, the
 * iterators of iters.bpf.c are loaded on their pinned copies. */
#ifndef __SCB_MAPS_BPF_H
#define __SCB_MAPS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCB_MAX_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct scb_target);
} targets SEC(".maps");

/* nested[0]: non-zero once two targets on this node were nested (one
 * cgroup below another), set by user space before the second link
 * exists; until then no socket can have a nearer link than the one
 * running, and the ancestor walk is skipped. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nested SEC(".maps");

/* trace_lost[0]: records trace readers dropped, for `metrics` (each
 * reader also says its own when it ends). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} trace_lost SEC(".maps");

/* Per connection, for `conns` and the CLOSE summary; never read on the
 * hot path. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scb_sock);
} socks SEC(".maps");

/* (target, peer) counters of learning targets (identity.bpf.h); user
 * space deletes a target's entries when the target goes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCB_MAX_PEERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct scb_peer_key);
	__type(value, struct scb_peer_counters);
} peers SEC(".maps");

/* Per live connection of a learning target, by socket cookie: its
 * `peers` key. A preallocated LRU hash rather than socket storage:
 * socket storage is allocated and freed with every connection, which
 * cost 6% of the connection rate (docs/performance.md). The entry goes at the
 * connection's CLOSE (learning targets always get STATE); the LRU only
 * bounds what a lost CLOSE could leave. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SCB_MAX_PEER_CONNS);
	__type(key, __u64);
	__type(value, struct scb_peer_sock);
} peer_conns SEC(".maps");

#endif
