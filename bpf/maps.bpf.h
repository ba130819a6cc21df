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

/* Per connection, for `conns` and the CLOSE summary; never read on the
 * hot path. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scb_sock);
} socks SEC(".maps");

#endif
