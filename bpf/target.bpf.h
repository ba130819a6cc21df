/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A socket's target, found from its cgroup: shared by the program, the
 * trace program and the iterators. Needs maps.bpf.h (`targets`). */
#ifndef __SCB_TARGET_BPF_H
#define __SCB_TARGET_BPF_H

#include <bpf/bpf_core_read.h>

/* The cgroup a socket was created in (the kernel's sk_cgrp_data), or
 * NULL. Before 5.15 sk_cgrp_data held the pointer as an integer shared
 * with net_cls data, which a BPF program cannot follow: there nothing is
 * known of the socket's cgroup (user space refuses what needs it:
 * nested targets, trace, netns registration; docs/kernels.md). */
static __always_inline struct cgroup *tcp_sock_cgroup(struct tcp_sock *tp)
{
	if (!tp || !bpf_core_field_exists(struct sock_cgroup_data, cgroup))
		return NULL;
	return tp->inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup;
}

/* Walk up from cg: the id of the first cgroup that is stop_id or a live
 * traced target, 0 if none within SCB_ANCESTOR_DEPTH levels; *found is
 * that target's entry (NULL for stop_id or none). */
static __always_inline __u64 find_traced(struct cgroup *cg, __u64 stop_id,
					 struct scb_target **found)
{
	struct scb_target *t;
	__u64 id;
	int i;

	*found = NULL;
	for (i = 0; i < SCB_ANCESTOR_DEPTH && cg; i++) {
		id = cg->kn->id;
		if (id == stop_id)
			return id;
		t = bpf_map_lookup_elem(&targets, &id);
		if (t && !t->removed_ns) {
			*found = t;
			return id;
		}
		cg = cg->self.parent ? cg->self.parent->cgroup : NULL;
	}
	return 0;
}

static __always_inline __u64 first_traced(struct cgroup *cg, __u64 stop_id)
{
	struct scb_target *t;

	return find_traced(cg, stop_id, &t);
}

#endif
