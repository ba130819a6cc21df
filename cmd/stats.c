// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb stats [CONTAINER]`: counters and the RTT histogram. */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "args.h"
#include "cmd.h"
#include "display.h"
#include "flagnames.h"
#include "group.h"
#include "percentile.h"
#include "plot.h"
#include "target.h"

struct stats_args {
	const char *ref;
	bool json;
	const char *plot;
	double interval;
	int count;
};

static const char stats_doc[] =
	"Show the counters and RTT histogram of one traced container, or of all.\n"
	"\n"
	"CONTAINER is a full id, a unique id prefix or a name.\n"
	"\n"
	"What the numbers are (each equals the kernel's own count for the same\n"
	"sockets; docs/config.md):\n"
	"  connect       connects that sent a SYN, as ActiveOpens\n"
	"  established   active: ActiveOpens - AttemptFails; passive: PassiveOpens\n"
	"  retransmits   segments, as TcpRetransSegs (failed: not sent, TCPRetransFail)\n"
	"  rto           retransmission timeouts, as TCPTimeouts\n"
	"  state         transitions once a socket has its flags (not into SYN_SENT,\n"
	"                LISTEN or, for accepted sockets, SYN_RECV)\n"
	"  rtt           one value per RTT window, log2 us: the kernel's measured\n"
	"                sample on Linux >= 6.10; before, the smoothed RTT of the\n"
	"                previous window (rtt_values says which)\n"
	"\n"
	"--plot FILE.svg (or .png) samples the counters --count times, --interval\n"
	"seconds apart, and draws the RTT histogram and the counters over time.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb stats\n"
	"    sockops-cb stats web --json\n"
	"    sockops-cb stats web --plot web.svg --interval 1 --count 30";

static error_t stats_parse(int key, char *arg, struct argp_state *state)
{
	struct stats_args *a = state->input;
	char *end;

	switch (key) {
	case 'p':
		a->plot = arg;
		break;
	case 'i':
		a->interval = strtod(arg, &end);
		if (*end || a->interval <= 0 || a->interval > 3600)
			argp_error(state, "--interval wants seconds in (0, 3600], not \"%s\"", arg);
		break;
	case 'n':
		a->count = strtol(arg, &end, 10);
		if (*end || a->count < 1 || a->count > 100000)
			argp_error(state, "--count wants 1..100000, not \"%s\"", arg);
		break;
	case ARGP_KEY_END:
		if (a->plot && !a->ref)
			argp_error(state, "--plot needs a CONTAINER");
		break;
	default:
		return view_parse(key, arg, state, &a->json, NULL, &a->ref);
	}
	return 0;
}

static cJSON *states_json(const struct scb_stats *s)
{
	cJSON *o = cJSON_CreateObject();
	char key[48];
	int i, j;

	for (i = 0; i < SCB_TCP_STATES; i++)
		for (j = 0; j < SCB_TCP_STATES; j++) {
			if (!s->states[i][j])
				continue;
			snprintf(key, sizeof(key), "%s->%s", tcp_state_name(i), tcp_state_name(j));
			cJSON_AddNumberToObject(o, key, s->states[i][j]);
		}
	return o;
}

static cJSON *hist_json(const struct scb_stats *s)
{
	cJSON *arr = cJSON_CreateArray(), *b;
	int i;

	for (i = 0; i < SCB_RTT_SLOTS; i++) {
		if (!s->rtt_hist[i])
			continue;
		b = cJSON_CreateObject();
		cJSON_AddNumberToObject(b, "low", (double)scb_rtt_low(i));
		cJSON_AddNumberToObject(b, "high", (double)scb_rtt_high(i) - 1);
		cJSON_AddNumberToObject(b, "count", (double)s->rtt_hist[i]);
		cJSON_AddItemToArray(arr, b);
	}
	return arr;
}

static cJSON *percentiles_json(const struct scb_stats *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "p50", (double)(uint64_t)rtt_percentile(s, 0.50));
	cJSON_AddNumberToObject(o, "p90", (double)(uint64_t)rtt_percentile(s, 0.90));
	cJSON_AddNumberToObject(o, "p99", (double)(uint64_t)rtt_percentile(s, 0.99));
	cJSON_AddNumberToObject(o, "max", (double)s->rtt_max_us);
	return o;
}

/* What the handshake identity did (docs/identity.md). */
static cJSON *identity_json(const struct scb_target *t, const struct scb_stats *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "announces", t->identity.mode & SCB_ID_ANNOUNCE);
	cJSON_AddBoolToObject(o, "learns", t->identity.mode & SCB_ID_LEARN);
	cJSON_AddNumberToObject(o, "sent", (double)s->id_sent);
	cJSON_AddNumberToObject(o, "not_sent", (double)s->id_not_sent);
	cJSON_AddNumberToObject(o, "learned", (double)s->id_learned);
	cJSON_AddNumberToObject(o, "absent", (double)s->id_absent);
	cJSON_AddNumberToObject(o, "malformed", (double)s->id_malformed);
	cJSON_AddNumberToObject(o, "no_saved_syn", (double)s->id_no_syn);
	cJSON_AddNumberToObject(o, "peers", (double)s->peers);
	cJSON_AddNumberToObject(o, "peer_overflow", (double)s->peer_overflow);
	return o;
}

static cJSON *stats_json(const struct scb_target *t, const struct scb_stats *s)
{
	cJSON *o = cJSON_CreateObject();

	target_json_fields(o, t);
	cJSON_AddItemToObject(o, "effective", flags_to_json(t->flags));
	cJSON_AddNumberToObject(o, "established_active", (double)s->active_established);
	cJSON_AddNumberToObject(o, "established_passive", (double)s->passive_established);
	cJSON_AddNumberToObject(o, "connect", (double)s->connect);
	cJSON_AddNumberToObject(o, "listen", (double)s->listen);
	cJSON_AddNumberToObject(o, "closed", (double)s->closed);
	cJSON_AddNumberToObject(o, "rto", (double)s->rto);
	cJSON_AddNumberToObject(o, "retrans", (double)s->retrans);
	cJSON_AddNumberToObject(o, "retrans_failed", (double)s->retrans_failed);
	cJSON_AddNumberToObject(o, "rtt_samples", (double)s->rtt_samples);
	cJSON_AddNumberToObject(o, "rtt_sum_us", (double)s->rtt_sum_us);
	cJSON_AddNumberToObject(o, "rtt_smoothed", (double)s->rtt_smoothed);
	cJSON_AddStringToObject(o, "rtt_values", rtt_values_name(s));
	cJSON_AddNumberToObject(o, "hdr_opt", (double)s->hdr_opt);
	cJSON_AddItemToObject(o, "state_transitions", states_json(s));
	cJSON_AddItemToObject(o, "rtt_hist_us", hist_json(s));
	cJSON_AddItemToObject(o, "rtt_percentiles_us", percentiles_json(s));
	cJSON_AddNumberToObject(o, "rtt_max_us", (double)s->rtt_max_us);
	cJSON_AddNumberToObject(o, "connect_failed", (double)s->connect_failed);
	cJSON_AddNumberToObject(o, "connect_refused", (double)s->connect_refused);
	cJSON_AddNumberToObject(o, "connect_timeout", (double)s->connect_timeout);
	cJSON_AddNumberToObject(o, "reset_received", (double)s->reset_received);
	cJSON_AddNumberToObject(o, "reset_sent", (double)s->reset_sent);
	cJSON_AddNumberToObject(o, "timeout_established", (double)s->timeout_established);
	cJSON_AddNumberToObject(o, "retrans_loss", (double)s->retrans_loss);
	cJSON_AddNumberToObject(o, "rto_streak_max", (double)s->rto_streak_max);
	cJSON_AddNumberToObject(o, "segs_out_closed", (double)s->segs_out_closed);
	if (t->identity.mode)
		cJSON_AddItemToObject(o, "identity", identity_json(t, s));
	return o;
}

/* What a person needs to read the histogram right. */
static const char *rtt_values_text(const struct scb_stats *s)
{
	if (!s->rtt_samples)
		return "no RTT value yet";
	if (s->rtt_smoothed)
		return "smoothed RTT once per RTT window: this kernel passes no sample";
	return "measured samples, one per RTT window";
}

static void stats_text(const struct scb_target *t, const struct scb_stats *s)
{
	__u64 oct[32];
	char eff[128];
	int i, j;

	printf("%s (%.12s) flags %s%s\n", target_label(t), t->id,
	       flags_format(t->flags, eff, sizeof(eff)),
	       t->removed_ns ? " [removed]" : "");
	printf("  established   active %llu  passive %llu   connect %llu  listen %llu  closed %llu\n",
	       (unsigned long long)s->active_established,
	       (unsigned long long)s->passive_established, (unsigned long long)s->connect,
	       (unsigned long long)s->listen, (unsigned long long)s->closed);
	printf("  retransmits   %llu segments (of which failed to send %llu)   rto %llu   hdr-opt %llu\n",
	       (unsigned long long)s->retrans, (unsigned long long)s->retrans_failed,
	       (unsigned long long)s->rto, (unsigned long long)s->hdr_opt);
	printf("  connects      failed %llu: refused %llu, timed out %llu\n",
	       (unsigned long long)s->connect_failed, (unsigned long long)s->connect_refused,
	       (unsigned long long)s->connect_timeout);
	printf("  resets        received %llu, sent %llu; established timeouts %llu\n",
	       (unsigned long long)s->reset_received, (unsigned long long)s->reset_sent,
	       (unsigned long long)s->timeout_established);
	printf("  recovery      %llu segments retransmitted after an RTO; most RTOs in a row %llu\n",
	       (unsigned long long)s->retrans_loss, (unsigned long long)s->rto_streak_max);
	if (t->identity.mode)
		printf("  identity      sent %llu, not sent %llu; peer's: learned %llu, absent %llu, malformed %llu, no saved SYN %llu; %llu peers\n",
		       (unsigned long long)s->id_sent, (unsigned long long)s->id_not_sent,
		       (unsigned long long)s->id_learned, (unsigned long long)s->id_absent,
		       (unsigned long long)s->id_malformed, (unsigned long long)s->id_no_syn,
		       (unsigned long long)s->peers);
	printf("  rtt           %llu values, avg %llu us (%s)\n",
	       (unsigned long long)s->rtt_samples,
	       (unsigned long long)(s->rtt_samples ? s->rtt_sum_us / s->rtt_samples : 0),
	       rtt_values_text(s));
	if (s->rtt_samples)
		printf("  rtt us        p50 %.0f   p90 %.0f   p99 %.0f   max %llu   (within 12.5%%)\n",
		       rtt_percentile(s, 0.50), rtt_percentile(s, 0.90), rtt_percentile(s, 0.99),
		       (unsigned long long)s->rtt_max_us);
	for (i = 0; i < SCB_TCP_STATES; i++)
		for (j = 0; j < SCB_TCP_STATES; j++)
			if (s->states[i][j])
				printf("  state         %s -> %s: %u\n", tcp_state_name(i),
				       tcp_state_name(j), s->states[i][j]);
	rtt_octaves(s, oct);
	print_log2_hist(stdout, oct, 32, "rtt usecs");
	printf("\n");
}

static void show(struct scb_node *n, const struct scb_group *g, bool json)
{
	struct scb_stats s;

	if (group_stats(n, g, &s))
		return;
	if (json)
		json_print_line(stats_json(&g->t, &s));
	else
		stats_text(&g->t, &s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int plot(struct scb_node *n, const struct scb_group *g, const struct stats_args *a,
		struct scb_error **err)
{
	struct plot_sample *xs = calloc(a->count, sizeof(*xs));
	double start = now_s();
	int i, ret;

	if (!xs)
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	if (plot_check(a->plot, err)) {
		free(xs);
		return -1;
	}
	for (i = 0; i < a->count; i++) {
		if (i)
			usleep(a->interval * 1e6);
		xs[i].t = now_s() - start;
		if (group_stats(n, g, &xs[i].s)) {
			free(xs);
			return scb_error_set(err, SCB_ERR_NOT_FOUND,
					     "%s was detached while sampling", g->t.id);
		}
	}
	ret = plot_write(a->plot, &g->t, xs, a->count, err);
	free(xs);
	if (!ret)
		fprintf(stderr, "sockops-cb: wrote %s\n", a->plot);
	return ret;
}

int cmd_stats(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "json", 'j', NULL, 0, "One JSON object per container", 0 },
		{ "plot", 'p', "FILE", 0, "Draw the RTT histogram and counters to FILE (.svg, .png)", 0 },
		{ "interval", 'i', "S", 0, "Seconds between samples for --plot (default 1)", 0 },
		{ "count", 'n', "N", 0, "Samples for --plot (default 10)", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = stats_parse,
				   .args_doc = "[CONTAINER]", .doc = stats_doc };
	struct stats_args a = { .interval = 1, .count = 10 };
	struct group_list l;
	struct scb_group g;
	struct scb_node *n;
	int ret, i;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	ret = node_open(&n, NODE_READ, err);
	if (ret < 0)
		return -1;
	if (ret > 0)
		return a.ref ? scb_error_set(err, SCB_ERR_NOT_FOUND,
					     "nothing is traced on this node") : 0;
	if (a.ref) {
		ret = group_find(n, a.ref, &g, err);
		if (!ret && a.plot)
			ret = plot(n, &g, &a, err);
		else if (!ret)
			show(n, &g, a.json);
	} else {
		ret = group_list_read(n, &l, err);
		for (i = 0; !ret && i < l.n; i++)
			show(n, &l.g[i], a.json);
		group_list_free(&l);
	}
	node_close(n);
	return ret;
}
