// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb list`: the traced containers, their masks and a summary. */
#include <argp.h>
#include <stdio.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "cmd.h"
#include "display.h"
#include "flagnames.h"
#include "target.h"

static const char list_doc[] =
	"List traced containers: flags requested, effective (after the config's\n"
	"maxFlags ceiling), and a summary of their counters: CONNS established,\n"
	"RETRANS segments retransmitted (as the kernel's TcpRetransSegs), RTO\n"
	"timeouts, RTT_US the mean of the RTT histogram (see `stats --help`).\n"
	"A note follows the table for targets whose flags make the kernel call the\n"
	"program on every segment (the header-option flags).\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb list\n"
	"    sockops-cb list --json | jq .effective";

static error_t list_parse(int key, char *arg, struct argp_state *state)
{
	bool *json = state->input;

	if (key != 'j')
		return ARGP_ERR_UNKNOWN;
	*json = true;
	return 0;
}

/* A live cgroup target without its link: an attach killed half-way,
 * or a detach; counted as traced it would mislead. `gc` finishes it. */
static bool incomplete(const struct scb_target *t)
{
	return t->kind == SCB_KIND_CGROUP && !t->removed_ns && !target_link_exists(t->id);
}

static cJSON *list_json(const struct scb_target *t, const struct scb_stats *s)
{
	cJSON *o = cJSON_CreateObject();
	__u64 conns = s->active_established + s->passive_established;

	target_json_fields(o, t);
	cJSON_AddStringToObject(o, "kind", t->kind == SCB_KIND_NETNS ? "netns" : "cgroup");
	cJSON_AddStringToObject(o, "origin", t->origin == SCB_ORIGIN_CNI ? "cni" :
				t->origin == SCB_ORIGIN_HOOK ? "hook" : "manual");
	if (t->network[0])
		cJSON_AddStringToObject(o, "network", t->network);
	cJSON_AddStringToObject(o, "cgroup", t->cgroup);
	cJSON_AddNumberToObject(o, "cgroup_id", (double)t->cgroup_id);
	cJSON_AddStringToObject(o, "flag_set", t->flag_set);
	cJSON_AddItemToObject(o, "requested", flags_to_json(t->requested));
	/* A removed target's flags are 0: nothing was clamped by that. */
	cJSON_AddItemToObject(o, "clamped",
			      flags_to_json(t->removed_ns ? 0 : t->requested & ~t->flags));
	cJSON_AddItemToObject(o, "effective", flags_to_json(t->flags));
	cJSON_AddNumberToObject(o, "attached", (double)(t->attached_ns / 1000000000ULL));
	cJSON_AddBoolToObject(o, "removed", t->removed_ns != 0);
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
	if (hdr_opt_note(t->flags))
		cJSON_AddStringToObject(o, "note", hdr_opt_note(t->flags));
	return o;
}

static void list_text(const struct scb_target *t, const struct scb_stats *s)
{
	char eff[128], req[128];

	flags_format(t->flags, eff, sizeof(eff));
	flags_format(t->requested, req, sizeof(req));
	printf("%-12.12s %-20.20s %-8s %-22s %-22s %6llu %7llu %5llu %8llu %s%s\n",
	       t->id, t->name[0] ? t->name : "-", t->flag_set[0] ? t->flag_set : "-",
	       eff, req,
	       (unsigned long long)(s->active_established + s->passive_established),
	       (unsigned long long)s->retrans, (unsigned long long)s->rto,
	       (unsigned long long)(s->rtt_samples ? s->rtt_sum_us / s->rtt_samples : 0),
	       t->kind == SCB_KIND_NETNS ? "(netns)" : t->cgroup,
	       t->removed_ns ? " (removed)" : incomplete(t) ? " (incomplete: no link; run gc)" : "");
}

int cmd_list(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "json", 'j', NULL, 0, "One JSON object per line", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = list_parse, .doc = list_doc };
	struct target_iter it = { 0 };
	struct scb_target t;
	struct scb_stats s;
	struct scb_node n;
	bool json = false;
	static char note[8192];
	size_t notes = 0;
	int ret;

	argp_parse(&argp, argc, argv, 0, NULL, &json);
	ret = node_open(&n, NODE_READ, err);
	if (ret < 0)
		return -1;
	if (!json)
		printf("%-12s %-20s %-8s %-22s %-22s %6s %7s %5s %8s %s\n", "ID", "NAME",
		       "SET", "EFFECTIVE", "REQUESTED", "CONNS", "RETRANS", "RTO",
		       "RTT_US", "CGROUP");
	while (!ret && target_next(&n, &it, &t)) {
		if (target_stats(&n, it.key, &s))
			continue;
		if (json)
			json_print_line(list_json(&t, &s));
		else
			list_text(&t, &s);
		if (!json && hdr_opt_note(t.flags))
			notes += snprintf(note + notes, notes < sizeof(note) ? sizeof(note) - notes : 0,
					  "note: %.12s: %s\n", t.id, hdr_opt_note(t.flags));
	}
	node_close(&n);
	if (notes)
		fputs(note, stdout);
	return 0;
}
