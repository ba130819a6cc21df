/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structs and constants shared by the BPF programs and user space (lib/). */
#ifndef __SOCKOPS_H
#define __SOCKOPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>	/* user space; BPF gets them from vmlinux.h */
#endif
#include "rtthist.h"

#define SCB_TCP_STATES		13	/* BPF_TCP_MAX_STATES */
#define SCB_MAX_TARGETS		16384	/* traced containers/pods per node */
#define SCB_ANCESTOR_DEPTH	8	/* cgroup levels searched above a socket */
#define SCB_ID_LEN		129	/* container id: 1..128 chars + NUL */
#define SCB_NAME_LEN		64
#define SCB_CGROUP_LEN		256
#define SCB_SET_LEN		32
#define SCB_IFNAME_LEN		16	/* IFNAMSIZ */
#define SCB_MAX_ATTACH		8	/* CNI attachments (networks) per pod */
#define SCB_GROUP_KEYS		4	/* targets one container id can have */

/* Flag bits as the kernel defines BPF_SOCK_OPS_*_CB_FLAG. */
#define SCB_FLAG_RTO			(1U << 0)
#define SCB_FLAG_RETRANS		(1U << 1)
#define SCB_FLAG_STATE			(1U << 2)
#define SCB_FLAG_RTT			(1U << 3)
#define SCB_FLAG_PARSE_ALL_HDR_OPT	(1U << 4)
#define SCB_FLAG_PARSE_UNKNOWN_HDR_OPT	(1U << 5)
#define SCB_FLAG_WRITE_HDR_OPT		(1U << 6)
#define SCB_FLAGS_KNOWN			0x7FU

/* The header-option flags: with identity on, handshake-only. */
#define SCB_HDR_FLAGS		(SCB_FLAG_PARSE_ALL_HDR_OPT |		\
				 SCB_FLAG_PARSE_UNKNOWN_HDR_OPT |	\
				 SCB_FLAG_WRITE_HDR_OPT)

/* Identity in the handshake (docs/identity.md): what a target does. */
#define SCB_ID_ANNOUNCE		(1U << 0)	/* our option on its SYNs and SYN-ACKs */
#define SCB_ID_LEARN		(1U << 1)	/* the peer's option read; per-peer counters */
#define SCB_ID_NO_SERIES	(1U << 2)	/* user space: no per-peer Prometheus series */
/* The option: kind, length, experiment id (2), node (4), pod (4). */
#define SCB_ID_OPT_LEN		12
#define SCB_MAX_PEERS		16384	/* (target, peer) entries per node */
#define SCB_MAX_PEER_CONNS	16384	/* live connections of learning targets */
#define SCB_PEER_RTT_SLOTS	26	/* log2 µs: [2^i, 2^(i+1)), up to 67 s */

/* Keys of `targets`: a cgroup id, or a netns cookie with this bit set. */
#define SCB_NETNS_BIT		(1ULL << 63)

/* How a target was registered: by cgroup (hook, attach, CNI with cgroupPath)
 * or by network namespace cookie (CNI without cgroupPath). */
enum scb_kind {
	SCB_KIND_CGROUP = 1,
	SCB_KIND_NETNS = 2,
};

/* Who attached a target: CNI GC only collects its own. */
enum scb_origin {
	SCB_ORIGIN_HOOK = 1,
	SCB_ORIGIN_CNI = 2,
	SCB_ORIGIN_MANUAL = 3,
};

/* One CNI attachment: a pod joins one network per (network, ifname),
 * several with multus. All of a pod's share its target (same netns or
 * cgroup); the target goes with the last one's DEL. */
struct scb_attachment {
	char network[SCB_NAME_LEN];
	char ifname[SCB_IFNAME_LEN];
};

/* A target's identity settings, from the config's `identity` section
 * at attach. Its own identity is (node, low 32 bits of its key). */
struct scb_identity {
	__u32 mode;		/* SCB_ID_*; 0: off for this target */
	__u32 node;		/* this node's id */
	__u32 max_peers;	/* peers counted apart; beyond: peer_overflow */
	__u16 exid;		/* RFC 6994 experiment id, host order */
	__u8 kind;		/* 253 or 254 */
	__u8 pad;
	char node_name[SCB_NAME_LEN];	/* user space: the info series' node */
};

/* Value of the `targets` map, keyed by cgroup id (kind CGROUP) or netns
 * cookie (kind NETNS). Written by user space only; the program reads
 * `flags` when a connection starts, everything else is metadata for
 * list/stats. */
struct scb_target {
	__u32 flags;		/* effective mask asked of the kernel */
	__u32 requested;	/* what the pod asked for, before the ceiling */
	__u32 kind;		/* enum scb_kind */
	__u32 origin;		/* enum scb_origin */
	__u32 store;		/* enum scb_store, cgroup targets */
	__u64 attached_ns;	/* CLOCK_REALTIME ns */
	__u64 cgroup_id;	/* cgroup the link is on (0 for NETNS) */
	__u64 removed_ns;	/* retained after removal (retainStats) */
	char id[SCB_ID_LEN];
	char name[SCB_NAME_LEN];
	char pod_ns[SCB_NAME_LEN];
	char pod_name[SCB_NAME_LEN];
	char flag_set[SCB_SET_LEN];
	char cgroup[SCB_CGROUP_LEN];
	__u32 existing_enabled;		/* connections older than the attach */
	__s32 existing_err;		/* why they could not be, 0 if none */
	__u32 n_attach;			/* CNI: entries used in attach */
	struct scb_attachment attach[SCB_MAX_ATTACH];
	struct scb_identity identity;
};

/* Counters of one target, per CPU; user space sums the CPUs. What each
 * one is, against the kernel's own counters, is in docs/config.md.
 * RTT's first: with the key before them (struct scb_link_counters), the most
 * frequent callback touches one cache line of them. */
#define SCB_COUNTERS							\
	__u64 rtt_sum_us;						\
	__u64 rtt_max_us;	/* readers take the CPUs' maximum */	\
	__u64 rtt_smoothed;	/* values that were srtt, not samples */	\
	__u64 active_established;					\
	__u64 passive_established;					\
	__u64 connect;							\
	__u64 listen;							\
	__u64 rto;							\
	__u64 retrans;		/* segments, as TcpRetransSegs */	\
	__u64 retrans_failed;	/* of those, segments not sent */	\
	__u64 rtt_samples;	/* user space: the histogram's sum */	\
	__u64 hdr_opt;							\
	__u64 closed;							\
	__u64 connect_failed;	/* SYN_SENT -> CLOSE */			\
	__u64 connect_refused;	/* of those, by a reset */		\
	__u64 connect_timeout;	/* of those, SYN retries ran out */	\
	__u64 reset_received;	/* established, then closed by a RST */	\
	__u64 reset_sent;	/* established, then aborted here */	\
	__u64 timeout_established; /* established, retries ran out */	\
	__u64 retrans_loss;	/* retrans segments sent in loss (RTO) */	\
	__u64 rto_streak_max;	/* most RTOs in a row on a connection */	\
	__u64 segs_out_closed;	/* data segments sent by closed connections */

/* Identity in the handshake (identity.bpf.h): at most a few per
 * connection, so shared, not per CPU (56 B per CPU is 14 KiB per
 * container on 256 CPUs). */
#define SCB_ID_COUNTERS							\
	__u64 id_sent;		/* SYN/SYN-ACKs that carried our identity */ \
	__u64 id_not_sent;	/* no room for it (or not written) */	\
	__u64 id_learned;	/* handshakes where the peer's was read */ \
	__u64 id_absent;	/* handshakes without one: untraced peer */ \
	__u64 id_malformed;	/* an option of ours, but not well formed */ \
	__u64 id_no_syn;	/* passive, no saved SYN (syncookie) */	\
	__u64 peer_overflow;	/* connections past the peer cap */

struct scb_counters {
	SCB_COUNTERS
};

/* What a target's CPUs share, added to atomically: the state
 * transitions [old][new] and the RTT histogram (rtthist.h). Per CPU
 * they would be 2.2 KiB per container per CPU: 560 KiB on 256 CPUs. */
struct scb_shared_counters {
	__u32 states[SCB_TCP_STATES][SCB_TCP_STATES];
	__u64 rtt_hist[SCB_RTT_SLOTS];
	__u64 peers;		/* entries this target has in `peers` */
	SCB_ID_COUNTERS
};

/* Where a cgroup target's counters live. */
enum scb_store {
	SCB_STORE_LINK = 1,	/* here, in the link's cgroup storage */
	SCB_STORE_HASH = 2,	/* in `stats`/`trans`: they outlive the cgroup */
};

/* A cgroup target's data, in the cgroup storage of its link (one
 * instance per attached cgroup, freed by the kernel with the cgroup):
 * the program gets it with bpf_get_local_storage, no lookup. User space
 * writes key and store into every CPU's copy once, right after the link
 * is made, and never again (a rewrite would lose the increments made
 * meanwhile); key 0 means "not ready", and the program ignores it. */
struct scb_link_counters {
	__u64 key;		/* the target's key (its cgroup id) */
	__u32 store;		/* enum scb_store */
	__u32 id_mode;		/* its identity.mode: RTT and losses per peer */
	struct scb_counters c;
};

/* The shared part of a cgroup target. */
struct scb_link_shared {
	struct scb_shared_counters sh;
};

/* What readers see: the CPUs summed, with the shared part. */
struct scb_stats {
	SCB_COUNTERS
	__u32 states[SCB_TCP_STATES][SCB_TCP_STATES];
	__u64 rtt_hist[SCB_RTT_SLOTS];
	__u64 peers;
	SCB_ID_COUNTERS
};

/* Key of `peers`: one target and one peer, by identity and address. */
struct scb_peer_key {
	__u64 target;
	__u32 node;		/* the peer's identity; 0, 0: none received */
	__u32 pod;
	__u32 addr[4];		/* the peer's address as seen here, network order */
	__u16 family;
	__u16 pad;
	__u32 pad2;
};

/* Counters of one (target, peer), shared by the CPUs. */
struct scb_peer_counters {
	__u64 active;		/* connections this target opened */
	__u64 passive;		/* connections it accepted */
	__u64 failed;		/* connects that failed (SYN_SENT -> CLOSE) */
	__u64 closed;
	__u64 retrans;		/* segments */
	__u64 rto;
	__u64 rtt_sum_us;
	__u64 rtt_hist[SCB_PEER_RTT_SLOTS];
};

/* Per connection of a learning target: its entry in `peers`, and what
 * happened before the handshake named the peer (the RTT of the SYN-ACK
 * or its ACK, SYN retransmits), added to the entry once it exists. */
struct scb_peer_sock {
	struct scb_peer_key key;
	__u64 pending_rtt_us;
	__u32 pending_rtt;	/* values in pending_rtt_us */
	__u32 pending_retrans;
	__u32 pending_rto;
	__u32 pad;
};

enum scb_event_type {
	SCB_EV_CONNECT = 1,
	SCB_EV_ACTIVE_ESTABLISHED,
	SCB_EV_PASSIVE_ESTABLISHED,
	SCB_EV_LISTEN,
	SCB_EV_STATE,
	SCB_EV_RTT,
	SCB_EV_RTO,
	SCB_EV_RETRANS,
	SCB_EV_CLOSE = 10,
};

struct scb_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 target;		/* key in `targets` */
	__u64 cookie;		/* socket cookie: one connection */
	__u32 type;		/* enum scb_event_type */
	__u16 family;		/* AF_INET / AF_INET6 */
	__u16 lport;		/* host order */
	__u16 rport;		/* host order */
	__u16 pad;
	__u32 saddr[4];		/* network order; IPv4 in [0] */
	__u32 daddr[4];
	__u32 srtt_us;		/* smoothed RTT, 0 when not known yet */
	__u32 peer_node;	/* the peer's identity, 0, 0: none known */
	__u32 peer_pod;
	__u32 arg[3];		/* per type: STATE old,new; RTT sample µs
				 * (or srtt, see SCB_RTT_SMOOTHED);
				 * RTO retransmits,rto_jiffies; RETRANS
				 * seq,segs,err; CLOSE retransmitted
				 * segments (the reader adds the duration) */
	__u32 pad2;
	__u64 bytes_acked;
	__u64 bytes_received;
};

/* Per-socket record of the netns-mode instance (socket storage): its
 * target, found once per connection, and when it started (`conns`). */
struct scb_sock {
	__u64 target;
	__u64 start_ns;
	__u32 peer_node;	/* the peer's identity, once learned */
	__u32 peer_pod;
};

/* One live traced connection, written by the conns iterator. */
struct scb_conn {
	__u64 target;
	__u64 start_ns;		/* bpf_ktime_get_ns at its first callback */
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 saddr[4];		/* network order; IPv4 in [0] */
	__u32 daddr[4];
	__u16 family;
	__u16 lport;		/* host order */
	__u16 rport;		/* host order */
	__u16 state;
	__u32 srtt_us;
	__u32 rttvar_us;
	__u32 min_rtt_us;
	__u32 total_retrans;
	__u32 segs_in;
	__u32 segs_out;
	__u32 snd_cwnd;
	__u32 cb_flags;		/* callbacks the socket has */
	__u32 peer_node;	/* the peer's identity; 0, 0: none known */
	__u32 peer_pod;
	__u32 pad;
};

/* One pre-existing socket the enable iterator tried. */
struct scb_enable_rec {
	__u64 target;
	__s32 err;		/* 0: enabled; -EINVAL: kernel too old */
	__u32 pad;
};

/* RTT event arg[1]: arg[0] is the smoothed RTT of the previous window,
 * not a sample (kernels before 6.10 pass no sample to RTT_CB). */
#define SCB_RTT_SMOOTHED	1

#endif /* __SOCKOPS_H */
