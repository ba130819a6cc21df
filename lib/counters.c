// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"
#include "node_internal.h"
#include "peers.h"

/* Per-CPU values come back rounded up to 8 bytes each. */
#define PCPU_SIZE(t) ((sizeof(t) + 7) & ~7UL)

static struct bpf_cgroup_storage_key storage_key(uint64_t cg_id)
{
	struct bpf_cgroup_storage_key k;

	memset(&k, 0, sizeof(k));
	k.cgroup_inode_id = cg_id;
	k.attach_type = BPF_CGROUP_SOCK_OPS;
	return k;
}

static int put_pair(struct scb_node *n, uint64_t key, const void *pcpu, const void *trans,
		    struct scb_error **err)
{
	if (!bpf_map_update_elem(n->stats_fd, &key, pcpu, BPF_ANY) &&
	    !bpf_map_update_elem(n->trans_fd, &key, trans, BPF_ANY))
		return 0;
	scb_error_set(err, SCB_ERR_KERNEL, "cannot write the counters: %s", strerror(errno));
	counters_delete(n, key);
	return -1;
}

int counters_create(struct scb_node *n, uint64_t key, struct scb_error **err)
{
	int ncpu = libbpf_num_possible_cpus();
	void *zero;
	int ret;

	/* One zeroed buffer serves both values. */
	zero = calloc(1, ncpu * PCPU_SIZE(struct scb_counters) + sizeof(struct scb_shared_counters));
	if (!zero)
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	ret = put_pair(n, key, zero, zero, err);
	free(zero);
	return ret;
}

void counters_delete(struct scb_node *n, uint64_t key)
{
	bpf_map_delete_elem(n->stats_fd, &key);
	bpf_map_delete_elem(n->trans_fd, &key);
	peers_delete_target(n, key);
}

/* All CPUs' copies of a cgroup target's storage, or NULL. */
static char *storage_read(struct scb_node *n, uint64_t cg_id)
{
	struct bpf_cgroup_storage_key k = storage_key(cg_id);
	int ncpu = libbpf_num_possible_cpus();
	char *vals;

	vals = calloc(ncpu, PCPU_SIZE(struct scb_link_counters));
	if (vals && bpf_map_lookup_elem(n->cgstats_fd, &k, vals)) {
		free(vals);
		return NULL;
	}
	return vals;
}

/* The kernel keeps a cgroup's storage until the cgroup is gone, and
 * gives it to the next link on that cgroup: a fresh attach starts from
 * zero, not from the counters of an earlier target there. */
static int zero_trans(struct scb_node *n, const struct bpf_cgroup_storage_key *k)
{
	struct scb_link_shared zero;

	memset(&zero, 0, sizeof(zero));
	return bpf_map_update_elem(n->cgtrans_fd, k, &zero, BPF_EXIST);
}

int counters_ready(struct scb_node *n, uint64_t cg_id, uint32_t store, uint32_t id_mode,
		   struct scb_error **err)
{
	struct bpf_cgroup_storage_key k = storage_key(cg_id);
	int ncpu = libbpf_num_possible_cpus(), c, ret;
	struct scb_link_counters *v;
	char *vals;

	if (store == SCB_STORE_HASH && counters_create(n, cg_id, err))
		return -1;
	vals = calloc(ncpu, PCPU_SIZE(struct scb_link_counters));
	if (!vals)
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	for (c = 0; c < ncpu; c++) {
		v = (struct scb_link_counters *)(vals + c * PCPU_SIZE(*v));
		v->key = cg_id;
		v->store = store;
		v->id_mode = id_mode;
	}
	ret = bpf_map_update_elem(n->cgstats_fd, &k, vals, BPF_EXIST);
	free(vals);
	if (!ret)
		ret = zero_trans(n, &k);
	if (ret)
		return scb_error_set(err, SCB_ERR_KERNEL, "cannot write the link's storage: %s",
				     strerror(errno));
	return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void sum_pcpu(struct scb_stats *out, const struct scb_counters *s)
{
	out->active_established += s->active_established;
	out->passive_established += s->passive_established;
	out->connect += s->connect;
	out->listen += s->listen;
	out->rto += s->rto;
	out->retrans += s->retrans;
	out->retrans_failed += s->retrans_failed;
	out->retrans_loss += s->retrans_loss;
	out->rtt_sum_us += s->rtt_sum_us;
	out->rtt_max_us = max_u64(out->rtt_max_us, s->rtt_max_us);
	out->hdr_opt += s->hdr_opt;
	out->closed += s->closed;
	out->rtt_smoothed += s->rtt_smoothed;
	out->connect_failed += s->connect_failed;
	out->connect_refused += s->connect_refused;
	out->connect_timeout += s->connect_timeout;
	out->reset_received += s->reset_received;
	out->reset_sent += s->reset_sent;
	out->timeout_established += s->timeout_established;
	out->rto_streak_max = max_u64(out->rto_streak_max, s->rto_streak_max);
	out->segs_out_closed += s->segs_out_closed;
}

/* The shared part: transitions, the RTT histogram, whose sum is
 * rtt_samples (one atomic less per RTT callback), and identity's. */
static void add_shared(struct scb_stats *out, const struct scb_shared_counters *sh)
{
	int i, j;

	for (i = 0; i < SCB_TCP_STATES; i++)
		for (j = 0; j < SCB_TCP_STATES; j++)
			out->states[i][j] += sh->states[i][j];
	for (i = 0; i < SCB_RTT_SLOTS; i++) {
		out->rtt_hist[i] += sh->rtt_hist[i];
		out->rtt_samples += sh->rtt_hist[i];
	}
	out->peers += sh->peers;
	out->id_sent += sh->id_sent;
	out->id_not_sent += sh->id_not_sent;
	out->id_learned += sh->id_learned;
	out->id_absent += sh->id_absent;
	out->id_malformed += sh->id_malformed;
	out->id_no_syn += sh->id_no_syn;
	out->peer_overflow += sh->peer_overflow;
}

/* A live cgroup target: 0, or -1 when key has no storage. */
static int read_storage(struct scb_node *n, uint64_t key, struct scb_stats *out)
{
	struct bpf_cgroup_storage_key k = storage_key(key);
	int ncpu = libbpf_num_possible_cpus(), c;
	struct scb_link_shared sh;
	char *vals;

	if (key & SCB_NETNS_BIT)
		return -1;
	vals = storage_read(n, key);
	if (!vals)
		return -1;
	if (((struct scb_link_counters *)vals)->store != SCB_STORE_LINK) {
		free(vals);
		return -1;
	}
	for (c = 0; c < ncpu; c++)
		sum_pcpu(out, &((struct scb_link_counters *)(vals + c * PCPU_SIZE(struct scb_link_counters)))->c);
	free(vals);
	if (!bpf_map_lookup_elem(n->cgtrans_fd, &k, &sh))
		add_shared(out, &sh.sh);
	return 0;
}

static int read_hash(struct scb_node *n, uint64_t key, struct scb_stats *out)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct scb_shared_counters sh;
	char *vals;

	vals = calloc(ncpu, PCPU_SIZE(struct scb_counters));
	if (!vals)
		return -1;
	if (bpf_map_lookup_elem(n->stats_fd, &key, vals)) {
		free(vals);
		return -1;
	}
	for (c = 0; c < ncpu; c++)
		sum_pcpu(out, (struct scb_counters *)(vals + c * PCPU_SIZE(struct scb_counters)));
	free(vals);
	if (!bpf_map_lookup_elem(n->trans_fd, &key, &sh))
		add_shared(out, &sh);
	return 0;
}

/* Neither reader adds anything before it knows it can read it all. */
int counters_add(struct scb_node *n, uint64_t key, struct scb_stats *out)
{
	if (!read_storage(n, key, out))
		return 0;
	return read_hash(n, key, out);
}

int counters_read(struct scb_node *n, uint64_t key, struct scb_stats *out)
{
	memset(out, 0, sizeof(*out));
	return counters_add(n, key, out);
}

int counters_retain(struct scb_node *n, uint64_t key, struct scb_error **err)
{
	struct bpf_cgroup_storage_key k = storage_key(key);
	int ncpu = libbpf_num_possible_cpus(), c, ret;
	struct scb_link_shared sh;
	char *vals, *pcpu;

	vals = storage_read(n, key);
	if (!vals || ((struct scb_link_counters *)vals)->store != SCB_STORE_LINK) {
		free(vals);
		return 0;	/* the hashes have them, or the cgroup is gone */
	}
	pcpu = calloc(ncpu, PCPU_SIZE(struct scb_counters));
	if (!pcpu) {
		free(vals);
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	}
	for (c = 0; c < ncpu; c++)
		memcpy(pcpu + c * PCPU_SIZE(struct scb_counters),
		       &((struct scb_link_counters *)(vals + c * PCPU_SIZE(struct scb_link_counters)))->c,
		       sizeof(struct scb_counters));
	if (bpf_map_lookup_elem(n->cgtrans_fd, &k, &sh))
		memset(&sh, 0, sizeof(sh));
	ret = put_pair(n, key, pcpu, &sh.sh, err);
	free(pcpu);
	free(vals);
	return ret;
}
