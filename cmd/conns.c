// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb conns CONTAINER`: the container's live TCP connections, the
 * `ss -ti` view of only the traced sockets. For a cgroup target a tcp
 * iterator runs in each netns of the cgroup's processes; for a netns
 * target one walks the socket storage its program keeps. */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>
#include "args.h"
#include "cmd.h"
#include "display.h"
#include "cgroup.h"
#include "flagnames.h"
#include "nsiter.h"
#include "group.h"
#include "identity.h"
#include "target.h"
#include "text.h"

struct conns_args {
	const char *ref;
	bool json;
	bool wide;
};

static const char conns_doc[] =
	"List the live TCP connections of a traced container: 4-tuple, state,\n"
	"smoothed and minimum RTT, retransmits, bytes, segments, and the age of\n"
	"connections of pods registered by netns (cgroup targets keep no record).\n"
	"The table fits 80 columns (addresses cut short end in '~', '-' is a value\n"
	"the kernel does not have yet); --wide adds min RTT, bytes received,\n"
	"segments, age, the peer's identity (docs/identity.md) and the socket's\n"
	"callback flags.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb conns web\n"
	"    sockops-cb conns 4f2a9c --json";

static error_t conns_parse(int key, char *arg, struct argp_state *state)
{
	struct conns_args *a = state->input;

	return view_parse_one(key, arg, state, &a->json, &a->wide, &a->ref);
}

static uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Age is known for netns targets' connections only (their socket record
 * has a start); a cgroup target keeps no per-connection record. */
/* min_rtt is ~0 until the first sample. */
#define NO_RTT 0xffffffffU

static void print_conn(const struct scb_conn *c, bool json, bool wide)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], local[64], remote[64], fl[128], agebuf[32];
	char lcut[24], rcut[24], srtt[16] = "-", minrtt[16] = "-", bytes[16];
	char idt[SCB_ID_TEXT_LEN];
	double age = c->start_ns ? (double)(now_mono_ns() - c->start_ns) / 1e9 : -1;
	int fam = format_addrs(c->family, c->saddr, c->daddr, s, d, sizeof(s));
	cJSON *o;

	if (json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "family", fam == AF_INET6 ? "ipv6" : "ipv4");
		cJSON_AddStringToObject(o, "saddr", s);
		cJSON_AddNumberToObject(o, "sport", c->lport);
		cJSON_AddStringToObject(o, "daddr", d);
		cJSON_AddNumberToObject(o, "dport", c->rport);
		cJSON_AddStringToObject(o, "state", tcp_state_name(c->state));
		cJSON_AddNumberToObject(o, "srtt_us", c->srtt_us);
		cJSON_AddNumberToObject(o, "rttvar_us", c->rttvar_us);
		if (c->min_rtt_us != NO_RTT)
			cJSON_AddNumberToObject(o, "min_rtt_us", c->min_rtt_us);
		cJSON_AddNumberToObject(o, "retrans", c->total_retrans);
		cJSON_AddNumberToObject(o, "bytes_acked", (double)c->bytes_acked);
		cJSON_AddNumberToObject(o, "bytes_received", (double)c->bytes_received);
		cJSON_AddNumberToObject(o, "segs_in", c->segs_in);
		cJSON_AddNumberToObject(o, "segs_out", c->segs_out);
		cJSON_AddNumberToObject(o, "cwnd", c->snd_cwnd);
		if (age >= 0)
			cJSON_AddNumberToObject(o, "age_s", age);
		cJSON_AddItemToObject(o, "flags", flags_to_json(c->cb_flags));
		if (c->peer_node || c->peer_pod)
			cJSON_AddStringToObject(o, "peer",
						identity_format(c->peer_node, c->peer_pod, idt, sizeof(idt)));
		json_print_line(o);
		return;
	}
	snprintf(local, sizeof(local), fam == AF_INET6 ? "[%s]:%u" : "%s:%u", s, c->lport);
	snprintf(remote, sizeof(remote), fam == AF_INET6 ? "[%s]:%u" : "%s:%u", d, c->rport);
	if (age >= 0)
		snprintf(agebuf, sizeof(agebuf), "%.1f", age);
	else
		snprintf(agebuf, sizeof(agebuf), "-");
	if (c->srtt_us)
		snprintf(srtt, sizeof(srtt), "%u", c->srtt_us);
	if (c->min_rtt_us != NO_RTT)
		snprintf(minrtt, sizeof(minrtt), "%u", c->min_rtt_us);
	if (!wide) {
		printf("%-11s %-21s %-21s %7s %7u %8s\n", tcp_state_name(c->state),
		       text_fit(local, 21, lcut), text_fit(remote, 21, rcut), srtt, c->total_retrans,
		       text_bytes(c->bytes_acked, bytes, sizeof(bytes)));
		return;
	}
	printf("%-11s %-22s %-22s %8s %8s %7u %12llu %12llu %7u/%-7u %8s %-17s %s\n",
	       tcp_state_name(c->state), local, remote, srtt, minrtt,
	       c->total_retrans, (unsigned long long)c->bytes_acked,
	       (unsigned long long)c->bytes_received, c->segs_in, c->segs_out, agebuf,
	       identity_format(c->peer_node, c->peer_pod, idt, sizeof(idt)),
	       flags_format(c->cb_flags, fl, sizeof(fl)));
}

struct print_ctx {
	const struct scb_group *g;
	bool json;
	bool wide;
};

static void print_header(const struct print_ctx *p)
{
	if (p->json)
		return;
	if (p->wide)
		printf("%-11s %-22s %-22s %8s %8s %7s %12s %12s %15s %8s %-17s %s\n", "STATE", "LOCAL",
		       "REMOTE", "SRTT_US", "MINRTT", "RETRANS", "ACKED", "RECEIVED",
		       "SEGS_IN/OUT", "AGE_S", "PEER", "FLAGS");
	else
		printf("%-11s %-21s %-21s %7s %7s %8s\n", "STATE", "LOCAL", "REMOTE", "SRTT_US",
		       "RETRANS", "ACKED");
}

static void print_rec(const void *rec, void *ctx)
{
	const struct scb_conn *c = rec;
	const struct print_ctx *p = ctx;

	if (group_has_key(p->g, c->target))
		print_conn(c, p->json, p->wide);
}

static int conns_netns(struct print_ctx *p, struct scb_error **err)
{
	struct scb_conn c;
	ssize_t r;
	int fd;

	fd = node_socks_iter(err);
	if (fd < 0)
		return -1;
	while ((r = read(fd, &c, sizeof(c))) == sizeof(c))
		print_rec(&c, p);
	close(fd);
	if (r < 0)
		return scb_error_set(err, SCB_ERR_KERNEL, "reading connections: %s",
				     strerror(errno));
	return 0;
}

static int conns_cgroup(struct print_ctx *p, const struct scb_target *t,
			struct scb_error **err)
{
	char abs[4096];

	if (cgroup_resolve(t->cgroup, abs, sizeof(abs), err))
		return -1;
	return node_iter_cgroup(SCB_ITER_CONNS, abs, sizeof(struct scb_conn), print_rec, p, err);
}

int cmd_conns(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "json", 'j', NULL, 0, "One JSON object per connection", 0 },
		{ "wide", 'w', NULL, 0, "Every column in full", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = conns_parse,
				   .args_doc = "CONTAINER", .doc = conns_doc };
	struct conns_args a = { 0 };
	struct scb_group g;
	struct print_ctx p = { .g = &g };
	struct scb_node *n;
	int ret;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	if (node_open_traced(&n, err))
		return -1;
	ret = group_find(n, a.ref, &g, err);
	node_close(n);
	if (ret)
		return -1;
	if (g.removed)
		return scb_error_set(err, SCB_ERR_NOT_FOUND, "%s was removed: no live connections",
				     g.t.id);
	p.json = a.json;
	p.wide = a.wide;
	print_header(&p);
	/* A live cgroup target sorts first; sockets there are its own, the
	 * rest of a netns target's are in the netns records. */
	if (g.t.kind == SCB_KIND_CGROUP && !g.t.removed_ns && conns_cgroup(&p, &g.t, err))
		return -1;
	if (g.kinds & (1U << SCB_KIND_NETNS))
		return conns_netns(&p, err);
	return 0;
}
