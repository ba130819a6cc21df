// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "display.h"
#include "flagnames.h"

static const char *const tcp_states[SCB_TCP_STATES] = {
	"UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	"NEW_SYN_RECV",
};

const char *tcp_state_name(unsigned int state)
{
	return state < SCB_TCP_STATES ? tcp_states[state] : "?";
}

static void print_stars(FILE *out, __u64 val, __u64 max, int width)
{
	int stars = max ? (int)(val * width / max) : 0, i;

	for (i = 0; i < stars && i < width; i++)
		fputc('*', out);
	if (val > max)
		fputc('+', out);
}

void print_log2_hist(FILE *out, const __u64 *vals, int n, const char *unit)
{
	int idx_max = -1, i;
	__u64 max = 0, low, high;

	for (i = 0; i < n; i++) {
		if (vals[i])
			idx_max = i;
		if (vals[i] > max)
			max = vals[i];
	}
	if (idx_max < 0)
		return;
	fprintf(out, "%*s%-*s : count    distribution\n", 10, "", 14, unit);
	for (i = 0; i <= idx_max; i++) {
		low = i ? (1ULL << i) : 0;
		high = (1ULL << (i + 1)) - 1;
		fprintf(out, "%*llu -> %-*llu : %-8llu |", 10, (unsigned long long)low, 10,
			(unsigned long long)high, (unsigned long long)vals[i]);
		print_stars(out, vals[i], max, 40);
		fprintf(out, "%*s|\n", 40 - (max ? (int)(vals[i] * 40 / max) : 0), "");
	}
}

const char *rtt_values_name(const struct scb_stats *s)
{
	if (!s->rtt_samples)
		return "none";
	return s->rtt_smoothed ? "smoothed" : "samples";
}

const char *target_label(const struct scb_target *t)
{
	static char shortid[13];

	if (t->name[0])
		return t->name;
	snprintf(shortid, sizeof(shortid), "%.12s", t->id);
	return shortid;
}

void target_json_fields(cJSON *obj, const struct scb_target *t)
{
	cJSON_AddStringToObject(obj, "id", t->id);
	cJSON_AddStringToObject(obj, "name", t->name);
	if (t->pod_ns[0] || t->pod_name[0]) {
		cJSON_AddStringToObject(obj, "pod_namespace", t->pod_ns);
		cJSON_AddStringToObject(obj, "pod_name", t->pod_name);
	}
}

static bool is_v4_mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff);
}

/* v4-mapped IPv6 addresses print as IPv4: that is what the user dialled. */
int format_addrs(int family, const __u32 *saddr, const __u32 *daddr, char *s, char *d,
		 size_t len)
{
	if (family == AF_INET6 && !(is_v4_mapped(saddr) && is_v4_mapped(daddr))) {
		inet_ntop(AF_INET6, saddr, s, len);
		inet_ntop(AF_INET6, daddr, d, len);
		return AF_INET6;
	}
	inet_ntop(AF_INET, family == AF_INET6 ? &saddr[3] : &saddr[0], s, len);
	inet_ntop(AF_INET, family == AF_INET6 ? &daddr[3] : &daddr[0], d, len);
	return AF_INET;
}
