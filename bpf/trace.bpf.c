// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The events of `sockops-cb trace`. This program belongs to the reader:
 * `trace` loads it on the node's pinned maps, attaches it node-wide
 * (cgroup2 root) through a link only its process holds, and reads its
 * ring. When the reader exits, however it exits, the kernel drops the
 * link and no event is made any more.
 *
 * Every traced socket's callbacks reach it, because the node's program
 * (attached nearer the socket, so run before it) asked for them. It
 * finds the socket's target the way the node's program does and turns
 * the callbacks the reader asked for into one record each. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sockops.h"
#include "maps.bpf.h"
#include "target.bpf.h"

#define AF_INET6	10
#define TCP_CLOSE	7

/* Set by the reader before load. */
const volatile __u64 only_targets[SCB_GROUP_KEYS];	/* one container's; none: all */
const volatile __u32 event_mask;	/* 1 << enum scb_event_type */

__u64 lost;	/* records dropped: the ring was full */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} trace_events SEC(".maps");

/* The socket's target: its nearest traced cgroup, else its registered
 * network namespace; 0 for an untraced socket. *learns: see struct who. */
static __always_inline __u64 target_of(struct bpf_sock_ops *skops, bool *learns)
{
	struct bpf_sock *sk = skops->sk;
	struct scb_target *t;
	__u64 key;

	*learns = false;
	if (!sk)
		return 0;
	key = find_traced(tcp_sock_cgroup(bpf_skc_to_tcp_sock(sk)), 0, &t);
	if (!key) {
		key = bpf_get_netns_cookie(skops) | SCB_NETNS_BIT;
		t = bpf_map_lookup_elem(&targets, &key);
		if (!t || t->removed_ns)
			return 0;
	}
	*learns = t && (t->identity.mode & SCB_ID_LEARN);
	return key;
}

static __always_inline bool wanted(__u64 key)
{
	int i;

	if (!only_targets[0])
		return true;
	for (i = 0; i < SCB_GROUP_KEYS; i++)
		if (only_targets[i] == key)
			return true;
	return false;
}

static __always_inline void copy_addrs(struct scb_event *e, struct bpf_sock_ops *skops)
{
	if (e->family == AF_INET6) {
		e->saddr[0] = skops->local_ip6[0];
		e->saddr[1] = skops->local_ip6[1];
		e->saddr[2] = skops->local_ip6[2];
		e->saddr[3] = skops->local_ip6[3];
		e->daddr[0] = skops->remote_ip6[0];
		e->daddr[1] = skops->remote_ip6[1];
		e->daddr[2] = skops->remote_ip6[2];
		e->daddr[3] = skops->remote_ip6[3];
	} else {
		e->saddr[0] = skops->local_ip4;
		e->daddr[0] = skops->remote_ip4;
		e->saddr[1] = e->saddr[2] = e->saddr[3] = 0;
		e->daddr[1] = e->daddr[2] = e->daddr[3] = 0;
	}
}

/* Whose a record is: the socket's target, and whether that target learns
 * its peers' identities (only then is there a peer to copy). */
struct who {
	__u64 key;
	bool learns;
};

/* What one record says beyond the socket: srtt and the type's args. */
struct details {
	__u32 srtt_us;
	__u32 arg[3];
};

/* The identity the connection's peer announced, if its target learns
 * them (identity.bpf.h keeps it by socket cookie). */
static __always_inline void copy_peer(struct scb_event *e)
{
	__u64 cookie = e->cookie;	/* a key on the stack, for older verifiers */
	struct scb_peer_sock *ps = bpf_map_lookup_elem(&peer_conns, &cookie);

	e->peer_node = ps ? ps->key.node : 0;
	e->peer_pod = ps ? ps->key.pod : 0;
}

/* One record; never a wake-up (the reader polls, trace.c). */
static __noinline void emit_details(struct bpf_sock_ops *skops, const struct who *w,
				    __u32 type, struct details *d)
{
	__u32 zero = 0;
	struct scb_event *e;
	__u64 *node_lost;

	e = bpf_ringbuf_reserve(&trace_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		node_lost = bpf_map_lookup_elem(&trace_lost, &zero);
		if (node_lost)
			__sync_fetch_and_add(node_lost, 1);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->target = w->key;
	e->cookie = bpf_get_socket_cookie(skops);
	e->type = type;
	e->family = skops->family;
	e->lport = skops->local_port;
	e->rport = bpf_ntohl(skops->remote_port);
	e->pad = 0;
	copy_addrs(e, skops);
	e->srtt_us = d->srtt_us;
	e->arg[0] = d->arg[0];
	e->arg[1] = d->arg[1];
	e->arg[2] = d->arg[2];
	e->pad2 = 0;
	if (w->learns)
		copy_peer(e);
	else
		e->peer_node = e->peer_pod = 0;
	e->bytes_acked = skops->bytes_acked;
	e->bytes_received = skops->bytes_received;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* A BPF subprogram takes five arguments at most. */
static __always_inline void emit(struct bpf_sock_ops *skops, const struct who *w, __u32 type,
				 __u32 srtt_us, __u32 a0, __u32 a1, __u32 a2)
{
	struct details d = { srtt_us, { a0, a1, a2 } };

	emit_details(skops, w, type, &d);
}

static __always_inline __u32 event_type(__u32 op, __u32 new_state)
{
	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		return SCB_EV_CONNECT;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		return SCB_EV_ACTIVE_ESTABLISHED;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		return SCB_EV_PASSIVE_ESTABLISHED;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		return SCB_EV_LISTEN;
	case BPF_SOCK_OPS_STATE_CB:
		return SCB_EV_STATE;
	case BPF_SOCK_OPS_RTT_CB:
		return SCB_EV_RTT;
	case BPF_SOCK_OPS_RTO_CB:
		return SCB_EV_RTO;
	case BPF_SOCK_OPS_RETRANS_CB:
		return SCB_EV_RETRANS;
	default:
		return 0;
	}
}

/* RTT: see on_rtt() in sockops.bpf.c for what the kernel passes. */
static __always_inline void emit_rtt(struct bpf_sock_ops *skops, const struct who *w)
{
	__u32 srtt = skops->srtt_us >> 3;

	if (skops->args[1])
		emit(skops, w, SCB_EV_RTT, skops->args[1] >> 3, skops->args[0], 0, 0);
	else if (srtt)
		emit(skops, w, SCB_EV_RTT, srtt, srtt, SCB_RTT_SMOOTHED, 0);
}

SEC("sockops")
int scb_trace(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op, type, new = skops->args[1];
	struct who w;
	bool closing;

	type = event_type(op, new);
	closing = op == BPF_SOCK_OPS_STATE_CB && new == TCP_CLOSE &&
		  (event_mask & (1U << SCB_EV_CLOSE));
	if (!type || (!(event_mask & (1U << type)) && !closing))
		return 1;
	w.key = target_of(skops, &w.learns);
	if (!w.key || !wanted(w.key))
		return 1;
	switch (type) {
	case SCB_EV_RTT:
		emit_rtt(skops, &w);
		break;
	case SCB_EV_STATE:
		if (event_mask & (1U << SCB_EV_STATE))
			emit(skops, &w, type, skops->srtt_us >> 3, skops->args[0], new, 0);
		/* The summary: the reader knows when the connection started. */
		if (closing)
			emit(skops, &w, SCB_EV_CLOSE, skops->srtt_us >> 3, skops->total_retrans, 0, 0);
		break;
	case SCB_EV_RTO:
	case SCB_EV_RETRANS:
		emit(skops, &w, type, skops->srtt_us >> 3, skops->args[0], skops->args[1],
		     skops->args[2]);
		break;
	default:	/* a start: the flags the node's program asked for */
		emit(skops, &w, type, skops->srtt_us >> 3, skops->bpf_sock_ops_cb_flags, 0, 0);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
