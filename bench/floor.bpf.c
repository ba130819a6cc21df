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
 * buffer's own, which no per-event stream can go below. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../bpf/sockops.h"

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
	case BPF_SOCK_OPS_STATE_CB:
	case BPF_SOCK_OPS_RTT_CB:
	case BPF_SOCK_OPS_RTO_CB:
	case BPF_SOCK_OPS_RETRANS_CB:
		record();
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
