// SPDX-License-Identifier: GPL-2.0
/* The kernel's floor for sock_ops tracing, for bench/net.sh: the cheapest
 * program that asks for the callbacks sockops-cb asks for (RTT, STATE,
 * RETRANS, RTO) and does nothing with them. Its cost is the kernel's: the
 * callbacks themselves and their dispatch.
 *
 * Built with -DFLOOR_STREAM, the floor of streaming: the same, plus one
 * record of sockops-cb's event size reserved and submitted (never a
 * wake-up, as sockops-cb does) in every callback `trace` makes an event
 * of, with nothing written into it. Its cost over the floor is the ring
 * buffer's own, which no per-event stream can go below.
 *
 * Built with -DFLOOR_HIST=3, the floor plus one counter: the RTT sample
 * added atomically to one shared map value, the least any program that
 * counts can touch per callback.
 *
 * Built with -DFLOOR_HIST=1 or 2, the floor plus an RTT histogram update
 * at each RTT_CB: 1 as sockops-cb counted before the SLO work (32 log2
 * buckets in per-CPU storage), 2 as it counts now (bpf/rtthist.h: 192
 * log-linear buckets, shared, and a per-CPU sum and maximum). Their
 * difference is what the finer histogram costs per RTT callback. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../bpf/sockops.h"

#if FLOOR_HIST == 1
struct hist_pcpu {
	__u64 sum;
	__u64 slots[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist_pcpu);
} hist SEC(".maps");

static __always_inline void rtt(struct bpf_sock_ops *skops)
{
	__u32 zero = 0, us = skops->args[0], slot;
	struct hist_pcpu *h = bpf_map_lookup_elem(&hist, &zero);

	if (!h)
		return;
	slot = scb_log2(us);
	if (slot >= 32)
		slot = 31;
	__sync_fetch_and_add(&h->sum, us);
	__sync_fetch_and_add(&h->slots[slot], 1);
}
#elif FLOOR_HIST == 2
struct sum_pcpu {
	__u64 sum;
	__u64 max;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sum_pcpu);
} sums SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scb_shared_counters);
} shared SEC(".maps");

static __always_inline void rtt(struct bpf_sock_ops *skops)
{
	__u32 zero = 0, us = skops->args[0];
	struct sum_pcpu *c = bpf_map_lookup_elem(&sums, &zero);
	struct scb_shared_counters *sh = bpf_map_lookup_elem(&shared, &zero);

	if (!c || !sh)
		return;
	__sync_fetch_and_add(&c->sum, us);
	if (us > c->max)
		c->max = us;
	__sync_fetch_and_add(&sh->rtt_hist[scb_rtt_slot(us)], 1);
}
#elif FLOOR_HIST == 3
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sum SEC(".maps");

static __always_inline void rtt(struct bpf_sock_ops *skops)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&sum, &zero);

	if (v)
		__sync_fetch_and_add(v, skops->args[0]);
}
#else
static __always_inline void rtt(struct bpf_sock_ops *skops)
{
}
#endif

#ifdef FLOOR_STREAM
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

static __always_inline void record(void)
{
	void *e = bpf_ringbuf_reserve(&events, sizeof(struct scb_event), 0);

	if (e)
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}
#else
static __always_inline void record(void)
{
}
#endif

SEC("sockops")
int floor_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_RTO_CB_FLAG |
					  BPF_SOCK_OPS_RETRANS_CB_FLAG |
					  BPF_SOCK_OPS_STATE_CB_FLAG |
					  BPF_SOCK_OPS_RTT_CB_FLAG);
		record();
		break;
	case BPF_SOCK_OPS_RTT_CB:
		rtt(skops);
		record();
		break;
	case BPF_SOCK_OPS_STATE_CB:
	case BPF_SOCK_OPS_RTO_CB:
	case BPF_SOCK_OPS_RETRANS_CB:
		record();
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
