// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The Prometheus text format (0.0.4) of every target's counters: what
 * `metrics` prints for node_exporter's textfile collector and `serve`
 * answers scrapes with. Names follow Prometheus conventions: _total
 * counters, seconds. */
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "display.h"
#include "flagnames.h"
#include "group.h"
#include "prometheus.h"
#include "bpf_id.h"
#include "target.h"

#define PFX "sockops_cb_"

struct sample {
	struct scb_target t;
	struct scb_stats s;
	char labels[1024];
};

struct family {
	const char *name;
	const char *type;
	const char *help;
	void (*write)(FILE *out, const struct family *f, const struct sample *x);
};

void prom_label_value(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; *src && o + 3 < len; src++) {
		if (*src == '\\' || *src == '"') {
			dst[o++] = '\\';
			dst[o++] = *src;
		} else if (*src == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else {
			dst[o++] = *src;
		}
	}
	dst[o] = '\0';
}

static void make_labels(struct sample *x)
{
	char id[300], name[160], ns[160], pod[160], set[80];

	prom_label_value(id, sizeof(id), x->t.id);
	prom_label_value(name, sizeof(name), x->t.name);
	prom_label_value(ns, sizeof(ns), x->t.pod_ns);
	prom_label_value(pod, sizeof(pod), x->t.pod_name);
	prom_label_value(set, sizeof(set), x->t.flag_set);
	snprintf(x->labels, sizeof(x->labels),
		 "container_id=\"%s\",container_name=\"%s\",pod_namespace=\"%s\",pod_name=\"%s\",flag_set=\"%s\"",
		 id, name, ns, pod, set);
}

static void w_established(FILE *out, const struct family *f, const struct sample *x)
{
	fprintf(out, "%s{%s,direction=\"active\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.active_established);
	fprintf(out, "%s{%s,direction=\"passive\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.passive_established);
}

static void w_states(FILE *out, const struct family *f, const struct sample *x)
{
	int i, j;

	for (i = 0; i < SCB_TCP_STATES; i++)
		for (j = 0; j < SCB_TCP_STATES; j++)
			if (x->s.states[i][j])
				fprintf(out, "%s{%s,from=\"%s\",to=\"%s\"} %u\n", f->name,
					x->labels, tcp_state_name(i), tcp_state_name(j),
					x->s.states[i][j]);
}

static void w_retrans(FILE *out, const struct family *f, const struct sample *x)
{
	fprintf(out, "%s{%s,result=\"ok\"} %llu\n", f->name, x->labels,
		(unsigned long long)(x->s.retrans - x->s.retrans_failed));
	fprintf(out, "%s{%s,result=\"failed\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.retrans_failed);
}

static void w_connect_failures(FILE *out, const struct family *f, const struct sample *x)
{
	fprintf(out, "%s{%s,reason=\"refused\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.connect_refused);
	fprintf(out, "%s{%s,reason=\"timeout\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.connect_timeout);
	fprintf(out, "%s{%s,reason=\"other\"} %llu\n", f->name, x->labels,
		(unsigned long long)(x->s.connect_failed - x->s.connect_refused -
				     x->s.connect_timeout));
}

static void w_resets(FILE *out, const struct family *f, const struct sample *x)
{
	fprintf(out, "%s{%s,side=\"received\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.reset_received);
	fprintf(out, "%s{%s,side=\"sent\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.reset_sent);
}

#define W_COUNTER(fn, field)							\
static void fn(FILE *out, const struct family *f, const struct sample *x)	\
{										\
	fprintf(out, "%s{%s} %llu\n", f->name, x->labels,			\
		(unsigned long long)x->s.field);				\
}
W_COUNTER(w_rto, rto)
W_COUNTER(w_closed, closed)
W_COUNTER(w_hdr_opt, hdr_opt)
W_COUNTER(w_rtt_smoothed, rtt_smoothed)
W_COUNTER(w_estab_timeouts, timeout_established)
W_COUNTER(w_retrans_loss, retrans_loss)
W_COUNTER(w_rto_streak, rto_streak_max)
W_COUNTER(w_segs_out, segs_out_closed)
W_COUNTER(w_peer_overflow, peer_overflow)

static void w_id_sent(FILE *out, const struct family *f, const struct sample *x)
{
	fprintf(out, "%s{%s,result=\"sent\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.id_sent);
	fprintf(out, "%s{%s,result=\"not_sent\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.id_not_sent);
}

static void w_id_read(FILE *out, const struct family *f, const struct sample *x)
{
	static const char *const results[] = { "learned", "absent", "malformed", "no_saved_syn" };
	const uint64_t v[] = { x->s.id_learned, x->s.id_absent, x->s.id_malformed, x->s.id_no_syn };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		fprintf(out, "%s{%s,result=\"%s\"} %llu\n", f->name, x->labels, results[i],
			(unsigned long long)v[i]);
}

/* The kernel's buckets (bpf/rtthist.h) hold integer µs below their
 * upper bound. Prometheus gets every second one: 4 per power of two,
 * le 8 µs to 67 s (SCB_PROM_BUCKETS, then +Inf), each at most 25% as
 * wide as its lower bound. Every series gets every bucket, so sum by
 * (le) across targets adds up. */
static void w_rtt(FILE *out, const struct family *f, const struct sample *x)
{
	unsigned long long cum = 0;
	int i;

	for (i = 0; i < SCB_RTT_SLOTS; i++) {
		cum += x->s.rtt_hist[i];
		if (i < 7 || !(i & 1))
			continue;
		fprintf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", f->name, x->labels,
			(double)scb_rtt_high(i) / 1e6, cum);
	}
	fprintf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.rtt_samples);
	fprintf(out, "%s_sum{%s} %.6f\n", f->name, x->labels, (double)x->s.rtt_sum_us / 1e6);
	fprintf(out, "%s_count{%s} %llu\n", f->name, x->labels,
		(unsigned long long)x->s.rtt_samples);
}

static void w_info(FILE *out, const struct family *f, const struct sample *x)
{
	char eff[128], req[128];

	flags_format(x->t.flags, eff, sizeof(eff));
	flags_format(x->t.requested, req, sizeof(req));
	fprintf(out, "%s{%s,kind=\"%s\",effective=\"%s\",requested=\"%s\"} 1\n",
		f->name, x->labels, x->t.kind == SCB_KIND_NETNS ? "netns" : "cgroup",
		eff, req);
}

static const struct family families[] = {
	{ PFX "target_info", "gauge", "A traced container or pod and its flags.", w_info },
	{ PFX "connections_established_total", "counter",
	  "TCP connections established, by direction.", w_established },
	{ PFX "connections_closed_total", "counter",
	  "TCP sockets that reached CLOSE (needs STATE).", w_closed },
	{ PFX "state_transitions_total", "counter",
	  "TCP state changes (needs STATE).", w_states },
	{ PFX "retransmits_total", "counter",
	  "Retransmitted segments, as the kernel's TcpRetransSegs counts them; result=failed: "
	  "segments whose retransmit could not be sent (needs RETRANS).",
	  w_retrans },
	{ PFX "segments_sent_total", "counter",
	  "Data segments sent (with retransmits) by connections that have closed, added at "
	  "their close: the denominator of a retransmit ratio (needs STATE).", w_segs_out },
	{ PFX "rto_total", "counter", "Retransmission timeouts (needs RTO).", w_rto },
	{ PFX "rto_streak_max", "gauge",
	  "Most retransmission timeouts in a row on one connection since the attach: a "
	  "connection stuck in backoff (needs RTO).", w_rto_streak },
	{ PFX "retransmits_after_rto_total", "counter",
	  "Of retransmits_total, segments retransmitted in loss recovery, i.e. after an RTO; "
	  "the rest are fast retransmits, TLP and others (needs RETRANS).", w_retrans_loss },
	{ PFX "connect_failures_total", "counter",
	  "Connects that failed (SYN_SENT -> CLOSE): refused by a reset, timeout when the "
	  "SYN retries ran out, other (an ICMP error, a close while connecting) (needs STATE).",
	  w_connect_failures },
	{ PFX "resets_total", "counter",
	  "Established connections ended by a reset: side=received (the peer's RST), "
	  "side=sent (aborted here: closed with unread data, SO_LINGER 0) (needs STATE).",
	  w_resets },
	{ PFX "established_timeouts_total", "counter",
	  "Established connections dropped because retransmits ran out (needs STATE).",
	  w_estab_timeouts },
	{ PFX "rtt_seconds", "histogram",
	  "TCP round-trip times, one value per RTT window and connection (needs RTT): the "
	  "kernel's measured sample on Linux >= 6.10; on older kernels the smoothed RTT of "
	  "the previous window, counted in rtt_smoothed_values_total.", w_rtt },
	{ PFX "rtt_smoothed_values_total", "counter",
	  "Values of rtt_seconds that are the smoothed RTT, not a sample: kernels before 6.10 "
	  "pass no sample to RTT_CB. 0 where rtt_seconds holds samples.", w_rtt_smoothed },
	{ PFX "header_option_callbacks_total", "counter",
	  "Header option callbacks: one per segment sent (WRITE_HDR_OPT) or received "
	  "(PARSE_ALL_HDR_OPT); only counted. With identity enabled, the handshake's only.",
	  w_hdr_opt },
	{ PFX "identity_options_total", "counter",
	  "SYNs and SYN-ACKs that carried this target's identity option (sent), or had no "
	  "room for it (not_sent) (identity enabled and WRITE_HDR_OPT).", w_id_sent },
	{ PFX "identity_peer_options_total", "counter",
	  "Handshakes of this target by what the peer's side held: its identity (learned), "
	  "none (absent: an untraced peer, or a middlebox stripped it), an option of ours not "
	  "well formed (malformed, ignored), no saved SYN to read (no_saved_syn: a syncookie) "
	  "(identity enabled and a PARSE flag).", w_id_read },
	{ PFX "peer_overflow_total", "counter",
	  "Connections not counted per peer: the target had identity.maxPeersPerTarget peers "
	  "already, or the node's peer table (16384) was full.", w_peer_overflow },
};

/* One sample per container: the hook's and CNI's targets of one id
 * would otherwise be two series with the same labels. */
static int collect(struct scb_node *n, struct sample **xs, int *count, struct scb_error **err)
{
	struct group_list l;
	struct sample *x;
	int i;

	*xs = NULL;
	*count = 0;
	if (group_list_read(n, &l, err))
		return -1;
	*xs = calloc(l.n ? l.n : 1, sizeof(**xs));
	if (!*xs) {
		group_list_free(&l);
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	}
	for (i = 0; i < l.n; i++) {
		x = &(*xs)[*count];
		x->t = l.g[i].t;
		if (group_stats(n, &l.g[i], &x->s))
			continue;
		make_labels(x);
		(*count)++;
	}
	group_list_free(&l);
	return 0;
}

int metrics_write(FILE *out, struct scb_error **err)
{
	struct sample *xs = NULL;
	char *pbuf = NULL;
	size_t plen = 0;
	struct scb_node *n;
	FILE *pm;
	int count = 0, ret;
	uint64_t lost = 0;
	size_t f;

	ret = node_open(&n, NODE_READ, err);
	if (ret < 0)
		return -1;
	if (!ret && collect(n, &xs, &count, err)) {
		node_close(n);
		free(xs);
		return -1;
	}
	if (!ret)
		lost = node_trace_lost(n);
	pm = open_memstream(&pbuf, &plen);
	if (!ret && pm)
		prom_peers_write(pm, n);
	if (pm)
		fclose(pm);
	node_close(n);
	fprintf(out, "# HELP " PFX "build_info The sockops-cb serving these metrics: its version "
		     "and the build id of its BPF program (a node of another build is refused).\n"
		     "# TYPE " PFX "build_info gauge\n" PFX "build_info{version=\"%s\",bpf_id=\"%016llx\"} 1\n",
		SCB_VERSION, (unsigned long long)SCB_BPF_ID);
	fprintf(out, "# HELP " PFX "trace_events_lost_total Events `sockops-cb trace` readers "
		     "dropped because their ring was full (each reader also reports its own).\n"
		     "# TYPE " PFX "trace_events_lost_total counter\n"
		     PFX "trace_events_lost_total %llu\n", (unsigned long long)lost);
	fprintf(out, "# HELP " PFX "targets Containers and pods traced on this node.\n"
		     "# TYPE " PFX "targets gauge\n" PFX "targets %d\n", count);
	for (f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", families[f].name,
			families[f].help, families[f].name, families[f].type);
		for (int i = 0; i < count; i++)
			families[f].write(out, &families[f], &xs[i]);
	}
	if (pbuf)
		fwrite(pbuf, 1, plen, out);
	free(pbuf);
	free(xs);
	return 0;
}
