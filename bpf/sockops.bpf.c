// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockops-cb: one sock_ops program, loaded once per node and attached to
 * every traced cgroup. It finds the socket's target (the nearest traced
 * cgroup above the socket, or its registered netns), asks the kernel for
 * that target's callbacks, and turns them into counters and events.
 * Loaded through a light skeleton: the kernel does the CO-RE relocations,
 * so the first container does not wait for libbpf to parse the kernel's
 * BTF. The iterators are in iters.bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sockops.h"
#include "maps.bpf.h"

#define AF_INET		2
#define AF_INET6	10
#define TCP_CLOSE	7
#define SCB_NETNS_BIT	(1ULL << 63)

/* Entries are created by user space at attach, so the program never
 * allocates; BPF_F_NO_PREALLOC keeps an idle node's memory small. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SCB_MAX_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct scb_pcpu);
} stats SEC(".maps");

/* Shared across CPUs (atomic adds): see struct scb_trans. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCB_MAX_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct scb_trans);
} trans SEC(".maps");

/* A cgroup target's counters and transitions live in its link's cgroup
 * storage: the hot path finds them without a lookup. `stats` and
 * `trans` above hold netns targets and retained ones. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct scb_cg_pcpu);
} cgstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct scb_cg_shared);
} cgtrans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

/* control[0]: while a `trace` reader is attached, the event types it
 * wants (bit 1 << type), else 0: events cost nothing when nobody reads
 * them. control[1]: non-zero once two targets
 * on this node were nested (one cgroup below another), set by user space
 * before the second link exists; until then no socket can have a nearer
 * link than the one running, and nearest() is skipped. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} control SEC(".maps");

/* meta[0]: the build id of the object the pinned program came from,
 * written by user space at load; a binary of another build refuses the
 * pins instead of misreading them. Never read here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} meta SEC(".maps");

/* Where one callback is counted. */
struct where {
	__u64 key;
	__u32 flags;
	struct scb_pcpu *st;
};

/* Through the helper, not the bpf_cast_to_kern_ctx kfunc: resolving a
 * kfunc makes libbpf read every module's BTF at load, ~19 ms more for
 * the first container on a node. */
static __always_inline struct cgroup *sock_cgroup(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct tcp_sock *tp;

	if (!sk)
		return NULL;
	tp = bpf_skc_to_tcp_sock(sk);
	return tp ? tp->inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup : NULL;
}

/* Walk up from the socket's cgroup: the id of the first cgroup that is
 * stop_id or a traced target, 0 if none within SCB_ANCESTOR_DEPTH. */
static __always_inline __u64 first_traced(struct bpf_sock_ops *skops, __u64 stop_id)
{
	struct cgroup *cg = sock_cgroup(skops);
	struct scb_target *t;
	__u64 id;
	int i;

	for (i = 0; i < SCB_ANCESTOR_DEPTH && cg; i++) {
		id = cg->kn->id;
		if (id == stop_id)
			return id;
		t = bpf_map_lookup_elem(&targets, &id);
		if (t && !t->removed_ns)
			return id;
		cg = cg->self.parent ? cg->self.parent->cgroup : NULL;
	}
	return 0;
}

/* With multi-attach the kernel runs every program attached to the
 * socket's cgroup and to its ancestors: a container inside a traced pod
 * runs the container's link and the pod's. Only the link of the nearest
 * traced cgroup counts, so nothing is counted twice. The common case,
 * a socket in the very cgroup of the link, costs three loads. */
static __always_inline bool nearest(struct bpf_sock_ops *skops, __u64 link_key)
{
	__u64 id = first_traced(skops, link_key);

	return !id || id == link_key;
}

/* The netns-mode instance runs for every socket on the node: the netns
 * cookie lookup ends it for untraced ones. A socket of a registered netns
 * with a traced cgroup belongs to that cgroup's link; the answer is kept
 * in the socket's record (sock_init), so the walk runs once. */
static __always_inline bool resolve_netns(struct bpf_sock_ops *skops, struct where *w)
{
	struct bpf_sock *sk = skops->sk;
	struct scb_target *t;

	w->key = bpf_get_netns_cookie(skops) | SCB_NETNS_BIT;
	t = bpf_map_lookup_elem(&targets, &w->key);
	if (!t || t->removed_ns)
		return false;
	/* A traced cgroup above the socket: a cgroup link has it. */
	if (!(sk && bpf_sk_storage_get(&socks, sk, NULL, 0)) && first_traced(skops, 0))
		return false;
	w->flags = t->flags;
	w->st = bpf_map_lookup_elem(&stats, &w->key);
	return w->st != NULL;
}

static __always_inline __u32 control_word(__u32 i)
{
	__u32 *v = bpf_map_lookup_elem(&control, &i);

	return v ? *v : 0;
}

/* Is a reader attached and does it want events of this type? control[0]
 * is the reader's mask of event types (bit 1 << type): events nobody
 * asked for cost nothing. */
static __always_inline int wanted(__u32 type)
{
	return control_word(SCB_CONTROL_TRACING) & (1U << type);
}

/* The callback's target: the cgroup storage of the link that runs us,
 * or, for the netns-mode instance, the socket's netns. */
static __always_inline bool resolve(struct bpf_sock_ops *skops, struct where *w,
				    const bool netns)
{
	struct scb_cg_pcpu *pc;

	if (netns)
		return resolve_netns(skops, w);
	pc = bpf_get_local_storage(&cgstats, 0);
	if (!pc->key)	/* link made, storage not yet written */
		return false;
	if (control_word(SCB_CONTROL_NESTED) && !nearest(skops, pc->key))
		return false;
	w->key = pc->key;
	w->flags = pc->flags;
	w->st = &pc->c;
	return true;
}

static __always_inline struct scb_trans *trans_of(struct where *w, const bool netns)
{
	struct scb_cg_shared *sh;

	if (!netns) {
		sh = bpf_get_local_storage(&cgtrans, 0);
		return &sh->trans;
	}
	return bpf_map_lookup_elem(&trans, &w->key);
}

/* Ask for the target's callbacks on top of what the socket already has:
 * cb_flags_set replaces the socket's flags, so OR them in. */
static __always_inline void set_flags(struct bpf_sock_ops *skops, struct where *w)
{
	__u32 have = skops->bpf_sock_ops_cb_flags;
	struct scb_target *t;
	long ret;

	if ((have & w->flags) == w->flags)
		return;	/* ESTABLISHED after CONNECT: already set */
	ret = bpf_sock_ops_cb_flags_set(skops, have | w->flags);
	if (ret > 0) {
		t = bpf_map_lookup_elem(&targets, &w->key);
		if (t)
			__sync_fetch_and_or(&t->refused, (__u32)ret);
		__sync_fetch_and_add(&w->st->flags_refused, 1);
	}
}

/* The netns-mode instance keeps the answer of resolve_netns() with the
 * connection (one lookup per callback after that) and `conns` lists
 * these. Cgroup links need none: socket storage, allocated and freed
 * with every connection, cost more than everything else we do per
 * connection (docs/performance.md). */
static __always_inline void sock_init(struct bpf_sock_ops *skops, struct where *w,
				      const bool netns)
{
	struct bpf_sock *sk = skops->sk;
	struct scb_sock *s;

	if (!netns || !sk)
		return;
	s = bpf_sk_storage_get(&socks, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s || s->start_ns)
		return;
	s->target = w->key;
	s->start_ns = bpf_ktime_get_ns();
}

/* Not inlined: one copy instead of one per callback type keeps the hot
 * path (no reader) short, which matters where callbacks run with cold
 * caches (bulk transfers). */
static __noinline void emit_args(struct bpf_sock_ops *skops, struct where *w, __u32 type,
				  __u32 args[3])
{
	struct scb_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&w->st->events_lost, 1);
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
	e->srtt_us = skops->srtt_us >> 3;
	e->arg[0] = args[0];
	e->arg[1] = args[1];
	e->arg[2] = args[2];
	e->bytes_acked = skops->bytes_acked;
	e->bytes_received = skops->bytes_received;
	/* Never a wake-up: one costs ~8 µs, more than the event itself, and
	 * even one per batch needs bpf_ringbuf_query (a helper call per
	 * event). The reader polls every 10 ms instead (trace.c). */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* A BPF subprogram takes five arguments at most. */
static __always_inline void emit(struct bpf_sock_ops *skops, struct where *w, __u32 type,
				 __u32 a0, __u32 a1, __u32 a2)
{
	__u32 args[3] = { a0, a1, a2 };

	emit_args(skops, w, type, args);
}

static __always_inline __u32 log2_slot(__u32 v)
{
	__u32 r = 0;

	/* Unrolled binary search: a loop would cost more verifier states. */
	if (v >= (1U << 16)) { v >>= 16; r += 16; }
	if (v >= (1U << 8)) { v >>= 8; r += 8; }
	if (v >= (1U << 4)) { v >>= 4; r += 4; }
	if (v >= (1U << 2)) { v >>= 2; r += 2; }
	if (v >= (1U << 1)) r += 1;
	return r;
}

/* CONNECT, ESTABLISHED, LISTEN: the points where the kernel lets us set
 * a socket's flags. A target with an empty mask gets no socket record:
 * no callback will follow. */
static __always_inline void on_start(struct bpf_sock_ops *skops, struct where *w, __u32 type,
				     const bool netns)
{
	if (w->flags) {
		set_flags(skops, w);
		sock_init(skops, w, netns);
	}
	if (type == SCB_EV_ACTIVE_ESTABLISHED)
		__sync_fetch_and_add(&w->st->active_established, 1);
	else if (type == SCB_EV_PASSIVE_ESTABLISHED)
		__sync_fetch_and_add(&w->st->passive_established, 1);
	else if (type == SCB_EV_CONNECT)
		__sync_fetch_and_add(&w->st->connect, 1);
	else
		__sync_fetch_and_add(&w->st->listen, 1);
	if (wanted(type))
		emit(skops, w, type, w->flags, 0, 0);
}

static __always_inline void on_state(struct bpf_sock_ops *skops, struct where *w,
				     const bool netns)
{
	__u32 old = skops->args[0], new = skops->args[1];
	struct scb_trans *tr;

	tr = trans_of(w, netns);
	if (tr && old < SCB_TCP_STATES && new < SCB_TCP_STATES)
		__sync_fetch_and_add(&tr->states[old][new], 1);
	if (new == TCP_CLOSE)
		__sync_fetch_and_add(&w->st->closed, 1);
	if (wanted(SCB_EV_STATE))
		emit(skops, w, SCB_EV_STATE, old, new, 0);
	/* The summary: the reader knows when the connection started. */
	if (new == TCP_CLOSE && wanted(SCB_EV_CLOSE))
		emit(skops, w, SCB_EV_CLOSE, skops->total_retrans, 0, 0);
}

static __always_inline void on_rtt(struct bpf_sock_ops *skops, struct where *w)
{
	__u32 us, slot;

	/* args[0] is the sample (mrtt) on kernels >= 6.10; older ones pass
	 * nothing and the smoothed RTT is the best we have. */
	us = skops->args[0] ? skops->args[0] : skops->srtt_us >> 3;
	slot = log2_slot(us);
	if (slot >= SCB_HIST_SLOTS)
		slot = SCB_HIST_SLOTS - 1;
	/* rtt_samples is the histogram's sum, added up by readers. */
	__sync_fetch_and_add(&w->st->rtt_sum_us, us);
	__sync_fetch_and_add(&w->st->rtt_hist[slot], 1);
	if (wanted(SCB_EV_RTT))
		emit(skops, w, SCB_EV_RTT, us, 0, 0);
}

static __always_inline void on_rto(struct bpf_sock_ops *skops, struct where *w)
{
	__sync_fetch_and_add(&w->st->rto, 1);
	if (wanted(SCB_EV_RTO))
		emit(skops, w, SCB_EV_RTO, skops->args[0], skops->args[1], 0);
}

static __always_inline void on_retrans(struct bpf_sock_ops *skops, struct where *w)
{
	int err = skops->args[2];

	/* The callback also fires for retransmits that failed to go out. */
	__sync_fetch_and_add(err ? &w->st->retrans_failed : &w->st->retrans, 1);
	if (wanted(SCB_EV_RETRANS))
		emit(skops, w, SCB_EV_RETRANS, skops->args[0], skops->args[1], err);
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

/* Everything but RTT: out of line, one copy per instance, so that RTT's
 * path through the program stays short and straight. */
static __always_inline void on_other(struct bpf_sock_ops *skops, struct where *w, __u32 op,
				     const bool netns)
{
	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		on_start(skops, w, SCB_EV_CONNECT, netns);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		on_start(skops, w, SCB_EV_ACTIVE_ESTABLISHED, netns);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		on_start(skops, w, SCB_EV_PASSIVE_ESTABLISHED, netns);
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		on_start(skops, w, SCB_EV_LISTEN, netns);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		on_state(skops, w, netns);
		break;
	case BPF_SOCK_OPS_RTO_CB:
		on_rto(skops, w);
		break;
	case BPF_SOCK_OPS_RETRANS_CB:
		on_retrans(skops, w);
		break;
	default:	/* the header-option callbacks */
		__sync_fetch_and_add(&w->st->hdr_opt, 1);
		break;
	}
}

static __noinline void on_other_cgroup(struct bpf_sock_ops *skops, struct where *w, __u32 op)
{
	on_other(skops, w, op, false);
}

static __noinline void on_other_netns(struct bpf_sock_ops *skops, struct where *w, __u32 op)
{
	on_other(skops, w, op, true);
}

/* The target is resolved once, before the dispatch: one copy of that
 * code instead of one per callback type halves the program, and the
 * verifier's work at the first container with it. RTT, by far the most
 * frequent callback, is handled inline. The instance (cgroup links or
 * the node-wide netns link) is a constant of each entry point, not a
 * global the program would read on every callback: one cache line less
 * where callbacks run cold (bulk transfers). */
static __always_inline int dispatch(struct bpf_sock_ops *skops, const bool netns)
{
	__u32 op = skops->op;
	struct where w;

	if (op >= 32 || !((1U << op) & SCB_OPS_HANDLED) || !resolve(skops, &w, netns))
		return 1;
	if (op == BPF_SOCK_OPS_RTT_CB)
		on_rtt(skops, &w);
	else if (netns)
		on_other_netns(skops, &w, op);
	else
		on_other_cgroup(skops, &w, op);
	return 1;
}

/* Attached to every traced cgroup. */
SEC("sockops")
int scb_sockops(struct bpf_sock_ops *skops)
{
	return dispatch(skops, false);
}

/* Attached once, node-wide, while netns-registered pods exist. */
SEC("sockops")
int scb_sockops_netns(struct bpf_sock_ops *skops)
{
	return dispatch(skops, true);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
