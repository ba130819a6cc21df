// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockops-cb's iterators: the live connections of a target (`conns`) and
 * the flags of connections made before an attach. Loaded for one command
 * on the node's pinned maps (lib/node_progs.c, node_iter_prog), never with
 * the program: some kernels refuse some iterator types. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sockops.h"
#include "maps.bpf.h"
#include "target.bpf.h"

#define AF_INET6	10

/* The nearest traced cgroup above a socket, for the enable iterator
 * (callbacks get theirs from their link). */
static __always_inline struct scb_target *target_of_cgroup(struct tcp_sock *tp, __u64 *key)
{
	*key = first_traced(tcp_sock_cgroup(tp), 0);
	return *key ? bpf_map_lookup_elem(&targets, key) : NULL;
}

/* One connection's record for `conns`, from the kernel's own fields. */
static __always_inline void fill_conn(struct scb_conn *c, struct sock *sk, struct tcp_sock *tp)
{
	c->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	c->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	c->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	c->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (c->family == AF_INET6) {
		BPF_CORE_READ_INTO(&c->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32);
		BPF_CORE_READ_INTO(&c->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
	} else {
		c->saddr[0] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		c->daddr[0] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	}
	c->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	c->rttvar_us = BPF_CORE_READ(tp, mdev_us) >> 2;
	c->min_rtt_us = BPF_CORE_READ(tp, rtt_min.s[0].v);
	c->total_retrans = BPF_CORE_READ(tp, total_retrans);
	c->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	c->bytes_received = BPF_CORE_READ(tp, bytes_received);
	c->segs_in = BPF_CORE_READ(tp, segs_in);
	c->segs_out = BPF_CORE_READ(tp, segs_out);
	c->snd_cwnd = BPF_CORE_READ(tp, snd_cwnd);
	c->cb_flags = BPF_CORE_READ(tp, bpf_sock_ops_cb_flags);
}

/* `sockops-cb conns` of a cgroup target: run by user space in each netns
 * of the cgroup's processes; one record per socket that has its nearest
 * target's callbacks. */
SEC("iter/tcp")
int scb_conns(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct scb_peer_sock *ps;
	struct scb_conn c = {};
	__u64 cookie;
	struct scb_target *t;
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	t = target_of_cgroup(tp, &c.target);
	if (!t || !t->flags || !(BPF_CORE_READ(tp, bpf_sock_ops_cb_flags) & t->flags))
		return 0;
	fill_conn(&c, (struct sock *)tp, tp);
	cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	ps = cookie ? bpf_map_lookup_elem(&peer_conns, &cookie) : NULL;
	if (ps) {
		c.peer_node = ps->key.node;
		c.peer_pod = ps->key.pod;
	}
	bpf_seq_write(ctx->meta->seq, &c, sizeof(c));
	return 0;
}

/* ... and of a netns target: its sockets carry a record (sock_init). */
SEC("iter/bpf_sk_storage_map")
int scb_conns_netns(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct scb_sock *s = ctx->value;
	struct sock *sk = ctx->sk;
	struct scb_conn c = {};
	struct tcp_sock *tp;

	if (!sk || !s)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	c.target = s->target;
	c.start_ns = s->start_ns;
	c.peer_node = s->peer_node;
	c.peer_pod = s->peer_pod;
	fill_conn(&c, sk, tp);
	bpf_seq_write(ctx->meta->seq, &c, sizeof(c));
	return 0;
}

#define SOL_TCP				6
#define TCP_BPF_SOCK_OPS_CB_FLAGS	1008
#define TCP_LISTEN			10

/* `sockops-cb attach` on a running workload: the kernel only lets us set
 * flags at connect/accept, so connections made before the attach would
 * stay silent. This iterator (run by user space in each netns of the
 * cgroup) finds their target and sets the flags with bpf_setsockopt
 * (TCP_BPF_SOCK_OPS_CB_FLAGS, Linux 6.12+), writing one record per socket
 * it tried so user space can say how many were enabled. */
SEC("iter/tcp")
int scb_enable(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct scb_enable_rec r = {};
	struct scb_target *t;
	struct tcp_sock *tp;
	int have, flags;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || BPF_CORE_READ(skc, skc_state) == TCP_LISTEN)
		return 0;
	t = target_of_cgroup(tp, &r.target);
	if (!t || !t->flags)
		return 0;
	have = BPF_CORE_READ(tp, bpf_sock_ops_cb_flags);
	if ((have & t->flags) == t->flags)
		return 0;	/* already traced */
	flags = have | t->flags;
	r.err = bpf_setsockopt(tp, SOL_TCP, TCP_BPF_SOCK_OPS_CB_FLAGS, &flags, sizeof(flags));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
