// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockops-cb: one sock_ops program, loaded once per node, with two entry
 * points: scb_sockops, attached to every traced cgroup, and
 * scb_sockops_netns, attached once node-wide while pods registered by
 * network namespace exist. Each finds the socket's target, then:
 *
 *   TCP_CONNECT_CB              connect; asks for the target's flags
 *   ACTIVE/PASSIVE_ESTABLISHED  active/passive_established; asks for flags
 *   TCP_LISTEN_CB               listen; asks for flags (inherited by accepts)
 *   STATE_CB                    states[old][new]; at CLOSE, closed and why
 *   RTT_CB                      one RTT histogram value (see on_rtt)
 *   RTO_CB                      rto, rto_streak_max
 *   RETRANS_CB                  retrans (segments), retrans_failed, retrans_loss
 *   *_HDR_OPT_CB                hdr_opt; identity (identity.bpf.h)
 *
 * Where the numbers go: a live cgroup target's in its link's cgroup
 * storage (cgstats: per-CPU counters and the target's key; cgtrans:
 * transitions and RTT histogram, shared); a netns target's, or a cgroup
 * target's kept past its cgroup (retainStats), in the stats and trans
 * hashes under its key. `targets` holds each target's flags. Events for
 * `trace` come from another program (trace.bpf.c) that a reader attaches
 * for as long as it runs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sockops.h"
#include "maps.bpf.h"
#include "target.bpf.h"

#define TCP_ESTABLISHED	1
#define TCP_SYN_SENT	2
#define TCP_FIN_WAIT1	4
#define TCP_FIN_WAIT2	5
#define TCP_CLOSE	7
#define TCP_CLOSE_WAIT	8
#define TCP_LAST_ACK	9
#define TCP_CLOSING	11
#define TCP_CA_Loss	4
#define EPIPE		32
#define ECONNRESET	104
#define ETIMEDOUT	110
#define ECONNREFUSED	111

/* States a connection reaches once established. */
#define SCB_ESTABLISHED_STATES						\
	(1U << TCP_ESTABLISHED | 1U << TCP_CLOSE_WAIT | 1U << TCP_FIN_WAIT1 |	\
	 1U << TCP_FIN_WAIT2 | 1U << TCP_CLOSING | 1U << TCP_LAST_ACK)

/* Counters of netns targets and of cgroup targets kept in a hash
 * (SCB_STORE_HASH); entries made by user space, never by the program. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SCB_MAX_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct scb_counters);
} stats SEC(".maps");

/* Their transitions and RTT histogram, shared across CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCB_MAX_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct scb_shared_counters);
} trans SEC(".maps");

/* A cgroup target's key and counters, in its link's cgroup storage. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct scb_link_counters);
} cgstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct scb_link_shared);
} cgtrans SEC(".maps");

/* build_id[0]: the build id of the object the pinned program came from,
 * written by user space at load; a binary of another build refuses the
 * pins instead of misreading them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} build_id SEC(".maps");

/* The target one callback counts for. */
struct target_ref {
	__u64 key;
	struct scb_counters *counters;
	struct scb_shared_counters *shared;
	__u32 id_mode;		/* its identity.mode (SCB_ID_*) */
};

#include "identity.bpf.h"

static __always_inline struct cgroup *sock_cgroup(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;

	return sk ? tcp_sock_cgroup(bpf_skc_to_tcp_sock(sk)) : NULL;
}

static __always_inline bool targets_nested(void)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&nested, &zero);

	return v && *v;
}

static __always_inline bool from_hash(struct target_ref *ref)
{
	ref->counters = bpf_map_lookup_elem(&stats, &ref->key);
	ref->shared = bpf_map_lookup_elem(&trans, &ref->key);
	return ref->counters && ref->shared;
}

/* A cgroup link: its storage names the target. With multi-attach the
 * kernel runs the links of the socket's cgroup and of its ancestors (a
 * container inside a traced pod); only the nearest traced cgroup's link
 * counts, so nothing is counted twice. */
static __always_inline bool resolve_cgroup(struct bpf_sock_ops *skops, struct target_ref *ref)
{
	struct scb_link_counters *pc = bpf_get_local_storage(&cgstats, 0);
	struct scb_link_shared *sh;
	__u64 nearest;

	if (!pc->key)	/* link made, storage not written yet */
		return false;
	if (targets_nested()) {
		nearest = first_traced(sock_cgroup(skops), pc->key);
		if (nearest && nearest != pc->key)
			return false;
	}
	ref->key = pc->key;
	ref->id_mode = pc->id_mode;
	if (pc->store == SCB_STORE_HASH)
		return from_hash(ref);
	sh = bpf_get_local_storage(&cgtrans, 0);
	ref->counters = &pc->c;
	ref->shared = &sh->sh;
	return true;
}

/* The node-wide link: the netns cookie lookup ends it for untraced
 * sockets. A socket of a registered netns that is inside a traced
 * cgroup belongs to that cgroup's link, unless this instance already
 * claimed it when it started (its socket record). */
static __always_inline bool resolve_netns(struct bpf_sock_ops *skops, struct target_ref *ref)
{
	struct bpf_sock *sk = skops->sk;
	struct scb_target *t;

	ref->key = bpf_get_netns_cookie(skops) | SCB_NETNS_BIT;
	t = bpf_map_lookup_elem(&targets, &ref->key);
	if (!t || t->removed_ns)
		return false;
	if (!(sk && bpf_sk_storage_get(&socks, sk, NULL, 0)) && first_traced(sock_cgroup(skops), 0))
		return false;
	ref->id_mode = t->identity.mode;
	return from_hash(ref);
}

static __always_inline bool is_established_op(__u32 op)
{
	return op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;
}

/* Ask for the target's callbacks on top of what the socket has:
 * cb_flags_set replaces the socket's flags, so OR them in. Every flag
 * exists on every kernel the program loads on (5.10+). */
static __always_inline void set_flags(struct bpf_sock_ops *skops, const struct scb_target *t,
				      __u32 op)
{
	__u32 have = skops->bpf_sock_ops_cb_flags, want = have | id_flags(t->flags, &t->identity);

	if (is_established_op(op))
		want = id_established_flags(want, &t->identity);
	if (want != have)
		bpf_sock_ops_cb_flags_set(skops, want);
}

/* What a learning target does as a connection starts. */
static __always_inline void id_start(struct bpf_sock_ops *skops, struct target_ref *ref,
				     const struct scb_identity *id, __u32 op)
{
	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		id_connect(skops, ref);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		id_established(skops, ref, id, false);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		id_established(skops, ref, id, true);
		break;
	default:
		id_listen(skops);
		break;
	}
}

/* The netns entry point remembers the target it found for a connection
 * (resolve_netns) and `conns` lists these records. Cgroup links keep
 * none: allocating socket storage per connection would cost more than
 * everything else done per connection. */
static __always_inline void sock_record(struct bpf_sock_ops *skops, __u64 key)
{
	struct bpf_sock *sk = skops->sk;
	struct scb_sock *s;

	if (!sk)
		return;
	s = bpf_sk_storage_get(&socks, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (s && !s->start_ns) {
		s->target = key;
		s->start_ns = bpf_ktime_get_ns();
	}
}

/* A connection starts (or a socket listens): ask for its callbacks. */
static __always_inline void on_start(struct bpf_sock_ops *skops, struct target_ref *ref,
				     __u64 *counter, __u32 op)
{
	struct scb_target *t = bpf_map_lookup_elem(&targets, &ref->key);

	__sync_fetch_and_add(counter, 1);
	if (!t)
		return;
	set_flags(skops, t, op);
	if (t->identity.mode & SCB_ID_LEARN)
		id_start(skops, ref, &t->identity, op);
}

/* A header-option callback: counted; an announcing target's SYNs and
 * SYN-ACKs get its identity. */
static __always_inline void on_hdr_opt(struct bpf_sock_ops *skops, struct target_ref *ref,
				       __u32 op)
{
	struct scb_target *t;

	__sync_fetch_and_add(&ref->counters->hdr_opt, 1);
	if (!(ref->id_mode & SCB_ID_ANNOUNCE) || op == BPF_SOCK_OPS_PARSE_HDR_OPT_CB)
		return;
	/* Sizing needs nothing of the target; writing needs its identity. */
	t = op == BPF_SOCK_OPS_WRITE_HDR_OPT_CB ? bpf_map_lookup_elem(&targets, &ref->key) : NULL;
	id_announce(skops, ref, t ? &t->identity : NULL, op);
}

static __always_inline struct tcp_sock *tcp_of(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;

	return sk ? bpf_skc_to_tcp_sock(sk) : NULL;
}

/* Why a connection closed, from the error the kernel set before it
 * called tcp_done(): tcp_reset() sets ECONNREFUSED (SYN_SENT),
 * ECONNRESET or EPIPE (CLOSE_WAIT); tcp_write_err() ETIMEDOUT. A local
 * abort (close with unread data, SO_LINGER 0, tcp_disconnect) moves to
 * CLOSE with no error yet. docs/config.md defines each counter. */
static __always_inline void on_close(struct bpf_sock_ops *skops, struct scb_counters *c, __u32 old)
{
	struct tcp_sock *tp = tcp_of(skops);
	int err = tp ? tp->inet_conn.icsk_inet.sk.sk_err : 0;

	__sync_fetch_and_add(&c->closed, 1);
	if (tp)
		__sync_fetch_and_add(&c->segs_out_closed, tp->data_segs_out);
	if (old == TCP_SYN_SENT) {
		__sync_fetch_and_add(&c->connect_failed, 1);
		if (err == ECONNREFUSED)
			__sync_fetch_and_add(&c->connect_refused, 1);
		else if (err == ETIMEDOUT)
			__sync_fetch_and_add(&c->connect_timeout, 1);
		return;
	}
	if (old >= 32 || !((1U << old) & SCB_ESTABLISHED_STATES))
		return;
	if (err == ECONNRESET || err == EPIPE)
		__sync_fetch_and_add(&c->reset_received, 1);
	else if (err == ETIMEDOUT)
		__sync_fetch_and_add(&c->timeout_established, 1);
	else if (!err && (old == TCP_ESTABLISHED || old == TCP_CLOSE_WAIT))
		__sync_fetch_and_add(&c->reset_sent, 1);
}

static __always_inline void on_state(struct bpf_sock_ops *skops, struct target_ref *ref)
{
	__u32 old = skops->args[0], new = skops->args[1];

	if (old < SCB_TCP_STATES && new < SCB_TCP_STATES)
		__sync_fetch_and_add(&ref->shared->states[old][new], 1);
	if (new != TCP_CLOSE)
		return;
	on_close(skops, ref->counters, old);
	if (ref->id_mode & SCB_ID_LEARN)
		id_close(skops, ref, old);
}

/* RTO_CB: args[0] is the connection's RTOs in a row before this one. */
static __always_inline void on_rto(struct bpf_sock_ops *skops, struct target_ref *ref)
{
	struct scb_counters *c = ref->counters;
	__u64 streak = (__u64)skops->args[0] + 1;

	__sync_fetch_and_add(&c->rto, 1);
	if (streak > c->rto_streak_max)	/* this CPU's: no other writes it */
		c->rto_streak_max = streak;
	if (ref->id_mode & SCB_ID_LEARN)
		peer_add(skops, true, 0);
}

/* The kernel calls RTT_CB from tcp_rtt_estimator() at a connection's
 * first RTT sample and then once per RTT window, before it stores the
 * new smoothed RTT. From 6.10 it passes the sample (args[0], µs) and
 * the new srtt << 3 (args[1], never 0 after the first window); older
 * kernels pass nothing, and skops->srtt_us is then the previous
 * window's smoothed RTT: 0 at the first sample, which is skipped rather
 * than counted as a 0 µs RTT. */
static __always_inline void on_rtt(struct bpf_sock_ops *skops, struct target_ref *ref)
{
	struct scb_counters *c = ref->counters;
	__u32 us;

	if (skops->args[1]) {
		us = skops->args[0];
	} else {
		us = skops->srtt_us >> 3;
		if (!us)
			return;
		__sync_fetch_and_add(&c->rtt_smoothed, 1);
	}
	/* rtt_samples is the histogram's sum, added up by readers. */
	__sync_fetch_and_add(&c->rtt_sum_us, us);
	if (us > c->rtt_max_us)	/* this CPU's: no other writes it */
		c->rtt_max_us = us;
	__sync_fetch_and_add(&ref->shared->rtt_hist[scb_rtt_slot(us)], 1);
	if (ref->id_mode & SCB_ID_LEARN)
		peer_rtt(skops, us);
}

/* RETRANS_CB runs once per retransmitted skb of args[1] segments, also
 * when sending it failed (args[2] != 0); the kernel's TcpRetransSegs
 * counts them all. */
static __always_inline void on_retrans(struct bpf_sock_ops *skops, struct target_ref *ref)
{
	struct tcp_sock *tp = tcp_of(skops);
	__u32 segs = skops->args[1];

	__sync_fetch_and_add(&ref->counters->retrans, segs);
	if (skops->args[2])
		__sync_fetch_and_add(&ref->counters->retrans_failed, segs);
	/* In loss recovery (after an RTO) rather than fast recovery. */
	if (tp && BPF_CORE_READ_BITFIELD(&tp->inet_conn, icsk_ca_state) == TCP_CA_Loss)
		__sync_fetch_and_add(&ref->counters->retrans_loss, segs);
	if (ref->id_mode & SCB_ID_LEARN)
		peer_add(skops, false, segs);
}

/* The callbacks we act on; the others (TIMEOUT_INIT, RWND_INIT,
 * NEEDS_ECN, ...), which every socket of an attached cgroup makes
 * whatever its flags, return before any lookup. */
#define SCB_OPS_HANDLED							\
	(1U << BPF_SOCK_OPS_TCP_CONNECT_CB |				\
	 1U << BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB |			\
	 1U << BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB |			\
	 1U << BPF_SOCK_OPS_TCP_LISTEN_CB |				\
	 1U << BPF_SOCK_OPS_STATE_CB | 1U << BPF_SOCK_OPS_RTT_CB |	\
	 1U << BPF_SOCK_OPS_RTO_CB | 1U << BPF_SOCK_OPS_RETRANS_CB |	\
	 1U << BPF_SOCK_OPS_PARSE_HDR_OPT_CB |				\
	 1U << BPF_SOCK_OPS_HDR_OPT_LEN_CB |				\
	 1U << BPF_SOCK_OPS_WRITE_HDR_OPT_CB)

static __always_inline bool is_start(__u32 op)
{
	return op == BPF_SOCK_OPS_TCP_CONNECT_CB || op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ||
	       op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB || op == BPF_SOCK_OPS_TCP_LISTEN_CB;
}

/* Every callback but RTT: out of line, so RTT's path stays short. */
static __noinline void on_event(struct bpf_sock_ops *skops, struct target_ref *ref, __u32 op)
{
	struct scb_counters *c = ref->counters;

	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		on_start(skops, ref, &c->connect, op);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		on_start(skops, ref, &c->active_established, op);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		on_start(skops, ref, &c->passive_established, op);
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		on_start(skops, ref, &c->listen, op);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		on_state(skops, ref);
		break;
	case BPF_SOCK_OPS_RTO_CB:
		on_rto(skops, ref);
		break;
	case BPF_SOCK_OPS_RETRANS_CB:
		on_retrans(skops, ref);
		break;
	default:	/* the header-option callbacks */
		on_hdr_opt(skops, ref, op);
		break;
	}
}

/* RTT, by far the most frequent callback, is handled inline. */
static __always_inline void count(struct bpf_sock_ops *skops, struct target_ref *ref, __u32 op)
{
	if (op == BPF_SOCK_OPS_RTT_CB)
		on_rtt(skops, ref);
	else
		on_event(skops, ref, op);
}

static __always_inline bool handled(__u32 op)
{
	return op < 32 && ((1U << op) & SCB_OPS_HANDLED);
}

/* Attached to every traced cgroup. */
SEC("sockops")
int scb_sockops(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;
	struct target_ref ref;

	if (handled(op) && resolve_cgroup(skops, &ref))
		count(skops, &ref, op);
	return 1;
}

/* Attached once, node-wide, while netns-registered pods exist. */
SEC("sockops")
int scb_sockops_netns(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;
	struct target_ref ref;

	if (!handled(op) || !resolve_netns(skops, &ref))
		return 1;
	if (is_start(op))
		sock_record(skops, ref.key);
	count(skops, &ref, op);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
