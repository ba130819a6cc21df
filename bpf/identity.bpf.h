/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Identity in the handshake (docs/identity.md): a target that announces
 * writes one experimental option (RFC 6994) on its SYNs and SYN-ACKs; a
 * target that learns reads its peer's at ESTABLISHED and counts each
 * connection's RTT, losses and end under (target, peer) in `peers`.
 * Included by sockops.bpf.c only; needs maps.bpf.h. */
#ifndef __SCB_IDENTITY_BPF_H
#define __SCB_IDENTITY_BPF_H

#include <bpf/bpf_endian.h>

#define SOL_TCP		6
#define TCP_SAVE_SYN	27
#define TCPHDR_SYN	0x02
#define AF_INET6	10
#define ENOENT		2
#define ENOMSG		42
#define SCB_ID_OPT_MAX	40	/* the longest TCP option there can be */
#define TCP_SYN_RECV	3

/* The option on the wire; every field in network order. */
struct scb_id_opt {
	__u8 kind;
	__u8 len;
	__u16 exid;
	__u32 node;
	__u32 pod;
} __attribute__((packed));

/* Written by nobody: the values new entries start from. */
static const struct scb_peer_counters peer_zero;
static const struct scb_peer_sock peer_sock_zero;

static __always_inline __u32 peer_rtt_slot(__u32 us)
{
	__u32 slot = us ? scb_log2(us) : 0;

	return slot < SCB_PEER_RTT_SLOTS ? slot : SCB_PEER_RTT_SLOTS - 1;
}

/* A SYN or SYN-ACK being built: HDR_OPT_LEN_CB and WRITE_HDR_OPT_CB see
 * its flags (and none while the kernel only sizes the MSS: nothing is
 * reserved there, so data segments keep their MSS). */
static __always_inline bool building_syn(struct bpf_sock_ops *skops)
{
	return skops->skb_tcp_flags & TCPHDR_SYN;
}

/* HDR_OPT_LEN_CB and WRITE_HDR_OPT_CB of an announcing target. A full
 * header loses the option, never the connection. */
static __always_inline void id_announce(struct bpf_sock_ops *skops, struct target_ref *ref,
					const struct scb_identity *id, __u32 op)
{
	struct scb_id_opt opt;

	if (!building_syn(skops))
		return;
	if (op == BPF_SOCK_OPS_HDR_OPT_LEN_CB) {
		if (bpf_reserve_hdr_opt(skops, SCB_ID_OPT_LEN, 0))
			__sync_fetch_and_add(&ref->shared->id_not_sent, 1);
		return;
	}
	if (!id)
		return;
	opt.kind = id->kind;
	opt.len = SCB_ID_OPT_LEN;
	opt.exid = bpf_htons(id->exid);
	opt.node = bpf_htonl(id->node);
	opt.pod = bpf_htonl((__u32)ref->key);
	if (bpf_store_hdr_opt(skops, &opt, sizeof(opt), 0))
		__sync_fetch_and_add(&ref->shared->id_not_sent, 1);
	else
		__sync_fetch_and_add(&ref->shared->id_sent, 1);
}

/* The peer's option: from the SYN-ACK that completed an active open, or
 * from the SYN the listener saved for a passive one. Fills node and pod
 * (0, 0 when there is none) and counts what was found. */
static __always_inline void id_read(struct bpf_sock_ops *skops, struct target_ref *ref,
				    const struct scb_identity *id, bool passive,
				    struct scb_peer_key *k)
{
	__u8 buf[SCB_ID_OPT_MAX] = {};
	struct scb_id_opt *opt = (void *)buf;
	struct scb_shared_counters *c = ref->shared;
	long ret;

	buf[0] = id->kind;
	buf[1] = 4;	/* "kind-length" of a 16-bit experiment id */
	buf[2] = id->exid >> 8;
	buf[3] = id->exid & 0xff;
	ret = bpf_load_hdr_opt(skops, buf, sizeof(buf), passive ? BPF_LOAD_HDR_OPT_TCP_SYN : 0);
	if (ret == -ENOMSG) {
		__sync_fetch_and_add(&c->id_absent, 1);
		return;
	}
	if (ret == -ENOENT) {
		__sync_fetch_and_add(&c->id_no_syn, 1);
		return;
	}
	if (ret != SCB_ID_OPT_LEN || opt->len != SCB_ID_OPT_LEN || !opt->pod) {
		__sync_fetch_and_add(&c->id_malformed, 1);
		return;
	}
	k->node = bpf_ntohl(opt->node);
	k->pod = bpf_ntohl(opt->pod);
	__sync_fetch_and_add(&c->id_learned, 1);
}

static __always_inline void peer_addr(struct bpf_sock_ops *skops, struct scb_peer_key *k)
{
	k->family = skops->family;
	if (k->family == AF_INET6) {
		k->addr[0] = skops->remote_ip6[0];
		k->addr[1] = skops->remote_ip6[1];
		k->addr[2] = skops->remote_ip6[2];
		k->addr[3] = skops->remote_ip6[3];
	} else {
		k->addr[0] = skops->remote_ip4;
	}
}

/* The connection's entry in `peers`, made on first use within the
 * target's cap; NULL past it (counted in peer_overflow). */
static __always_inline struct scb_peer_counters *
peer_entry(struct target_ref *ref, const struct scb_peer_key *k, __u32 max_peers)
{
	struct scb_peer_counters *p = bpf_map_lookup_elem(&peers, k);

	if (p)
		return p;
	if (ref->shared->peers >= max_peers ||
	    bpf_map_update_elem(&peers, k, &peer_zero, BPF_NOEXIST)) {
		__sync_fetch_and_add(&ref->shared->peer_overflow, 1);
		return NULL;
	}
	__sync_fetch_and_add(&ref->shared->peers, 1);
	return bpf_map_lookup_elem(&peers, k);
}

/* The connection's peer record (by its socket's cookie), kept for its
 * later callbacks; create makes an empty one where there is none. Every
 * helper call counts here: each is paid per connection. */
static __always_inline struct scb_peer_sock *peer_sock(__u64 *cookie, bool create)
{
	struct scb_peer_sock *s = bpf_map_lookup_elem(&peer_conns, cookie);

	if (s || !create)
		return s;
	bpf_map_update_elem(&peer_conns, cookie, &peer_sock_zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&peer_conns, cookie);
}

/* Before the handshake completes, the peer is not known yet. */
static __always_inline bool in_handshake(__u32 state)
{
	return state == TCP_SYN_SENT || state == TCP_SYN_RECV;
}

/* What the connection did before its entry existed, into the entry. */
static __always_inline void peer_flush(struct scb_peer_counters *p, struct scb_peer_sock *s)
{
	if (s->pending_rtt) {
		__sync_fetch_and_add(&p->rtt_sum_us, s->pending_rtt_us);
		__sync_fetch_and_add(&p->rtt_hist[peer_rtt_slot(s->pending_rtt_us / s->pending_rtt)],
				     s->pending_rtt);
	}
	if (s->pending_retrans)
		__sync_fetch_and_add(&p->retrans, s->pending_retrans);
	if (s->pending_rto)
		__sync_fetch_and_add(&p->rto, s->pending_rto);
	s->pending_rtt_us = 0;
	s->pending_rtt = s->pending_retrans = s->pending_rto = 0;
}

/* TCP_CONNECT_CB of a learning target: the peer is its address until
 * the SYN-ACK says more; a connect that fails is counted under it. */
static __always_inline void id_connect(struct bpf_sock_ops *skops, struct target_ref *ref)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct scb_peer_sock rec;

	__builtin_memset(&rec, 0, sizeof(rec));
	rec.key.target = ref->key;
	peer_addr(skops, &rec.key);
	bpf_map_update_elem(&peer_conns, &cookie, &rec, BPF_ANY);
}

/* A netns target's connection has a record of its own, which `conns`
 * walks: the peer goes there too. */
static __always_inline void id_to_sock_record(struct bpf_sock_ops *skops,
					      const struct scb_peer_key *k)
{
	struct bpf_sock *sk = skops->sk;
	struct scb_sock *r = sk ? bpf_sk_storage_get(&socks, sk, NULL, 0) : NULL;

	if (r) {
		r->peer_node = k->node;
		r->peer_pod = k->pod;
	}
}

/* ACTIVE/PASSIVE_ESTABLISHED_CB of a learning target. */
static __always_inline void id_established(struct bpf_sock_ops *skops, struct target_ref *ref,
					   const struct scb_identity *id, bool passive)
{
	struct scb_peer_counters *p;
	struct scb_peer_sock *s;
	struct scb_peer_key k;

	__u64 cookie = bpf_get_socket_cookie(skops);

	__builtin_memset(&k, 0, sizeof(k));
	k.target = ref->key;
	peer_addr(skops, &k);
	id_read(skops, ref, id, passive, &k);
	s = peer_sock(&cookie, true);
	if (!s)
		return;
	s->key = k;
	if (ref->key & SCB_NETNS_BIT)
		id_to_sock_record(skops, &k);
	p = peer_entry(ref, &k, id->max_peers);
	if (!p)
		return;
	__sync_fetch_and_add(passive ? &p->passive : &p->active, 1);
	peer_flush(p, s);
}

/* STATE_CB to CLOSE: a failed connect has its entry made here (under
 * the address it was sent to); the connection's record goes. */
static __always_inline void id_close(struct bpf_sock_ops *skops, struct target_ref *ref,
				     __u32 old)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct scb_peer_sock *s = peer_sock(&cookie, false);
	struct scb_peer_counters *p;
	struct scb_target *t;

	if (!s)
		return;
	if (old == TCP_SYN_SENT) {
		t = bpf_map_lookup_elem(&targets, &ref->key);
		p = t ? peer_entry(ref, &s->key, t->identity.max_peers) : NULL;
		if (p) {
			__sync_fetch_and_add(&p->failed, 1);
			peer_flush(p, s);
		}
	} else {
		p = bpf_map_lookup_elem(&peers, &s->key);
		if (p)
			__sync_fetch_and_add(&p->closed, 1);
	}
	bpf_map_delete_elem(&peer_conns, &cookie);
}

/* The socket's record and its entry (NULL until the handshake made
 * it). An accepted connection takes its first RTT sample, from the ACK
 * of its SYN-ACK, before PASSIVE_ESTABLISHED: its record starts there.
 * During the handshake what happens waits in the record (peer_flush). */
static __always_inline struct scb_peer_sock *
peer_of(struct bpf_sock_ops *skops, __u32 state, struct scb_peer_counters **p)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct scb_peer_sock *s = peer_sock(&cookie, state == TCP_SYN_RECV);

	*p = s && !in_handshake(state) ? bpf_map_lookup_elem(&peers, &s->key) : NULL;
	return s;
}

/* The socket's state is read once: the verifier refuses a context
 * field read through a pointer the compiler moved. */
static __always_inline void peer_rtt(struct bpf_sock_ops *skops, __u32 us)
{
	__u32 state = skops->state;
	struct scb_peer_counters *p;
	struct scb_peer_sock *s = peer_of(skops, state, &p);

	if (p) {
		__sync_fetch_and_add(&p->rtt_sum_us, us);
		__sync_fetch_and_add(&p->rtt_hist[peer_rtt_slot(us)], 1);
	} else if (s && in_handshake(state)) {
		s->pending_rtt_us += us;
		s->pending_rtt++;
	}
}

static __always_inline void peer_add(struct bpf_sock_ops *skops, bool rto, __u32 segs)
{
	__u32 state = skops->state;
	struct scb_peer_counters *p;
	struct scb_peer_sock *s = peer_of(skops, state, &p);

	if (p) {
		if (rto)
			__sync_fetch_and_add(&p->rto, 1);
		else
			__sync_fetch_and_add(&p->retrans, segs);
	} else if (s && in_handshake(state)) {
		if (rto)
			s->pending_rto++;
		else
			s->pending_retrans += segs;
	}
}

/* The flags a connection keeps once established: with identity on, the
 * header-option flags served the handshake only, and data segments get
 * no callback for them. */
static __always_inline __u32 id_established_flags(__u32 flags, const struct scb_identity *id)
{
	return id->mode ? flags & ~SCB_HDR_FLAGS : flags;
}

/* A learning target sees each connection's CLOSE, where its record in
 * peer_conns goes: STATE joins its flags. */
static __always_inline __u32 id_flags(__u32 flags, const struct scb_identity *id)
{
	return id->mode & SCB_ID_LEARN ? flags | SCB_FLAG_STATE : flags;
}

/* TCP_LISTEN_CB of a learning target: the kernel keeps each accepted
 * connection's SYN, where its option is read at PASSIVE_ESTABLISHED. */
static __always_inline void id_listen(struct bpf_sock_ops *skops)
{
	int one = 1;

	bpf_setsockopt(skops, SOL_TCP, TCP_SAVE_SYN, &one, sizeof(one));
}

#endif
