// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb list`: the traced containers, their masks and a summary. */
#include <argp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "args.h"
#include "cmd.h"
#include "display.h"
#include "flagnames.h"
#include "group.h"
#include "target.h"
#include "text.h"

static const char list_doc[] =
	"List traced containers: flags requested, effective (after the config's\n"
	"maxFlags ceiling), and a summary of their counters: CONNS established,\n"
	"RETRANS segments retransmitted (as the kernel's TcpRetransSegs), RTO\n"
	"timeouts, RTT_US the mean of the RTT histogram (see `stats --help`).\n"
	"A note follows the table for targets whose flags make the kernel call the\n"
	"program on every segment (the header-option flags).\n"
	"\n"
	"The table fits 80 columns: FLAGS are the effective flags as letters (O RTO,\n"
	"R RETRANS, S STATE, T RTT, P PARSE_ALL_HDR_OPT, U PARSE_UNKNOWN_HDR_OPT,\n"
	"W WRITE_HDR_OPT), a name cut short ends in '~', '-' is a value not known\n"
	"yet, and STATE is live, removed (retained) or half (no link: run gc).\n"
	"--wide shows full ids, names, flags requested and effective, and cgroups.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb list\n"
	"    sockops-cb list --wide\n"
	"    sockops-cb list --json | jq .effective";

struct list_args {
	bool json;
	bool wide;
};

static error_t list_parse(int key, char *arg, struct argp_state *state)
{
	struct list_args *a = state->input;

	return view_parse(key, arg, state, &a->json, &a->wide, NULL);
}

/* A live cgroup target without its link: an attach killed half-way,
 * or a detach; counted as traced it would mislead. `gc` finishes it. */
static bool incomplete(const struct scb_target *t)
{
	return t->kind == SCB_KIND_CGROUP && !t->removed_ns && !target_link_exists(t->id);
}

static cJSON *attachments_json(const struct scb_group *g)
{
	cJSON *arr = cJSON_CreateArray(), *a;
	int i;

	for (i = 0; i < g->n_attach; i++) {
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "network", g->attach[i].network);
		cJSON_AddStringToObject(a, "ifname", g->attach[i].ifname);
		cJSON_AddItemToArray(arr, a);
	}
	return arr;
}

/* The note under a target with header-option flags: what they do. */
static const char *target_note(const struct scb_target *t)
{
	if (t->identity.mode)
		return "identity: the header-option flags act in the handshake only (WRITE_HDR_OPT announces, a PARSE flag learns the peer: sockops-cb peers); no callback per data segment";
	return hdr_opt_note(t->flags);
}

static cJSON *list_json(const struct scb_group *g, const struct scb_stats *s)
{
	const struct scb_target *t = &g->t;
	cJSON *o = cJSON_CreateObject();
	__u64 conns = s->active_established + s->passive_established;
	char buf[64];

	target_json_fields(o, t);
	cJSON_AddStringToObject(o, "kind", group_kinds(g, buf, sizeof(buf)));
	cJSON_AddStringToObject(o, "origin", group_origins(g, buf, sizeof(buf)));
	if (g->n_attach) {
		cJSON_AddStringToObject(o, "network", g->attach[0].network);
		cJSON_AddItemToObject(o, "networks", attachments_json(g));
	}
	cJSON_AddStringToObject(o, "cgroup", t->cgroup);
	cJSON_AddNumberToObject(o, "cgroup_id", (double)t->cgroup_id);
	cJSON_AddStringToObject(o, "flag_set", t->flag_set);
	cJSON_AddItemToObject(o, "requested", flags_to_json(t->requested));
	/* A removed target's flags are 0: nothing was clamped by that. */
	cJSON_AddItemToObject(o, "clamped",
			      flags_to_json(t->removed_ns ? 0 : t->requested & ~t->flags));
	cJSON_AddItemToObject(o, "effective", flags_to_json(t->flags));
	cJSON_AddNumberToObject(o, "attached", (double)(t->attached_ns / 1000000000ULL));
	cJSON_AddBoolToObject(o, "removed", g->removed);
	cJSON_AddBoolToObject(o, "incomplete", incomplete(t));
	cJSON_AddNumberToObject(o, "existing_enabled", t->existing_enabled);
	if (t->existing_err)
		cJSON_AddStringToObject(o, "existing",
					"kernel cannot enable connections opened before the attach: only new connections are traced");
	cJSON_AddNumberToObject(o, "connections", (double)conns);
	cJSON_AddNumberToObject(o, "retransmits", (double)s->retrans);
	cJSON_AddNumberToObject(o, "rtos", (double)s->rto);
	cJSON_AddNumberToObject(o, "rtt_samples", (double)s->rtt_samples);
	cJSON_AddNumberToObject(o, "rtt_avg_us",
				s->rtt_samples ? (double)(s->rtt_sum_us / s->rtt_samples) : 0);
	cJSON_AddStringToObject(o, "rtt_values", rtt_values_name(s));
	if (target_note(t))
		cJSON_AddStringToObject(o, "note", target_note(t));
	return o;
}

static const char *group_state(const struct scb_group *g)
{
	return g->removed ? "removed" : incomplete(&g->t) ? "half" : "live";
}

static void rtt_text(const struct scb_stats *s, char *buf, size_t len)
{
	if (s->rtt_samples)
		snprintf(buf, len, "%llu", (unsigned long long)(s->rtt_sum_us / s->rtt_samples));
	else
		snprintf(buf, len, "-");
}

/* "note: ID: text", cut into lines of 80 columns unless wide. */
static size_t add_note(char *buf, size_t len, const struct scb_target *t, bool wide)
{
	const char *text = target_note(t), *sp;
	size_t off, col, w;

	off = snprintf(buf, len, "note: %.*s:", wide ? 64 : 12, t->id);
	col = off;
	while (*text && off < len) {
		sp = strchr(text, ' ');
		w = sp ? (size_t)(sp - text) : strlen(text);
		if (!wide && col + 1 + w > 80) {
			off += snprintf(buf + off, len - off, "\n     ");
			col = 5;
		}
		off += snprintf(buf + off, len > off ? len - off : 0, " %.*s", (int)w, text);
		col += 1 + w;
		text += w + (sp ? 1 : 0);
	}
	off += snprintf(buf + off, len > off ? len - off : 0, "\n");
	return off;
}

#define NARROW_HEADER "%-12s %-14s %-6s %-7s %6s %6s %5s %7s %s\n"
#define WIDE_HEADER "%-64s %-20s %-8s %-22s %-22s %6s %7s %5s %8s %-8s %s\n"

static void list_text(const struct scb_group *g, const struct scb_stats *s, bool wide)
{
	const struct scb_target *t = &g->t;
	unsigned long long conns = s->active_established + s->passive_established;
	char eff[128], req[128], rtt[24], name[24], set[16], fl[8];

	rtt_text(s, rtt, sizeof(rtt));
	if (!wide) {
		printf("%-12.12s %-14s %-6s %-7s %6llu %6llu %5llu %7s %s\n", t->id,
		       t->name[0] ? text_fit(t->name, 14, name) : "-",
		       t->flag_set[0] ? text_fit(t->flag_set, 6, set) : "-", flags_letters(t->flags, fl),
		       conns, (unsigned long long)s->retrans, (unsigned long long)s->rto, rtt,
		       group_state(g));
		return;
	}
	flags_format(t->flags, eff, sizeof(eff));
	flags_format(t->requested, req, sizeof(req));
	printf("%-64s %-20s %-8s %-22s %-22s %6llu %7llu %5llu %8s %-8s %s\n", t->id,
	       t->name[0] ? t->name : "-", t->flag_set[0] ? t->flag_set : "-", eff, req, conns,
	       (unsigned long long)s->retrans, (unsigned long long)s->rto, rtt, group_state(g),
	       t->kind == SCB_KIND_NETNS ? "(netns)" : t->cgroup);
}

int cmd_list(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "json", 'j', NULL, 0, "One JSON object per line", 0 },
		{ "wide", 'w', NULL, 0, "Every column in full", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = list_parse, .doc = list_doc };
	struct group_list l = { 0 };
	struct scb_stats s;
	struct scb_node *n;
	struct list_args a = { 0 };
	static char note[8192];
	size_t notes = 0;
	int ret, i;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	ret = node_open(&n, NODE_READ, err);
	if (ret < 0)
		return -1;
	if (!ret && group_list_read(n, &l, err)) {
		node_close(n);
		return -1;
	}
	if (!a.json && a.wide)
		printf(WIDE_HEADER, "ID", "NAME", "SET", "EFFECTIVE", "REQUESTED", "CONNS",
		       "RETRANS", "RTO", "RTT_US", "STATE", "CGROUP");
	else if (!a.json)
		printf(NARROW_HEADER, "ID", "NAME", "SET", "FLAGS", "CONNS", "RETRAN", "RTO",
		       "RTT_US", "STATE");
	for (i = 0; i < l.n; i++) {
		if (group_stats(n, &l.g[i], &s))
			continue;
		if (a.json)
			json_print_line(list_json(&l.g[i], &s));
		else
			list_text(&l.g[i], &s, a.wide);
		if (!a.json && target_note(&l.g[i].t))
			notes += add_note(note + notes, notes < sizeof(note) ? sizeof(note) - notes : 0,
					  &l.g[i].t, a.wide);
	}
	group_list_free(&l);
	node_close(n);
	if (notes)
		fputs(note, stdout);
	return 0;
}
