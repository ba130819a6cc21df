// SPDX-License-Identifier: GPL-2.0
/* The kernel's floor for sock_ops tracing, for bench/net.sh: the cheapest
 * program that asks for the callbacks sockops-cb asks for (RTT, STATE,
 * RETRANS, RTO) and does nothing with them. Its cost is the kernel's: the
 * callbacks themselves and their dispatch. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

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
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
