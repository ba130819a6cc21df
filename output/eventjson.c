// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "display.h"
#include "eventjson.h"
#include "evtypes.h"
#include "flagnames.h"

void event_json_target(const struct scb_target *t, char *frag, size_t len)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;
	size_t n;

	frag[0] = '\0';
	if (o) {
		target_json_fields(o, t);
		s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	if (!s)
		return;
	/* "{...}" -> "..." ; a fragment that does not fit is left out
	 * rather than cut inside an escape. */
	n = strlen(s);
	if (n >= 2 && n - 2 < len) {
		memcpy(frag, s + 1, n - 2);
		frag[n - 2] = '\0';
	}
	free(s);
}

struct line {
	char *buf;
	size_t len, off;
};

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->off >= l->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->off, l->len - l->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->off += (size_t)n;
	if (l->off >= l->len)
		l->off = l->len - 1;
}

static void put_details(struct line *l, const struct scb_event *e, int64_t dur_ms)
{
	char fl[256];

	switch (e->type) {
	case SCB_EV_STATE:
		put(l, ",\"old_state\":\"%s\",\"new_state\":\"%s\"", tcp_state_name(e->arg[0]),
		    tcp_state_name(e->arg[1]));
		break;
	case SCB_EV_RTT:
		/* Before Linux 6.10 no sample: the previous window's srtt. */
		put(l, ",\"rtt_us\":%u%s", e->arg[0],
		    e->arg[1] == SCB_RTT_SMOOTHED ? ",\"smoothed\":true" : "");
		break;
	case SCB_EV_RTO:
		put(l, ",\"retransmits\":%u,\"rto_jiffies\":%u", e->arg[0], e->arg[1]);
		break;
	case SCB_EV_RETRANS:
		put(l, ",\"seq\":%u,\"segs\":%u,\"err\":%d", e->arg[0], e->arg[1], (int)e->arg[2]);
		break;
	case SCB_EV_CLOSE:
		put(l, ",\"retransmits\":%u", e->arg[0]);
		if (dur_ms >= 0)
			put(l, ",\"duration_ms\":%lld", (long long)dur_ms);
		put(l, ",\"bytes_acked\":%llu,\"bytes_received\":%llu",
		    (unsigned long long)e->bytes_acked, (unsigned long long)e->bytes_received);
		break;
	default:
		put(l, ",\"flags\":%s", flags_json_text(e->arg[0], fl, sizeof(fl)));
	}
}

size_t event_json(char *buf, size_t len, const char *frag, const struct scb_event *e,
		  uint64_t real_ns, int64_t dur_ms)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int fam = format_addrs(e->family, e->saddr, e->daddr, s, d, sizeof(s));
	struct line l = { buf, len, 0 };

	if (!len)
		return 0;
	put(&l, "{\"time\":%llu.%06llu,%s%s\"event\":\"%s\",\"family\":\"%s\",\"saddr\":\"%s\","
		"\"sport\":%u,\"daddr\":\"%s\",\"dport\":%u,\"srtt_us\":%u,\"cookie\":%llu",
	    (unsigned long long)(real_ns / 1000000000ULL),
	    (unsigned long long)(real_ns / 1000 % 1000000), frag, frag[0] ? "," : "",
	    event_name(e->type), fam == AF_INET6 ? "ipv6" : "ipv4", s, e->lport, d, e->rport,
	    e->srtt_us, (unsigned long long)e->cookie);
	/* The identity the peer announced (docs/identity.md), once known. */
	if (e->peer_node || e->peer_pod)
		put(&l, ",\"peer\":\"%08x:%08x\"", e->peer_node, e->peer_pod);
	put_details(&l, e, dur_ms);
	put(&l, "}");
	return l.off;
}
