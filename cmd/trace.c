// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb trace`: the live event stream. Each reader loads its own
 * trace program (bpf/trace.bpf.c) and ring on the node's maps and
 * attaches it through a link nobody else holds: when the reader exits,
 * however it exits, the kernel detaches it and no event is made any
 * more. The program never wakes the reader: it drains the ring every
 * TRACE_POLL_MS. 10 ms keeps output prompt for a person and empties the
 * 4 MiB ring long before it fills (~37,000 events: 3.7 M events/s, more
 * than a reader can format). */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include "args.h"
#include "cmd.h"
#include "display.h"
#include "conntime.h"
#include "eventjson.h"
#include "evtypes.h"
#include "flagnames.h"
#include "group.h"
#include "target.h"
#include "text.h"
#include "cgroup.h"
#include "trace.skel.h"

#define TRACE_POLL_MS	10	/* see above */
#define NAME_CACHE	64

struct trace_args {
	const char *ref;
	const char *events;
	double duration;
	bool json;
	bool wide;
};

struct trace_ctx {
	struct scb_node *n;
	bool filter;
	struct scb_group only;
	bool json;
	bool wide;
	uint64_t mono_to_real;
	uint64_t keys[NAME_CACHE];
	struct scb_target names[NAME_CACHE];
	char frags[NAME_CACHE][EVENT_JSON_FRAG];	/* names as JSON, escaped once */
	char line[EVENT_JSON_LINE];
	int n_names;
	struct conntime *starts;	/* for CLOSE durations */
	uint32_t show;			/* event types asked for (1 << type) */
};

static volatile sig_atomic_t stop;

static const char trace_doc[] =
	"Stream TCP events of traced containers until Ctrl-C or --duration.\n"
	"\n"
	"Events: CONNECT, ACTIVE_ESTABLISHED, PASSIVE_ESTABLISHED, LISTEN, STATE,\n"
	"RTT, RTO, RETRANS and CLOSE (a summary of the connection), as the\n"
	"container's flags allow. --events picks some: the others are never\n"
	"produced, so they cost nothing.\n"
	"\n"
	"RTT: the kernel calls back at a connection's first RTT sample and then\n"
	"once per RTT window, not per ACK. On Linux >= 6.10 the event has the\n"
	"measured sample (rtt) and the new smoothed RTT (srtt); older kernels\n"
	"pass no sample: the event then shows the previous window's smoothed RTT,\n"
	"marked \"smoothed\", and a connection's first window has no event.\n"
	"RETRANS: one event per retransmitted skb, with its segment count.\n"
	"\n"
	"Lines fit 80 columns: time, container (cut with '~'), event (ESTAB_OUT\n"
	"and ESTAB_IN for ACTIVE_ and PASSIVE_ESTABLISHED), the peer's address\n"
	"and the details (CLOSE: duration, bytes acked/received in K/M/G,\n"
	"retransmits).\n"
	"--wide prints both ends of the connection and every detail in full.\n"
	"\n"
	"Readers are independent: each has its own ring, and its events stop when\n"
	"it exits, however it exits (Ctrl-C, a closed pipe, kill -9).\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb trace\n"
	"    sockops-cb trace web --duration 10 --json\n"
	"    sockops-cb trace --events STATE,RETRANS,RTO,CLOSE";

static error_t trace_parse(int key, char *arg, struct argp_state *state)
{
	struct trace_args *a = state->input;
	char *end;

	switch (key) {
	case 'e':
		a->events = arg;
		break;
	case 'd':
		errno = 0;
		a->duration = strtod(arg, &end);
		if (errno || *end || a->duration <= 0)
			argp_error(state, "--duration wants a positive number of seconds, not \"%s\"", arg);
		break;
	default:
		return view_parse(key, arg, state, &a->json, &a->wide, &a->ref);
	}
	return 0;
}

static void on_signal(int sig)
{
	stop = 1;
}

/* The cache slot of target key's names. */
static int name_of(struct trace_ctx *c, uint64_t key)
{
	int i, slot;

	for (i = 0; i < c->n_names; i++)
		if (c->keys[i] == key)
			return i;
	slot = c->n_names < NAME_CACHE ? c->n_names++ : (int)(key % NAME_CACHE);
	if (target_get(c->n, key, &c->names[slot]))
		memset(&c->names[slot], 0, sizeof(c->names[slot]));
	c->keys[slot] = key;
	if (c->json)
		event_json_target(&c->names[slot], c->frags[slot], sizeof(c->frags[slot]));
	return slot;
}

static void details_text(const struct scb_event *e, int64_t dur_ms, char *buf, size_t len)
{
	char fl[128], dur[32];

	switch (e->type) {
	case SCB_EV_STATE:
		snprintf(buf, len, "%s -> %s", tcp_state_name(e->arg[0]), tcp_state_name(e->arg[1]));
		break;
	case SCB_EV_RTT:
		if (e->arg[1] == SCB_RTT_SMOOTHED)
			snprintf(buf, len, "srtt %u us (smoothed: no sample on this kernel)",
				 e->srtt_us);
		else
			snprintf(buf, len, "rtt %u us srtt %u us", e->arg[0], e->srtt_us);
		break;
	case SCB_EV_RTO:
		snprintf(buf, len, "retransmits %u rto %u jiffies", e->arg[0], e->arg[1]);
		break;
	case SCB_EV_RETRANS:
		snprintf(buf, len, "seq %u segs %u%s", e->arg[0], e->arg[1],
			 e->arg[2] ? " (failed)" : "");
		break;
	case SCB_EV_CLOSE:
		if (dur_ms >= 0)
			snprintf(dur, sizeof(dur), "%lld ms", (long long)dur_ms);
		else
			snprintf(dur, sizeof(dur), "? ms");
		snprintf(buf, len, "%s, %llu B acked, %llu B received, %u retransmits, srtt %u us",
			 dur, (unsigned long long)e->bytes_acked,
			 (unsigned long long)e->bytes_received, e->arg[0], e->srtt_us);
		break;
	default:
		snprintf(buf, len, "flags %s", flags_format(e->arg[0], fl, sizeof(fl)));
	}
}

/* A connection starts at its first event (CONNECT, ESTABLISHED, LISTEN)
 * and its duration is known at CLOSE if the trace saw that start. */
static int64_t track_duration(struct trace_ctx *c, const struct scb_event *e)
{
	uint64_t start;

	if (!c->starts)
		return -1;
	switch (e->type) {
	case SCB_EV_CONNECT:
	case SCB_EV_ACTIVE_ESTABLISHED:
	case SCB_EV_PASSIVE_ESTABLISHED:
	case SCB_EV_LISTEN:
		conntime_start(c->starts, e->cookie, e->ts_ns);
		return -1;
	case SCB_EV_CLOSE:
		if (conntime_end(c->starts, e->cookie, &start) && e->ts_ns >= start)
			return (int64_t)((e->ts_ns - start) / 1000000);
		return -1;
	default:
		return -1;
	}
}

/* The narrow details: at most 24 columns for any event. */
static void details_short(const struct scb_event *e, int64_t dur_ms, char *buf, size_t len)
{
	char a[16], r[16], fl[8];

	switch (e->type) {
	case SCB_EV_STATE:
		snprintf(buf, len, "%s>%s", tcp_state_name(e->arg[0]), tcp_state_name(e->arg[1]));
		break;
	case SCB_EV_RTT:
		if (e->arg[1] == SCB_RTT_SMOOTHED)
			snprintf(buf, len, "srtt %uus smoothed", e->srtt_us);
		else
			snprintf(buf, len, "rtt %u srtt %uus", e->arg[0], e->srtt_us);
		break;
	case SCB_EV_RTO:
		snprintf(buf, len, "#%u rto %u jiffies", e->arg[0], e->arg[1]);
		break;
	case SCB_EV_RETRANS:
		snprintf(buf, len, "seq %u x%u%s", e->arg[0], e->arg[1], e->arg[2] ? " failed" : "");
		break;
	case SCB_EV_CLOSE:
		if (dur_ms < 0)
			snprintf(buf, len, "? %s/%s retx %u", text_bytes(e->bytes_acked, a, sizeof(a)),
				 text_bytes(e->bytes_received, r, sizeof(r)), e->arg[0]);
		else
			snprintf(buf, len, "%lldms %s/%s retx %u", (long long)dur_ms,
				 text_bytes(e->bytes_acked, a, sizeof(a)),
				 text_bytes(e->bytes_received, r, sizeof(r)), e->arg[0]);
		break;
	default:
		snprintf(buf, len, "flags %s", flags_letters(e->arg[0], fl));
	}
}

/* "[addr]:port" for IPv6, "addr:port" for IPv4. */
static void endpoint(int fam, const char *addr, unsigned int port, char *buf, size_t len)
{
	if (fam == AF_INET6)
		snprintf(buf, len, "[%s]:%u", addr, port);
	else
		snprintf(buf, len, "%s:%u", addr, port);
}

/* Event names in 9 columns. */
static const char *event_short(uint32_t type)
{
	switch (type) {
	case SCB_EV_ACTIVE_ESTABLISHED:
		return "ESTAB_OUT";
	case SCB_EV_PASSIVE_ESTABLISHED:
		return "ESTAB_IN";
	default:
		return event_name(type);
	}
}

static void print_text(struct trace_ctx *c, const struct scb_event *e, const struct scb_target *t,
		       uint64_t real, int64_t dur_ms)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], local[64], peer[64], det[160];
	char tbuf[32], name[16], cut_peer[32], cut_det[32];
	time_t sec = real / 1000000000ULL;
	struct tm tm;
	int fam;

	fam = format_addrs(e->family, e->saddr, e->daddr, s, d, sizeof(s));
	localtime_r(&sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	endpoint(fam, s, e->lport, local, sizeof(local));
	endpoint(fam, d, e->rport, peer, sizeof(peer));
	if (c->wide) {
		details_text(e, dur_ms, det, sizeof(det));
		printf("%s.%03llu %-16s %-19s %s -> %s %s", tbuf,
		       (unsigned long long)(real / 1000000ULL % 1000), target_label(t),
		       event_name(e->type), local, peer, det);
		if (e->peer_node || e->peer_pod)
			printf(" peer %08x:%08x", e->peer_node, e->peer_pod);
		putchar('\n');
		return;
	}
	details_short(e, dur_ms, det, sizeof(det));
	printf("%s.%03llu %-12s %-9s %-21s %s\n", tbuf,
	       (unsigned long long)(real / 1000000ULL % 1000),
	       text_fit(target_label(t), 12, name), event_short(e->type),
	       /* A listener has no peer: its own address says which. */
	       text_fit(e->rport ? peer : local, 21, cut_peer), text_fit(det, 24, cut_det));
}

static void print_event(struct trace_ctx *c, const struct scb_event *e)
{
	int64_t dur_ms = track_duration(c, e);
	int slot = name_of(c, e->target);
	uint64_t real = e->ts_ns + c->mono_to_real;
	size_t n;

	if (c->json) {
		n = event_json(c->line, sizeof(c->line) - 1, c->frags[slot], e, real, dur_ms);
		c->line[n++] = '\n';
		fwrite(c->line, 1, n, stdout);
		return;
	}
	print_text(c, e, &c->names[slot], real, dur_ms);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct trace_ctx *c = ctx;
	const struct scb_event *e = data;

	if (size < sizeof(*e) || (c->filter && !group_has_key(&c->only, e->target)))
		return 0;
	if (!(c->show & (1U << (e->type & 31)))) {
		/* A start asked for only to time a CLOSE. */
		track_duration(c, e);
		return 0;
	}
	print_event(c, e);
	return 0;
}

static uint64_t mono_to_real(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (r.tv_sec - m.tv_sec) * 1000000000ULL + r.tv_nsec - m.tv_nsec;
}

/* What the program is asked for: the types shown, and the starts of
 * connections when CLOSE is shown (its duration needs them). */
static uint32_t wire_mask(uint32_t show)
{
	const uint32_t starts = 1U << SCB_EV_CONNECT | 1U << SCB_EV_ACTIVE_ESTABLISHED |
				1U << SCB_EV_PASSIVE_ESTABLISHED | 1U << SCB_EV_LISTEN;

	return show & (1U << SCB_EV_CLOSE) ? show | starts : show;
}

/* The reader of our stdout went away (`trace | head`): a pipe whose
 * other end is closed polls POLLERR. Checked every poll round, so the
 * trace ends even when no event comes to fail a write. */
static bool stdout_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/* `unload --force` took the node away: nothing will be traced again
 * through what this reader holds. Checked about once a second. */
static bool node_gone(unsigned int round)
{
	return round % (1000 / TRACE_POLL_MS) == 0 && !node_loaded();
}

static bool time_up(const struct timespec *start, double duration)
{
	struct timespec now;

	if (duration <= 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9 >= duration;
}

static void report_lost(uint64_t lost, bool json)
{
	cJSON *o;

	if (!lost)
		return;
	fprintf(stderr, "sockops-cb: %llu events lost: the ring buffer was full\n",
		(unsigned long long)lost);
	if (!json)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "LOST");
	cJSON_AddNumberToObject(o, "count", (double)lost);
	json_print_line(o);
}

static int stream(struct trace_ctx *c, double duration, struct scb_error **err)
{
	struct trace_bpf *skel;
	struct bpf_link *link = NULL;
	struct ring_buffer *rb = NULL;
	struct timespec start;
	unsigned int round;
	int ret = 0;

	skel = node_trace_prog(c->only.keys, c->filter ? c->only.n_keys : 0, wire_mask(c->show), err);
	if (!skel)
		return -1;
	rb = node_trace_ring(skel, handle_event, c, err);
	if (!rb)
		goto out;
	link = node_trace_attach(skel, err);
	if (!link)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (round = 1; !stop && !time_up(&start, duration); round++) {
		if (node_gone(round)) {
			scb_error_set(err, SCB_ERR_NOT_FOUND,
				      "the node was unloaded (sockops-cb unload): nothing is traced any more");
			break;
		}
		ret = ring_buffer__poll(rb, TRACE_POLL_MS);
		if (ret >= 0)
			ret = ring_buffer__consume(rb);
		if (ret < 0 && ret != -EINTR) {
			scb_error_set(err, SCB_ERR_KERNEL, "reading events: %s", strerror(-ret));
			break;
		}
		ret = 0;
		if ((fflush(stdout) == EOF && errno == EPIPE) || stdout_gone())
			break;
	}
	bpf_link__destroy(link);
	link = NULL;
	ring_buffer__consume(rb);
	fflush(stdout);
	report_lost(skel->bss->lost, c->json);
out:
	bpf_link__destroy(link);
	ring_buffer__free(rb);
	trace_bpf__destroy(skel);
	return *err ? -1 : 0;
}

int cmd_trace(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "duration", 'd', "S", 0, "Stop after S seconds", 0 },
		{ "json", 'j', NULL, 0, "One JSON object per event", 0 },
		{ "wide", 'w', NULL, 0, "Both addresses and every detail in full", 0 },
		{ "events", 'e', "LIST", 0,
		  "Only these event types, e.g. STATE,RETRANS,RTO,CLOSE (default: all)", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = trace_parse,
				   .args_doc = "[CONTAINER]", .doc = trace_doc };
	struct trace_args a = { 0 };
	/* ~270 KiB of caches: not on the stack. */
	static struct trace_ctx c;
	struct scb_node *n;
	int ret = -1;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	memset(&c, 0, sizeof(c));
	c.show = event_mask_all();
	if (a.events && event_mask_parse(a.events, &c.show, err))
		return -1;
	if (node_open_traced(&n, err))
		return -1;
	c.n = n;
	c.json = a.json;
	c.wide = a.wide;
	c.starts = conntime_new();	/* without it, CLOSE has no duration */
	c.mono_to_real = mono_to_real();
	if (a.ref && group_find(n, a.ref, &c.only, err))
		goto out;
	c.filter = a.ref != NULL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	ret = stream(&c, a.duration, err);
out:
	conntime_free(c.starts);
	node_close(n);
	return *err ? -1 : ret;
}
